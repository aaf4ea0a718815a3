#!/usr/bin/env python
"""Output at engine speed: reading and writing recorded spikes, pyNN.jax and pyNN.nest.

The data: ``--cells`` SpikeSourceArray cells (default 100 000), each given
``--spikes-per-cell`` spike times (default 10: 1 M spikes), one in each of that many equal
slots of T = ``--bio-ms`` (1000 ms), drawn with numpy on the 0.1 ms grid from ``--seed``; the
same times on both simulators, every cell's spikes recorded, one ``run(T)``. Timed then, in
this order (each simulator in its own subprocess of this script, ``--worker``, one thread,
pyNN.nest with ``spike_precision="on_grid"``):

- **get_data**: ``population.get_data()`` (best of ``--repeats``, as pickle);
- **iterate**: every spike train of that block, each with ``population.id_to_index(
  train.annotations["channel_id"])`` (a published model's write-out loop): Neo builds the
  SpikeTrains on the first iteration;
- **pickle**: ``population.write_data("....pkl")`` (a new get_data, then Neo's PickleIO);
- **NIX**: ``population.write_data("....nix")`` of a population of N = ``--nix-cells`` cells
  (default 2000) of the same kind, in processes of their own, one per simulator, alternated
  over ``--nix-rounds`` rounds (best kept: the machine's other load varies more than the two
  differ). Neo's NixIO writes ~15-25 ms per spike train on this machine: 100 000 trains
  would take half an hour per simulator, so the table gives N trains and the time per 1000.

Every simulator's spikes are checked against the input: their number, the spikes not at
their given time, and the cell index id_to_index gives for each train.
With ``--profile-cells K`` (default 1000) the worker then repeats iterate and NIX on K cells
under cProfile and reports where the time goes, by package (tottime of the functions of each
package: where Neo, quantities, nixio and h5py are the cost, the profile says so).

``--progress-cost`` adds the cost of ``run(..., progress=True)``: Vogels-Abbott COBA 4000 cells
(``networks.vogels_abbott``), ``run(--progress-ms)`` with and without progress lines,
alternated ``--progress-repeats`` times after a warm-up run, best of each.

Usage::

    python benchmarks/output_benchmark.py                      # table on stdout and RESULTS.md
    python benchmarks/output_benchmark.py --cells 10000 --no-results
"""
import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from networks import SETUP, vogels_abbott  # noqa: E402
from suite import fmt, peak_rss_mb, run_json_worker, status_text  # noqa: E402
from va_benchmark import (DEFAULT_RESULTS, importable, machine_description,  # noqa: E402
                          write_results)

RESULT_MARK = "OUTPUT_RESULT "
SECTION = "output"
DT = 0.1                              # ms
FIRST_STEP = 10                       # no spike before 1 ms: pyNN.nest cannot emit at t <= dt
PROGRESS_MODES = {"off": False, "on": True, "every_chunk": 1e-9}
PACKAGES = ("neo", "quantities", "nixio", "h5py", "pickle", "pyNN_jax", "pyNN", "nest", "numpy")


# ---- worker: one simulator, one process ------------------------------------------------------
def spike_times(n_cells, per_cell, bio_ms, seed):
    """(n_cells, per_cell) spike times (ms) on the dt grid, one in each of ``per_cell`` equal
    slots of (FIRST_STEP dt, bio_ms): distinct and sorted in every row."""
    slot = (round(bio_ms / DT) - FIRST_STEP) // per_cell
    offsets = np.random.default_rng(seed).integers(0, slot, size=(n_cells, per_cell))
    return np.round((FIRST_STEP + np.arange(per_cell) * slot + offsets) * DT, 10)


def package_of(filename):
    """The package a profiled function belongs to, from its file name: "built-ins" for
    functions written in C (numpy's, h5py's and Python's own), "other" for the rest."""
    if filename == "~":
        return "built-ins"
    parts = filename.replace("\\", "/").split("/")
    for name in PACKAGES:
        if name in parts or f"{name}.py" in parts:
            return name
    return "other"


def profile_shares(function):
    """Fraction of the run time of ``function()`` spent in each package (cProfile tottime)."""
    profile = cProfile.Profile()
    profile.runcall(function)
    shares = {}
    for (filename, _, _), (_, _, tottime, _, _) in pstats.Stats(profile).stats.items():
        package = package_of(filename)
        shares[package] = shares.get(package, 0.0) + tottime
    total = sum(shares.values()) or 1.0
    return {k: v / total for k, v in sorted(shares.items(), key=lambda kv: -kv[1])}


def iterate_trains(population, block):
    """Visit every spike train, as a write-out loop does: (spikes, sum of cell indices)."""
    n_spikes = index_sum = 0
    for train in block.segments[0].spiketrains:
        index_sum += int(population.id_to_index(train.annotations["channel_id"]))
        n_spikes += len(train)
    return n_spikes, index_sum


def run_worker(args):
    if args.worker == "jax":
        import jax
        import pyNN.jax as sim
        extra = {"threads": 1, "spike_precision": "on_grid"}
    else:
        import nest
        import pyNN.nest as sim
        extra = {"threads": 1, "spike_precision": "on_grid", "verbosity": "error"}
    timings, info = {}, {}

    def timed(phase, function, repeats=1):
        """The value of ``function()``; its best time of ``repeats`` in ``timings``."""
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            value = function()
            seconds.append(time.perf_counter() - start)
        timings[phase] = min(seconds)
        return value

    times = spike_times(args.cells, args.spikes_per_cell, args.bio_ms, args.seed)

    def build():
        sim.setup(timestep=DT, min_delay=DT, **extra)
        population = sim.Population(args.cells, sim.SpikeSourceArray(spike_times=list(times)),
                                    label="sources")
        population.record("spikes")
        return population

    population = timed("build", build)
    timed("run", lambda: sim.run(args.bio_ms))
    folder = tempfile.mkdtemp(prefix=f"output_{args.worker}_")
    if args.nix_only:
        timed("nix", lambda: population.write_data(os.path.join(folder, "spikes.nix")), 1)
        sim.end()
        print(RESULT_MARK + json.dumps({"timings": timings}), flush=True)
        return
    block = timed("get_data", population.get_data, args.repeats)
    n_spikes, index_sum = timed("iterate", lambda: iterate_trains(population, block))
    timed("pickle", lambda: population.write_data(os.path.join(folder, "spikes.pkl")),
          args.repeats)
    channel_ids, spike_ms = block.segments[0].spiketrains.multiplexed
    by_cell = np.lexsort((spike_ms.magnitude, channel_ids))
    checks = {
        "spikes_expected": int(times.size), "spikes_iterated": int(n_spikes),
        "spikes_in_block": int(spike_ms.size),
        "index_sum_ok": index_sum == args.cells * (args.cells - 1) // 2,
        "spikes_off_time": (int(np.count_nonzero(np.abs(spike_ms.magnitude[by_cell]
                                                        - times.ravel()) > 1e-6))
                            if spike_ms.size == times.size else None),
    }
    info["peak_rss_mb"] = peak_rss_mb()
    info["version"] = (f"{jax.__version__} ({jax.default_backend()})" if args.worker == "jax"
                       else nest.__version__)
    profile_cells = min(args.profile_cells, args.cells)
    profiles = {}
    if profile_cells:
        view = population[:profile_cells]
        view_block = view.get_data()
        profiles["iterate"] = profile_shares(lambda: iterate_trains(population, view_block))
        profiles["nix"] = profile_shares(
            lambda: view.write_data(os.path.join(folder, "profiled.nix")))
    sim.end()
    print(RESULT_MARK + json.dumps({"timings": timings, "checks": checks, "info": info,
                                    "profiles": profiles, "profile_cells": profile_cells}),
          flush=True)


def run_progress_worker(args):
    """Best-of times of run(T) on VA-4000 COBA, pyNN.jax: without progress lines, with
    ``progress=True``, and with a line after every chunk (each line is a pause of the engine's
    overlap of computing and copying out: their cost per line, times one line per second, is
    the cost of ``progress=True``, measurable where the noise of a shared machine hides 1 %)."""
    import pyNN.jax as sim
    sim.setup(threads=1, **SETUP["va_coba"])
    vogels_abbott(sim, "coba", 4000, args.seed)
    sim.run(200.0)
    seconds = {key: [] for key in PROGRESS_MODES}
    for _ in range(args.progress_repeats):
        for key, progress in PROGRESS_MODES.items():
            start = time.perf_counter()
            sim.run(args.progress_ms, progress=progress)
            seconds[key].append(time.perf_counter() - start)
    chunks = -(-round(args.progress_ms / SETUP["va_coba"]["timestep"])
               // sim.state.network.structure.chunk_steps)
    sim.end()
    print(RESULT_MARK + json.dumps({"progress_s": seconds, "chunks": chunks}), flush=True)


# ---- parent: the workers, the table ----------------------------------------------------------
def run_subprocess(worker, args, nix_only=False):
    """One worker subprocess (suite.py's runner): its result, or a status. ``nix_only``: a
    population of ``--nix-cells`` cells, written to NIX."""
    cells = min(args.nix_cells, args.cells) if nix_only else args.cells
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", worker,
           "--cells", str(cells), "--spikes-per-cell", str(args.spikes_per_cell),
           "--bio-ms", str(args.bio_ms), "--seed", str(args.seed),
           "--nix-cells", str(args.nix_cells), "--profile-cells", str(args.profile_cells),
           "--progress-ms", str(args.progress_ms), "--repeats", str(args.repeats),
           "--progress-repeats", str(args.progress_repeats)] + (["--nix-only"] if nix_only else [])
    result = run_json_worker(cmd, args.timeout, RESULT_MARK)
    if result["status"] == "failed":
        print(result["output"], file=sys.stderr)
    return result


ROWS = [
    ("build (s), not an output phase", lambda r: r["timings"]["build"]),
    ("run (s)", lambda r: r["timings"]["run"]),
    ("get_data (s)", lambda r: r["timings"]["get_data"]),
    ("get_data per 1M spikes (s)",
     lambda r: 1e6 * r["timings"]["get_data"] / max(r["checks"]["spikes_in_block"], 1)),
    ("iterate every train + id_to_index (s)", lambda r: r["timings"]["iterate"]),
    ("id_to_index + train, per cell (us)", None),
    ("write_data pickle (s)", lambda r: r["timings"]["pickle"]),
    ("write_data NIX, N cells (s)", lambda r: r["timings"].get("nix")),
    ("NIX per 1000 trains (s)", lambda r: 1000 * r["timings"]["nix"] / r["nix_cells"]
     if "nix" in r["timings"] else None),
    ("peak RSS (MB)", lambda r: r["info"]["peak_rss_mb"]),
    ("spikes (iterated / expected)",
     lambda r: f"{r['checks']['spikes_iterated']} / {r['checks']['spikes_expected']}"),
    ("spikes off their given time", lambda r: r["checks"]["spikes_off_time"]),
    ("id_to_index(channel_id) of every train right",
     lambda r: "yes" if r["checks"]["index_sum_ok"] else "NO"),
    ("other load (cores)", lambda r: r.get("other_load")),
]


def table(results, args):
    simulators = [s for s in ("jax", "nest") if s in results]
    lines = ["| | " + " | ".join(f"pyNN.{s}" for s in simulators)
             + (" | nest / jax |" if len(simulators) == 2 else " |"),
             "|---|" + "---:|" * (len(simulators) + (len(simulators) == 2))]
    for label, get in ROWS:
        if get is None:
            get = (lambda r: 1e6 * r["timings"]["iterate"] / args.cells)
        values = [get(results[s]) if results[s]["status"] == "ok" else status_text(results[s])
                  for s in simulators]
        cells = [v if isinstance(v, str) else fmt(v) for v in values]
        if len(simulators) == 2:
            numbers = [v for v in values if isinstance(v, (int, float)) and v is not None]
            ratio = (numbers[1] / numbers[0] if len(numbers) == 2 and numbers[0] and
                     "(s)" in label else None)
            cells.append(fmt(ratio) if ratio else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def check_lines(results):
    out = []
    for simulator, result in results.items():
        off = result["status"] == "ok" and result["checks"]["spikes_off_time"]
        if off:
            out.append(f"- pyNN.{simulator}: {off} of {result['checks']['spikes_expected']}"
                       f" spikes not at their given time"
                       + (" (pyNN.nest shifts SpikeSourceArray times back by min_delay before"
                          " NEST rounds them to the grid; measured: 0.1 ms late)"
                          if simulator == "nest" else ""))
    return out


def profile_lines(results):
    out = []
    for simulator, result in results.items():
        for phase, shares in result.get("profiles", {}).items():
            parts = ", ".join(f"{k} {100 * v:.0f} %" for k, v in shares.items() if v >= 0.01)
            out.append(f"- profile of {phase}, pyNN.{simulator}, {result['profile_cells']} cells"
                       f" (share of cProfile tottime): {parts}")
    return out


def progress_line(result, args):
    best = {key: min(values) for key, values in result["progress_s"].items()}
    per_line = (best["every_chunk"] - best["off"]) / result["chunks"]
    return (f"- progress lines, VA-4000 COBA, `run({args.progress_ms:g})`, best of "
            f"{args.progress_repeats}: {best['off']:.3f} s without, {best['on']:.3f} s with "
            f"`progress=True` ({100 * (best['on'] / best['off'] - 1):+.1f} %), "
            f"{best['every_chunk']:.3f} s with a line after each of its {result['chunks']} "
            f"chunks: {1e3 * per_line:.2f} ms per line, i.e. {100 * per_line:.2f} % of a run "
            f"with `progress=True` (one line per second)")


def section(results, progress, args):
    _, machine = machine_description(results)
    command = (f"python benchmarks/output_benchmark.py --cells {args.cells} --spikes-per-cell "
               f"{args.spikes_per_cell} --nix-cells {args.nix_cells} --profile-cells "
               f"{args.profile_cells} --repeats {args.repeats} --nix-rounds {args.nix_rounds}"
               + (" --progress-cost" if progress else ""))
    body = [f"<!-- BEGIN {SECTION} -->",
            f"## Output: {args.cells} SpikeSourceArray cells, {args.spikes_per_cell} spikes each,"
            f" {args.bio_ms:g} ms, dt = {DT} ms",
            ""] + machine + [f"- command: `{command}`",
                             f"- NIX: N = {min(args.nix_cells, args.cells)} cells of the same"
                             f" kind, {args.nix_rounds} rounds of one process per simulator,"
                             f" alternated; best round", "",
                             table(results, args), ""]
    body += check_lines(results) + profile_lines(results)
    if progress is not None and progress["status"] == "ok":
        body.append(progress_line(progress, args))
    body += ["", f"<!-- END {SECTION} -->"]
    return "\n".join(body)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--spikes-per-cell", type=int, default=10)
    parser.add_argument("--bio-ms", type=float, default=1000.0)
    parser.add_argument("--seed", type=int, default=98765)
    parser.add_argument("--nix-cells", type=int, default=2000,
                        help="cells of the NIX workers' populations, all written (default 2000)")
    parser.add_argument("--profile-cells", type=int, default=1000,
                        help="cells of the profiled iterate and NIX phases (0: no profile)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="times get_data and pickle are repeated (best time kept); the "
                             "iteration is timed once: it builds the trains")
    parser.add_argument("--nix-rounds", type=int, default=2,
                        help="rounds of NIX workers, one per simulator, alternated (best kept)")
    parser.add_argument("--nix-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--simulators", default="jax,nest")
    parser.add_argument("--progress-cost", action="store_true",
                        help="also measure run(..., progress=True) against run(...)")
    parser.add_argument("--progress-ms", type=float, default=10000.0)
    parser.add_argument("--progress-repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=1800.0, help="per worker (s)")
    parser.add_argument("--results", default=DEFAULT_RESULTS)
    parser.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker == "progress":
        return run_progress_worker(args)
    if args.worker:
        return run_worker(args)
    results = {}
    for simulator in args.simulators.split(","):
        if simulator == "nest" and not importable("nest"):
            print("pyNN.nest is not importable: skipping NEST", file=sys.stderr)
            continue
        results[simulator] = run_subprocess(simulator, args)
    for simulator, result in results.items():      # NIX: own processes, alternated, best
        result["nix_cells"], result["nix_rounds_s"] = min(args.nix_cells, args.cells), []
    for _ in range(args.nix_rounds):
        for simulator, result in results.items():
            nix = run_subprocess(simulator, args, nix_only=True)
            if nix["status"] == "ok":
                result["nix_rounds_s"].append(nix["timings"]["nix"])
    for result in results.values():
        if result["status"] == "ok" and result["nix_rounds_s"]:
            result["timings"]["nix"] = min(result["nix_rounds_s"])
    progress = run_subprocess("progress", args) if args.progress_cost else None
    text = section(results, progress, args)
    print(text)
    if not args.no_results:
        write_results(args.results, {SECTION: text})


if __name__ == "__main__":
    main()
