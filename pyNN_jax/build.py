"""Translate the PyNN objects of a network into the engine's structure, values and state, and
drive the engine.

Host side (numpy) each Population keeps its parameters (``_parameters``), current state
(``_state``) and initial state (``_initial_state``); each Projection its connections
(``_connections``). After a run the state lives on the device; it comes back to the host only
when something must change it (``pull_state``). Cells of one model are stacked into one engine
group, projections of one synapse kind into one connectivity table.
"""
import dataclasses
import functools
import threading
import warnings

import numpy as np
import jax
from pyNN import errors

from .engine import network as engine
from .engine import health, plasticity, processes, prng
from .engine import sharding
from .engine import synapses as engine_synapses
from .engine.models import precise
from .engine.time_grid import to_steps
from . import shares
from .padding import SizePadding

RECORD_BUFFER_BYTES = 32 * 2 ** 20   # device memory for one chunk's recordings
MAX_CHUNK_STEPS = 1000
MAX_BLOCK_STEPS = 64                 # steps per block when no static table limits it


WIDTH_CLASS_RATIO = 8     # projections whose row widths differ less share a table
# connections one pass of a static delivery scatters at most (cortical microcircuit, scale
# 0.2-0.5, rows of 256: passes of 16-64 rows cost the same, 128 and 512 up to 2x more)
STATIC_PASS_CONNECTIONS = 8192
# a network simulated for fewer cell-steps (cells x steps, up to the end of the run being
# started) than this has its chunk compiled quickly (chunk_cache.QUICK_CPU_OPTIONS: on a
# 2-core CPU ~0.6 s less compiling, steps ~60 % slower: 0.03-0.07 us per cell-step more, at most
# ~0.1 s over such a run)
QUICK_COMPILE_CELL_STEPS = 2_000_000
# the most memory that the precise input events kept with their offsets may take (bytes)
MAX_EVENT_BYTES = 1 << 30


def _next_pow2(x):
    return 1 << int(np.ceil(np.log2(max(x, 1))))


def _most_block_steps(max_delay_steps):
    """The longest block for which the delay ring (max delay + block slots, a power of two)
    is at most twice as long as max delay + 1 slot would need (without static connections
    the blocks are otherwise not bounded by a delay)."""
    return 2 * _next_pow2(max_delay_steps + 1) - max_delay_steps


def pad_cells(array, used, size):
    """A per-cell array of the ``used`` cells of a group (along its first axis) padded to the
    group's ``size`` cells with copies of its last cell (values equal in every cell stay so);
    other arrays as they are."""
    array = np.asarray(array)
    if size == used or array.ndim == 0 or array.shape[0] != used:
        return array
    return np.concatenate([array, np.repeat(array[-1:], size - used, axis=0)])


def _padded_range(cells, size, n_cells):
    """Global indices ``cells`` (int32) padded to ``size`` entries: a range of cells goes on
    over the next cells where the network has them, other indices repeat the last."""
    cells = np.asarray(cells, dtype=np.int32)
    first = _first_of_range(cells)
    if first >= 0 and first + size <= n_cells:
        return np.arange(first, first + size, dtype=np.int32)
    return pad_cells(cells, cells.size, size)


def _first_of_range(cells):
    """cells[0] if ``cells`` are consecutive ascending indices, else -1."""
    cells = np.asarray(cells, dtype=np.int64)
    if cells.size and np.array_equal(cells, np.arange(cells[0], cells[0] + cells.size)):
        return int(cells[0])
    return -1


def rows_per_pass_for(n_entries, width=1):
    """Rows one delivery pass scatters, for ``n_entries`` (step, row) pairs per delivery:
    about 1/512 of them (a few kHz of firing), between 8 and MAX_ROWS_PER_PASS (512), and
    for rows of ``width`` connections at most STATIC_PASS_CONNECTIONS // width (a static
    table's passes scatter without compacting again: small passes follow the rows that
    spike, where large ones scatter mostly padding)."""
    most = max(8, min(engine_synapses.MAX_ROWS_PER_PASS, STATIC_PASS_CONNECTIONS // width))
    return int(np.clip(_next_pow2(n_entries / 512), 8, most))


def table_rows_per_pass(spec, block_steps, n_sets=1):
    """:func:`rows_per_pass_for` the entries of one delivery of table ``spec``: static tables
    deliver a block of steps, the others one step, each pass compacting again (no bound by
    the width); ``n_sets`` copies delivered together (sweeps)."""
    if spec.kind == "static":
        return rows_per_pass_for(n_sets * spec.n_rows * block_steps, spec.width)
    return rows_per_pass_for(n_sets * spec.n_rows)


class Layout:
    """Where each PyNN object sits in the engine arrays (valid for one structure).

    The populations of one model form a group, in their order; the group's size is their
    cells padded by ``padding`` (a :class:`.padding.SizePadding`; None: not padded), the
    padding cells after the populations' (``used_cells[g]`` of the group's ``group_sizes[g]``
    cells are the populations'), and then to a multiple of ``multiple`` (the devices the
    cells are split over). ``per_population``: every population is a group of its own (where
    a cell lives is then known when its population is created: :mod:`.shares`)."""

    def __init__(self, populations, padding=None, multiple=1, per_population=False):
        self.groups = []          # [(model, [populations])]
        # where each group's random numbers are taken (engine GroupSpec.draw_group,
        # draw_offset): in the draws of the group of its model without per_population
        self.draws = []
        by_key, models, cells_of_model = {}, [], {}
        for pop in populations:
            model = pop.celltype.engine_model
            key = (model, id(pop)) if per_population else model
            if model not in cells_of_model:
                models.append(model)
                cells_of_model[model] = 0
            if key not in by_key:
                by_key[key] = len(self.groups)
                self.groups.append((model, []))
                self.draws.append((models.index(model) if per_population else -1,
                                   cells_of_model[model] if per_population else 0))
            self.groups[by_key[key]][1].append(pop)
            cells_of_model[model] += pop.size
        self.offset, self.group_of, self.group_offset = {}, {}, {}
        n_ids = max([int(p.last_id) + 1 for p in populations] + [0])
        self.id_to_global = np.full(n_ids, -1, dtype=np.int64)
        offset = 0
        self.group_starts, self.used_cells, self.group_sizes = [], [], []
        for g, (model, pops) in enumerate(self.groups):
            self.group_starts.append(offset)
            for pop in pops:
                self.offset[pop] = offset
                self.group_of[pop] = g
                self.group_offset[pop] = offset - self.group_starts[g]
                self.id_to_global[int(pop.first_id):int(pop.last_id) + 1] = \
                    offset + np.arange(pop.size)
                offset += pop.size
            self.used_cells.append(offset - self.group_starts[g])
            size = (self.used_cells[g] if padding is None else
                    padding.size(f"cells {g} {model.name}", self.used_cells[g]))
            self.group_sizes.append(-(-size // multiple) * multiple)
            offset = self.group_starts[g] + self.group_sizes[g]
        self.n_cells = offset
        self.cell_group = np.repeat(np.arange(len(self.groups)), self.group_sizes)
        self.n_ports = max([m.n_ports for m, _ in self.groups] + [1])

    def global_indices(self, cells):
        """Global engine indices of a Population, PopulationView or Assembly (in its order)."""
        return self.id_to_global[np.asarray(cells.all_cells, dtype=np.int64)]

    def to_global(self, cells):
        """A function from indices into a Population, PopulationView or Assembly (``cells``)
        to global engine indices: an addition where the cells are a range."""
        indices = self.global_indices(cells)
        first = _first_of_range(indices)
        if first >= 0:
            return lambda local: local + first
        return indices.__getitem__


class EngineNetwork:
    """The compiled network of one ``setup()``: assembles, runs, records, resets."""

    def __init__(self, sim_state):
        self.sim = sim_state
        self.step = 0
        self.end_step = 0             # the step the run in progress ends at (set by run())
        self.structure = None
        self.values = None
        self.layout = None
        self.device_state = None
        self.host_ring = None         # (slots, ports, cells) when pulled back, else None
        self.host_events = None       # precise input events in flight when pulled back
        self.event_slots = precise.EVENT_SLOTS   # grows when a cell receives more in a step
        self._warned_event_slots = False
        self._min_delay_steps = {}    # shortest delay (steps) of each projection
        self._table_fills = []        # layouts of static tables still to write (plan_table)
        # the tables on the host between their assembly and their copy to the device only:
        # afterwards the device holds the one copy (host_table() reads it back)
        self._host_table_values = None
        self.host_groups = None       # numpy copies of the group parameters
        self._per_cell_values = []    # per group: (part, name) that the step reads per cell
        self.cell_level_synapse_state = []   # plastic tables' traces, kept over a rebuild
        self.structure_dirty = True
        self.dirty_values = set()     # parts of the values to rebuild: groups, tables, currents
        self.record_map = None
        self.placement = sharding.Placement(getattr(sim_state, "devices", None))

    # ---- change tracking -------------------------------------------------------------------
    def structure_changed(self):
        self.pull_state()
        self.structure_dirty = True

    def values_changed(self, part):
        """Parameter values of ``part`` ("groups", "tables" or "currents") changed."""
        self.dirty_values.add(part)

    def pull_state(self):
        """Bring the device state back into the Populations and Projections."""
        if self.device_state is None:
            return
        state = self.placement.host_state(self.structure, self.device_state)
        for g, (model, pops) in enumerate(self.layout.groups):
            for pop in pops:
                start = self.layout.group_offset[pop]
                pop._state = {name: np.array(values[start:start + pop.size])
                              for name, values in state["groups"][g].items()}
        ring = np.asarray(state["ring"]).reshape(self.structure.n_slots, self.structure.n_ports,
                                                 self.structure.n_cells)
        self.host_ring = (ring, dict(self.layout.offset))
        if "events" in state:
            self.host_events = (state["events"], self.structure.event_cells,
                                self.structure.n_slots, dict(self.layout.offset))
        self.cell_level_synapse_state = []
        for t_index, (kind, projections) in enumerate(self._table_members):
            table_state = state["tables"][t_index]
            for prj in projections:
                flat = prj._table_positions
                prj._synapse_state = {name: np.asarray(table_state[name]).reshape(-1)[flat]
                                      for name in prj._synapse_state}
                if "weight" in prj._synapse_state:
                    prj._connections["weight"] = prj._synapse_state["weight"].astype(float)
            self.cell_level_synapse_state.append(
                {name: np.asarray(table_state[name]) for name in plasticity.CELL_STATE
                 if name in table_state})
        self.device_state = None

    def plastic_weights(self, projection):
        """Current weights of a plastic projection, from the device if it holds the state."""
        if self.device_state is None:
            return projection._synapse_state["weight"]
        table = self.device_state["tables"][projection._table_index]["weight"]
        return processes.fetch_own(table).reshape(-1)[projection._table_positions]

    def host_table(self, t_index, names=None):
        """Writable host copies of the columns ``names`` (default all) of connectivity table
        ``t_index``, read back from the device (the network keeps no second copy on the host:
        on a CPU that would double the tables' memory). Split over devices, the devices'
        tables come stacked (:meth:`_split_table`); over several processes, with this
        process's devices' rows only."""
        table = (self.values["tables"][t_index] if self._host_table_values is None
                 else self._host_table_values[t_index])
        return {name: np.array(column) for name, column in processes.fetch_own(
            {name: column for name, column in table.items()
             if names is None or name in names}).items()}

    # ---- assembly --------------------------------------------------------------------------
    def prepare(self):
        """Bring structure, values and state on the device up to date with the PyNN side."""
        if "tables" in self.dirty_values and not self.structure_dirty:
            self._update_tables()
        if self.structure_dirty:
            self.pull_state()
            self._assemble()
        else:
            if "groups" in self.dirty_values:
                if any(model.state_follows_parameters for model, _ in self.layout.groups):
                    self.pull_state()       # pushed again with resume_state() below
                self.host_groups = self._group_values(self.layout)
                self.values = self.placement.values(self.structure, {**self.values,
                                                     "groups": self._step_groups()})
                if self._block_steps(self.structure.tables) < self.structure.block_steps:
                    self.pull_state()       # a shorter refractory period: shorter blocks
                    self._assemble()
                self.record_map["exact_spikes"] = [self._given_spike_times(rec, ids)
                                                   for rec, ids, *_ in
                                                   self.record_map["exact_spikes"]]
            if "currents" in self.dirty_values:
                self.values = self.placement.values(self.structure, {**self.values, "currents":
                    self._assemble_currents(np.dtype(self.sim.dtype))[1]})
        self.structure_dirty = False
        self.dirty_values.clear()
        if self.device_state is None:
            self.device_state = self._push_state()
        if self._table_fills:
            self._fill_tables_while_compiling()

    def _fill_tables_while_compiling(self):
        """Write the static tables planned by ``_assemble`` (numpy: sorting and scattering
        the connections) while a second thread has the chunk compiled for their shapes: it
        runs zero steps on the unwritten tables, which puts the compiled chunk into jit's
        cache for the call that follows. XLA and numpy release the GIL: a first run of the
        Brunel network costs the longer of the two, not their sum."""
        structure, state = self.structure, self.device_state
        unwritten = self.placement.values(self.structure, self.values)

        def compile_chunk():
            try:
                self.placement.run_chunk(structure, unwritten, state, np.int32(0),
                                         self._quick_compile())
            except Exception:      # noqa: BLE001 -- the real call raises it again, in place
                pass

        compiling = threading.Thread(target=compile_chunk, daemon=True)
        compiling.start()
        try:
            for fill in self._table_fills:
                fill()
        except BaseException:
            self.structure_dirty = True      # half-written tables: assemble again next time
            raise
        finally:
            self._table_fills = []
            compiling.join()
        self.values = self.placement.values(self.structure, {**self.values, "tables": self._host_table_values})
        self._host_table_values = None

    def _group_values(self, layout):
        """Parameters and derived constants of every group (host side)."""
        dt, dtype = self.sim.dt, np.dtype(self.sim.dtype)
        values = []
        for (model, pops), used, size in zip(layout.groups, layout.used_cells,
                                             layout.group_sizes):
            p = pops[0].celltype.engine_parameters([pop._parameters for pop in pops], dt)
            p = {k: pad_cells(np.asarray(v, dtype=dtype) if np.asarray(v).dtype.kind == "f"
                              else np.asarray(v), used, size) for k, v in p.items()}
            values.append({"p": p, "d": engine.derive_constants(model, p, dt, dtype)})
        return values

    def _step_groups(self):
        """The group values as the step reads them (:func:`.engine.compact_group_values`).
        A value once read per cell stays so for the life of the structure:
        ``Population.set()`` compiles again only the first time it makes a value differ
        between the cells of a group (the populations of one cell type)."""
        groups = []
        for g, ((model, _), values) in enumerate(zip(self.layout.groups, self.host_groups)):
            step_values = engine.compact_group_values(model, values, self._per_cell_values[g])
            self._per_cell_values[g].update((part, name)
                                            for part, arrays in step_values.items()
                                            for name, array in arrays.items() if np.ndim(array))
            groups.append(step_values)
        return groups

    def _update_tables(self):
        """New weights or delays of existing connections: written in place into the tables;
        a delay longer than the ring buffer holds changes the structure (decided alike on
        every process, where each holds its cells' share of the connections)."""
        dtype = np.dtype(self.sim.dtype)
        for t_index, (kind, projections) in enumerate(self._table_members):
            table = self.host_table(t_index)
            wider = False                           # a wider delay column: a new table
            for prj in projections:
                positions = prj._table_positions
                for name, values in prj._table_columns(self.layout).items():
                    table[name].reshape(-1)[positions] = values
                delay_steps = self._delay_steps(prj)
                self._min_delay_steps[prj], longest = self._delay_step_bounds(delay_steps)
                wider = longest > np.iinfo(table["delay"].dtype).max
                if wider:
                    break
                table["delay"].reshape(-1)[positions] = delay_steps
            rebuild = wider or (int(table["delay"].max()) + self.structure.block_steps
                                > self.structure.n_slots or not self._gathered_delay_holds(table))
            if shares.connections_are_split():
                rebuild = bool(processes.largest(rebuild))
            if rebuild or self._block_steps(self.structure.tables) < self.structure.block_steps:
                self.structure_dirty = True
                return
            self.values["tables"][t_index] = \
                {k: (v.astype(dtype) if v.dtype.kind == "f" else v) for k, v in table.items()}
            self.values = self.placement.values(self.structure, self.values)

    @staticmethod
    def _gathered_delay_holds(table):
        """A table delivered gathered (:func:`.engine.synapses.gathered_columns`) keeps one
        delay for all its connections; the delay is updated to the new one."""
        if "source_row" not in table:
            return True
        delays = table["delay"][table["row_used"] > 0, 0]       # the connected rows
        table["gather_delay"] = np.array(delays[0], np.int32)
        return bool((delays == delays[0]).all())

    def _block_steps(self, specs):
        """Steps the cells can advance before spikes must be delivered: the shortest delay of
        any connection of a static table (MAX_BLOCK_STEPS without static connections); with
        the block method also at most the shortest refractory period (steps) + 1 of any
        time-parallel cell, so that no cell fires twice in a block."""
        bounds = [self._min_delay_steps[prj]
                  for spec, (_, projections) in zip(specs, self._table_members)
                  if spec.kind == "static" for prj in projections]
        if self.sim.block_method:
            bounds += [int(np.min(values["d"]["ref_steps"], initial=MAX_BLOCK_STEPS)) + 1
                       for (model, _), values in zip(self.layout.groups, self.host_groups)
                       if model.time_parallel]
        return min(bounds + [MAX_BLOCK_STEPS])

    def _check_block_method(self, tables):
        """setup(block_method=True) needs static tables and time-parallel neuron models."""
        for spec, (kind, projections) in zip(tables, self._table_members):
            if spec.kind != "static":
                raise errors.InvalidParameterValueError(
                    f"setup(block_method=True) needs static synapses; projection "
                    f"{projections[0].label!r} uses {type(projections[0].synapse_type).__name__}"
                    f" (engine kind {kind!r}): use block_method=False")
        for model, pops in self.layout.groups:
            if model.n_ports and not model.time_parallel:
                raise errors.InvalidParameterValueError(
                    f"setup(block_method=True) supports IF_curr_exp and IF_curr_delta cells "
                    f"with spike_precision='on_grid'; population {pops[0].label!r} is "
                    f"{model.name}: use block_method=False")

    def _delay_step_bounds(self, delay_steps):
        """(shortest, longest) of a projection's ``delay_steps`` (MAX_BLOCK_STEPS, 1 without
        connections), of every process's connections where each holds its cells' share."""
        bounds = (int(delay_steps.min(initial=MAX_BLOCK_STEPS)), int(delay_steps.max(initial=1)))
        if shares.connections_are_split():
            bounds = tuple(int(bound) for bound in processes.extremes(*bounds))
        return bounds

    def _delay_steps(self, projection):
        """Delays in steps: rounded to dt as NEST does, at least one step; a read-only
        broadcast of one value when all delays are equal (no array as long as the
        connections)."""
        delay = projection._connections["delay"]
        if delay.size and delay.min() == delay.max():
            return np.broadcast_to(np.maximum(to_steps(np, delay[:1], self.sim.dt), 1),
                                   delay.shape)
        steps = to_steps(np, delay, self.sim.dt)
        return np.maximum(steps, 1, out=steps)

    def _assemble(self):
        sim = self.sim
        dt, dtype = sim.dt, np.dtype(sim.dtype)
        split_connections = shares.connections_are_split()
        # (sizes follow the populations exactly where each process holds its cells' share)
        padding = SizePadding(None if split_connections else sim.compilation_cache)
        layout = Layout(sim.populations, padding, multiple=self.placement.n_devices,
                        per_population=split_connections)
        groups = [engine.GroupSpec(model, layout.group_sizes[g], layout.group_starts[g],
                                   *layout.draws[g])
                  for g, (model, pops) in enumerate(layout.groups)]
        self.host_groups = self._group_values(layout)
        self._per_cell_values = [set() for _ in layout.groups]
        self.layout = layout
        if split_connections:
            processes.check_same({prj.label or str(i): prj._drawn_checksum
                                  for i, prj in enumerate(sim.projections)}, "connections")
        tables, table_values, table_members, max_delay_steps = self._assemble_tables(dtype,
                                                                                      padding)
        self._table_members = table_members
        if sim.block_method:
            self._check_block_method(tables)
        current_kinds, current_values = self._assemble_currents(dtype)
        record_spec, record_values = self._assemble_recording(padding)
        padding.save()
        bytes_per_step = (2 * record_spec.n_spike_cells + record_spec.n_spike_bit_cells / 8
                          + (2 + dtype.itemsize) * record_spec.n_precise_spike_cells
                          + dtype.itemsize * sum(n for *_, n in record_spec.signals)
                          + dtype.itemsize * len(record_spec.currents))
        chunk_steps = sim.chunk_steps or int(np.clip(
            RECORD_BUFFER_BYTES // max(bytes_per_step, 1), 10, MAX_CHUNK_STEPS))
        block_steps = min(self._block_steps(tables), chunk_steps,
                          _most_block_steps(max_delay_steps))
        # a pass holds the spiking rows expected in one delivery, of the rows that the padded
        # row count serves at least (padding does not raise it: VA COBA 4000's 4374 rows made
        # passes of 32 rows instead of 16, 13 % more per step)
        tables = [dataclasses.replace(spec, rows_per_pass=table_rows_per_pass(
                      dataclasses.replace(spec, n_rows=padding.least_need(spec.n_rows)),
                      block_steps))
                  for spec in tables]
        receiving = [g for g in groups if getattr(g.model, "receives_events", False)]
        self.structure = engine.Structure(
            groups=tuple(groups), tables=tuple(tables), current_kinds=tuple(current_kinds),
            n_ports=layout.n_ports, n_slots=_next_pow2(max_delay_steps + block_steps),
            dt=float(dt),
            chunk_steps=chunk_steps, record=record_spec, dtype=dtype.name,
            block_steps=block_steps, block_method=sim.block_method,
            event_slots=self.event_slots if receiving else 0,
            event_cells=((min(g.offset for g in receiving),
                          max(g.offset + g.size for g in receiving)) if receiving else (0, 0)))
        self.values = {"groups": self._step_groups(), "tables": table_values,
                       "currents": current_values, "record": record_values,
                       "used_cells": [np.int32(n) for n in layout.used_cells],
                       **self._segment_keys()}
        self._host_table_values = table_values
        if not self._table_fills:
            self.values = self.placement.values(self.structure, self.values)
            self._host_table_values = None

    def _assemble_tables(self, dtype, padding):
        """Plan the tables from the out-degrees; the connections of static tables are written
        later (``_table_fills``, while the chunk compiles), the others at once. The rows of
        static tables are padded by ``padding`` (:class:`.padding.SizePadding`)."""
        layout = self.layout
        tables, table_values, members = [], [], []
        max_delay_steps = 1
        groups, local_out_degree = self._table_groups()
        for kind, constants, projections in groups:
            out_degree = np.zeros(layout.n_cells, np.int64)
            parts = []
            table_max_delay_steps = 1
            for prj in projections:
                np.add.at(out_degree, layout.global_indices(prj.pre), local_out_degree[prj])
                delay_steps = self._delay_steps(prj)
                self._min_delay_steps[prj], longest = self._delay_step_bounds(delay_steps)
                table_max_delay_steps = max(table_max_delay_steps, longest)
                parts.append(self._connection_part(prj, delay_steps))
            max_delay_steps = max(max_delay_steps, table_max_delay_steps)
            column_types = {name: dtype for name in parts[0].columns}
            delay_steps_type = engine_synapses.delay_type(table_max_delay_steps)
            pad_rows = (functools.partial(padding.size, f"rows {len(tables)} {kind}")
                        if kind == "static" else None)
            if self.placement.mesh is not None:
                table, flat, (n_rows, width), cell_rows = self._split_table(
                    kind, parts, column_types, delay_steps_type, pad_rows)
            else:
                table, flat, fill = engine_synapses.plan_table(
                    out_degree, column_types, delay_steps_type=delay_steps_type,
                    pad_rows=pad_rows, n_used_cells=sum(layout.used_cells))
                (n_rows, width), cell_rows = (table["target"].shape,
                                              engine_synapses.rows_are_cells(table,
                                                                             layout.n_cells))
                if kind == "static":      # nothing below reads the connections' places
                    self._table_fills.append(functools.partial(fill, parts))
                    if "row_used" in table and table["target"].shape[1] == 1:
                        table.update(engine_synapses.gathered_columns(
                            parts, table["target"].shape[0]))
                else:
                    fill(parts)
                if kind in plasticity.KINDS:
                    table.update(self._incoming_table(table, flat, layout.n_cells))
            bounds = np.cumsum([0] + [part.size for part in parts])
            for prj, a, b in zip(projections, bounds[:-1], bounds[1:]):
                prj._table_positions = flat[a:b]
                prj._table_index = len(tables)
            if kind in plasticity.KINDS:
                table.update({name: np.asarray(value, dtype=float) for name, value in constants})
            axonal = bool(kind in plasticity.KINDS
                          and (table["dendritic_delay"] < table["delay"]).any())
            if shares.connections_are_split():
                axonal = bool(processes.largest(axonal))
            tables.append(engine.TableSpec(
                kind, n_rows, width, rows_per_pass_for(n_rows), axonal, cell_rows))
            table_values.append({k: (v.astype(dtype, copy=False) if v.dtype.kind == "f" else v)
                                 for k, v in table.items()})
            members.append((kind, projections))
        return tables, table_values, members, max_delay_steps

    @staticmethod
    def _incoming_table(table, flat, n_cells, width=None):
        """The incoming connections of each cell of a plastic ``table`` (``flat``: the
        connections' positions in it): ``in_owner`` (the rows' cells) and ``in_positions``
        (the connections' positions, -1 in unused columns)."""
        post = table["target"].reshape(-1)[flat] % n_cells
        incoming, _ = engine_synapses.build_table(post, flat + 1, np.ones_like(flat), {},
                                                  n_cells, width)
        return {"in_owner": incoming["row_owner"], "in_positions": incoming["target"] - 1}

    def _split_table(self, kind, parts, column_types, delay_steps_type, pad_rows):
        """A table split over the devices: each device's table holds the connections onto
        its cells (:meth:`.engine.sharding.CellSplit.split_part`), rows of every presynaptic
        cell (global indices) in the connections' order; all have the same shape (rows past a
        device's connections belong to no cell) and are stacked along their rows. Returns
        (the stacked table, each connection's position in it, the shape of a device's table,
        whether row r is cell r's). Written at once (not while the chunk compiles); the
        devices' parts are dropped once stacked.

        Where each process holds only its cells' connections (:mod:`.shares`), it writes the
        tables of its own devices; the shapes follow every device's connections (their
        out-degrees are summed over the processes) and the other devices' rows stay zero
        pages never touched (only this process's devices' rows are placed)."""
        layout = self.layout
        split = sharding.CellSplit(layout.group_sizes, self.placement.n_devices)
        split_connections = shares.connections_are_split()
        written = [d for d, device in enumerate(self.placement.devices)
                   if not split_connections or device.process_index == self.sim.mpi_rank]
        by_part = [split.split_part(part, layout.n_cells) for part in parts]
        shares_of = {d: [pieces[d][0] for pieces in by_part] for d in written}
        out_degrees = np.zeros((split.n_devices, layout.n_cells), np.int64)
        for d, share in shares_of.items():
            for part in share:
                out_degrees[d] += engine_synapses.count_out_degree(part.pre, layout.n_cells)
        if split_connections:          # each device's row from the process that holds it
            out_degrees[processes.concatenate(np.array(written))] = \
                processes.concatenate(out_degrees[written])
        width = max(engine_synapses.choose_width(degree) for degree in out_degrees)
        # row r is cell r's where the devices' rows together pass one device's test
        n_used = sum(layout.used_cells)
        cell_rows = engine_synapses.uses_cell_rows(out_degrees.reshape(-1), width, n_used)
        rows = max(engine_synapses.rows_needed(degree, width) for degree in out_degrees)
        rows = pad_rows(rows) if pad_rows is not None else rows
        plans = {d: engine_synapses.plan_table(out_degrees[d], column_types, width,
                                               delay_steps_type, pad_rows=lambda _: rows,
                                               n_used_cells=n_used, cell_rows=cell_rows)
                 for d in written}
        for d, (_, _, fill) in plans.items():
            fill(shares_of[d])
        if kind == "static" and cell_rows and width == 1:
            self._split_gathered_columns([plans[d][0] for d in written],
                                         [shares_of[d] for d in written], split_connections)
        del shares_of
        entries = rows * width
        positions = np.empty(sum(part.size for part in parts),
                             np.int32 if split.n_devices * entries < 2 ** 31 else np.int64)
        starts = np.cumsum([0] + [part.size for part in parts])
        for d, (_, flat, _) in plans.items():
            taken = 0
            for start, pieces in zip(starts, by_part):
                part, chosen = pieces[d]
                at = slice(start, start + part.size) if chosen is None else start + chosen
                positions[at] = d * entries + flat[taken:taken + part.size]
                taken += part.size
        del by_part
        if kind in plasticity.KINDS:
            in_width = max(engine_synapses.choose_width(np.bincount(
                table["target"].reshape(-1)[flat] % split.n_local, minlength=split.n_local))
                for table, flat, _ in plans.values())
            if split_connections:
                in_width = int(processes.largest(in_width))
            incoming = {d: self._incoming_table(table, flat, split.n_local, in_width)
                        for d, (table, flat, _) in plans.items()}
            in_rows = max(part["in_owner"].size for part in incoming.values())
            if split_connections:
                in_rows = int(processes.largest(in_rows))
            for d, part in incoming.items():
                table = plans[d][0]
                extra = in_rows - part["in_owner"].size      # rows of no cell, no connection
                table["in_owner"] = np.pad(part["in_owner"], (0, extra),
                                           constant_values=split.n_local)
                table["in_positions"] = np.pad(part["in_positions"], ((0, extra), (0, 0)),
                                               constant_values=-1)
        tables = {d: table for d, (table, _, _) in plans.items()}
        shape = (rows, width)
        del plans
        first = tables[written[0]]
        stacked = {name: (_stacked([tables[d].pop(name) for d in written], split.n_devices,
                                   written)
                          if np.ndim(value) else value)         # scalars: the same on all
                   for name, value in list(first.items())}
        return stacked, positions, shape, cell_rows

    @staticmethod
    def _split_gathered_columns(tables, shares, split_connections=False):
        """The gathered delivery (:func:`.engine.synapses.gathered_columns`) of the devices'
        tables (``shares``: their connection parts), where every device's applies with one
        delay: ``source_row`` from target 0 on (the same length on every device, rows past
        the table for targets without connection). ``split_connections``: these are this
        process's devices; whether it applies, and the length, are agreed with the others."""
        columns = [engine_synapses.gathered_columns(share, table["target"].shape[0])
                   for table, share in zip(tables, shares)]
        usable = all(columns) and len({int(c["gather_delay"]) for c in columns}) == 1
        delay = int(columns[0]["gather_delay"]) if usable else 0
        length = (max(int(c["gather_first_target"]) + c["source_row"].size for c in columns)
                  if usable else 0)
        if split_connections:
            shortest, longest = processes.extremes(delay, delay)
            usable = not processes.largest(not usable) and shortest == longest
            length = int(processes.largest(length))
        if not usable:
            return
        for table, c in zip(tables, columns):
            first = int(c["gather_first_target"])
            source_row = np.full(length, table["target"].shape[0], np.int32)
            source_row[first:first + c["source_row"].size] = c["source_row"]
            table.update(source_row=source_row, gather_first_target=np.array(0, np.int32),
                         gather_delay=c["gather_delay"])

    def _connection_part(self, prj, delay_steps):
        """The connections of ``prj`` as the engine lays them out, global indices computed a
        piece at a time when the table is written."""
        layout, connections = self.layout, prj._connections
        pre_of, post_of = layout.to_global(prj.pre), layout.to_global(prj.post)

        def target(start, stop):
            post = post_of(connections["post"][start:stop])
            return post + prj._port_of_cells(layout, post) * layout.n_cells

        return engine_synapses.ConnectionPart(
            len(connections["pre"]), lambda start, stop: pre_of(connections["pre"][start:stop]),
            target, delay_steps, prj._table_columns(layout))

    def _table_groups(self):
        """[(kind, constants, projections)]: the projections that share one table, and the
        connections per presynaptic cell of each projection.

        They have the same kind and the same table constants (plastic ones: time constants).
        Projections from the same presynaptic object (VA: excitatory cells onto excitatory
        and onto inhibitory cells) form a bundle whose row width
        (:func:`.engine.synapses.choose_width`) follows their summed out-degrees; bundles share
        a table when their widths lie within WIDTH_CLASS_RATIO of the narrowest of their group.
        Every table costs its own delivery pass per block, so the projections of one network
        share rows, while a one-to-one Poisson drive (width 1) does not pay for the rows of a
        dense recurrent projection (width 256). Projections keep their creation order."""
        bundles = {}
        for prj in self.sim.projections:
            bundles.setdefault((prj._engine_kind, prj._table_constants(), id(prj.pre)),
                               []).append(prj)
        local_out_degree = {prj: engine_synapses.count_out_degree(prj._connections["pre"],
                                                                   prj.pre.size)
                            for prj in self.sim.projections}
        if shares.connections_are_split():      # the same tables on every process
            local_out_degree = {prj: processes.summed(degree)
                                for prj, degree in local_out_degree.items()}
        by_kind = {}
        for (kind, constants, _), projections in bundles.items():
            out_degree = sum(local_out_degree[prj] for prj in projections)
            by_kind.setdefault((kind, constants), []).append(
                (engine_synapses.choose_width(out_degree), projections))
        order = {prj: k for k, prj in enumerate(self.sim.projections)}
        groups = []
        for (kind, constants), widths in by_kind.items():
            classes = []                                # [narrowest width, projections]
            for width, projections in sorted(widths, key=lambda bundle: bundle[0]):
                if classes and width <= WIDTH_CLASS_RATIO * classes[-1][0]:
                    classes[-1][1].extend(projections)
                else:
                    classes.append([width, list(projections)])
            groups.extend((kind, constants, sorted(projections, key=order.get))
                          for _, projections in classes)
        return groups, local_out_degree

    def _assemble_currents(self, dtype):
        layout = self.layout
        by_kind = {}
        for source in self.sim.current_sources:
            if len(source._targets):
                by_kind.setdefault(source.engine_kind, []).append(source)
        kinds, values = [], {}
        entry_id = 0
        for kind, sources in by_kind.items():
            parts = []
            for source in sources:
                targets = layout.id_to_global[np.asarray(source._targets, dtype=np.int64)]
                entries = source._engine_entries(self.sim.dt, len(targets))
                entries["target"] = targets.astype(np.int32)
                entries["entry_id"] = np.arange(entry_id, entry_id + len(targets), dtype=np.int32)
                source._first_entry = (kind, sum(len(p["target"]) for p in parts))
                entry_id += len(targets)
                parts.append(entries)
            merged = {}
            for name in parts[0]:
                arrays = [np.asarray(p[name]) for p in parts]
                if arrays[0].ndim == 2:      # per-entry sequences: pad to a common width
                    width = max(a.shape[1] for a in arrays)
                    fill = np.iinfo(np.int32).max if arrays[0].dtype.kind == "i" else 0
                    arrays = [np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=fill)
                              for a in arrays]
                merged[name] = np.concatenate(arrays)
                if merged[name].dtype.kind == "f":
                    merged[name] = merged[name].astype(dtype)
            kinds.append(kind)
            values[kind] = merged
        return kinds, values

    def _assemble_recording(self, padding):
        """The recording spec and values; the recorded cells of each buffer padded by
        ``padding`` (:class:`.padding.SizePadding`: the entries past the recorded cells'
        are recorded but not read)."""
        layout = self.layout
        spike_cells = {"counts": [], "bits": [], "precise": []}
        spike_owners, signals, signal_values, signal_owners = [], [], [], []
        exact_spikes = []
        for recorder in sorted(self.sim.recorders, key=lambda r: int(r.population.first_id)):
            pop = recorder.population
            for variable, ids in recorder.recorded.items():
                if not ids:
                    continue
                ids = np.array(sorted(int(i) for i in ids), dtype=np.int64)
                global_ids = layout.id_to_global[ids]
                model = pop.celltype.engine_model
                if variable.name == "spikes" and model.name in ("SpikeSourceArray",
                                                                "SpikeSourceArray_ps"):
                    exact_spikes.append(self._given_spike_times(recorder, ids))
                elif variable.name == "spikes":
                    buffer = ("precise" if getattr(model, "emits_offsets", False)
                              else "counts" if model.multiple_spikes_per_step else "bits")
                    spike_owners.append((recorder, buffer, len(spike_cells[buffer]), ids))
                    spike_cells[buffer].extend(global_ids.tolist())
                else:
                    g = layout.group_of[pop]
                    size = padding.size(f"signal {len(signals)}", len(ids))
                    signals.append((g, pop.celltype.state_variable(variable.name), size))
                    signal_values.append(pad_cells(
                        (global_ids - layout.group_starts[g]).astype(np.int32), len(ids), size))
                    signal_owners.append((recorder, variable, ids))
        current_owners, currents, current_values = [], [], []
        for source in self.sim.current_sources:
            if source._recording and len(source._targets):
                kind, entry = source._first_entry
                currents.append((kind, 1))
                current_values.append(np.array([entry], dtype=np.int32))
                current_owners.append(source)
        self.record_map = {"spikes": spike_owners, "signals": signal_owners,
                           "exact_spikes": exact_spikes,
                           "currents": current_owners}
        spike_cells = {buffer: _padded_range(cells, padding.size(f"spike {buffer}", len(cells)),
                                             layout.n_cells)
                       for buffer, cells in spike_cells.items()}
        spec = engine.RecordSpec(n_spike_cells=len(spike_cells["counts"]),
                                 n_spike_bit_cells=len(spike_cells["bits"]),
                                 spike_first=_first_of_range(spike_cells["counts"]),
                                 spike_bit_first=_first_of_range(spike_cells["bits"]),
                                 n_precise_spike_cells=len(spike_cells["precise"]),
                                 precise_spike_first=_first_of_range(spike_cells["precise"]),
                                 signals=tuple(signals), currents=tuple(currents))
        values = {"spike_cells": spike_cells["counts"], "spike_bit_cells": spike_cells["bits"],
                  "precise_spike_cells": spike_cells["precise"],
                  "signals": signal_values, "currents": current_values}
        return spec, values

    def _given_spike_times(self, recorder, ids):
        """Recorded SpikeSourceArray spikes come from the given times, not the time grid:
        (recorder, ids, emission step + 1, exact times), each spike recorded once it is emitted."""
        pop = recorder.population
        sequences = np.asarray(pop._parameters["spike_times"]).reshape(-1)
        index = ids - int(pop.all_cells[0])
        times = [np.asarray(getattr(sequences[i], "value", sequences[i]), dtype=float)
                 for i in index]
        cell_ids = np.repeat(ids, [t.size for t in times])
        times = np.concatenate(times) if times else np.zeros(0)
        grid = pop.celltype.engine_model.emission_grid(times, self.sim.dt)
        return recorder, ids, cell_ids, grid, times

    def _push_state(self):
        layout, dtype = self.layout, np.dtype(self.sim.dtype)
        groups = []
        for g, (model, pops) in enumerate(layout.groups):
            p = self.host_groups[g]["p"]
            state = {name: pad_cells(np.concatenate([np.asarray(pop._state[name])
                                                     for pop in pops]),
                                     layout.used_cells[g], layout.group_sizes[g])
                     for name in model.state_names}
            state = model.resume_state(p, state, self.step)
            groups.append({k: (v.astype(np.int32) if k in model.integer_state_names
                               else v.astype(dtype)) for k, v in state.items()})
        ring = np.zeros((self.structure.n_slots, self.structure.n_ports, layout.n_cells), dtype)
        if self.host_ring is not None:
            self._restore_ring(ring)
        tables = []
        kept = self.cell_level_synapse_state
        for t_index, (kind, projections) in enumerate(self._table_members):
            spec = self.structure.tables[t_index]
            n_rows = self.placement.n_devices * spec.n_rows     # the devices' tables stacked
            table_state = {}
            for name in projections[0]._synapse_state:
                flat = np.zeros(n_rows * spec.width, np.int32 if name.endswith("_step") else dtype)
                for prj in projections:
                    flat[prj._table_positions] = prj._synapse_state[name]
                table_state[name] = flat.reshape(n_rows, spec.width)
            if kind in plasticity.KINDS:
                fresh = plasticity_cell_state(layout.n_cells, self.structure.n_slots, dtype,
                                              self.placement.n_devices)
                old = kept[t_index] if t_index < len(kept) else {}
                table_state.update({name: (old[name] if name in old and
                                           old[name].shape == value.shape else value)
                                    for name, value in fresh.items()})
            tables.append(table_state)
        self.cell_level_synapse_state = []
        state = {"groups": groups, "tables": tables, "ring": ring.reshape(-1),
                 "step": np.int32(self.step)}
        if self.structure.event_slots:
            state["events"] = self._initial_events(dtype)
        return self.placement.state(self.structure, state)

    def _initial_events(self, dtype):
        """The precise input events in flight (:func:`.engine.synapses.append_events`): those
        pulled back if the event cells and ring are laid out as before, else none (the
        ring holds their weights: they arrive at the end of their steps)."""
        structure = self.structure
        kept, self.host_events = self.host_events, None
        if kept is not None and kept[1:] == (structure.event_cells, structure.n_slots,
                                             dict(self.layout.offset)) \
                and kept[0]["offset"].size == kept[0]["count"].size * structure.event_slots:
            return {name: np.asarray(values) for name, values in kept[0].items()}
        first, stop = structure.event_cells
        n_entries = structure.n_slots * (stop - first)
        return {"count": np.zeros(n_entries, np.int32),
                "offset": np.zeros(n_entries * structure.event_slots, dtype),
                "weight": np.zeros(n_entries * structure.event_slots, dtype),
                "fold": np.zeros(n_entries * len(precise.EVENT_FOLDS), dtype)}

    def _restore_ring(self, ring):
        """Carry spikes in flight over a change of structure (slots are absolute step mod n)."""
        old, old_offsets = self.host_ring
        n_slots = min(old.shape[0], ring.shape[0])
        n_ports = min(old.shape[1], ring.shape[1])
        for pop, new_offset in self.layout.offset.items():
            if pop not in old_offsets:
                continue
            o = old_offsets[pop]
            for future in range(self.step, self.step + n_slots):
                ring[future % ring.shape[0], :n_ports, new_offset:new_offset + pop.size] = \
                    old[future % old.shape[0], :n_ports, o:o + pop.size]
        self.host_ring = None

    # ---- running ---------------------------------------------------------------------------
    def advance(self, n_steps):
        self.prepare()
        if self.step == 0:
            self._record_initial_samples()
        end_step = self.step + n_steps
        pending, failure = None, None     # the chunk run before the one in flight
        while failure is None and (self.step < end_step or pending is not None):
            running = None
            if self.step < end_step:
                n = min(end_step - self.step, self.structure.chunk_steps)
                before = self.device_state
                self.device_state, out = self.placement.run_chunk(
                    self.structure, self.values, before, np.int32(n), self._quick_compile())
                running = (out, self.step, n, self.device_state["groups"], before)
                self.step += n
                if self.placement.spans_processes:
                    # no chunk in flight while the previous one's arrays are gathered: the
                    # processes' collectives of two programs at once could pair wrongly
                    jax.block_until_ready(self.device_state)
            if pending is not None:       # copy out the previous chunk while this one runs
                out, first_step, n, groups, before, slots = self._copied_out(pending)
                if slots > self.structure.event_slots:     # again, from its start
                    self._grow_event_slots(slots, before)
                    self.step, running = first_step, None
                else:
                    failure = self._collect(out, first_step, n, health.nonfinite_cells(groups))
            pending = running
        if failure is not None:           # NaN or inf: stop, with the data recorded so far
            if pending is not None:       # and the chunk in flight, unless it lost event times
                out, first_step, n, groups, before, slots = self._copied_out(pending)
                if slots > self.structure.event_slots:
                    self.step, self.device_state = first_step, before
                else:
                    self._collect(out, first_step, n, health.nonfinite_cells(groups))
            raise failure

    def _copied_out(self, chunk):
        """A chunk run by :meth:`advance` (recordings, first step, steps, groups' state at its
        end, state at its start) with its recordings and end state on the host (one copy:
        one all-gather across processes), and the event slots it needed."""
        out, first_step, n, groups, before = chunk
        out, groups = processes.fetch((out, groups))
        return out, first_step, n, groups, before, self._event_slots_for(out, n)

    def _event_slots_for(self, out, n, structure=None, n_sets=1):
        """The precise input events' slots per cell and step that a chunk of ``n`` steps (its
        recordings ``out``) of ``structure`` (default: the network's; ``n_sets`` copies of it
        in a sweep) needed: the slots it had, or, if a cell received more events in a step,
        the next power of two above that number, at most what fits in
        :data:`MAX_EVENT_BYTES` (events beyond arrive at the end of their step, as on the
        grid: a warning says so, once)."""
        structure = structure or self.structure
        slots = structure.event_slots
        if not slots:
            return 0
        # (chunk_steps,), or with a leading axis over the devices or the sets of a sweep
        peak = int(np.max(processes.fetch(out["event_peak"])[..., :n], initial=0))
        if peak <= slots:
            return slots
        first, stop = structure.event_cells
        entry_bytes = 2 * np.dtype(self.sim.dtype).itemsize * structure.n_slots * (
            stop - first) * n_sets
        most = max(slots, 1 << int(np.log2(max(MAX_EVENT_BYTES // entry_bytes, 1))))
        needed = min(1 << int(np.ceil(np.log2(peak))), most)
        if needed < peak and not self._warned_event_slots:
            self._warned_event_slots = True
            warnings.warn(f"spike_precision='off_grid': a cell received {peak} input events "
                          f"in one step; {needed} per cell and step are kept with their "
                          f"times (their memory is bounded by pyNN_jax.build."
                          f"MAX_EVENT_BYTES = {MAX_EVENT_BYTES}), the others arrive at the end "
                          f"of their step", RuntimeWarning, stacklevel=4)
        return needed

    def _grow_event_slots(self, slots, before):
        """``slots`` precise input events per cell and step from now on (the new structure
        compiled once), and ``before`` (the state at the start of a chunk, to be run again)
        back as the state, its events laid out for them."""
        state = self.placement.host_state(self.structure, before)
        state["events"] = widened_events(state["events"], self.structure.event_slots, slots)
        self.event_slots = slots
        self.structure = dataclasses.replace(self.structure, event_slots=slots)
        self.device_state = self.placement.state(self.structure, state)

    def _quick_compile(self):
        """Whether the network, simulated to the end of the run in progress (``end_step``), is
        small enough for a quick compilation of its chunk (:data:`QUICK_COMPILE_CELL_STEPS`)."""
        return self.structure.n_cells * self.end_step < QUICK_COMPILE_CELL_STEPS

    def _record_initial_samples(self):
        groups, indices = processes.fetch((self.device_state["groups"],
                                           self.values["record"]["signals"]))
        for (recorder, variable, ids), (g, name, _), idx in zip(
                self.record_map["signals"], self.structure.record.signals, indices):
            # indexed on the host: an eager device gather would compile (XLA) once per run
            cells = idx[:len(ids)]      # the rest pads the recorded cells
            sample = np.asarray(groups[g][name], dtype=float)[cells][None, :]
            recorder._append_signal(variable, ids, sample)
        amplitudes = engine.initial_amplitudes(self.structure, self.values, 0)
        for source, values in zip(self.record_map["currents"], amplitudes):
            source._append_samples(np.asarray(values, dtype=float))

    def _collect(self, out, first_step, n, findings):
        """Copy a chunk's recordings to the recorders; return the error for a state that
        became non-finite in the chunk (``findings``: :func:`.engine.health.nonfinite_cells`
        of the state at its end), or None."""
        dt = self.sim.dt
        out = self.placement.host_recordings(out)
        if self.record_map["spikes"]:
            spikes = {"counts": _raster_spikes(out["spikes"][:n], first_step, dt),
                      "precise": _raster_spikes(out["precise_spikes"][:n], first_step, dt,
                                                out["precise_offsets"][:n])}
            rows, cols = engine.unpack_bits(out["spike_bits"][:n])
            spikes["bits"] = (cols, (first_step + rows + 1) * dt)
            for recorder, buffer, start, ids in self.record_map["spikes"]:
                cols, times = spikes[buffer]
                mask = (cols >= start) & (cols < start + len(ids))
                recorder._append_spikes(ids[cols[mask] - start], times[mask])
        for recorder, _, ids, grid, times in self.record_map["exact_spikes"]:
            mask = (grid > first_step) & (grid <= first_step + n)
            recorder._append_spikes(ids[mask], times[mask])
        steps = first_step + 1 + np.arange(n)
        for (recorder, variable, ids), values in zip(self.record_map["signals"],
                                                     out["signals"]):
            interval = max(int(round(recorder.sampling_interval / dt)), 1)
            keep = steps % interval == 0
            recorder._append_signal(variable, ids,
                                    np.asarray(values[:n, :len(ids)][keep], dtype=float))
        for source, values in zip(self.record_map["currents"], out["currents"]):
            source._append_samples(np.asarray(values[:n, 0], dtype=float))
        return health.instability(findings, self.layout, first_step * dt, (first_step + n) * dt)

    # ---- reset -----------------------------------------------------------------------------
    def reset(self):
        """t = 0, every state variable and synaptic state back to its initial value."""
        self.device_state = None
        self.host_ring = None
        self.host_events = None
        self.cell_level_synapse_state = []
        self.step = 0
        for pop in self.sim.populations:
            pop._restore_initial_state()
        for prj in self.sim.projections:
            prj._reset_synapse_state()
        if self.values is not None and not self.structure_dirty:   # new random numbers
            self.values = self.placement.values(self.structure, {**self.values, **self._segment_keys()})

    def _segment_keys(self):
        segment = self.sim.segment_counter
        return {"key": prng.raw_key(self.sim.seed_for(("segment", segment))),
                "noise_key": prng.raw_key(self.sim.seed_for(("noise", segment)))}


def _stacked(arrays, n_blocks=None, blocks=None):
    """``arrays`` concatenated along their first axis into an aligned array, which JAX's
    CPU client adopts without a copy (:func:`.engine.synapses.aligned_empty`). With
    ``blocks``, they are blocks ``blocks`` of ``n_blocks`` equal ones, the others zero (never
    written: on Linux, pages that take no memory)."""
    if blocks is None or len(blocks) == n_blocks:
        out = engine_synapses.aligned_empty((sum(a.shape[0] for a in arrays),)
                                            + arrays[0].shape[1:], arrays[0].dtype)
        return np.concatenate(arrays, out=out)
    size = arrays[0].shape[0]
    out = np.zeros((n_blocks * size,) + arrays[0].shape[1:], arrays[0].dtype)
    for block, array in zip(blocks, arrays):
        out[block * size:(block + 1) * size] = array
    return out


def _raster_spikes(raster, first_step, dt, offsets=None):
    """(cells, times in ms) of the spikes of a chunk's counts ``raster`` (steps, cells) from
    step ``first_step``, a cell's count repeated; ``offsets`` (steps, cells): ms before the
    end of the step (precise spikes), else the spikes are at the end of the step."""
    rows, cols = np.nonzero(raster)
    repeats = raster[rows, cols]
    times = (first_step + rows + 1) * dt
    if offsets is not None:
        times = times - offsets[rows, cols]
    return np.repeat(cols, repeats), np.repeat(times, repeats)


def widened_events(events, old, new):
    """Precise input events (host arrays) laid out for ``new`` slots per cell and step instead
    of ``old``, the added slots empty; leading axes (the sets of a sweep) kept."""
    return {name: (np.pad(np.asarray(values).reshape(-1, old), ((0, 0), (0, new - old)))
                   .reshape(np.shape(values)[:-1] + (-1,))
                   if name in ("offset", "weight") else values)
            for name, values in events.items()}


def plasticity_cell_state(n_cells, n_slots, dtype, n_devices=1):
    """Traces and their history of a plastic table at rest; split over ``n_devices``, every
    device keeps the presynaptic ones of all cells (a copy each, stacked), the postsynaptic
    ones of its own cells."""
    state = {}
    for side, cells in (("pre", n_devices * n_cells), ("post", n_cells)):
        state[f"{side}_trace"] = np.zeros(cells, dtype)
        state[f"{side}_trace_history"] = np.zeros((n_slots, cells), dtype)
        state[f"{side}_spike_history"] = np.zeros((n_slots, cells), np.int32)
        state[f"recent_{side}_spikes"] = np.zeros(cells, np.int32)
    state["post_offset_history"] = np.zeros((n_slots, n_cells), dtype)
    return state
