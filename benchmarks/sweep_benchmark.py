#!/usr/bin/env python
"""Throughput of parameter sweeps: N sets of the Vogels-Abbott COBA network in one vmapped
call (``pyNN_jax.sweeps.run_sweep``) against N sequential
``reset(); set(); run(); get_data(clear=True)``.

The network and the weight grid are those of ``examples/va_sweep.py`` (excitatory weight x
inhibitory weight, spikes of every cell recorded). Both sides produce the same data: one Neo
block per set and population. Measured: the first sweep call (compilation included), a
second sweep call (warm), the first sequential run (compilation included) and the warm
sequential loop; throughput in sets per second. The sequential loop may be run over fewer sets
(``--sequential-sets``) and is then extrapolated to N, which the table says.

    python benchmarks/sweep_benchmark.py --n 1000 --sets 100 --time 1000
    python benchmarks/sweep_benchmark.py --n 1000 --sets 100 --time 1000 \\
        --results benchmarks/RESULTS.md
"""
import argparse
import datetime
import os
import platform
import resource
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "examples"))

import jax                                      # noqa: E402
import pyNN.jax as sim                          # noqa: E402
from pyNN_jax.sweeps import run_sweep           # noqa: E402
from va_sweep import DELAY, build_network, rate_and_cv, weight_grid  # noqa: E402
from va_benchmark import cpu_busy_seconds, write_section                # noqa: E402

SECTION = "## Sweeps"


class OtherLoad:
    """CPU cores used on average by other processes of the machine while a timing ran."""

    def __enter__(self):
        self.busy, self.own, self.wall = cpu_busy_seconds(), self.own_cpu(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        busy = cpu_busy_seconds()
        self.cores = (None if busy is None or self.busy is None else
                      max(busy - self.busy - (self.own_cpu() - self.own), 0.0)
                      / (time.perf_counter() - self.wall))

    @staticmethod
    def own_cpu():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime


def machine():
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores "
            f"(JAX {jax.__version__} on {jax.default_backend()}, "
            f"{len(jax.devices())} device(s))")


def load_text(load):
    return "unknown" if load.cores is None else f"{load.cores:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="cells of the network")
    parser.add_argument("--sets", type=int, default=100, help="parameter sets")
    parser.add_argument("--time", type=float, default=1000.0, help="ms per set")
    parser.add_argument("--sequential-sets", type=int, default=None,
                        help="sets actually run sequentially (default: all)")
    parser.add_argument("--sweep", choices=("weights", "seeds"), default="weights",
                        help="weights: a grid of excitatory x inhibitory weights (sets of very "
                             "different activity); seeds: one seed per set at the benchmark's "
                             "weights (sets of similar activity)")
    parser.add_argument("--results", default=None,
                        help="write the table into this markdown file (its sweep section)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPUs of JAX's CPU runtime (setup(threads=...); default: "
                             "setup()'s, 1)")
    args = parser.parse_args()
    sequential_sets = min(args.sequential_sets or args.sets, args.sets)

    sim.setup(timestep=0.1, min_delay=DELAY, rng_seed=2026, threads=args.threads,
              spike_precision="on_grid")
    exc, inh, excitatory, inhibitory = build_network(args.n)
    side = int(np.ceil(np.sqrt(args.sets)))
    w_exc, w_inh = weight_grid(np.linspace(1.0, 10.0, side), np.linspace(10.0, 100.0, side))
    w_exc, w_inh = w_exc[:args.sets], w_inh[:args.sets]
    if args.sweep == "weights":
        parameters, seeds = {**{(prj, "weight"): w_exc for prj in excitatory},
                             **{(prj, "weight"): w_inh for prj in inhibitory}}, None
    else:
        parameters, seeds = {}, list(range(1, args.sets + 1))

    timings = {}
    t = time.perf_counter()
    swept = run_sweep(args.time, parameters, seeds=seeds)
    timings["sweep, first call (incl. compile)"] = time.perf_counter() - t
    with OtherLoad() as sweep_load:
        t = time.perf_counter()
        swept = run_sweep(args.time, parameters, seeds=seeds)
        timings["sweep, second call (warm)"] = time.perf_counter() - t

    sequential_rates = []
    sequential_load = OtherLoad()
    for i in range(sequential_sets + 1):         # set 0 twice: the first run compiles
        t = time.perf_counter()
        sim.reset()                              # new random numbers: a new segment
        if args.sweep == "weights":
            for prj in excitatory:
                prj.set(weight=w_exc[max(i - 1, 0)])
            for prj in inhibitory:
                prj.set(weight=w_inh[max(i - 1, 0)])
        sim.run(args.time)
        block = exc.get_data(clear=True)        # one segment, as a sweep's set
        inh.get_data(clear=True)
        if i == 0:
            timings["sequential, first run (incl. compile)"] = time.perf_counter() - t
            t_loop = time.perf_counter()
            sequential_load.__enter__()
        else:
            sequential_rates.append(rate_and_cv(block)[0])
    loop = (time.perf_counter() - t_loop) * args.sets / sequential_sets
    sequential_load.__exit__()
    timings["sequential, warm loop" + (f" (x {args.sets}/{sequential_sets})"
                                        if sequential_sets < args.sets else "")] = loop
    swept_rates = [rate_and_cv(result[exc])[0] for result in swept[:sequential_sets]]
    # the sequential runs follow reset(): other random numbers
    difference = np.abs(np.array(swept_rates) - np.array(sequential_rates))

    warm_sweep = timings["sweep, second call (warm)"]
    what = ("a grid of excitatory (1-10 nS) x inhibitory (10-100 nS) weights"
            if args.sweep == "weights" else
            "one seed per set at the benchmark's weights (4 nS, 51 nS); the sequential runs "
            "draw new random numbers after each reset()")
    lines = [f"{SECTION}, {args.sweep}: {args.sets} sets of the Vogels-Abbott COBA network, "
             f"{args.n} cells, {args.time:g} ms per set, dt = 0.1 ms",
             "",
             f"{datetime.date.today()}, {machine()}, float32. Sets: {what}; spikes of all "
             "cells recorded; each set ends as one Neo block per population.",
             "",
             "| quantity | seconds | sets per second |",
             "|---|---:|---:|"]
    for name, seconds in timings.items():
        sets = args.sets if "first run" not in name else 1
        lines.append(f"| {name} | {seconds:.2f} | {sets / seconds:.2f} |")
    cold_sweep = timings["sweep, first call (incl. compile)"]
    cold_loop = loop + timings["sequential, first run (incl. compile)"]
    lines += ["",
              f"Throughput, warm sweep against warm sequential loop: "
              f"**{loop / warm_sweep:.1f}x**; including compilation: "
              f"{cold_loop / cold_sweep:.1f}x. "
              f"Mean rate of the excitatory cells over the first {sequential_sets} sets: sweep "
              f"{np.mean(swept_rates):.2f} Hz, sequential {np.mean(sequential_rates):.2f} Hz "
              f"(largest difference per set {difference.max():.2f} Hz: the sequential runs "
              "follow reset() and draw other random numbers).",
              "",
              f"CPU cores used by other processes meanwhile: {load_text(sweep_load)} during the "
              f"warm sweep, {load_text(sequential_load)} during the warm sequential loop"
              + (" (a shared machine: absolute times are inflated)."
                 if max(sweep_load.cores or 0, sequential_load.cores or 0) > 0.25 else "."),
              ""]
    table = "\n".join(lines)
    print(table)
    if args.results:
        write_section(args.results, table, f"sweeps-{args.sweep}-{args.n}")


if __name__ == "__main__":
    main()
