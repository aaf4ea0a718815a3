#!/usr/bin/env python
"""Time to first result (issue 16): every figure in one call, pyNN.jax against pyNN.nest.

Runs, each in fresh processes, and writes each one's section of benchmarks/RESULTS.md:

1. ``examples_benchmark.py``: ``import pyNN.<simulator>`` and PyNN 0.13.0's examples as whole
   processes (pyNN.nest; pyNN.jax with an empty and with a warm compilation cache);
2. ``va_benchmark.py``: Vogels-Abbott COBA, 4000 cells, 1 s: the first ``run()`` including
   its compilation with an empty persistent cache, then with the cache warm, against NEST's
   run; then the same script after a small structural edit (``--edited-n`` cells instead of
   4000, same cache): does the cache still hit?
3. ``output_benchmark.py --progress-cost``: get_data, iterating the spike trains, write_data
   to pickle and NIX, and the cost of the progress lines;

then a summary section (``time-to-first-result``) with each target of the issue against its
measured value.

    python benchmarks/time_to_first_result.py                       # ~15 minutes
    python benchmarks/time_to_first_result.py --skip output --examples small_network.py
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from va_benchmark import write_section  # noqa: E402
from va_benchmark import DEFAULT_RESULTS, cpu_model, git_description, importable  # noqa: E402

SECTION = "time-to-first-result"
PARTS = ("examples", "va", "output")


def run_script(name, *arguments):
    """Run ``benchmarks/<name>`` with this interpreter; its stderr and stdout pass through."""
    command = [sys.executable, os.path.join(HERE, name), *arguments]
    print("$ " + " ".join(command), file=sys.stderr, flush=True)
    subprocess.run(command, check=True)


def va_first_run(n_cells, time_ms, cache, simulators, folder, label):
    """One va_benchmark.py process (COBA): {simulator: its JSON entry}."""
    path = os.path.join(folder, f"va-{label}.json")
    run_script("va_benchmark.py", "--model", "coba", "--n", str(n_cells),
               "--time", str(time_ms), "--simulators", simulators,
               "--compilation-cache", cache, "--no-results", "--json", path)
    with open(path) as f:
        return json.load(f)["coba"]


def compile_seconds(entry):
    seconds = entry["info"].get("compile_seconds", {})
    return sum(value for key, value in seconds.items() if key.startswith("run1"))


def examples_summary(results_path):
    """The examples section's own summary line (written by examples_benchmark.py)."""
    with open(results_path) as f:
        text = f.read()
    start = text.find("<!-- BEGIN examples -->")
    lines = text[start:].splitlines() if start >= 0 else []
    for line in lines:
        if line.startswith("Within 1.2x"):
            return line
        if line.startswith("<!-- END"):
            break
    return "not measured"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=DEFAULT_RESULTS)
    parser.add_argument("--skip", default="", help=f"comma-separated parts among {PARTS}")
    parser.add_argument("--examples", default=None,
                        help="passed to examples_benchmark.py (default: every example)")
    parser.add_argument("--repeat", type=int, default=1, help="examples: runs of each")
    parser.add_argument("--va-n", type=int, default=4000, help="VA cells (default 4000)")
    parser.add_argument("--va-time", type=float, default=1000.0, help="VA run (ms)")
    parser.add_argument("--edited-n", type=int, default=4100,
                        help="cells of the structurally edited VA network (default 4100)")
    args = parser.parse_args()
    skip = {part for part in args.skip.split(",") if part}
    if skip - set(PARTS):
        parser.error(f"unknown part(s) {sorted(skip - set(PARTS))}")
    simulators = "jax,nest" if importable("nest") else "jax"

    if "examples" not in skip:
        extra = ["--examples", args.examples] if args.examples else []
        run_script("examples_benchmark.py", "--results", args.results,
                   "--repeat", str(args.repeat), *extra)
    va = {}
    if "va" not in skip:
        with tempfile.TemporaryDirectory() as folder:
            cache = os.path.join(folder, "cache")           # empty for the first process
            sizes = {"cold": args.va_n, "warm": args.va_n, "edited": args.edited_n}
            for label, n_cells in sizes.items():
                va[label] = va_first_run(n_cells, args.va_time, cache,
                                         simulators if label == "cold" else "jax", folder,
                                         label)
    if "output" not in skip:
        run_script("output_benchmark.py", "--progress-cost", "--results", args.results)

    lines = ["## Time to first result: issue 16's targets in one run", "",
             f"{datetime.date.today()}, {cpu_model()}, {os.cpu_count()} CPU cores, "
             f"{git_description()}; `python benchmarks/time_to_first_result.py` (fresh "
             "processes; the sections `examples` and `output` come from the same call).", ""]
    if "examples" not in skip:
        lines.append(f"- Small scripts (<= 1.2x pyNN.nest cold, <= 1.0x warm): "
                     f"{examples_summary(args.results)}")
    if va:
        jax_cold = va["cold"]["jax"]["timings"]["run1"]
        nest_run = va["cold"].get("nest", {}).get("timings", {}).get("run1")
        ratio = f"{nest_run / jax_cold:.1f}x" if nest_run else "pyNN.nest not installed"
        lines.append(
            f"- VA COBA {args.va_n}, first run({args.va_time:g} ms) including compilation "
            f"(target for 4000 cells, 1 s: >= 10x "
            f"pyNN.nest's run): empty cache {jax_cold:.2f} s ({compile_seconds(va['cold']['jax']):.2f} s "
            f"of it compiling), warm cache {va['warm']['jax']['timings']['run1']:.2f} s; "
            f"pyNN.nest {nest_run if nest_run is None else round(nest_run, 2)} s: {ratio}.")
        edited = va["edited"]["jax"]
        lines.append(
            f"- The same script with {args.edited_n} cells instead of {args.va_n}, cache warm "
            f"(target: no full compilation): first run {edited['timings']['run1']:.2f} s, "
            f"{compile_seconds(edited):.2f} s compiling ({args.va_n} cells, warm: "
            f"{compile_seconds(va['warm']['jax']):.2f} s).")
    if "output" not in skip:
        lines.append("- Output and progress lines: section `output` below (same call).")
    table = "\n".join(lines)
    print(table)
    write_section(args.results, table, SECTION)


if __name__ == "__main__":
    main()
