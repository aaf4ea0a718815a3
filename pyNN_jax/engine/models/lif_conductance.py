"""Conductance-based leaky integrate-and-fire models.

    cm dv/dt = cm (v_rest - v)/tau_m + g_E(t) (e_rev_E - v) + g_I(t) (e_rev_I - v)
               + i_offset + i_inj(t)

- ``IF_cond_exp`` (NEST ``iaf_cond_exp``): g decays as exp(-t/tau_syn); a spike of weight w (uS)
  adds w to g.
- ``IF_cond_alpha`` (NEST ``iaf_cond_alpha``): g(t) = w e t/tau_syn exp(-t/tau_syn), peak w at
  t = tau_syn; state (dg, g).

Scheme: the conductances are linear and advance exactly (propagators). The membrane equation is
linear in v with coefficients known in closed form over the step, and is integrated with the
classical 4th-order Runge-Kutta method (:func:`integrate_membrane`), g(t) in closed form at the
stages. One RK4 step per time step serves where it is accurate: z = h G / cm <= Z_RK4
(G = g_leak + g_E + g_I, bounded over the step; RK4's error is then below 1e-5 of v's distance
to its equilibrium) and h / tau_syn <= T_RK4 for each conductance that moves v at all
(h g / cm > Z_NEGLIGIBLE). A cell outside these bounds (a large conductance, a conductance
faster than the step) takes the least number n of equal RK4 substeps that brings each substep
within them (n <= MAX_SUBSTEPS; substeps still above Z_RK4 are exponential-Euler steps with the
coefficients frozen at their midpoints, exact for constant coefficients and stable for any
conductance). NEST integrates the same equations with GSL's adaptive RKF45; the measured
differences are in docs/numerics.rst. Threshold, reset and refractory clamp are NEST's: v is
held at v_reset for tau_refrac (in steps) after a spike, the conductances keep evolving, and
the spikes arriving in a step are added to g at its end.
"""
import jax.numpy as jnp
from jax import lax

from .base import NeuronModel
from ..time_grid import refractory_steps
from .lif_current import LIF_PARAMETERS, threshold_and_reset

COND_PARAMETERS = LIF_PARAMETERS + ("tau_syn_E", "tau_syn_I", "e_rev_E", "e_rev_I")


Z_RK4 = 0.25          # largest h G / cm of one RK4 (sub)step
T_RK4 = 0.5           # largest h / tau_syn of one RK4 (sub)step
Z_NEGLIGIBLE = 1e-6   # h g / cm of a conductance too weak to need T_RK4
MAX_SUBSTEPS = 1024   # RK4 substeps per time step at most


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


def substepped_membrane(p, v, conductances_at, i_total, h, z, n):
    """v after the step in n RK4 substeps per cell (a while loop of max(n) iterations, each
    cell counting its own); substeps with h_sub G / cm = z / n above Z_RK4 (n capped at
    MAX_SUBSTEPS) are exponential-Euler steps with g frozen at the midpoint."""
    h_sub = h / n
    capped = z / n > Z_RK4
    g_leak = p["cm"] / p["tau_m"]

    def substep(j, v):
        t = j * h_sub
        g_exc, g_inh = zip(*(conductances_at(t + f * h_sub) for f in (0.0, 0.5, 1.0)))
        v_rk4 = rk4_membrane(p, v, g_exc, g_inh, i_total, h_sub)
        conductance = g_leak + g_exc[1] + g_inh[1]
        v_inf = (g_leak * p["v_rest"] + g_exc[1] * p["e_rev_E"] + g_inh[1] * p["e_rev_I"]
                 + i_total) / conductance
        v_exp = v_inf + (v - v_inf) * jnp.exp(-h_sub * conductance / p["cm"])
        return jnp.where(j < n, jnp.where(capped, v_exp, v_rk4), v)

    return lax.fori_loop(0, jnp.max(n).astype(jnp.int32), substep, v)


def integrate_membrane(p, v, conductances, g, i_total, h):
    """v at the end of the step (see the module docstring), in a buffer of its own (the
    output of a conditional: see :func:`.base.materialised`).

    ``g`` is the tuple of conductance state arrays (uS) at the start of the step, which
    ``conductances`` (:class:`ExpConductances`, :class:`AlphaConductances`) reads;
    ``i_total`` (nA) is constant over the step. Only the state arrays enter the conditional,
    so that the single RK4 step remains one fused computation."""
    def substeps(g):
        bounds = conductances.bounds(g)
        z = h * (p["cm"] / p["tau_m"] + sum(bound for bound, _ in bounds)) / p["cm"]
        n = jnp.ceil(z / Z_RK4)
        for bound, tau in bounds:
            n = jnp.maximum(n, jnp.where(h * bound / p["cm"] > Z_NEGLIGIBLE,
                                         jnp.ceil(h / (tau * T_RK4)), 1.0))
        return z, jnp.clip(n, 1, MAX_SUBSTEPS)

    def single(v, g, i_total):
        return rk4_membrane(p, v, *conductances.profile(g), i_total, h)

    def substepped(v, g, i_total):
        z, n = substeps(g)
        return jnp.where(n > 1, substepped_membrane(p, v, lambda t: conductances.at(g, t),
                                                    i_total, h, z, n),
                         single(v, g, i_total))

    return lax.cond(jnp.any(substeps(g)[1] > 1), substepped, single, v, g, i_total)


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


class ExpConductances:
    """g_E, g_I decaying as exp(-t/tau_syn); state (g_E, g_I) at the start of the step."""

    def __init__(self, p, d, h):
        self.p, self.d, self.h = p, d, h

    def profile(self, g):
        """(g(0), g(h/2), g(h)) of each, from the decay over half a step."""
        return tuple((x, x * half, x * half * half)
                     for x, half in zip(g, (self.d["half_e"], self.d["half_i"])))

    def at(self, g, t):
        return tuple(x * jnp.exp(-t / self.p[tau]) for x, tau in zip(g, ("tau_syn_E", "tau_syn_I")))

    def bounds(self, g):
        """(bound of g over the step, tau_syn) of each: g at t = 0."""
        return [(jnp.abs(x), self.p[tau]) for x, tau in zip(g, ("tau_syn_E", "tau_syn_I"))]


class AlphaConductances(ExpConductances):
    """g(t) = (g0 + dg0 t) exp(-t/tau_syn); state (g_E, dg_E, g_I, dg_I)."""

    def profile(self, g):
        h = self.h
        return tuple((g0, (g0 + dg0 * 0.5 * h) * half, (g0 + dg0 * h) * half * half)
                     for g0, dg0, half in ((g[0], g[1], self.d["half_e"]),
                                           (g[2], g[3], self.d["half_i"])))

    def at(self, g, t):
        return tuple((g0 + dg0 * t) * jnp.exp(-t / self.p[tau])
                     for g0, dg0, tau in ((g[0], g[1], "tau_syn_E"), (g[2], g[3], "tau_syn_I")))

    def bounds(self, g):
        """max over t of (g0 + dg0 t) exp(-t/tau) <= g0 + dg0 tau / e."""
        return [(jnp.abs(g0) + jnp.abs(dg0) * self.p[tau] / jnp.e, self.p[tau])
                for g0, dg0, tau in ((g[0], g[1], "tau_syn_E"), (g[2], g[3], "tau_syn_I"))]


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
        conductances = ExpConductances(p, d, ctx.dt)
        g = (s["gsyn_exc"], s["gsyn_inh"])
        v_new = integrate_membrane(p, s["v"], conductances, g, p["i_offset"] + i_ext, ctx.dt)
        v, refractory, spikes = refractory_clamp(p, d, s, v_new)
        g_exc, g_inh = conductances.profile(g)
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
        conductances = AlphaConductances(p, d, ctx.dt)
        g = tuple(s[name] for name in ("gsyn_exc", "dgsyn_exc", "gsyn_inh", "dgsyn_inh"))
        v_new = integrate_membrane(p, s["v"], conductances, g, p["i_offset"] + i_ext, ctx.dt)
        v, refractory, spikes = refractory_clamp(p, d, s, v_new)
        new = {"v": v, "refractory": refractory}
        for (_, _, g_end), name, port, suffix in zip(conductances.profile(g), ("exc", "inh"),
                                                      (0, 1), ("e", "i")):
            decay = d["half_" + suffix] ** 2
            new["gsyn_" + name] = g_end
            new["dgsyn_" + name] = (s["dgsyn_" + name] * decay
                                    + d["jump_" + suffix] * syn_in[port])
        return new, spikes
