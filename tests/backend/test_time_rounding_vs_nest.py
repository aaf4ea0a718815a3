"""NEST's time rounding: refractory periods in steps as NEST counts them (nearest tic, then up to
whole steps, so a period shorter than a step still holds one step), for every cell type, at
dt = 1.0 and 0.1 ms. Cells driven into saturation fire with a period set by the refractory
steps; their spike trains must be pyNN.nest's exactly, in both of its ``spike_precision`` modes
(``"off_grid"``: IF_curr_exp and IF_curr_delta as NEST's precise models, the others on the grid
receiving precise spikes)."""
import numpy as np
import pytest

from ..conftest import needs_nest
from .test_more_cells_vs_nest import nest_gsfa_grr_names  # noqa: F401 (fixture)

# refractory periods on, between and just above grid points and halves of both grids
TAU_REFRAC = [0.0, 0.1, 0.15, 0.21, 0.25, 0.35, 0.5, 1.0, 1.05, 2.05, 2.5]
DRIVE = dict(i_offset=20.0)
MODELS = {
    "IF_curr_exp": DRIVE,
    "IF_curr_alpha": DRIVE,
    "IF_curr_delta": DRIVE,
    "IF_cond_exp": DRIVE,
    "IF_cond_alpha": DRIVE,
    "IF_cond_exp_gsfa_grr": dict(DRIVE, q_sfa=0.0, q_rr=0.0),
    # tau_refrac = 0 lets NEST's AdEx fire several times in one step: left out (see
    # docs/differences.rst)
    "EIF_cond_exp_isfa_ista": dict(DRIVE, a=0.0, b=0.0),
    "EIF_cond_alpha_isfa_ista": dict(DRIVE, a=0.0, b=0.0),
    "GIF_cond_exp": dict(DRIVE, delta_v=1e-6, v_t_star=-55.0),
}
# cell types without tau_refrac: fixed dead time (HH 2 ms, FACETS 1 ms) or none (Izhikevich).
# HH's action potential is shorter than 1 ms: at dt = 1 ms neither simulator sees its peak.
FIXED = {"HH_cond_exp": dict(i_offset=1.0), "IF_facets_hardware1": dict(v_rest=-40.0),
         "Izhikevich": dict(i_offset=0.02)}
T_STOP = 60.0
SPIKE_PRECISIONS = ["on_grid", "off_grid"]


PRECISE_MODELS = ("IF_curr_exp", "IF_curr_delta")    # NEST's _ps models under off_grid


def refractory_periods(model, dt, spike_precision):
    if model.startswith("EIF"):
        return TAU_REFRAC[1:]
    if spike_precision == "off_grid" and model in PRECISE_MODELS:
        # NEST's precise models refuse a refractory period shorter than a step
        return [t for t in TAU_REFRAC if t >= dt]
    return TAU_REFRAC


def setup_like_nest(sim, dt, spike_precision):
    """setup() of both simulators in one mode; pyNN.jax in float64, NEST's precision."""
    extra = {"spike_precision": spike_precision,
             **({"precision": "float64"} if "jax" in sim.__name__ else {})}
    sim.setup(timestep=dt, min_delay=dt, **extra)


def saturated_spikes(sim, dt, spike_precision):
    """{model: spike trains of cells with the tau_refrac values above}."""
    setup_like_nest(sim, dt, spike_precision)
    populations = {}
    for model, params in MODELS.items():
        periods = refractory_periods(model, dt, spike_precision)
        populations[model] = sim.Population(
            len(periods), getattr(sim, model)(tau_refrac=periods, **params))
    for model, params in FIXED.items():
        populations[model] = sim.Population(1, getattr(sim, model)(**params))
    # pyNN.nest does not initialise v of IF_curr_delta (NEST's V_m = -70 mV stays)
    populations["IF_curr_delta"].initialize(v=-70.0)
    for p in populations.values():
        p.record("spikes")
    sim.run(T_STOP)
    spikes = {model: [np.asarray(st) for st in p.get_data().segments[0].spiketrains]
              for model, p in populations.items()}
    sim.end()
    return spikes


def test_refractory_steps_are_nests_rule():
    """Nearest tic (1e-3 ms), then up to whole steps; delays and times to the nearest step."""
    from pyNN_jax.engine.time_grid import refractory_steps, to_steps
    t = np.array(TAU_REFRAC)
    np.testing.assert_array_equal(refractory_steps(np, t, 1.0),
                                  [0, 1, 1, 1, 1, 1, 1, 1, 2, 3, 3])
    np.testing.assert_array_equal(refractory_steps(np, t, 0.1),
                                  [0, 1, 2, 3, 3, 4, 5, 10, 11, 21, 25])
    # below half a tic is no time at all, as in NEST
    np.testing.assert_array_equal(refractory_steps(np, np.array([0.0004, 0.0006]), 0.1), [0, 1])
    np.testing.assert_array_equal(to_steps(np, t, 1.0), [0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 3])


@needs_nest
@pytest.mark.parametrize("spike_precision", SPIKE_PRECISIONS)
@pytest.mark.parametrize("dt", [1.0, 0.1])
def test_saturated_cells_fire_as_on_nest(dt, spike_precision, nest_gsfa_grr_names):
    import pyNN.jax
    import pyNN.nest
    ours = saturated_spikes(pyNN.jax, dt, spike_precision)
    theirs = saturated_spikes(pyNN.nest, dt, spike_precision)
    for model in list(MODELS) + list(FIXED):
        periods = refractory_periods(model, dt, spike_precision) if model in MODELS else [None]
        for period, a, b in zip(periods, ours[model], theirs[model]):
            assert len(b) >= (0 if model == "HH_cond_exp" and dt == 1.0 else 5), (model, period)
            assert len(a) == len(b) and np.allclose(a, b, rtol=0, atol=1e-6), \
                (model, dt, period, a, b)


# delays to the nearest step, halves up (NEST's ld_round(d / dt)), with decimal halves that are
# just below a half in binary (0.15 / 0.1 = 1.4999999999999998) on the half meant
DELAYS = {0.1: [0.1, 0.15, 0.25, 0.26, 0.35, 0.45, 1.05, 1.25, 1.45, 2.05, 2.15],
          1.0: [1.0, 1.2, 1.49, 1.5, 1.7, 2.5, 3.5]}


def first_effect_times(sim, dt, spike_precision):
    """Time of the first sample of v moved by a spike sent at 10 ms, per delay."""
    setup_like_nest(sim, dt, spike_precision)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
    cells = sim.Population(len(DELAYS[dt]), sim.IF_curr_exp())
    sim.Projection(source, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=1.0, delay=np.array([DELAYS[dt]])))
    cells.record("v")
    sim.run(20.0)
    v = np.asarray(cells.get_data().segments[0].filter(name="v")[0])
    sim.end()
    return np.argmax(np.abs(v - v[0]) > 1e-9, axis=0) * dt


@needs_nest
@pytest.mark.parametrize("spike_precision", SPIKE_PRECISIONS)
@pytest.mark.parametrize("dt", [1.0, 0.1])
def test_delays_round_as_on_nest(dt, spike_precision):
    import pyNN.jax
    import pyNN.nest
    ours = first_effect_times(pyNN.jax, dt, spike_precision)
    assert (ours > 10.0).all()
    np.testing.assert_allclose(ours, first_effect_times(pyNN.nest, dt, spike_precision))


def current_driven_v(sim, dt, spike_precision):
    """v of IF_curr_exp cells driven by current sources: a StepCurrentSource whose times fall
    on and between grid points (not on halves: pyNN.nest rounds those with numpy's rint after
    subtracting min_delay, see docs/differences.rst); a DCSource and an ACSource with start and
    stop on the grid (NEST refuses other times for them: "start must be a multiple of the
    simulation resolution")."""
    setup_like_nest(sim, dt, spike_precision)
    cells = sim.Population(3, sim.IF_curr_exp(v_thresh=1e3))
    sim.StepCurrentSource(times=[10.0, 12.3, 20.7, 35.4, 36.07],
                          amplitudes=[0.2, 0.5, 0.0, 0.3, -0.1]).inject_into(cells[0:1])
    sim.DCSource(start=round(12.4 / dt) * dt, stop=round(27.6 / dt) * dt,
                 amplitude=0.4).inject_into(cells[1:2])
    sim.ACSource(start=round(5.3 / dt) * dt, stop=40.0, amplitude=0.3, offset=0.1,
                 frequency=50.0, phase=0.0).inject_into(cells[2:3])
    cells.record("v")
    sim.run(50.0)
    v = np.asarray(cells.get_data().segments[0].filter(name="v")[0])
    sim.end()
    return v


@needs_nest
@pytest.mark.parametrize("spike_precision", SPIKE_PRECISIONS)
@pytest.mark.parametrize("dt", [1.0, 0.1])
def test_current_source_times_round_as_on_nest(dt, spike_precision):
    """Issue 17 item 2: current-source change times round to the grid as on pyNN.nest: the
    membrane traces are NEST's (float64) at dt = 1.0 and 0.1 ms."""
    import pyNN.jax
    import pyNN.nest
    ours = current_driven_v(pyNN.jax, dt, spike_precision)
    theirs = current_driven_v(pyNN.nest, dt, spike_precision)
    assert ours.shape == theirs.shape and np.ptp(ours, axis=0).min() > 1.0
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
