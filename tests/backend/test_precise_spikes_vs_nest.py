"""spike_precision="off_grid": the same spike times as pyNN.nest's precise models
(iaf_psc_exp_ps, iaf_psc_delta_ps, precise spike_generator and poisson_generator_ps)."""
import numpy as np
import pytest

from ..conftest import needs_nest

pytestmark = needs_nest

T_STOP = 200.0


def input_trains(rng, n_trains):
    """Spike trains off the grid (4 decimals), at most one spike per ms in each train."""
    trains = []
    for _ in range(n_trains):
        times = np.cumsum(rng.uniform(1.2, 6.0, 80)) + 1.0
        trains.append(times[times < T_STOP - 5].round(4))
    return trains


def precise_cells(sim, model_name, i_offset, tau_refrac):
    """A population of IF_curr_exp or IF_curr_delta cells (one per ``i_offset``), tau_m 10 ms,
    cm 0.25 nF, thresholds of the tests below, v at rest."""
    params = {"i_offset": i_offset, "tau_refrac": tau_refrac, "tau_m": 10.0, "cm": 0.25}
    delta = model_name == "IF_curr_delta"
    if delta:
        # pyNN.nest does not set v of iaf_psc_delta_ps: it starts at NEST's -70 mV
        params.update(v_rest=-70.0, v_thresh=-60.0, v_reset=-72.0)
    else:
        params.update(tau_syn_E=2.0, tau_syn_I=5.0, v_thresh=-55.0, v_reset=-70.0)
    cells = sim.Population(len(i_offset), getattr(sim, model_name)(**params))
    cells.initialize(v=-70.0 if delta else -65.0)
    return cells


def driven_cells(sim, model_name, dt, extra_setup=None):
    """Three cells (DC 0.0, 0.3, 0.6 nA, a step current into two) driven by off-grid spike
    trains, one with a refractory period that is not a whole number of steps at dt = 1 ms;
    float64 on pyNN.jax. Returns the spike trains and, where NEST records it, v."""
    on_jax = "jax" in sim.__name__
    sim.setup(timestep=dt, min_delay=1.0, max_delay=10.0, spike_precision="off_grid",
              **({"precision": "float64"} if on_jax else {}), **(extra_setup or {}))
    rng = np.random.default_rng(7)
    delta = model_name == "IF_curr_delta"
    cells = precise_cells(sim, model_name, i_offset=[0.0, 0.3, 0.6],
                          tau_refrac=[2.0, 2.0, 1.5])
    inputs = sim.Population(6, sim.SpikeSourceArray(spike_times=input_trains(rng, 6)))
    w_exc, w_inh = (3.0, -1.5) if delta else (1.0, -0.5)
    # the cells get different numbers of inputs in a step: cell 0 all four trains
    excitatory = [(i, 0) for i in range(4)] + [(0, 1), (1, 1), (2, 2), (3, 2)]
    sim.Projection(inputs[:4], cells, sim.FromListConnector(excitatory),
                   sim.StaticSynapse(weight=w_exc, delay=1.0), receptor_type="excitatory")
    sim.Projection(inputs[4:], cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=w_inh, delay=2.0), receptor_type="inhibitory")
    # injected current changing off the spike times (not at half steps: pyNN.nest shifts
    # source times by -min_delay in floating point and NEST rounds a half either way)
    step = sim.StepCurrentSource(times=[50.3, 120.0, 160.2], amplitudes=[0.4, 0.1, 0.3])
    step.inject_into(cells[1:])
    record_v = not (delta and not on_jax)       # NEST cannot record v of iaf_psc_delta_ps
    cells.record(["spikes", "v"] if record_v else "spikes")
    sim.run(T_STOP)
    data = cells.get_data().segments[0]
    spikes = [np.asarray(st, dtype=float) for st in data.spiketrains]
    v = np.asarray(data.filter(name="v")[0]) if record_v else None
    sim.end()
    return spikes, v


CASES = [(model, dt) for model in ("IF_curr_exp", "IF_curr_delta") for dt in (0.1, 1.0)]


@pytest.fixture(scope="module")
def nest_results():
    import pyNN.nest as nest
    return {case: driven_cells(nest, *case) for case in CASES}


@pytest.mark.parametrize("model_name, dt", CASES)
def test_precise_spike_times_as_nest(model_name, dt, nest_results):
    """Within 1e-6 ms of NEST's _ps models at dt 0.1 and 1.0 ms (float64), including spikes
    arriving during a refractory period that ends off the grid."""
    import pyNN.jax as sim
    spikes, v = driven_cells(sim, model_name, dt)
    nest_spikes, nest_v = nest_results[(model_name, dt)]
    assert sum(len(s) for s in nest_spikes) >= 20
    off_grid = np.concatenate(nest_spikes) / dt
    assert np.abs(off_grid - np.round(off_grid)).max() > 0.1       # NEST's times are precise
    for ours, theirs in zip(spikes, nest_spikes):
        assert len(ours) == len(theirs)
        assert np.abs(ours - theirs).max(initial=0.0) < 1e-6
    if nest_v is not None:
        assert np.abs(v - nest_v).max() < 1e-6


def densely_driven_cells(sim, model_name):
    """dt 1 ms, two cells each driven by 60 off-grid trains of ~220 Hz (excitatory and
    inhibitory): ~12 input events per cell and step, more than pyNN.jax keeps at first
    (precise.EVENT_SLOTS). Returns the spike trains (float64 on pyNN.jax)."""
    on_jax = "jax" in sim.__name__
    sim.setup(timestep=1.0, min_delay=1.0, max_delay=10.0, spike_precision="off_grid",
              **({"precision": "float64"} if on_jax else {}))
    rng = np.random.default_rng(11)
    # at most one spike per step and train (a source emits one offset per step)
    trains = [times[times < T_STOP - 5].round(6)
              for times in np.cumsum(rng.uniform(1.1, 8.0, (60, 60)), axis=1)]
    delta = model_name == "IF_curr_delta"
    cells = precise_cells(sim, model_name, i_offset=[0.0, 0.1], tau_refrac=2.0)
    inputs = sim.Population(60, sim.SpikeSourceArray(spike_times=trains))
    w_exc, w_inh = (0.6, -0.5) if delta else (0.12, -0.1)
    sim.Projection(inputs[:45], cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=w_exc, delay=1.0), receptor_type="excitatory")
    sim.Projection(inputs[45:], cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=w_inh, delay=2.0), receptor_type="inhibitory")
    cells.record("spikes")
    sim.run(T_STOP)
    spikes = [np.asarray(st, dtype=float) for st in cells.get_data().segments[0].spiketrains]
    slots = sim.state.network.structure.event_slots if on_jax else None
    sim.end()
    return spikes, slots


@pytest.mark.parametrize("model_name", ["IF_curr_exp", "IF_curr_delta"])
def test_more_events_per_step_than_slots_as_nest(model_name):
    """Dense input at dt 1 ms: the slots grow (the chunk runs again) and every spike time is
    within 1e-6 ms of NEST's."""
    import pyNN.jax as sim
    import pyNN.nest as nest
    from pyNN_jax.engine.models.precise import EVENT_SLOTS
    spikes, slots = densely_driven_cells(sim, model_name)
    nest_spikes, _ = densely_driven_cells(nest, model_name)
    assert slots > EVENT_SLOTS and sum(len(s) for s in nest_spikes) >= 10
    for ours, theirs in zip(spikes, nest_spikes):
        assert len(ours) == len(theirs)
        assert np.abs(ours - theirs).max(initial=0.0) < 1e-6


@pytest.mark.parametrize("model_name", ["IF_cond_exp", "IF_curr_alpha"])
def test_grid_cells_receive_precise_spikes_as_nest(model_name):
    """Cell types without a precise model get precise spikes in the step they arrive in."""
    import pyNN.jax as jax_sim
    import pyNN.nest as nest_sim
    results = []
    for sim in (nest_sim, jax_sim):
        on_jax = sim is jax_sim
        sim.setup(timestep=0.1, min_delay=1.0, spike_precision="off_grid",
                  **({"precision": "float64"} if on_jax else {}))
        rng = np.random.default_rng(3)
        cells = sim.Population(2, getattr(sim, model_name)(i_offset=[0.3, 0.5]))
        inputs = sim.Population(6, sim.SpikeSourceArray(spike_times=input_trains(rng, 6)))
        weight = 0.01 if "cond" in model_name else 0.5
        sim.Projection(inputs, cells, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=weight, delay=1.0))
        cells.record("spikes")
        sim.run(T_STOP)
        results.append([np.asarray(st, dtype=float)
                        for st in cells.get_data().segments[0].spiketrains])
        sim.end()
    assert sum(len(s) for s in results[0]) >= 5
    for ours, theirs in zip(results[1], results[0]):
        assert len(ours) == len(theirs) and np.abs(ours - theirs).max(initial=0.0) < 1e-6


SYNAPSES = {
    "TsodyksMarkramSynapse": lambda sim: sim.TsodyksMarkramSynapse(
        U=0.5, tau_rec=50.0, tau_facil=0.0, weight=3.0, delay=1.0),
    "STDPMechanism": lambda sim: sim.STDPMechanism(
        sim.SpikePairRule(), sim.AdditiveWeightDependence(w_max=5.0), weight=3.0, delay=1.0),
}


@pytest.mark.parametrize("synapse", sorted(SYNAPSES))
def test_dynamic_synapses_deliver_precise_spikes_as_nest(synapse):
    """Depressing and plastic synapses deliver off-grid input at its offset (their weight
    dynamics on the presynaptic spikes' steps, as NEST's); STDP pairs the postsynaptic
    spikes at their precise times: v, spike times and the learned weight as NEST's."""
    import pyNN.jax as jax_sim
    import pyNN.nest as nest_sim
    results = []
    for sim in (nest_sim, jax_sim):
        sim.setup(timestep=0.1, min_delay=0.1, spike_precision="off_grid",
                  **({"precision": "float64"} if sim is jax_sim else {}))
        inputs = sim.Population(1, sim.SpikeSourceArray(
            spike_times=[10.03, 12.57, 15.01, 15.99, 30.44, 31.26, 50.5]))
        drive = sim.Population(1, sim.SpikeSourceArray(spike_times=[13.33, 40.47]))
        cell = sim.Population(1, sim.IF_curr_exp(tau_refrac=2.0))
        prj = sim.Projection(inputs, cell, sim.AllToAllConnector(), SYNAPSES[synapse](sim))
        sim.Projection(drive, cell, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=8.0, delay=1.0))
        cell.record(["v", "spikes"])
        sim.run(70.0)
        segment = cell.get_data().segments[0]
        results.append((segment.filter(name="v")[0].magnitude[:, 0],
                        np.asarray(segment.spiketrains[0], dtype=float),
                        prj.get("weight", format="array")[0, 0]))
        sim.end()
    (v_nest, spikes_nest, w_nest), (v_jax, spikes_jax, w_jax) = results
    assert len(spikes_nest) >= 3 and np.any(np.abs(spikes_nest * 10 - np.round(spikes_nest * 10))
                                             > 1e-3)          # off the grid
    np.testing.assert_allclose(spikes_jax, spikes_nest, rtol=0, atol=1e-6)
    np.testing.assert_allclose(v_jax, v_nest, rtol=0, atol=1e-9)
    assert w_jax == pytest.approx(w_nest, rel=1e-9)


def recurrent_rate(sim, extra_setup):
    """Mean rate (Hz) of 400 excitatory and 100 inhibitory IF_curr_exp cells (5 %
    connectivity from a fixed list, DC drive of 0.14-0.2 nA) over 1 s at dt = 1 ms."""
    sim.setup(timestep=1.0, min_delay=2.0, max_delay=10.0, **extra_setup)
    rng = np.random.default_rng(11)
    n_exc, n = 400, 500
    cells = sim.Population(n, sim.IF_curr_exp(
        tau_m=20.0, cm=0.25, tau_syn_E=5.0, tau_syn_I=10.0, v_thresh=-50.0, v_reset=-60.0,
        v_rest=-60.0, tau_refrac=5.0, i_offset=rng.uniform(0.14, 0.2, n)))
    cells.initialize(v=rng.uniform(-60.0, -50.0, n))
    for first, stop, weight, receptor in ((0, n_exc, 0.1, "excitatory"),
                                          (n_exc, n, -0.35, "inhibitory")):
        pre, post = np.nonzero(rng.random((stop - first, n)) < 0.05)
        pre = pre + first
        keep = pre != post
        connections = np.column_stack([pre[keep], post[keep], np.full(keep.sum(), weight),
                                       np.full(keep.sum(), 2.0)])
        sim.Projection(cells, cells, sim.FromListConnector(connections.tolist(),
                                                           column_names=["weight", "delay"]),
                       sim.StaticSynapse(), receptor_type=receptor)
    cells.record("spikes")
    sim.run(1000.0)
    n_spikes = sum(len(st) for st in cells.get_data().segments[0].spiketrains)
    sim.end()
    return n_spikes / n


def test_recurrent_rate_as_nest_at_dt_1ms():
    """A recurrent network at dt = 1 ms (float32): the mean rate within 5 % of pyNN.nest's
    default (off_grid)."""
    import pyNN.jax as jax_sim
    import pyNN.nest as nest_sim
    nest_rate = recurrent_rate(nest_sim, {"spike_precision": "off_grid"})
    rate = recurrent_rate(jax_sim, {"spike_precision": "off_grid"})
    assert nest_rate > 10.0
    assert abs(rate - nest_rate) < 0.05 * nest_rate
