"""The mock BrainScaleS-2: the chip's non-idealities applied to a placed network.

Every non-ideality is on by default and can be switched off (``setup(non_idealities=...)``).
All randomness comes from numpy Generators (fixed pattern) and the engine's keys (trial
noise), both derived from ``setup(seed=...)``:

- weight quantisation and saturation: the engine runs with the realised weights
  ``sign * steps * scale`` of :mod:`.placement` (6-bit steps, parallel synapses or saturation);
- spike times on the 8 ns hardware clock (0.008 ms biological): SpikeSourceArray times are
  truncated to clock cycles before they are played, recorded spike times are truncated to
  cycles too (their resolution is still the integration step ``timestep``);
- fixed-pattern variation: each of the 512 circuits keeps, for one seed, the same deviation of
  its time constants (log-normal, relative spread ``time_constant_spread``) and potentials
  (normal, ``voltage_spread_mv``) from the calibration target, over runs and reset(); each of
  the 131,072 synapses likewise keeps a log-normal efficacy factor (``synapse_spread``). The
  deviations belong to the circuit and the synapse, so moving a neuron or a projection changes
  them;
- trial-to-trial noise: a white noise current on every neuron, redrawn each time step and
  scaled per neuron so that the free membrane potential fluctuates with a standard deviation
  of ``membrane_noise_mv``; it differs from trial (run after setup or reset) to trial and is
  reproducible for the seed.
"""
from dataclasses import dataclass, fields

import numpy as np

from pyNN import errors
from pyNN.parameters import Sequence

from ..standardmodels.electrodes import NoisyCurrentSource
from .parameters import quantise_to_clock
from .placement import (CIRCUITS_PER_HEMISPHERE, N_CIRCUITS, N_HEMISPHERES,
                        ROWS_PER_HEMISPHERE, WEIGHT_STEPS)

TIME_CONSTANTS = ("tau_m", "tau_syn_E", "tau_syn_I", "tau_refrac")
POTENTIALS = ("v_rest", "v_reset", "v_thresh", "e_rev_E", "e_rev_I")
FIXED_PATTERN_STREAM = 0x5eed_f1ed   # tags the fixed-pattern Generators' SeedSequences
SYNAPSE_STREAM = 0x5eed_5a5e


@dataclass(frozen=True)
class NonIdealities:
    """Which non-idealities the mock applies, and how strong.

    Parameters
    ----------
    weight_quantisation : run with 6-bit weights (and saturation where parallel synapses are off)
    clock_quantisation : spike times on the 8 ns hardware clock
    fixed_pattern : per-circuit deviation of time constants and potentials, per-synapse
        deviation of the efficacy
    trial_noise : membrane noise that differs from trial to trial
    time_constant_spread : relative standard deviation of the time constants per circuit
    voltage_spread_mv : standard deviation of the potentials per circuit (mV)
    synapse_spread : relative standard deviation of the efficacy per synapse
    membrane_noise_mv : standard deviation of the free membrane potential from trial noise (mV)
    """
    weight_quantisation: bool = True
    clock_quantisation: bool = True
    fixed_pattern: bool = True
    trial_noise: bool = True
    time_constant_spread: float = 0.02
    voltage_spread_mv: float = 1.0
    synapse_spread: float = 0.05
    membrane_noise_mv: float = 0.5

    @classmethod
    def from_argument(cls, value):
        """``None`` or ``True``: the defaults; ``False``: all off; a dict: these fields
        changed; a NonIdealities: itself."""
        if value is None or value is True:
            return cls()
        if value is False:
            return cls(False, False, False, False)
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            names = {f.name for f in fields(cls)}
            unknown = sorted(set(value) - names)
            if unknown:
                raise errors.InvalidParameterValueError(
                    f"non_idealities: unknown {unknown}; known: {sorted(names)}")
            result = cls(**value)
            for name in ("time_constant_spread", "voltage_spread_mv", "synapse_spread",
                         "membrane_noise_mv"):
                if not getattr(result, name) >= 0:
                    raise errors.InvalidParameterValueError(
                        f"non_idealities: {name} = {getattr(result, name)!r}; it must be >= 0")
            return result
        raise errors.InvalidParameterValueError(
            f"non_idealities = {value!r}; give None, True, False, a dict or a NonIdealities")


def circuit_deviations(seed):
    """Standard-normal deviation of every time constant and potential of every circuit,
    {name: array[512]}: a function of the seed only."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), FIXED_PATTERN_STREAM]))
    return {name: rng.standard_normal(N_CIRCUITS) for name in TIME_CONSTANTS + POTENTIALS}


def synapse_deviations(seed):
    """Standard-normal deviation of the efficacy of every synapse, array [hemisphere, row,
    column]: a function of the seed only."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), SYNAPSE_STREAM]))
    return rng.standard_normal((N_HEMISPHERES, ROWS_PER_HEMISPHERE, CIRCUITS_PER_HEMISPHERE))


def synapse_efficacy(routed, deviations, spread):
    """Efficacy of each connection of a routed projection: the mean of ``exp(spread * z)`` over
    its synapses, weighted by the steps each carries (parallel synapses carry 63 steps each
    but the last, which carries the rest; 1 for a connection of 0 steps, which has none)."""
    where = routed.synapses
    connection = where["connection"]
    first = np.searchsorted(connection, connection)        # connection is sorted
    copy = np.arange(connection.size) - first
    steps = routed.weight_steps[connection]
    last = copy == routed.parallel_synapses[connection] - 1
    carried = np.where(last, steps - WEIGHT_STEPS * copy, WEIGHT_STEPS).astype(float)
    factor = np.exp(spread * deviations[where["hemisphere"], where["row"], where["column"]])
    n = routed.weight_steps.size
    total = np.bincount(connection, weights=carried, minlength=n)
    weighted = np.bincount(connection, weights=carried * factor, minlength=n)
    return np.divide(weighted, total, out=np.ones(n), where=total > 0)


def realise_neuron_parameters(parameters, circuits, deviations, config):
    """Native parameters of a population as the circuits realise them.

    Parameters
    ----------
    parameters : {name: array per neuron} (PyNN units)
    circuits : circuit index of each neuron
    deviations : from :func:`circuit_deviations`
    config : NonIdealities
    """
    realised = dict(parameters)
    if not config.fixed_pattern:
        return realised
    for name in TIME_CONSTANTS:
        if name in realised:
            realised[name] = np.asarray(realised[name], dtype=float) * np.exp(
                config.time_constant_spread * deviations[name][circuits])
    for name in POTENTIALS:
        if name in realised:
            realised[name] = np.asarray(realised[name], dtype=float) + \
                config.voltage_spread_mv * deviations[name][circuits]
    return realised


def realise_spike_times(parameters, config):
    """SpikeSourceArray parameters with the times truncated to the hardware clock."""
    if not config.clock_quantisation:
        return parameters
    sequences = np.asarray(parameters["spike_times"]).reshape(-1)
    quantised = np.empty(sequences.size, dtype=object)
    quantised[:] = [Sequence(quantise_to_clock(getattr(s, "value", s))[0]) for s in sequences]
    return dict(parameters, spike_times=quantised)


def membrane_noise_current(parameters, dt, sd_mv):
    """Standard deviation (nA) of a white current, redrawn each step ``dt``, that makes the free
    membrane potential of a leaky integrator fluctuate with ``sd_mv``.

    With a = exp(-dt / tau_m), a current I held for one step moves v by I (1 - a) tau_m / cm,
    so var(v) = (sigma (1 - a) tau_m / cm)^2 / (1 - a^2).
    """
    tau_m = np.asarray(parameters["tau_m"], dtype=float)
    cm = np.asarray(parameters["cm"], dtype=float)
    a = np.exp(-dt / tau_m)
    return sd_mv * cm * np.sqrt(1.0 - a ** 2) / ((1.0 - a) * tau_m)


class MembraneNoise(NoisyCurrentSource):
    """The mock's trial-to-trial noise: a NoisyCurrentSource whose standard deviation is set
    per target neuron (``target_stdev``, nA)."""

    def __init__(self, dt):
        super().__init__(mean=0.0, stdev=0.0, dt=dt)
        object.__setattr__(self, "target_stdev", np.zeros(0))

    def _engine_entries(self, dt, n_entries):
        entries = super()._engine_entries(dt, n_entries)
        entries["stdev"] = np.asarray(self.target_stdev, dtype=float)
        return entries
