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


def _many_inputs_in_one_step(sim, n_inputs):
    """One IF_curr_exp cell below threshold and ``n_inputs`` sources each spiking once, all in
    the step (5.0, 5.1] ms at distinct times off the grid, arriving 1 ms later; returns the
    spike times and the recorded v (float64, dt 0.1 ms)."""
    times = 5.0 + (np.arange(n_inputs) + 0.5) / n_inputs * 0.1
    cells = sim.Population(1, sim.IF_curr_exp(v_thresh=0.0, tau_m=10.0, tau_syn_E=2.0,
                                              cm=1.0))
    inputs = sim.Population(n_inputs, sim.SpikeSourceArray(
        spike_times=[[t] for t in times]))
    sim.Projection(inputs, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.02, delay=1.0))
    cells.record("v")
    sim.run(12.0)
    v = cells.get_data().segments[0].filter(name="v")[0]
    return times, np.asarray(v.times, dtype=float), np.asarray(v, dtype=float)[:, 0]


def test_more_events_in_a_step_than_slots_keep_their_times():
    """40 inputs to one cell in one step (more than it keeps at first): the chunk runs again
    with more slots, and v is the exact sum of the postsynaptic potentials (closed form)."""
    import pyNN.jax as sim
    from pyNN_jax.engine.models.precise import EVENT_SLOTS
    assert EVENT_SLOTS < 40
    sim.setup(timestep=0.1, spike_precision="off_grid", precision="float64")
    times, t, v = _many_inputs_in_one_step(sim, 40)
    slots = sim.state.network.structure.event_slots
    sim.end()
    tau_m, tau_s, c_m, w = 10.0, 2.0, 1.0, 0.02
    lag = t[:, None] - (times[None, :] + 1.0)
    psp = np.where(lag > 0, w / c_m * tau_m * tau_s / (tau_m - tau_s)
                   * (np.exp(-lag / tau_m) - np.exp(-lag / tau_s)), 0.0)
    expected = -65.0 + psp.sum(axis=1)
    assert slots >= 40 and expected.max() > -64.0
    np.testing.assert_allclose(v, expected, atol=1e-10)


def test_events_beyond_the_most_slots_arrive_at_the_end_of_their_step(monkeypatch):
    """When the events' memory would pass build.MAX_EVENT_BYTES, the slots stay and a warning
    says that the other events arrive at the end of their step; their charge is not lost."""
    import pyNN.jax as sim
    from pyNN_jax import build
    monkeypatch.setattr(build, "MAX_EVENT_BYTES", 1)
    sim.setup(timestep=0.1, spike_precision="off_grid", precision="float64")
    with pytest.warns(RuntimeWarning, match="received 40 input events in one step"):
        _, _, capped = _many_inputs_in_one_step(sim, 40)
    sim.end()
    monkeypatch.undo()
    sim.setup(timestep=0.1, spike_precision="off_grid", precision="float64")
    _, _, exact = _many_inputs_in_one_step(sim, 40)
    sim.end()
    assert 1e-6 < np.abs(capped - exact).max() < 0.05 * (exact.max() + 65.0)
