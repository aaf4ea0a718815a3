"""Fixed sub-stepping for point-neuron models with non-linear membranes (AdEx, HH, ...).

The membrane is integrated in ``n_substeps(dt)`` substeps of at most MAX_SUBSTEP ms per time
step; synaptic conductances, linear, are evaluated in closed form at any time of the step.
Threshold tests happen after each substep, so a spike upswing is followed at 0.01 ms
resolution even at dt = 0.1 ms.

Each substep (:func:`stable_step`) is the classical RK4 step, unless, for a cell, some
component's decay rate r (the conductances over the capacitance, for v; alpha + beta for a
gating variable) makes h r > STIFF_STEP_RATE: a large synaptic conductance, where RK4 (stable
for h r < 2.8) would overflow. That cell then takes an exponential Euler step, y + f(y)
(1 - exp(-r h)) / r with f at the substep's midpoint time: exact for a fixed conductance,
and stable for any. Both steps are computed for every cell and one is selected (no data-dependent
control flow); cells of ordinary networks (h r < 0.01) take RK4's result unchanged.
"""
import math

import jax.numpy as jnp
from jax import lax

MAX_SUBSTEP = 0.01   # ms


def n_substeps(dt):
    return max(1, int(math.ceil(dt / MAX_SUBSTEP - 1e-9)))


def rk4(derivatives, y, t, h):
    """One RK4 step of dy/dt = derivatives(t, y) for a tuple of arrays ``y``."""
    def shift(y, k, factor):
        return tuple(a + factor * b for a, b in zip(y, k))
    k1 = derivatives(t, y)
    k2 = derivatives(t + 0.5 * h, shift(y, k1, 0.5 * h))
    k3 = derivatives(t + 0.5 * h, shift(y, k2, 0.5 * h))
    k4 = derivatives(t + h, shift(y, k3, h))
    return tuple(a + h / 6.0 * (b1 + 2 * b2 + 2 * b3 + b4)
                 for a, b1, b2, b3, b4 in zip(y, k1, k2, k3, k4))


STIFF_STEP_RATE = 1.0      # h r above which a cell's substep is exponential Euler, not RK4


def stable_step(derivatives, rates, y, t, h):
    """One substep of dy/dt = derivatives(t, y) (a tuple of arrays) from t to t + h:
    RK4, or exponential Euler for the cells where h * rate > STIFF_STEP_RATE for some
    component (``rates(t, y)``: each component's decay rate, 1/ms, >= 0)."""
    y_rk4 = rk4(derivatives, y, t, h)
    # the forcing at the substep's middle: an alpha conductance just hit is 0 at its start
    middle = t + 0.5 * h
    decay = rates(middle, y)
    stiff = h * decay[0] > STIFF_STEP_RATE
    for r in decay[1:]:
        stiff = stiff | (h * r > STIFF_STEP_RATE)
    slopes = derivatives(middle, y)

    def exponential_euler(a, f, r):
        # (1 - exp(-r h)) / r, -> h for r h -> 0
        weight = jnp.where(r * h > 1e-6, -jnp.expm1(-r * h) / jnp.maximum(r, 1e-30), h)
        return a + f * weight

    return tuple(jnp.where(stiff, exponential_euler(a, f, r), b)
                 for a, f, r, b in zip(y, slopes, decay, y_rk4))


class ExpConductances:
    """g(t) = g0 exp(-t/tau) per port; a spike of weight w adds w (uS)."""
    state_names = ("gsyn_exc", "gsyn_inh")

    @staticmethod
    def at(p, s, t):
        return (s["gsyn_exc"] * jnp.exp(-t / p["tau_syn_E"]),
                s["gsyn_inh"] * jnp.exp(-t / p["tau_syn_I"]))

    @classmethod
    def advance(cls, p, d, s, syn_in, dt):
        g_exc, g_inh = cls.at(p, s, dt)
        return {"gsyn_exc": g_exc + syn_in[0], "gsyn_inh": g_inh + syn_in[1]}


class AlphaConductances:
    """g(t) = (g0 + dg0 t) exp(-t/tau); a spike of weight w adds w e / tau to dg (peak w)."""
    state_names = ("gsyn_exc", "dgsyn_exc", "gsyn_inh", "dgsyn_inh")

    @staticmethod
    def at(p, s, t):
        return tuple((s["gsyn_" + n] + s["dgsyn_" + n] * t) * jnp.exp(-t / p[tau])
                     for n, tau in (("exc", "tau_syn_E"), ("inh", "tau_syn_I")))

    @classmethod
    def advance(cls, p, d, s, syn_in, dt):
        out = {}
        for port, (n, tau) in enumerate((("exc", "tau_syn_E"), ("inh", "tau_syn_I"))):
            decay = jnp.exp(-dt / p[tau])
            out["gsyn_" + n] = (s["gsyn_" + n] + s["dgsyn_" + n] * dt) * decay
            out["dgsyn_" + n] = s["dgsyn_" + n] * decay + jnp.e / p[tau] * syn_in[port]
        return out


def integrate_membrane(p, d, s, synaptic_current, i_total, dt, adaptation):
    """Advance a LIF (``adaptation=False``: threshold v_thresh) or AdEx (``True``: exponential
    term, adaptation w, threshold v_spike) membrane over one step in RK4 substeps, testing the
    threshold after each substep; NEST's reset and refractory clamp.

    ``synaptic_current(t, v)`` gives the synaptic current (nA) at time t of the step for
    membrane potential v. ``d`` holds ``g_leak`` (uS) and ``ref_steps``. Returns
    (v, w, spike count, refractory counter); w is zero for a LIF.
    """
    n_sub = n_substeps(dt)
    h = dt / n_sub
    threshold = p["v_spike"] if adaptation else p["v_thresh"]

    def derivatives(t, y, refractory):
        v, w = y
        v_eff = jnp.where(refractory, p["v_reset"],
                          jnp.minimum(v, p["v_spike"]) if adaptation else v)
        current = (d["g_leak"] * (p["v_rest"] - v_eff) + synaptic_current(t, v_eff)
                   + i_total - w)
        if adaptation:
            delta_T = jnp.maximum(p["delta_T"], 1e-12)
            current = current + jnp.where(
                p["delta_T"] > 0,
                d["g_leak"] * delta_T * jnp.exp((v_eff - p["v_thresh"]) / delta_T), 0.0)
            dw = (p["a"] / 1000.0 * (v_eff - p["v_rest"]) - w) / p["tau_w"]   # a: nS -> uS
        else:
            dw = jnp.zeros_like(w)
        return jnp.where(refractory, 0.0, current / p["cm"]), dw

    def rates(t, y):
        # the conductances of the membrane (leak and synapses: the synaptic current is
        # linear in v) and the adaptation's 1 / tau_w
        g_syn = synaptic_current(t, 0.0) - synaptic_current(t, 1.0)
        rate_w = 1.0 / p["tau_w"] if adaptation else 0.0
        return (d["g_leak"] + g_syn) / p["cm"], jnp.broadcast_to(rate_w, y[1].shape)

    def substep(i, carry):
        v, w, refractory, spiked = carry
        v, w = stable_step(lambda t, y: derivatives(t, y, refractory), rates, (v, w), i * h, h)
        v = jnp.where(refractory, p["v_reset"], v)
        spike = ~refractory & (v >= threshold)
        v = jnp.where(spike, p["v_reset"], v)
        if adaptation:
            w = jnp.where(spike, w + p["b"], w)
        refractory = refractory | (spike & (d["ref_steps"] > 0))
        return v, w, refractory, spiked + spike.astype(jnp.int32)

    w0 = s["w"] if adaptation else jnp.zeros_like(s["v"])
    start = (s["v"], w0, s["refractory"] > 0, jnp.zeros_like(s["refractory"]))
    v, w, _, spiked = lax.fori_loop(0, n_sub, substep, start)
    refractory = jnp.where(spiked > 0, d["ref_steps"], jnp.maximum(s["refractory"] - 1, 0))
    return v, w, spiked, refractory
