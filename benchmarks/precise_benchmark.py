#!/usr/bin/env python
"""Cost of precise spike times: Vogels-Abbott CUBA (IF_curr_exp) with ``spike_precision``
"on_grid" and "off_grid", on pyNN.jax and on pyNN.nest in the same mode.

Each (simulator, mode) runs in its own subprocess through ``va_benchmark.py``'s worker (the
same network, seed and timings: run 1 includes JAX's compilation, run 2 is warm). Writes the
section "precise" of ``benchmarks/RESULTS.md``.

Usage::

    python benchmarks/precise_benchmark.py --time 1000 --repeat 2
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import va_benchmark as va   # noqa: E402
from networks import DT     # noqa: E402

MODES = ("on_grid", "off_grid")


def measure(args, simulators):
    """{(simulator, mode): merged result of ``args.repeat`` interleaved worker runs}."""
    runs = {(s, m): [] for s in simulators for m in MODES}
    for _ in range(args.repeat):
        for (simulator, mode), results in runs.items():
            print(f"[cuba] {simulator} {mode} ...", file=sys.stderr, flush=True)
            worker_args = argparse.Namespace(**{**vars(args), "spike_precision": mode})
            results.append(va.run_simulator(simulator, "cuba", worker_args))
    return {key: va.best_of(results) for key, results in runs.items()}


def table(results, simulators):
    rows = ["| simulator | spike_precision | run 1 (s) | run 2, warm (s) | off/on, run 2 |"
            " exc rate run 1 (Hz) | inh rate run 1 (Hz) | other load (cores) |",
            "|---|---|---:|---:|---:|---:|---:|---|"]
    for simulator in simulators:
        on = results[(simulator, "on_grid")]
        for mode in MODES:
            r = results[(simulator, mode)]
            if r is None:
                rows.append(f"| {simulator} | {mode} | failed | | | | | |")
                continue
            ratio = (f"{r['timings']['run2'] / on['timings']['run2']:.2f}"
                     if on is not None and mode == "off_grid" else "")
            load = ", ".join(f"{x:.2f}" for x in r["info"]["other_load"] if x is not None)
            rows.append(f"| {simulator} | {mode} | {r['timings']['run1']:.3f} |"
                        f" {r['timings']['run2']:.3f} | {ratio} | {r['rates']['exc_run1']:.2f} |"
                        f" {r['rates']['inh_run1']:.2f} | {load} |")
    return "\n".join(rows)


def section(args, results, simulators):
    by_simulator = {s: results[(s, "on_grid")] for s in simulators}
    _, machine = va.machine_description(by_simulator)
    return "\n".join(
        ["<!-- BEGIN precise -->",
         f"## Precise spike times: VA CUBA, {args.n} cells, {args.time:g} ms per run, dt = {DT}"
         f" ms, on_grid vs off_grid", ""] + machine + [
            f"- command: `python benchmarks/precise_benchmark.py --n {args.n} --time"
            f" {args.time:g} --repeat {args.repeat}`",
            "- each simulator in the same mode: pyNN.nest off_grid runs iaf_psc_exp_ps, "
            "pyNN.jax off_grid IF_curr_exp_ps; timings: best of the repeats; other load: CPU "
            "used by other processes while each worker ran (the machine is shared)",
            "", table(results, simulators), "", "<!-- END precise -->"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--time", type=float, default=1000.0)
    parser.add_argument("--simulators", default="jax,nest")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--results", default=va.DEFAULT_RESULTS)
    args = parser.parse_args()
    # the worker options va_benchmark.run_simulator reads, at their defaults
    args.precision, args.seed, args.threads, args.stimulus = "float32", 98765, 1, "array"
    args.check_connectivity, args.jax_cpus, args.compilation_cache = False, "", ""
    args.verbose, args.devices = False, 1
    simulators = [s for s in args.simulators.split(",") if va.importable(s)]
    results = measure(args, simulators)
    text = section(args, results, simulators)
    print(text)
    va.write_results(args.results, {"precise": text})


if __name__ == "__main__":
    main()
