"""Spike-timing-dependent plasticity, event-driven (NEST's ``stdp_synapse`` and
``vogels_sprekeler_synapse``).

Pair-based, all-to-all pairing with traces (Morrison, Diesmann & Gerstner 2008). The delay d
of a connection is split into an axonal part d_a and a dendritic part d_d (PyNN's
``dendritic_delay_fraction``; 1, all dendritic, is NEST's only choice): the synapse sees a
presynaptic spike at t_pre + d_a and a postsynaptic one at t_post + d_d, so a pair counts
with dt = (t_post + d_d) - (t_pre + d_a); the PSC reaches the cell at t_pre + d. The
dendritic part is at least one step.

Traces, per cell: the presynaptic trace x (time constant tau_plus) and the postsynaptic trace y
(tau_minus), each +1 per spike. Nothing is updated every step per synapse:

- at a postsynaptic spike's arrival t_post + d_d at a synapse (found through the table of
  incoming connections of the cells that spiked in the last n_slots steps): potentiation with
  the presynaptic trace at t_post + d_d - d_a (ring buffer of the last n_slots steps);
- at a presynaptic spike's arrival t_pre + d_a: depression with the postsynaptic trace at
  t_pre + d_a - d_d (ring buffer; spikes at exactly that time excluded), then the new weight
  is delivered, d_d later. With d_a = 0 everywhere (the default) this happens in the step of
  the presynaptic spike, through the spiking rows only; otherwise through the rows of the
  cells that spiked in the last n_slots steps.

Weight dependence, with x = (w - w_min) / (w_max - w_min) (all four of PyNN's are one rule):

    potentiation  x <- min(x + A_plus (1 - x)^mu_plus y_or_x_trace, 1)
    depression    x <- max(x - A_minus x^mu_minus trace, 0)

Additive: mu = 0, 0; multiplicative: 1, 1; additive potentiation / multiplicative depression:
0, 1; Gutig: mu_plus, mu_minus. Vogels et al. (2011): potentiation w += eta * trace at both
pre and post events (tau_plus = tau_minus = tau), and w -= alpha * eta at each presynaptic
spike, alpha = 2 rho tau / 1000; w clipped to [w_min, w_max].

Precise spike times (``spike_precision="off_grid"``), as NEST's ``stdp_synapse`` takes them:
a postsynaptic spike of step k at offset o happened at t_post = (k+1) h - o; a presynaptic one
counts at the end of its step (NEST's time stamp, the offset left out). So the potentiation
of a postsynaptic spike reads the presynaptic trace o before the end of a step (the trace
there times exp(o / tau_plus)), and a postsynaptic spike inside a step counts in the
postsynaptic trace from its time on (exp(-o / tau_minus) at the step's end, already in the
history of that step: a presynaptic arrival there comes after it; one exactly at the end
(o = 0, every spike of a grid model) comes after the arrival and is left out).

Difference from NEST, which applies potentiation lazily at the next presynaptic spike: here it
is applied when it happens, so weights read between runs already include it.
"""
import jax.numpy as jnp
from jax import lax

from .compact import first_true

KINDS = ("stdp", "stdp_vogels")
PAIR_PARAMETERS = ("A_plus", "A_minus", "w_min", "w_max", "mu_plus", "mu_minus")
VOGELS_PARAMETERS = ("eta", "alpha", "w_min", "w_max")
CELL_STATE = ("pre_trace", "post_trace", "pre_trace_history", "post_trace_history",
              "pre_spike_history", "post_spike_history", "post_offset_history",
              "recent_pre_spikes", "recent_post_spikes")


def _bounded(w, v, positions, change):
    """Apply ``change(x)`` to the normalised weight and map back, clipped to [w_min, w_max]."""
    w_min, w_max = v["w_min"][positions], v["w_max"][positions]
    span = jnp.where(w_max > w_min, w_max - w_min, 1.0)
    x = change((w - w_min) / span)
    return jnp.clip(w_min + jnp.clip(x, 0.0, 1.0) * span, w_min, w_max)


def potentiate(kind, v, w, positions, trace):
    if kind == "stdp_vogels":
        return jnp.clip(w + v["eta"][positions] * trace, v["w_min"][positions],
                        v["w_max"][positions])
    a, mu = v["A_plus"][positions], v["mu_plus"][positions]
    return _bounded(w, v, positions, lambda x: x + a * jnp.power(1.0 - x, mu) * trace)


def depress(kind, v, w, positions, trace):
    if kind == "stdp_vogels":
        eta = v["eta"][positions]
        return jnp.clip(w + eta * trace - v["alpha"][positions] * eta, v["w_min"][positions],
                        v["w_max"][positions])
    a, mu = v["A_minus"][positions], v["mu_minus"][positions]
    return _bounded(w, v, positions, lambda x: x - a * jnp.power(x, mu) * trace)


def _compact(pending, rows_per_pass):
    n = pending.shape[0]
    rows = first_true(pending, rows_per_pass)
    valid = rows < n
    return rows, valid, jnp.where(valid, rows, 0)


def _inside_step(post_counts, post_offsets):
    """The postsynaptic spikes of a step that happened before its end (offset > 0)."""
    return jnp.where(post_offsets > 0, post_counts, 0)


def before_delivery(kind, v, s, counts, post_counts, step, n_slots, rows_per_pass, dt,
                    post_offsets=None):
    """Decay the traces to the end of step ``step``, log the postsynaptic history and
    potentiate the connections a postsynaptic spike reaches now. ``counts``: the spikes of
    the presynaptic cells (the table's rows' owners), ``post_counts`` those of the
    postsynaptic ones (the same array, unless the cells are split over devices:
    :mod:`.sharding`); ``post_offsets`` (ms, or None: 0) their offsets."""
    stamp = step + 1
    slot = stamp % n_slots
    pre_trace = s["pre_trace"] * jnp.exp(-dt / v["tau_plus"])
    post_trace = s["post_trace"] * jnp.exp(-dt / v["tau_minus"])
    offset_history = s["post_offset_history"]
    if post_offsets is not None:
        post_trace = post_trace + _inside_step(post_counts, post_offsets) * jnp.exp(
            -post_offsets / v["tau_minus"])
        offset_history = offset_history.at[slot].set(post_offsets)
    history = {"pre_trace_history": s["pre_trace_history"].at[slot].set(pre_trace),
               "post_trace_history": s["post_trace_history"].at[slot].set(post_trace),
               "pre_spike_history": s["pre_spike_history"].at[slot].set(counts),
               "post_spike_history": s["post_spike_history"].at[slot].set(post_counts),
               "post_offset_history": offset_history,
               "recent_pre_spikes": (s["recent_pre_spikes"] + counts
                                     - s["pre_spike_history"][slot]),
               "recent_post_spikes": (s["recent_post_spikes"] + post_counts
                                      - s["post_spike_history"][slot])}
    weights = s["weight"].reshape(-1)
    width = v["target"].shape[1]
    n_connections = weights.shape[0]
    flat_dendritic = v["dendritic_delay"].reshape(-1).astype(jnp.int32)
    flat_axonal = v["delay"].reshape(-1) - flat_dendritic
    flat_v = {k: v[k].reshape(-1) for k in _parameters(kind)}

    def one_pass(carry):
        weights, pending = carry
        rows, valid, rows_c = _compact(pending, rows_per_pass)
        positions = v["in_positions"][rows_c]
        real = valid[:, None] & (positions >= 0)          # -1: an unused column
        positions = jnp.where(real, positions, 0)
        post = v["in_owner"][rows_c][:, None]
        post_slot = (stamp - flat_dendritic[positions]) % n_slots
        arrivals = history["post_spike_history"][post_slot, post]
        pre = v["row_owner"][positions // width]
        # the presynaptic trace at the postsynaptic spike, its offset before the step's end
        trace = history["pre_trace_history"][(stamp - flat_axonal[positions]) % n_slots, pre] \
            * jnp.exp(history["post_offset_history"][post_slot, post] / v["tau_plus"])
        updated = potentiate(kind, flat_v, weights[positions], positions, trace * arrivals)
        target = jnp.where(real & (arrivals > 0), positions, n_connections)
        weights = weights.at[target].set(updated, mode="drop")
        return weights, pending.at[rows].set(False, mode="drop")

    # (rows past the cells pad a table split over devices)
    pending = history["recent_post_spikes"].at[v["in_owner"]].get(mode="fill",
                                                                  fill_value=0) > 0
    weights, _ = lax.while_loop(lambda c: jnp.any(c[1]), one_pass, (weights, pending))
    return {"weight": weights.reshape(s["weight"].shape), "pre_trace": pre_trace,
            "post_trace": post_trace, **history}


def on_presynaptic_spikes(kind, v, s, rows, rows_c, step, n_slots, n_cells):
    """Depress the connections of the spiking ``rows``; return their new weights and state."""
    stamp = step + 1
    width = v["target"].shape[1]
    positions = rows_c[:, None] * width + jnp.arange(width)[None, :]
    post = v["target"][rows_c] % n_cells
    trace = s["post_trace_history"][(stamp - v["delay"][rows_c]) % n_slots, post]   # d_a = 0
    flat_v = {k: v[k].reshape(-1) for k in _parameters(kind)}
    weights = s["weight"].reshape(-1)
    updated = depress(kind, flat_v, weights[positions], positions, trace)
    row_target = jnp.where(rows < v["row_owner"].shape[0], rows, v["row_owner"].shape[0])
    new_weight = s["weight"].at[row_target].set(updated, mode="drop")
    return updated, dict(s, weight=new_weight)


def deliver_axonal(kind, v, s, ring, step, n_slots, n_cells, slot_stride, rows_per_pass):
    """Presynaptic arrivals t_pre + d_a now, for tables with axonal delays: depress, then
    deliver d_d later. Scans the rows of the cells that spiked in the last n_slots steps."""
    stamp = step + 1
    n_rows, width = v["target"].shape
    flat_v = {k: v[k].reshape(-1) for k in _parameters(kind)}

    def one_pass(carry):
        ring, weights, pending = carry
        rows, valid, rows_c = _compact(pending, rows_per_pass)
        positions = rows_c[:, None] * width + jnp.arange(width)[None, :]
        dendritic = v["dendritic_delay"][rows_c].astype(jnp.int32)
        axonal = v["delay"][rows_c] - dendritic
        pre = v["row_owner"][rows_c][:, None]
        arrivals = jnp.where(valid[:, None],
                             s["pre_spike_history"][(stamp - axonal) % n_slots, pre], 0)
        post = v["target"][rows_c] % n_cells
        trace = s["post_trace_history"][(stamp - dendritic) % n_slots, post]
        updated = depress(kind, flat_v, weights[positions], positions, trace)
        arrived = arrivals > 0
        weights = weights.at[jnp.where(arrived, positions, weights.size)].set(updated,
                                                                                mode="drop")
        index = ((step + dendritic) % n_slots) * slot_stride + v["target"][rows_c]
        ring = ring.at[index.reshape(-1)].add((updated * arrivals).reshape(-1))
        return ring, weights, pending.at[rows].set(False, mode="drop")

    pending = s["recent_pre_spikes"].at[v["row_owner"]].get(mode="fill", fill_value=0) > 0
    ring, weights, _ = lax.while_loop(lambda c: jnp.any(c[2]), one_pass,
                                      (ring, s["weight"].reshape(-1), pending))
    return ring, dict(s, weight=weights.reshape(s["weight"].shape))


def after_delivery(s, counts, post_counts, post_offsets=None):
    """Add this step's spikes at its end to the traces (``counts``, ``post_counts``,
    ``post_offsets``: as in :func:`before_delivery`, which has added the others)."""
    at_end = post_counts if post_offsets is None else \
        post_counts - _inside_step(post_counts, post_offsets)
    return dict(s, pre_trace=s["pre_trace"] + counts, post_trace=s["post_trace"] + at_end)


def _parameters(kind):
    return VOGELS_PARAMETERS if kind == "stdp_vogels" else PAIR_PARAMETERS
