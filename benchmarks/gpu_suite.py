#!/usr/bin/env python
"""Every accelerator figure in one call: the engine on a GPU, measured, into one JSON file.

Made for a lent device machine (minutes of device time, nothing installed between calls): one
command runs every case below, each in its own subprocess with a time limit cut to what is left
of ``--deadline-s``, and rewrites ``<out>/gpu_suite.json`` after each, so a call stopped at its
limit still brings back what finished. Cases, in order of importance:

- ``env``: JAX, its backend and devices, the versions of numpy, PyNN and neo, ``nvidia-smi -L``;
- the suite's workers (``benchmarks/suite.py``, pyNN.jax only): Vogels-Abbott COBA and CUBA at
  4000 cells (2 %) and 64 000 cells (80 inputs per cell), 1 M IF_curr_exp cells, Brunel 12 500:
  build, compile, warm run per biological second, device peak memory, rates;
- ``profile``: a JAX profiler trace of 100 ms of warm VA-4000 COBA (saved under ``<out>/trace``)
  summarised: the device's busy fraction, kernels per step and the costliest kernels;
- ``xla_flags``: VA-4000 COBA again under other ``XLA_FLAGS`` (``--xla-variants``);
- ``block``: ``benchmarks/block_method.py`` (step by step against the block method);
- ``sweep``: ``benchmarks/sweep_benchmark.py``, 100 VA-1000 sets vmapped against sequential runs;
- ``microcircuit``: ``benchmarks/microcircuit.py`` at each of ``--microcircuit-scales``.

Usage::

    python benchmarks/gpu_suite.py --out "$OUT" --deadline-s 420     # on the device
    python benchmarks/gpu_suite.py --quick --out /tmp/gpu_check       # on a CPU: a dry run
    python benchmarks/gpu_suite.py --from-json gpu_suite.json --write-results benchmarks/RESULTS.md
"""
import argparse
import glob
import gzip
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import suite  # noqa: E402
from suite import fmt  # noqa: E402
from va_benchmark import write_section  # noqa: E402

RESULT_MARK = suite.RESULT_MARK
SECTION = "gpu"


def sizes(quick):
    """Network sizes of each case: the issue's, or tiny ones for a dry run on a CPU."""
    if quick:
        return {"va": 500, "va_large": 2000, "lif": 20000, "brunel": 1250, "bio_ms": 100.0,
                "block_n": 500, "sweep_n": 200, "sweep_sets": 4, "sweep_sequential": 2,
                "micro_ms": 150.0}
    return {"va": 4000, "va_large": 64000, "lif": 1_000_000, "brunel": 12500, "bio_ms": 1000.0,
            "block_n": 4000, "sweep_n": 1000, "sweep_sets": 100, "sweep_sequential": 10,
            "micro_ms": 1000.0}


# ---- case runners: each returns a JSON-able dict with a "status" ------------------------------
def environment():
    import jax
    import numpy
    import neo
    import pyNN
    devices = jax.devices()
    info = {"jax": jax.__version__, "backend": jax.default_backend(),
            "devices": [d.device_kind for d in devices], "numpy": numpy.__version__,
            "pyNN": pyNN.__version__, "neo": neo.__version__, "python": platform.python_version(),
            "cpus": os.cpu_count(), "status": "ok"}
    try:
        info["nvidia_smi"] = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,
                                            timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        info["nvidia_smi"] = None
    return info


def suite_case(case, size, indegree, bio_ms, timeout, xla_flags=None):
    """One worker of benchmarks/suite.py on pyNN.jax (optionally under other XLA_FLAGS)."""
    args = suite.parse_args(["--no-nest", "--timeout", str(timeout)])
    saved = os.environ.get("XLA_FLAGS")
    if xla_flags is not None:
        os.environ["XLA_FLAGS"] = xla_flags
    try:
        result = suite.run_case("jax", case, size, indegree, bio_ms, args)
    finally:
        if saved is None:
            os.environ.pop("XLA_FLAGS", None)
        else:
            os.environ["XLA_FLAGS"] = saved
    result.update(case=case, size=size, indegree=indegree, bio_ms=bio_ms, xla_flags=xla_flags)
    return result


def script_case(command, timeout):
    """A benchmark script in a subprocess: its output lines, and its last line parsed as JSON
    where it is one."""
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable] + command, capture_output=True, text=True,
                              timeout=timeout, cwd=os.path.dirname(HERE))
    except subprocess.TimeoutExpired as timeout_error:     # what it printed until then
        return {"status": "timeout", "command": command,
                "stdout": text_of(timeout_error.stdout).splitlines()[-40:],
                "stderr": text_of(timeout_error.stderr)[-3000:]}
    result = {"status": "ok" if proc.returncode == 0 else "failed", "command": command,
              "wall_s": time.perf_counter() - start,
              "stdout": proc.stdout.splitlines()[-40:], "stderr": proc.stderr[-3000:]}
    lines = proc.stdout.strip().splitlines()
    if lines:
        try:
            result["json"] = json.loads(lines[-1])
        except ValueError:
            pass
    return result


def text_of(output):
    """Captured output as text (a timed-out subprocess gives bytes or None)."""
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def profile_case(out_dir, case, n, bio_ms, timeout):
    """``case`` (va_coba, va_cuba, lif1m; microcircuit: ``n`` is its cells per 10 000 of the
    full model) at ``n`` cells in a subprocess: a compiling run(10), then
    run(bio_ms) under the JAX profiler; the trace stays under ``out_dir/trace-<case>``, its
    summary comes back."""
    command = [os.path.abspath(__file__), "--profile-worker", "--out", out_dir,
               "--profile-case", case, "--profile-n", str(n), "--profile-ms", str(bio_ms)]
    result = script_case(command, timeout)
    marked = [line for line in result.get("stdout", []) if line.startswith(RESULT_MARK)]
    if marked:
        result["summary"] = json.loads(marked[-1][len(RESULT_MARK):])
    return result


def profile_worker(args):
    import jax
    import pyNN.jax as sim
    from networks import SETUP, lif_population, vogels_abbott
    if args.profile_case == "microcircuit":     # profile_n: cells per 10 000 of the full model
        import microcircuit
        scale = args.profile_n / 1e4
        setup = {"timestep": microcircuit.DT, "min_delay": microcircuit.DT,
                 "max_delay": microcircuit.MAX_DELAY}
        sim.setup(rng_seed=98765, spike_precision="on_grid", **setup)
        microcircuit.build(sim, microcircuit.model(scale, scale, "poisson"),
                           microcircuit.parse_args(["--scale", str(scale)]))
    else:
        setup = SETUP[args.profile_case]
        sim.setup(rng_seed=98765, spike_precision="on_grid", **setup)
        if args.profile_case == "lif1m":
            lif_population(sim, args.profile_n)
        else:
            vogels_abbott(sim, args.profile_case[3:], args.profile_n, 98765)
    sim.run(10.0)
    jax.effects_barrier()
    trace_dir = os.path.join(args.out, f"trace-{args.profile_case}")
    start = time.perf_counter()
    with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
        sim.run(args.profile_ms)
        jax.effects_barrier()
    wall = time.perf_counter() - start
    summary = summarise_trace(trace_dir, n_steps=round(args.profile_ms / setup["timestep"]))
    summary["traced_run_s"] = wall
    print(RESULT_MARK + json.dumps(summary), flush=True)


def summarise_trace(trace_dir, n_steps, top=25):
    """Per process of a perfetto trace (JSON): events, busy time (union of its events'
    intervals), span; for device processes the costliest event names and events per step."""
    paths = sorted(glob.glob(os.path.join(trace_dir, "**", "*.json.gz"), recursive=True))
    if not paths:
        return {"error": f"no trace under {trace_dir}"}
    with gzip.open(paths[-1], "rt") as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    names = {e["pid"]: e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "process_name"}
    by_process = defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            by_process[names.get(e["pid"], str(e["pid"]))].append(e)
    summary = {"file": os.path.relpath(paths[-1], trace_dir), "n_steps": n_steps,
               "processes": {}}
    for process, items in by_process.items():
        intervals = sorted((float(e["ts"]), float(e["ts"]) + float(e["dur"])) for e in items)
        busy, end = 0.0, float("-inf")
        for a, b in intervals:
            busy += max(0.0, b - max(a, end))
            end = max(end, b)
        per_name = defaultdict(lambda: [0, 0.0])
        for e in items:
            per_name[e["name"]][0] += 1
            per_name[e["name"]][1] += float(e["dur"])
        costliest = sorted(per_name.items(), key=lambda kv: -kv[1][1])[:top]
        summary["processes"][process] = {
            "events": len(items), "events_per_step": len(items) / n_steps,
            "busy_us": busy, "span_us": intervals[-1][1] - intervals[0][0],
            "top": [{"name": name[:120], "count": c, "total_us": d, "us_per_step": d / n_steps}
                    for name, (c, d) in costliest]}
    return summary


# ---- the plan ------------------------------------------------------------------------------
def plan(args):
    """(key, function of the time limit) for every case, in order of importance."""
    s = sizes(args.quick)
    bio = s["bio_ms"]
    cases = [
        ("va_coba_4000", lambda t: suite_case("va_coba", s["va"], None, bio, t)),
        ("profile_va_coba_4000", lambda t: profile_case(args.out, "va_coba", s["va"], 100.0, t)),
        ("lif1m", lambda t: suite_case("lif1m", s["lif"], None, 100.0, t)),
        ("profile_lif1m", lambda t: profile_case(args.out, "lif1m", s["lif"], 20.0, t)),
    ]
    for i, flags in enumerate(args.xla_variants):
        cases.append((f"xla_flags_{i}", lambda t, f=flags: suite_case("va_coba", s["va"], None,
                                                                       bio, t, xla_flags=f)))
    cases += [
        ("va_cuba_4000", lambda t: suite_case("va_cuba", s["va"], None, bio, t)),
        ("va_coba_64000", lambda t: suite_case("va_coba", s["va_large"], 80, bio, t)),
        ("sweep", lambda t: script_case(
            ["benchmarks/sweep_benchmark.py", "--n", str(s["sweep_n"]), "--sets",
             str(s["sweep_sets"]), "--time", str(bio), "--sequential-sets",
             str(s["sweep_sequential"])], t)),
        ("block", lambda t: script_case(
            ["benchmarks/block_method.py", "--n", str(s["block_n"]), "--time", str(bio),
             "--refractory", "2,5"], t)),
        ("va_cuba_64000", lambda t: suite_case("va_cuba", s["va_large"], 80, bio, t)),
        ("brunel", lambda t: suite_case("brunel", s["brunel"], None, 100.0, t)),
    ]
    if os.path.exists(os.path.join(HERE, "microcircuit.py")):
        cases.append(("profile_microcircuit", lambda t: profile_case(
            args.out, "microcircuit", round(1e4 * args.microcircuit_profile_scale), 100.0, t)))
        for scale in args.microcircuit_scales:
            cases.append((f"microcircuit_{scale:g}", lambda t, sc=scale: script_case(
                ["benchmarks/microcircuit.py", "--scale", str(sc), "--time", str(s["micro_ms"]),
                 "--simulator", "jax", "--threads", "0"], t)))
    if not args.only:
        return cases
    by_key = dict(cases)
    return [(key, by_key[key]) for key in args.only if key in by_key]


def run_all(args):
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "gpu_suite.json")
    start = time.perf_counter()
    results = {"argv": sys.argv[1:], "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "source": suite.git_description(), "env": environment(), "cases": {}}
    print(json.dumps(results["env"]), flush=True)
    for key, run in plan(args):
        left = args.deadline_s - (time.perf_counter() - start)
        if left < args.min_case_s:
            results["cases"][key] = {"status": "skipped", "why": f"{left:.0f} s left"}
            continue
        t0 = time.perf_counter()
        result = run(min(args.case_timeout_s, left))
        result["case_wall_s"] = time.perf_counter() - t0
        results["cases"][key] = result
        print(f"[{time.perf_counter() - start:6.1f} s] {key}: {result['status']} "
              f"{headline(key, result)}", flush=True)
        with open(path, "w") as f:
            json.dump(results, f, indent=1)
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print(report(results))


# ---- the report ------------------------------------------------------------------------------
def headline(key, r):
    """One line of the figures that matter for a case."""
    if r.get("status") != "ok":
        return r.get("why") or (r.get("output") or r.get("stderr") or "")[-600:]
    if "run_per_bio_s" in r:
        return (f"compile {r['compile_s']:.2f} s, run {r['run_per_bio_s']:.4f} s per bio s "
                f"({r['us_per_step']:.1f} us/step), rate {r['rate_hz']:.2f} Hz, device peak "
                f"{r['info'].get('device_peak_mb', float('nan')):.0f} MB")
    if "summary" in r:
        return "; ".join(f"{p}: {v['events_per_step']:.1f} events/step, busy "
                         f"{v['busy_us'] / max(v['span_us'], 1):.0%}"
                         for p, v in r["summary"].get("processes", {}).items())
    if "json" in r:
        return json.dumps(r["json"])[:600]
    return " | ".join(r.get("stdout", [])[-3:])[:600]


def report(results):
    env, cases = results["env"], results["cases"]
    lines = [f"Measured {results['date']}, {results.get('source_note') or results['source']}: "
             f"{', '.join(env['devices'])} ({env['backend']}; {env.get('nvidia_smi') or ''}), "
             f"JAX {env['jax']}, numpy {env['numpy']}, PyNN {env['pyNN']}, neo {env['neo']}, "
             f"Python {env['python']}, {env['cpus']} host CPUs; float32, dt 0.1 ms. "
             "Each case in a fresh process (`python benchmarks/gpu_suite.py`).", "",
             "| case | N | synapses | build (s) | compile (s) | run per bio s (s) | us per step "
             "| device peak (MB) | rate (Hz) | XLA_FLAGS given |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for key, r in cases.items():
        if "run_per_bio_s" not in r:
            continue
        lines.append(
            f"| {r['case']} | {r['size']} | {r['synapses']} | {fmt(r['timings']['build'])} | "
            f"{fmt(r['compile_s'])} | {fmt(r['run_per_bio_s'], 4)} | {fmt(r['us_per_step'])} | "
            f"{fmt(r['info'].get('device_peak_mb'))} | {fmt(r['rate_hz'])} | "
            f"{r.get('xla_flags') or '-'} |")
    failed = [f"{k}: {r['status']} ({r.get('why') or (r.get('stderr') or '')[-200:].strip()})"
              for k, r in cases.items() if r.get("status") != "ok"]
    if failed:
        lines += ["", "Not measured: " + "; ".join(failed) + "."]
    for key, r in cases.items():
        if key.startswith("microcircuit") and "json" in r:
            m = r["json"]
            lines += ["", f"Cortical microcircuit, scale {m['scale']:g}: {m['n_cells']} cells, "
                      f"{m['n_synapses']} synapses, build {fmt(m['build_s'])} s, run "
                      f"{fmt(m['run_s'])} s for {fmt(m.get('time_ms'))} ms (RTF "
                      f"**{fmt(m['rtf'])}**), rates (Hz): " + ", ".join(
                          f"{p} {fmt(v)}" for p, v in m["rates_hz"].items())]
    for key in ("sweep", "block"):
        r = cases.get(key, {})
        if r.get("status") == "ok":
            lines += ["", f"`{' '.join(r['command'])}`:", ""] + [
                line for line in r["stdout"] if line.startswith(("|", "Throughput"))]
    for key, r in cases.items():
        profile = r.get("summary") if key.startswith("profile_") else None
        if not profile or "processes" not in profile:
            continue
        devices = [p for p in profile["processes"] if p.startswith("/device:")]
        if devices and all(profile["processes"][p]["events_per_step"] < 1 for p in devices):
            lines += ["", f"Profile `{key}`: no kernel traced (those inside CUDA-graph command "
                      "buffers are not traced)."]
            continue
        lines += ["", f"Profile `{key}`, {profile['n_steps']} warm steps (JAX profiler trace; "
                  "busy: union of the events' intervals over the traced span):", "",
                  "| process | events per step | busy / span | costliest events (us per step) |",
                  "|---|---:|---:|---|"]
        for process in devices or profile["processes"]:
            v = profile["processes"][process]
            top = ", ".join(f"{t['name'][:40]} {t['us_per_step']:.2f}" for t in v["top"][:8])
            lines.append(f"| {process} | {v['events_per_step']:.1f} | "
                         f"{v['busy_us'] / max(v['span_us'], 1):.0%} | {top} |")
    lines += ["", "Goals of issue 19:", ""]
    va = cases.get("va_coba_4000", {})
    lif = cases.get("lif1m", {})
    sweep_line = next((line for line in cases.get("sweep", {}).get("stdout", [])
                       if line.startswith("Throughput")), None)
    micro = [r["json"] for k, r in cases.items() if k.startswith("microcircuit") and "json" in r
             and r["json"]["scale"] == 1.0]
    lines += [
        goal_line("VA COBA 4000, s per bio s", va.get("run_per_bio_s"), 0.05),
        goal_line("1M LIF, us per step", lif.get("us_per_step"), 20.0),
        goal_line("microcircuit full scale, RTF", micro[0]["rtf"] if micro else None, 0.25),
        f"- sweep 100 x VA-1000 >= 20x sequential: {sweep_line or 'not measured'}"]
    return "\n".join(lines)


def goal_line(name, value, goal):
    if value is None:
        return f"- {name} <= {goal:g}: not measured"
    return f"- {name} <= {goal:g}: {fmt(value, 4)} ({'met' if value <= goal else 'missed'})"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.environ.get("OUT", "."),
                        help="folder of gpu_suite.json and the trace (default $OUT or .)")
    parser.add_argument("--deadline-s", type=float, default=420.0,
                        help="seconds for all cases together (default 420)")
    parser.add_argument("--case-timeout-s", type=float, default=240.0,
                        help="seconds for one case at most (default 240)")
    parser.add_argument("--min-case-s", type=float, default=20.0,
                        help="skip a case when fewer seconds than this are left (default 20)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a dry run on a CPU")
    parser.add_argument("--only", type=suite.comma_list, default=[],
                        help="comma-separated case keys to run, in this order (default all)")
    parser.add_argument("--xla-variants", type=lambda s: [f for f in s.split(";") if f.strip()],
                        default=[],
                        help="';'-separated XLA_FLAGS values to try on VA-4000 COBA")
    parser.add_argument("--microcircuit-scales", type=lambda s: suite.comma_list(s, float),
                        default=[0.1, 1.0])
    parser.add_argument("--microcircuit-profile-scale", type=float, default=0.1,
                        help="scale of the microcircuit the profiler traces (default 0.1; 1.0:"
                             " ~100 s of build and first run before the trace)")
    parser.add_argument("--from-json", metavar="FILE[,FILE...]",
                        help="run nothing: print the report of each saved run")
    parser.add_argument("--write-results", nargs="?", const=suite.DEFAULT_RESULTS,
                        metavar="FILE", help="with --from-json: replace RESULTS.md's GPU section")
    parser.add_argument("--profile-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-case", default="va_coba", choices=["va_coba", "va_cuba", "lif1m", "microcircuit"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--profile-n", type=int, default=4000, help=argparse.SUPPRESS)
    parser.add_argument("--profile-ms", type=float, default=100.0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.profile_worker:
        profile_worker(args)
    elif args.from_json:
        texts = []
        for path in args.from_json.split(","):
            with open(path) as f:
                texts.append(report(json.load(f)))
        text = "\n\n".join(texts)
        print(text)
        if args.write_results:
            write_section(args.write_results, "## GPU\n\n" + text, SECTION)
    else:
        run_all(args)


if __name__ == "__main__":
    main()
