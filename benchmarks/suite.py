#!/usr/bin/env python
"""Benchmark suite: speed and memory at scale, pyNN.jax and pyNN.nest side by side.

Cases (networks in ``benchmarks/networks.py``, the same PyNN code on both backends):

- ``va_coba``, ``va_cuba``: Vogels-Abbott network at each of ``--sizes`` cells; 2 %
  connection probability up to ``--va-probability-max`` cells (the published benchmark, N^2
  synapses), a fixed in-degree of ``--va-indegree`` inputs per cell above (N synapses).
- ``brunel``: Brunel (2000), NEST's brunel_delta example, ``--brunel-size`` cells
  (T = ``--brunel-bio-ms``, W = ``--brunel-warmup-ms``, 100 ms each).
- ``lif1m``: ``--lif-size`` IF_curr_exp cells driven by constant currents, no projections.

Every (case, size, backend) runs in its own subprocess of this script (``--worker``): a fresh
JAX or NEST, timings taken inside with ``time.perf_counter``, peak memory as the child's own
high-water mark (VmHWM), results passed back as JSON on stdout. A worker that exceeds
``--timeout`` is killed and shows as "timeout"; NEST then skips the larger sizes of that case.

Phases, per worker:

- build: setup + Populations + Projections + record;
- a first ``run(W)`` (W = ``--warmup-ms``), cold; then ``run(T)`` (T = ``--bio-ms``), warm,
  reported per second of biological time; then ``run(W)`` again, warm;
- compile (pyNN.jax): cold run(W) minus warm run(W); "first run" = compile + run(T), what a
  user waits for in a first ``run(T)`` (for NEST it includes NEST's own preparation of the
  first Simulate call the same way);
- get_data: ``get_data()`` of every recorded population;
- peak RSS, spikes, the mean rate of the excitatory cells during run(T), and recurrent
  synaptic events per biological second during run(T) (spikes x mean out-degree of their
  cell's population).

Usage::

    python benchmarks/suite.py                          # everything (hours on 2 cores)
    python benchmarks/suite.py --cases va_coba --sizes 1000,4000 --markdown
    python benchmarks/suite.py --cases va_coba,brunel --no-nest --bio-ms 200
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from networks import (BRUNEL_NE, BRUNEL_NI, SETUP, brunel, lif_population,  # noqa: E402
                      vogels_abbott)
from va_benchmark import (CompileCounter, children_cpu_seconds, cpu_busy_seconds,  # noqa: E402
                          cpu_model, git_description, importable, write_section)

CASES = ("va_coba", "va_cuba", "brunel", "lif1m")
BACKENDS = ("jax", "nest")
RESULT_MARK = "SUITE_RESULT "
DEFAULT_RESULTS = os.path.join(HERE, "RESULTS.md")
SECTION = "suite"


# ---- worker: one case, one size, one backend, one process -----------------------------------
def peak_rss_mb():
    """High-water mark of this process's resident memory (MB), from /proc (VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("VmHWM not found in /proc/self/status")


def spike_times_ms(block):
    """All spike times (ms) of the first segment of a Neo block, as one numpy array."""
    times = block.segments[0].spiketrains.multiplexed[1]
    return np.asarray(times.rescale("ms").magnitude if hasattr(times, "rescale") else times,
                      dtype=float)


def build_network(sim, args):
    """The network of ``args.case`` at ``args.size`` cells, on the backend module ``sim``."""
    if args.case in ("va_coba", "va_cuba"):
        return vogels_abbott(sim, args.case[3:], args.size, args.seed,
                             indegree=args.indegree or None)
    if args.case == "brunel":
        return brunel(sim, args.seed, scale=args.size / (BRUNEL_NE + BRUNEL_NI))
    return lif_population(sim, args.size)


def run_worker(args):
    info, timings = {}, {}
    counter = None
    if args.worker == "jax":
        import jax
        counter = CompileCounter()
        jax.monitoring.register_event_duration_secs_listener(counter)
        import pyNN.jax as sim
        # no persistent compilation cache unless asked: "compile" is a compilation
        extra = {"precision": args.precision, "compilation_cache": args.compile_cache or None,
                 "threads": args.threads, "spike_precision": "on_grid"}
    else:
        import nest
        import pyNN.nest as sim
        info["version"] = f"NEST {nest.__version__} ({args.threads} thread(s))"
        extra = {"threads": args.threads, "spike_precision": "on_grid", "verbosity": "error"}

    def timed(phase, function, *a):
        if counter is not None:
            counter.phase = phase
        start = time.perf_counter()
        value = function(*a)
        timings[phase] = time.perf_counter() - start
        return value

    def build():
        sim.setup(rng_seed=args.seed, **SETUP[args.case], **extra)
        return build_network(sim, args)

    network = timed("build", build)
    if args.worker == "jax":      # the backend starts in setup() (threads)
        info["version"] = f"jax {jax.__version__} ({jax.default_backend()}, {args.precision})"
    info["rss_after_build_mb"] = peak_rss_mb()
    timed("first_short_run", sim.run, args.warmup_ms)
    timed("run", sim.run, args.bio_ms)
    timed("warm_short_run", sim.run, args.warmup_ms)
    blocks = timed("get_data", lambda: {k: p.get_data() for k, p in network.recorded.items()})
    info["peak_rss_mb"] = peak_rss_mb()

    # spike times from the (channel, time) arrays: iterating over a SpikeTrainList built
    # from arrays would create one neo.SpikeTrain per cell, which is not part of get_data
    times = {k: spike_times_ms(block) for k, block in blocks.items()}
    # rates and events over the timed run(T), after the first run(W)
    in_run = {k: int(np.count_nonzero((t > args.warmup_ms)
                                      & (t <= args.warmup_ms + args.bio_ms)))
              for k, t in times.items()}
    out_degree = {k: network.out_degree(k) for k in times}
    rate_pop = network.recorded[network.rate_label]
    bio_s = args.bio_ms / 1000.0
    result = {
        "timings": timings,
        "spikes": int(sum(t.size for t in times.values())),
        "spikes_in_run": in_run,
        "out_degree": out_degree,
        "rate_hz": in_run[network.rate_label] / rate_pop.size / bio_s,
        "synapses": int(sum(int(p.size()) for p in network.projections.values())),
        "syn_events_per_bio_s": sum(n * out_degree[k] for k, n in in_run.items()) / bio_s,
        "n_cells": int(sum(p.size for p in network.recorded.values())),
        "steps_per_bio_s": round(1000.0 / SETUP[args.case]["timestep"]),
        "info": info,
    }
    if counter is not None:
        result["info"]["xla_compiles"] = counter.counts
        result["info"]["xla_compile_s"] = counter.seconds
        import jax
        stats = jax.devices()[0].memory_stats() or {}
        if "peak_bytes_in_use" in stats and jax.default_backend() != "cpu":
            result["info"]["device_peak_mb"] = stats["peak_bytes_in_use"] / 2 ** 20
    sim.end()
    print(RESULT_MARK + json.dumps(result), flush=True)


# ---- parent: plan, run the workers, tabulate ------------------------------------------------
def plan(args):
    """(case, size, in-degree or None, biological ms) for every case to run, in order."""
    for case in args.cases:
        if case in ("va_coba", "va_cuba"):
            for n in args.sizes:
                indegree = None if n <= args.va_probability_max else args.va_indegree
                yield case, n, indegree, args.bio_ms
        elif case == "brunel":
            yield case, args.brunel_size, None, args.brunel_bio_ms
        else:
            yield case, args.lif_size, None, args.lif_bio_ms


def warmup_ms(case, args):
    """W of ``case``: Brunel's is longer, so that NEST's start at V_m = -70 mV (pyNN.nest
    ignores initialize(v) for IF_curr_delta) is over before run(T)."""
    return args.brunel_warmup_ms if case == "brunel" else args.warmup_ms


def run_json_worker(cmd, timeout, mark=RESULT_MARK):
    """Run a worker subprocess that prints its result as JSON on a line starting with
    ``mark``: that result with status "ok", the wall time ``wall_s`` and ``other_load`` (cores
    used by every other process meanwhile: > 0 means a shared machine); or a status
    ("timeout", or "failed" with the exit code and the end of the output)."""
    busy0, own0 = cpu_busy_seconds(), children_cpu_seconds()
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "timeout"}
    wall = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.startswith(mark)]
    if proc.returncode != 0 or not lines:
        return {"status": "failed", "exit": proc.returncode,
                "output": (proc.stdout + proc.stderr)[-3000:]}
    result = json.loads(lines[-1][len(mark):])
    result.update(status="ok", wall_s=wall)
    busy1, own1 = cpu_busy_seconds(), children_cpu_seconds()
    if busy0 is not None and busy1 is not None:
        result["other_load"] = max(busy1 - busy0 - (own1 - own0), 0.0) / wall
    return result


def run_case(backend, case, size, indegree, bio_ms, args):
    """Run one worker subprocess; its result with the derived figures, or a status."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", backend, "--case", case,
           "--size", str(size), "--indegree", str(indegree or 0), "--bio-ms", str(bio_ms),
           "--warmup-ms", str(warmup_ms(case, args)), "--seed", str(args.seed),
           "--precision", args.precision, "--threads", str(args.threads),
           "--compile-cache", args.compile_cache]
    result = run_json_worker(cmd, args.timeout)
    if result["status"] != "ok":
        return result
    t, bio_s = result["timings"], bio_ms / 1000.0
    result["compile_s"] = t["first_short_run"] - t["warm_short_run"]
    result["first_run_s"] = result["compile_s"] + t["run"]
    result["run_per_bio_s"] = t["run"] / bio_s
    result["us_per_step"] = 1e6 * result["run_per_bio_s"] / result["steps_per_bio_s"]
    result["get_data_per_1m_spikes_s"] = (1e6 * t["get_data"] / result["spikes"]
                                          if result["spikes"] else None)
    events = result["syn_events_per_bio_s"]
    result["ns_per_syn_event"] = 1e9 * result["run_per_bio_s"] / events if events else None
    return result


def xla_seconds(result):
    """Tracing, lowering and XLA compilation during the first run(W) (jax.monitoring)."""
    return sum(v for k, v in result["info"].get("xla_compile_s", {}).items()
               if k.startswith("first_short_run"))


def fmt(value, digits=3):
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    if value == 0 or abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


MAIN_COLUMNS = [
    ("build (s)", lambda r: r["timings"]["build"]),
    ("compile (s)", lambda r: r["compile_s"] if r["backend"] == "jax" else None),
    ("of which XLA (s)", lambda r: xla_seconds(r) if r["backend"] == "jax" else None),
    ("run per bio s (s)", lambda r: r["run_per_bio_s"]),
    ("us per step", lambda r: r["us_per_step"]),
    ("get_data (s)", lambda r: r["timings"]["get_data"]),
    ("get_data per 1M spikes (s)", lambda r: r["get_data_per_1m_spikes_s"]),
    ("peak RSS (MB)", lambda r: r["info"]["peak_rss_mb"]),
    ("exc rate (Hz)", lambda r: r["rate_hz"]),
    ("spikes", lambda r: r["spikes"]),
    ("syn. events per bio s (M)", lambda r: r["syn_events_per_bio_s"] / 1e6),
    ("run ns per syn. event", lambda r: r["ns_per_syn_event"]),
    ("other load (cores)", lambda r: r.get("other_load")),
]


def connectivity(row):
    if row["case"] == "lif1m":
        return "none"
    if row["indegree"]:
        return f"K={row['indegree']}"
    return "p=2%" if row["case"].startswith("va_") else "K=1000+250"


def main_table(rows):
    header = ["case", "N", "conn.", "T (ms)", "synapses", "backend"] + [c for c, _ in MAIN_COLUMNS]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---", "---:", "---", "---:", "---:", "---"]
                            + ["---:"] * len(MAIN_COLUMNS)) + "|"]
    for row in rows:
        r = row["result"]
        cells = [row["case"], str(row["size"]), connectivity(row), fmt(row["bio_ms"])]
        if r["status"] == "ok":
            cells += [str(r["synapses"]), row["backend"]]
            cells += [fmt(get(dict(r, backend=row["backend"]))) for _, get in MAIN_COLUMNS]
        else:
            cells += ["-", row["backend"], status_text(r)] + ["-"] * (len(MAIN_COLUMNS) - 1)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def status_text(result):
    if result["status"] == "skipped":
        return f"skipped ({result['why']})"
    if result["status"] == "failed":
        return f"failed (exit {result['exit']})"
    return result["status"]


def pairs(rows):
    """(case, size, conn., jax result, nest result) where both backends finished."""
    by_key = {}
    for row in rows:
        by_key.setdefault((row["case"], row["size"], connectivity(row)), {})[row["backend"]] = \
            row["result"]
    for (case, size, conn), res in by_key.items():
        jax_r, nest_r = res.get("jax"), res.get("nest")
        if jax_r and nest_r and jax_r["status"] == nest_r["status"] == "ok":
            yield case, size, conn, jax_r, nest_r


def ratio_table(rows):
    lines = ["| case | N | conn. | build nest/jax | first run(T) nest/jax (compile incl.)"
             " | warm run nest/jax | exc rate jax/nest |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for case, size, conn, j, n in pairs(rows):
        rate = j["rate_hz"] / n["rate_hz"] if n["rate_hz"] else None
        build = n["timings"]["build"] / j["timings"]["build"]
        lines.append(f"| {case} | {size} | {conn} | {fmt(build)}"
                     f" | {fmt(n['first_run_s'] / j['first_run_s'])}"
                     f" | {fmt(n['run_per_bio_s'] / j['run_per_bio_s'])} | {fmt(rate, 4)} |")
    return "\n".join(lines)


def verdict(ok):
    return "holds" if ok else "DOES NOT HOLD"


def target_lines(rows):
    """The issue's targets, each with the figure it is read from and whether it holds."""
    out = []
    for case, size, conn, j, n in pairs(rows):
        if case == "va_coba" and size == 4000:
            first = n["first_run_s"] / j["first_run_s"]
            build = n["timings"]["build"] / j["timings"]["build"]
            rate = j["rate_hz"] / n["rate_hz"] - 1 if n["rate_hz"] else float("inf")
            out.append(f"VA-4000 COBA first run (compile included) >= 15x faster than NEST:"
                       f" {first:.1f}x, {verdict(first >= 15)}.")
            out.append(f"VA-4000 COBA build >= 5x faster than NEST: {build:.1f}x,"
                       f" {verdict(build >= 5)}.")
            out.append(f"VA-4000 COBA exc rate within 10 % of NEST's: {100 * rate:+.1f} %,"
                       f" {verdict(abs(rate) <= 0.10)}.")
    for case, size, conn, j, n in pairs(rows):
        if n["rate_hz"] and not (case == "va_coba" and size == 4000):
            rate = j["rate_hz"] / n["rate_hz"] - 1
            if abs(rate) > 0.10:
                out.append(f"{case} N={size}: exc rate differs from NEST's by"
                           f" {100 * rate:+.1f} % (jax {j['rate_hz']:.2f} Hz,"
                           f" nest {n['rate_hz']:.2f} Hz).")
    ok_jax = [r for r in rows if r["backend"] == "jax" and r["result"]["status"] == "ok"]
    if ok_jax:
        worst = max(ok_jax, key=lambda r: r["result"]["compile_s"])
        c, xla = worst["result"]["compile_s"], xla_seconds(worst["result"])
        out.append(f"First compile <= 3 s: longest {c:.2f} s ({worst['case']} N={worst['size']};"
                   f" {xla:.2f} s of it tracing and XLA compilation, the rest other first-run"
                   f" work such as assembling the engine's arrays), {verdict(c <= 3.0)}.")
    for case in ("va_coba", "va_cuba"):
        scaled = [r for r in ok_jax if r["case"] == case and r["indegree"]]
        for a, b in zip(scaled, scaled[1:]):
            ra, rb = a["result"], b["result"]
            if ra["syn_events_per_bio_s"] and rb["syn_events_per_bio_s"]:
                out.append(
                    f"{case} jax, K={a['indegree']}, N {a['size']} -> {b['size']}: run x"
                    f"{rb['run_per_bio_s'] / ra['run_per_bio_s']:.2f} for synaptic events x"
                    f"{rb['syn_events_per_bio_s'] / ra['syn_events_per_bio_s']:.2f} and N^2 x"
                    f"{(b['size'] / a['size']) ** 2:.0f}.")
    big = [r for r in ok_jax if r["case"].startswith("va_") and r["size"] >= 64000]
    for r in big:
        mb = r["result"]["info"]["peak_rss_mb"]
        out.append(f"{r['case']} N={r['size']} recording all spikes, peak RSS < 2 GB:"
                   f" {mb:.0f} MB, {verdict(mb < 2048)}.")
    if ok_jax:
        most = max(ok_jax, key=lambda r: r["result"]["spikes"])
        n_spikes, per = most["result"]["spikes"], most["result"]["get_data_per_1m_spikes_s"]
        if per is not None:
            scaled = "" if n_spikes >= 1_000_000 else ", scaled from fewer spikes"
            out.append(f"get_data of 1M spikes < 1 s ({most['case']} N={most['size']},"
                       f" {n_spikes} spikes{scaled}): {per:.2f} s per 1M, {verdict(per < 1.0)}.")
    return out


def machine_lines(rows, runs):
    """The machine, versions, and per run its date, source, command and times."""
    try:
        with open("/proc/meminfo") as f:
            ram = f"{int(f.readline().split()[1]) / 2 ** 20:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        ram = "RAM unknown"
    versions = sorted({r["result"]["info"]["version"] for r in rows
                       if r["result"]["status"] == "ok"})
    try:
        import importlib.metadata as md
        versions.append(f"PyNN {md.version('PyNN')}")
    except Exception:
        pass
    loads = [r["result"]["other_load"] for r in rows if r["result"].get("other_load") is not None]
    lines = [
        f"- machine: {cpu_model()}, {os.cpu_count()} cores"
        f" ({len(os.sched_getaffinity(0))} usable), {ram}, {platform.system()}"
        f" {platform.release()}, Python {platform.python_version()}",
        "- versions: " + ", ".join(versions)]
    for meta, args in runs:
        lines += [
            f"- run of {meta['date']}, pyNN.jax source: {meta.get('source', 'unknown')};"
            " command: `python benchmarks/suite.py " + " ".join(meta["argv"]) + "`;"
            f" W = {args.warmup_ms:g} ms"
            + (f" (brunel: {args.brunel_warmup_ms:g} ms)" if "brunel" in args.cases else "")
            + f", dt = 0.1 ms, seed {args.seed}, worker timeout"
            f" {args.timeout:g} s"]
    lines.append(f"- other processes used up to {max(loads):.2f} cores while workers ran"
                 " (column 'other load'): timings are inflated where it is above ~0.25."
                 if loads else "- load of other processes: unknown")
    return lines


def report(rows, runs, markdown):
    """The tables and targets of ``rows``; with ``markdown``, the heading and the machine
    and runs above them. ``runs``: (meta, parsed arguments) of each run the rows come from."""
    parts = []
    if markdown:
        parts += ["## Benchmark suite", ""] + machine_lines(rows, runs) + [""]
    parts += [main_table(rows), "", ratio_table(rows), ""]
    parts += [f"- {line}" for line in target_lines(rows)]
    return "\n".join(parts)


def comma_list(text, kind=str):
    return [kind(x) for x in text.split(",") if x.strip()]


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=comma_list, default=list(CASES),
                        help="comma-separated, among " + ", ".join(CASES) + " (default all)")
    parser.add_argument("--sizes", type=lambda s: comma_list(s, int),
                        default=[1000, 4000, 16000, 64000], help="VA sizes (cells)")
    parser.add_argument("--va-probability-max", type=int, default=4000,
                        help="VA sizes up to this use 2 %% connectivity, larger ones a fixed"
                             " in-degree (default 4000)")
    parser.add_argument("--va-indegree", type=int, default=80,
                        help="VA inputs per cell above --va-probability-max (default 80:"
                             " 2 %% of 4000)")
    parser.add_argument("--brunel-size", type=int, default=BRUNEL_NE + BRUNEL_NI,
                        help="Brunel cells (default 12500; in-degrees scale with it)")
    parser.add_argument("--brunel-bio-ms", type=float, default=100.0,
                        help="T for brunel (default 100: pyNN.jax takes ~50 ms per step)")
    parser.add_argument("--brunel-warmup-ms", type=float, default=100.0,
                        help="W for brunel (default 100)")
    parser.add_argument("--lif-size", type=int, default=1_000_000)
    parser.add_argument("--bio-ms", type=float, default=1000.0,
                        help="T, the timed warm run (ms of biological time, default 1000)")
    parser.add_argument("--lif-bio-ms", type=float, default=100.0,
                        help="T for lif1m (default 100)")
    parser.add_argument("--warmup-ms", type=float, default=10.0,
                        help="W, the short run before and after T (default 10)")
    parser.add_argument("--no-nest", action="store_true", help="pyNN.jax only")
    parser.add_argument("--nest-max-cells", type=int, default=200_000,
                        help="NEST skips larger cases (default 200000: pyNN.nest needs ~3.8 GB"
                             " per 100k IF_curr_exp cells, so 1M cells do not fit in 24 GB)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds per worker, either backend (default 600)")
    parser.add_argument("--precision", default="float32", choices=["float32", "float64"])
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads of both simulators: NEST's threads, the CPUs of JAX's "
                             "CPU runtime (setup(threads=...)); default 1")
    parser.add_argument("--compile-cache", default="", metavar="DIR",
                        help="pyNN.jax's persistent compilation cache directory (default: off,"
                             " so that 'compile' is a compilation; with DIR, a second run of"
                             " the suite measures loading compiled chunks from it)")
    parser.add_argument("--seed", type=int, default=98765)
    parser.add_argument("--markdown", action="store_true",
                        help="print the machine, versions and date above the tables")
    parser.add_argument("--write-results", nargs="?", const=DEFAULT_RESULTS, metavar="FILE",
                        help="replace the suite's section of RESULTS.md (or FILE)")
    parser.add_argument("--json", metavar="FILE",
                        help="write the raw results to FILE (rewritten after every worker)")
    parser.add_argument("--from-json", metavar="FILE[,FILE...]",
                        help="run nothing: print the tables of results saved with --json"
                             " (several files: one table)")
    parser.add_argument("--worker", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--indegree", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown case(s) {sorted(unknown)}; choose among {', '.join(CASES)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        run_worker(args)
        return
    if args.from_json:
        rows, runs = [], []
        for path in args.from_json.split(","):
            with open(path) as f:
                saved = json.load(f)
            saved_args = parse_args(saved["argv"])
            bio_ms = {(case, size): t for case, size, _, t in plan(saved_args)}
            for row in saved["rows"]:
                row.setdefault("bio_ms", bio_ms.get((row["case"], row["size"])))
            rows += saved["rows"]
            runs.append((saved, saved_args))
        text = report(rows, runs, args.markdown)
        print(text)
        if args.write_results:
            write_section(args.write_results, text, SECTION)
        return
    backends = ["jax"]
    if not args.no_nest:
        if importable("nest"):
            backends.append("nest")
        else:
            print("pyNN.nest is not importable: pyNN.jax only", file=sys.stderr)
    meta = {"argv": sys.argv[1:] if argv is None else list(argv),
            "date": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
            "source": git_description()}
    rows, nest_timeout = [], {}
    for case, size, indegree, bio_ms in plan(args):
        for backend in backends:
            row = {"case": case, "size": size, "indegree": indegree, "bio_ms": bio_ms,
                   "backend": backend}
            if backend == "nest" and case in nest_timeout:
                row["result"] = {"status": "skipped",
                                 "why": f"timeout at N={nest_timeout[case]}"}
            elif backend == "nest" and size > args.nest_max_cells:
                row["result"] = {"status": "skipped",
                                 "why": f"N > --nest-max-cells {args.nest_max_cells}"}
            else:
                print(f"[{case} N={size}] {backend} ...", file=sys.stderr, flush=True)
                row["result"] = run_case(backend, case, size, indegree, bio_ms, args)
                if row["result"]["status"] == "failed":
                    print(row["result"]["output"], file=sys.stderr)
                if backend == "nest" and row["result"]["status"] == "timeout":
                    nest_timeout[case] = size
            rows.append(row)
            if args.json:
                with open(args.json, "w") as f:
                    json.dump(dict(meta, rows=rows), f, indent=1)
    text = report(rows, [(meta, args)], args.markdown)
    print(text)
    if args.write_results:
        write_section(args.write_results, text, SECTION)
    if any(r["result"]["status"] == "failed" for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
