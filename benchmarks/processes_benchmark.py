#!/usr/bin/env python
"""One network over several processes (jax.distributed, gloo on loopback) on this machine.

For each number of processes (``python -m pyNN_jax.launch -n N``), every process builds the
Vogels-Abbott COBA network (``networks.vogels_abbott``, 4000 cells, delays 0.2 ms: blocks of 2
steps between two exchanges) and runs it twice (the first run compiles); measured per process:
build, first and second ``run(time)``, ``get_data()``, peak resident memory, and the cost of
one exchange alone (a loop of ``lax.all_gather`` of one int16 count per cell of a device, what
the chunk exchanges per block, against the same loop without it). Then the same for the cortical
microcircuit (``microcircuit.py``, ``--microcircuit-scale``). Prints the tables and writes
the section "Several processes" of RESULTS.md.

    python benchmarks/processes_benchmark.py --processes 1 2 4
"""
import argparse
import json
import os
import resource
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))


def exchange_microseconds(n_cells, steps=2000, repeat=3):
    """Microseconds per loop step with and without an all_gather of int16 counts of
    ``n_cells`` cells over every device of every process."""
    import numpy as np
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec
    from spike_exchange import microseconds_per_step

    mesh = Mesh(np.asarray(jax.devices(), dtype=object), ("cells",))
    n_local = -(-n_cells // mesh.size)

    x = jax.make_array_from_callback((mesh.size * n_local,),
                                     NamedSharding(mesh, PartitionSpec("cells")),
                                     lambda index: np.zeros(n_local, np.int32))
    return microseconds_per_step(mesh, x, n_local, steps, repeat)


def run_worker(args):
    timings = {}
    start = time.perf_counter()
    import pyNN.jax as sim
    from networks import SETUP, vogels_abbott
    sim.setup(**SETUP["va_coba"], rng_seed=args.seed, spike_precision="on_grid",
              compilation_cache=None)
    network = vogels_abbott(sim, "coba", args.n, args.seed)
    exc = network.recorded["exc"]
    timings["build"] = time.perf_counter() - start
    for name in ("run1", "run2"):
        start = time.perf_counter()
        sim.run(args.time)
        timings[name] = time.perf_counter() - start
    start = time.perf_counter()
    spikes = exc.get_data().segments[0].spiketrains
    timings["get_data"] = time.perf_counter() - start
    n_spikes = int(sum(len(train) for train in spikes))
    exchange = exchange_microseconds(args.n)
    result = {"rank": sim.rank(), "processes": sim.num_processes(), "timings": timings,
              "exc_rate_hz": n_spikes / exc.size / (2 * args.time / 1000.0),
              "exc_spikes": n_spikes, "exchange_us": exchange,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
              "blocks_per_run": int(round(args.time / SETUP["va_coba"]["min_delay"]))}
    sim.end()
    with open(f"{args.worker}.{result['rank']}", "w") as f:
        json.dump(result, f)


def run_processes(n_processes, args, folder):
    from pyNN_jax import launch
    out = os.path.join(folder, f"n{n_processes}")
    command = [sys.executable, os.path.abspath(__file__), "--worker", out, "--n", str(args.n),
               "--time", str(args.time), "--seed", str(args.seed)]
    start = time.perf_counter()
    statuses = launch.run(command, n_processes, timeout=args.timeout).statuses
    wall = time.perf_counter() - start
    if any(statuses):
        return {"processes": n_processes, "failed": statuses}
    ranks = []
    for rank in range(n_processes):
        with open(f"{out}.{rank}") as f:
            ranks.append(json.load(f))
    first = ranks[0]
    return {"processes": n_processes, "wall_s": wall,
            **{name: max(r["timings"][name] for r in ranks) for name in first["timings"]},
            "peak_rss_mb": max(r["peak_rss_mb"] for r in ranks),
            "exc_rate_hz": first["exc_rate_hz"],
            "same_spikes": len({r["exc_spikes"] for r in ranks}) == 1,
            "exchange_us_with": first["exchange_us"]["with"],
            "exchange_us_without": first["exchange_us"]["without"],
            "blocks_per_run": first["blocks_per_run"]}


def run_microcircuit(n_processes, args, folder):
    """benchmarks/microcircuit.py as ``n_processes`` processes: the slowest process's figures,
    and whether every process gave the same spikes."""
    from pyNN_jax import launch
    out = os.path.join(folder, f"microcircuit{n_processes}")
    script = os.path.join(HERE, "microcircuit.py")
    command = ["sh", "-c", f'exec "{sys.executable}" "{script}" --scale {args.microcircuit_scale} '
               f'--time {args.microcircuit_time} --compile-cache "" '
               f'> "{out}.$PYNN_JAX_PROCESS_ID" 2>/dev/null']
    statuses = launch.run(command, n_processes, timeout=args.timeout).statuses
    if any(statuses):
        return {"processes": n_processes, "failed": statuses}
    ranks = []
    for rank in range(n_processes):
        with open(f"{out}.{rank}") as f:
            ranks.append(json.loads(f.read().strip().splitlines()[-1]))
    return {"processes": n_processes, "n_cells": ranks[0]["n_cells"],
            "n_synapses": ranks[0]["n_synapses"],
            **{name: max(r[name] for r in ranks)
               for name in ("build_s", "first_run_s", "run_s", "rtf", "peak_rss_mb",
                            "peak_rss_after_build_mb", "held_synapses")},
            "same_spikes": len({r["spikes"] for r in ranks}) == 1,
            "rates_hz": ranks[0]["rates_hz"]}


def microcircuit_table(rows, args):
    lines = [f"Cortical microcircuit (benchmarks/microcircuit.py) at scale "
             f"{args.microcircuit_scale:g}, {args.microcircuit_time:g} ms, Poisson background, "
             f"float32, compilation cache off; the largest (slowest) process's figures.", "",
             "| processes | cells | synapses | synapses held per process | build s "
             "| first run s (compiles) | run s | RTF | peak RSS per process after build MB "
             "| peak RSS per process MB | L4E rate Hz |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "failed" in r:
            lines.append(f"| {r['processes']} | failed: exit statuses {r['failed']} |")
            continue
        agreement = "" if r["same_spikes"] else " (the processes disagree)"
        lines.append(
            f"| {r['processes']} | {r['n_cells']} | {r['n_synapses']} | {r['held_synapses']} | "
            f"{r['build_s']:.2f} | {r['first_run_s']:.2f} | {r['run_s']:.2f} | {r['rtf']:.2f} | "
            f"{r['peak_rss_after_build_mb']:.0f} | {r['peak_rss_mb']:.0f} | "
            f"{r['rates_hz']['L4E']:.2f}{agreement} |")
    return "\n".join(lines)


def table(rows, args):
    one = next((r for r in rows if r["processes"] == 1 and "failed" not in r), None)
    lines = [f"Vogels-Abbott COBA, {args.n} cells, {args.time:g} ms per run, on_grid, float32, "
             f"one CPU thread per process, compilation cache off; times are the slowest "
             f"process's.", "",
             "| processes | build s | run 1 s (compiles) | run 2 s | get_data s | exc rate Hz "
             "| peak RSS per process MB | one all_gather us | run 2 per block exchange us "
             "| process wall s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "failed" in r:
            lines.append(f"| {r['processes']} | failed: exit statuses {r['failed']} |")
            continue
        exchange = r["exchange_us_with"] - r["exchange_us_without"]
        per_block = ("-" if one is None or r is one else
                     f"{1e6 * (r['run2'] - one['run2']) / r['blocks_per_run']:.0f}")
        lines.append(
            f"| {r['processes']} | {r['build']:.2f} | {r['run1']:.2f} | {r['run2']:.2f} | "
            f"{r['get_data']:.3f} | {r['exc_rate_hz']:.1f}"
            f"{'' if r['same_spikes'] else ' (the processes disagree)'} | {r['peak_rss_mb']:.0f} | "
            f"{exchange:.0f} | {per_block} | {r['wall_s']:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--time", type=float, default=1000.0)
    parser.add_argument("--seed", type=int, default=98765)
    parser.add_argument("--microcircuit-scale", type=float, default=0.1,
                        help="scale of the microcircuit rows (0: no microcircuit)")
    parser.add_argument("--microcircuit-time", type=float, default=1000.0)
    parser.add_argument("--timeout", type=float, default=1200.0, help="s per launch")
    parser.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    parser.add_argument("--no-results", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return run_worker(args)
    with tempfile.TemporaryDirectory() as folder:
        rows = [run_processes(n, args, folder) for n in args.processes]
        text = table(rows, args)
        if args.microcircuit_scale > 0:
            text += "\n\n" + microcircuit_table(
                [run_microcircuit(n, args, folder) for n in args.processes], args)
    print(text)
    if not args.no_results:
        from va_benchmark import machine_description, write_section
        _, machine = machine_description({})
        write_section(args.results, "## Several processes (one machine)\n\n"
                      + "\n".join(machine) + "\n\n" + text, "processes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
