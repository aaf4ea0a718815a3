#!/usr/bin/env python
"""Connector build rates of pyNN.jax and pyNN.nest side by side: connections per second and
memory of one Projection, for every connector of PyNN.

Each (connector, size, simulator) runs in its own subprocess of this script (``--worker``),
so that neither timings nor memory high-water marks mix. A worker creates the populations,
then times ``Projection(...)`` alone: the connector's draws, the synapse parameters (weights
uniform in [0.05, 0.15] nA, delays uniform in [0.5, 2.0] ms, both RandomDistributions of a
NumpyRNG) and the storage of the connections. Memory: the process's resident set before the
Projection and its high-water mark during it (the kernel's VmHWM, reset just before);
"tables": what the connections keep (pyNN.jax: its arrays; pyNN.nest: the growth of the
resident set); "build overhead": the high-water mark above the tables, per connection.

``--sizes N`` (cells per population; default 10000) and ``--indegree K`` (default 100) give
about N x K connections per connector: AllToAll K -> N cells, OneToOne N K / 10 cells,
FixedProbability K / N, FixedNumberPre / Post K, FixedTotalNumber N K, FromList / FromFile
N K rows (FromFile: a NumpyBinaryFile, written before the timing); the distance-dependent
connectors connect N cells to N cells with a probability of about 0.3 exp(-d / 5) (d in grid
steps) on a Line, a Grid2D, a Grid3D and a RandomStructure, so their counts are not N K.
pyNN.nest is skipped where it cannot be imported.

Usage::

    python benchmarks/connectors.py                           # both simulators, N = 10000
    python benchmarks/connectors.py --sizes 2000,10000 --simulators jax
    python benchmarks/connectors.py --connectors fixed_total_number --write-results
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RESULTS = os.path.join(HERE, "RESULTS.md")
sys.path.insert(0, HERE)
from suite import comma_list, peak_rss_mb  # noqa: E402
from va_benchmark import cpu_model, git_description, importable, write_section  # noqa: E402

RESULT_MARK = "CONNECTOR_RESULT "
SECTION = "connectors"
SIMULATORS = ("jax", "nest")
SIMULATOR_NAMES = {"jax": "pyNN.jax", "nest": "pyNN.nest"}
SEED = 42
BULK_TARGET, DISTANCE_TARGET = 5e6, 1e6       # connections (rows) per second, issue 15
DISTANCE_CASES = ("distance_dependent", "distance_grid2d", "distance_grid3d",
                  "distance_random", "index_based", "displacement_grid2d")


# ---- the cases -----------------------------------------------------------------------------
def distance_probability(sim):
    """PyNN's d_expression of the distance-dependent cases (d in grid steps of 1)."""
    return sim.DistanceDependentProbabilityConnector("0.3 * exp(-d / 5)", rng=sim.NumpyRNG(SEED))


def distance_case(structure, dimensions=2):
    """N cells rounded to a square (cube) number for a grid in 2 (3) dimensions."""
    def case(sim, n, k):
        n = int(round(n ** (1 / dimensions))) ** dimensions
        return (sim.Population(n, sim.IF_curr_exp(), structure=structure(sim, n)),
                sim.Population(n, sim.IF_curr_exp(), structure=structure(sim, n)),
                distance_probability(sim))
    return case


def grid2d(sim, n):
    from pyNN.space import Grid2D
    return Grid2D(aspect_ratio=1.0, dx=1.0, dy=1.0)


def grid3d(sim, n):
    from pyNN.space import Grid3D
    return Grid3D(1.0, 1.0, dx=1.0, dy=1.0, dz=1.0)


def random_structure(sim, n):
    """Uniform in a square of side sqrt(n) (one cell per unit area, as Grid2D), z = 0."""
    from pyNN.space import Cuboid, RandomStructure
    side = float(np.sqrt(n))
    return RandomStructure(Cuboid(side, side, 0.0), origin=(side / 2, side / 2, 0.0),
                           rng=sim.NumpyRNG(SEED + 1))


def index_based(sim, n, k):
    """Probability 0.5 where |i - j| < k."""
    from pyNN.core import IndexBasedExpression

    class Band(IndexBasedExpression):
        def __call__(self, i, j):
            return 0.5 * (np.abs(i - j) < k)
    return (sim.Population(n, sim.IF_curr_exp()), sim.Population(n, sim.IF_curr_exp()),
            sim.IndexBasedProbabilityConnector(Band(), rng=sim.NumpyRNG(SEED)))


def displacement_grid2d(sim, n, k):
    n = int(round(np.sqrt(n))) ** 2
    structure = grid2d(sim, n)
    return (sim.Population(n, sim.IF_curr_exp(), structure=structure),
            sim.Population(n, sim.IF_curr_exp(), structure=structure),
            sim.DisplacementDependentProbabilityConnector(
                lambda d: 0.3 * np.exp(-np.sqrt(d[0] ** 2 + d[1] ** 2) / 5),
                rng=sim.NumpyRNG(SEED)))


def connection_rows(n, k):
    """N K (pre, post, weight, delay) rows in random order."""
    rng = np.random.RandomState(SEED)
    size = n * k
    return np.column_stack([rng.randint(0, n, size), rng.randint(0, n, size),
                            rng.uniform(0.05, 0.15, size), rng.uniform(0.5, 2.0, size)])


def from_list(sim, n, k):
    return (sim.Population(n, sim.IF_curr_exp()), sim.Population(n, sim.IF_curr_exp()),
            sim.FromListConnector(connection_rows(n, k), column_names=["weight", "delay"]))


def from_file(sim, n, k):
    from pyNN.recording.files import NumpyBinaryFile
    path = os.path.join(tempfile.mkdtemp(), "connections.npz")
    writer = NumpyBinaryFile(path, mode="wb")
    writer.write(connection_rows(n, k), {"columns": ["i", "j", "weight", "delay"]})
    writer.close()
    return (sim.Population(n, sim.IF_curr_exp()), sim.Population(n, sim.IF_curr_exp()),
            sim.FromFileConnector(NumpyBinaryFile(path, mode="rb")))


def pair(sim, n_pre, n_post, connector):
    return (sim.Population(n_pre, sim.IF_curr_exp()), sim.Population(n_post, sim.IF_curr_exp()),
            connector)


def same(sim, n, connector):
    cells = sim.Population(n, sim.IF_curr_exp())
    return cells, cells, connector


# name: (description, function(sim, n, k) -> (pre, post, connector))
CASES = {
    "all_to_all": ("AllToAll, K -> N", lambda sim, n, k: pair(
        sim, k, n, sim.AllToAllConnector())),
    "one_to_one": ("OneToOne, N K / 10 cells", lambda sim, n, k: pair(
        sim, n * k // 10, n * k // 10, sim.OneToOneConnector())),
    "fixed_probability": ("FixedProbability K / N", lambda sim, n, k: pair(
        sim, n, n, sim.FixedProbabilityConnector(k / n, rng=sim.NumpyRNG(SEED)))),
    "fixed_probability_no_self": ("FixedProbability K / N, no self", lambda sim, n, k: same(
        sim, n, sim.FixedProbabilityConnector(k / n, allow_self_connections=False,
                                              rng=sim.NumpyRNG(SEED)))),
    "fixed_number_pre": ("FixedNumberPre K", lambda sim, n, k: pair(
        sim, n, n, sim.FixedNumberPreConnector(k, rng=sim.NumpyRNG(SEED)))),
    "fixed_number_pre_replacement": ("FixedNumberPre K, with replacement, no self",
                                     lambda sim, n, k: same(sim, n, sim.FixedNumberPreConnector(
                                         k, with_replacement=True, allow_self_connections=False,
                                         rng=sim.NumpyRNG(SEED)))),
    "fixed_number_post": ("FixedNumberPost K", lambda sim, n, k: pair(
        sim, n, n, sim.FixedNumberPostConnector(k, rng=sim.NumpyRNG(SEED)))),
    "fixed_number_post_replacement": ("FixedNumberPost K, with replacement",
                                      lambda sim, n, k: pair(sim, n, n,
                                                             sim.FixedNumberPostConnector(
                                                                 k, with_replacement=True,
                                                                 rng=sim.NumpyRNG(SEED)))),
    "fixed_total_number": ("FixedTotalNumber N K", lambda sim, n, k: pair(
        sim, n, n, sim.FixedTotalNumberConnector(n * k, rng=sim.NumpyRNG(SEED)))),
    "fixed_total_number_distinct": (
        "FixedTotalNumber N K, without replacement, no self", lambda sim, n, k: same(
            sim, n, sim.FixedTotalNumberConnector(n * k, with_replacement=False,
                                                  allow_self_connections=False,
                                                  rng=sim.NumpyRNG(SEED)))),
    "distance_dependent": ("DistanceDependent, Line", lambda sim, n, k: pair(
        sim, n, n, distance_probability(sim))),
    "distance_grid2d": ("DistanceDependent, Grid2D", distance_case(grid2d)),
    "distance_grid3d": ("DistanceDependent, Grid3D", distance_case(grid3d, 3)),
    "distance_random": ("DistanceDependent, RandomStructure", distance_case(random_structure)),
    "index_based": ("IndexBased, band of width 2 K", index_based),
    "displacement_grid2d": ("DisplacementDependent, Grid2D", displacement_grid2d),
    "from_list": ("FromList, N K rows", from_list),
    "from_file": ("FromFile (.npz), N K rows", from_file),
}


# ---- worker: one connector, one size, one simulator, one process -----------------------------
def resident_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("VmRSS not found in /proc/self/status")


def reset_peak_rss():
    """Start the kernel's high-water mark (VmHWM) again from the current resident set."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def run_worker(args):
    import importlib
    sim = importlib.import_module(f"pyNN.{args.simulator}")
    from pyNN.random import RandomDistribution
    sim.setup(timestep=0.1, min_delay=0.1, max_delay=4.0, threads=args.threads)
    pre, post, connector = CASES[args.connector][1](sim, args.size, args.indegree)
    synapse = sim.StaticSynapse(
        weight=RandomDistribution("uniform", (0.05, 0.15), rng=sim.NumpyRNG(SEED + 2)),
        delay=RandomDistribution("uniform", (0.5, 2.0), rng=sim.NumpyRNG(SEED + 3)))
    before = resident_mb()
    reset_peak_rss()
    start = time.perf_counter()
    projection = sim.Projection(pre, post, connector, synapse)
    build_s = time.perf_counter() - start
    after, peak = resident_mb(), peak_rss_mb()
    n = int(projection.size())
    # what the connections keep: pyNN.jax's arrays where known, else the resident set's growth
    kept_mb = sum(v.nbytes for v in projection._connections.values()) / 2 ** 20 \
        if args.simulator == "jax" else after - before
    result = {"connector": args.connector, "size": args.size, "simulator": args.simulator,
              "n_pre": pre.size, "n_post": post.size, "connections": n,
              "build_s": build_s, "per_s": n / build_s if build_s > 0 else None,
              "tables_mb": kept_mb, "peak_mb": peak - before,
              "overhead_bytes": (peak - before - kept_mb) * 2 ** 20 / n if n else None}
    print(RESULT_MARK + json.dumps(result), flush=True)
    sim.end()


# ---- parent: subprocesses, table, RESULTS.md -------------------------------------------------
def run_case(simulator, connector, size, args):
    """The fastest of ``args.repeat`` builds, each in its own subprocess."""
    results = [run_once(simulator, connector, size, args) for _ in range(args.repeat)]
    ok = [r for r in results if r["status"] == "ok"]
    return min(ok, key=lambda r: r["build_s"]) if ok else results[-1]


def run_once(simulator, connector, size, args):
    command = [sys.executable, os.path.abspath(__file__), "--worker", "--simulator", simulator,
               "--connectors", connector, "--sizes", str(size), "--indegree",
               str(args.indegree), "--threads", str(args.threads)]
    failed = {"connector": connector, "size": size, "simulator": simulator}
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {**failed, "status": f"timeout ({args.timeout:g} s)"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        error = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {**failed, "status": f"failed: {error[:80]}"}
    return {**json.loads(lines[-1][len(RESULT_MARK):]), "status": "ok"}


def fmt(value, digits):
    return "-" if value is None else f"{value:.{digits}f}"


def target_of(connector):
    return DISTANCE_TARGET if connector in DISTANCE_CASES else BULK_TARGET


def table(rows, simulators):
    """One line per (connector, size): each simulator's figures, then pyNN.jax / pyNN.nest."""
    header = ["connector", "N", "connections"]
    for s in simulators:
        name = SIMULATOR_NAMES[s]
        header += [f"{name} build (s)", f"{name} M conn/s", f"{name} tables (MB)",
                   f"{name} peak (MB)"]
    header.append("pyNN.jax build overhead (B/conn)")
    if len(simulators) > 1:
        header.append("speed-up vs NEST")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    by_key = {(r["connector"], r["size"], r["simulator"]): r for r in rows}
    for connector in dict.fromkeys(r["connector"] for r in rows):
        for size in dict.fromkeys(r["size"] for r in rows if r["connector"] == connector):
            results = [by_key.get((connector, size, s), {"status": "not run"})
                       for s in simulators]
            counts = {r["connections"] for r in results if r["status"] == "ok"}
            cells = [CASES[connector][0], str(size),
                     " / ".join(str(c) for c in sorted(counts)) or "-"]
            for result in results:
                if result["status"] != "ok":
                    cells += [result["status"], "-", "-", "-"]
                    continue
                rate = result["per_s"]
                mark = "" if rate is None else (" ✓" if rate >= target_of(connector) else " ✗")
                cells += [fmt(result["build_s"], 3), fmt(rate and rate / 1e6, 2) + mark,
                          fmt(result["tables_mb"], 0), fmt(result["peak_mb"], 0)]
            jax = by_key.get((connector, size, "jax"), {"status": "not run"})
            cells.append(fmt(jax.get("overhead_bytes"), 0) if jax["status"] == "ok" else "-")
            if len(simulators) > 1:
                ok = [r for r in results if r["status"] == "ok"]
                cells.append(fmt(ok[1]["build_s"] / ok[0]["build_s"], 1) + "x"
                             if len(ok) == 2 and ok[0]["build_s"] > 0 else "-")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(rows, simulators, args, argv):
    lines = [
        "## Connectors: build rates", "",
        f"- {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, pyNN.jax "
        f"{git_description()}; machine: {cpu_model()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {args.threads} thread(s) per simulator",
        "- command: `python benchmarks/connectors.py " + " ".join(argv) + "`",
        f"- targets (issue 15): >= {BULK_TARGET / 1e6:g} M connections/s (rows/s for FromList,"
        f" FromFile), >= {DISTANCE_TARGET / 1e6:g} M/s for the distance-dependent ones (✓ / ✗);"
        " tables = pyNN.jax's arrays of the connections (pyNN.nest: growth of the resident set);"
        " build overhead = high-water mark of the build above the tables, per connection"
        " (target <= 40 B)",
        f"- each line: one Projection, the fastest of {args.repeat} builds, each in a fresh"
        " subprocess; weights and delays from RandomDistributions", "",
        table(rows, simulators)]
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000", help="cells per population (N), commas")
    parser.add_argument("--indegree", type=int, default=100, help="K (default 100)")
    parser.add_argument("--connectors", default=",".join(CASES),
                        help="cases, commas (default: all): " + ", ".join(CASES))
    parser.add_argument("--simulators", default="jax,nest")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3,
                        help="builds per case, each in a fresh process; the fastest is shown")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds per worker (default 900)")
    parser.add_argument("--json", help="write the rows to this file")
    parser.add_argument("--write-results", nargs="?", const=DEFAULT_RESULTS,
                        help=f"put the table into this file's '{SECTION}' section "
                             f"(default {DEFAULT_RESULTS})")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--simulator", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sizes = comma_list(args.sizes, int)
    args.connectors = comma_list(args.connectors)
    args.simulators = comma_list(args.simulators)
    unknown = [c for c in args.connectors if c not in CASES]
    if unknown:
        parser.error(f"unknown connectors {unknown}; known: {', '.join(CASES)}")
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.worker:
        args.connector, args.size = args.connectors[0], args.sizes[0]
        return run_worker(args)
    simulators = [s for s in args.simulators if s == "jax" or importable(s)]
    for skipped in sorted(set(args.simulators) - set(simulators)):
        print(f"pyNN.{skipped} cannot be imported: skipped", file=sys.stderr)
    rows = []
    for size in args.sizes:
        for connector in args.connectors:
            for simulator in simulators:
                print(f"[{connector} N={size}] {simulator} ...", file=sys.stderr, flush=True)
                rows.append(run_case(simulator, connector, size, args))
    text = report(rows, simulators, args, argv)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    if args.write_results:
        write_section(args.write_results, text, SECTION)


if __name__ == "__main__":
    main()
