"""Spreading a network over several JAX devices: the cells are split, spikes cross.

The devices form a one-dimensional :class:`jax.sharding.Mesh` with the axis ``"cells"``
(:data:`.network.AXIS`). Every group (the cells of one model) is split evenly into contiguous
parts (the assembly pads each group to a multiple of the devices with cells that never
spike): device d holds cells ``d * n / D ... (d + 1) * n / D - 1`` of every group of n cells,
their state, their own ring-buffer slots and the connections onto them (one table per device,
built from the connections whose postsynaptic cell it holds, :meth:`CellSplit.split_part`;
the devices' tables are stacked along their rows). The chunk runs under ``jax.shard_map``:
each device runs :func:`.network.run_chunk` on its share (``Structure.devices``,
:func:`local_structure`), and the devices exchange only the spikes of their cells
(:func:`.network.exchange`: a list of the spiking entries, or every count): one
``all_gather`` per block of min-delay steps for the static tables, one per step where a table
delivers every step (plastic, depressing, stochastic).

Placement of the arrays (the global arrays are the devices' parts, in device order, along
the split axis):

- group parameters, derived constants and state: split along the cells (their first axis, or
  the last for the names in ``model.cells_on_last_axis``); values equal in every cell
  (scalars) replicated;
- tables, their per-connection state: split along the rows (each device's rows after the
  previous device's); the plastic tables' traces along the cells: every device keeps the
  presynaptic traces of all cells (a copy each), the postsynaptic ones of its own cells;
- the ring buffer and the precise input events: each device's slots of its cells, stored
  device after device (:meth:`CellSplit.device_major`; :meth:`Placement.host_state` gives
  them back in the global layout);
- everything else (current entries, indices of the recorded cells, PRNG keys, the step
  counter): replicated. Every device evaluates all current entries and takes its cells'
  part.

Recordings: each device records the entries of its own cells and zero for the others; the
host adds the devices' buffers (:meth:`Placement.host_recordings`).

The results are those of one device: the random numbers of a cell do not depend on the split
(:func:`.prng.uniform`), and every ring slot receives its additions in the order of one
device (the exchanged counts are in the global order, and a device's table holds each
presynaptic cell's connections in their order). Only stochastic synapses draw differently:
their draws are per delivery pass, and a device's passes hold other rows.
"""
import dataclasses
import functools
from functools import partial

import numpy as np
import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from . import chunk_cache, network, processes, synapses

AXIS = network.AXIS


def resolve_devices(devices):
    """The devices a network runs on.

    Parameters
    ----------
    devices : None, int, "all" or sequence of jax.Device
        None or 1: the default device (no sharding); N: the first N devices of the default
        backend; "all": every device of the default backend (of every process, in a
        multi-process run); a sequence: those devices.

    Returns
    -------
    tuple of jax.Device

    Raises
    ------
    ValueError
        If more devices are asked for than exist, or ``devices`` is of another type.
    """
    available = jax.devices()
    if devices is None:
        return (available[0],)
    if isinstance(devices, str):
        if devices != "all":
            raise ValueError(f"devices = {devices!r}; the only string allowed is 'all'")
        return tuple(available)
    if isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
        if not 1 <= devices <= len(available):
            raise ValueError(
                f"devices = {devices}; it must be between 1 and the number of "
                f"{jax.default_backend()} devices available, {len(available)}")
        return tuple(available[:int(devices)])
    try:
        chosen = tuple(devices)
    except TypeError:
        raise ValueError(f"devices = {devices!r}; it must be an int, 'all' or a sequence "
                         f"of jax devices") from None
    if not chosen or not all(isinstance(d, jax.Device) for d in chosen):
        raise ValueError(f"devices = {devices!r}; a sequence must hold at least one "
                         f"jax.Device")
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"devices = {devices!r}; a device is listed twice")
    return chosen


def cell_mesh(devices):
    """A one-dimensional mesh over ``devices`` with the axis ``"cells"``."""
    return Mesh(np.asarray(devices, dtype=object), (AXIS,))


def local_structure(structure, n_devices):
    """The structure of one device's share of ``structure`` (whose groups are multiples of
    ``n_devices``; its tables already one device's, as the assembly builds them)."""
    first, stop = structure.event_cells
    return dataclasses.replace(
        structure, devices=n_devices,
        groups=tuple(dataclasses.replace(g, size=g.size // n_devices,
                                         offset=g.offset // n_devices)
                     for g in structure.groups),
        event_cells=(first // n_devices, stop // n_devices))


class CellSplit:
    """Which device holds which cells of a network of groups of ``group_sizes`` cells (each a
    multiple of ``n_devices``, in this order, at consecutive global indices)."""

    def __init__(self, group_sizes, n_devices):
        sizes = np.asarray(group_sizes, dtype=np.int64)
        self.n_devices = n_devices
        self.starts = np.concatenate([[0], np.cumsum(sizes)])
        self.shares = sizes // n_devices                # cells per device, per group
        self.local_starts = np.concatenate([[0], np.cumsum(self.shares)])
        self.n_local = int(self.local_starts[-1])

    def locate(self, cells):
        """(device, index on the device) of global cell indices ``cells``."""
        cells = np.asarray(cells, dtype=np.int64)
        group = np.searchsorted(self.starts, cells, side="right") - 1
        within = cells - self.starts[group]
        share = self.shares[group]
        return within // share, self.local_starts[group] + within % share

    def device_major(self, first=0, stop=None):
        """The global indices of the cells first ... stop - 1 (whole groups), device after
        device: device 0's of the first group, of the next, ..., then device 1's."""
        stop = self.starts[-1] if stop is None else stop
        groups = [g for g in range(len(self.shares))
                  if first <= self.starts[g] and self.starts[g + 1] <= stop]
        return np.concatenate(
            [np.arange(self.starts[g] + d * self.shares[g],
                       self.starts[g] + (d + 1) * self.shares[g]) - first
             for d in range(self.n_devices) for g in groups] + [np.zeros(0, np.int64)])

    def split_part(self, part, n_cells):
        """The connections of ``part`` (:class:`.synapses.ConnectionPart`, targets
        ``port * n_cells + post``) onto each device's cells: per device, (the part with
        targets ``port * n_local + index on the device``, the indices of its connections in
        ``part``, or None for all of them), the connections' order kept. Worked out a piece
        at a time, in int32; the connections of a part that lie on one device (a process's
        own, where each process holds its cells' share) are not copied."""
        device = np.empty(part.size, np.int32)
        local_target = np.empty(part.size, np.int32)
        for start in range(0, part.size, synapses.INDEX_CHUNK):
            stop = min(start + synapses.INDEX_CHUNK, part.size)
            port, post = np.divmod(np.asarray(synapses.piece_of(part.target, start, stop),
                                              dtype=np.int64), n_cells)
            on_device, local = self.locate(post)
            device[start:stop] = on_device
            local_target[start:stop] = port * self.n_local + local
        pre = synapses.piece_of(part.pre, 0, part.size)
        out = []
        for d in range(self.n_devices):
            if part.size and device[0] == d and (device == d).all():
                out.append((part._replace(pre=pre, target=local_target), None))
                continue
            chosen = np.flatnonzero(device == d)
            out.append((synapses.ConnectionPart(
                chosen.size, pre[chosen], local_target[chosen], np.asarray(part.delay)[chosen],
                {name: np.asarray(values)[chosen] for name, values in part.columns.items()}),
                chosen))
        return out


def _group_specs(model, tree):
    """PartitionSpecs of a group's arrays: split along the cells, scalars replicated."""
    def spec(name, array):
        if np.ndim(array) == 0:
            return PartitionSpec()
        if name in model.cells_on_last_axis:
            return PartitionSpec(*([None] * (np.ndim(array) - 1)), AXIS)
        return PartitionSpec(AXIS)
    return {name: (_group_specs(model, part) if isinstance(part, dict) else spec(name, part))
            for name, part in tree.items()}


def _table_specs(table):
    """Rows split, cell-level traces along their cells (their history along its second
    axis), table constants replicated."""
    return {name: (PartitionSpec() if np.ndim(array) == 0
                   else PartitionSpec(None, AXIS) if name.endswith("_history")
                   else PartitionSpec(AXIS))
            for name, array in table.items()}


def _replicated(tree):
    return jax.tree_util.tree_map(lambda _: PartitionSpec(), tree)


def _specs(structure, tree):
    """PartitionSpecs of a *values* or *state* pytree of ``structure``."""
    return {name: ([_group_specs(g.model, part) for g, part in zip(structure.groups, parts)]
                   if name == "groups"
                   else [_table_specs(table) for table in parts] if name == "tables"
                   else jax.tree_util.tree_map(lambda _: PartitionSpec(AXIS), parts)
                   if name in ("ring", "events")
                   else _replicated(parts))
            for name, parts in tree.items()}


class Placement:
    """Where the arrays of a network live: one device, or split over a mesh.

    Parameters
    ----------
    devices : tuple of jax.Device or None
        As returned by :func:`resolve_devices` (None: JAX's default device). With one device
        nothing is split: the arrays are committed to that device.
    """

    def __init__(self, devices=None):
        self._given = None if devices is None else tuple(devices)

    # resolved at first use: creating a Placement does not start JAX's backends (setup()'s
    # ``threads`` must come first)
    @functools.cached_property
    def devices(self):
        return resolve_devices(None) if self._given is None else self._given

    @functools.cached_property
    def mesh(self):
        return cell_mesh(self.devices) if len(self.devices) > 1 else None

    @property
    def n_devices(self):
        return len(self.devices)

    @property
    def spans_processes(self):
        """Whether the devices belong to several processes (``jax.distributed``)."""
        return self.mesh is not None and self.mesh.is_multi_process

    def split(self, structure):
        """The :class:`CellSplit` of ``structure`` over the devices."""
        return CellSplit([g.size for g in structure.groups], self.n_devices)

    def _put(self, structure, tree, what):
        if self.mesh is None:
            return jax.device_put(tree, self.devices[0])
        shardings = jax.tree_util.tree_map(
            partial(NamedSharding, self.mesh), _specs(structure, tree),
            is_leaf=lambda x: isinstance(x, PartitionSpec))
        if self.spans_processes:
            # each process copies its own shards from its own host copy: the copies must agree,
            # except the tables, of which each process holds its own devices' rows
            processes.check_same({name: part for name, part in tree.items()
                                  if name != "tables"}, what)
            return jax.tree_util.tree_map(_put_spanning, tree, shardings)
        return jax.device_put(tree, shardings)

    def values(self, structure, values):
        """Copy a *values* pytree (host or device arrays; split: with the devices' tables
        stacked) to its place."""
        return self._put(structure, values, "parameters, connections or current sources")

    def state(self, structure, state):
        """Copy a *state* pytree (host or device arrays, the ring buffer and precise events in
        the global layout; split: with the devices' table state stacked) to its place."""
        if self.mesh is not None:
            state = self._relayout(structure, state, to_devices=True)
        return self._put(structure, state, "state variables")

    def host_state(self, structure, state):
        """A placed *state* pytree as numpy arrays, the ring buffer and precise events in the
        global layout; where the devices span several processes, the tables' state with this
        process's devices' rows only (:func:`.processes.fetch_own`: each process holds its own
        cells' connections)."""
        state = {**processes.fetch({name: part for name, part in state.items()
                                    if name != "tables"}),
                 "tables": processes.fetch_own(state["tables"])}
        if self.mesh is None:
            return state
        return self._relayout(structure, state, to_devices=False)

    def _relayout(self, structure, state, to_devices):
        """The ring buffer and the precise events of ``state`` in the devices' layout (each
        device's slots of its cells, device after device) or back in the global one."""
        split, n_slots = self.split(structure), structure.n_slots
        move = _to_devices if to_devices else _from_devices
        state = dict(state)
        cells = split.device_major()
        state["ring"] = move(state["ring"], (n_slots, structure.n_ports, cells.size), 2,
                             cells, self.n_devices)
        if "events" in state:
            first, stop = structure.event_cells
            cells = split.device_major(first, stop)
            state["events"] = {
                name: move(values, (n_slots, cells.size, np.size(values) // (
                    n_slots * cells.size)), 1, cells, self.n_devices)
                for name, values in state["events"].items()}
        return state

    def host_recordings(self, recorded):
        """The recordings of a chunk (device arrays) as numpy arrays; split: the devices'
        buffers added (each holds zeros for the other devices' cells), the current
        amplitudes (the same on every device) of the first device."""
        recorded = processes.fetch(recorded)
        if self.mesh is None:
            return recorded
        merged = {name: (np.bitwise_or.reduce(values, axis=0) if name == "spike_bits"
                         else values.max(axis=0) if name == "event_peak"
                         else values.sum(axis=0, dtype=values.dtype))
                  for name, values in recorded.items() if name not in ("signals", "currents")}
        merged["signals"] = [values.sum(axis=0, dtype=values.dtype)
                             for values in recorded["signals"]]
        merged["currents"] = [values[0] for values in recorded["currents"]]
        return merged

    def run_chunk(self, structure, values, state, n_steps, quick_compile=False):
        """:func:`.network.run_chunk` on the placed arrays (``quick_compile``: see
        :func:`.chunk_cache.run_chunk`; unsplit only)."""
        if self.mesh is None:
            return chunk_cache.run_chunk(structure, values, state, n_steps, quick_compile)
        return _run_chunk_split(structure, self.mesh, values, state, n_steps)


def _put_spanning(array, sharding):
    """``array`` placed as ``sharding``, which spans several processes' devices: each
    process copies its own devices' parts of its host copy (jax.device_put would compare the
    processes' copies, a collective per array; a process's copy of a table holds only its own
    devices' rows)."""
    if isinstance(array, jax.Array) and not array.is_fully_addressable:
        return jax.device_put(array, sharding)
    host = np.asarray(array)
    host = host.astype(jax.dtypes.canonicalize_dtype(host.dtype), copy=False)
    return jax.make_array_from_callback(host.shape, sharding, host.__getitem__)


def _to_devices(flat, shape, cell_axis, cells, n_devices):
    """A flat array of ``shape`` whose axis ``cell_axis`` holds the cells in the global
    order -> flat, device after device, each device's part of the same layout with its own
    cells (``cells``: the global order's positions, device after device)."""
    array = np.asarray(flat).reshape(shape)[(slice(None),) * cell_axis + (cells,)]
    array = array.reshape(array.shape[:cell_axis] + (n_devices, -1)
                          + array.shape[cell_axis + 1:])
    return np.ascontiguousarray(np.moveaxis(array, cell_axis, 0)).reshape(-1)


def _from_devices(flat, shape, cell_axis, cells, n_devices):
    """Inverse of :func:`_to_devices`."""
    local_shape = shape[:cell_axis] + (shape[cell_axis] // n_devices,) + shape[cell_axis + 1:]
    array = np.asarray(flat).reshape((n_devices,) + local_shape)
    array = np.moveaxis(array, 0, cell_axis)
    array = array.reshape(array.shape[:cell_axis] + (-1,) + array.shape[cell_axis + 2:])
    out = np.empty_like(array)
    out[(slice(None),) * cell_axis + (cells,)] = array
    return out.reshape(-1)


@partial(jax.jit, static_argnums=(0, 1))
def _run_chunk_split(structure, mesh, values, state, n_steps):
    """One chunk, each device advancing its share of the cells (``jax.shard_map``); the
    recordings come back with a leading axis over the devices."""
    local = local_structure(structure, mesh.size)

    def run_share(values, state, n_steps):
        new_state, recorded = network.run_chunk(local, values, state, n_steps)
        return new_state, jax.tree_util.tree_map(lambda x: x[None], recorded)

    state_specs = _specs(structure, state)
    return jax.shard_map(
        run_share, mesh=mesh,
        in_specs=(_specs(structure, values), state_specs, PartitionSpec()),
        out_specs=(state_specs, PartitionSpec(AXIS)), check_vma=False)(values, state, n_steps)
