"""Exact-integration propagators of linear membrane and synapse equations.

The same formulas as NEST's ``propagator_stability.h`` (Rotter & Diesmann 1999; Hanuschkin
et al. 2010): the membrane, tau_m dV/dt = -(V - E_L) + R I(t), driven by a synaptic current that
decays exponentially (or as an alpha function) with tau_syn, is advanced over one step h
without approximation. The closed forms are written in the difference of the rates, so that
they stay accurate (no singularity) as tau_syn -> tau_m. ``xp`` is numpy (host, float64) or
jax.numpy.
"""


def membrane_decay(xp, tau_m, h):
    """P22 = exp(-h/tau_m)."""
    return xp.exp(-h / tau_m)


def current_to_voltage(xp, tau_m, cm, h):
    """P20: response of V (mV) to a constant current of 1 nA held during h."""
    return -tau_m / cm * xp.expm1(-h / tau_m)


def exp_current_to_voltage(xp, tau_syn, tau_m, cm, h):
    """P21 (NEST propagator_32): response of V at h to a synaptic current of 1 nA at t=0
    decaying as exp(-t/tau_syn).

    Written as h exp(-h/tau_m) / cm * (1 - exp(-z)) / z with z = h (tau_m - tau_syn) /
    (tau_m tau_syn): the difference of time constants is taken exactly, so the formula stays
    accurate as tau_syn -> tau_m, where (1 - exp(-z))/z -> 1.
    """
    return exp_current_propagators(xp, tau_syn, tau_m, cm, h, xp.exp(-h / tau_m))[0]


def exp_current_propagators(xp, tau_syn, tau_m, cm, h, membrane_decay):
    """(P21, exp(-h/tau_syn)) from ``membrane_decay`` = exp(-h/tau_m), with one expm1: the
    synaptic decay is exp(-h/tau_m) exp(-z) (:func:`exp_current_to_voltage`)."""
    z = h * (tau_m - tau_syn) / (tau_m * tau_syn)
    small = xp.abs(z) < 1e-8
    decay_difference = xp.expm1(-z)
    ratio = xp.where(small, 1.0 - 0.5 * z, -decay_difference / xp.where(small, 1.0, z))
    return h * membrane_decay / cm * ratio, membrane_decay * (1.0 + decay_difference)


def exp_current_propagators_without_expm1(xp, tau_syn, tau_m, cm, h, membrane_decay):
    """:func:`exp_current_propagators` from exponentials only (on a CPU, XLA's expm1 over the
    (cells, tests, events) pairs of a precise step took ~3x the time of an exponential):
    (1 - exp(-z))/z loses ~eps/z relative for z >= 1e-3, below which it is its series (to
    z^3: error < 1e-14)."""
    z = h * (tau_m - tau_syn) / (tau_m * tau_syn)
    small = xp.abs(z) < 1e-3
    decay_difference = xp.exp(-z)
    ratio = xp.where(small, 1.0 - z / 2 + z * z / 6 - z * z * z / 24,
                     (1.0 - decay_difference) / xp.where(small, 1.0, z))
    return h * membrane_decay / cm * ratio, membrane_decay * decay_difference


def alpha_derivative_to_voltage(xp, tau_syn, tau_m, cm, h):
    """P31: response of V at h to a synaptic current I(t) = t exp(-t/tau_syn) (dI/dt = 1 at 0).

    h^2 exp(-h/tau_m) / cm * (1 - exp(-x)(1 + x)) / x^2 with x = h (tau_m - tau_syn) /
    (tau_m tau_syn); for |x| < 1e-2 the ratio is its Taylor series (error < 1e-13).
    """
    x = h * (tau_m - tau_syn) / (tau_m * tau_syn)
    small = xp.abs(x) < 1e-2
    safe_x = xp.where(small, 1.0, x)
    regular = (-xp.expm1(-safe_x) - safe_x * xp.exp(-safe_x)) / safe_x ** 2
    series = 0.5 - x / 3 + x ** 2 / 8 - x ** 3 / 30 + x ** 4 / 144
    return h * h * xp.exp(-h / tau_m) / cm * xp.where(small, series, regular)
