"""Population, PopulationView, Assembly: parameters, initial values, labels."""
import os
import subprocess
import sys

import numpy as np
import pytest


def test_get_set_scalars_arrays_random_and_functions(sim):
    p = sim.Population(5, sim.IF_curr_exp(tau_m=15.0))
    assert p.get("tau_m") == 15.0
    p.set(tau_m=np.arange(10.0, 15.0))
    np.testing.assert_array_equal(p.get("tau_m"), np.arange(10.0, 15.0))
    rng = sim.NumpyRNG(seed=5)
    p.set(cm=sim.RandomDistribution("uniform", (0.5, 1.5), rng=rng))
    expected = sim.NumpyRNG(seed=5).next(5, "uniform", {"low": 0.5, "high": 1.5})
    np.testing.assert_allclose(p.get("cm"), expected)
    p.set(v_thresh=lambda i: -50.0 + i)
    np.testing.assert_array_equal(p.get("v_thresh"), -50.0 + np.arange(5))
    p[1:3].set(i_offset=0.7)
    np.testing.assert_array_equal(p.get("i_offset"), [0, 0.7, 0.7, 0, 0])
    np.testing.assert_array_equal(p[[4, 0]].get("tau_m"), [10.0, 14.0])   # views are sorted


def test_set_between_runs_takes_effect_in_the_next(sim):
    p = sim.Population(1, sim.IF_curr_exp(i_offset=0.0))
    p.record("v")
    sim.run(10.0)
    p.set(i_offset=0.5)
    sim.run(10.0)
    v = p.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    assert (v[:101] == -65.0).all()
    np.testing.assert_allclose(v[101:], -65.0 + 10.0 * (1 - np.exp(-np.arange(1, 101) * 0.1 / 20)),
                               atol=2e-4)


def test_initialize_scalar_array_random_and_on_views(sim):
    p = sim.Population(4, sim.IF_cond_exp())
    p.initialize(v=np.array([-70.0, -65.0, -60.0, -55.0]), gsyn_exc=0.01)
    p[0:2].initialize(v=-80.0)
    p.record(["v", "gsyn_exc"])
    sim.run(0.1)
    seg = p.get_data().segments[0]
    np.testing.assert_array_equal(seg.filter(name="v")[0].magnitude[0], [-80, -80, -60, -55])
    assert seg.filter(name="gsyn_exc")[0].magnitude[0, 3] == pytest.approx(0.01)
    assert seg.filter(name="gsyn_exc")[0].magnitude[1, 3] == pytest.approx(
        0.01 * np.exp(-0.1 / 5.0), rel=1e-6)


def test_initial_values_restored_by_reset(sim):
    p = sim.Population(1, sim.IF_curr_exp(i_offset=1.0))
    p.initialize(v=-58.0)
    p.record("v")
    sim.run(5.0)
    sim.reset()
    sim.run(5.0)
    first, second = p.get_data().segments
    assert first.analogsignals[0].magnitude[0, 0] == second.analogsignals[0].magnitude[0, 0] \
        == -58.0


def test_default_labels_and_assemblies(sim):
    a = sim.Population(3, sim.IF_curr_exp())
    b = sim.Population(2, sim.IF_cond_exp(i_offset=1.0))
    assert a.label.startswith("population") and a.label != b.label
    both = a + b
    assert both.size == 5
    both.record("spikes")
    sim.run(100.0)
    counts = both.get_spike_counts()
    assert [counts[c] for c in b.all_cells] == [counts[b.all_cells[0]]] * 2
    assert counts[b.all_cells[0]] > 0 and all(counts[c] == 0 for c in a.all_cells)


def test_many_populations_of_one_model_share_one_engine_group(sim):
    pops = [sim.Population(3, sim.IF_curr_exp(i_offset=0.1 * k)) for k in range(4)]
    pops[2].record("v")
    sim.run(1.0)
    layout = sim.simulator.state.network.layout
    assert len(layout.groups) == 1 and layout.groups[0][1] == pops
    v = pops[2].get_data().segments[0].analogsignals[0].magnitude
    expected = -65.0 + 20.0 * 0.2 * (1 - np.exp(-1.0 / 20.0))
    assert v[-1, 0] == pytest.approx(expected, abs=1e-4)


def test_an_assembly_default_receptor_type_is_the_same_in_every_process():
    """PyNN's Assembly.receptor_types is a set's list, in an order that follows Python's
    string hashing: a Projection onto an Assembly without receptor_type was excitatory in
    some processes and inhibitory in others (several processes of one run: two networks)."""
    code = ("import pyNN.jax as sim\n"
            "sim.setup()\n"
            "a = sim.Population(2, sim.IF_curr_exp())\n"
            "b = sim.Population(2, sim.IF_curr_alpha())\n"
            "prj = sim.Projection(a, a + b, sim.AllToAllConnector())\n"
            "print(prj.receptor_type, (a + b).receptor_types)\n")
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)},
                           check=True).stdout.strip() for seed in range(4)}
    assert seen == {"excitatory ['excitatory', 'inhibitory']"}
