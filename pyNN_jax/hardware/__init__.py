"""pyNN.jax.hardware: BrainScaleS-2 as a PyNN backend, on a mock (the JAX engine with the chip's
non-idealities, the default) or on the real system through ``pynn_brainscales``.

``import pyNN.jax.hardware as sim`` and write the script in biological ms and mV as for any
PyNN backend; the 1000-fold acceleration is applied inside. ``sim.get_placement()`` shows where
the network lies on the chip; a network that does not fit raises :class:`PlacementError`
before anything runs. See docs/hardware.rst.
"""
import types

import numpy as np

from pyNN import common, errors, random, space                     # noqa: F401
from pyNN.common.procedural_api import set                         # noqa: F401
from pyNN.network import Network                                   # noqa: F401
from pyNN.parameters import Sequence                               # noqa: F401
from pyNN.random import NumpyRNG, GSLRNG, RandomDistribution       # noqa: F401
from pyNN.space import Space                                       # noqa: F401

from .. import control as jax_control
from .. import simulator as jax_simulator
from ..connectors import *                                          # noqa: F401,F403
from ..connectors import FixedProbabilityConnector
from ..random import NativeRNG                                      # noqa: F401
from ..simulator import state                                      # noqa: F401
from ..standardmodels.cells import (                                # noqa: F401
    IF_curr_exp, IF_cond_exp, EIF_cond_exp_isfa_ista, SpikeSourceArray, SpikeSourcePoisson)
from ..standardmodels.synapses import StaticSynapse                # noqa: F401
from . import bss2
from .backend import (WEIGHT_UNITS, Assembly, Population, PopulationView,  # noqa: F401
                      Projection, chip)
from .mock import NonIdealities                                     # noqa: F401
from .partition import PartitionedPlacement                        # noqa: F401
from .placement import Placement, PlacementError, RoundingWarning  # noqa: F401

TARGETS = ("mock", "bss2")


def setup(timestep=0.1, min_delay="timestep", target="mock", seed=None, non_idealities=None,
          neuron_permutation=None, parallel_synapses=True, partition=False,
          weight_per_step=None, **extra_params):
    """Start a new BrainScaleS-2 network; any existing network (of pyNN.jax too) is destroyed.

    Parameters
    ----------
    timestep : float
        Integration step of the mock (biological ms). Spike times are put on the 8 ns hardware
        clock (0.008 ms biological); their resolution is the larger of the two.
    min_delay : float
        The one synaptic delay the chip offers (biological ms); default: one timestep.
    target : {"mock", "bss2"}
        "mock" runs on the JAX engine with the chip's non-idealities; "bss2" on the real system
        (needs the BrainScaleS-2 software stack, ``pynn_brainscales``).
    seed : int
        Seed of the fixed-pattern variation, the trial-to-trial noise and the Poisson sources
        (default 0). PyNN's ``rng_seed`` is accepted in its place; giving both with different
        values raises InvalidParameterValueError.
    non_idealities : None, bool, dict or NonIdealities
        Which non-idealities the mock applies (default: all); False switches all off.
    neuron_permutation : sequence of int
        Circuit (0..511) of each neuron, neurons counted in the order of their populations.
        Not combinable with a network that must be partitioned (InvalidParameterValueError).
    parallel_synapses : bool
        Realise a weight above 63 steps (only with a fixed scale) by parallel synapses; if
        False it saturates at 63 (with ``weight_per_step``: raises).
    partition : bool
        A feed-forward network larger than one chip is partitioned over several runs of it
        (the mock runs them as one simulation); if False (default) it raises PlacementError.
    weight_per_step : dict
        The calibrated weight of one 6-bit synapse step on the chip, ``{"current": nA,
        "conductance": uS}`` (the keys the network's cells need: "current" for IF_curr_exp,
        "conductance" for IF_cond_exp and EIF_cond_exp_isfa_ista). Required for
        ``target="bss2"``, whose synaptic gain is set by its calibration; on the mock it
        replaces the scales chosen per target population and sign (and any
        ``weight_scale``), so that the mock runs the network the chip runs.
    """
    if target not in TARGETS:
        raise errors.InvalidParameterValueError(f"target = {target!r}; it must be one of {TARGETS}")
    if target == "bss2":
        bss2.require_stack()
    weight_per_step = _checked_weight_per_step(weight_per_step, target)
    seed = _one_seed(seed, extra_params.pop("rng_seed", None))
    config = NonIdealities.from_argument(non_idealities)
    if min_delay == "timestep":
        min_delay = timestep
    result = jax_control.setup(timestep, min_delay, rng_seed=seed, **extra_params)
    chip.configure(target, seed, config, neuron_permutation, bool(parallel_synapses),
                   bool(partition), weight_per_step)
    return result


def _one_seed(seed, rng_seed):
    """The seed from setup(seed=...) or PyNN's setup(rng_seed=...), default 0."""
    if seed is not None and rng_seed is not None and int(seed) != int(rng_seed):
        raise errors.InvalidParameterValueError(
            f"seed = {seed!r} and rng_seed = {rng_seed!r}; give one of them (they name the "
            f"same seed) or equal values")
    return int(seed if seed is not None else rng_seed if rng_seed is not None else 0)


def _checked_weight_per_step(weight_per_step, target):
    """{kind: PyNN units per step} as floats; InvalidParameterValueError if malformed, or
    missing for target="bss2"."""
    expected = ", ".join(f"{kind!r}: {unit} per step" for kind, unit in WEIGHT_UNITS.items())
    if weight_per_step is None:
        if target == "bss2":
            raise errors.InvalidParameterValueError(
                f"target='bss2' needs weight_per_step = {{{expected}}}: the calibrated weight "
                f"of one 6-bit synapse step on your chip (its synaptic gain is set by the "
                f"calibration, one value per kind of synapse)")
        return None
    if (not isinstance(weight_per_step, dict) or not weight_per_step
            or weight_per_step.keys() - WEIGHT_UNITS.keys()
            or not all(isinstance(v, (int, float, np.number)) and np.isfinite(v) and v > 0
                       for v in weight_per_step.values())):
        raise errors.InvalidParameterValueError(
            f"weight_per_step = {weight_per_step!r}; it must be a dict {{{expected}}} with "
            f"values > 0 (one or both keys)")
    return {kind: float(value) for kind, value in weight_per_step.items()}


end = jax_control.end

def get_placement():
    """Place and route the current network (if not done yet) and return the
    :class:`Placement` (a :class:`PartitionedPlacement` when partitioned over several runs):
    circuits per population, rows per projection, weight scales, utilisation; ``print()`` it
    for a summary. Raises PlacementError if it does not fit."""
    return chip.place()


class _Clock:
    """What PyNN's run loop needs: the time, and a run_until that places first."""

    @property
    def t(self):
        return state.t

    @property
    def dt(self):
        return state.dt

    def run_until(self, tstop):
        placement = chip.place()
        if chip.target == "bss2":
            bss2.run_until(placement, state, tstop)
            return
        with chip.chip_parameters():
            state.run_until(tstop)


run, run_until = common.build_run(types.SimpleNamespace(state=_Clock()))
run_for = run
reset = jax_control.reset
initialize = common.initialize
get_current_time, get_time_step, get_min_delay, get_max_delay, num_processes, rank = (
    jax_control.get_current_time, jax_control.get_time_step, jax_control.get_min_delay,
    jax_control.get_max_delay, jax_control.num_processes, jax_control.rank)


def list_standard_models():
    """Names of the standard cell types the hardware module offers."""
    return [cls.__name__ for cls in (IF_curr_exp, IF_cond_exp, EIF_cond_exp_isfa_ista,
                                     SpikeSourceArray, SpikeSourcePoisson)]


create = common.build_create(Population)
connect = common.build_connect(Projection, FixedProbabilityConnector, StaticSynapse)
record = common.build_record(jax_simulator)
