#!/usr/bin/env python
"""Vogels-Abbott benchmark (Brette et al. 2007, benchmarks 1 and 2) on pyNN.jax and pyNN.nest.

The network follows PyNN's ``examples/VAbenchmarks.py``: 4000 cells (80 % excitatory), 2 %
connection probability, delays 0.2 ms, cm = 0.2 nF, tau_m = 20 ms, threshold -50 mV, reset
-60 mV, refractory 5 ms, initial v uniform in [-60, -50] mV.

- COBA: IF_cond_exp, v_rest = -60 mV, weights 4 nS (exc) and 51 nS (inh), tau_syn 5 / 10 ms,
  e_rev 0 / -80 mV; 20 sources firing at 100 Hz during the first 50 ms connect to the cells
  with probability 1 % and weight 0.1 uS (the stimulus that starts the activity).
- CUBA: IF_curr_exp, v_rest = -49 mV (above threshold: the network is self-driven, no
  stimulus, as in the PyNN example), weights 0.27 nS * (0 - -60 mV) = 0.0162 nA and
  4.5 nS * (-80 - -60 mV) = -0.09 nA (negative: current-based inhibition).

Each simulator runs in its own subprocess of this script (``--worker``), so that timings do not
interfere and NEST's kernel lives in its own process. Every subprocess uses the same seed: the
same NumpyRNG draws the initial potentials and the connectivity in the same order on both
backends (PyNN's generic connector code), and with ``--stimulus array`` (default) the Poisson
stimulus is drawn once with numpy and given to both as a SpikeSourceArray, so both simulate
the same network with the same input.

Measured per simulator: import, build (setup + populations + projections + record), the first
``run(time)`` (for JAX: including compilation), a second ``run(time)`` (warm), ``get_data()``,
the process total (from the first line of the worker to the end of get_data) and the
subprocess wall time seen by the parent; mean rates of excitatory and inhibitory cells in each
run, number of connections. For JAX, the number and duration of XLA compilations per phase.

Usage::

    python benchmarks/va_benchmark.py --model coba
    python benchmarks/va_benchmark.py --model both --n 4000 --time 1000 --simulators jax,nest
"""
import time

T_PROCESS_START = time.perf_counter()

import argparse          # noqa: E402
import datetime          # noqa: E402
import hashlib           # noqa: E402
import json              # noqa: E402
import os                # noqa: E402
import platform          # noqa: E402
import re                # noqa: E402
import subprocess        # noqa: E402
import sys               # noqa: E402
import tempfile          # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RESULTS = os.path.join(HERE, "RESULTS.md")

sys.path.insert(0, HERE)
from networks import DT, SETUP, vogels_abbott  # noqa: E402


# ---- worker: one simulator, one process ------------------------------------------------------
class CompileCounter:
    """Counts XLA compilations (jax.monitoring events) per phase."""

    def __init__(self):
        self.phase = "import"
        self.counts, self.seconds = {}, {}

    def __call__(self, event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            self.counts[self.phase] = self.counts.get(self.phase, 0) + 1
            self.seconds[self.phase] = self.seconds.get(self.phase, 0.0) + duration
        elif event in ("/jax/core/compile/jaxpr_trace_duration",
                       "/jax/core/compile/jaxpr_to_mlir_module_duration"):
            key = self.phase + ":trace+lower"
            self.seconds[key] = self.seconds.get(key, 0.0) + duration


def run_worker(args):
    import numpy as np
    timings, info = {}, {}
    counter = None

    if args.worker == "jax" and args.jax_cpus:
        os.sched_setaffinity(0, {int(c) for c in args.jax_cpus.split(",")})
    t = time.perf_counter()
    if args.worker == "jax":
        import jax
        counter = CompileCounter()
        jax.monitoring.register_event_duration_secs_listener(counter)
        import pyNN.jax as sim
        info["version"] = jax.__version__     # the backend starts in setup() (threads)
    elif args.worker == "nest":
        import pyNN.nest as sim
        import nest
        info["version"] = nest.__version__
    else:
        raise SystemExit(f"unknown simulator {args.worker!r}")
    timings["import"] = time.perf_counter() - t

    def phase(name):
        if counter is not None:
            counter.phase = name

    model = args.model

    # ---- build ----
    phase("build")
    t_build = time.perf_counter()
    extra = {"threads": args.threads, "rng_seed": args.seed, "label": "VA",
             "spike_precision": args.spike_precision}
    if args.worker == "jax":
        extra["precision"] = args.precision
        # run 1 compiles, whatever an earlier run cached, unless a cache folder is given
        extra["compilation_cache"] = args.compilation_cache or None
        if args.check_connectivity:     # PyNN's draws: the connections NEST makes
            extra["draw_order"] = "pynn"
        if args.devices > 1:
            extra["devices"] = args.devices
    if args.worker == "nest":
        extra["verbosity"] = "error"
    sim.setup(**SETUP["va_" + model], **extra)
    if args.worker == "jax":
        info["backend"] = jax.default_backend()
    network = vogels_abbott(sim, model, args.n, args.seed, stimulus=args.stimulus,
                            record_v=True)
    exc, inh = network.recorded["exc"], network.recorded["inh"]
    projections = network.projections
    timings["build"] = time.perf_counter() - t_build

    # ---- runs ----
    phase("run1")
    t = time.perf_counter()
    sim.run(args.time)
    timings["run1"] = time.perf_counter() - t
    phase("run2")
    t = time.perf_counter()
    sim.run(args.time)
    timings["run2"] = time.perf_counter() - t

    # ---- data ----
    phase("get_data")
    t = time.perf_counter()
    data_exc = exc.get_data()
    data_inh = inh.get_data()
    timings["get_data"] = time.perf_counter() - t
    timings["process"] = time.perf_counter() - T_PROCESS_START
    phase("end")

    rates = {}
    for label, data, size in (("exc", data_exc, exc.size), ("inh", data_inh, inh.size)):
        times = np.concatenate([np.asarray(st.rescale("ms").magnitude)
                                for st in data.segments[0].spiketrains] or [np.zeros(0)])
        for r, (a, b) in enumerate([(0.0, args.time), (args.time, 2 * args.time)], start=1):
            count = np.count_nonzero((times > a) & (times <= b))
            rates[f"{label}_run{r}"] = count / size / (args.time / 1000.0)
    v = data_exc.segments[0].analogsignals
    info["v_samples"] = int(v[0].shape[0]) if v else 0
    info["connections"] = {k: int(p.size()) for k, p in projections.items()}
    info["n_connections"] = int(sum(info["connections"].values()))
    if counter is not None:
        info["compiles"] = counter.counts
        info["compile_seconds"] = counter.seconds
    if args.check_connectivity:
        t = time.perf_counter()
        digest = {}
        for k, p in projections.items():
            pairs = np.array(p.get("weight", format="list", with_address=True),
                             dtype=float).reshape(-1, 3)
            order = np.lexsort((pairs[:, 0], pairs[:, 1]))
            pairs = pairs[order]
            pairs[:, 2] = np.abs(np.round(pairs[:, 2], 6))
            digest[k] = hashlib.sha1(pairs.astype(np.float64).tobytes()).hexdigest()[:12]
        info["connectivity_digest"] = digest
        info["connectivity_check_s"] = time.perf_counter() - t
    sim.end()
    with open(args.result_file, "w") as f:
        json.dump({"timings": timings, "rates": rates, "info": info}, f)


# ---- parent: run the workers, tabulate ------------------------------------------------------
def run_simulator(simulator, model, args):
    fd, result_file = tempfile.mkstemp(suffix=".json", prefix=f"va_{simulator}_")
    os.close(fd)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", simulator,
           "--model", model, "--n", str(args.n), "--time", str(args.time),
           "--precision", args.precision, "--seed", str(args.seed),
           "--threads", str(args.threads), "--stimulus", args.stimulus,
           "--spike-precision", args.spike_precision,
           "--result-file", result_file]
    if args.check_connectivity:
        cmd.append("--check-connectivity")
    if simulator == "jax" and args.jax_cpus:
        cmd += ["--jax-cpus", args.jax_cpus]
    if simulator == "jax" and args.compilation_cache:
        cmd += ["--compilation-cache", args.compilation_cache]
    env = dict(os.environ)
    if simulator == "jax" and args.devices > 1:
        cmd += ["--devices", str(args.devices)]
        if "xla_force_host_platform_device_count" not in env.get("XLA_FLAGS", ""):
            # on a CPU: as many virtual devices (JAX reads the flag when it starts)
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_"
                                f"device_count={args.devices}").strip()
    busy0, usage0 = cpu_busy_seconds(), children_cpu_seconds()
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    busy1, usage1 = cpu_busy_seconds(), children_cpu_seconds()
    try:
        if proc.returncode != 0:
            print(f"[{simulator}] failed (exit {proc.returncode}):\n"
                  + (proc.stdout + proc.stderr)[-4000:], file=sys.stderr)
            return None
        with open(result_file) as f:
            result = json.load(f)
    finally:
        os.unlink(result_file)
    if args.verbose:
        print((proc.stdout + proc.stderr)[-4000:], file=sys.stderr)
    result["timings"]["wall"] = wall
    own = usage1 - usage0
    result["info"]["worker_cpu_s"] = own
    if busy0 is not None and busy1 is not None:
        # CPU time used by every other process on the machine while the worker ran, in cores:
        # > 0 means the timings were taken on a machine that was not idle.
        result["info"]["other_load"] = max(busy1 - busy0 - own, 0.0) / wall
    return result


def best_of(runs):
    """Merge repeated runs of one simulator: each timing is its minimum over the runs (the
    least disturbed), rates and counts come from the first run; ``other_load`` keeps all."""
    runs = [r for r in runs if r is not None]
    if not runs:
        return None
    best = json.loads(json.dumps(runs[0]))
    for name in best["timings"]:
        best["timings"][name] = min(r["timings"][name] for r in runs)
    best["info"]["other_load"] = [r["info"].get("other_load") for r in runs]
    best["info"]["repeats"] = len(runs)
    for r in runs[1:]:
        if r["rates"] != runs[0]["rates"]:
            best["info"]["rates_vary"] = True
    return best


def cpu_busy_seconds():
    """Busy CPU time of the whole machine (s), from /proc/stat; None where unavailable."""
    try:
        with open("/proc/stat") as f:
            fields = [float(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


ROWS = [
    ("import (s)", lambda r: r["timings"]["import"], "time"),
    ("build (s)", lambda r: r["timings"]["build"], "time"),
    ("run 1 (s), JAX: incl. compile", lambda r: r["timings"]["run1"], "time"),
    ("run 2 (s), warm", lambda r: r["timings"]["run2"], "time"),
    ("get_data (s)", lambda r: r["timings"]["get_data"], "time"),
    ("process total (s), import to get_data", lambda r: r["timings"]["process"], "time"),
    ("subprocess wall (s), parent-measured", lambda r: r["timings"]["wall"], "time"),
    ("exc rate, run 1 (Hz)", lambda r: r["rates"]["exc_run1"], "rate"),
    ("inh rate, run 1 (Hz)", lambda r: r["rates"]["inh_run1"], "rate"),
    ("exc rate, run 2 (Hz)", lambda r: r["rates"]["exc_run2"], "rate"),
    ("inh rate, run 2 (Hz)", lambda r: r["rates"]["inh_run2"], "rate"),
    ("connections", lambda r: r["info"]["n_connections"], "count"),
]


def fmt(value, kind):
    if value is None:
        return "-"
    if kind == "count":
        return f"{int(value):d}"
    if kind == "rate":
        return f"{value:.2f}"
    return f"{value:.3f}" if value < 10 else f"{value:.2f}"


def make_table(results, simulators):
    """Markdown table: one column per simulator, and jax/nest when both ran."""
    ratio = "jax" in results and "nest" in results
    header = ["quantity"] + simulators + (["jax/nest"] if ratio else [])
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for label, get, kind in ROWS:
        cells = [label]
        values = {}
        for s in simulators:
            r = results.get(s)
            values[s] = get(r) if r is not None else None
            cells.append(fmt(values[s], kind))
        if ratio:
            a, b = values["jax"], values["nest"]
            cells.append(f"{a / b:.3f}" if a is not None and b else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def notes(results, args):
    import numpy as np
    out = []
    jax_r = results.get("jax")
    if jax_r is not None:
        c, s = jax_r["info"].get("compiles", {}), jax_r["info"].get("compile_seconds", {})
        parts = [f"{ph}: {c[ph]} ({s.get(ph, 0.0):.2f} s XLA"
                 f" + {s.get(ph + ':trace+lower', 0.0):.2f} s trace/lower)"
                 for ph in ("build", "run1", "run2", "get_data") if c.get(ph)]
        out.append("JAX compilations per phase: " + ("; ".join(parts) or "none")
                   + f". JAX {jax_r['info']['version']} on {jax_r['info']['backend']},"
                   f" {args.precision}.")
    if "nest" in results and results["nest"] is not None:
        out.append(f"NEST {results['nest']['info']['version']}, {args.threads} thread(s).")
    out.append(f"spike_precision={args.spike_precision} on both simulators.")
    repeats = max([r["info"].get("repeats", 1) for r in results.values() if r] + [1])
    if repeats > 1:
        out.append(f"Timings: best (minimum) of {repeats} runs of each worker, per quantity;"
                   " rates from the first run"
                   + (" (rates varied between runs)."
                      if any(r and r["info"].get("rates_vary") for r in results.values())
                      else " (identical in every run)."))
    loads = {s: [v for v in np.atleast_1d(r["info"].get("other_load")) if v is not None]
             for s, r in results.items() if r is not None}
    if any(loads.values()):
        text = ", ".join(f"{s} " + "/".join(f"{v:.2f}" for v in vs)
                         for s, vs in loads.items() if vs)
        busy = all(min(vs) > 0.25 for vs in loads.values() if vs)
        out.append(f"CPU used by other processes while each worker ran (cores, per run):"
                   f" {text}" + (" -- WARNING: the machine was busy in every run, timings are"
                                 " inflated." if busy else "."))
    if jax_r is not None and results.get("nest") is not None:
        cj, cn = jax_r["info"]["connections"], results["nest"]["info"]["connections"]
        same = "identical" if cj == cn else f"DIFFERENT: jax {cj}, nest {cn}"
        out.append(f"Connections per projection: {same}.")
        dj = jax_r["info"].get("connectivity_digest")
        dn = results["nest"]["info"].get("connectivity_digest")
        if dj and dn:
            out.append("Connectivity (pre, post, |weight|) digests: "
                       + ("identical" if dj == dn else f"DIFFERENT: jax {dj}, nest {dn}") + ".")
        for pop in ("exc", "inh"):
            for run in (1, 2):
                a = jax_r["rates"][f"{pop}_run{run}"]
                b = results["nest"]["rates"][f"{pop}_run{run}"]
                if b > 0 and abs(a / b - 1) > 0.10:
                    out.append(f"WARNING: {pop} rate in run {run} differs by "
                               f"{100 * (a / b - 1):+.1f} % (jax {a:.2f} Hz, nest {b:.2f} Hz).")
    return out


def cpu_model():
    """The CPU's model name from /proc/cpuinfo ("unknown" where unavailable)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def machine_description(results):
    cpu = cpu_model()
    try:
        date = subprocess.run(["date"], capture_output=True, text=True).stdout.strip()
    except OSError:
        date = datetime.datetime.now().isoformat()
    lines = [f"- date: {date}",
             f"- machine: {os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}),"
             f" {cpu}, {platform.system()} {platform.release()}, Python"
             f" {platform.python_version()}"]
    versions = []
    for s, name in (("jax", "jax"), ("nest", "NEST")):
        if results.get(s) is not None:
            versions.append(f"{name} {results[s]['info']['version']}")
    try:
        import importlib.metadata as md
        versions.append(f"PyNN {md.version('PyNN')}")
    except Exception:
        pass
    lines.append("- versions: " + ", ".join(versions))
    lines.append(f"- pyNN.jax source: {git_description()}")
    return date, lines


def git_description():
    """Commit of the repository and whether pyNN_jax/ differs from it (what was measured)."""
    repo = os.path.dirname(HERE)
    try:
        head = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--", "pyNN_jax"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {head}" + (" with uncommitted changes in pyNN_jax/" if dirty else "")


def command_line(model, args, simulators):
    cmd = (f"python benchmarks/va_benchmark.py --model {model} --n {args.n} --time {args.time:g}"
           f" --simulators {','.join(simulators)} --precision {args.precision}")
    if args.threads != 1:
        cmd += f" --threads {args.threads}"
    if args.stimulus != "array":
        cmd += f" --stimulus {args.stimulus}"
    if args.spike_precision != "on_grid":
        cmd += f" --spike-precision {args.spike_precision}"
    if args.jax_cpus:
        cmd += f" --jax-cpus {args.jax_cpus}"
    if args.compilation_cache:
        cmd += f" --compilation-cache {args.compilation_cache}"
    if args.check_connectivity:
        cmd += " --check-connectivity"
    if args.repeat != 1:
        cmd += f" --repeat {args.repeat}"
    return cmd


def section(model, args, results, simulators):
    date, machine = machine_description(results)
    body = [f"<!-- BEGIN {model} -->",
            f"## {model.upper()}: {args.n} cells, {args.time:g} ms of biological time per run,"
            f" dt = {DT} ms, seed {args.seed}",
            ""] + machine + [
            f"- command: `{command_line(model, args, simulators)}`",
            "- GPU figures: unmeasured (no device lent to this task); all figures are CPU.",
            "", make_table(results, simulators), ""]
    body += [f"- {line}" for line in notes(results, args)]
    body += ["", f"<!-- END {model} -->"]
    return "\n".join(body)


RESULTS_HEADER = """# Benchmark results: pyNN.jax vs pyNN.nest

The sections COBA and CUBA are written by `benchmarks/va_benchmark.py`, the section "Benchmark
suite" by `benchmarks/suite.py --write-results` (see `benchmarks/README.md`); each script
replaces only its own sections.

In the COBA and CUBA sections (Vogels-Abbott, 4000 cells), each simulator runs in its
own subprocess; "run 1" is the first `run(time)` (for JAX it includes tracing and XLA
compilation), "run 2" a second `run(time)` continuing the same network (warm: no compilation).
"build" is setup + populations + projections + record; "process total" is measured inside the
worker from its first line to the end of `get_data()`; "subprocess wall" is what the parent
sees (interpreter start-up and exit included). Rates are per run (0 to T, T to 2T).
"""


def write_results(path, sections):
    """Put each of ``sections`` (name -> text between its ``<!-- BEGIN name -->`` and
    ``<!-- END name -->`` markers) in the file ``path`` in place of its previous text, or
    append it; everything else in the file (other sections, hand-written notes) is kept."""
    existing = RESULTS_HEADER + "\n"
    if os.path.exists(path):
        with open(path) as f:
            existing = f.read()
    for name, text in sections.items():
        marked = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->",
                            re.S)
        if marked.search(existing):
            existing = marked.sub(lambda _: text, existing, count=1)
        else:
            existing = existing.rstrip("\n") + "\n\n" + text + "\n"
    with open(path, "w") as f:
        f.write(existing)


def write_section(path, text, name):
    """:func:`write_results` of one section ``name`` whose markers are still to be added."""
    write_results(path, {name: f"<!-- BEGIN {name} -->\n{text.rstrip()}\n<!-- END {name} -->"})


def importable(simulator):
    code = "import pyNN.%s" % simulator
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return proc.returncode == 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="coba", choices=["coba", "cuba", "both"])
    parser.add_argument("--n", type=int, default=4000, help="number of cells (default 4000)")
    parser.add_argument("--time", type=float, default=1000.0,
                        help="biological time of each of the two runs, ms (default 1000)")
    parser.add_argument("--simulators", default="jax,nest",
                        help="comma-separated list among jax, nest (default jax,nest)")
    parser.add_argument("--precision", default="float32", choices=["float32", "float64"],
                        help="floating-point type of pyNN.jax (NEST is always double)")
    parser.add_argument("--seed", type=int, default=98765)
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads of both simulators: NEST's threads, the CPUs of JAX's "
                             "CPU runtime (setup(threads=...)); default 1")
    parser.add_argument("--stimulus", default="array", choices=["array", "poisson"],
                        help="COBA stimulus: 'array' (default) draws the Poisson trains once "
                             "with numpy and gives both simulators the same SpikeSourceArray; "
                             "'poisson' uses each simulator's own SpikeSourcePoisson")
    parser.add_argument("--spike-precision", default="on_grid",
                        choices=["on_grid", "off_grid"],
                        help="spike_precision of both simulators (default on_grid; off_grid "
                             "makes CUBA use iaf_psc_exp_ps and its pyNN.jax equivalent)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each worker N times, interleaved, and report the minimum of "
                             "each timing (for a machine shared with other work)")
    parser.add_argument("--jax-cpus", default="",
                        help="pin the JAX worker to these CPUs (e.g. '0'), to compare XLA's "
                             "multi-threaded CPU runtime with a single core")
    parser.add_argument("--compilation-cache", default="",
                        help="persistent compilation cache folder of the JAX worker (default: "
                             "none, run 1 compiles); with --repeat 2 and an empty folder the "
                             "second worker loads what the first compiled")
    parser.add_argument("--devices", type=int, default=1,
                        help="pyNN.jax: setup(devices=N), the cells split over N devices; on a "
                             "CPU, N virtual devices (XLA_FLAGS of the JAX worker)")
    parser.add_argument("--check-connectivity", action="store_true",
                        help="pyNN.jax draws the connections in PyNN's order (setup(draw_order="
                             "'pynn'), slower to build) and after the timed phases both compare "
                             "digests of the connection lists (inflates the subprocess wall "
                             "time)")
    parser.add_argument("--results", default=DEFAULT_RESULTS,
                        help="Markdown file to update (default benchmarks/RESULTS.md)")
    parser.add_argument("--no-results", action="store_true", help="do not write the file")
    parser.add_argument("--json", help="also write the raw results to this JSON file")
    parser.add_argument("--verbose", action="store_true", help="show the workers' output")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        run_worker(args)
        return

    simulators = [s.strip() for s in args.simulators.split(",") if s.strip()]
    for s in list(simulators):
        if s not in ("jax", "nest"):
            parser.error(f"unknown simulator {s!r}")
        if s == "nest" and not importable("nest"):
            print("pyNN.nest is not importable: skipping NEST", file=sys.stderr)
            simulators.remove(s)
    models = ["coba", "cuba"] if args.model == "both" else [args.model]
    sections, raw = {}, {}
    for model in models:
        runs = {s: [] for s in simulators}
        for repeat in range(args.repeat):
            for s in simulators:
                print(f"[{model}] running {s} ({repeat + 1}/{args.repeat}) ...",
                      file=sys.stderr, flush=True)
                runs[s].append(run_simulator(s, model, args))
        results = {s: best_of(r) for s, r in runs.items()}
        raw[model] = results
        print(f"\n{model.upper()}: {args.n} cells, 2 x {args.time:g} ms, dt {DT} ms\n")
        print(make_table(results, simulators))
        for line in notes(results, args):
            print("  " + line)
        if any(r is not None for r in results.values()):
            sections[model] = section(model, args, results, simulators)
    if sections and not args.no_results:
        write_results(args.results, sections)
        print(f"\nwrote {args.results}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)
    if any(r is None for res in raw.values() for r in res.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
