"""Precise spike times (``spike_precision="off_grid"``): NEST's ``iaf_psc_exp_ps``,
``iaf_psc_delta_ps``, ``poisson_generator_ps`` and precise ``spike_generator`` times.

A spike carries, besides its step, an *offset*: as in NEST, the time (ms) before the end of
the step at which it happened, in [0, dt). The models here keep the offset of their last
spike in the state variable ``spike_offset``; the network delivers it with the spike.

Input events: delivery stores, per cell and step, up to ``EVENT_SLOTS`` events ``(count,
offset, weight)`` and folds the same events into ``EVENT_FOLDS`` sums (the weight times
:meth:`fold_coefficients`: the exact effect of each event on the cell's state at the end of
its step, less its arrival at the end; and the sum of the excitatory weights); a step gets them
through ``ctx.events`` = (count, folds (n, folds), ``stored(cells)`` -> offset and weight
(len(cells), slots)) and, as every
model, the summed weights of the step per port (``syn_in``). Weights beyond the stored events
(input from tables that deliver on the grid, or more events than slots where the slots could
not grow: a step records the most events a cell received, and the backend runs a chunk
again with more slots when that was more) are the difference of the two and are applied at
the end of the step, as on the grid.

Within a step the cells integrate exactly from event to event in time order, as NEST does
(Morrison et al. 2007, "Exact subthreshold integration with continuous spike times in
discrete-time neural network simulations"; Hanuschkin et al. 2010, "A general and efficient
method for incorporating precise spike times in globally time-driven simulations"):

- ``IF_curr_exp`` (iaf_psc_exp_ps, Hanuschkin et al. 2010): the membrane and synaptic
  currents are propagated over each interval between events; the threshold is tested at the
  end of each interval, before the event's weight is added (weight >= 0: excitatory current,
  < 0: inhibitory); the crossing inside the interval is located by the Illinois variant of
  regula falsi on the exact membrane trajectory (NEST's ``regula_falsi``: |V - V_th| below
  1e-14 mV in float64).
- ``IF_curr_delta`` (iaf_psc_delta_ps, Morrison et al. 2007): a cell fires at the time of an
  input that lifts v to threshold, or where the DC drive crosses it, at the analytic time
  t = tau_m ln((V_inf - V)/(V_inf - V_th)) before the test point; events at the same time are
  summed first; input while refractory is discarded.

The refractory period lasts ``tau_refrac`` rounded to whole steps (NEST's ``t_ref``, at least
one step) from the precise spike time, so it ends off the grid, at the spike's offset; at
most one spike per cell and step.

The dynamics are linear below threshold, so a cell that cannot reach threshold in a step and
whose refractory period does not end in it has, at the step's end, the state of the step's
propagators plus its folds: the same state as event by event, without the events. Whether
it can reach threshold is decided by an upper bound (comparison principle): with the
inhibitory input left out and the excitatory current held at its largest possible value
(its positive part at the start plus every excitatory weight of the step), v relaxes
monotonically towards the level of that current, so it stays below max(v at the start, v of
that bound at the end). The cells whose bound reaches threshold (a margin of rounding
errors below it), or whose refractory period ends in the step, take the exact path: event by
event, and the crossing time; they are gathered :func:`chunk_size` at a time, all of them
(a loop over chunks).
"""
import numpy as np
import jax
import jax.numpy as jnp
from jax import lax

from .. import prng
from ..compact import first_true
from ..time_grid import refractory_steps
from . import propagators as prop
from .base import NeuronModel
from .lif_current import LIF_PARAMETERS, IFCurrDelta, IFCurrExp
from .spike_sources import SpikeSourceArray, SpikeSourcePoisson, is_active, poisson_count

EVENT_SLOTS = 8          # input events per cell and step kept with their offsets, at first
# sums over the stored events of a cell and step (:meth:`IFCurrExpPrecise.fold_coefficients`)
EVENT_FOLDS = ("isyn_exc", "isyn_inh", "v", "excitatory_weight")
MAX_ROOT_ITERATIONS = 100


def stored_events(count, offset, weight, dt):
    """The stored events of a step of cells with ``count`` events (offset, weight: (n,
    slots)): (number stored (n,), time after the start of the step (n, slots), weight (n,
    slots)); missing ones have time inf, weight 0."""
    n_events = jnp.minimum(count, offset.shape[1])
    valid = jnp.arange(offset.shape[1])[None, :] < n_events[:, None]
    return n_events, jnp.where(valid, dt - offset, jnp.inf), jnp.where(valid, weight, 0)


def grid_remainder(exc, inh, weight):
    """Input of the step not among the stored events (``weight``: (n, slots), 0 where
    missing), from the step's summed input per port (excitatory, inhibitory)."""
    return (exc - jnp.sum(jnp.where(weight > 0, weight, 0), axis=1),
            inh - jnp.sum(jnp.where(weight < 0, weight, 0), axis=1))


def refractory_at_start(s, dt):
    """(refractory at the start of the step, time in the step at which it ends: inf when
    later). ``s["refractory"]`` counts the steps until the one in which it ends."""
    ends_here = s["refractory"] == 1
    return s["refractory"] > 0, jnp.where(ends_here, dt - s["spike_offset"], jnp.inf)


def after_step(d, s, spiked, offset):
    """Refractory counter and last spike offset after a step."""
    return {"refractory": jnp.where(spiked, d["ref_steps"], jnp.maximum(s["refractory"] - 1, 0)),
            "spike_offset": jnp.where(spiked, offset, s["spike_offset"])}


def event_loop(n_events, lag, weight, carry, on_event):
    """``carry = on_event(carry, time, weight, same_as_next)`` for the events of each cell in
    time order (the earliest left, one per iteration: a sort along the slots costs more on a
    CPU); cells with fewer events get no-op calls (time = their current time)."""
    slots = jnp.arange(lag.shape[1])[None, :]

    def body(_, state):
        c, left = state
        first = jnp.argmin(left, axis=1)[:, None]
        t = jnp.min(left, axis=1)
        w = jnp.sum(jnp.where(slots == first, weight, 0), axis=1)
        left = jnp.where(slots == first, jnp.inf, left)
        here = t < jnp.inf
        c = on_event(c, jnp.where(here, t, c["t"]), jnp.where(here, w, 0),
                     here & (jnp.min(left, axis=1) == t))
        return c, left

    return lax.fori_loop(0, jnp.max(n_events, initial=0), body, (carry, lag))[0]


def chunk_size(n_cells, share):
    """Cells gathered at a time for work that about ``share`` of the cells need in a step:
    a power of two, 16 ... 1024, at most n_cells."""
    return int(min(n_cells, max(16, min(1024, 1 << int(n_cells * share).bit_length()))))


EXACT_SHARE = 1 / 1024     # cells that take the exact path in a step, about


def on_cells(mask, fn, inputs, outputs, share):
    """``outputs[name][i] = fn(inputs at cells i)[name]``, for the names fn returns, for the
    cells i where ``mask`` (n,)
    holds, :func:`chunk_size` (n, share) cells at a time. Arrays in ``inputs`` (a pytree) have
    the cells along their first axis; scalars are passed as they are."""
    n = mask.shape[0]
    size = chunk_size(n, share)

    def body(carry):
        pending, outputs = carry
        cells = first_true(pending, size)
        valid = cells < n
        taken = jnp.where(valid, cells, 0)
        gathered = jax.tree_util.tree_map(lambda x: x[taken] if jnp.ndim(x) else x, inputs)
        result = fn(gathered)
        drop = jnp.where(valid, cells, n)
        outputs = {**outputs, **{name: outputs[name].at[drop].set(value, mode="drop")
                                 for name, value in result.items()}}
        return pending.at[drop].set(False, mode="drop"), outputs

    return lax.while_loop(lambda carry: jnp.any(carry[0]), body, (mask, outputs))[1]


def event_fold(groups, group_params):
    """``fold(cell, row_offset, weight)``: the ``EVENT_FOLDS`` values (rows, width, folds) of
    input events of ``weight`` (rows, width) to the cells ``cell`` (rows, width; indices in
    the network) of the event-receiving ``groups`` (engine groups; ``group_params``: their
    parameters, scalars or per cell), ``row_offset`` (rows,) ms before the end of the step;
    0 for other cells. The values are ``weight`` times the model's :meth:`fold_coefficients`;
    for a group whose parameters are all scalars these depend on the row and the sign only,
    and are computed per row (an exponential per connection made the folds cost more than
    the rest of a delivery)."""
    receiving = [(g, p) for g, p in zip(groups, group_params)
                 if getattr(g.model, "receives_events", False)]

    def fold(cell, row_offset, weight):
        excitatory = weight > 0
        coefficients = jnp.zeros(cell.shape + (len(EVENT_FOLDS),), weight.dtype)
        for g, p in receiving:
            local = cell - g.offset
            if all(jnp.ndim(value) == 0 for value in p.values()):
                per_sign = g.model.fold_coefficients(
                    p, row_offset[:, None], jnp.array([True, False]))     # (rows, sign, folds)
                of_group = jnp.where(excitatory[..., None], per_sign[:, None, 0],
                                     per_sign[:, None, 1])
            else:
                at = jnp.clip(local, 0, g.size - 1)
                p_at = {name: value[at] if jnp.ndim(value) else value
                        for name, value in p.items()}
                of_group = g.model.fold_coefficients(
                    p_at, jnp.broadcast_to(row_offset[:, None], cell.shape), excitatory)
            inside = (local >= 0) & (local < g.size)
            coefficients = jnp.where(inside[..., None], of_group, coefficients)
        return weight[..., None] * coefficients

    return fold


def cells_first(p, ndim):
    """Parameters ``p`` with their per-cell arrays (cells,) shaped (cells, 1, ...) to combine
    with arrays of ``ndim`` axes, the cells first; scalars as they are."""
    return {name: jnp.reshape(value, jnp.shape(value) + (1,) * (ndim - 1))
            if jnp.ndim(value) else value for name, value in p.items()}


def below_threshold(u_peak, u_th, *magnitudes):
    """True where the bound ``u_peak`` stays below ``u_th`` by more than the rounding errors
    of values of these magnitudes (the exact path computes the same values another way)."""
    margin = 64 * jnp.finfo(u_peak.dtype).eps * (jnp.abs(u_th) + sum(jnp.abs(m)
                                                                      for m in magnitudes))
    return u_peak + margin < u_th


def precise_refractory_steps(xp, tau_refrac, dt):
    """NEST's t_ref in steps for the _ps models: at least one step."""
    return xp.maximum(refractory_steps(xp, tau_refrac, dt), 1)


class IFCurrExpPrecise(NeuronModel):
    """IF_curr_exp with precise spike times (NEST ``iaf_psc_exp_ps``)."""
    name = "IF_curr_exp_ps"
    parameter_names = LIF_PARAMETERS + ("tau_syn_E", "tau_syn_I")
    state_names = ("v", "isyn_exc", "isyn_inh", "refractory", "spike_offset")
    port_names = ("excitatory", "inhibitory")
    scalar_parameters = True
    emits_offsets = True
    receives_events = True

    def derive(self, p, dt, xp):
        return {**IFCurrExp.derive(self, p, dt, xp),
                "ref_steps": precise_refractory_steps(xp, p["tau_refrac"], dt)}

    @staticmethod
    def fold_coefficients(p, offset, excitatory):
        """``EVENT_FOLDS`` of an event of weight 1 (nA; -1 where not ``excitatory``) ``offset``
        ms before the end of the step: its current at the end less its weight (which the
        ring adds there), its membrane response at the end (mV), its excitatory weight."""
        tau_syn = jnp.where(excitatory, p["tau_syn_E"], p["tau_syn_I"])
        p21, _ = prop.exp_current_propagators(jnp, tau_syn, p["tau_m"], p["cm"], offset,
                                              jnp.exp(-offset / p["tau_m"]))
        current_change = jnp.expm1(-offset / tau_syn)
        zero = jnp.zeros_like(current_change)
        return jnp.stack([jnp.where(excitatory, current_change, zero),
                          jnp.where(excitatory, zero, current_change), p21,
                          jnp.where(excitatory, 1.0, zero)], axis=-1)

    @staticmethod
    def propagate(p, u, isyn_exc, isyn_inh, current, h):
        """(u, isyn_exc, isyn_inh) after h (ms) from u = v - v_rest (mV) and these currents
        (nA) at its start: three expm1 per cell."""
        leak = jnp.expm1(-h / p["tau_m"])
        membrane_decay = 1.0 + leak
        p21e, decay_e = prop.exp_current_propagators(jnp, p["tau_syn_E"], p["tau_m"], p["cm"],
                                                     h, membrane_decay)
        p21i, decay_i = prop.exp_current_propagators(jnp, p["tau_syn_I"], p["tau_m"], p["cm"],
                                                     h, membrane_decay)
        u = (-p["tau_m"] / p["cm"] * leak * current + p21e * isyn_exc + p21i * isyn_inh
             + u * membrane_decay)
        return u, isyn_exc * decay_e, isyn_inh * decay_i

    def step(self, p, d, s, syn_in, i_ext, ctx):
        dt = ctx.dt
        u_th = p["v_thresh"] - p["v_rest"]
        current = p["i_offset"] + i_ext
        count, folds, stored = ctx.events
        refractory, t_end = refractory_at_start(s, dt)
        u = s["v"] - p["v_rest"]
        ie, ii = s["isyn_exc"], s["isyn_inh"]
        # the end of the step by superposition, exact for the cells that do not reach
        # threshold and whose refractory period does not end in it
        u_step = (d["P20"] * current + d["P21e"] * ie + d["P21i"] * ii + d["P22"] * u
                  + folds[:, 2])
        out = {"u": jnp.where(refractory, u, u_step),
               "ie": ie * d["P11e"] + syn_in[0] + folds[:, 0],
               "ii": ii * d["P11i"] + syn_in[1] + folds[:, 1],
               "spiked": jnp.zeros(u.shape, bool), "offset": jnp.zeros_like(u)}
        # v's bound: the largest current it can have in the step, held
        u_inf = p["tau_m"] / p["cm"] * (current + jnp.maximum(ie, 0) + jnp.maximum(ii, 0)
                                         + folds[:, 3])
        u_peak = jnp.maximum(u, u_inf + (u - u_inf) * d["P22"])
        exact = jnp.where(refractory, t_end < jnp.inf,
                          ~below_threshold(u_peak, u_th, u, u_inf))
        out = on_cells(exact, lambda c: self.exact_step(dt, stored, **c), {
            "p": p, "u": u, "ie": ie, "ii": ii, "current": current, "refractory": refractory,
            "t_end": t_end, "count": count, "cell": jnp.arange(u.shape[0])}, out,
            EXACT_SHARE)
        return {"v": p["v_rest"] + out["u"], "isyn_exc": out["ie"], "isyn_inh": out["ii"],
                **after_step(d, s, out["spiked"], out["offset"])}, \
            out["spiked"].astype(jnp.int32)

    def exact_step(self, dt, stored, p, u, ie, ii, current, refractory, t_end, count, cell):
        """v at the end of the step, whether the cell fired and the offset of its spike, as
        from event to event in time order (NEST): the threshold is tested at each event and
        at the end of the step, from the end of the refractory period on; the crossing is
        located in the interval before the first test above threshold. Below threshold the
        dynamics are linear, so v and the currents at every test time are sums of the
        responses to the state at the end of the refractory period (or the start) and to
        each event after it, all at once rather than in a loop over the events. (The
        currents at the end of the step do not depend on spikes: the folds give them.)"""
        _, t_event, weight = stored_events(count, *stored(cell), dt)
        u_th, u_reset = p["v_thresh"] - p["v_rest"], p["v_reset"] - p["v_rest"]
        current = jnp.broadcast_to(current, u.shape)
        instant = ~refractory & (u >= u_th)     # a cell set above threshold fires at once
        excitatory = weight > 0
        p_2, p_3 = cells_first(p, 2), cells_first(p, 3)
        tau_event = jnp.where(excitatory, p_2["tau_syn_E"], p_2["tau_syn_I"])
        # the free dynamics start at the end of the refractory period (events before it
        # only add to the currents), or at the start of the step
        t_free = jnp.where(refractory, t_end, 0.0)
        before = t_event < t_free[:, None]
        lag = jnp.where(before, t_free[:, None] - t_event, 0.0)
        ie_free = ie * jnp.exp(-t_free / p["tau_syn_E"]) + jnp.sum(
            jnp.where(before & excitatory, weight * jnp.exp(-lag / tau_event), 0.0), axis=1)
        ii_free = ii * jnp.exp(-t_free / p["tau_syn_I"]) + jnp.sum(
            jnp.where(before & ~excitatory, weight * jnp.exp(-lag / tau_event), 0.0), axis=1)

        def state_at(t):
            """(u, isyn_exc, isyn_inh) at times t (cells, times) >= t_free, the events at t
            included, as if no spike."""
            u_t, ie_t, ii_t = self.propagate(p_2, u[:, None], ie_free[:, None],
                                             ii_free[:, None], current[:, None],
                                             t - t_free[:, None])
            since = t[:, :, None] - t_event[:, None, :]
            arrived = ~before[:, None, :] & (since >= 0)
            since = jnp.where(arrived, since, 0.0)
            p21, decay = prop.exp_current_propagators_without_expm1(
                jnp, tau_event[:, None, :], p_3["tau_m"], p_3["cm"], since,
                jnp.exp(-since / p_3["tau_m"]))
            response = jnp.where(arrived, weight[:, None, :], 0.0)
            return (u_t + jnp.sum(response * p21, axis=2),
                    ie_t + jnp.sum(jnp.where(excitatory[:, None, :], response * decay, 0.0),
                                   axis=2),
                    ii_t + jnp.sum(jnp.where(excitatory[:, None, :], 0.0, response * decay),
                                   axis=2))

        # test times: the events, the end of the step; and the start of the free dynamics,
        # where an interval may start
        t_test = jnp.concatenate([t_event, jnp.full_like(u, dt)[:, None], t_free[:, None]],
                                 axis=1)
        tested = t_test > t_free[:, None]
        t_test = jnp.where(tested, t_test, t_free[:, None])
        u_test, ie_test, ii_test = state_at(t_test)
        above = u_test >= p_2["v_thresh"] - p_2["v_rest"]
        t_cross = jnp.min(jnp.where(tested & above & ~instant[:, None], t_test,
                                    jnp.inf), axis=1)
        crossed = t_cross < jnp.inf
        # the interval in which v crossed: from the last test time before
        start = jnp.argmax(jnp.where(t_test < t_cross[:, None], t_test, -jnp.inf), axis=1)[:, None]
        t0, u0, ie0, ii0 = (jnp.take_along_axis(x, start, axis=1)[:, 0]
                            for x in (t_test, u_test, ie_test, ii_test))
        crossing = self.crossing_time(p, current, u_th, t0,
                                      jnp.where(crossed, t_cross - t0, 0.0), u0, ie0, ii0)
        return {"u": jnp.where(crossed | instant, u_reset, u_test[:, -2]),
                "spiked": crossed | instant,
                "offset": jnp.where(instant, dt * (1 - jnp.finfo(u.dtype).eps),
                                    dt - (t0 + crossing))}

    def crossing_time(self, p, current, u_th, t0, length, u0, ie0, ii0):
        """Time (ms) after t0 at which v reaches threshold in the interval of ``length`` where
        it crossed, from u0, ie0, ii0 at its start: Newton's method on the exact membrane
        trajectory from the regula falsi point, kept inside the bracket (bisection where it
        would leave it), to NEST's criterion |v - v_th| < 1e-14 mV in float64, or an
        interval narrower than a few units of the last place of the float type. (NEST's
        Illinois regula falsi took ~3 iterations per step more in the Vogels-Abbott
        network; the root is the same within the criterion.)"""
        dtype = u0.dtype
        tolerance = 1e-14 if dtype == jnp.float64 else 1e-5
        narrow = 8 * jnp.finfo(dtype).eps * length

        def distance_and_slope(h):
            u, ie, ii = self.propagate(p, u0, ie0, ii0, current, h)
            return u - u_th, -u / p["tau_m"] + (current + ie + ii) / p["cm"]

        f_b = distance_and_slope(length)[0]
        f_a = u0 - u_th
        first = jnp.where(length > 0, -f_a * length / jnp.where(f_b != f_a, f_b - f_a, 1.0), 0.0)
        # the state is one array (a, b, x, done) x cells: an iteration is then a few
        # operations for XLA, not one per variable
        state = jnp.stack([jnp.zeros_like(length), length, first,
                           (length <= 0).astype(dtype)])

        def unfinished(carry):
            state, i = carry
            return jnp.any(state[3] == 0) & (i < MAX_ROOT_ITERATIONS)

        def iteration(carry):
            (a, b, x, done), i = carry
            f, slope = distance_and_slope(x)
            done_now = (done > 0) | (jnp.abs(f) < tolerance) | (b - a <= narrow)
            a, b = jnp.where(f < 0, x, a), jnp.where(f < 0, b, x)
            newton = x - f / jnp.where(slope > 0, slope, 1.0)
            step = jnp.where((slope > 0) & (newton > a) & (newton < b), newton, 0.5 * (a + b))
            return jnp.stack([a, b, jnp.where(done_now, x, step),
                              done_now.astype(dtype)]), i + 1

        return lax.while_loop(unfinished, iteration, (state, jnp.int32(0)))[0][2]


class IFCurrDeltaPrecise(NeuronModel):
    """IF_curr_delta with precise spike times (NEST ``iaf_psc_delta_ps``)."""
    name = "IF_curr_delta_ps"
    parameter_names = LIF_PARAMETERS
    state_names = ("v", "refractory", "spike_offset")
    port_names = ("excitatory", "inhibitory")
    scalar_parameters = True
    emits_offsets = True
    receives_events = True

    def derive(self, p, dt, xp):
        return {**IFCurrDelta.derive(self, p, dt, xp), "expm1": xp.expm1(-dt / p["tau_m"]),
                "ref_steps": precise_refractory_steps(xp, p["tau_refrac"], dt)}

    @staticmethod
    def since_crossing(p, u, u_inf, u_th, crossed):
        """Time (ms) since v, relaxing to u_inf, crossed u_th where ``crossed``, else 0."""
        return -p["tau_m"] * jnp.log(jnp.where(crossed, (u_inf - u) / (u_inf - u_th), 1.0))

    @staticmethod
    def fold_coefficients(p, offset, excitatory):
        """``EVENT_FOLDS`` of an event of weight 1 (mV; -1 where not ``excitatory``)
        ``offset`` ms before the end of the step: no current; its part of v at the end less
        its weight (which the ring adds there); its excitatory weight."""
        change = jnp.expm1(-offset / p["tau_m"]) + 0 * excitatory
        zero = jnp.zeros_like(change)
        return jnp.stack([zero, zero, change, jnp.where(excitatory, 1.0, zero)], axis=-1)

    def step(self, p, d, s, syn_in, i_ext, ctx):
        dt = ctx.dt
        u_th, u_reset = p["v_thresh"] - p["v_rest"], p["v_reset"] - p["v_rest"]
        u_inf = p["tau_m"] / p["cm"] * (p["i_offset"] + i_ext)    # v - v_rest it relaxes to
        count, folds, stored = ctx.events
        refractory, t_end = refractory_at_start(s, dt)
        u = s["v"] - p["v_rest"]
        u_drive = -u_inf * d["expm1"] + u * d["expm1"] + u
        # the end of the step by superposition, exact for the cells that do not reach
        # threshold and whose refractory period does not end in it
        out = {"u": jnp.where(refractory, u, u_drive + folds[:, 2]),
               "spiked": jnp.zeros(u.shape, bool), "offset": jnp.zeros_like(u),
               "remainder": syn_in[0] + syn_in[1]}
        # v's bound: the drive's monotone relaxation plus every excitatory weight
        u_peak = jnp.maximum(u, u_drive) + folds[:, 3]
        exact = jnp.where(refractory, t_end < jnp.inf,
                          ~below_threshold(u_peak, u_th, u, u_inf, folds[:, 3]))
        out = on_cells(exact, lambda c: self.exact_step(dt, stored, **c), {
            "p": p, "u": u, "u_inf": u_inf + 0 * u, "refractory": refractory, "t_end": t_end,
            "count": count, "cell": jnp.arange(u.shape[0]), "syn_exc": syn_in[0],
            "syn_inh": syn_in[1]}, out, EXACT_SHARE)
        # input not among the events arrives at the end of the step
        refractory_now = out["spiked"] | (refractory & (t_end == jnp.inf))
        u_end = out["u"] + jnp.where(refractory_now, 0, out["remainder"])
        late = ~refractory_now & (u_end >= u_th)
        spiked = out["spiked"] | late
        return {"v": p["v_rest"] + jnp.where(late, u_reset, u_end),
                **after_step(d, s, spiked, jnp.where(late, 0.0, out["offset"]))}, \
            spiked.astype(jnp.int32)

    def exact_step(self, dt, stored, p, u, u_inf, refractory, t_end, count, cell, syn_exc,
                   syn_inh):
        """The step from event to event in time order, and the input not among the events
        (``remainder``, for the end of the step)."""
        n_events, lag, weight = stored_events(count, *stored(cell), dt)
        u_th, u_reset = p["v_thresh"] - p["v_rest"], p["v_reset"] - p["v_rest"]
        instant = ~refractory & (u >= u_th)
        zero = jnp.zeros_like(u)
        carry = {"t": zero, "u": jnp.where(instant, u_reset, u),
                 "refractory": refractory | instant,
                 "t_end": jnp.where(instant, jnp.inf, t_end), "spiked": instant,
                 "offset": jnp.where(instant, dt * (1 - jnp.finfo(zero.dtype).eps), zero)}

        def spike(c, where, offset):
            return {**c, "u": jnp.where(where, u_reset, c["u"]),
                    "refractory": c["refractory"] | where,
                    "t_end": jnp.where(where, jnp.inf, c["t_end"]),
                    "spiked": c["spiked"] | where,
                    "offset": jnp.where(where, offset, c["offset"])}

        def advance(c, t_b):
            ends = c["refractory"] & (c["t_end"] <= t_b)
            t_free = jnp.where(c["refractory"], jnp.where(ends, c["t_end"], t_b), c["t"])
            decay = jnp.expm1(-(t_b - t_free) / p["tau_m"])
            u_b = -u_inf * decay + c["u"] * decay + c["u"]
            crossed = (t_b > t_free) & (u_b >= u_th)
            c = {**c, "t": t_b, "u": u_b, "refractory": c["refractory"] & ~ends}
            return spike(c, crossed, dt - t_b + self.since_crossing(p, u_b, u_inf, u_th,
                                                                     crossed))

        def on_event(c, t, w, same_as_next):
            c = advance(c, t)
            c = {**c, "u": c["u"] + jnp.where(c["refractory"], 0, w)}
            return spike(c, ~c["refractory"] & ~same_as_next & (c["u"] >= u_th), dt - t)

        carry = event_loop(n_events, lag, weight, carry, on_event)
        carry = advance(carry, jnp.full_like(zero, dt))
        return {"remainder": sum(grid_remainder(syn_exc, syn_inh, weight)),
                **{name: carry[name] for name in ("u", "spiked", "offset")}}


class SpikeSourceArrayPrecise(SpikeSourceArray):
    """SpikeSourceArray at its exact times (NEST ``spike_generator`` with precise_times and a
    ``parrot_neuron_ps``). The times of one cell within one step are sent as one event of
    their multiplicity, at the earliest of them."""
    name = "SpikeSourceArray_ps"
    parameter_names = ("spike_steps", "multiplicity", "spike_offsets")
    state_names = ("next_spike", "spike_offset")
    emits_offsets = True

    @classmethod
    def encode_spike_times(cls, spike_times, dt):
        """As :meth:`SpikeSourceArray.encode_spike_times`, plus ``spike_offsets`` (n, m):
        the offset (ms before the end of the step) of the earliest time of each step."""
        spike_steps, multiplicity = super().encode_spike_times(spike_times, dt)
        offsets = np.zeros(spike_steps.shape)
        for i, times in enumerate(spike_times):
            times = np.asarray(times, dtype=float)
            steps = cls.emission_grid(times, dt)
            unique_steps, first = np.unique(steps, return_index=True)
            offsets[i, :unique_steps.size] = np.clip(unique_steps * dt - times[first], 0, dt)
        return spike_steps, multiplicity, offsets

    def step(self, p, d, s, syn_in, i_ext, ctx):
        state, counts = super().step(p, d, s, syn_in, i_ext, ctx)
        idx = jnp.minimum(s["next_spike"], p["spike_offsets"].shape[1] - 1)[:, None]
        offset = jnp.take_along_axis(p["spike_offsets"], idx, axis=1)[:, 0]
        return {**state, "spike_offset": jnp.where(counts > 0, offset, s["spike_offset"])}, counts


class SpikeSourcePoissonPrecise(SpikeSourcePoisson):
    """Poisson process at continuous times (NEST ``poisson_generator_ps`` through a
    ``parrot_neuron_ps``): the count of a step as on the grid, at a time uniform in the step.
    Several spikes of one cell in one step (probability ~ (rate dt)^2 / 2) are one event of
    that multiplicity at one time."""
    name = "SpikeSourcePoisson_ps"
    state_names = ("spike_offset",)
    emits_offsets = True

    def step(self, p, d, s, syn_in, i_ext, ctx):
        count = jnp.where(is_active(d, ctx.step),
                          poisson_count(ctx.key, d["tail"], ctx.first_cell), 0)
        offset = ctx.dt * prng.uniform(jax.random.fold_in(ctx.key, 1), count.shape[0],
                                       s["spike_offset"].dtype, ctx.first_cell)
        return {"spike_offset": jnp.where(count > 0, offset, s["spike_offset"])}, count
