"""PyNN 0.13.0's own examples run unchanged with ``python <example>.py jax``.

``pyNN.utility.get_simulator`` finds the backend from the command line. Each run is checked
for its exit status and one property of its output. Every example runs except the NEURON,
NineML and MPI ones (out of scope for a point-neuron backend) and simpleRandomNetwork_csa.py,
which stops in PyNN itself (WrappedRNG.next() has no mask_local argument).
"""
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

from .conformance.pynn_sdist import sdist_root

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks"))
from examples_benchmark import EXAMPLE_ARGUMENTS  # noqa: E402


def neo_blocks(directory):
    blocks = []
    for path in directory.rglob("*.pkl"):
        with open(path, "rb") as f:
            blocks.append(pickle.load(f))
    return blocks


def has_data(directory):
    """Every Neo file written holds spikes or signals."""
    blocks = neo_blocks(directory)
    return bool(blocks) and all(
        sum(len(st) for seg in b.segments for st in seg.spiketrains)
        + sum(sig.size for seg in b.segments for sig in seg.analogsignals) > 0 for b in blocks)


def counts_line(stdout, label):
    match = re.search(label + r" spike counts: \[(.*)\]", stdout)
    return np.array([float(x) for x in re.findall(r"[-\d.]+(?=\)|,|$)", match.group(1))])


def exact_counts(directory, stdout):
    return np.array_equal(counts_line(stdout, "Actual"), counts_line(stdout, "Expected mean"))


def poisson_counts(directory, stdout):
    actual, expected = counts_line(stdout, "Actual"), counts_line(stdout, "Expected mean")
    return bool(np.all(np.abs(actual - expected) <= 5 * np.sqrt(np.maximum(expected, 1))))


def png_written(directory, stdout):
    return any(p.stat().st_size > 10_000 for p in directory.rglob("*.png"))


def va_rates(directory, stdout):
    rates = [float(x) for x in re.findall(r"(?:Excitatory|Inhibitory) rate\s*:\s*([\d.]+)", stdout)]
    return len(rates) == 2 and all(1.0 < r < 50.0 for r in rates) and has_data(directory)


def data_written(directory, stdout):
    return has_data(directory)


CHECKS = {   # example: check of (output directory, stdout), where not data_written
    "random_numbers.py": png_written,
    "update_spike_source_array.py": exact_counts,
    "varying_poisson.py": poisson_counts,
    "VAbenchmarks.py": va_rates,
    "monolith_vs_composed.py": png_written,
    "multi_synapse.py":
        lambda d, out: png_written(d, out) and "GABAA.e_syn =  -70.0" in out,
    "stdp_network.py": lambda d, out: "Total connections : 200" in out,
}
# the examples and arguments that benchmarks/examples_benchmark.py times
EXAMPLES = {name: (arguments, CHECKS.get(name, data_written))
            for name, arguments in EXAMPLE_ARGUMENTS.items()}


def test_every_special_check_belongs_to_an_example():
    assert set(CHECKS) <= set(EXAMPLE_ARGUMENTS)


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_example_runs_on_jax(example, tmp_path):
    script = sdist_root() / "examples" / example
    arguments, check = EXAMPLES[example]
    env = dict(os.environ, MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(script), "jax", *arguments],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert check(tmp_path, result.stdout), result.stdout[-3000:]
