"""Conductance-based leaky integrate-and-fire models.

    cm dv/dt = cm (v_rest - v)/tau_m + g_E(t) (e_rev_E - v) + g_I(t) (e_rev_I - v)
               + i_offset + i_inj(t)

- ``IF_cond_exp`` (NEST ``iaf_cond_exp``): g decays as exp(-t/tau_syn); a spike of weight w (uS)
  adds w to g.
- ``IF_cond_alpha`` (NEST ``iaf_cond_alpha``): g(t) = w e t/tau_syn exp(-t/tau_syn), peak w at
  t = tau_syn; state (dg, g).

Scheme (:func:`integrate_membrane`): the conductances are linear and advance exactly
(propagators). The membrane equation, linear in v, is written with the leak and its current as
one more conductance, g_L = cm / tau_m with reversal e_L = v_rest + i / g_L (i = i_offset +
i_inj, constant over the step), and integrated by an exponential integrator in
K = ceil(h / 0.1 ms) substeps of eta = h / K. Over a substep, with G(s) = g_L + g_E(s) + g_I(s)
and A = int_0^eta G ds / cm (exact: the conductances are known in closed form),

    v(eta) = v_inf + (v(0) - v_inf) exp(-A),
    v_inf = sum_k W_k e_k / sum_k W_k,   W_k = int_0^eta exp(-a (eta - s)) g_k(s) ds,  a = A/eta,

each W_k in closed form (:func:`kernel_integrals`). This is exact for constant conductances and
for a single conductance of any time course, and stable for any conductance: v moves towards a
weighted mean of the reversal potentials and never beyond. Its error comes from the variation
of G within a substep (the kernel exp(-a (eta - s)) instead of exp(-int_s^eta G / cm)); it is
below one RK4 step's in the common cases (docs/numerics.rst). NEST integrates the same
equations with GSL's adaptive RKF45; the measured differences are in docs/numerics.rst.
Threshold, reset and refractory clamp are NEST's: v is held at v_reset for tau_refrac (in
steps) after a spike, the conductances keep evolving, and the spikes arriving in a step are
added to g at its end.
"""
import math

import jax.numpy as jnp

from .base import NeuronModel, materialised
from ..time_grid import refractory_steps
from .lif_current import LIF_PARAMETERS, threshold_and_reset

COND_PARAMETERS = LIF_PARAMETERS + ("tau_syn_E", "tau_syn_I", "e_rev_E", "e_rev_I")


SUBSTEP = 0.1          # ms, longest substep of the exponential integrator
X_SMALL = 0.02         # |x| below which the kernel integrals use their Taylor series


def n_substeps(dt):
    """K, the substeps of a time step dt (ms)."""
    return max(1, math.ceil(dt / SUBSTEP - 1e-9))


def substep_constants(xp, tau, dt, suffix):
    """Decay of a conductance over one substep eta = dt / K, and the integrals of
    exp(-s/tau) (``area``, ms) and of s exp(-s/tau) (``moment``, ms^2) over it."""
    eta = dt / n_substeps(dt)
    decay = xp.exp(-eta / tau)
    area = -tau * xp.expm1(-eta / tau)
    return {"decay_" + suffix: decay, "area_" + suffix: area,
            "moment_" + suffix: tau * area - tau * eta * decay}


def kernel_integrals(x, decay, e_a, eta):
    """int_0^eta exp(-a (eta - s)) exp(-s/tau) s^j ds for j = 0, 1, with x = (a - 1/tau) eta,
    decay = exp(-eta/tau), e_a = exp(-a eta): eta e_a phi_1(x) and eta^2 e_a phi_2(x),
    phi_1(x) = (e^x - 1)/x, phi_2(x) = ((x - 1) e^x + 1)/x^2, written without e^x (which
    overflows for a large conductance) and by their Taylor series near x = 0."""
    small = jnp.abs(x) < X_SMALL
    safe = jnp.where(small, 1.0, x)
    j0 = eta * jnp.where(small, e_a * (1.0 + x / 2.0 + x * x / 6.0), (decay - e_a) / safe)
    j1 = eta * eta * jnp.where(small, e_a * (0.5 + x / 3.0 + x * x / 8.0),
                               ((safe - 1.0) * decay + e_a) / (safe * safe))
    return j0, j1


def one_minus_exp_over(x, exp_minus_x):
    """(1 - exp(-x)) / x for x > 0, by its Taylor series below x = 0.05 (no cancellation)."""
    small = x < 0.05
    series = 1.0 - x / 2.0 + x * x / 6.0 - x * x * x / 24.0
    return jnp.where(small, series, (1.0 - exp_minus_x) / jnp.where(small, 1.0, x))


def integrate_membrane(p, d, v, channels, i_total, h, step):
    """v at the end of the step (module docstring), computed once into a buffer of its own
    (:func:`.base.materialised`). ``channels``: per conductance (g(0), dg(0) or None for an
    exponential one, reversal potential, suffix of its constants in ``d``), g in uS;
    ``i_total`` (nA) is constant over the step."""
    eta = h / n_substeps(h)
    g_leak = p["cm"] / p["tau_m"]
    e_leak = p["v_rest"] + i_total / g_leak
    channels = [list(channel) for channel in channels]
    for _ in range(n_substeps(h)):
        area = g_leak * eta
        for g, dg, _, suffix in channels:
            area = area + g * d["area_" + suffix] + (0.0 if dg is None else
                                                      dg * d["moment_" + suffix])
        exponent = area / p["cm"]                    # A = a eta
        e_a = jnp.exp(-exponent)     # (XLA's CPU expm1 is not vectorised: 5x the cost)
        weight = g_leak * eta * one_minus_exp_over(exponent, e_a)    # the leak's W
        weighted = weight * e_leak
        for channel in channels:
            g, dg, reversal, suffix = channel
            decay = d["decay_" + suffix]
            x = exponent - d["rate_" + suffix] * eta
            j0, j1 = kernel_integrals(x, decay, e_a, eta)
            w = g * j0 if dg is None else g * j0 + dg * j1
            weight, weighted = weight + w, weighted + w * reversal
            channel[0] = g * decay if dg is None else (g + dg * eta) * decay
            channel[1] = None if dg is None else dg * decay
        v_inf = weighted / weight
        v = v_inf + (v - v_inf) * e_a
    return materialised(v, step)


def refractory_clamp(p, d, s, v_new):
    """NEST's order: clamp during refractoriness, otherwise test the threshold; ``v_new``, the
    integrated membrane, must be a buffer of its own (:func:`.base.materialised`)."""
    refractory_before = s["refractory"] > 0
    v = jnp.where(refractory_before, p["v_reset"], v_new)
    refractory = jnp.where(refractory_before, s["refractory"] - 1, 0)
    v_tested, refractory_tested, spikes = threshold_and_reset(p, v, refractory, d["ref_steps"])
    spikes = jnp.where(refractory_before, 0, spikes)
    v = jnp.where(refractory_before, v, v_tested)
    refractory = jnp.where(refractory_before, refractory, refractory_tested)
    return v, refractory, spikes


def conductance_constants(xp, p, dt):
    """Decays over half a step and over a substep, areas, moments and rates (1/tau) of g_E
    (suffix e) and g_I (suffix i)."""
    d = {}
    for suffix, tau in (("e", p["tau_syn_E"]), ("i", p["tau_syn_I"])):
        d["half_" + suffix] = xp.exp(-0.5 * dt / tau)
        d["rate_" + suffix] = 1.0 / tau
        d.update(substep_constants(xp, tau, dt, suffix))
    return d


class IFCondExp(NeuronModel):
    name = "IF_cond_exp"
    parameter_names = COND_PARAMETERS
    state_names = ("v", "gsyn_exc", "gsyn_inh", "refractory")
    port_names = ("excitatory", "inhibitory")
    scalar_parameters = True

    def derive(self, p, dt, xp):
        return {"ref_steps": refractory_steps(xp, p["tau_refrac"], dt),
                **conductance_constants(xp, p, dt)}

    def step(self, p, d, s, syn_in, i_ext, ctx):
        ge, gi = s["gsyn_exc"], s["gsyn_inh"]
        v_new = integrate_membrane(p, d, s["v"], exp_channels(p, ge, gi),
                                   p["i_offset"] + i_ext, ctx.dt, ctx.step)
        v, refractory, spikes = refractory_clamp(p, d, s, v_new)
        decay_e, decay_i = d["half_e"] ** 2, d["half_i"] ** 2
        return {"v": v, "gsyn_exc": ge * decay_e + syn_in[0],
                "gsyn_inh": gi * decay_i + syn_in[1], "refractory": refractory}, spikes


def exp_channels(p, g_exc, g_inh):
    """The channels of :func:`integrate_membrane` for exponential g_E, g_I."""
    return [(g_exc, None, p["e_rev_E"], "e"), (g_inh, None, p["e_rev_I"], "i")]


class IFCondAlpha(NeuronModel):
    name = "IF_cond_alpha"
    parameter_names = COND_PARAMETERS
    state_names = ("v", "gsyn_exc", "dgsyn_exc", "gsyn_inh", "dgsyn_inh", "refractory")
    port_names = ("excitatory", "inhibitory")
    scalar_parameters = True

    def derive(self, p, dt, xp):
        return {"ref_steps": refractory_steps(xp, p["tau_refrac"], dt),
                "jump_e": xp.e / p["tau_syn_E"], "jump_i": xp.e / p["tau_syn_I"],
                **conductance_constants(xp, p, dt)}

    def step(self, p, d, s, syn_in, i_ext, ctx):
        h = ctx.dt
        channels = [(s["gsyn_" + name], s["dgsyn_" + name], p[reversal], suffix)
                    for name, reversal, suffix in (("exc", "e_rev_E", "e"),
                                                   ("inh", "e_rev_I", "i"))]
        v_new = integrate_membrane(p, d, s["v"], channels, p["i_offset"] + i_ext, h, ctx.step)
        v, refractory, spikes = refractory_clamp(p, d, s, v_new)
        new = {"v": v, "refractory": refractory}
        for (g, dg, _, suffix), name, port in zip(channels, ("exc", "inh"), (0, 1)):
            decay = d["half_" + suffix] ** 2
            # g(t) = (g0 + dg0 t) exp(-t/tau), dg(t) = dg0 exp(-t/tau)
            new["gsyn_" + name] = (g + dg * h) * decay
            new["dgsyn_" + name] = dg * decay + d["jump_" + suffix] * syn_in[port]
        return new, spikes
