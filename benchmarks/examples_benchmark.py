#!/usr/bin/env python
"""Time to first result: PyNN 0.13.0's own examples as whole processes, pyNN.jax against
pyNN.nest.

Each example runs as users run it, ``python <example>.py <simulator> [arguments]``, in a fresh
interpreter and an empty working folder (``MPLBACKEND=Agg``), timed from the parent (start of
the interpreter to its exit): pyNN.nest; pyNN.jax with an empty persistent compilation cache
(``PYNN_JAX_COMPILATION_CACHE`` set to a new folder per example); pyNN.jax again with that
cache warm. The runs of one example follow each other, examples one after the other; with
``--repeat N`` each (example, variant) keeps its fastest of N runs. Before the examples, the
bare ``import pyNN.jax`` / ``import pyNN.nest`` are timed the same way.

The table gives the seconds and the ratios jax / nest (issue 16's targets: <= 1.2 with an empty
cache, <= 1.0 with a warm one), and how much CPU other processes used meanwhile.

    python benchmarks/examples_benchmark.py                       # every example, ~5 minutes
    python benchmarks/examples_benchmark.py --examples brunel.py,small_network.py --repeat 3
    python benchmarks/examples_benchmark.py --results benchmarks/RESULTS.md
"""
import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from va_benchmark import write_section  # noqa: E402
from va_benchmark import (children_cpu_seconds, cpu_busy_seconds, cpu_model,  # noqa: E402
                          git_description, importable)
from tests.conformance.pynn_sdist import sdist_root  # noqa: E402

# the examples tests/test_examples.py runs, with their command-line arguments
EXAMPLE_ARGUMENTS = {
    "simpleRandomNetwork.py": [], "small_network.py": [], "specific_network.py": [],
    "current_injection.py": [], "StepCurrentSource.py": [], "tsodyksmarkram.py": [],
    "brunel.py": [], "HH_cond_exp2.py": [], "parameter_changes.py": [],
    "random_numbers.py": ["--plot-figure"], "update_spike_source_array.py": [],
    "varying_poisson.py": [], "VAbenchmarks.py": ["CUBA"],
    "monolith_vs_composed.py": ["--plot-figure"], "multi_synapse.py": ["--plot-figure"],
    "simple_STDP.py": [], "stdp_network.py": [], "stochastic_synapses.py": [],
    "stochastic_tsodyksmarkram.py": [], "stochastic_deterministic_comparison.py": [],
    "multiquantal_synapses.py": [], "Izhikevich.py": [], "synaptic_input.py": [],
    "gif_neuron.py": [], "cell_type_demonstration.py": [],
}
VARIANTS = ("nest", "jax_cold", "jax_warm")
SECTION = "examples"


def timed_process(command, env, timeout):
    """Wall seconds of ``command`` in a fresh process and an empty folder; None if it fails."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        try:
            proc = subprocess.run(command, cwd=folder, env=env, capture_output=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        elapsed = time.perf_counter() - start
    return elapsed if proc.returncode == 0 else None


def measure(example, arguments, args, cache_root):
    """{variant: seconds (the fastest of --repeat runs) or None} for one example."""
    script = str(sdist_root() / "examples" / example)
    times = {variant: [] for variant in VARIANTS}
    for repeat in range(args.repeat):
        cache = os.path.join(cache_root, f"{example}-{repeat}")     # empty for jax_cold
        base = dict(os.environ, MPLBACKEND="Agg", PYNN_JAX_COMPILATION_CACHE=cache)
        runs = [("nest", [sys.executable, script, "nest", *arguments])] if args.nest else []
        runs += [("jax_cold", [sys.executable, script, "jax", *arguments]),
                 ("jax_warm", [sys.executable, script, "jax", *arguments])]
        for variant, command in runs:
            times[variant].append(timed_process(command, base, args.timeout))
    return {variant: (min(t for t in values if t is not None)
                      if values and all(t is not None for t in values) else None)
            for variant, values in times.items()}


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def seconds(value):
    return "failed" if value is None else f"{value:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", default=",".join(EXAMPLE_ARGUMENTS),
                        help="comma-separated example file names (default: all)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each (example, variant); the fastest is kept")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per process")
    parser.add_argument("--results", default=None,
                        help="write the table into this markdown file (its examples section)")
    args = parser.parse_args()
    args.nest = importable("nest")
    examples = [name for name in args.examples.split(",") if name]
    unknown = set(examples) - set(EXAMPLE_ARGUMENTS)
    if unknown:
        parser.error(f"unknown example(s) {sorted(unknown)}")

    busy0, own0, wall0 = cpu_busy_seconds(), children_cpu_seconds(), time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as cache_root:
        imports = {}
        for simulator in ("nest", "jax"):
            if simulator == "nest" and not args.nest:
                continue
            runs = [timed_process([sys.executable, "-c", f"import pyNN.{simulator}"],
                                  dict(os.environ), args.timeout) for _ in range(args.repeat)]
            imports[simulator] = min(runs) if None not in runs else None
        for example in examples:
            result = measure(example, EXAMPLE_ARGUMENTS[example], args, cache_root)
            rows.append((example, result))
            print(f"{example}: " + ", ".join(f"{v} {seconds(result[v])}" for v in VARIANTS
                                              if v != "nest" or args.nest),
                  file=sys.stderr, flush=True)
    busy1, own1, wall = cpu_busy_seconds(), children_cpu_seconds(), time.perf_counter() - wall0

    lines = ["## Time to first result: PyNN 0.13.0's examples as whole processes", "",
             f"{datetime.date.today()}, {cpu_model()}, {os.cpu_count()} CPU cores, "
             f"{git_description()}; each run a fresh interpreter in an empty folder, timed from "
             f"the parent; fastest of {args.repeat} run(s). jax cold: a new, empty persistent "
             "compilation cache; jax warm: the same example again with that cache.", "",
             "| script | pyNN.nest (s) | pyNN.jax, cache empty (s) | pyNN.jax, cache warm (s) "
             "| cold / nest | warm / nest |",
             "|---|---:|---:|---:|---:|---:|"]
    nest_column = seconds if args.nest else (lambda value: "not installed")
    if imports:
        lines.append(f"| `import pyNN.<simulator>` | {nest_column(imports.get('nest'))} | "
                     f"{seconds(imports.get('jax'))} | | "
                     f"{ratio(imports.get('jax'), imports.get('nest'))} | |")
    for example, r in rows:
        lines.append(f"| {example} | {nest_column(r['nest'])} | {seconds(r['jax_cold'])} | "
                     f"{seconds(r['jax_warm'])} | {ratio(r['jax_cold'], r['nest'])} | "
                     f"{ratio(r['jax_warm'], r['nest'])} |")
    both = [r for _, r in rows if None not in (r["nest"], r["jax_cold"], r["jax_warm"])]
    if both:
        cold_ok = sum(r["jax_cold"] <= 1.2 * r["nest"] for r in both)
        warm_ok = sum(r["jax_warm"] <= r["nest"] for r in both)
        totals = {v: sum(r[v] for r in both) for v in VARIANTS}
        lines += ["", f"Within 1.2x of pyNN.nest's time with an empty cache: {cold_ok} of "
                  f"{len(both)} examples; within 1.0x with a warm cache: {warm_ok} of "
                  f"{len(both)}. Totals: pyNN.nest "
                  f"{totals['nest']:.1f} s, pyNN.jax {totals['jax_cold']:.1f} s (cold), "
                  f"{totals['jax_warm']:.1f} s (warm)."]
    if busy0 is not None and busy1 is not None:
        other = max(busy1 - busy0 - (own1 - own0), 0.0) / wall
        lines += ["", f"CPU used by other processes meanwhile: {other:.2f} cores on average "
                  "(above ~0.25 the times are inflated)."]
    table = "\n".join(lines)
    print(table)
    if args.results:
        write_section(args.results, table, SECTION)


if __name__ == "__main__":
    main()
