"""The real BrainScaleS-2: a placed network translated to ``pynn_brainscales`` and run there.

``pynn_brainscales`` (the Heidelberg software stack: pynn-brainscales, grenade, calix, hxcomm) is
built in its own container and is not on PyPI. What is sent:

- IF_curr_exp -> CalibHXNeuronCuba, IF_cond_exp and EIF_cond_exp_isfa_ista (without adaptation
  and exponential term: a = b = delta_T = 0) -> CalibHXNeuronCoba; potentials in chip units
  (mV + 140), time constants in hardware us; ``i_offset`` must be 0;
- SpikeSourceArray with its times in hardware ms, SpikeSourcePoisson with rate x 1000 (hardware
  Hz) and start, duration in hardware ms;
- each Projection as a FromListConnector of integer weights: ``round(|w| / weight_per_step)``
  with the calibrated ``setup(weight_per_step=...)`` of its kind of synapse (the chip's
  synaptic gain is fixed by its calibration, so a per-projection scale cannot be sent),
  negative on inhibitory receptors, parallel synapses left to the stack, connections of 0
  steps left out; receptor type unchanged;
- the circuits of our placement as ``neuronPermutation``.

Spike times come back in hardware ms and are recorded in biological ms. Only spikes are
recorded on the real system; a run starts at t = 0 (call reset() between runs): the chip
keeps no state from one experiment to the next.
"""
import importlib

import numpy as np

from pyNN import errors

from ..standardmodels import cells as jax_cells
from .parameters import (TIME_CONSTANT_RANGES_HW_US, from_hardware_ms, to_chip_voltage,
                         to_hardware_ms, to_hardware_us)

STACK_MODULE = "pynn_brainscales.brainscales2"
LIF_POTENTIALS = ("v_rest", "v_reset", "v_thresh")
REVERSAL_POTENTIALS = ("e_rev_E", "e_rev_I")


class StackNotInstalledError(ImportError):
    """The BrainScaleS-2 software stack (pynn_brainscales) cannot be imported."""


def require_stack():
    """``pynn_brainscales.brainscales2``, or StackNotInstalledError saying what to do."""
    try:
        return importlib.import_module(STACK_MODULE)
    except ImportError as error:
        raise StackNotInstalledError(
            f"target='bss2' needs the BrainScaleS-2 software stack ({STACK_MODULE}), which "
            f"is not installed here ({error}); it comes with the EBRAINS / Heidelberg "
            f"container, not from PyPI. target='mock' needs none of it.") from None


def neuron_parameters(celltype, parameters):
    """Calibration targets of one population: {name: list per neuron} in chip units."""
    name = type(celltype).__name__
    if np.any(np.asarray(parameters["i_offset"], dtype=float) != 0):
        raise NotImplementedError(f"{name}: i_offset != 0 is not translated to pynn_brainscales")
    if isinstance(celltype, jax_cells.EIF_cond_exp_isfa_ista):
        for extra in ("a", "b", "delta_T"):
            if np.any(np.asarray(parameters[extra], dtype=float) != 0):
                raise NotImplementedError(
                    f"{name}: {extra} != 0; CalibHXNeuronCoba calibrates leaky integrate-and-"
                    f"fire neurons only (set a = b = delta_T = 0, or use target='mock')")
    targets = {p: to_chip_voltage(parameters[p]).tolist() for p in LIF_POTENTIALS}
    targets.update({p: to_hardware_us(parameters[p]).tolist()
                    for p in TIME_CONSTANT_RANGES_HW_US})
    if not isinstance(celltype, jax_cells.IF_curr_exp):
        targets.update({p: to_chip_voltage(parameters[p]).tolist() for p in REVERSAL_POTENTIALS})
    return targets


def _root_and_indices(cells, indices):
    """The Population behind a Population or PopulationView, and the indices in it."""
    if hasattr(cells, "grandparent"):
        return cells.grandparent, cells.index_in_grandparent(np.asarray(indices))
    if hasattr(cells, "populations"):
        raise NotImplementedError("an Assembly in a Projection is not translated to "
                                  "pynn_brainscales; connect each of its populations")
    return cells, np.asarray(indices)


def translate(pynn, placement, state):
    """Build the network in ``pynn`` (``pynn_brainscales.brainscales2``). Returns
    {our Population: its pynn_brainscales Population}."""
    permutation = [int(c) for circuits in placement.circuits.values() for c in circuits]
    pynn.setup(neuronPermutation=permutation)
    populations = {}
    for pop in state.populations:
        parameters, celltype = pop._parameters, pop.celltype
        if isinstance(celltype, jax_cells.IF_curr_exp):
            cell = pynn.cells.CalibHXNeuronCuba(**neuron_parameters(celltype, parameters))
        elif isinstance(celltype, (jax_cells.IF_cond_exp, jax_cells.EIF_cond_exp_isfa_ista)):
            cell = pynn.cells.CalibHXNeuronCoba(**neuron_parameters(celltype, parameters))
        elif isinstance(celltype, jax_cells.SpikeSourceArray):
            times = [to_hardware_ms(getattr(s, "value", s)).tolist()
                     for s in np.asarray(parameters["spike_times"]).reshape(-1)]
            cell = pynn.cells.SpikeSourceArray(spike_times=times)
        else:
            cell = pynn.cells.SpikeSourcePoisson(
                rate=(np.asarray(parameters["rate"], dtype=float) * 1000.0).tolist(),
                start=to_hardware_ms(parameters["start"]).tolist(),
                duration=to_hardware_ms(parameters["duration"]).tolist())
        populations[pop] = pynn.Population(pop.size, cell, label=pop.label)
        recorded = [v.name for v, ids in pop.recorder.recorded.items() if ids]
        if set(recorded) - {"spikes"}:
            raise NotImplementedError(
                f"recording {sorted(set(recorded) - {'spikes'})} of {pop.label!r}: only spikes "
                f"are recorded on the real system in this module")
        if recorded:
            populations[pop].record(["spikes"])
    for prj, routed in zip(state.projections, placement.projections):
        pre, pre_index = _root_and_indices(prj.pre, prj._connections["pre"])
        post, post_index = _root_and_indices(prj.post, prj._connections["post"])
        sign = -1 if routed.inhibitory else 1
        connections = [(int(i), int(j), sign * int(w))
                       for i, j, w in zip(pre_index, post_index, routed.weight_steps) if w > 0]
        pynn.Projection(populations[pre], populations[post],
                        pynn.FromListConnector(connections, column_names=["weight"]),
                        synapse_type=pynn.standardmodels.synapses.StaticSynapse(),
                        receptor_type=prj.receptor_type, label=prj.label)
    return populations


def run_until(placement, state, tstop):
    """Translate, run on the chip until ``tstop`` (biological ms), record the spikes."""
    if state.t > 0:
        raise errors.InvalidParameterValueError(
            f"run until {tstop:g} ms from t = {state.t:g} ms: the real chip keeps no state "
            f"between experiments; call reset() and run the whole duration at once")
    if hasattr(placement, "runs"):
        raise NotImplementedError(
            f"the network is partitioned over {len(placement.runs)} runs of the chip; running "
            f"partitioned networks on the real system is not implemented (target='mock' runs "
            f"them)")
    pynn = require_stack()
    populations = translate(pynn, placement, state)
    pynn.run(float(to_hardware_ms(tstop)))
    for pop, theirs in populations.items():
        if not any(ids for ids in pop.recorder.recorded.values()):
            continue
        segment = theirs.get_data("spikes").segments[-1]
        for index, train in enumerate(segment.spiketrains):
            index = int(train.annotations.get("source_index", index))
            times = from_hardware_ms(train.rescale("ms").magnitude)
            pop.recorder._append_spikes(np.full(times.size, int(pop.all_cells[index])), times)
    pynn.end()
    state.network.step = int(round(tstop / state.dt))
    state.running = True
