"""Conductance-based LIF with spike-frequency adaptation and relative refractoriness
(Muller et al. 2007; Dayan & Abbott 2001 p. 166), NEST's ``iaf_cond_exp_sfa_rr``, PyNN's
``IF_cond_exp_gsfa_grr``:

    cm dv/dt = cm (v_rest - v)/tau_m + g_E (e_rev_E - v) + g_I (e_rev_I - v)
               + g_s (e_rev_sfa - v) + g_r (e_rev_rr - v) + i_offset + i_inj
    dg_E/dt = -g_E/tau_syn_E     dg_I/dt = -g_I/tau_syn_I
    dg_s/dt = -g_s/tau_sfa       dg_r/dt = -g_r/tau_rr

At v >= v_thresh (tested at the end of a step): spike stamped (k+1) dt, v -> v_reset, held
there for tau_refrac in steps, rounded up (:mod:`..time_grid`), g_s -> g_s + q_sfa, g_r -> g_r + q_rr.
Units: g_E, g_I in uS (synaptic weights in uS, as for IF_cond_exp); g_s, g_r, q_sfa and q_rr
in nS (PyNN's units for this model; the state variables ``g_s`` and ``g_r`` are recorded in
nS), converted to uS inside the membrane equation.

Scheme: all four conductances are linear and advance in closed form. The membrane equation
is integrated with the classical RK4 method in substeps of at most 0.01 ms (exponential Euler
where a large conductance would make RK4 unstable: :func:`.substeps.stable_step`)
with the conductances evaluated in closed form at any time of the step: the relative
refractory conductance is large right after a spike (q_rr/cm of order 1-10 per ms), which
a single RK4 step of 0.1 ms would follow only to about 1 %. The order of operations is
NEST's (iaf_cond_exp_sfa_rr::update): integrate over the step, add the synaptic weights
arriving in the step to g_E and g_I, then either count down the refractory period (v set to
v_reset) or test the threshold. NEST integrates with GSL's adaptive RKF45.
"""
import jax.numpy as jnp
from jax import lax

from ..time_grid import refractory_steps
from .base import NeuronModel, materialised
from .lif_conductance import COND_PARAMETERS, refractory_clamp
from .substeps import n_substeps, stable_step

GSFA_GRR_PARAMETERS = COND_PARAMETERS + ("tau_sfa", "e_rev_sfa", "q_sfa",
                                         "tau_rr", "e_rev_rr", "q_rr")
NS_TO_US = 1e-3
# (state variable, time constant) of the four conductances, in this order
CONDUCTANCES = (("gsyn_exc", "tau_syn_E"), ("gsyn_inh", "tau_syn_I"),
                ("g_s", "tau_sfa"), ("g_r", "tau_rr"))


class IFCondExpGsfaGrr(NeuronModel):
    name = "IF_cond_exp_gsfa_grr"
    parameter_names = GSFA_GRR_PARAMETERS
    state_names = ("v", "gsyn_exc", "gsyn_inh", "g_s", "g_r", "refractory")
    port_names = ("excitatory", "inhibitory")
    scalar_parameters = True

    def derive(self, p, dt, xp):
        return {"ref_steps": refractory_steps(xp, p["tau_refrac"], dt),
                "g_leak": p["cm"] / p["tau_m"]}

    def step(self, p, d, s, syn_in, i_ext, ctx):
        dt = ctx.dt
        n_sub = n_substeps(dt)
        h = dt / n_sub
        i_total = p["i_offset"] + i_ext
        g0 = {name: s[name] for name, _ in CONDUCTANCES}

        def conductances(t):
            return [g0[name] * jnp.exp(-t / p[tau]) for name, tau in CONDUCTANCES]

        def derivative(t, y):
            (v,) = y
            g_e, g_i, g_s, g_r = conductances(t)
            dv = (d["g_leak"] * (p["v_rest"] - v) + g_e * (p["e_rev_E"] - v)
                  + g_i * (p["e_rev_I"] - v) + NS_TO_US * g_s * (p["e_rev_sfa"] - v)
                  + NS_TO_US * g_r * (p["e_rev_rr"] - v) + i_total) / p["cm"]
            return (dv,)

        def rates(t, y):
            g_e, g_i, g_s, g_r = conductances(t)
            return ((d["g_leak"] + g_e + g_i + NS_TO_US * (g_s + g_r)) / p["cm"],)

        def substep(i, y):
            return stable_step(derivative, rates, y, i * h, h)

        (v_new,) = lax.fori_loop(0, n_sub, substep, (s["v"],))
        g_e, g_i, g_s, g_r = conductances(dt)
        v, refractory, spikes = refractory_clamp(p, d, s, materialised(v_new, ctx.step))
        fired = spikes > 0
        return {"v": v, "gsyn_exc": g_e + syn_in[0], "gsyn_inh": g_i + syn_in[1],
                "g_s": jnp.where(fired, g_s + p["q_sfa"], g_s),
                "g_r": jnp.where(fired, g_r + p["q_rr"], g_r),
                "refractory": refractory}, spikes
