"""The PyNN layer of the hardware module: pyNN_jax's Population and Projection, placed on the
chip before anything runs and run with the chip's realised parameters and weights.

The hardware module shares pyNN_jax's simulator state (one network at a time, as with any
PyNN backend); ``chip`` below holds what belongs to the chip: the target, the
non-idealities, the placement and the realised values.
"""
import contextlib

import numpy as np

from pyNN import errors

from .. import populations as jax_populations
from .. import projections as jax_projections
from ..recording import Recorder as JaxRecorder
from ..simulator import state as sim_state
from ..standardmodels import cells as jax_cells
from ..standardmodels.synapses import StaticSynapse
from . import mock
from .parameters import check_neuron_parameters, quantise_to_clock
from .partition import place_partitioned
from .placement import (ROWS_PER_PADI_BUS, WEIGHT_STEPS, ConnectionBlock, NeuronBlock,
                        PlacementError, place)

NEURON_TYPES = (jax_cells.IF_curr_exp, jax_cells.IF_cond_exp, jax_cells.EIF_cond_exp_isfa_ista)
SOURCE_TYPES = (jax_cells.SpikeSourceArray, jax_cells.SpikeSourcePoisson)
RECEPTORS = ("excitatory", "inhibitory")
WEIGHT_UNITS = {"current": "nA", "conductance": "uS"}     # keys of setup(weight_per_step=...)


class HardwareState:
    """Target, non-idealities, placement and realised values of the current network."""

    def __init__(self):
        self.configure("mock", 0, mock.NonIdealities(), None, True)

    def configure(self, target, seed, non_idealities, neuron_permutation, parallel_synapses,
                  partition=False, weight_per_step=None):
        self.target = target
        self.weight_per_step = weight_per_step
        self.partition = partition
        self.seed = seed
        self.non_idealities = non_idealities
        self.neuron_permutation = neuron_permutation
        self.parallel_synapses = parallel_synapses
        self.deviations = mock.circuit_deviations(seed)
        self.synapse_deviations = mock.synapse_deviations(seed)
        self.noise_sources = {}
        self.invalidate()

    def invalidate(self):
        """The network or its values changed: place again before the next run."""
        self.placement = None
        self.realised_parameters = {}     # Population -> native parameters on the chip
        self.realised_weights = {}        # Projection -> weights on the chip (PyNN units)
        self.engine_weights = {}          # Projection -> realised weights x synapse efficacy

    # ---- placement -------------------------------------------------------------------------
    @staticmethod
    def neuron_populations():
        return [p for p in sim_state.populations if isinstance(p.celltype, NEURON_TYPES)]

    def place(self):
        """Check every value against the chip, place and route; raises before anything runs."""
        if self.placement is not None:
            return self.placement
        neurons = self.neuron_populations()
        for pop in neurons:
            check_neuron_parameters(type(pop.celltype).__name__, pop._parameters)
        labels = _unique_labels(neurons)
        neuron_of_id = np.full(sim_state.id_counter, -1, dtype=np.int64)
        offset = 0
        for pop in neurons:
            neuron_of_id[np.asarray(pop.all_cells, dtype=np.int64)] = offset + np.arange(pop.size)
            offset += pop.size
        blocks = []
        shared_scales = _shared_scales(sim_state.projections)
        for index, prj in enumerate(sim_state.projections):
            _check_projection(prj)
            weights = prj._connections["weight"]
            pre_ids = np.asarray(prj.pre.all_cells, dtype=np.int64)[prj._connections["pre"]]
            post_ids = np.asarray(prj.post.all_cells, dtype=np.int64)[prj._connections["post"]]
            label = prj.label or f"projection{index}"
            blocks.append(ConnectionBlock(label, pre_ids, neuron_of_id[post_ids],
                                          np.abs(weights), prj.receptor_type == "inhibitory",
                                          self._weight_scale(prj, label, shared_scales[index]),
                                          neuron_of_id[pre_ids]))
        placer = place_partitioned if self.partition else place
        try:
            placement = placer([NeuronBlock(label, pop.size)
                                for label, pop in zip(labels, neurons)],
                               blocks, self.neuron_permutation, self.parallel_synapses)
        except PlacementError as error:
            if self.partition:
                raise
            raise PlacementError(f"{error} (setup(partition=True) partitions a feed-forward "
                                 f"network over several runs of the chip)") from None
        self._realise(placement, labels, neurons)
        self.placement = placement
        return placement

    def _weight_scale(self, prj, label, shared_scale):
        """PyNN units per weight step of a projection: the calibrated ``weight_per_step`` of
        its kind of synapse where setup() gave it (its weights checked against the reachable
        range), else ``shared_scale`` (see :func:`_shared_scales`)."""
        if self.weight_per_step is None:
            return shared_scale
        kind = _synapse_kind(prj)
        unit = WEIGHT_UNITS[kind]
        if kind not in self.weight_per_step:
            raise errors.InvalidParameterValueError(
                f"Projection {label!r} onto {kind}-based cells: weight_per_step = "
                f"{self.weight_per_step} has no {kind!r} entry ({unit} per 6-bit step)")
        scale = self.weight_per_step[kind]
        if prj.weight_scale is not None and not np.isclose(prj.weight_scale, scale):
            raise errors.InvalidParameterValueError(
                f"Projection {label!r}: weight_scale = {prj.weight_scale:g} {unit} per step; "
                f"with setup(weight_per_step=...) the one calibrated scale "
                f"weight_per_step[{kind!r}] = {scale:g} {unit} applies to every projection")
        max_steps = WEIGHT_STEPS * (ROWS_PER_PADI_BUS if self.parallel_synapses else 1)
        weights = np.abs(prj._connections["weight"])
        if weights.size and np.round(weights.max() / scale) > max_steps:
            how = (f"{WEIGHT_STEPS} steps per synapse, at most {ROWS_PER_PADI_BUS} parallel "
                   f"synapses" if self.parallel_synapses else
                   f"{WEIGHT_STEPS} steps, parallel synapses off")
            raise errors.InvalidParameterValueError(
                f"Projection {label!r}: weight = {float(weights.max()):g} {unit} is out of "
                f"reach of BrainScaleS-2 with weight_per_step[{kind!r}] = {scale:g} {unit}; "
                f"the reachable range is 0..{max_steps * scale:g} {unit} ({how})")
        return scale

    def _realise(self, placement, labels, neurons):
        """Parameters and weights as the chip realises them (what the engine runs with)."""
        config = self.non_idealities
        for label, pop in zip(labels, neurons):
            self.realised_parameters[pop] = mock.realise_neuron_parameters(
                pop._parameters, placement.circuits[label], self.deviations, config)
        for pop in sim_state.populations:
            if isinstance(pop.celltype, jax_cells.SpikeSourceArray):
                self.realised_parameters[pop] = mock.realise_spike_times(pop._parameters, config)
        for prj, routed in zip(sim_state.projections, placement.projections):
            sign = np.sign(prj._connections["weight"])
            realised = (sign * routed.realised_magnitude() if config.weight_quantisation
                        else prj._connections["weight"].copy())
            self.realised_weights[prj] = realised
            self.engine_weights[prj] = (
                realised * mock.synapse_efficacy(routed, self.synapse_deviations,
                                                 config.synapse_spread)
                if config.fixed_pattern and self.target == "mock" else realised)
        if config.trial_noise and self.target == "mock":
            self._update_noise(neurons)
        sim_state.network.values_changed("groups")
        sim_state.network.values_changed("tables")
        sim_state.network.values_changed("currents")

    def _update_noise(self, neurons):
        for pop in neurons:
            if pop not in self.noise_sources:
                self.noise_sources[pop] = mock.MembraneNoise(sim_state.dt)
                self.noise_sources[pop].inject_into(pop)
            object.__setattr__(self.noise_sources[pop], "target_stdev",
                               mock.membrane_noise_current(
                                   self.realised_parameters[pop], sim_state.dt,
                                   self.non_idealities.membrane_noise_mv))

    @contextlib.contextmanager
    def chip_parameters(self):
        """The engine reads Population._parameters: during a run they are the realised ones."""
        saved = {pop: pop._parameters for pop in self.realised_parameters}
        try:
            for pop, realised in self.realised_parameters.items():
                pop._parameters = realised
            yield
        finally:
            for pop, parameters in saved.items():
                pop._parameters = parameters


chip = HardwareState()


def _unique_labels(populations):
    """One distinct label per population: a population keeps its label unless an earlier one
    took it; a repeated label gets the first free "#n" suffix that no population bears."""
    given = [pop.label or "population" for pop in populations]
    labels, taken = [], set()
    for label in given:
        unique, n = label, 1
        while unique in taken or (unique != label and unique in given):
            n += 1
            unique = f"{label}#{n}"
        taken.add(unique)
        labels.append(unique)
    return labels


def _shared_scales(projections):
    """Weight scale of each projection when no ``weight_per_step`` is given: its own
    ``weight_scale`` if set, else the largest |weight| over 63 steps among all projections
    without one that have the same sign and target population(s) (views count as their
    population). On the chip the synaptic input gain belongs to a neuron and a sign, so the
    projections of one sign onto a population share one scale; None where all such weights
    are 0 (the placement then picks one)."""
    keys = [(_target_populations(prj), prj.receptor_type == "inhibitory")
            for prj in projections]
    largest = {}
    for prj, key in zip(projections, keys):
        if prj.weight_scale is None:
            magnitude = np.abs(prj._connections["weight"]).max(initial=0.0)
            largest[key] = max(largest.get(key, 0.0), float(magnitude))
    return [prj.weight_scale if prj.weight_scale is not None
            else (largest[key] / WEIGHT_STEPS if largest[key] > 0 else None)
            for prj, key in zip(projections, keys)]


def _target_populations(prj):
    """The Populations (not views) a projection's targets belong to, as a frozenset."""
    post = prj.post
    parts = post.populations if hasattr(post, "populations") else [post]
    return frozenset(getattr(part, "grandparent", part) for part in parts)


def _synapse_kind(prj):
    """"current" or "conductance": the kind of synapse of a projection's target cells."""
    post = prj.post
    celltypes = ([p.celltype for p in post.populations] if hasattr(post, "populations")
                 else [post.celltype])
    kinds = {"current" if isinstance(c, jax_cells.IF_curr_exp) else "conductance"
             for c in celltypes}
    if len(kinds) > 1:
        raise errors.ConnectionError(
            f"Projection {prj.label!r}: its target mixes current- and conductance-based cells, "
            f"whose weights have different units; connect each population on its own")
    return kinds.pop()


def _check_projection(prj):
    """What the chip cannot do, checked before placement: delays, signs."""
    delays = prj._connections["delay"]
    min_delay = max(float(sim_state.min_delay), sim_state.dt)
    if delays.size and np.abs(delays - min_delay).max() > 1e-9:
        bad = float(delays[np.argmax(np.abs(delays - min_delay))])
        raise errors.InvalidParameterValueError(
            f"Projection {prj.label!r}: delay = {bad:g} ms; BrainScaleS-2 has no synaptic "
            f"delays, only the minimum delay {min_delay:g} ms is possible")
    weights = prj._connections["weight"]
    if prj.receptor_type == "excitatory" and (weights < 0).any():
        raise errors.ConnectionError(
            f"Projection {prj.label!r}: weight = {float(weights.min()):g} on an excitatory "
            f"receptor; on BrainScaleS-2 the sign belongs to the synapse row: use "
            f"receptor_type='inhibitory' for negative weights")
    if prj.receptor_type == "inhibitory" and (weights < 0).any() and (weights > 0).any():
        raise errors.ConnectionError(
            f"Projection {prj.label!r}: inhibitory weights of both signs; an inhibitory "
            f"projection's weights are all <= 0 or all >= 0")


class HardwareRecorder(JaxRecorder):
    """Spike times truncated to the hardware clock when the mock's clock quantisation is on
    (the real system's times come on the clock)."""

    def _append_spikes(self, ids, times):
        if chip.target == "mock" and chip.non_idealities.clock_quantisation:
            times = quantise_to_clock(times)[0]
        super()._append_spikes(ids, times)


class HardwareCells:
    """What Population and PopulationView add on the chip: views of the hardware class, set()
    checked against the chip's ranges, get_data() annotated with hardware times."""

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    def _set_parameters(self, parameter_space):
        """Keep the old values if the chip cannot reach the new ones."""
        root = self._root
        old = root._parameters
        super()._set_parameters(parameter_space)
        if isinstance(root.celltype, NEURON_TYPES):
            try:
                check_neuron_parameters(type(root.celltype).__name__, root._parameters)
            except errors.InvalidParameterValueError:
                root._parameters = old
                raise
        chip.invalidate()

    def get_data(self, variables="all", gather=True, clear=False, locations=None):
        block = super().get_data(variables, gather, clear, locations)
        for segment in block.segments:
            segment.annotate(target=chip.target, acceleration=1000.0)
            for train in segment.spiketrains:
                times_us = np.asarray(train.rescale("ms").magnitude, dtype=float)  # bio ms = hw us
                train.array_annotate(hardware_time_us=times_us,
                                     fpga_cycle=quantise_to_clock(times_us)[1])
        return block


class Assembly(jax_populations.Assembly):
    __doc__ = jax_populations.Assembly.__doc__


class PopulationView(HardwareCells, jax_populations.PopulationView):
    __doc__ = jax_populations.PopulationView.__doc__
    _assembly_class = Assembly


class Population(HardwareCells, jax_populations.Population):
    __doc__ = jax_populations.Population.__doc__
    _recorder_class = HardwareRecorder
    _assembly_class = Assembly

    def _create_cells(self):
        if not isinstance(self.celltype, NEURON_TYPES + SOURCE_TYPES):
            names = ", ".join(t.__name__ for t in NEURON_TYPES + SOURCE_TYPES)
            raise errors.InvalidModelError(
                f"{type(self.celltype).__name__} is not available on BrainScaleS-2; the "
                f"hardware module offers {names}")
        super()._create_cells()
        if isinstance(self.celltype, NEURON_TYPES):
            try:
                check_neuron_parameters(type(self.celltype).__name__, self._parameters)
            except errors.InvalidParameterValueError:      # the population does not exist
                sim_state.populations.remove(self)
                sim_state.id_counter -= self.size
                sim_state.network.structure_changed()
                raise
        chip.invalidate()


class Projection(jax_projections.Projection):
    __doc__ = jax_projections.Projection.__doc__ + """
    BrainScaleS-2: ``weight_scale`` (PyNN weight units per 6-bit weight step) fixes the
    projection's scale; by default the projections of one sign onto one population share a
    scale that maps their largest |weight| to 63 steps (``setup(weight_per_step=...)``
    replaces both).
    """

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None, space=None, label=None,
                 weight_scale=None):
        if synapse_type is not None and type(synapse_type) is not StaticSynapse:
            raise errors.InvalidModelError(
                f"{type(synapse_type).__name__} is not available on BrainScaleS-2 in this "
                f"module; use StaticSynapse")
        if receptor_type not in (None,) + RECEPTORS:
            raise errors.ConnectionError(
                f"receptor_type = {receptor_type!r}; BrainScaleS-2 neurons have "
                f"{', '.join(RECEPTORS)}")
        if isinstance(presynaptic_population, jax_populations.Assembly):
            raise errors.ConnectionError(
                "an Assembly as presynaptic source is not supported on BrainScaleS-2; "
                "connect each of its populations")
        self._weight_scale = weight_scale
        kwargs = {} if space is None else {"space": space}
        super().__init__(presynaptic_population, postsynaptic_population, connector,
                         synapse_type, source, receptor_type, label=label, **kwargs)
        chip.invalidate()

    @property
    def weight_scale(self):
        """PyNN weight units per 6-bit weight step, or None: shared with the projections of
        the same sign onto the same population, their largest |weight| being 63 steps."""
        return self._weight_scale

    @weight_scale.setter
    def weight_scale(self, value):
        self._weight_scale = value
        chip.invalidate()

    def _table_columns(self, layout):
        columns = super()._table_columns(layout)
        if self in chip.engine_weights:
            columns = dict(columns, weight=chip.engine_weights[self])
        return columns

    def _set_connection_values(self, name, index, value):
        super()._set_connection_values(name, index, value)
        chip.invalidate()

    def _attribute_values(self, name):
        """After placement, "weight" is the weight realised on the chip: quantised, without
        the synapses' analog mismatch (which the chip does not report either)."""
        if name == "weight" and self in chip.realised_weights:
            return chip.realised_weights[self]
        return super()._attribute_values(name)
