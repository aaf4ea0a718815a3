"""Precise input events: appending them in delivery, and taking them in time order."""
import numpy as np
import jax.numpy as jnp

from pyNN_jax.engine import synapses
from pyNN_jax.engine.models import precise
from pyNN_jax.engine.models.base import StepContext


def empty_events(n_slots, n_cells, per_cell):
    return {"count": jnp.zeros(n_slots * n_cells, jnp.int32),
            "offset": jnp.zeros(n_slots * n_cells * per_cell),
            "weight": jnp.zeros(n_slots * n_cells * per_cell),
            "fold": jnp.zeros(n_slots * n_cells * len(precise.EVENT_FOLDS))}


def fold_weight_and_offset(cell, row_offset, weight):
    """A fold that keeps, per key, the sum of the weights and of weight x offset."""
    zero = jnp.zeros_like(weight)
    return jnp.stack([weight, weight * row_offset[:, None], zero, zero], axis=-1)


def step_events(model, p, count, offset, weight):
    """A step's events (count, folds, stored) as delivery leaves them: the folds summed over
    the stored events."""
    kept = jnp.arange(offset.shape[1])[None, :] < count[:, None]
    folds = weight[..., None] * model.fold_coefficients(p, offset, weight > 0)
    folds = jnp.where(kept[:, :, None], folds, 0).sum(axis=1)
    return count, folds, lambda cells: (offset[cells], weight[cells])


def test_append_events_keeps_same_target_connections_up_to_the_slots():
    """Five connections of one pass to (slot 1, cell 0) with room for three: the count says
    five, three are kept; padding (weight 0) and cells outside the event cells are left out."""
    n_cells, per_cell = 4, 3                 # event cells 1 ... 3 of 4 cells, 2 slots
    events = empty_events(2, 3, per_cell)
    # rows of two connections: targets as port * n_cells + cell
    target = jnp.array([[1, 1], [1, 1], [5, 3], [0, 2]])
    slots = jnp.array([[1, 1], [1, 1], [1, 0], [1, 1]])
    weight = jnp.array([[0.1, 0.2], [0.3, -0.4], [0.5, 0.6], [0.7, 0.0]])
    spike_offset = jnp.array([0.01, 0.02, 0.03, 0.04])
    out = synapses.append_events(events, slots, target, weight, spike_offset,
                                 (1, 4, n_cells, fold_weight_and_offset))
    count = np.asarray(out["count"]).reshape(2, 3)
    assert count.tolist() == [[0, 0, 1], [5, 0, 0]]      # cell 3 in slot 0; cell 1 in slot 1
    kept = np.asarray(out["weight"]).reshape(2, 3, per_cell)
    kept_offsets = np.asarray(out["offset"]).reshape(2, 3, per_cell)
    kept_weights = {round(float(w), 6) for w in kept[1, 0]}
    assert len(kept_weights) == per_cell and kept_weights < {0.1, 0.2, 0.3, -0.4, 0.5}
    for w, o in zip(kept[1, 0], kept_offsets[1, 0]):     # each weight with its row's offset
        row = {0.1: 0, 0.2: 0, 0.3: 1, -0.4: 1, 0.5: 2}[round(float(w), 6)]
        assert o == np.float32(spike_offset[row])
    assert kept[0, 2, 0] == np.float32(0.6) and kept_offsets[0, 2, 0] == np.float32(0.03)
    # the folds sum over the stored events only
    folds = np.asarray(out["fold"]).reshape(2, 3, len(precise.EVENT_FOLDS))
    np.testing.assert_allclose(folds[1, 0, :2], [kept[1, 0].sum(),
                                                 (kept[1, 0] * kept_offsets[1, 0]).sum()],
                               rtol=1e-6)
    np.testing.assert_allclose(folds[0, 2, :2], [0.6, 0.6 * 0.03], rtol=1e-6)


def test_delta_cell_takes_its_events_in_time_order():
    """Events stored out of order: +6 mV at 0.1 ms, then +5 mV at 0.3 ms reach threshold
    (10 mV above rest) at 0.3 ms, offset 0.7 ms of a 1 ms step; a second cell of the group
    with one event of the two does not fire (each cell only its own events)."""
    model = precise.IFCurrDeltaPrecise()
    dt = 1.0
    p = {"tau_m": 10.0, "cm": 1.0, "v_rest": 0.0, "v_thresh": 10.0, "v_reset": 0.0,
         "tau_refrac": 2.0, "i_offset": 0.0}
    p = {name: jnp.asarray(value) for name, value in p.items()}
    d = {name: jnp.asarray(value) for name, value in model.derive(
        {name: np.asarray(value) for name, value in p.items()}, dt, np).items()}
    s = {"v": jnp.zeros(2), "refractory": jnp.zeros(2, jnp.int32), "spike_offset": jnp.zeros(2)}
    count = jnp.array([2, 1])
    offset = jnp.array([[0.7, 0.9], [0.9, 0.0]])         # (cells, slots): ms before the end
    weight = jnp.array([[5.0, 6.0], [6.0, 0.0]])
    syn_in = jnp.array([[11.0, 6.0], [0.0, 0.0]])
    new, spikes = model.step(p, d, s, syn_in, jnp.zeros(2),
                             StepContext(0, dt, None, step_events(model, p, count, offset,
                                                                  weight)))
    assert np.asarray(spikes).tolist() == [1, 0]
    assert float(new["spike_offset"][0]) == np.float32(0.7)
    assert float(new["v"][0]) == 0.0 and int(new["refractory"][0]) == 2
    np.testing.assert_allclose(float(new["v"][1]), 6.0 * np.exp(-0.9 / 10.0), rtol=1e-6)


def exp_cells(n, dt):
    """IF_curr_exp_ps parameters, derived constants and a state of ``n`` cells below
    threshold (v_rest above it, as in the Vogels-Abbott network), in float64."""
    model = precise.IFCurrExpPrecise()
    p = {"tau_m": 20.0, "cm": 0.2, "v_rest": -49.0, "v_thresh": -50.0, "v_reset": -60.0,
         "tau_refrac": 5.0, "i_offset": 0.0, "tau_syn_E": 5.0, "tau_syn_I": 10.0}
    d = model.derive({name: np.asarray(value) for name, value in p.items()}, dt, np)
    p = {name: jnp.asarray(value) for name, value in p.items()}
    d = {name: jnp.asarray(value) for name, value in d.items()}
    return model, p, d


def random_events(rng, n, dt, max_count, weights=(0.05, -0.2)):
    """count (n,), offset and weight (n, EVENT_SLOTS) of random events."""
    count = rng.integers(0, max_count + 1, n)
    offset = rng.uniform(0, dt, (n, precise.EVENT_SLOTS))
    weight = np.where(rng.random((n, precise.EVENT_SLOTS)) < 0.7, weights[0], weights[1])
    return jnp.asarray(count), jnp.asarray(offset), jnp.asarray(weight)


def sequential_step(p, v, ie, ii, refractory_steps, spike_offset, times, weights, dt):
    """One cell's step event by event in time order, in numpy (float64), as NEST's
    iaf_psc_exp_ps: (v, isyn_exc, isyn_inh at the end, spike time in the step or None);
    the threshold tested at each event and at the end, the crossing found by bisection."""
    tau_m, cm, tau_e, tau_i = p["tau_m"], p["cm"], p["tau_syn_E"], p["tau_syn_I"]
    u_th, u_reset = p["v_thresh"] - p["v_rest"], p["v_reset"] - p["v_rest"]

    def p21(tau_s, h):
        return tau_s * tau_m / (cm * (tau_m - tau_s)) * (np.exp(-h / tau_m) - np.exp(-h / tau_s))

    def propagate(u, ie, ii, h):
        return (u * np.exp(-h / tau_m) + p21(tau_e, h) * ie + p21(tau_i, h) * ii,
                ie * np.exp(-h / tau_e), ii * np.exp(-h / tau_i))

    u = v - p["v_rest"]
    refractory = refractory_steps > 0
    t_end = dt - spike_offset if refractory_steps == 1 else np.inf
    t, spike = 0.0, None
    for t_b, w in sorted(zip(times, weights)) + [(dt, 0.0)]:
        if refractory:
            t_free = min(t_end, t_b)
            ie, ii = ie * np.exp(-(t_free - t) / tau_e), ii * np.exp(-(t_free - t) / tau_i)
            t, refractory = t_free, t_end > t_b
        if not refractory and t_b > t:
            u_b, ie_b, ii_b = propagate(u, ie, ii, t_b - t)
            if u_b >= u_th:
                low, high = 0.0, t_b - t
                for _ in range(200):
                    middle = 0.5 * (low + high)
                    low, high = ((middle, high) if propagate(u, ie, ii, middle)[0] < u_th
                                 else (low, middle))
                spike, u_b, refractory, t_end = t + high, u_reset, True, np.inf
            u, ie, ii = u_b, ie_b, ii_b
        elif refractory:
            ie, ii = ie * np.exp(-(t_b - t) / tau_e), ii * np.exp(-(t_b - t) / tau_i)
        t = t_b
        ie, ii = (ie + w, ii) if w > 0 else (ie, ii + w)
    return p["v_rest"] + u, ie, ii, spike


def test_step_equals_event_by_event():
    """Cells from far below threshold to just below it, some refractory the whole step or up
    to a time in it, with up to eight events: the end of the step (folded for the cells
    whose bound stays below threshold, event by event for the others, more of them than a
    chunk) and the spike times equal a sequential integration's (float64)."""
    import jax
    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(3)
    n, dt = 96, 0.1
    model, p, d = exp_cells(n, dt)
    s = {"v": jnp.asarray(np.concatenate([rng.uniform(-60.0, -55.0, n // 2),
                                          rng.uniform(-50.2, -50.0001, n // 2)])),
         "isyn_exc": jnp.asarray(rng.uniform(0.0, 0.3, n)),
         "isyn_inh": jnp.asarray(rng.uniform(-0.5, 0.0, n)),
         "refractory": jnp.asarray(rng.choice([0, 0, 0, 1, 3], n), jnp.int32),
         "spike_offset": jnp.asarray(rng.uniform(0, dt, n))}
    count, offset, weight = random_events(rng, n, dt, precise.EVENT_SLOTS, (0.3, -0.2))
    stored = np.arange(precise.EVENT_SLOTS)[None, :] < np.asarray(count)[:, None]
    grid_input = 0.01       # input without events on each port, at the end of the step
    syn_in = jnp.asarray(np.stack([np.where(stored & (weight > 0), weight, 0).sum(1),
                                   np.where(stored & (weight < 0), weight, 0).sum(1)])
                         + grid_input)
    ctx = StepContext(0, dt, None, step_events(model, p, count, offset, weight))
    new, spikes = model.step(p, d, s, syn_in, jnp.zeros(n), ctx)
    assert chunk_cells_exceeded(model, p, d, s, ctx, n)
    host = {name: float(value) for name, value in p.items()}
    spiking = 0
    for i in range(n):
        v, ie, ii, spike = sequential_step(
            host, float(s["v"][i]), float(s["isyn_exc"][i]), float(s["isyn_inh"][i]),
            int(s["refractory"][i]), float(s["spike_offset"][i]),
            dt - np.asarray(offset[i])[stored[i]], np.asarray(weight[i])[stored[i]], dt)
        assert bool(spikes[i]) == (spike is not None)
        if spike is not None:
            spiking += 1
            assert abs(float(new["spike_offset"][i]) - (dt - spike)) < 1e-12
        assert abs(float(new["v"][i]) - v) < 1e-10
        assert abs(float(new["isyn_exc"][i]) - (ie + grid_input)) < 1e-13
        assert abs(float(new["isyn_inh"][i]) - (ii + grid_input)) < 1e-13
    assert 5 < spiking < n // 2


def chunk_cells_exceeded(model, p, d, s, ctx, n):
    """True if more cells take the exact path than one chunk holds (the loop over chunks
    is exercised)."""
    taken = []
    original = precise.on_cells

    def counting(mask, *args):
        taken.append(int(mask.sum()))
        return original(mask, *args)
    precise.on_cells = counting
    try:
        model.step(p, d, s, jnp.zeros((2, n)), jnp.zeros(n), ctx)
    finally:
        precise.on_cells = original
    return taken[0] > precise.chunk_size(n, precise.EXACT_SHARE)


def test_fold_per_row_equals_fold_per_connection():
    """Scalar parameters: the folds computed per row and sign equal those computed per
    connection from per-cell parameters, for both models, and are 0 outside the groups."""
    from types import SimpleNamespace
    rng = np.random.default_rng(5)
    models = (precise.IFCurrExpPrecise(), precise.IFCurrDeltaPrecise())
    groups = [SimpleNamespace(model=models[0], offset=1, size=3),
              SimpleNamespace(model=models[1], offset=4, size=2)]
    scalar = [{"tau_m": 20.0, "cm": 0.2, "tau_syn_E": 5.0, "tau_syn_I": 10.0},
              {"tau_m": 15.0, "cm": 0.2}]
    per_cell = [{name: jnp.full(g.size, value) for name, value in p.items()}
                for g, p in zip(groups, scalar)]
    scalar = [{name: jnp.asarray(value) for name, value in p.items()} for p in scalar]
    cell = jnp.asarray(rng.integers(0, 7, (3, 5)))
    row_offset = jnp.asarray(rng.uniform(0, 0.1, 3))
    weight = jnp.asarray(rng.choice([0.5, -0.25], (3, 5)))
    per_row = precise.event_fold(groups, scalar)(cell, row_offset, weight)
    per_connection = precise.event_fold(groups, per_cell)(cell, row_offset, weight)
    np.testing.assert_allclose(per_row, per_connection, rtol=1e-6)
    outside = np.asarray((cell < 1) | (cell >= 6))
    assert outside.any() and not np.asarray(per_row)[outside].any()
    expected = 0.5 * np.expm1(-np.asarray(row_offset)[:, None] / 5.0)
    exc_in_first = np.asarray((cell >= 1) & (cell < 4) & (weight > 0))
    np.testing.assert_allclose(np.asarray(per_row)[..., 0][exc_in_first],
                               np.broadcast_to(expected, cell.shape)[exc_in_first], rtol=1e-6)


def test_propagators_without_expm1_equal_expm1_forms():
    """P21 and the synaptic decay from exponentials only equal the expm1 forms (float64)
    for time constants far apart, close (the series) and equal, at lags from 0 to 1 ms."""
    import jax
    jax.config.update("jax_enable_x64", True)
    from pyNN_jax.engine.models import propagators as prop
    h = jnp.asarray(np.concatenate([[0.0, 1e-9, 1e-5], np.linspace(1e-3, 1.0, 50)]))
    for tau_syn in (5.0, 20.0 - 1e-4, 20.0, 0.5):
        expected = prop.exp_current_propagators(jnp, tau_syn, 20.0, 0.2, h,
                                                jnp.exp(-h / 20.0))
        got = prop.exp_current_propagators_without_expm1(jnp, tau_syn, 20.0, 0.2, h,
                                                         jnp.exp(-h / 20.0))
        for e, g in zip(expected, got):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15)
