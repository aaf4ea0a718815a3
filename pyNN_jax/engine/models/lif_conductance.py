"""Conductance-based leaky integrate-and-fire models.

    cm dv/dt = cm (v_rest - v)/tau_m + g_E(t) (e_rev_E - v) + g_I(t) (e_rev_I - v)
               + i_offset + i_inj(t)

- ``IF_cond_exp`` (NEST ``iaf_cond_exp``): g decays as exp(-t/tau_syn); a spike of weight w (uS)
  adds w to g.
- ``IF_cond_alpha`` (NEST ``iaf_cond_alpha``): g(t) = w e t/tau_syn exp(-t/tau_syn), peak w at
  t = tau_syn; state (dg, g).

Scheme: the conductances are linear and advance exactly (propagators). The membrane equation is
integrated with the classical 4th-order Runge-Kutta method over each step, with g(t) evaluated
in closed form at t, t+h/2 and t+h, so the only error is RK4's on a linear ODE with known
coefficients: O(h^5) per step. NEST integrates the same equations with GSL's adaptive RKF45;
the measured difference is documented in docs/numerics.rst. Threshold, reset and refractory
clamp are NEST's: v is held at v_reset for tau_refrac (in steps) after a spike, the
conductances keep evolving, and the spikes arriving in a step are added to g at its end.
"""
import jax.numpy as jnp

from .base import NeuronModel, materialised
from ..time_grid import refractory_steps
from .lif_current import LIF_PARAMETERS, threshold_and_reset

COND_PARAMETERS = LIF_PARAMETERS + ("tau_syn_E", "tau_syn_I", "e_rev_E", "e_rev_I")


def rk4_membrane(p, v, g_exc, g_inh, i_total, h):
    """One RK4 step of the membrane equation; g_exc/g_inh are (g(0), g(h/2), g(h))."""
    g_leak = p["cm"] / p["tau_m"]

    def dvdt(v, k):
        return (g_leak * (p["v_rest"] - v) + g_exc[k] * (p["e_rev_E"] - v)
                + g_inh[k] * (p["e_rev_I"] - v) + i_total) / p["cm"]

    k1 = dvdt(v, 0)
    k2 = dvdt(v + 0.5 * h * k1, 1)
    k3 = dvdt(v + 0.5 * h * k2, 1)
    k4 = dvdt(v + h * k3, 2)
    return v + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def refractory_clamp(p, d, s, v_new, step):
    """NEST's order: clamp during refractoriness, otherwise test the threshold (``v_new``,
    the integrated membrane, is computed once: see :func:`.base.materialised`)."""
    v_new = materialised(v_new, step)
    refractory_before = s["refractory"] > 0
    v = jnp.where(refractory_before, p["v_reset"], v_new)
    refractory = jnp.where(refractory_before, s["refractory"] - 1, 0)
    v_tested, refractory_tested, spikes = threshold_and_reset(p, v, refractory, d["ref_steps"])
    spikes = jnp.where(refractory_before, 0, spikes)
    v = jnp.where(refractory_before, v, v_tested)
    refractory = jnp.where(refractory_before, refractory, refractory_tested)
    return v, refractory, spikes


class IFCondExp(NeuronModel):
    name = "IF_cond_exp"
    parameter_names = COND_PARAMETERS
    state_names = ("v", "gsyn_exc", "gsyn_inh", "refractory")
    port_names = ("excitatory", "inhibitory")
    scalar_parameters = True

    def derive(self, p, dt, xp):
        return {
            "half_e": xp.exp(-0.5 * dt / p["tau_syn_E"]),
            "half_i": xp.exp(-0.5 * dt / p["tau_syn_I"]),
            "ref_steps": refractory_steps(xp, p["tau_refrac"], dt),
        }

    def step(self, p, d, s, syn_in, i_ext, ctx):
        ge, gi = s["gsyn_exc"], s["gsyn_inh"]
        he, hi = d["half_e"], d["half_i"]
        g_exc = (ge, ge * he, ge * he * he)
        g_inh = (gi, gi * hi, gi * hi * hi)
        v_new = rk4_membrane(p, s["v"], g_exc, g_inh, p["i_offset"] + i_ext, ctx.dt)
        v, refractory, spikes = refractory_clamp(p, d, s, v_new, ctx.step)
        return {"v": v, "gsyn_exc": g_exc[2] + syn_in[0], "gsyn_inh": g_inh[2] + syn_in[1],
                "refractory": refractory}, spikes


class IFCondAlpha(NeuronModel):
    name = "IF_cond_alpha"
    parameter_names = COND_PARAMETERS
    state_names = ("v", "gsyn_exc", "dgsyn_exc", "gsyn_inh", "dgsyn_inh", "refractory")
    port_names = ("excitatory", "inhibitory")
    scalar_parameters = True

    def derive(self, p, dt, xp):
        d = {"ref_steps": refractory_steps(xp, p["tau_refrac"], dt)}
        for suffix, tau in (("e", p["tau_syn_E"]), ("i", p["tau_syn_I"])):
            d["half_" + suffix] = xp.exp(-0.5 * dt / tau)
            d["jump_" + suffix] = xp.e / tau
        return d

    def step(self, p, d, s, syn_in, i_ext, ctx):
        h = ctx.dt
        profiles, new = {}, {}
        for suffix, name, port in (("e", "exc", 0), ("i", "inh", 1)):
            g, dg, half = s["gsyn_" + name], s["dgsyn_" + name], d["half_" + suffix]
            # g(t) = (g0 + dg0 t) exp(-t/tau), dg(t) = dg0 exp(-t/tau)
            profiles[name] = (g, (g + dg * 0.5 * h) * half, (g + dg * h) * half * half)
            new["gsyn_" + name] = profiles[name][2]
            new["dgsyn_" + name] = dg * half * half + d["jump_" + suffix] * syn_in[port]
        v_new = rk4_membrane(p, s["v"], profiles["exc"], profiles["inh"],
                             p["i_offset"] + i_ext, h)
        v, refractory, spikes = refractory_clamp(p, d, s, v_new, ctx.step)
        new.update(v=v, refractory=refractory)
        return new, spikes
