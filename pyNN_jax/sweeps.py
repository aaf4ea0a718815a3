"""Parameter sweeps: one network structure, many parameter sets, one compiled call.

:func:`run_sweep` simulates the network built with the ordinary PyNN API once per parameter
set. The sets differ in cell parameters, connection values (weights and other per-connection
synaptic parameters) and seeds of the engine's random processes; everything else (cells,
connections, delays, what is recorded) is the structure, shared by all sets. The engine's
chunk function is mapped over the sets with :func:`jax.vmap`, so all sets advance together in
one compiled call, and the recordings of every set come back as the Neo blocks that
``Population.get_data()`` would have returned after a sequential run of that set.
"""
from contextlib import contextmanager
from dataclasses import replace
from functools import lru_cache

import numpy as np
import jax
import jax.numpy as jnp

from pyNN import errors
from pyNN.recording import DataCache

from . import simulator
from .build import MAX_CHUNK_STEPS, table_rows_per_pass, widened_events
from .engine import network as engine
from .engine import health, plasticity, synapses
from .engine.time_grid import to_steps
from .populations import Assembly, Population, PopulationView
from .projections import Projection

SWEEP_RECORD_BUFFER_BYTES = 256 * 2 ** 20   # device memory for the recordings of one chunk
MIN_CHUNK_STEPS = 10
NON_STATIC_ROWS_PER_PASS_FACTOR = 4   # 1000 cells, 25 sets, CPU: 8 -> 32 rows, 1.5x faster


def run_sweep(duration, parameters=None, seeds=None, max_sets_per_call=None):
    """Simulate the current network for ``duration`` ms once per parameter set.

    Set i gives what ``target.set(name=values[i])`` for every entry of ``parameters``, with
    ``setup(rng_seed=seeds[i])``, followed by ``run(duration)`` gives from t = 0: the same spikes
    for the same seed. The sets run side by side (``jax.vmap`` of the engine's chunk function).

    Parameters
    ----------
    duration : float
        Simulated time of every set (ms).
    parameters : dict, optional
        ``{(target, name): values}``. ``target`` is a Population, PopulationView or Assembly
        (``name``: a numeric cell parameter, e.g. "tau_m", or "rate" of a SpikeSourcePoisson)
        or a Projection (``name``: "weight" or another per-connection parameter of a
        non-plastic synapse type, e.g. "U" of TsodyksMarkramSynapse). ``values`` has shape
        (n_sets,) (one value per set for all cells or connections of the target) or
        (n_sets, n) with n the number of cells of the target or of connections of the
        projection (in the order of ``Projection.get(name, format="list")``).
    seeds : sequence of int, optional
        One ``rng_seed`` per set for the engine's random processes (Poisson and gamma sources,
        noise currents, stochastic synapses). Default: every set uses the seed of ``setup()``
        and the current segment, as ``run()`` would. Connectivity and values already drawn when
        the network was built (connectors, RandomDistribution parameters, initial values, the
        initial phase of gamma sources) belong to the structure and are the same in all sets.
    max_sets_per_call : int, optional
        Most sets simulated in one compiled call (default: as many as fit into
        ``SWEEP_RECORD_BUFFER_BYTES`` of recording buffer with ``MIN_CHUNK_STEPS`` steps per
        chunk). Lower it when the batched state does not fit into memory.

    Returns
    -------
    list of dict
        One dict per set, ``{population: neo.Block}`` for every Population that records
        something, each Block as ``population.get_data()`` returns it (one segment).

    Raises
    ------
    RuntimeError
        If the simulator is not at t = 0 (call ``reset()`` first).
    pyNN.errors.InvalidParameterValueError
        For values of the wrong shape or outside their allowed range, inconsistent numbers of
        sets or a non-positive duration.
    pyNN.errors.NonExistentParameterError
        For a parameter the cell or synapse type does not have.
    NotImplementedError
        For parameters that are part of the structure (delays, SpikeSourceArray spike times,
        plastic synapses' parameters and weights, table-wide constants).

    Notes
    -----
    The simulator is left as it was: t = 0, parameters, state and recorded data unchanged.
    Memory grows with the number of sets in one call: the state of the network (cells, delay
    ring buffer) and the swept values are held once per set, and the recording buffers of one
    chunk of steps for every set (the chunk length is chosen to fit
    ``SWEEP_RECORD_BUFFER_BYTES``). The recorded data of all sets are kept on the host.
    """
    sim = simulator.state
    network = sim.network
    if network.step != 0:
        raise RuntimeError(f"run_sweep() starts at t = 0, but t = {sim.t} ms: call reset() "
                           "first")
    if not duration > 0:
        raise errors.InvalidParameterValueError(
            f"duration = {duration!r}; the duration of a sweep must be > 0 ms")
    if not sim.populations:
        raise RuntimeError("run_sweep() needs a network: no Population has been created")
    changes = [_checked_change(target, name, values)
               for (target, name), values in (parameters or {}).items()]
    n_sets = _number_of_sets(changes, seeds)
    if max_sets_per_call is not None and (int(max_sets_per_call) != max_sets_per_call
                                          or max_sets_per_call < 1):
        raise errors.InvalidParameterValueError(
            f"max_sets_per_call = {max_sets_per_call!r}; it must be a positive integer")

    if network.placement.mesh is not None:
        raise NotImplementedError(
            f"run_sweep() runs its sets on one device, but this network is split over "
            f"{network.placement.n_devices} devices (setup(devices=...), or a run of several "
            f"processes): set it up on one device to sweep it")
    network.prepare()
    batched = _batched_values(network, changes, seeds, n_sets)
    n_steps = int(to_steps(np, np.asarray(duration, dtype=float), sim.dt))
    bytes_per_step = _recorded_bytes_per_step(network)
    sets_per_call = max(1, min(n_sets, SWEEP_RECORD_BUFFER_BYTES
                               // max(bytes_per_step * MIN_CHUNK_STEPS, 1)))
    if max_sets_per_call is not None:
        sets_per_call = min(sets_per_call, int(max_sets_per_call))

    recordings = [_SetRecording(sim) for _ in range(n_sets)]
    for first in range(0, n_sets, sets_per_call):
        members = range(first, min(first + sets_per_call, n_sets))
        _run_sets(network, batched, members, n_steps, bytes_per_step,
                  [recordings[i] for i in members])
    return [recording.blocks(n_steps) for recording in recordings]


# ---- the parameter sets ----------------------------------------------------------------------

def _checked_change(target, name, values):
    """(target, name, values as a float array) after checking what can be swept."""
    if isinstance(target, Projection):
        size = len(target)
        if name == "delay":
            raise NotImplementedError(
                "delays cannot be swept: they size the delay buffers (the network structure)")
        if target._engine_kind in plasticity.KINDS:
            raise NotImplementedError(
                f"{type(target.synapse_type).__name__}: parameters of plastic synapses cannot "
                "be swept (their weights are state and their constants shape the tables)")
        if not target.synapse_type.has_parameter(name):
            raise errors.NonExistentParameterError(
                name, type(target.synapse_type).__name__,
                target.synapse_type.get_parameter_names())
        if name not in target.synapse_type.table_columns(target):
            raise NotImplementedError(
                f"{type(target.synapse_type).__name__}.{name} is a constant of the whole "
                "connectivity table and cannot be swept")
    elif isinstance(target, (Population, PopulationView, Assembly)):
        size = target.size
        for population in _root_populations(target):
            celltype = population.celltype
            if name not in celltype.get_parameter_names():
                raise errors.NonExistentParameterError(name, type(celltype).__name__,
                                                       celltype.get_parameter_names())
            if celltype.engine_model.state_follows_parameters:
                raise NotImplementedError(
                    f"{type(celltype).__name__}.{name} cannot be swept: the state of "
                    f"{type(celltype).__name__} follows its parameters")
    else:
        raise TypeError(f"a swept parameter belongs to a Population, PopulationView, Assembly "
                        f"or Projection, not to {type(target).__name__}")
    try:
        values = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise errors.InvalidParameterValueError(
            f"{name}: the swept values must be numbers, one per set (or one row per set)")
    if values.ndim not in (1, 2) or (values.ndim == 2 and values.shape[1] != size):
        raise errors.InvalidParameterValueError(
            f"{name}: swept values of shape {values.shape}; the shape must be (n_sets,) or "
            f"(n_sets, {size}) for {_describe(target)}")
    return target, name, values


def _number_of_sets(changes, seeds):
    counts = {f"{name} of {_describe(target)}": values.shape[0]
              for target, name, values in changes}
    if seeds is not None:
        seeds = np.asarray(seeds)
        if seeds.ndim != 1 or seeds.dtype.kind not in "iu" or (seeds < 0).any():
            raise errors.InvalidParameterValueError(
                f"seeds = {seeds.tolist()!r}; the seeds must be non-negative integers, one per "
                "set")
        counts["seeds"] = len(seeds)
    if not counts:
        raise errors.InvalidParameterValueError(
            "run_sweep() needs swept parameters or seeds: neither was given")
    if len(set(counts.values())) != 1:
        raise errors.InvalidParameterValueError(
            "every swept parameter and the seeds need one entry per set; got "
            + ", ".join(f"{n} for {what}" for what, n in counts.items()))
    n_sets = next(iter(counts.values()))
    if n_sets < 1:
        raise errors.InvalidParameterValueError("run_sweep() needs at least one set")
    return n_sets


def _describe(target):
    if isinstance(target, Projection):
        return f"Projection {target.label!r} ({len(target)} connections)"
    return f"{type(target).__name__} {target.label!r} ({target.size} cells)"


def _root_populations(target):
    if isinstance(target, Assembly):
        return [population._root for population in target.populations]
    return [target._root]


@contextmanager
def _values_applied(network, changes, index):
    """The parameter values of set ``index`` set on the PyNN objects, with their own checks;
    parameters and the network's change flags are restored on exit."""
    saved_parameters = {population: population._parameters for target, _, _ in changes
                        if not isinstance(target, Projection)
                        for population in _root_populations(target)}
    saved_connections = {target: target._connections for target, _, _ in changes
                         if isinstance(target, Projection)}
    saved_dirty = set(network.dirty_values)
    try:
        for target, name, values in changes:
            if isinstance(target, Projection):
                target._set_connection_values(name, slice(None), values[index])
            else:
                target.set(**{name: values[index]})
        yield
    finally:
        for population, parameters in saved_parameters.items():
            population._parameters = parameters
        for projection, connections in saved_connections.items():
            projection._connections = connections
        network.dirty_values = saved_dirty


@contextmanager
def _seed_applied(sim, seed):
    saved = sim.seed
    sim.seed = int(seed)
    try:
        yield
    finally:
        sim.seed = saved


def _batched_values(network, changes, seeds, n_sets):
    """The parts of the values pytree that differ between sets, stacked along a first axis of
    length n_sets: ``{"groups": {g: group}, "tables": {t: {column: array}}, "key": ...}``."""
    layout, dtype = network.layout, np.dtype(network.sim.dtype)
    swept_populations = {population for target, _, _ in changes
                         if not isinstance(target, Projection)
                         for population in _root_populations(target)}
    groups = sorted({layout.group_of[population] for population in swept_populations})
    # tables whose columns may change: those of swept projections and those whose columns
    # follow the parameters of their target cells (e.g. tau_psc of Tsodyks-Markram)
    tables = sorted({t for t, (_, projections) in enumerate(network._table_members)
                     for projection in projections
                     if any(target is projection for target, _, _ in changes)
                     or set(_root_populations(projection.post)) & swept_populations})
    per_set = []
    for index in range(n_sets):
        try:
            with _values_applied(network, changes, index):
                group_values = network._group_values(layout) if groups else []
                one = {"groups": {g: group_values[g] for g in groups},
                       "tables": {t: _table_columns(network, t, dtype) for t in tables}}
        except (errors.InvalidParameterValueError, errors.ConnectionError) as error:
            raise type(error)(f"set {index}: {error}") from error
        if seeds is not None:
            with _seed_applied(network.sim, seeds[index]):
                one.update(network._segment_keys())
        per_set.append(one)
    batched = jax.tree_util.tree_map(lambda *leaves: np.stack(leaves), *per_set)
    for t in tables:       # columns equal in every set stay shared
        batched["tables"][t] = {name: column for name, column in batched["tables"][t].items()
                                if not (column == column[:1]).all()}
    return batched


def _table_columns(network, t_index, dtype):
    """The per-connection columns of connectivity table ``t_index`` with the values its
    Projections hold now (host side, engine float type)."""
    projections = network._table_members[t_index][1]
    columns = {projection: projection._table_columns(network.layout)
               for projection in projections}
    table = network.host_table(t_index, {name for values in columns.values() for name in values})
    for projection, values in columns.items():
        for name, column in values.items():
            table[name].reshape(-1)[projection._table_positions] = column
    return {name: column.astype(dtype) for name, column in table.items()}


def _values_of_sets(values, batched, members):
    """The values pytree of the sets ``members``, and the matching ``in_axes`` of jax.vmap
    (0 for the stacked leaves, None for those the sets share)."""
    def take(tree):
        return jax.tree_util.tree_map(lambda a: a[members.start:members.stop], tree)

    merged = {key: value for key, value in values.items()}
    axes = {key: None for key in values}
    merged["groups"] = list(values["groups"])
    axes["groups"] = [None] * len(values["groups"])
    for g, group in batched["groups"].items():
        merged["groups"][g], axes["groups"][g] = take(group), 0
    merged["tables"] = list(values["tables"])
    axes["tables"] = [None] * len(values["tables"])
    for t, table_columns in batched["tables"].items():
        merged["tables"][t] = {**values["tables"][t], **take(table_columns)}
        axes["tables"][t] = {name: (0 if name in table_columns else None)
                             for name in values["tables"][t]}
    for key in ("key", "noise_key"):
        if key in batched:
            merged[key], axes[key] = take(batched[key]), 0
    return merged, axes


# ---- running ---------------------------------------------------------------------------------

@lru_cache(maxsize=16)
def _mapped_chunk(structure, axes_treedef, axes_leaves, state_axes):
    """``engine.run_chunk`` of ``structure`` mapped over the sets, compiled once per structure
    and choice of swept values. ``state_axes``: (name, 0 or None) per entry of the state."""
    value_axes = jax.tree_util.tree_unflatten(axes_treedef, axes_leaves)
    state_axes = dict(state_axes)

    def one_set(values, state, n_steps):
        return engine.run_chunk(structure, values, state, n_steps)

    return jax.jit(jax.vmap(one_set, in_axes=(value_axes, state_axes, None),
                            out_axes=(state_axes, 0)))


def _recorded_bytes_per_step(network):
    """Bytes that the recordings of one set take per step on the device."""
    shapes = jax.eval_shape(engine.run_chunk, network.structure, network.values,
                            network.device_state, np.int32(1))[1]
    total = sum(np.prod(leaf.shape) * np.dtype(leaf.dtype).itemsize
                for leaf in jax.tree_util.tree_leaves(shapes))
    return int(total) // network.structure.chunk_steps


def _run_sets(network, batched, members, n_steps, bytes_per_step, recordings):
    """Simulate the sets ``members`` side by side for ``n_steps`` steps from the network's
    state at t = 0, collecting each set's recordings into ``recordings``."""
    n = len(members)
    chunk_steps = network.sim.chunk_steps or int(np.clip(
        SWEEP_RECORD_BUFFER_BYTES // max(n * bytes_per_step, 1), MIN_CHUNK_STEPS,
        MAX_CHUNK_STEPS))
    # the static tables deliver the spikes of all sets in common passes
    # (engine.synapses.deliver_static), sized for the (step, row) entries of all sets; the
    # others' batched passes run until the most active set is done: fewer, larger passes
    # (the order of the additions into each ring, hence the result, does not depend on the size)
    block_steps = min(network.structure.block_steps, chunk_steps)
    tables = tuple(replace(table, rows_per_pass=(
        table_rows_per_pass(table, block_steps, n) if table.kind == "static"
        else min(NON_STATIC_ROWS_PER_PASS_FACTOR * table.rows_per_pass,
                 synapses.MAX_ROWS_PER_PASS)))
        for table in network.structure.tables)
    structure = replace(network.structure, chunk_steps=chunk_steps, tables=tables,
                        block_steps=block_steps)
    values, axes = _values_of_sets(network.values, batched, members)
    leaves, treedef = jax.tree_util.tree_flatten(axes, is_leaf=lambda x: x is None)
    # every set is at the same step: the counter (and what derives from it, such as the
    # step's PRNG key when seeds are not swept) stays shared
    state_axes = {name: (None if name == "step" else 0) for name in network.device_state}
    mapped_chunk = _mapped_chunk(structure, treedef, tuple(leaves),
                                 tuple(sorted(state_axes.items())))
    state = {name: (value if state_axes[name] is None else jax.tree_util.tree_map(
        lambda a: jnp.broadcast_to(a, (n,) + a.shape), value))
        for name, value in network.device_state.items()}
    for recording in recordings:
        with recording.installed():
            network._record_initial_samples()

    def collect(out, first_step, n_active, groups):
        """Each set's recordings to its recorders; the first set whose state became NaN or
        infinite stops the sweep (:mod:`.engine.health`), its data recorded up to then kept."""
        out, groups = jax.device_get((out, groups))     # one copy, then numpy slices per set
        failure = None
        for i, recording in enumerate(recordings):
            with recording.installed():
                found = network._collect(
                    jax.tree_util.tree_map(lambda a: a[i], out), first_step, n_active,
                    health.nonfinite_cells(jax.tree_util.tree_map(lambda a: a[i], groups)))
            failure = failure or found
        if failure is not None:
            raise failure

    step, pending = 0, None
    while step < n_steps or pending is not None:
        running = None
        if step < n_steps:
            n_active = min(n_steps - step, chunk_steps)
            before = state
            state, out = mapped_chunk(values, before, np.int32(n_active))
            running = (out, step, n_active, state["groups"], before)
            step += n_active
        if pending is not None:        # copy out the previous chunk while this one runs
            out, first_step, n_active, groups, before = pending
            slots = network._event_slots_for(out, n_active, structure, n)
            if slots > structure.event_slots:
                # a cell of some set received more precise input events in a step than the
                # slots hold: that chunk again, from its start, with more slots (as run())
                state = {**before, "events": widened_events(
                    jax.device_get(before["events"]), structure.event_slots, slots)}
                structure = replace(structure, event_slots=slots)
                mapped_chunk = _mapped_chunk(structure, treedef, tuple(leaves),
                                             tuple(sorted(state_axes.items())))
                step, running = first_step, None
            else:
                collect(out, first_step, n_active, groups)
        pending = running


class _SetRecording:
    """The recorded data of one set: the recorders' and current sources' storage, installed in
    their place while the engine driver appends to it or PyNN builds the Neo blocks."""

    def __init__(self, sim):
        self.sim = sim
        self.recorders = {recorder: {"_spike_ids": [], "_spike_times": [], "_signals": {},
                                     "cache": DataCache()}
                          for recorder in sim.recorders}
        self.sources = {source: [] for source in sim.current_sources}

    @contextmanager
    def installed(self):
        saved_recorders = {recorder: {name: getattr(recorder, name) for name in storage}
                           for recorder, storage in self.recorders.items()}
        saved_sources = {source: source._samples for source in self.sources}
        try:
            for recorder, storage in self.recorders.items():
                for name, value in storage.items():
                    setattr(recorder, name, value)
            for source, samples in self.sources.items():
                object.__setattr__(source, "_samples", samples)
            yield
        finally:
            for recorder, storage in self.recorders.items():
                for name in storage:      # lists and dicts may have been replaced
                    storage[name] = getattr(recorder, name)
                for name, value in saved_recorders[recorder].items():
                    setattr(recorder, name, value)
            for source, samples in saved_sources.items():
                self.sources[source] = source._samples
                object.__setattr__(source, "_samples", samples)

    def blocks(self, n_steps):
        """``{population: neo.Block}`` of this set, as ``get_data()`` after ``run()``."""
        sim, network = self.sim, self.sim.network
        saved_step, saved_running = network.step, sim.running
        populations = sorted({recorder.population for recorder in self.recorders
                              if any(recorder.recorded.values())},
                             key=lambda population: int(population.first_id))
        try:
            network.step, sim.running = n_steps, True
            with self.installed():
                return {population: population.get_data() for population in populations}
        finally:
            network.step, sim.running = saved_step, saved_running
