"""Composed point neurons (PyNN's ``PointNeuron``): a LIF or AdEx membrane with any number of
named synaptic receptors, each current- or conductance-based (NEST's ``*_multisynapse``
models).

Receptor kinds and their response to a spike of weight w arriving at t = 0:

- ``CurrExp``:   I(t) = w exp(-t/tau_syn), a current (nA) into the membrane;
- ``CondExp``:   g(t) = w exp(-t/tau_syn), current g (e_syn - v);
- ``CondAlpha``: g(t) = w (t/tau_syn) exp(1 - t/tau_syn), peak w at tau_syn;
- ``CondBeta``:  g(t) = w N (exp(-t/tau_decay) - exp(-t/tau_rise)), N normalising the peak to w.

Membrane: ``LIF`` (cm dv/dt = cm (v_rest - v)/tau_m + I_syn + i_offset + i_inj, threshold
v_thresh) or ``AdExp`` (see :mod:`.adex`). Scheme: RK4 in substeps of at most 0.01 ms
(exponential Euler where RK4 is unstable) with every receptor in closed form (:mod:`.substeps`); threshold, reset and refractory clamp as in
the corresponding standard models. Parameters and state of receptor R are named "R.tau_syn",
"R.e_syn", "R.gsyn", "R.isyn" as in PyNN.
"""
import jax.numpy as jnp

from ..time_grid import refractory_steps
from .base import NeuronModel
from .substeps import integrate_membrane

MEMBRANE_PARAMETERS = {
    "LIF": ("cm", "tau_refrac", "v_reset", "v_rest", "tau_m", "i_offset", "v_thresh"),
    "AdExp": ("cm", "tau_refrac", "v_spike", "v_reset", "v_rest", "tau_m", "i_offset", "a", "b",
              "delta_T", "tau_w", "v_thresh"),
}
RECEPTOR_PARAMETERS = {"CurrExp": ("tau_syn",), "CondExp": ("tau_syn", "e_syn"),
                       "CondAlpha": ("tau_syn", "e_syn"),
                       "CondBeta": ("tau_rise", "tau_decay", "e_syn")}
RECEPTOR_STATE = {"CurrExp": ("isyn",), "CondExp": ("gsyn",), "CondAlpha": ("gsyn", "dgsyn"),
                  "CondBeta": ("gsyn", "gsyn_rise", "gsyn_decay")}


def beta_peak_normalisation(xp, tau_rise, tau_decay):
    """1 / max_t (exp(-t/tau_decay) - exp(-t/tau_rise))."""
    t_peak = tau_decay * tau_rise / (tau_decay - tau_rise) * xp.log(tau_decay / tau_rise)
    return 1.0 / (xp.exp(-t_peak / tau_decay) - xp.exp(-t_peak / tau_rise))


class PointNeuronModel(NeuronModel):
    """A membrane with named receptors ``((name, kind), ...)`` in PyNN's (sorted) order."""
    scalar_parameters = True

    def __init__(self, membrane, receptors):
        self.membrane = membrane
        self.receptors = tuple(receptors)
        self.name = "PointNeuron[{}: {}]".format(
            membrane, ", ".join(f"{n}={k}" for n, k in self.receptors))
        self.port_names = tuple(n for n, _ in self.receptors)
        self.parameter_names = MEMBRANE_PARAMETERS[membrane] + tuple(
            f"{n}.{p}" for n, k in self.receptors for p in RECEPTOR_PARAMETERS[k])
        self.state_names = (("v", "w") if membrane == "AdExp" else ("v",)) + tuple(
            f"{n}.{v}" for n, k in self.receptors for v in RECEPTOR_STATE[k]) + ("refractory",)

    def derive(self, p, dt, xp):
        d = {"ref_steps": refractory_steps(xp, p["tau_refrac"], dt),
             "g_leak": p["cm"] / p["tau_m"]}
        for n, k in self.receptors:
            if k == "CondBeta":
                d[f"{n}.norm"] = beta_peak_normalisation(xp, p[f"{n}.tau_rise"],
                                                         p[f"{n}.tau_decay"])
        return d

    def _receptor_values(self, p, s, t):
        """Current (nA) or conductance (uS) of each receptor at time t of the step."""
        values = {}
        for n, k in self.receptors:
            if k == "CurrExp":
                values[n] = s[f"{n}.isyn"] * jnp.exp(-t / p[f"{n}.tau_syn"])
            elif k == "CondExp":
                values[n] = s[f"{n}.gsyn"] * jnp.exp(-t / p[f"{n}.tau_syn"])
            elif k == "CondAlpha":
                values[n] = ((s[f"{n}.gsyn"] + s[f"{n}.dgsyn"] * t)
                             * jnp.exp(-t / p[f"{n}.tau_syn"]))
            else:
                values[n] = (s[f"{n}.gsyn_decay"] * jnp.exp(-t / p[f"{n}.tau_decay"])
                             - s[f"{n}.gsyn_rise"] * jnp.exp(-t / p[f"{n}.tau_rise"]))
        return values

    def _advance_receptors(self, p, d, s, syn_in, dt):
        new = {}
        for port, (n, k) in enumerate(self.receptors):
            w = syn_in[port]
            if k == "CurrExp":
                new[f"{n}.isyn"] = s[f"{n}.isyn"] * jnp.exp(-dt / p[f"{n}.tau_syn"]) + w
            elif k == "CondExp":
                new[f"{n}.gsyn"] = s[f"{n}.gsyn"] * jnp.exp(-dt / p[f"{n}.tau_syn"]) + w
            elif k == "CondAlpha":
                tau = p[f"{n}.tau_syn"]
                decay = jnp.exp(-dt / tau)
                new[f"{n}.gsyn"] = (s[f"{n}.gsyn"] + s[f"{n}.dgsyn"] * dt) * decay
                new[f"{n}.dgsyn"] = s[f"{n}.dgsyn"] * decay + jnp.e / tau * w
            else:
                norm = d[f"{n}.norm"]
                decay_part = (s[f"{n}.gsyn_decay"] * jnp.exp(-dt / p[f"{n}.tau_decay"])
                              + norm * w)
                rise_part = s[f"{n}.gsyn_rise"] * jnp.exp(-dt / p[f"{n}.tau_rise"]) + norm * w
                new.update({f"{n}.gsyn_decay": decay_part, f"{n}.gsyn_rise": rise_part,
                            f"{n}.gsyn": decay_part - rise_part})
        return new

    def step(self, p, d, s, syn_in, i_ext, ctx):
        def synaptic_current(t, v):
            current = 0.0
            for (n, k), value in zip(self.receptors, self._receptor_values(p, s, t).values()):
                current = current + (value if k == "CurrExp" else value * (p[f"{n}.e_syn"] - v))
            return current

        adex = self.membrane == "AdExp"
        v, w, spiked, refractory = integrate_membrane(
            p, d, s, synaptic_current, p["i_offset"] + i_ext, ctx.dt, adaptation=adex)
        new = {"v": v, "refractory": refractory}
        if adex:
            new["w"] = w
        new.update(self._advance_receptors(p, d, s, syn_in, ctx.dt))
        return new, spiked
