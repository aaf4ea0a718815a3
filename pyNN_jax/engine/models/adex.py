"""Adaptive exponential integrate-and-fire (AdEx; Brette & Gerstner 2005), NEST's
``aeif_cond_exp`` and ``aeif_cond_alpha``:

    cm dv/dt = g_L (v_rest - v) + g_L delta_T exp((v - v_thresh)/delta_T)
               + g_E(t) (e_rev_E - v) + g_I(t) (e_rev_I - v) - w + i_offset + i_inj
    tau_w dw/dt = a (v - v_rest) - w,          g_L = cm / tau_m

At v >= v_spike: v -> v_reset, w -> w + b, and v is held at v_reset for tau_refrac.
Units: a in nS (converted to uS), b and w in nA.

Scheme: RK4 in substeps of at most 0.01 ms, exponential Euler for a cell whose conductance
would make RK4 unstable (:func:`.substeps.stable_step`), with the threshold tested after each
substep and v capped at v_spike inside the exponential (as NEST does), conductances in
closed form. NEST integrates the same equations with adaptive RKF45; the measured difference
is in docs/numerics.rst.
"""
from ..time_grid import refractory_steps
from .base import NeuronModel
from .substeps import AlphaConductances, ExpConductances, integrate_membrane

ADEX_PARAMETERS = ("cm", "tau_refrac", "v_spike", "v_reset", "v_rest", "tau_m", "i_offset",
                   "a", "b", "delta_T", "tau_w", "v_thresh", "e_rev_E", "tau_syn_E",
                   "e_rev_I", "tau_syn_I")


class AdExp(NeuronModel):
    """AdEx with exponentially decaying conductances (EIF_cond_exp_isfa_ista)."""
    name = "EIF_cond_exp_isfa_ista"
    conductances = ExpConductances
    parameter_names = ADEX_PARAMETERS
    port_names = ("excitatory", "inhibitory")
    scalar_parameters = True

    @property
    def state_names(self):
        return ("v", "w") + self.conductances.state_names + ("refractory",)

    def derive(self, p, dt, xp):
        return {"ref_steps": refractory_steps(xp, p["tau_refrac"], dt),
                "g_leak": p["cm"] / p["tau_m"]}

    def step(self, p, d, s, syn_in, i_ext, ctx):
        def synaptic_current(t, v):
            g_exc, g_inh = self.conductances.at(p, s, t)
            return g_exc * (p["e_rev_E"] - v) + g_inh * (p["e_rev_I"] - v)

        v, w, spiked, refractory = integrate_membrane(
            p, d, s, synaptic_current, p["i_offset"] + i_ext, ctx.dt, adaptation=True)
        new = {"v": v, "w": w, "refractory": refractory}
        new.update(self.conductances.advance(p, d, s, syn_in, ctx.dt))
        return new, spiked


class AdExpAlpha(AdExp):
    """AdEx with alpha-function conductances (EIF_cond_alpha_isfa_ista)."""
    name = "EIF_cond_alpha_isfa_ista"
    conductances = AlphaConductances
