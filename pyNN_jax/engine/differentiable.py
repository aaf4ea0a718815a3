"""Differentiable dynamics of networks of current-based LIF cells (``IF_curr_exp``).

Two forward models, both pure functions of a parameter pytree that ``jax.grad`` differentiates:

- :func:`simulate_discrete`: the time-discrete network, stepped with the engine's own
  ``IF_curr_exp`` step (:mod:`.models.lif_current`) and the same delivery rule: its spikes
  are the engine's spikes. The threshold is a
  Heaviside step in the forward pass; its derivative is replaced by the SuperSpike surrogate
  (fast sigmoid, Zenke & Ganguli 2018), as in jaxsnn.discrete and Spyx.
- :func:`first_spike_times`: exact, event-based first spike times of a feed-forward network
  with tau_m = 2 tau_syn, from the closed form of the threshold crossing (Goltz et al. 2021,
  "Fast and energy-efficient neuromorphic deep learning with first-spike times"). Gradients
  are those of the closed form, i.e. of the implicit function V(t*) = theta (no surrogate).

A network is a :class:`NetworkSpec` (static: population sizes, which population is the
input, connections) and a parameter pytree ``{"weights": [...], "cells": [...]}``: one
(n_pre, n_post) weight matrix (nA) per connection, zero where there is no synapse, and one dict
of IF_curr_exp parameters (arrays (n,), PyNN units) per population (empty for the input).
"""
from functools import partial
from typing import NamedTuple, Optional, Tuple

import jax
import jax.numpy as jnp
from jax import lax

from .models.lif_current import IFCurrExp

_LIF = IFCurrExp()


class Connection(NamedTuple):
    """A weight matrix from population ``pre`` to ``post`` onto ``port`` (0 excitatory,
    1 inhibitory). ``uniform_delay`` (steps) when every synapse has the same delay, else None
    (delays are then read from ``delay_steps`` per synapse)."""
    pre: int
    post: int
    port: int
    uniform_delay: Optional[int]


class NetworkSpec(NamedTuple):
    """Static description of a network: ``sizes`` of the populations, index of the ``input``
    population (spike times given per sample), ``connections`` and the longest delay
    ``max_delay`` (steps) of the discrete model."""
    sizes: Tuple[int, ...]
    input: int
    connections: Tuple[Connection, ...]
    max_delay: int


# --- surrogate spike function ------------------------------------------------------------

@partial(jax.custom_jvp, nondiff_argnums=(1,))
def spike_function(x, slope):
    """Heaviside step H(x) (x >= 0 spikes); derivative replaced by 1 / (1 + slope |x|)^2."""
    return (x >= 0).astype(x.dtype)


@spike_function.defjvp
def _spike_function_jvp(slope, primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return spike_function(x, slope), x_dot / (1.0 + slope * jnp.abs(x)) ** 2


# --- time-discrete model -------------------------------------------------------------------

def spike_raster(emission_steps, n_steps, dtype=jnp.float32):
    """Spike counts per step (..., n_steps, n) from the steps in which each input cell emits
    its spikes, (..., n, m) int; steps outside 0 .. n_steps - 1 (padding) emit nothing."""
    one_hot = jax.nn.one_hot(emission_steps, n_steps, dtype=dtype)      # (..., n, m, n_steps)
    return jnp.swapaxes(one_hot.sum(axis=-2), -1, -2)


def _arriving(spec, weights, delay_steps, history, step):
    """Synaptic input (n_ports, n) arriving at every population in ``step``."""
    arriving = [jnp.zeros((2, n)) for n in spec.sizes]
    n_slots = spec.max_delay + 1
    for c, w, d in zip(spec.connections, weights, delay_steps):
        if c.uniform_delay is not None:
            pre_spikes = history[c.pre][(step - c.uniform_delay) % n_slots]
            current = pre_spikes @ w
        else:
            rows = (step - d) % n_slots                                   # (n_pre, n_post)
            pre_spikes = history[c.pre][rows, jnp.arange(w.shape[0])[:, None]]
            current = (pre_spikes * w).sum(axis=0)
        arriving[c.post] = arriving[c.post].at[c.port].add(current)
    return arriving


def simulate_discrete(spec, params, delay_steps, input_raster, dt, slope=1.0):
    """Run the time-discrete network on one sample.

    Parameters
    ----------
    spec : NetworkSpec
    params : dict
        ``{"weights": [(n_pre, n_post)], "cells": [dict of (n,) arrays]}`` (nA, PyNN units);
        the optional ``v_init`` (mV, default ``v_rest``), ``isyn_exc_init`` and
        ``isyn_inh_init`` (nA, default 0) of a cell dict are the state at t = 0, as PyNN's
        ``initialize(v=..., isyn_exc=..., isyn_inh=...)`` sets it.
    delay_steps : list of int arrays (n_pre, n_post)
        Delay of each synapse in steps (>= 1).
    input_raster : array (n_steps, n_input)
        Spikes emitted by the input population in each step.
    dt : float
        Time step (ms).
    slope : float
        Steepness (1/mV) of the surrogate derivative.

    Returns
    -------
    list, per population, of ``{"spikes": (n_steps, n), "v": (n_steps, n)}`` (v in mV after
    each step, as the engine records it; None for the input population).
    """
    derived = [None if i == spec.input else _LIF.derive(p, dt, jnp)
               for i, p in enumerate(params["cells"])]
    n_slots = spec.max_delay + 1

    def initial(i, n):
        if i == spec.input:
            return None
        p = params["cells"][i]
        ones = jnp.ones(n)
        return {"v": p.get("v_init", p["v_rest"]) * ones,
                "isyn_exc": p.get("isyn_exc_init", 0.0) * ones,
                "isyn_inh": p.get("isyn_inh_init", 0.0) * ones,
                "refractory": jnp.zeros(n, jnp.int32)}

    state0 = [initial(i, n) for i, n in enumerate(spec.sizes)]
    history0 = [jnp.zeros((n_slots, n)) for n in spec.sizes]

    def step(carry, inputs):
        states, history = carry
        k, input_spikes = inputs
        arriving = _arriving(spec, params["weights"], delay_steps, history, k)
        new_states, spikes, record = [], [], []
        for i, s in enumerate(states):
            if i == spec.input:
                new_states.append(None)
                spikes.append(input_spikes)
                record.append(None)
                continue
            s, out = _lif_step(params["cells"][i], derived[i], s, arriving[i], slope)
            new_states.append(s)
            spikes.append(out)
            record.append({"spikes": out, "v": s["v"]})
        history = [h.at[k % n_slots].set(z) for h, z in zip(history, spikes)]
        return (new_states, history), record

    n_steps = input_raster.shape[0]
    _, recorded = lax.scan(step, (state0, history0), (jnp.arange(n_steps), input_raster))
    return recorded


def _lif_step(p, d, s, syn_in, slope):
    """One :meth:`IFCurrExp.step` (run with no threshold, so that its subthreshold update is
    reused as is), then the threshold with a surrogate gradient and the reset. The reset does
    not carry gradient (the spike is detached there), as usual for surrogate training; the
    spike itself does."""
    s, _ = _LIF.step({**p, "v_thresh": jnp.inf}, d, s, syn_in, 0.0, None)
    spikes = spike_function(s["v"] - p["v_thresh"], slope)
    fired = lax.stop_gradient(spikes) > 0
    return {**s, "v": jnp.where(fired, p["v_reset"], s["v"]),
            "refractory": jnp.where(fired, d["ref_steps"], s["refractory"])}, spikes


# --- exact first spike times ---------------------------------------------------------------

def topological_order(spec):
    """Populations in an order where every connection goes forward; ValueError if the
    network has a cycle (first spike times need a feed-forward network)."""
    incoming = {i: {c.pre for c in spec.connections if c.post == i}
                for i in range(len(spec.sizes))}
    order, done = [], set()
    while len(order) < len(spec.sizes):
        ready = [i for i in range(len(spec.sizes)) if i not in done and incoming[i] <= done]
        if not ready:
            raise ValueError("the network is recurrent: exact first spike times need a "
                             "feed-forward network")
        order.extend(ready)
        done.update(ready)
    return order


def lif_first_spike(in_times, weights, tau_syn, cm, theta):
    """First threshold crossing of LIF cells with tau_m = 2 tau_syn, starting at rest.

    Parameters
    ----------
    in_times : array (n_in, n)
        Arrival time (ms) of each input at each cell (inf: none).
    weights : array (n_in, n)
        Synaptic weights (nA; negative inhibitory, 0 none).
    tau_syn, cm, theta : arrays (n,)
        Synaptic time constant (ms), capacitance (nF), threshold above rest (mV).

    Returns
    -------
    array (n,): the first spike time (ms), inf for cells that stay below threshold.

    Notes
    -----
    Sorting the arrivals t_1 <= t_2 <= ..., after the k-th one the membrane is
    v(t) - v_rest = (tau_m/cm) (a_k x - b_k x^2) with x = exp(-(t - t_k)/tau_m),
    a_k = sum_{i<=k} w_i exp(-(t_k - t_i)/tau_m), b_k = sum_{i<=k} w_i exp(-(t_k - t_i)/tau_syn).
    The upward crossing of theta is the larger root of b x^2 - a x + theta cm/tau_m = 0:
    t = t_k + tau_m ln(2 b / (a + sqrt(a^2 - 4 b theta cm/tau_m))). It is the spike if it lies
    between the k-th and (k+1)-th arrival; the first such k counts. a_k and b_k are referred
    to t_k (a_k = a_{k-1} exp(-(t_k - t_{k-1})/tau_m) + w_k), so every exponential is <= 1 and
    inputs far apart in time (many tau_syn) neither overflow nor lose precision.
    """
    tau_m = 2.0 * tau_syn
    order = jnp.argsort(in_times, axis=0)
    times = jnp.take_along_axis(in_times, order, axis=0)
    w = jnp.take_along_axis(weights, order, axis=0)
    arrived = jnp.isfinite(times)
    times = jnp.where(arrived, times, 0.0)
    w = jnp.where(arrived, w, 0.0)
    gap = jnp.concatenate([jnp.zeros_like(times[:1]), jnp.diff(times, axis=0)], axis=0)
    gap = jnp.where(arrived, gap, 0.0)           # arrivals are sorted: after inf, only inf

    def decayed_sum(tau):
        """Sum_{i<=k} w_i exp(-(t_k - t_i)/tau), for every k."""
        def combine(earlier, later):
            (decay_1, sum_1), (decay_2, sum_2) = earlier, later
            return decay_1 * decay_2, sum_1 * decay_2 + sum_2
        return lax.associative_scan(combine, (jnp.exp(-gap / tau), w), axis=0)[1]

    a = decayed_sum(tau_m)
    b = decayed_sum(tau_syn)
    discriminant = a ** 2 - 4.0 * b * theta * cm / tau_m
    ratio_ok = (discriminant >= 0) & (b > 0)
    safe_disc = jnp.where(ratio_ok, discriminant, 1.0)
    safe_b = jnp.where(ratio_ok, b, 1.0)
    denominator = a + jnp.sqrt(safe_disc)
    ratio_ok &= denominator > 0
    ratio = jnp.where(ratio_ok, 2.0 * safe_b / jnp.where(ratio_ok, denominator, 1.0), 1.0)
    delay_to_crossing = tau_m * jnp.log(ratio)
    t = times + delay_to_crossing
    next_arrival = jnp.concatenate([times[1:], jnp.full_like(times[:1], jnp.inf)], axis=0)
    next_arrival = jnp.where(jnp.concatenate([arrived[1:], jnp.zeros_like(arrived[:1])], 0),
                             next_arrival, jnp.inf)
    valid = ratio_ok & arrived & (delay_to_crossing >= 0) & (t <= next_arrival)
    return jnp.min(jnp.where(valid, t, jnp.inf), axis=0)


def substitute_measured(ideal, measured):
    """``measured`` values with the derivative of ``ideal`` (straight-through), where both
    are finite; ``measured`` (no derivative) elsewhere."""
    both = jnp.isfinite(ideal) & jnp.isfinite(measured)
    safe_ideal = jnp.where(both, ideal, 0.0)
    return jnp.where(both, safe_ideal + lax.stop_gradient(
        jnp.where(both, measured, 0.0) - safe_ideal), measured)


def first_spike_times(spec, params, delays, input_times, measured=None):
    """Exact first spike times of every population of a feed-forward network, one sample.

    Parameters
    ----------
    spec : NetworkSpec
    params : dict
        As for :func:`simulate_discrete`; cells need ``tau_syn_E`` (= ``tau_syn_I``, and
        tau_m = 2 tau_syn: the caller checks), ``cm``, ``v_thresh``, ``v_rest``.
    delays : list of arrays (n_pre, n_post)
        Synaptic delays (ms), one per connection.
    input_times : array (n_input,)
        Spike time (ms) of each input cell, inf for none.
    measured : list of arrays (n,) or None, optional
        First spike times measured elsewhere (e.g. on hardware) per population (None for the
        input). Each population's times are then the measured ones, with the derivative the
        closed form has at the measured input times (in-the-loop training, as in Goltz et
        al. 2021 on BrainScaleS-2).

    Returns
    -------
    list, per population, of first spike times (n,) (ms, inf: no spike).
    """
    times = [None] * len(spec.sizes)
    times[spec.input] = input_times
    for i in topological_order(spec):
        if i == spec.input:
            continue
        arrivals, weights = [], []
        for c, w, d in zip(spec.connections, params["weights"], delays):
            if c.post == i:
                arrivals.append(times[c.pre][:, None] + d)
                weights.append(w)
        p = params["cells"][i]
        n = spec.sizes[i]
        if not arrivals:
            times[i] = jnp.full(n, jnp.inf)
            continue
        times[i] = lif_first_spike(jnp.concatenate(arrivals), jnp.concatenate(weights),
                                   p["tau_syn_E"] * jnp.ones(n), p["cm"] * jnp.ones(n),
                                   (p["v_thresh"] - p["v_rest"]) * jnp.ones(n))
        if measured is not None:
            times[i] = substitute_measured(times[i], measured[i])
    return times
