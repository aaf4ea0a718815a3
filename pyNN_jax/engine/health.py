"""A state that is no longer finite stops the run with an error that says where and why.

After each chunk, :func:`nonfinite_cells` finds, on the state at the chunk's end copied to the
host (numpy: no compilation, read when the chunk's recordings are copied out, so no step
waits for it), per group of cells and per real state variable, whether any cell holds NaN or
an infinity and which cell is the first; :func:`instability` turns the first finding into a
:class:`NumericalInstabilityError` naming the population, the cell, the time interval of the
chunk, the state variable and the parameter most likely at fault.
"""
import numpy as np

from pyNN import errors

from . import processes


class NumericalInstabilityError(errors.InvalidParameterValueError):
    """A state variable became NaN or infinite (NEST raises ``NumericalInstability`` for
    the same)."""


def nonfinite_cells(groups):
    """Per group, {state variable: (any cell non-finite, index of the first such cell)} for
    the real-valued state variables (rows of 2-D state are cells); ``groups`` as the engine's
    state holds them (device arrays are copied to the host)."""
    findings = []
    for state in processes.fetch(groups):
        found = {}
        for name, x in state.items():
            if np.issubdtype(x.dtype, np.floating):
                bad = ~np.isfinite(x.reshape(x.shape[0], -1)).all(axis=1)
                found[name] = (bool(bad.any()), int(np.argmax(bad)))
        findings.append(found)
    return findings


# the parameters most likely at fault, by state variable (then by model)
SUSPECTS = {
    "gsyn_exc": "the weights onto the excitatory receptor (uS)",
    "dgsyn_exc": "the weights onto the excitatory receptor (uS)",
    "isyn_exc": "the weights onto the excitatory receptor (nA)",
    "gsyn_inh": "the weights onto the inhibitory receptor (uS)",
    "dgsyn_inh": "the weights onto the inhibitory receptor (uS)",
    "isyn_inh": "the weights onto the inhibitory receptor (nA)",
    "w": "a, b or tau_w (the adaptation current)",
    "u": "a or b (the forward-Euler step of u diverges when a dt > 2), or d",
}
MEMBRANE_SUSPECTS = {
    "Izhikevich": "i_offset or the weights, too large for the forward-Euler step dt "
                  "(the quadratic term diverges: use a smaller timestep)",
    "EIF_cond_exp_isfa_ista": "delta_T or v_spike (the exponential term), or the weights",
    "EIF_cond_alpha_isfa_ista": "delta_T or v_spike (the exponential term), or the weights",
    "HH_cond_exp": "the weights or gbar_Na, gbar_K, too large for the integration step",
}
DEFAULT_MEMBRANE_SUSPECT = "cm, tau_m, i_offset or the weights (a value infinite or NaN?)"


def instability(findings, layout, t_start, t_stop):
    """The error for the first non-finite state in ``findings`` (:func:`nonfinite_cells`),
    or None. ``layout`` maps groups to populations; the chunk ran
    from ``t_start`` to ``t_stop`` (ms)."""
    for g, found in enumerate(findings):
        for name, (any_bad, first) in found.items():
            if not any_bad:
                continue
            model, populations = layout.groups[g]
            index = int(first)
            for population in populations:
                if index < population.size:
                    break
                index -= population.size
            suspect = SUSPECTS.get(name) or MEMBRANE_SUSPECTS.get(
                model.name, DEFAULT_MEMBRANE_SUSPECT)
            return NumericalInstabilityError(
                f"{population.celltype.__class__.__name__} population "
                f"'{population.label}': state variable '{name}' of cell "
                f"{int(np.asarray(population.all_cells)[index])} (index {index}) became NaN "
                f"or infinite between t = {t_start:g} and {t_stop:g} ms. Most likely at "
                f"fault: {suspect}. The run stopped; the data recorded up to the current "
                f"time are kept (get_data()).")
    return None
