"""Sparse, event-driven spike delivery through delay ring buffers.

Connectivity table ("row-split ELL"): the outgoing connections of each presynaptic cell are cut
into rows of ``width`` connections; row r belongs to cell ``row_owner[r]``. Per row and column
the table holds the flat ``target`` (port * n_cells + post index), ``delay`` (steps, >= 1) and
``weight``. A cell with many targets owns several rows, a cell with none owns none, so memory
is O(connections + cells) and no dense N x N matrix exists.

Delivery of the spikes of steps k ... k + n_block - 1 (one step, or for static tables a block of
steps whose spikes cannot arrive within the block): the entries with spikes are compacted
``rows_per_pass`` at a time (:func:`.compact.first_true`, a static size) and their weights
scatter-added into the ring buffer at slot (k + j + delay) mod n_slots. Static tables compact
(step, cell) entries and scatter the rows of these cells ``rows_per_pass`` rows per pass; the
other kinds compact (step, row) entries, one pass per compaction. The entries with spikes are
counted first and loops make as many passes as they need, so a step with more spikes than one
pass holds loses nothing.

Kinds:
- ``static``: the weight is delivered as is (times the spike multiplicity). When a large
  share of the rows spike (a strong Poisson drive through one-to-one connections), every row
  is delivered instead of compacting them (:func:`dense_threshold`).
- ``stdp``, ``stdp_vogels``: plastic weights, see :mod:`.plasticity`.
- ``stochastic``, ``stochastic_tsodyks_markram``, ``quantal``: see :mod:`.stochastic_synapses`.
- ``tsodyks_markram``: NEST's ``tsodyks_synapse`` (Tsodyks, Uziel & Markram 2000): per
  connection u, x, y and the time of the last spike; on a spike the state is propagated over
  the interval since the last one and the delivered weight is ``weight * u * x``.
"""
from typing import NamedTuple

import numpy as np
import jax
import jax.numpy as jnp
from jax import lax

from . import plasticity, stochastic_synapses
from .compact import first_true

KINDS = ("static", "tsodyks_markram") + plasticity.KINDS + stochastic_synapses.KINDS
TSODYKS_PARAMETERS = ("U", "tau_rec", "tau_facil", "tau_psc")
TSODYKS_STATE = ("u", "x", "y", "last_spike_step")   # the last as an int32 step index


INDEX_CHUNK = 1 << 20   # entries per piece of the host's work on connection arrays
HOST_ALIGNMENT = 64     # bytes: JAX's CPU client adopts numpy buffers aligned so, without a copy


def aligned_empty(shape, dtype):
    """``np.empty(shape, dtype)`` starting on a HOST_ALIGNMENT-byte boundary: on a CPU,
    ``jax.device_put`` then uses the array's memory instead of copying it (a table of 3e8
    connections: ~4 GB less at the peak of the assembly). The array must not be written after
    it has been put on the device."""
    dtype = np.dtype(dtype)
    n_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(n_bytes + HOST_ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % HOST_ALIGNMENT
    return raw[start:start + n_bytes].view(dtype).reshape(shape)


class ConnectionPart(NamedTuple):
    """Connections of one source (a projection) for :func:`plan_table`, in their order.

    ``pre`` and ``target`` are arrays or functions ``(start, stop) -> array`` that compute
    the values of connections [start, stop) when the table is written, a piece at a time
    (no array as long as the connections is made for them)."""
    size: int
    pre: object        # global index of the presynaptic cell
    target: object     # port * n_cells + global index of the postsynaptic cell
    delay: np.ndarray  # delay in steps (>= 1); a read-only broadcast when constant
    columns: dict      # name -> per-connection values (weight, ...)


def choose_width(out_degree):
    """Row width: the next power of two above the mean out-degree of the connected cells,
    between 1 and 256."""
    connected = out_degree[out_degree > 0]
    if connected.size == 0:
        return 1
    return int(min(256, 1 << int(np.ceil(np.log2(max(connected.mean(), 1.0))))))


def count_out_degree(pre, n_cells):
    """Connections per presynaptic cell, ``np.bincount`` in pieces (it copies its input to
    int64)."""
    out_degree = np.zeros(n_cells, np.int64)
    for start in range(0, len(pre), INDEX_CHUNK):
        out_degree += np.bincount(pre[start:start + INDEX_CHUNK], minlength=n_cells)
    return out_degree


def build_table(pre, target, delay_steps, columns, n_cells, width=None):
    """Lay connections out as a row-split ELL table (host side, numpy).

    Parameters
    ----------
    pre : int array (n_conn,)          global index of the presynaptic cell
    target : int array (n_conn,)       port * n_cells + global index of the postsynaptic cell
    delay_steps : int array (n_conn,)  delay in steps (>= 1)
    columns : dict of arrays (n_conn,) weight and other per-connection values (laid out in
                                       their float type; float64 for other types)
    n_cells : int                      number of cells in the network

    When no cell needs more than one row and at least half of the cells have connections,
    every cell gets one row (empty rows for the others, marked 0 in ``row_used``): row r
    belongs to cell r (:func:`rows_are_cells`).

    Returns
    -------
    table : dict of arrays (n_rows, width), plus ``row_owner`` (n_rows,)
    position : int array (n_conn,), flat index (row * width + column) of each connection
               (int32 unless the table has 2**31 entries or more)
    """
    pre = np.asarray(pre)
    column_types = {name: (values.dtype if values.dtype.kind == "f" else np.dtype(np.float64))
                    for name, values in columns.items()}
    table, flat, fill = plan_table(count_out_degree(pre, n_cells), column_types, width)
    fill([ConnectionPart(pre.size, pre, np.asarray(target), np.asarray(delay_steps),
                         columns)])
    return table, flat


def delay_type(max_delay_steps):
    """The narrowest integer type of a table's delay column (steps): 1-4 bytes per entry."""
    for candidate in (np.int8, np.int16):
        if max_delay_steps <= np.iinfo(candidate).max:
            return candidate
    return np.int32


def plan_table(out_degree, column_types, width=None, delay_steps_type=np.int32,
               pad_rows=None, n_used_cells=None, cell_rows=None):
    """:func:`build_table` in two parts, for connections given as :class:`ConnectionPart`s:
    ``(table, position, fill)``. From the connections per cell (``out_degree``, one entry
    per cell of the network) the arrays of ``table`` and ``position`` are allocated at their
    final shapes (``row_owner`` and ``row_used`` written); ``fill(parts)`` sorts and
    scatters the connections, ``parts`` in the order of ``position``: a caller can compile
    the engine for these shapes meanwhile. ``column_types``: name -> float dtype;
    ``delay_steps_type``: the integer type of the delay column (:func:`delay_type`).

    ``pad_rows`` (static tables only): a function from the rows the connections need to
    the rows of the table (:meth:`pyNN_jax.padding.SizePadding.size`), unless row r is cell
    r's; the rows past the connections' belong to no cell (``row_owner`` n_cells) and hold
    empty columns (weight 0).

    Row r is cell r's (no gather from cells to rows) where ``cell_rows`` says so (a table
    split over devices: the same on every device), by default where
    :func:`uses_cell_rows`."""
    n_cells, n_conn = out_degree.size, int(out_degree.sum())
    width = width or choose_width(out_degree)
    rows_per_cell = -(-out_degree // width)
    if cell_rows is None:
        cell_rows = uses_cell_rows(out_degree, width, n_used_cells)
    if cell_rows:
        row_used = (rows_per_cell > 0).astype(np.int8)
        rows_per_cell[:] = 1       # row r is cell r's: no gather from cells to rows
    n_used_rows = max(int(rows_per_cell.sum()), 1)
    n_rows = pad_rows(n_used_rows) if pad_rows is not None and not cell_rows else n_used_rows
    # the k-th connection of cell c (in the order of the parts) sits at first_row[c] * width
    # + k: its rank among all connections sorted by cell, plus a per-cell offset
    first_row = np.concatenate([[0], np.cumsum(rows_per_cell)[:-1]])
    first_conn = np.concatenate([[0], np.cumsum(out_degree)[:-1]])
    rank_to_position = first_row * width - first_conn
    index_type = np.int32 if max(n_rows * width, n_conn) < 2 ** 31 - 1 else np.int64
    flat = np.empty(n_conn, dtype=index_type)
    fills = {"target": 0, "delay": 1}
    fills.update({name: 1.0 if name in ("tau_rec", "tau_psc", "x") else 0.0
                  for name in column_types})
    row_owner = np.full(n_rows, n_cells, np.int32)
    row_owner[:n_used_rows] = (np.repeat(np.arange(n_cells, dtype=np.int32), rows_per_cell)
                               if n_conn else 0)
    table = {
        "row_owner": row_owner,
        "target": aligned_empty((n_rows, width), np.int32),
        "delay": aligned_empty((n_rows, width), delay_steps_type),
        **{name: aligned_empty((n_rows, width), dtype) for name, dtype in column_types.items()},
    }
    if cell_rows:
        table["row_used"] = row_used       # spikes of cells without connections: no pass

    def fill(parts):
        starts = np.cumsum([0] + [part.size for part in parts])
        _write_positions(flat, _sorted_keys(parts, starts, n_cells, n_conn), rank_to_position)
        for name, fill_value in fills.items():
            out = table[name].reshape(-1)
            sources = [getattr(part, name) if name in ("target", "delay")
                       else part.columns[name] for part in parts]
            constant = _constant_value(sources) if name == "delay" else None
            if constant is not None:
                out.fill(constant)  # padding (weight 0) may have any delay: no scatter
                continue
            out.fill(fill_value)
            for source, part, first in zip(sources, parts, starts):
                for start, stop in _pieces(part.size):
                    out[flat[first + start:first + stop]] = piece_of(source, start, stop)

    return table, flat, fill


def uses_cell_rows(out_degree, width, n_used_cells=None):
    """Whether a table of rows of ``width`` for the connections per cell ``out_degree`` gives
    row r to cell r: no cell needs two rows and at least half of the ``n_used_cells``
    (default: all; the network's cells without the padding cells of :mod:`pyNN_jax.padding`,
    which have no connections) have one."""
    rows_per_cell = -(-out_degree // width)
    return bool(rows_per_cell.max(initial=0) == 1
                and 2 * rows_per_cell.sum() >= (n_used_cells or out_degree.size))


def rows_needed(out_degree, width):
    """Rows of ``width`` that the connections per cell ``out_degree`` fill (at least one)."""
    return max(int((-(-out_degree // width)).sum()), 1)


def gathered_columns(parts, n_rows):
    """The columns of a gathered delivery (:func:`_deliver_gathered`) of a static table of
    one row per cell and width 1 (``n_rows`` rows), from its connections: ``source_row``
    (the row connected to each target from ``gather_first_target`` on, n_rows for none) and
    ``gather_delay``; {} where it does not apply: two connections onto one target, or more
    than one delay."""
    parts = [part for part in parts if part.size]
    delays = [np.asarray(part.delay) for part in parts]
    if not parts or any(d.min() != d.max() or d.flat[0] != delays[0].flat[0] for d in delays):
        return {}
    pre = np.concatenate([piece_of(part.pre, 0, part.size) for part in parts])
    target = np.concatenate([piece_of(part.target, 0, part.size) for part in parts])
    first = int(target.min())
    source_row = np.full(int(target.max()) + 1 - first, n_rows, np.int32)
    source_row[target - first] = pre
    if np.count_nonzero(source_row < n_rows) < target.size:
        return {}
    return {"source_row": source_row, "gather_first_target": np.array(first, np.int32),
            "gather_delay": np.array(delays[0].flat[0], np.int32)}


def _pieces(n):
    """(start, stop) of the INDEX_CHUNK-long pieces of range(n)."""
    return ((start, min(start + INDEX_CHUNK, n)) for start in range(0, n, INDEX_CHUNK))


def piece_of(source, start, stop):
    """Values [start, stop) of an array, or of a function ``(start, stop) -> array``."""
    return source(start, stop) if callable(source) else source[start:stop]


def _index_bits(n_conn):
    """Low bits of a sort key that hold a connection's index, and their mask."""
    bits = max(int(n_conn - 1).bit_length(), 1)
    return bits, (1 << bits) - 1


def _sorted_keys(parts, starts, n_cells, n_conn):
    """The connections' presynaptic cells and indices packed into one int64 each (cell in
    the high bits, index in the low ones), sorted: unique values, so any sort is stable,
    and numpy sorts int64 with SIMD where the CPU has AVX2/AVX-512 (15.6 M connections:
    0.2 s; a stable argsort of int keys: 1.1 s). Written a piece at a time from the parts."""
    index_bits, _ = _index_bits(n_conn)
    if index_bits + max(int(n_cells - 1).bit_length(), 1) > 63:
        raise ValueError(f"{n_conn} connections of {n_cells} cells do not fit a 63-bit key")
    keys = np.empty(n_conn, np.int64)
    for part, first in zip(parts, starts):
        for start, stop in _pieces(part.size):
            piece = keys[first + start:first + stop]
            piece[:] = piece_of(part.pre, start, stop)
            piece <<= index_bits
            piece += np.arange(first + start, first + stop)
    keys.sort()
    return keys


def _write_positions(flat, keys, rank_to_position):
    """``flat[index] =`` rank + ``rank_to_position[cell]`` for the sorted ``keys``."""
    index_bits, index_mask = _index_bits(keys.size)
    for start, stop in _pieces(keys.size):
        piece = keys[start:stop]
        flat[piece & index_mask] = rank_to_position[piece >> index_bits] + np.arange(start, stop)


def _constant_value(sources):
    """The one value of every array in ``sources`` if they hold only that one (read-only
    broadcasts are recognised by their zero stride, without a scan), else None."""
    values = set()
    for source in sources:
        if source.size == 0:
            continue
        if source.strides != (0,) and source.min() != source.max():
            return None
        values.add(source.flat[0].item())
    return values.pop() if len(values) == 1 else None


# cost model of a delivery on a CPU (ns): a compaction reads every (step, row) entry,
# ~COMPACTION_NS each; a scattered connection costs ~SCATTER_NS
COMPACTION_NS, SCATTER_NS, MAX_ROWS_PER_PASS = 0.5, 5.0, 512
EVENT_ROWS_CONNECTIONS = 1024   # connections appended to precise events at a time


def dense_threshold(n_entries, width, rows_per_pass):
    """Spiking (step, row) entries from which delivering every row of the table (dense,
    n_entries * width scatters) is cheaper than compacting passes of ``rows_per_pass`` rows
    (each pass reads all n_entries); None when that needs more than half of the entries to
    spike (wide rows): the dense branch would rarely be taken and only adds compilation
    time. With the pass of the table itself, not the largest one: a one-to-one Poisson drive
    of ~2 kHz per cell (the background of the cortical microcircuit at scale 0.1) made ~70
    passes of 16 rows per step, each reading every row."""
    threshold = int(SCATTER_NS * width * n_entries
                    / (COMPACTION_NS * n_entries / rows_per_pass + SCATTER_NS * width))
    return threshold if 2 * threshold <= n_entries else None


def wrap_slot(slot, n_slots):
    """``slot mod n_slots`` for non-negative ``slot``: a bit mask when n_slots is a power of
    two (the ring buffers are sized so), which XLA computes far faster than a remainder."""
    if n_slots & (n_slots - 1) == 0:
        return slot & (n_slots - 1)
    return slot % n_slots


def rows_are_cells(table, n_cells):
    """True when row r of ``table`` holds the connections of cell r, for every cell."""
    return bool(table["row_owner"].shape[0] == n_cells
                and np.array_equal(table["row_owner"], np.arange(n_cells)))


def _tsodyks_markram(v, s, rows, spike_step, dt):
    """Propagate the per-connection Tsodyks-Markram state of ``rows`` to the spike stamped
    ``spike_step`` dt and return the delivered fraction u*x (NEST tsodyks_synapse::send).
    Spike times are kept as integer steps, so intervals stay exact in long float32 runs."""
    U, tau_rec, tau_facil, tau_psc = (v[n][rows] for n in TSODYKS_PARAMETERS)
    u, x, y, last = (s[n][rows] for n in TSODYKS_STATE)
    h = (spike_step - last).astype(u.dtype) * dt
    Puu = jnp.where(tau_facil > 0, jnp.exp(-h / jnp.where(tau_facil > 0, tau_facil, 1.0)), 0.0)
    Pyy = jnp.exp(-h / tau_psc)
    Pzz = jnp.exp(-h / tau_rec)
    tau_psc_safe = jnp.where(jnp.abs(tau_psc - tau_rec) < 1e-9, tau_psc * (1 + 1e-6), tau_psc)
    Pxy = ((Pzz - 1.0) * tau_rec - (Pyy - 1.0) * tau_psc_safe) / (tau_psc_safe - tau_rec)
    Pxz = 1.0 - Pzz
    z = 1.0 - x - y
    u = u * Puu
    x = x + Pxy * y + Pxz * z
    y = y * Pyy
    u = u + U * (1.0 - u)
    fraction = u * x
    return fraction, {"u": u, "x": x - fraction, "y": y + fraction,
                      "last_spike_step": jnp.full_like(last, spike_step)}


def deliver(kind, v, s, counts, ring, step, n_slots, n_cells, slot_stride, rows_per_pass, dt,
            key=None, axonal=False, cell_rows=False, n_sets=1, weight_per_set=False,
            post_counts=None, post_offsets=None, events=None, offsets=None, event_cells=None):
    """Add the spikes of ``counts`` to the flat ring buffer; return (ring, state), or
    ((ring, events), state) with precise ``events``.

    ``counts`` is (n_cells,), the spikes of step ``step``, or, for the static kind only,
    (n_block, n_cells): row j holds the spikes of step ``step + j``. ``key`` (PRNG key) is used
    by the stochastic kinds only; ``axonal`` says that a plastic table has axonal delays (see
    :mod:`.plasticity`); ``cell_rows`` that row r belongs to cell r (:func:`rows_are_cells`).

    ``n_sets`` > 1 (static kind only, see :func:`deliver_static`): ``counts`` is (n_sets,
    n_block, n_cells) and ``ring`` the n_sets rings of as many copies of the network that share
    this table, one after the other; with ``weight_per_set`` ``v["weight"]`` is (n_sets,
    n_rows, width). The spiking entries of all copies are compacted together, so the passes
    follow the total number of spikes, and each ring receives its additions in the order a
    delivery of its copy alone makes them (on CPU, where XLA scatters in order: the same
    sums).

    ``n_cells``: the cells whose ring slots ``ring`` holds (the targets' cells); ``counts``
    may hold more cells, the rows' owners, when the cells are split over devices
    (:mod:`.sharding`): then ``post_counts`` (n_cells,) are the spikes of the ring's cells
    (plastic kinds), else ``counts`` are; ``post_offsets`` their offsets (precise spikes).

    Precise spikes through the other kinds (not static: :func:`deliver_static`; per step,
    not through axonal delays): ``events``, ``offsets`` (the offsets of ``counts``) and
    ``event_cells`` as in :func:`_deliver_rows`: the connections are also appended as
    events with their weights of this spike."""
    block_counts = counts.reshape((n_sets, -1, counts.shape[-1]))    # (set, step, cell)
    if kind == "static":
        return _deliver_static_kind(v, block_counts, ring, step, n_slots, slot_stride,
                                    rows_per_pass, cell_rows, weight_per_set), s
    n_rows = v["row_owner"].shape[0]
    if cell_rows:       # (sharded tables may have padding rows past the cells)
        pending = (block_counts * v["row_used"][:block_counts.shape[2]]).reshape(-1)
    else:
        # (rows past the owners' cells pad a table split over devices: no spikes)
        pending = block_counts.at[:, :, v["row_owner"]].get(mode="fill",
                                                             fill_value=0).reshape(-1)
    plastic = kind in plasticity.KINDS
    post_counts = counts if post_counts is None else post_counts
    if plastic:
        s = plasticity.before_delivery(kind, v, s, counts, post_counts, step, n_slots,
                                       rows_per_pass, dt, post_offsets)
        if axonal:
            ring, s = plasticity.deliver_axonal(kind, v, s, ring, step, n_slots, n_cells,
                                                slot_stride, rows_per_pass)
            s = plasticity.after_delivery(s, counts, post_counts, post_offsets)
            return (ring if events is None else (ring, events)), s

    def one_pass(n_pass, carry):
        sink, pending, s = carry
        entries = first_true(pending > 0, rows_per_pass)
        valid = entries < pending.size
        rows_c = jnp.where(valid, entries, 0)
        rows = jnp.where(valid, rows_c, n_rows)                 # n_rows: no row (dropped)
        multiplicity = jnp.where(valid, pending[rows_c], 0).astype(sink[0].dtype)
        if plastic:
            weight, s = plasticity.on_presynaptic_spikes(kind, v, s, rows, rows_c, step,
                                                         n_slots, n_cells)
        else:
            weight = v["weight"][rows_c]
        if kind == "tsodyks_markram":
            fraction, updated = _tsodyks_markram(v, s, rows_c, step + 1, dt)
            weight = weight * fraction
            s = {n: s[n].at[rows].set(updated[n], mode="drop") for n in TSODYKS_STATE}
        elif kind in stochastic_synapses.KINDS:
            factor, s = stochastic_synapses.transmit(kind, v, s, rows, rows_c, step, dt,
                                                     jax.random.fold_in(key, n_pass))
            weight = weight * factor
        spike_offset = None if events is None else jnp.take(
            offsets, v["row_owner"][rows_c], mode="fill", fill_value=0)
        sink = _deliver_rows(v, sink, rows_c, 0, 0, weight * multiplicity[:, None], step,
                             n_slots, slot_stride, 0, spike_offset, event_cells)
        pending = pending.at[entries].set(0, mode="drop")
        return sink, pending, s

    n_passes = (jnp.sum(pending > 0, dtype=jnp.int32) + rows_per_pass - 1) // rows_per_pass
    (ring, events), _, s = lax.fori_loop(0, n_passes, one_pass, ((ring, events), pending, s))
    if plastic:
        s = plasticity.after_delivery(s, counts, post_counts, post_offsets)
    return (ring if events is None else (ring, events)), s


def _scatter_rows(v, ring, rows, step_offset, ring_offset, weight, step, n_slots, slot_stride,
                  ring_size):
    """Add ``weight`` (rows, width) to the ring at the targets of table ``rows``, in the slots
    of their delays after step ``step + step_offset`` (per row), in ring ``ring_offset``."""
    slots = wrap_slot(step % n_slots + jnp.asarray(step_offset)[..., None] + v["delay"][rows],
                      n_slots)
    index = slots * slot_stride + v["target"][rows]
    if ring_size:
        index = index + (ring_offset * ring_size)[:, None]
    return ring.at[index.reshape(-1)].add(weight.reshape(-1))


def cell_first_rows(row_owner, n_cells):
    """(n_cells + 1,) int32: the rows of cell c are first_rows[c] ... first_rows[c + 1] - 1
    (a table's rows are ordered by their owner)."""
    rows_per_cell = jnp.zeros(n_cells, jnp.int32).at[row_owner].add(1, mode="drop")
    return jnp.concatenate([jnp.zeros(1, jnp.int32), jnp.cumsum(rows_per_cell)])


def _deliver_static_kind(v, block_counts, ring, step, n_slots, slot_stride, rows_per_pass,
                         cell_rows, weight_per_set, events=None, offsets=None, event_cells=None):
    """:func:`deliver` of a static table, ``block_counts`` (n_sets, n_block, n_cells).

    With precise ``events`` (one set only; see :func:`append_events`), ``offsets``
    (n_block, n_cells) holds the offsets of the block's spikes: the connections are also
    appended as events, and (ring, events) is returned.

    The (set, step, cell) entries with spikes are compacted ``rows_per_pass`` at a time, and
    the rows of these cells (contiguous in the table) scattered ``rows_per_pass`` at a time:
    a compaction reads one entry per cell, not one per row (the full-scale cortical
    microcircuit: 77 169 cells, 1.2 M rows), and a pass scatters about the rows that spike,
    without compacting again. The additions keep the order of (set, step, row)."""
    if "source_row" in v and events is None:
        return _deliver_gathered(v, block_counts, ring, step, n_slots, slot_stride)
    n_sets, n_block, n_cells = block_counts.shape
    width = v["target"].shape[1]
    if cell_rows:       # (sharded tables may have padding rows past the cells)
        rows_of_cell = v["row_used"][:n_cells].astype(jnp.int32)
    else:
        first_row = cell_first_rows(v["row_owner"], n_cells)
        rows_of_cell = first_row[1:] - first_row[:-1]
    pending_cells = block_counts * (rows_of_cell > 0).astype(block_counts.dtype)
    pending = pending_cells.reshape(-1)
    entries_per_set = n_block * n_cells
    ring_size = ring.shape[0] // n_sets if n_sets > 1 else 0

    def weights(set_index, rows, multiplicity):
        weight = v["weight"][set_index, rows] if weight_per_set else v["weight"][rows]
        return weight * multiplicity[:, None]

    def compaction(_, carry):
        sink, pending = carry
        entries = first_true(pending > 0, rows_per_pass)
        valid = entries < pending.size
        entries_c = jnp.where(valid, entries, 0)
        set_index = lax.div(entries_c, jnp.int32(entries_per_set)) if n_sets > 1 else 0
        in_set = entries_c - set_index * entries_per_set
        step_offset = lax.div(in_set, jnp.int32(n_cells))
        cells = in_set - step_offset * n_cells
        multiplicity = jnp.where(valid, pending[entries_c], 0).astype(ring.dtype)
        spike_offset = None if offsets is None else offsets[step_offset, cells]
        if cell_rows:
            sink = _deliver_rows(v, sink, cells, step_offset, set_index,
                                 weights(set_index, cells, multiplicity), step, n_slots,
                                 slot_stride, ring_size, spike_offset, event_cells)
        else:
            entry_rows = jnp.where(valid, rows_of_cell[cells], 0)
            rows_end = jnp.cumsum(entry_rows)             # of the entries' rows, in order
            entry_row_offset = first_row[cells] - (rows_end - entry_rows)

            def row_pass(n_pass, sink):
                position = n_pass * rows_per_pass + jnp.arange(rows_per_pass, dtype=jnp.int32)
                entry = jnp.sum(rows_end[None, :] <= position[:, None], axis=1,
                                dtype=jnp.int32)          # rows_per_pass: past the last row
                used = entry < rows_per_pass
                entry = jnp.where(used, entry, 0)
                rows = jnp.where(used, entry_row_offset[entry] + position, 0)
                set_of_row = set_index[entry] if n_sets > 1 else 0
                return _deliver_rows(v, sink, rows, step_offset[entry], set_of_row,
                                     weights(set_of_row, rows,
                                             jnp.where(used, multiplicity[entry], 0)),
                                     step, n_slots, slot_stride, ring_size,
                                     None if spike_offset is None else spike_offset[entry],
                                     event_cells)

            n_row_passes = (rows_end[-1] + rows_per_pass - 1) // rows_per_pass
            sink = lax.fori_loop(0, n_row_passes, row_pass, sink)
        return sink, pending.at[entries].set(0, mode="drop")

    n_compactions = (jnp.sum(pending > 0, dtype=jnp.int32) + rows_per_pass - 1) // rows_per_pass
    # only a table of one row per cell may pay for the dense delivery: for the others a
    # compaction reads a cell's entry once for all its rows
    threshold = cell_rows and dense_threshold(pending.size, width, rows_per_pass)
    sink = (ring, events)
    if threshold:
        # two loops, one of which runs zero times, rather than a lax.cond between them: XLA
        # copies the ring into and out of a conditional's branches (a copy of the whole ring
        # per delivery: 79 MB per step for the full-scale cortical microcircuit)
        use_dense = jnp.sum(pending > 0, dtype=jnp.int32) >= threshold
        sink = _deliver_dense(v, block_counts, sink, step, n_slots, slot_stride,
                              jnp.where(use_dense, n_block, 0), offsets, event_cells)
        n_compactions = jnp.where(use_dense, 0, n_compactions)
    (ring, events), _ = lax.fori_loop(0, n_compactions, compaction, (sink, pending))
    return ring if events is None else (ring, events)


def _deliver_gathered(v, block_counts, ring, step, n_slots, slot_stride):
    """A static table with :func:`gathered_columns`: each step of the block adds weight x
    spikes of the connected row to one slice of the ring (its targets are distinct, with one
    delay), gathered per target instead of scattered per row: XLA scatters serially on a
    CPU, ~4 ns per entry, while the gather and the slice vectorise (a one-to-one Poisson
    drive of 77 169 cells: ~0.7 ms -> ~0.05 ms per step). Each target receives one addition,
    as from the scatter: the same sums."""
    n_sets, n_block, _ = block_counts.shape
    source = v["source_row"]
    n_targets = source.shape[0]
    # (n_targets,), or (n_sets, n_targets) with a weight per set
    weight = jnp.take(v["weight"][..., 0], source, axis=-1, mode="fill", fill_value=0)
    ring_size = ring.shape[0] // n_sets

    def one_step(j, ring):
        spikes = jnp.take(block_counts[:, j], source, axis=1, mode="fill", fill_value=0)
        added = jnp.broadcast_to(weight * spikes.astype(ring.dtype), (n_sets, n_targets))
        start = (wrap_slot(step % n_slots + j + v["gather_delay"], n_slots) * slot_stride
                 + v["gather_first_target"])
        for s in range(n_sets):       # the flat ring, updated in place slice by slice
            at = start + s * ring_size
            ring = lax.dynamic_update_slice_in_dim(
                ring, lax.dynamic_slice_in_dim(ring, at, n_targets) + added[s], at, axis=0)
        return ring
    return lax.fori_loop(0, n_block, one_step, ring)


def _deliver_dense(v, block_counts, sink, step, n_slots, slot_stride, n_steps, offsets=None,
                   event_cells=None):
    """Every row of the first ``n_steps`` steps of the block, spiking or not (multiplicity
    0), of a static table whose row r belongs to cell r; ``sink``, ``offsets`` and
    ``event_cells`` as in :func:`_deliver_rows`."""
    n_sets, _, n_cells = block_counts.shape
    n_rows = v["target"].shape[0]
    set_offset = (jnp.arange(n_sets, dtype=jnp.int32) * (sink[0].shape[0] // n_sets))[:, None,
                                                                                        None]

    def one_step(j, sink):
        ring, events = sink
        multiplicity = jnp.pad(block_counts[:, j] * v["row_used"][:n_cells],
                               ((0, 0), (0, n_rows - n_cells))).astype(ring.dtype)  # (set, row)
        slots = wrap_slot(step % n_slots + j + v["delay"], n_slots)
        index = slots * slot_stride + v["target"] + set_offset           # (set, row, column)
        weight = v["weight"] * multiplicity[:, :, None]
        ring = ring.at[index.reshape(-1)].add(weight.reshape(-1))
        if events is not None:
            events = append_events(events, slots, v["target"], weight[0],
                                   jnp.pad(offsets[j], (0, n_rows - n_cells)), event_cells)
        return ring, events
    return lax.fori_loop(0, n_steps, one_step, sink)


def _deliver_rows(v, sink, rows, step_offset, ring_offset, weight, step, n_slots, slot_stride,
                  ring_size, spike_offset, event_cells):
    """:func:`_scatter_rows` into the ring of ``sink`` = (ring, precise events or None); with
    events, the connections of ``rows`` are also appended as events (:func:`append_events`)
    with the offsets ``spike_offset`` (rows,) of the rows' spikes."""
    ring, events = sink
    ring = _scatter_rows(v, ring, rows, step_offset, ring_offset, weight, step, n_slots,
                         slot_stride, ring_size)
    if events is not None:
        slots = wrap_slot(step % n_slots + jnp.asarray(step_offset)[..., None]
                          + v["delay"][rows], n_slots)
        events = append_events(events, slots, v["target"][rows], weight, spike_offset,
                               event_cells)
    return ring, events


def append_events(events, slots, target, weight, spike_offset, event_cells):
    """Append connections (``slots``, ``target``, ``weight``: (rows, width)) whose spikes
    have the offsets ``spike_offset`` (rows,) to the precise input events of their targets.

    ``events``: ``count`` (n_keys,), the events each key (slot, cell) has received;
    ``offset``, ``weight`` (n_keys * slots per cell,): the first ones; ``fold`` (n_keys *
    folds,): sums over these of ``fold(cell, row_offset, weight)`` (rows, width, folds) (a
    step clears the counts of its slot when it reads them, not the folds: those of a key
    without events are an earlier step's).
    ``event_cells`` = (first, stop, n_cells, fold): the cells that keep events are first ...
    stop - 1. Connections of weight 0 (padding) are left out; events beyond a key's slots are
    only counted (their weight is in the ring as every weight).

    The rows with connections are taken EVENT_ROWS_CONNECTIONS connections at a time (a
    delivery pass is mostly rows without spikes). Connections to the same key take its next
    free slots in rounds: in round r one of them, the one whose claim (a scatter into
    ``count``, restored after the rounds) is left there, takes slot count + r (each key left
    has one such winner per round); a sort of the connections by target costs far more on
    a CPU."""
    first, stop, n_cells, fold = event_cells
    n_keys = events["count"].shape[0]
    per_cell = events["offset"].shape[0] // n_keys
    n_folds = events["fold"].shape[0] // n_keys
    n_rows, width = target.shape
    rows_at_once = min(n_rows, max(1, EVENT_ROWS_CONNECTIONS // width))
    cell = target % n_cells - first
    valid = (weight != 0) & (cell >= 0) & (cell < stop - first)
    claim_value = -1 - jnp.arange(rows_at_once * width, dtype=jnp.int32)

    def some_rows(state):
        pending, events = state
        rows = first_true(pending, rows_at_once)
        taken = jnp.where(rows < n_rows, rows, 0)
        used = ((rows < n_rows)[:, None] & valid[taken]).reshape(-1)
        key = jnp.where(used, (slots[taken] * (stop - first) + cell[taken]).reshape(-1),
                        n_keys)
        row_weight = weight[taken].reshape(-1)
        offset_of_row = spike_offset[taken].astype(events["offset"].dtype)
        row_offset = jnp.broadcast_to(offset_of_row[:, None], (rows_at_once, width)).reshape(-1)
        count_before = events["count"].at[key].get(mode="fill", fill_value=per_cell)

        def one_round(state):
            r, left, stored, count, offset, weight_kept = state
            left = left & (count_before + r < per_cell)
            claimed = jnp.where(left, key, n_keys)
            # the first of them wins (the largest claim value): each key's events keep
            # the order of the connections, however the rows are cut into batches (a
            # table split over devices has other batches)
            count = count.at[claimed].set(jnp.iinfo(jnp.int32).min, mode="drop").at[
                claimed].max(claim_value, mode="drop")
            won = left & (count.at[key].get(mode="fill", fill_value=0) == claim_value)
            place = jnp.where(won, key * per_cell + count_before + r, n_keys * per_cell)
            return (r + 1, left & ~won, stored | won, count,
                    offset.at[place].set(row_offset, mode="drop"),
                    weight_kept.at[place].set(row_weight, mode="drop"))

        _, _, stored, count, offset, weight_kept = lax.while_loop(
            lambda state: jnp.any(state[1]), one_round,
            (jnp.int32(0), used, jnp.zeros_like(used), events["count"], events["offset"],
             events["weight"]))
        # each key touched: its count before, plus its connections
        count = count.at[key].set(count_before, mode="drop").at[key].add(1, mode="drop")
        folded = fold(cell[taken] + first, offset_of_row,
                      weight[taken].astype(events["fold"].dtype)).reshape(-1, n_folds)
        # the sums of a key's first events replace those of an earlier step
        fold_sums = events["fold"].reshape(n_keys, n_folds).at[
            jnp.where(count_before == 0, key, n_keys)].set(0, mode="drop").at[
            jnp.where(stored, key, n_keys)].add(folded, mode="drop")
        return pending.at[rows].set(False, mode="drop"), {
            "count": count, "offset": offset, "weight": weight_kept,
            "fold": fold_sums.reshape(-1)}

    return lax.while_loop(lambda state: jnp.any(state[0]), some_rows,
                          (valid.any(axis=1), events))[1]


def sets_fit_int32(n_sets, ring_size, n_entries):
    """True when the rings (``ring_size`` each) and the (step, row) entries of ``n_sets`` copies
    can be indexed together with int32; otherwise the copies are delivered one by one."""
    return n_sets * max(ring_size, n_entries) < 2 ** 31


def deliver_static(v, counts, ring, step, n_slots, n_cells, slot_stride, rows_per_pass,
                   cell_rows=False, events=None, offsets=None, event_cells=None):
    """:func:`deliver` of a static table: the new ring. Mapped over copies of the network
    with :func:`jax.vmap` (parameter sweeps), the copies are delivered together
    (``deliver(..., n_sets=...)``): one compaction and as many passes as all their spikes
    need, rather than a loop paced by the busiest copy and a dense branch taken whenever any
    copy takes it.

    With precise ``events`` (:func:`append_events`; ``offsets``: (n_block, n_cells), the
    offsets of the spikes of ``counts``): (ring, events), copies delivered one by one."""
    if events is not None:
        return _deliver_static_kind(v, counts[None], ring, step, n_slots, slot_stride,
                                    rows_per_pass, cell_rows, False, events, offsets,
                                    event_cells)
    def one(v, counts, ring, step):
        return deliver("static", v, {}, counts, ring, step, n_slots, n_cells, slot_stride,
                       rows_per_pass, None, cell_rows=cell_rows)[0]

    batchable = jax.custom_batching.custom_vmap(one)

    @batchable.def_vmap
    def copies_together(n_sets, in_batched, v, counts, ring, step):
        v_batched, counts_batched, ring_batched, step_batched = in_batched
        shared_table = not any(batched for name, batched in v_batched.items()
                               if name != "weight")
        n_entries = counts.size // (n_sets if counts_batched else 1) // n_cells * \
            v["row_owner"].shape[0]
        ring_size = ring.shape[-1]
        if (step_batched or not shared_table   # copies at different steps or tables
                or not sets_fit_int32(n_sets, ring_size, n_entries)):
            in_axes = jax.tree_util.tree_map(lambda b: 0 if b else None, tuple(in_batched))
            return jax.vmap(one, in_axes=in_axes)(v, counts, ring, step), True
        if not counts_batched:
            counts = jnp.broadcast_to(counts, (n_sets,) + counts.shape)
        if not ring_batched:
            ring = jnp.broadcast_to(ring, (n_sets,) + ring.shape)
        ring_shape = ring.shape
        new_ring, _ = deliver("static", v, {}, counts, ring.reshape(-1), step, n_slots,
                              n_cells, slot_stride, rows_per_pass, None, cell_rows=cell_rows,
                              n_sets=n_sets, weight_per_set=v_batched["weight"])
        return new_ring.reshape(ring_shape), True

    return batchable(v, counts, ring, step)
