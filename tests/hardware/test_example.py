"""examples/hardware_classification.py runs on the mock, classifies and writes its plot."""
import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hardware_classification.py"


def test_hardware_classification_example(tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path)], capture_output=True,
                            text=True, timeout=600, env=dict(os.environ, MPLBACKEND="Agg"))
    assert result.returncode == 0, result.stderr[-2000:]
    accuracies = dict(re.findall(r"(\w+) accuracy: ([\d.]+)", result.stdout))
    assert set(accuracies) == {"ideal", "mock"}
    assert all(float(a) > 0.6 for a in accuracies.values())     # chance: 1/3
    assert "BrainScaleS-2 placement: 3 of 512 neuron circuits" in result.stdout
    png = tmp_path / "hardware_classification.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pynn_example_runs_by_changing_the_import(tmp_path):
    """PyNN's own simpleRandomNetwork.py (IF_curr_exp, StaticSynapse, default delays) on
    ``pyNN.jax.hardware`` through pyNN.utility.get_simulator."""
    from ..conformance.pynn_sdist import sdist_root
    from ..test_examples import has_data
    script = sdist_root() / "examples" / "simpleRandomNetwork.py"
    result = subprocess.run([sys.executable, str(script), "jax.hardware"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, MPLBACKEND="Agg"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert has_data(tmp_path)


def test_script_with_every_offered_model_runs():
    import numpy as np
    import pyNN.jax.hardware as sim
    sim.setup(timestep=0.1, seed=3)
    poisson = sim.Population(20, sim.SpikeSourcePoisson(rate=50.0))
    array = sim.Population(1, sim.SpikeSourceArray(spike_times=np.arange(5.0, 200.0, 5.0)))
    cells = [sim.Population(4, celltype()) for celltype in
             (sim.IF_curr_exp, sim.IF_cond_exp, sim.EIF_cond_exp_isfa_ista)]
    weights = ((0.6, -0.6), (0.02, 0.02), (0.02, 0.02))   # CUBA inhibitory weights negative
    for population, (exc, inh) in zip(cells, weights):
        sim.Projection(poisson, population, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=exc))
        sim.Projection(array, population, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=inh), receptor_type="inhibitory")
        population.record(["spikes", "v"])
    sim.run(200.0)
    for population in cells:
        block = population.get_data()
        assert sum(len(st) for st in block.segments[0].spiketrains) > 0, population.celltype
        assert block.segments[0].filter(name="v")[0].shape == (2001, 4)
    sim.end()
