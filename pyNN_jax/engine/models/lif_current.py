"""Current-based leaky integrate-and-fire models, integrated exactly.

All three share the membrane equation

    cm dv/dt = cm (v_rest - v) / tau_m + I_syn(t) + i_offset + i_inj(t)

with a fixed threshold: when v >= v_thresh at the end of a step the cell spikes, v is set to
v_reset and held there for tau_refrac in steps, rounded up as NEST does (:mod:`..time_grid`). They differ in I_syn:

- ``IF_curr_exp`` (NEST ``iaf_psc_exp``): dI/dt = -I/tau_syn, a spike of weight w (nA) adds w to I.
- ``IF_curr_alpha`` (NEST ``iaf_psc_alpha``): I(t) = w e t/tau_syn exp(-t/tau_syn), peak w (nA)
  at t = tau_syn; state (dI, I).
- ``IF_curr_delta`` (NEST ``iaf_psc_delta``): a spike of weight w (mV) makes v jump by w; input
  arriving during the refractory period is discarded, as in NEST.

IF_curr_exp and IF_curr_delta also advance a whole block of steps at once (``step_block``, the
block method of :mod:`.block`, opt-in with ``setup(block_method=True)``).

Integration is exact for piecewise-constant injected current (Rotter & Diesmann 1999): the
state is multiplied by precomputed propagators (see :mod:`.propagators`), the order of
operations within a step is NEST's (membrane update with the synaptic current at the start of
the step, then synaptic decay, then the spikes arriving in this step are added, then the
threshold test). Inhibitory weights are negative (PyNN's convention for current synapses).
"""
import jax.numpy as jnp

from ..time_grid import refractory_steps
from . import propagators as prop
from .base import NeuronModel
from .block import free_steps, linear_recurrence, threshold_in_block

LIF_PARAMETERS = ("tau_m", "cm", "v_rest", "v_thresh", "v_reset", "tau_refrac", "i_offset")


def threshold_and_reset(p, v, refractory, ref_steps):
    """Spike where v >= v_thresh; reset v and start the refractory countdown."""
    spike = v >= p["v_thresh"]
    v = jnp.where(spike, p["v_reset"], v)
    refractory = jnp.where(spike, ref_steps, refractory)
    return v, refractory, spike.astype(jnp.int32)


class IFCurrExp(NeuronModel):
    name = "IF_curr_exp"
    parameter_names = LIF_PARAMETERS + ("tau_syn_E", "tau_syn_I")
    state_names = ("v", "isyn_exc", "isyn_inh", "refractory")
    port_names = ("excitatory", "inhibitory")
    scalar_parameters = True

    def derive(self, p, dt, xp):
        return {
            "P22": prop.membrane_decay(xp, p["tau_m"], dt),
            "P20": prop.current_to_voltage(xp, p["tau_m"], p["cm"], dt),
            "P21e": prop.exp_current_to_voltage(xp, p["tau_syn_E"], p["tau_m"], p["cm"], dt),
            "P21i": prop.exp_current_to_voltage(xp, p["tau_syn_I"], p["tau_m"], p["cm"], dt),
            "P11e": xp.exp(-dt / p["tau_syn_E"]),
            "P11i": xp.exp(-dt / p["tau_syn_I"]),
            "ref_steps": refractory_steps(xp, p["tau_refrac"], dt),
        }

    def step(self, p, d, s, syn_in, i_ext, ctx):
        free = s["refractory"] == 0
        v_free = (p["v_rest"] + d["P22"] * (s["v"] - p["v_rest"])
                  + d["P21e"] * s["isyn_exc"] + d["P21i"] * s["isyn_inh"]
                  + d["P20"] * (p["i_offset"] + i_ext))
        v = jnp.where(free, v_free, s["v"])
        refractory = jnp.where(free, 0, s["refractory"] - 1)
        isyn_exc = s["isyn_exc"] * d["P11e"] + syn_in[0]
        isyn_inh = s["isyn_inh"] * d["P11i"] + syn_in[1]
        v, refractory, spikes = threshold_and_reset(p, v, refractory, d["ref_steps"])
        return {"v": v, "isyn_exc": isyn_exc, "isyn_inh": isyn_inh,
                "refractory": refractory}, spikes

    def step_block(self, p, d, s, syn_in, i_ext, ctx):
        """Block method (:mod:`.block`): the synaptic currents and the membrane are linear
        recurrences over the block, v relative to v_rest as in :meth:`step`."""
        free = free_steps(s["refractory"], syn_in.shape[0])
        isyn_exc = linear_recurrence(d["P11e"], syn_in[:, 0], s["isyn_exc"])
        isyn_inh = linear_recurrence(d["P11i"], syn_in[:, 1], s["isyn_inh"])
        drive = (d["P21e"] * isyn_exc[:-1] + d["P21i"] * isyn_inh[:-1]
                 + d["P20"] * (p["i_offset"] + i_ext))
        u = linear_recurrence(jnp.where(free, d["P22"], 1.0), jnp.where(free, drive, 0.0),
                              s["v"] - p["v_rest"])
        counts, v, refractory = threshold_in_block(p, d, s["refractory"], p["v_rest"] + u[1:])
        return {"v": v, "isyn_exc": isyn_exc[1:], "isyn_inh": isyn_inh[1:],
                "refractory": refractory}, counts


class IFCurrAlpha(NeuronModel):
    name = "IF_curr_alpha"
    parameter_names = LIF_PARAMETERS + ("tau_syn_E", "tau_syn_I")
    state_names = ("v", "isyn_exc", "disyn_exc", "isyn_inh", "disyn_inh", "refractory")
    port_names = ("excitatory", "inhibitory")
    scalar_parameters = True

    def derive(self, p, dt, xp):
        d = {
            "P33": prop.membrane_decay(xp, p["tau_m"], dt),
            "P30": prop.current_to_voltage(xp, p["tau_m"], p["cm"], dt),
            "ref_steps": refractory_steps(xp, p["tau_refrac"], dt),
        }
        for suffix, tau in (("e", p["tau_syn_E"]), ("i", p["tau_syn_I"])):
            d["P11" + suffix] = xp.exp(-dt / tau)
            d["P21" + suffix] = dt * xp.exp(-dt / tau)
            d["P31" + suffix] = prop.alpha_derivative_to_voltage(xp, tau, p["tau_m"], p["cm"], dt)
            d["P32" + suffix] = prop.exp_current_to_voltage(xp, tau, p["tau_m"], p["cm"], dt)
            d["jump" + suffix] = xp.e / tau      # peak of the alpha function = weight
        return d

    def step(self, p, d, s, syn_in, i_ext, ctx):
        free = s["refractory"] == 0
        v_free = (p["v_rest"] + d["P33"] * (s["v"] - p["v_rest"])
                  + d["P30"] * (p["i_offset"] + i_ext)
                  + d["P31e"] * s["disyn_exc"] + d["P32e"] * s["isyn_exc"]
                  + d["P31i"] * s["disyn_inh"] + d["P32i"] * s["isyn_inh"])
        v = jnp.where(free, v_free, s["v"])
        refractory = jnp.where(free, 0, s["refractory"] - 1)
        new = {}
        for suffix, name, port in (("e", "exc", 0), ("i", "inh", 1)):
            d_current, current = s["disyn_" + name], s["isyn_" + name]
            new["isyn_" + name] = d["P21" + suffix] * d_current + d["P11" + suffix] * current
            new["disyn_" + name] = (d["P11" + suffix] * d_current
                                    + d["jump" + suffix] * syn_in[port])
        v, refractory, spikes = threshold_and_reset(p, v, refractory, d["ref_steps"])
        new.update(v=v, refractory=refractory)
        return new, spikes


class IFCurrDelta(NeuronModel):
    name = "IF_curr_delta"
    parameter_names = LIF_PARAMETERS
    state_names = ("v", "refractory")
    port_names = ("excitatory", "inhibitory")
    scalar_parameters = True

    def derive(self, p, dt, xp):
        return {
            "P33": prop.membrane_decay(xp, p["tau_m"], dt),
            "P30": prop.current_to_voltage(xp, p["tau_m"], p["cm"], dt),
            "ref_steps": refractory_steps(xp, p["tau_refrac"], dt),
        }

    def step(self, p, d, s, syn_in, i_ext, ctx):
        free = s["refractory"] == 0
        v_free = (p["v_rest"] + d["P33"] * (s["v"] - p["v_rest"])
                  + d["P30"] * (p["i_offset"] + i_ext) + syn_in[0] + syn_in[1])
        v = jnp.where(free, v_free, s["v"])
        refractory = jnp.where(free, 0, s["refractory"] - 1)
        v, refractory, spikes = threshold_and_reset(p, v, refractory, d["ref_steps"])
        return {"v": v, "refractory": refractory}, spikes

    def step_block(self, p, d, s, syn_in, i_ext, ctx):
        """Block method (:mod:`.block`); input arriving while refractory is discarded."""
        free = free_steps(s["refractory"], syn_in.shape[0])
        drive = d["P30"] * (p["i_offset"] + i_ext) + syn_in[:, 0] + syn_in[:, 1]
        u = linear_recurrence(jnp.where(free, d["P33"], 1.0), jnp.where(free, drive, 0.0),
                              s["v"] - p["v_rest"])
        counts, v, refractory = threshold_in_block(p, d, s["refractory"], p["v_rest"] + u[1:])
        return {"v": v, "refractory": refractory}, counts
