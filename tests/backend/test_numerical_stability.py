"""Conductance cells hit by huge conductances integrate stably and spike as on NEST; a state
that still becomes NaN or infinite stops the run with an error, the data recorded so far kept."""
import numpy as np
import pytest

from pyNN import errors

from ..conftest import needs_nest

WEIGHTS = [0.01, 0.1, 1.0, 10.0, 100.0, 1e4]      # uS
INPUT_TIMES = [5.0, 25.0, 26.0, 60.0]
T_STOP = 100.0


def strongly_driven(sim, model, dt, tau_syn, precision="float64"):
    """One cell per weight, excitatory input at INPUT_TIMES, inhibitory 8 ms later at half
    the weight: (spike trains, v)."""
    extra = {"spike_precision": "on_grid",       # the grid models on both
             **({"precision": precision} if "jax" in sim.__name__ else {})}
    sim.setup(timestep=dt, min_delay=dt, **extra)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=INPUT_TIMES))
    params = dict(tau_syn_E=tau_syn, tau_syn_I=tau_syn)
    if model == "GIF_cond_exp":
        params.update(delta_v=1e-6, v_t_star=-55.0)
    cells = sim.Population(len(WEIGHTS), getattr(sim, model)(**params))
    weights = np.array([WEIGHTS])
    sim.Projection(source, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=weights, delay=dt))
    sim.Projection(source, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.5 * weights, delay=8.0), receptor_type="inhibitory")
    cells.record(["spikes", "v"])
    sim.run(T_STOP)
    segment = cells.get_data().segments[0]
    spikes = [np.asarray(st) for st in segment.spiketrains]
    v = np.asarray(segment.filter(name="v")[0])
    sim.end()
    return spikes, v


@pytest.mark.parametrize("model", ["IF_cond_exp", "IF_cond_alpha"])
def test_huge_conductances_keep_v_between_the_reversal_potentials(sim, model):
    """The membrane is pulled towards e_rev_E = 0 mV, never beyond (v was NaN or -3.7e23 mV
    with one RK4 step per time step); the cells hit by 10 uS and more spike after each of the
    three input bursts (25 and 26 ms fall in one refractory period)."""
    import pyNN.jax
    spikes, v = strongly_driven(pyNN.jax, model, 1.0, 0.1, precision="float32")
    assert np.isfinite(v).all()
    assert v.max() <= 0.0 + 1e-3 and v.min() >= -80.0 - 1e-3
    for train in spikes[3:]:
        assert len(train) >= 3 and [t for t in train if 5.0 < t <= 8.0]


def test_gsfa_grr_with_huge_conductances_stays_between_the_reversal_potentials(sim):
    """IF_cond_exp_gsfa_grr's RK4 substeps give way to exponential Euler where the
    conductance is large: finite, within the reversal potentials, spiking after each burst."""
    import pyNN.jax
    spikes, v = strongly_driven(pyNN.jax, "IF_cond_exp_gsfa_grr", 0.1, 0.1)
    assert np.isfinite(v).all() and v.max() <= 0.0 and v.min() >= -80.0 - 1e-9
    assert [len(train) for train in spikes[:3]] == [0, 0, 0]
    for train in spikes[3:]:
        assert len(train) >= 3 and [t for t in train if 5.0 < t <= 8.0]


@needs_nest
@pytest.mark.parametrize("dt", [0.1, 1.0])
@pytest.mark.parametrize("tau_syn", [0.1, 1.0])
def test_hh_with_huge_conductances_stays_finite_and_spikes_as_nest_where_nest_does(dt, tau_syn):
    """HH_cond_exp (Rush-Larsen steps where RK4 would overflow) stays finite and between
    e_rev_K and e_rev_Na for weights up to 1e4 uS; where NEST's hh_cond_exp_traub stays finite
    too (it turns v into NaN from ~10 uS, and at dt = 1 ms from the first step), the spike
    trains are NEST's."""
    import pyNN.jax
    import pyNN.nest
    spikes, v = strongly_driven(pyNN.jax, "HH_cond_exp", dt, tau_syn)
    nest_spikes, nest_v = strongly_driven(pyNN.nest, "HH_cond_exp", dt, tau_syn)
    assert np.isfinite(v).all() and v.max() < 50.0 and v.min() > -90.0
    finite_on_nest = np.isfinite(nest_v).all(axis=0)
    assert finite_on_nest[:3].all() == (dt == 0.1)
    for ours, theirs, finite in zip(spikes, nest_spikes, finite_on_nest):
        if finite:
            assert len(ours) == len(theirs) and np.allclose(ours, theirs), (ours, theirs)


@needs_nest
@pytest.mark.parametrize("model", ["EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista"])
@pytest.mark.parametrize("dt", [0.1, 1.0])
@pytest.mark.parametrize("tau_syn", [0.1, 1.0])
def test_adex_with_huge_conductances_spikes_as_on_nest(model, dt, tau_syn):
    """AdEx's RK4 substeps give way to exponential Euler where the conductance is large;
    weights 0.01-1e4 uS give NEST's spike trains (RKF45, adaptive)."""
    import pyNN.jax
    import pyNN.nest
    spikes, v = strongly_driven(pyNN.jax, model, dt, tau_syn)
    nest_spikes, _ = strongly_driven(pyNN.nest, model, dt, tau_syn)
    assert np.isfinite(v).all()
    assert sum(len(train) for train in nest_spikes) >= 9
    for weight, ours, theirs in zip(WEIGHTS, spikes, nest_spikes):
        assert len(ours) == len(theirs) and np.allclose(ours, theirs), (weight, ours, theirs)


@needs_nest
@pytest.mark.parametrize("model", ["IF_cond_exp", "IF_cond_alpha", "GIF_cond_exp"])
@pytest.mark.parametrize("dt", [0.1, 1.0])
@pytest.mark.parametrize("tau_syn", [0.1, 1.0])
def test_strong_inputs_spike_as_on_nest(model, dt, tau_syn):
    import pyNN.jax
    import pyNN.nest
    spikes, v = strongly_driven(pyNN.jax, model, dt, tau_syn)
    nest_spikes, nest_v = strongly_driven(pyNN.nest, model, dt, tau_syn)
    assert sum(len(s) for s in nest_spikes) >= 9      # three cells at least spike thrice
    for weight, ours, theirs, v_ours, v_theirs in zip(WEIGHTS, spikes, nest_spikes, v.T,
                                                      nest_v.T):
        assert len(ours) == len(theirs) and np.allclose(ours, theirs), (weight, ours, theirs)
        first = min([train[0] for train in (ours, theirs) if len(train)] + [T_STOP])
        before = slice(0, int(round(first / dt)) - 1)
        # NEST's RKF45 (absolute tolerance 1e-3) against the exponential integrator
        np.testing.assert_allclose(v_ours[before], v_theirs[before], atol=1e-4)


def test_diverging_state_stops_the_run_with_an_error_naming_population_cell_and_time(sim):
    """Izhikevich's forward-Euler step of u diverges for a dt > 2: the run stops within the
    chunk, names the population and the first cell, and keeps what was recorded."""
    sim.setup(timestep=1.0, chunk_steps=100)
    fine = sim.Population(2, sim.IF_cond_exp(i_offset=1.0), label="fine")
    diverging = sim.Population(4, sim.Izhikevich(a=[0.02, 5.0, 0.02, 5.0]), label="unstable")
    fine.record("spikes")
    diverging.record("v")
    with pytest.raises(errors.InvalidParameterValueError) as raised:
        sim.run(10000.0)
    message = str(raised.value)
    assert "'unstable'" in message and f"cell {int(diverging[1])} (index 1)" in message
    assert "'u'" in message and "a or b" in message
    stopped = sim.get_current_time()
    assert 100.0 <= stopped <= 300.0        # the chunk found, and the one in flight
    assert "between t = 0 and 100 ms" in message
    v = np.asarray(diverging.get_data().segments[0].filter(name="v")[0])
    assert v.shape[0] == int(stopped) + 1
    assert np.isfinite(v[:, 0]).all() and not np.isfinite(v[:, 1]).all()
    assert len(fine.get_data().segments[0].spiketrains[0]) > 0
