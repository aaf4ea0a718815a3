"""spike_precision="off_grid" on pyNN.jax alone: closed forms, event slots, sources, state
kept between runs, option checks."""
import numpy as np
import pytest
from pyNN import errors


@pytest.mark.parametrize("dt", [0.1, 1.0])
def test_dc_period_closed_form(dt):
    """A DC-driven IF_curr_exp fires first at tau_m ln(RI / (RI - (v_thresh - v_rest))) and then
    every tau_refrac + tau_m ln((RI - (v_reset - v_rest)) / (RI - (v_thresh - v_rest)))."""
    import pyNN.jax as sim
    sim.setup(timestep=dt, spike_precision="off_grid", precision="float64")
    tau_m, cm, i_dc, tau_refrac = 20.0, 1.0, 0.9, 3.0
    v_rest, v_thresh, v_reset = -65.0, -50.0, -70.0
    cells = sim.Population(1, sim.IF_curr_exp(tau_m=tau_m, cm=cm, i_offset=i_dc,
                                              tau_refrac=tau_refrac, v_rest=v_rest,
                                              v_thresh=v_thresh, v_reset=v_reset))
    cells.record("spikes")
    sim.run(300.0)
    spikes = np.asarray(cells.get_data().segments[0].spiketrains[0], dtype=float)
    sim.end()
    drive = tau_m / cm * i_dc
    first = tau_m * np.log(drive / (drive - (v_thresh - v_rest)))
    period = tau_refrac + tau_m * np.log((drive - (v_reset - v_rest))
                                         / (drive - (v_thresh - v_rest)))
    expected = first + period * np.arange(spikes.size)
    assert spikes.size == int((300.0 - first) // period) + 1
    assert np.abs(spikes - expected).max() < 1e-9


def test_events_beyond_the_slots_are_not_lost():
    """More inputs in one step than a cell keeps with their offsets: the others arrive at the
    end of the step; for on-grid times that is exact, so v equals the grid model's."""
    import pyNN.jax as sim
    from pyNN_jax.engine.models.precise import EVENT_SLOTS
    results = []
    for precision in ("off_grid", "on_grid"):
        sim.setup(timestep=0.1, spike_precision=precision, precision="float64")
        cells = sim.Population(1, sim.IF_curr_exp(v_thresh=0.0))
        inputs = sim.Population(EVENT_SLOTS + 5, sim.SpikeSourceArray(spike_times=[5.0, 7.0]))
        sim.Projection(inputs, cells, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.05, delay=1.0))
        cells.record("v")
        sim.run(20.0)
        results.append(np.asarray(cells.get_data().segments[0].filter(name="v")[0]))
        sim.end()
    assert results[0].max() > -62.0
    np.testing.assert_allclose(results[0], results[1], atol=1e-9)


def test_poisson_source_off_grid():
    """SpikeSourcePoisson as poisson_generator_ps: its rate, at times off the grid."""
    import pyNN.jax as sim
    sim.setup(timestep=1.0, spike_precision="off_grid", rng_seed=5)
    sources = sim.Population(200, sim.SpikeSourcePoisson(rate=50.0))
    sources.record("spikes")
    sim.run(1000.0)
    trains = sources.get_data().segments[0].spiketrains
    sim.end()
    times = np.concatenate([np.asarray(st, dtype=float) for st in trains])
    assert abs(times.size / 200.0 - 50.0) < 3 * np.sqrt(50.0 / 200.0)
    fraction = times - np.floor(times)
    assert np.abs(fraction - 0.5).max() > 0.45 and abs(fraction.mean() - 0.5) < 0.02


def test_events_in_flight_survive_a_parameter_change_between_runs():
    """A spike sent at 49.7 ms arrives at 50.7 ms: still in flight at the end of a run of 50
    ms; setting the source's spike times (which pulls the state to the host and pushes it
    back) keeps its offset, so the cell fires as in one run of 100 ms."""
    import pyNN.jax as sim
    results = []
    for split in (False, True):
        sim.setup(timestep=1.0, spike_precision="off_grid", precision="float64")
        cells = sim.Population(1, sim.IF_curr_exp(tau_syn_E=2.0))
        source = sim.Population(1, sim.SpikeSourceArray(spike_times=[49.7, 70.2]))
        sim.Projection(source, cells, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=10.0, delay=1.0))
        cells.record("spikes")
        if split:
            sim.run(50.0)
            source.set(spike_times=[49.7, 70.2])
            sim.run(50.0)
        else:
            sim.run(100.0)
        results.append(np.asarray(cells.get_data().segments[0].spiketrains[0], dtype=float))
        sim.end()
    assert results[0].size == 2
    np.testing.assert_array_equal(results[0], results[1])


def test_spike_precision_is_checked():
    import pyNN.jax as sim
    with pytest.raises(errors.InvalidParameterValueError, match="spike_precision"):
        sim.setup(spike_precision="exact")


def test_block_method_needs_grid_models():
    """The block method has no precise variant: a clear error, not a wrong answer."""
    import pyNN.jax as sim
    sim.setup(timestep=0.1, spike_precision="off_grid", block_method=True)
    cells = sim.Population(2, sim.IF_curr_exp(), label="cells")
    sim.Projection(cells, cells, sim.AllToAllConnector(), sim.StaticSynapse(delay=1.0))
    with pytest.raises(errors.InvalidParameterValueError, match="spike_precision='on_grid'"):
        sim.run(1.0)
    sim.end()
