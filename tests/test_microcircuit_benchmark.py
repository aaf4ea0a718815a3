"""benchmarks/microcircuit.py at a tiny scale on pyNN.jax, in a subprocess: the last line is
the JSON result, with the scaled population sizes and exactly the scaled published synapse
numbers (FixedTotalNumberConnector), and finite, non-negative rates. No timing is asserted."""
import json
import math
import os
import subprocess
import sys

import numpy as np

BENCHMARKS = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks")
SCRIPT = os.path.join(BENCHMARKS, "microcircuit.py")
SCALE = 0.002
KEYS = {"scale", "n_cells", "n_synapses", "build_s", "run_s", "rtf", "peak_rss_mb", "rates_hz",
        "simulator", "backend", "compile_s", "first_run_s", "time_ms"}

# Potjans & Diesmann (2014), Table 5: population sizes and connection probabilities [target,
# source], written out here independently of the script
N_FULL = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]
CONN_PROBS = [
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443]]
POPULATIONS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]


def test_microcircuit_tiny_scale():
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--scale", str(SCALE), "--time", "50", "--warmup", "5",
         "--transient", "0", "--simulator", "jax", "--threads", "1"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert KEYS <= set(result)
    assert result["simulator"] == "jax" and result["scale"] == SCALE
    assert result["time_ms"] == 50.0

    sizes = [round(n * SCALE) for n in N_FULL]
    assert result["n_cells_per_population"] == dict(zip(POPULATIONS, sizes))
    assert result["n_cells"] == sum(sizes)

    # total numbers of the full model, scaled by the cell and in-degree scales, rounded
    expected = sum(
        round(math.log(1.0 - c) / math.log(1.0 - 1.0 / (n_post * n_pre)) * SCALE * SCALE)
        for n_post, row in zip(N_FULL, CONN_PROBS) for n_pre, c in zip(N_FULL, row))
    assert result["n_synapses"] == expected > 0
    assert result["n_background_synapses"] == sum(sizes)   # one Poisson source per cell

    rates = result["rates_hz"]
    assert set(rates) == set(POPULATIONS)
    assert all(np.isfinite(r) and r >= 0.0 for r in rates.values())
    assert result["rtf"] > 0 and result["peak_rss_mb"] > 0
