"""A network as pytrees of arrays and its jit-compiled time loop.

The *structure* (:class:`Structure`: models, sizes, table shapes, what is recorded, dt, chunk
length, block length) is hashable and static; it is the jit cache key. *Values* (parameters,
derived constants, connectivity and weights, PRNG key) and *state* are pytrees of arrays passed
as arguments. Hence the rule: changing time, state or any parameter or weight value never
recompiles; adding cells, connections, sources or recorded cells does (once).

One call of :func:`run_chunk` advances ``n_steps`` <= ``chunk_steps`` steps (an argument: a run of
any length reuses the one compiled chunk) and returns the recordings of every step.

Blocks (NEST's communication interval): every spike of a *static* table reaches its target at
least ``block_steps`` steps after it was emitted, so the cells advance ``block_steps`` steps with
the ring buffer as it is, and the spikes of the whole block are delivered at its end in one
event-driven pass. Tables with per-connection dynamics (plastic, depressing, stochastic) are
delivered every step, inside the block.

Block method (``block_method``, opt-in; Taylor, King & Harper 2023, see :mod:`.models.block`):
when every table is static and ``block_steps`` is also at most the refractory period plus one
step of every LIF cell, a full block is advanced at once, without a loop over its steps:
models with a ``step_block`` solve it time-parallel, spike sources scan their steps.

Order within step k (t = k dt -> (k+1) dt), NEST's:
1. read the ring-buffer slot k mod n_slots: the weights arriving in this step (the slots read
   in a block are cleared at its end, before its static spikes are scattered; the ring holds
   at least max delay + block_steps slots, so no spike lands in a slot read but not cleared);
2. injected currents of step k;
3. each group advances (membrane first, arriving input added at the end, threshold test);
4. the spikes of step k (stamped (k+1) dt) are scattered into the slots k + delay_steps
   (static tables: at the end of the block, into the same slots);
5. recorded values are written to the chunk's output buffers.

Cells split over devices (``Structure.devices`` > 1, run inside ``jax.shard_map`` over the mesh
axis :data:`AXIS`, see :mod:`.sharding`): the structure describes one device's share, a
contiguous part of every group; the device advances its cells, holds their ring slots and the
connections onto them, and the devices exchange only spike counts (:func:`exchange`), once per
block for the static tables and once per step where a table delivers every step.
"""
from dataclasses import dataclass
from functools import partial

import numpy as np
import jax
import jax.numpy as jnp
from jax import lax

from . import currents as currents_mod
from . import processes, prng, synapses
from .compact import first_true
from .models import precise
from .models.base import StepContext, materialised

prng.unroll_threefry_on_cpu()

AXIS = "cells"     # the mesh axis that the cells are split over


@dataclass(frozen=True)
class GroupSpec:
    """``size`` cells of one ``model`` at global indices ``offset ... offset+size-1``. Their
    random numbers are entries ``draw_offset ...`` of the draws of group ``draw_group`` (-1:
    this group's own index), so that a network laid out in other groups draws the same."""
    model: object
    size: int
    offset: int
    draw_group: int = -1
    draw_offset: int = 0


@dataclass(frozen=True)
class TableSpec:
    kind: str
    n_rows: int
    width: int
    rows_per_pass: int
    axonal: bool = False        # plastic table with axonal delays
    cell_rows: bool = False     # row r holds the connections of cell r


@dataclass(frozen=True)
class RecordSpec:
    """Shapes of what is recorded: spike counts of ``n_spike_cells`` cells (int16 per step),
    spikes of ``n_spike_bit_cells`` cells that fire at most once per step (one bit per cell and
    step, in uint32 words), state variables ``(group, name, n_cells)`` and injected-current
    entries ``(kind, n_entries)``."""
    n_spike_cells: int = 0
    n_spike_bit_cells: int = 0
    n_precise_spike_cells: int = 0    # cells of precise models: counts and offsets per step
    # >= 0: the recorded cells are first ... first + n - 1, taken by a slice, not a gather
    # (no index array read every step; under jax.vmap the gather is followed by a transpose
    # of the whole batch)
    spike_first: int = -1
    spike_bit_first: int = -1
    precise_spike_first: int = -1
    signals: tuple = ()
    currents: tuple = ()


@dataclass(frozen=True)
class Structure:
    groups: tuple
    tables: tuple
    current_kinds: tuple
    n_ports: int
    n_slots: int
    dt: float
    chunk_steps: int
    record: RecordSpec
    dtype: str = "float32"
    block_steps: int = 1        # <= the shortest delay of any static table, in steps
    block_method: bool = False  # full blocks advanced time-parallel (models' step_block)
    # precise input events (:mod:`.models.precise`): slots per cell and step (0: none), and
    # the cells first ... stop - 1 that keep them
    event_slots: int = 0
    event_cells: tuple = (0, 0)
    # > 1: every group split evenly over this many devices (:mod:`.sharding`); ``groups``
    # (sizes, offsets), ``n_cells``, the ring and the tables' targets are one device's share,
    # the tables' rows belong to the cells of all devices (``n_pre``, global indices)
    devices: int = 1

    @property
    def n_cells(self):
        return sum(g.size for g in self.groups)

    @property
    def n_pre(self):
        """Cells whose spikes the tables deliver: those of every device."""
        return self.devices * self.n_cells

    @property
    def slot_stride(self):
        return self.n_ports * self.n_cells

    @property
    def emits_offsets(self):
        """True if a group emits spikes with offsets (:mod:`.models.precise`)."""
        return any(getattr(g.model, "emits_offsets", False) for g in self.groups)


def spike_offsets(structure, groups, dtype):
    """(n_cells,) offsets (ms before the end of the step) of the spikes of a step: the
    ``spike_offset`` state of groups that emit offsets, 0 (the end of the step) for others."""
    return jnp.concatenate([
        s["spike_offset"] if getattr(g.model, "emits_offsets", False) else jnp.zeros(g.size, dtype)
        for g, s in zip(structure.groups, groups)])


def _step_events(structure, events, k):
    """The precise input events of step k of the event cells: (count (cells,), folds (cells,
    folds), ``stored(cells)`` -> offset and weight (len(cells), slots) of these cells), and
    ``events`` with the step's counts cleared. The stored events are gathered for the cells
    that need them, not sliced for all (XLA copied the slices every step)."""
    first, stop = structure.event_cells
    n_event_cells, per_cell = stop - first, structure.event_slots
    n_folds = len(precise.EVENT_FOLDS)
    start = synapses.wrap_slot(k, structure.n_slots) * n_event_cells
    count = lax.dynamic_slice_in_dim(events["count"], start, n_event_cells)
    # (the folds of a (slot, cell) without events are an earlier step's: not cleared)
    folds = jnp.where(count[:, None] > 0, lax.dynamic_slice_in_dim(
        events["fold"], start * n_folds, n_event_cells * n_folds).reshape(
        n_event_cells, n_folds), 0)

    def stored(cells):
        entries = (start + cells)[:, None] * per_cell + jnp.arange(per_cell)
        return events["offset"][entries], events["weight"][entries]

    cleared = {**events, "count": lax.dynamic_update_slice_in_dim(
        events["count"], jnp.zeros_like(count), start, 0)}
    return (count, folds, stored), cleared


def derive_constants(model, params, dt, dtype):
    """Per-cell constants of a group, computed on the host in float64 and cast."""
    derived = model.derive({k: np.asarray(v, dtype=np.float64) if np.asarray(v).dtype.kind == "f"
                            else np.asarray(v) for k, v in params.items()}, dt, np)
    return {k: (np.asarray(v, dtype=dtype) if np.asarray(v).dtype.kind == "f" else np.asarray(v))
            for k, v in derived.items()}


def compact_group_values(model, values, per_cell=frozenset()):
    """The parameters and derived constants ``{"p": ..., "d": ...}`` of a group as the step
    reads them: for models with ``scalar_parameters``, each array whose entries are all equal
    becomes a scalar, unless ``(part, name)`` is in ``per_cell``, so that a step reads
    per-cell memory only for the values that differ between cells (1M IF_curr_exp cells with
    one value per parameter: 13 -> 7.6 ms per step on a 2-core CPU). Which values are
    scalars is part of the arrays' shapes: a value that becomes a scalar or an array
    compiles the chunk again."""
    if not model.scalar_parameters:
        return values

    def compact(part, name, array):
        array = np.asarray(array)
        if (array.ndim == 1 and array.size and (part, name) not in per_cell
                and (array == array[0]).all()):
            return np.array(array[0])        # 0-d, of the same dtype
        return array

    return {part: {name: compact(part, name, array) for name, array in arrays.items()}
            for part, arrays in values.items()}


def _device(structure):
    """The index of this device among those the cells are split over (0 unsplit)."""
    return lax.axis_index(AXIS) if structure.devices > 1 else 0


# Between devices a block's counts travel packed, 2 bits per (step, cell) entry (0, 1, 2, or
# 3: "3 or more", whose counts follow in a list of at most 1/BIG_COUNTS_SHARE of the entries),
# off the grid with the offsets of at most 1/OFFSETS_SHARE of the entries (the spiking ones,
# in order), where a device's block has MIN_PACKED_ENTRIES entries or more; a block that
# overflows a list on some device is exchanged whole (a second all_gather, that block only)
MIN_PACKED_ENTRIES = 1024
BIG_COUNTS_SHARE = 256
OFFSETS_SHARE = 16


def exchange(structure, counts, offsets=None):
    """Spike counts (..., n_cells) of this device's cells, and their offsets (precise spikes)
    or None -> those of all cells (..., n_pre), in the global order (group after group: the
    tables' rows follow it, so that every ring slot receives its additions in the order of
    one device). Unsplit: ``counts``, ``offsets``."""
    if structure.devices == 1:
        return counts, offsets
    if counts.size >= MIN_PACKED_ENTRIES:
        gathered = _gather_packed(counts, offsets)
    else:
        gathered = _gather_whole(counts, offsets)
    return tuple(None if x is None else jnp.concatenate(
        [x[..., g.offset:g.offset + g.size].reshape(
            counts.shape[:-1] + (structure.devices * g.size,)) for g in structure.groups],
        axis=-1) for x in gathered)


def _gather_whole(counts, offsets):
    """(counts, offsets or None) of every device: (..., device, cell)."""
    return tuple(None if x is None else lax.all_gather(x, AXIS, axis=x.ndim - 1)
                 for x in (counts, offsets))


def _listed(mask, values, capacity):
    """(number of True entries of ``mask``, indices of the first ``capacity`` (``mask.size``
    where missing), ``values`` there)."""
    entry = first_true(mask, capacity)
    return (jnp.sum(mask, dtype=jnp.uint32)[None], entry,
            values[jnp.minimum(entry, mask.size - 1)])


def _gather_packed(counts, offsets):
    """:func:`_gather_whole` from one all_gather of uint32 words per device: its counts, 2
    bits each, the counts of 3 or more listed, the offsets of the spiking entries listed;
    where a list overflowed on some device, from :func:`_gather_whole`."""
    lead, n_cells = counts.shape[:-1], counts.shape[-1]
    flat = counts.reshape(-1).astype(jnp.int32)
    n = flat.size
    n_words = -(-n // 16)
    shifts = 2 * jnp.arange(16, dtype=jnp.uint32)
    two_bits = jnp.pad(jnp.minimum(flat, 3).astype(jnp.uint32), (0, 16 * n_words - n))
    packed = jnp.sum(two_bits.reshape(n_words, 16) << shifts, axis=1, dtype=jnp.uint32)
    big_capacity = max(8, n // BIG_COUNTS_SHARE)
    n_big, big_entry, big_count = _listed(flat >= 3, flat, big_capacity)
    words = [n_big, packed, big_entry.astype(jnp.uint32), big_count.astype(jnp.uint32)]
    if offsets is not None:
        offset_capacity = max(16, n // OFFSETS_SHARE)
        n_spiking, _, spike_offset = _listed(flat > 0, offsets.reshape(-1), offset_capacity)
        words += [n_spiking,
                  lax.bitcast_convert_type(spike_offset, jnp.uint32).reshape(-1)]
    gathered = lax.all_gather(jnp.concatenate(words), AXIS)        # (device, words)
    n_devices = gathered.shape[0]

    def to_global_layout(per_device):
        """(device, entries) -> (..., device, cell)."""
        return jnp.moveaxis(per_device.reshape((n_devices, -1, n_cells)), 0, 1).reshape(
            lead + (n_devices, n_cells))

    def unpacked(_):
        at = 1 + n_words
        words_of = gathered[:, 1:at]
        all_counts = ((words_of[:, :, None] >> shifts) & 3).reshape(n_devices, -1)[:, :n]
        entry = gathered[:, at:at + big_capacity].astype(jnp.int32)
        count = gathered[:, at + big_capacity:at + 2 * big_capacity].astype(jnp.int32)
        device = jnp.arange(n_devices, dtype=jnp.int32)[:, None]
        all_counts = all_counts.astype(jnp.int32).at[device, entry].set(count, mode="drop")
        out_offsets = None
        if offsets is not None:
            listed = gathered[:, at + 2 * big_capacity + 1:].reshape(
                n_devices, offset_capacity, -1)
            listed = lax.bitcast_convert_type(listed if listed.shape[-1] > 1
                                              else listed[..., 0], offsets.dtype)
            spiking = all_counts > 0
            rank = jnp.cumsum(spiking, axis=1, dtype=jnp.int32) - 1
            out_offsets = to_global_layout(jnp.where(
                spiking, jnp.take_along_axis(listed, jnp.clip(rank, 0, offset_capacity - 1),
                                             axis=1), 0).astype(offsets.dtype))
        return to_global_layout(all_counts.astype(counts.dtype)), out_offsets

    def whole(_):
        return _gather_whole(counts, offsets)

    overflow = jnp.any(gathered[:, 0] > big_capacity)
    if offsets is not None:
        overflow |= jnp.any(gathered[:, 1 + n_words + 2 * big_capacity] > offset_capacity)
    return lax.cond(overflow, whole, unpacked, None)


def _first_cell(structure, group):
    """Index in ``group`` (one device's share) of its first cell in the whole group."""
    return _device(structure) * group.size


def _group_part(structure, array, group):
    """This device's cells of ``group`` in ``array`` (..., all cells of the network, in
    the global order: group after group)."""
    if structure.devices == 1:
        return array[..., group.offset:group.offset + group.size]
    return lax.dynamic_slice_in_dim(array, structure.devices * group.offset
                                    + _first_cell(structure, group), group.size,
                                    axis=array.ndim - 1)


def _injected(structure, values, k, dtype):
    """Injected current (nA) of step k into the cells of all devices (the entries are not
    split: each device evaluates them all, :func:`_group_part` takes its own)."""
    return currents_mod.injected_current(structure.current_kinds, values["currents"], k,
                                         structure.dt, values["noise_key"], structure.n_pre,
                                         dtype)


def _context(structure, values, k, g_index):
    """Step k of group g_index: its time, its random key and the first cell of this
    device's share of the group."""
    group = structure.groups[g_index]
    step_key = jax.random.fold_in(values["key"], k)
    key = jax.random.fold_in(step_key, g_index if group.draw_group < 0 else group.draw_group)
    if structure.devices > 1:
        # computed once: split over devices, XLA fused the two hashes of the key into the
        # loop over the cells' draws and computed them per cell (the cortical microcircuit
        # at scale 0.1: 270 instead of 30 us per step)
        key = lax.optimization_barrier(key)
    return StepContext(k, structure.dt, key,
                       first_cell=group.draw_offset + _first_cell(structure, group))


def _step(structure, values, state):
    """Advance every cell by one step and deliver the tables with per-step dynamics; return
    (new_state, spike counts (n_cells,), spike offsets (n_cells,) or None, recorded
    values)."""
    k = state["step"]
    dt = structure.dt
    n_cells = structure.n_cells
    dtype = state["ring"].dtype
    # the slot is only read here; the slots of a block are cleared at its end
    # (_clear_read_slots): clearing it here made XLA copy the whole ring twice per step
    start = (k % structure.n_slots) * structure.slot_stride
    arriving = lax.dynamic_slice_in_dim(state["ring"], start, structure.slot_stride).reshape(
        structure.n_ports, n_cells)
    ring = state["ring"]
    step_key = jax.random.fold_in(values["key"], k)
    i_ext = _injected(structure, values, k, dtype)
    new_groups, counts = [], []
    events = state.get("events")
    if events is not None:
        step_events, events = _step_events(structure, events, k)
    for g_index, g in enumerate(structure.groups):
        ctx = _context(structure, values, k, g_index)
        if getattr(g.model, "receives_events", False):
            first = g.offset - structure.event_cells[0]
            count, folds, stored = step_events
            ctx = ctx._replace(events=(count[first:first + g.size],
                                       folds[first:first + g.size],
                                       lambda cells, first=first: stored(cells + first)))
        syn_in = arriving[:g.model.n_ports, g.offset:g.offset + g.size]
        gv = values["groups"][g_index]
        s, c = g.model.step(gv["p"], gv["d"], state["groups"][g_index], syn_in,
                            _group_part(structure, i_ext, g), ctx)
        new_groups.append(s)
        counts.append(without_padding(c, g, values["used_cells"][g_index],
                                      _first_cell(structure, g)))
    counts = materialised(jnp.concatenate(counts) if counts else jnp.zeros(0, jnp.int32), k)
    offsets = (spike_offsets(structure, new_groups, dtype) if structure.emits_offsets
               else None)
    new_tables = list(state["tables"])
    if any(t_spec.kind != "static" for t_spec in structure.tables):
        all_counts, all_offsets = exchange(structure, counts,
                                           offsets if events is not None else None)
        precise_input = {}
        if events is not None:     # the spikes reach precise cells at their offsets
            fold = precise.event_fold(structure.groups, [gv["p"] for gv in values["groups"]])
            precise_input = {"offsets": all_offsets,
                             "event_cells": structure.event_cells + (n_cells, fold)}
    for t_index, (t_spec, tv, ts) in enumerate(zip(structure.tables, values["tables"],
                                                   state["tables"])):
        if t_spec.kind == "static":
            continue
        table_key = jax.random.fold_in(step_key, len(structure.groups) + t_index)
        sink, new_tables[t_index] = synapses.deliver(
            t_spec.kind, tv, ts, all_counts, ring, k, structure.n_slots, n_cells,
            structure.slot_stride, t_spec.rows_per_pass, dt, table_key, t_spec.axonal,
            t_spec.cell_rows, post_counts=counts, post_offsets=offsets, events=events,
            **precise_input)
        ring, events = (sink, None) if events is None else sink
    new_state = {"groups": new_groups, "tables": new_tables, "ring": ring, "step": k + 1}
    if events is not None:
        new_state["events"] = events
    return new_state, counts, offsets, _record(
        structure, values, new_state, counts, k + 1,
        None if events is None else jnp.max(step_events[0], initial=0))


def _parallel_block(structure, values, state):
    """Block method: advance ``block_steps`` steps at once (every table static, every
    neuron model time-parallel); return (new_state, recorded values stacked per step)."""
    n_block, n_cells, k = structure.block_steps, structure.n_cells, state["step"]
    ring = state["ring"].reshape(structure.n_slots, structure.n_ports, n_cells)
    slots = (k + jnp.arange(n_block)) % structure.n_slots
    arriving = ring[slots]                                  # (n_block, n_ports, n_cells)
    ring = ring.at[slots].set(0).reshape(-1)
    i_ext = jax.vmap(lambda j: _injected(structure, values, k + j, ring.dtype))(
        jnp.arange(n_block))
    trajectories, counts = [], []
    for g_index, g in enumerate(structure.groups):
        gv, cells = values["groups"][g_index], slice(g.offset, g.offset + g.size)
        syn_in = arriving[:, :g.model.n_ports, cells]
        group_current = _group_part(structure, i_ext, g)
        if g.model.time_parallel:
            trajectory, c = g.model.step_block(gv["p"], gv["d"], state["groups"][g_index],
                                               syn_in, group_current,
                                               _context(structure, values, k, g_index))
        else:                                               # spike sources: no input
            def one_step(s, inputs, g=g, gv=gv, g_index=g_index):
                j, syn, current = inputs
                s, c = g.model.step(gv["p"], gv["d"], s, syn, current,
                                    _context(structure, values, k + j, g_index))
                return s, (s, c)
            _, (trajectory, c) = lax.scan(one_step, state["groups"][g_index],
                                          (jnp.arange(n_block), syn_in, group_current))
        trajectories.append(trajectory)
        counts.append(without_padding(c, g, values["used_cells"][g_index],
                                      _first_cell(structure, g)))
    counts = jnp.concatenate(counts, axis=1)
    new_state = {"groups": [jax.tree_util.tree_map(lambda x: x[-1], t) for t in trajectories],
                 "tables": state["tables"], "ring": ring, "step": k + n_block}
    recorded = jax.vmap(lambda groups, c, j: _record(
        structure, values, {"groups": groups, "ring": ring}, c, k + j + 1))(
        trajectories, counts, jnp.arange(n_block))
    return _deliver_static(structure, values, new_state, counts, k), recorded


def without_padding(counts, group, used_cells, first_cell=0):
    """Spike counts ``counts`` (..., group.size) of the cells of ``group`` (from its cell
    ``first_cell`` on, a device's share), zero past the group's first ``used_cells`` cells:
    the others only pad the group to the size it was compiled for (:mod:`pyNN_jax.padding`)
    or to a multiple of the devices, and never spike."""
    return jnp.where(first_cell + jnp.arange(group.size) < used_cells, counts,
                     jnp.zeros((), counts.dtype))


def _clear_read_slots(structure, ring, first_step, n_read):
    """Zero the ring slots that steps first_step ... first_step + n_read - 1 have read
    (n_read <= block_steps), in place: a window of block_steps slots, and a second one at the
    start of the ring only for a block that wraps around its end. No spike lands in these
    slots before they are cleared: the ring holds at least max delay + block_steps slots."""
    n_slots, n_block = structure.n_slots, structure.block_steps
    first = synapses.wrap_slot(first_step, n_slots)

    def clear(slots, start):
        window = lax.dynamic_slice_in_dim(slots, start, n_block)
        read = synapses.wrap_slot(start + jnp.arange(n_block) - first, n_slots) < n_read
        return lax.dynamic_update_slice_in_dim(
            slots, jnp.where(read[:, None], jnp.zeros((), ring.dtype), window), start, 0)

    slots = clear(ring.reshape(n_slots, structure.slot_stride),
                  jnp.minimum(first, n_slots - n_block))
    slots = lax.cond(first + n_read > n_slots, clear, lambda s, _: s, slots, 0)
    return slots.reshape(-1)


def _deliver_static(structure, values, state, block_counts, first_step, block_offsets=None):
    """Scatter the spikes of a block (``block_counts``: (block_steps, n_cells), row j holds
    the spikes of step first_step + j) through every static table; with precise events,
    ``block_offsets`` (block_steps, n_cells) holds the spikes' offsets. Split over
    devices, ``block_counts`` and ``block_offsets`` are this device's cells' and are exchanged
    first."""
    if any(t_spec.kind == "static" for t_spec in structure.tables):
        block_counts, block_offsets = exchange(structure, block_counts, block_offsets)
    ring, events = state["ring"], state.get("events")
    if events is not None:
        fold = precise.event_fold(structure.groups, [gv["p"] for gv in values["groups"]])
    for t_spec, tv, ts in zip(structure.tables, values["tables"], state["tables"]):
        if t_spec.kind != "static":
            continue
        if events is None:
            ring = synapses.deliver_static(tv, block_counts, ring, first_step,
                                           structure.n_slots, structure.n_pre,
                                           structure.slot_stride, t_spec.rows_per_pass,
                                           cell_rows=t_spec.cell_rows)
        else:
            ring, events = synapses.deliver_static(
                tv, block_counts, ring, first_step, structure.n_slots, structure.n_cells,
                structure.slot_stride, t_spec.rows_per_pass, cell_rows=t_spec.cell_rows,
                events=events, offsets=block_offsets,
                event_cells=structure.event_cells + (structure.n_cells, fold))
    if events is None:
        return {**state, "ring": ring}
    return {**state, "ring": ring, "events": events}


def _record(structure, values, state, counts, next_step, event_peak=None):
    """The recorded values of a step; with precise input events, ``event_peak``: the most
    events a cell received in it (more than ``structure.event_slots``: some were not kept
    with their offsets: the caller runs the chunk again with more slots)."""
    rv = values["record"]
    spec = structure.record
    out = {"spikes": _recorded(structure, counts, spec.spike_first,
                               rv["spike_cells"]).astype(jnp.int16),
           "spike_bits": pack_bits(_recorded(structure, counts, spec.spike_bit_first,
                                             rv["spike_bit_cells"]) > 0),
           "precise_spikes": _recorded(structure, counts, spec.precise_spike_first,
                                       rv["precise_spike_cells"]).astype(jnp.int16),
           "precise_offsets": (_recorded(structure, spike_offsets(structure, state["groups"],
                                                                  state["ring"].dtype),
                                         spec.precise_spike_first, rv["precise_spike_cells"])
                               if spec.n_precise_spike_cells
                               else jnp.zeros(0, state["ring"].dtype)),
           "signals": [_group_signal(structure, state["groups"][g][name], structure.groups[g],
                                     idx).astype(state["ring"].dtype)
                       for (g, name, _), idx in zip(structure.record.signals, rv["signals"])],
           "currents": []}
    if structure.event_slots:
        out["event_peak"] = event_peak
    for (kind, _), idx in zip(structure.record.currents, rv["currents"]):
        entries = jax.tree_util.tree_map(lambda a: a[idx], values["currents"][kind])
        out["currents"].append(currents_mod.amplitudes(kind, entries, next_step, structure.dt,
                                                       values["noise_key"]))
    return out


def _recorded(structure, counts, first, cells):
    """The entries ``cells`` (global indices) of ``counts``; they are ``first`` ... if
    ``first`` >= 0. Split over devices, ``counts`` are this device's cells' and the entries
    of other devices' cells are 0 (the recordings of the devices are merged on the host,
    :mod:`.sharding`)."""
    if structure.devices == 1:
        return counts[first:first + cells.shape[0]] if first >= 0 else counts[cells]
    n_devices, n = structure.devices, cells.shape[0]
    inside = [g for g in structure.groups
              if first <= n_devices * g.offset < first + n]
    if first >= 0 and all(n_devices * (g.offset + g.size) <= first + n for g in inside) \
            and sum(n_devices * g.size for g in inside) == n:
        # whole groups: this device's cells of each are one slice of the recorded ones
        out = jnp.zeros(n, counts.dtype)
        for g in inside:
            out = lax.dynamic_update_slice_in_dim(
                out, counts[g.offset:g.offset + g.size],
                n_devices * g.offset - first + _first_cell(structure, g), 0)
        return out
    if first >= 0:
        cells = first + jnp.arange(n, dtype=jnp.int32)
    # global index -> group, index in the group -> device, index on the device
    sizes = np.array([g.size for g in structure.groups])
    global_starts = structure.devices * np.array([g.offset for g in structure.groups])
    group = jnp.searchsorted(jnp.asarray(global_starts[1:]), cells, side="right")
    within = cells - jnp.asarray(global_starts)[group]
    size = jnp.asarray(sizes)[group]
    local = jnp.asarray(np.array([g.offset for g in structure.groups]))[group] + within % size
    return jnp.where(within // size == _device(structure), counts[local],
                     jnp.zeros((), counts.dtype))


def _group_signal(structure, values, group, cells):
    """``values`` (a state variable of this device's cells of ``group``) of the cells
    ``cells`` (indices in the whole group); split over devices, 0 for other devices' cells
    (as :func:`_recorded`)."""
    if structure.devices == 1:
        return values[cells]
    return jnp.where(cells // group.size == _device(structure), values[cells % group.size],
                     jnp.zeros((), values.dtype))


def pack_bits(flags):
    """Boolean (n,) -> uint32 (ceil(n / 32),): bit b of word w is flags[32 w + b]."""
    n_words = -(-flags.shape[0] // 32)
    words = jnp.pad(flags, (0, 32 * n_words - flags.shape[0])).reshape(n_words, 32)
    return jnp.sum(words.astype(jnp.uint32) << jnp.arange(32, dtype=jnp.uint32), axis=1,
                   dtype=jnp.uint32)


def unpack_bits(words):
    """Host side inverse of :func:`pack_bits` for a stack of steps: uint32 (n_steps,
    n_words) -> (step, cell) index arrays of the set bits, in step then cell order.

    Works on the words as little-endian 64-bit words (half the words to scan) and extracts
    the set bits of the non-zero ones only, without expanding every word into 32 flags:
    1000 steps of 1M cells with 3.3M spikes take 0.15 s here instead of 0.5-0.7 s, which
    was most of a step's wall time for 1M recorded cells on a GPU."""
    n_words = words.shape[1]
    flat = np.ascontiguousarray(words, dtype="<u4").reshape(-1)
    if flat.size % 2:
        flat = np.append(flat, np.zeros(1, "<u4"))
    wide = flat.view("<u8")
    where = np.flatnonzero(wide != 0)
    values = wide[where]
    per_word = np.bitwise_count(values)
    word_of_bit = np.repeat(where, per_word)
    remaining = np.repeat(values, per_word)
    # the r-th set bit of a word (r = rank among its bits) is the lowest one left after
    # clearing the lowest bit r times
    rank = np.arange(word_of_bit.size) - np.repeat(np.cumsum(per_word) - per_word, per_word)
    for r in range(1, int(per_word.max(initial=0))):
        later = rank >= r
        remaining[later] &= remaining[later] - np.uint64(1)
    bit = np.bitwise_count((remaining & (~remaining + np.uint64(1))) - np.uint64(1))
    flat_bit = word_of_bit * 64 + bit
    return flat_bit // (32 * n_words), flat_bit % (32 * n_words)


@partial(jax.jit, static_argnums=0)
def run_chunk(structure, values, state, n_steps):
    """Advance ``n_steps`` (<= structure.chunk_steps) steps; return the state and the
    recorded values of every step, stacked (chunk_steps, ...); rows past n_steps are zero."""
    block = structure.block_steps
    # shapes of one step's record (tracing _record alone is far cheaper than tracing _step)
    template = jax.eval_shape(partial(_record, structure, values), state,
                              jnp.zeros(structure.n_cells, jnp.int32), state["step"] + 1,
                              jnp.int32(0))
    recorded = jax.tree_util.tree_map(
        lambda a: jnp.zeros((structure.chunk_steps,) + a.shape, a.dtype), template)

    static = any(t.kind == "static" for t in structure.tables)

    precise = static and "events" in state

    def one_step(j, carry):
        state, block_counts, recorded, first = carry
        state, counts, offsets, out = _step(structure, values, state)
        recorded = jax.tree_util.tree_map(lambda buf, x: buf.at[first + j].set(x), recorded, out)
        if static:
            block_counts = {**block_counts, "counts": block_counts["counts"].at[j].set(
                counts.astype(jnp.int16))}
        if precise:
            block_counts = {**block_counts,
                            "offsets": block_counts["offsets"].at[j].set(offsets)}
        return state, block_counts, recorded, first

    def step_by_step_block(carry):
        state, block_counts, recorded, done = carry
        n_block = jnp.minimum(block, n_steps - done)
        first_step = state["step"]
        if static:      # rows past a short last block must not hold the previous block's spikes
            block_counts = {**block_counts, "counts": lax.cond(
                n_block < block, jnp.zeros_like, lambda b: b, block_counts["counts"])}
        state, block_counts, recorded, _ = lax.fori_loop(
            0, n_block, one_step, (state, block_counts, recorded, done))
        # the first step is taken from the loop's counter: the clearing has to wait for the
        # loop (XLA would otherwise clear a copy of the ring before it, the loop reading the
        # original)
        state = {**state, "ring": _clear_read_slots(structure, state["ring"],
                                                     state["step"] - n_block, n_block)}
        if static:
            state = _deliver_static(structure, values, state, block_counts["counts"],
                                    first_step, block_counts.get("offsets"))
        return state, block_counts, recorded, done + n_block

    def parallel_block(carry):
        state, block_counts, recorded, done = carry
        state, out = _parallel_block(structure, values, state)
        recorded = jax.tree_util.tree_map(
            lambda buf, x: lax.dynamic_update_slice_in_dim(buf, x.astype(buf.dtype), done, 0),
            recorded, out)
        return state, block_counts, recorded, done + block

    def one_block(carry):
        if not structure.block_method:
            return step_by_step_block(carry)
        return lax.cond(n_steps - carry[3] >= block, parallel_block, step_by_step_block, carry)

    # spikes of the current block for the static tables (int16: multiplicities are small),
    # and their offsets where spikes are precise
    block_counts = {"counts": jnp.zeros((block, structure.n_cells) if static else (0,),
                                        jnp.int16)}
    if precise:
        block_counts["offsets"] = jnp.zeros((block, structure.n_cells), state["ring"].dtype)
    state, _, recorded, _ = lax.while_loop(lambda c: c[3] < n_steps, one_block,
                                           (state, block_counts, recorded, jnp.int32(0)))
    return state, recorded


def initial_amplitudes(structure, values, step):
    """Amplitudes of the recorded current entries at ``step`` (for the sample at t = 0)."""
    rv = values["record"]
    out = []
    for (kind, _), idx in zip(structure.record.currents, rv["currents"]):
        entries = jax.tree_util.tree_map(lambda a: a[idx], values["currents"][kind])
        out.append(processes.fetch(currents_mod.amplitudes(kind, entries, jnp.int32(step),
                                                           structure.dt, values["noise_key"])))
    return out
