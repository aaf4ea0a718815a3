"""Block method (Taylor, King & Harper 2023): blocks of steps advanced time-parallel."""
import numpy as np
import jax.numpy as jnp
import pytest
from pyNN import errors

import pyNN.jax as sim
from pyNN_jax.engine.models.block import linear_recurrence


def test_linear_recurrence_equals_the_loop():
    rng = np.random.default_rng(0)
    a, b, x0 = rng.uniform(0.5, 1.0, (13, 4)), rng.normal(size=(13, 4)), rng.normal(size=4)
    expected = [x0]
    for j in range(13):
        expected.append(a[j] * expected[-1] + b[j])
    np.testing.assert_allclose(np.asarray(linear_recurrence(jnp.asarray(a), jnp.asarray(b),
                                                            jnp.asarray(x0))),
                               np.array(expected), rtol=1e-5)


def lif_network(block_method, celltype, refractory=2.0, delay=2.0, precision="float64"):
    """300 recurrently connected LIF cells with Poisson input and a DC step."""
    sim.setup(timestep=0.1, min_delay=0.1, rng_seed=11, precision=precision,
              block_method=block_method, spike_precision="on_grid")
    rng = sim.NumpyRNG(seed=5)
    cells = sim.Population(300, celltype(tau_refrac=refractory, i_offset=0.1), label="cells")
    noise = sim.Population(100, sim.SpikeSourcePoisson(rate=50.0), label="noise")
    weight = 0.5 if celltype is sim.IF_curr_exp else 1.5
    sim.Projection(noise, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                   sim.StaticSynapse(weight=weight, delay=delay))
    sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                   sim.StaticSynapse(weight=-0.2, delay=delay), receptor_type="inhibitory")
    sim.DCSource(amplitude=0.3, start=50.0, stop=150.0).inject_into(cells[:50])
    cells.record(["spikes", "v"])
    return cells


def simulate(block_method, celltype, **kwargs):
    cells = lif_network(block_method, celltype, **kwargs)
    sim.run(200.0)
    sim.run(70.05)                         # not a whole number of blocks
    block_steps = sim.state.network.structure.block_steps
    segment = cells.get_data().segments[0]
    spikes = [np.asarray(train) for train in segment.spiketrains]
    v = np.asarray(segment.filter(name="v")[0])
    sim.end()
    return spikes, v, block_steps


@pytest.mark.parametrize("celltype", [sim.IF_curr_exp, sim.IF_curr_delta])
def test_block_method_gives_the_step_by_step_spikes(celltype):
    """float64: every spike at the same step, v equal to rounding; blocks of 20 steps
    (refractory 2 ms + 1 step, capped by the 2 ms delay)."""
    spikes, v, _ = simulate(False, celltype)
    block_spikes, block_v, block_steps = simulate(True, celltype)
    assert block_steps == 20
    assert sum(train.size for train in spikes) > 1000
    for train, block_train in zip(spikes, block_spikes):
        np.testing.assert_array_equal(train, block_train)
    np.testing.assert_allclose(block_v, v, rtol=0, atol=1e-9)


def test_block_length_is_the_refractory_period_plus_one_step():
    lif_network(True, sim.IF_curr_exp, refractory=0.5, delay=3.0)
    sim.run(1.0)
    assert sim.state.network.structure.block_steps == 6
    sim.state.populations[0].set(tau_refrac=0.2)        # shorter: the blocks shrink
    sim.run(1.0)
    assert sim.state.network.structure.block_steps == 3
    sim.end()


def test_block_method_refuses_plastic_synapses_and_other_models():
    lif_network(True, sim.IF_curr_exp)
    cells = sim.state.populations[0]
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                             weight_dependence=sim.AdditiveWeightDependence(), weight=0.1)
    sim.Projection(cells, cells, sim.OneToOneConnector(), stdp, label="plastic")
    with pytest.raises(errors.InvalidParameterValueError, match="block_method.*plastic"):
        sim.run(1.0)
    sim.setup(block_method=True)
    sim.Population(3, sim.IF_cond_exp(), label="conductance cells")
    with pytest.raises(errors.InvalidParameterValueError, match="IF_cond_exp"):
        sim.run(1.0)
    sim.setup(block_method=True, spike_precision="off_grid")   # precise models: no blocks
    sim.Population(3, sim.IF_curr_exp(), label="precise cells")
    with pytest.raises(errors.InvalidParameterValueError, match="on_grid"):
        sim.run(1.0)
    sim.end()


def test_block_method_implies_on_grid_spike_times():
    sim.setup(block_method=True)
    assert sim.state.spike_precision == "on_grid"
    sim.setup()
    assert sim.state.spike_precision == "off_grid"     # pyNN.nest's default
    sim.end()
