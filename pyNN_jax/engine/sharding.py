"""Spreading a network over several JAX devices (``jax.sharding``, GSPMD).

The devices form a one-dimensional :class:`jax.sharding.Mesh` with the axis ``"cells"``. Every
array of the network is placed with a :class:`jax.sharding.NamedSharding`:

- per-cell arrays (parameters, derived constants and state variables of a group, the cell-level
  traces of a plastic table) are split along their cell axis;
- connectivity tables and their per-connection state are split by rows (the rows of one
  presynaptic cell, ``row_owner``, stay in order; a device holds a contiguous block of rows);
- everything else (the ring buffer, PRNG keys, the step counter, current-source entries, the
  indices of the recorded cells) is replicated.

A group whose size is not a multiple of the number of devices is replicated: padding it would
add cells that every model, recorder and current source would have to skip, and a replicated
group gives the same results, only with less saving. The rows of a table are padded instead,
to a multiple of the number of devices, with rows that deliver nothing (:func:`_pad_rows`).

``jit`` then partitions the compiled chunk (XLA's SPMD partitioner): each device advances its
cells, and XLA inserts the collectives (all-gather of the spike counts, reductions of the
scatter into the ring buffer) that the gathers and scatters across the split axes need. No
data goes through the host inside a chunk. :meth:`Placement.run_chunk` pins the state that a
chunk returns to the placement it was given, so that every chunk reuses the same executable.

Results do not depend on the number of devices, except for the order of floating-point
additions into the ring buffer, which XLA may change when it splits the scatter: spike times are
the same, membrane potentials equal to rounding.
"""
import functools
from functools import partial

import numpy as np
import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from . import chunk_cache, network, plasticity, synapses

AXIS = "cells"


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


def _split(mesh, shape, axis):
    """Split ``axis`` of an array of ``shape`` over the mesh, or replicate it when the axis
    length is not a multiple of the number of devices."""
    if len(shape) <= axis or shape[axis] % mesh.size:
        return NamedSharding(mesh, PartitionSpec())
    return NamedSharding(mesh, PartitionSpec(*([None] * axis), AXIS))


def _replicated(mesh, tree):
    return jax.tree_util.tree_map(lambda a: NamedSharding(mesh, PartitionSpec()), tree)


def _table_shardings(mesh, table):
    """Rows split for per-row and per-connection arrays, cells split for cell-level traces
    (their history, (n_slots, n_cells), along its second axis), scalars replicated."""
    return {name: _split(mesh, np.shape(array), 1 if name.endswith("_history") else 0)
            for name, array in table.items()}


def _pad_rows(table, multiple, fills):
    """Append rows that deliver nothing until the row count of ``table`` is a multiple of
    ``multiple``: owned by the owner of the last row (``row_owner``, ``in_owner``), holding
    ``fills`` (an empty column: weight 0, delay 1, ..., other names 0). The arrays of the
    incoming-connection table of a plastic table (``in_*``) have their own row count; cell-level
    arrays (the plastic traces) and scalars are left alone. Device arrays whose row count is
    already a multiple are returned as they are (no copy to the host)."""
    out = {}
    for name, array in table.items():
        extra = -np.shape(array)[0] % multiple if np.ndim(array) else 0
        if not extra or name in plasticity.CELL_STATE:
            out[name] = array
            continue
        array = np.asarray(array)
        fill = array[-1] if name.endswith("_owner") else fills.get(name, 0)
        out[name] = np.concatenate([array, np.full((extra,) + array.shape[1:], fill,
                                                   array.dtype)])
    return out


def _empty_column(table):
    """What an unused column of ``table`` holds, per array name (as laid out by
    :func:`.synapses.build_table`); ``in_positions`` -1: no incoming connection."""
    columns = [name for name, a in table.items()
               if np.ndim(a) == 2 and np.result_type(a).kind == "f"]
    empty, _ = synapses.build_table(np.zeros(0, np.int64), np.zeros(0, np.int64),
                                    np.zeros(0, np.int64), {n: np.zeros(0) for n in columns},
                                    n_cells=1, width=1)
    fills = {name: a.reshape(-1)[0] for name, a in empty.items() if name != "row_owner"}
    return {**fills, "in_positions": -1}


def _group_shardings(mesh, group):
    return jax.tree_util.tree_map(lambda a: _split(mesh, np.shape(a), 0), group)


def values_shardings(mesh, values):
    """NamedShardings of a *values* pytree (see :mod:`.network`)."""
    return {
        "groups": [_group_shardings(mesh, g) for g in values["groups"]],
        "tables": [_table_shardings(mesh, t) for t in values["tables"]],
        **{name: _replicated(mesh, part) for name, part in values.items()
           if name not in ("groups", "tables")},
    }


def state_shardings(mesh, state):
    """NamedShardings of a *state* pytree (see :mod:`.network`)."""
    return {
        "groups": [_group_shardings(mesh, g) for g in state["groups"]],
        "tables": [_table_shardings(mesh, t) for t in state["tables"]],
        **{name: _replicated(mesh, part) for name, part in state.items()
           if name not in ("groups", "tables")},
    }


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

    def values(self, values):
        """Copy a *values* pytree (host or device arrays) to its place."""
        if self.mesh is None:
            return jax.device_put(values, self.devices[0])
        values = {**values, "tables": [_pad_rows(t, self.mesh.size, _empty_column(t))
                                       for t in values["tables"]]}
        return jax.device_put(values, values_shardings(self.mesh, values))

    def state(self, state):
        """Copy a *state* pytree (host or device arrays) to its place."""
        if self.mesh is None:
            return jax.device_put(state, self.devices[0])
        state = {**state, "tables": [_pad_rows(t, self.mesh.size, {})
                                     for t in state["tables"]]}
        return jax.device_put(state, state_shardings(self.mesh, state))

    def run_chunk(self, structure, values, state, n_steps, quick_compile=False):
        """:func:`.network.run_chunk` on the placed arrays (``quick_compile``: see
        :func:`.chunk_cache.run_chunk`; unsharded only)."""
        if self.mesh is None:
            return chunk_cache.run_chunk(structure, values, state, n_steps, quick_compile)
        return _run_chunk_sharded(structure, self.mesh, values, state, n_steps)


@partial(jax.jit, static_argnums=(0, 1))
def _run_chunk_sharded(structure, mesh, values, state, n_steps):
    """One chunk, partitioned over ``mesh``; the state comes back with the sharding it had,
    the recordings replicated (every process can copy them to the host)."""
    new_state, recorded = network.run_chunk(structure, values, state, n_steps)
    new_state = jax.lax.with_sharding_constraint(new_state, state_shardings(mesh, state))
    recorded = jax.lax.with_sharding_constraint(recorded, _replicated(mesh, recorded))
    return new_state, recorded
