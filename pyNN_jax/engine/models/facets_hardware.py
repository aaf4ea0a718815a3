"""PyNN's ``IF_facets_hardware1``: the conductance-based LIF of the FACETS hardware stage 1,
which pyNN.nest runs as NEST's ``iaf_cond_exp`` with fixed C_m = 200 pF, t_ref = 1 ms,
E_ex = 0 mV and I_e = 0 (``extra_parameters``), and g_L = g_leak (nS) from PyNN.

Here: the engine's IF_cond_exp (:mod:`.lif_conductance`: an exponential integrator with
closed-form conductances, NEST's threshold, reset and refractory clamp) under its own name, so
that the cells form a group of their own, with the IF_cond_exp parameters

    cm = 0.2 nF, tau_m = cm / g_leak = 200 pF / g_leak (ms), tau_refrac = 1 ms,
    e_rev_E = 0 mV, i_offset = 0 nA,

and tau_syn_E, tau_syn_I, v_reset, e_rev_I, v_rest, v_thresh as given.
"""
import numpy as np

from .lif_conductance import IFCondExp

FIXED = {"cm": 0.2, "tau_refrac": 1.0, "e_rev_E": 0.0, "i_offset": 0.0}
GIVEN = ("tau_syn_E", "tau_syn_I", "v_reset", "e_rev_I", "v_rest", "v_thresh")


def cond_exp_parameters(g_leak, **given):
    """IF_cond_exp parameter arrays from the FACETS parameters (g_leak in nS)."""
    g_leak = np.asarray(g_leak, dtype=float)
    p = {name: np.full(g_leak.shape, value) for name, value in FIXED.items()}
    p["tau_m"] = FIXED["cm"] * 1000.0 / g_leak
    p.update({name: np.asarray(given[name], dtype=float) for name in GIVEN})
    return p


class IFFacetsHardware1(IFCondExp):
    """IF_cond_exp with the parameter set above (parameters are IF_cond_exp's)."""
    name = "IF_facets_hardware1"
