"""Hodgkin-Huxley cell with Traub's rate functions, NEST's ``hh_cond_exp_traub`` (PyNN's
``HH_cond_exp``):

    cm dv/dt = -gbar_Na m^3 h (v - e_rev_Na) - gbar_K n^4 (v - e_rev_K) - g_leak (v - e_rev_leak)
               + g_E(t) (e_rev_E - v) + g_I(t) (e_rev_I - v) + i_offset + i_inj
    dx/dt = alpha_x(u) (1 - x) - beta_x(u) x,  x in (m, h, n),  u = v - v_offset

    alpha_n = 0.032 (15 - u) / (exp((15 - u)/5) - 1)   beta_n = 0.5 exp((10 - u)/40)
    alpha_m = 0.32 (13 - u) / (exp((13 - u)/4) - 1)    beta_m = 0.28 (u - 40) / (exp((u-40)/5) - 1)
    alpha_h = 0.128 exp((17 - u)/18)                   beta_h = 4 / (1 + exp((40 - u)/5))

A spike is emitted at the peak of an action potential: when v > v_offset + 30 mV and v has
started to fall, followed by a 2 ms dead time for spike detection (NEST's t_ref default).
Scheme: RK4 in substeps of at most 0.01 ms, exponential Euler (Rush-Larsen for the gating
variables) where a conductance makes RK4 unstable (:func:`.substeps.stable_step`);
conductances in closed form.
"""
import jax.numpy as jnp
from jax import lax

from ..time_grid import refractory_steps
from .base import NeuronModel
from .substeps import ExpConductances, n_substeps, stable_step

DETECTION_DEAD_TIME = 2.0   # ms


def _vtrap(x, y):
    """x / (exp(x/y) - 1), continuous at x = 0 (its limit y)."""
    small = jnp.abs(x / y) < 1e-6
    safe_x = jnp.where(small, 1.0, x)
    return jnp.where(small, y * (1 - x / y / 2), safe_x / jnp.expm1(safe_x / y))


def gating_rates(u):
    """(alpha, beta) of m, h and n at u = v - v_offset (mV), in 1/ms."""
    alpha_m = 0.32 * _vtrap(13.0 - u, 4.0)
    beta_m = 0.28 * _vtrap(u - 40.0, 5.0)
    alpha_h = 0.128 * jnp.exp((17.0 - u) / 18.0)
    beta_h = 4.0 / (1.0 + jnp.exp((40.0 - u) / 5.0))
    alpha_n = 0.032 * _vtrap(15.0 - u, 5.0)
    beta_n = 0.5 * jnp.exp((10.0 - u) / 40.0)
    return (alpha_m, beta_m), (alpha_h, beta_h), (alpha_n, beta_n)


class HHCondExp(NeuronModel):
    name = "HH_cond_exp"
    parameter_names = ("gbar_Na", "gbar_K", "g_leak", "cm", "v_offset", "e_rev_Na", "e_rev_K",
                       "e_rev_leak", "e_rev_E", "e_rev_I", "tau_syn_E", "tau_syn_I", "i_offset")
    state_names = ("v", "m", "h", "n", "gsyn_exc", "gsyn_inh", "refractory")
    port_names = ("excitatory", "inhibitory")
    scalar_parameters = True
    conductances = ExpConductances

    def derive(self, p, dt, xp):
        return {"dead_steps": refractory_steps(xp, xp.full_like(p["cm"], DETECTION_DEAD_TIME),
                                               dt)}

    def step(self, p, d, s, syn_in, i_ext, ctx):
        dt = ctx.dt
        n_sub = n_substeps(dt)
        h = dt / n_sub
        i_total = p["i_offset"] + i_ext

        def derivatives(t, y):
            v, m, hh, n = y
            g_exc, g_inh = self.conductances.at(p, s, t)
            (am, bm), (ah, bh), (an, bn) = gating_rates(v - p["v_offset"])
            dv = (-p["gbar_Na"] * m ** 3 * hh * (v - p["e_rev_Na"])
                  - p["gbar_K"] * n ** 4 * (v - p["e_rev_K"])
                  - p["g_leak"] * (v - p["e_rev_leak"])
                  + g_exc * (p["e_rev_E"] - v) + g_inh * (p["e_rev_I"] - v) + i_total) / p["cm"]
            return dv, am * (1 - m) - bm * m, ah * (1 - hh) - bh * hh, an * (1 - n) - bn * n

        def rates(t, y):
            v, m, hh, n = y
            g_exc, g_inh = self.conductances.at(p, s, t)
            (am, bm), (ah, bh), (an, bn) = gating_rates(v - p["v_offset"])
            g_total = (p["gbar_Na"] * m ** 3 * hh + p["gbar_K"] * n ** 4 + p["g_leak"]
                       + g_exc + g_inh)
            return g_total / p["cm"], am + bm, ah + bh, an + bn

        def substep(i, y):
            return stable_step(derivatives, rates, y, i * h, h)

        v, m, hh, n = lax.fori_loop(0, n_sub, substep, (s["v"], s["m"], s["h"], s["n"]))
        free = s["refractory"] == 0
        spike = free & (v > p["v_offset"] + 30.0) & (v < s["v"])
        refractory = jnp.where(spike, d["dead_steps"], jnp.maximum(s["refractory"] - 1, 0))
        new = {"v": v, "m": m, "h": hh, "n": n, "refractory": refractory}
        new.update(self.conductances.advance(p, d, s, syn_in, dt))
        return new, spike.astype(jnp.int32)
