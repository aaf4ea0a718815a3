"""Placement and routing of a network onto one BrainScaleS-2 chip (numpy; of PyNN only its
error classes).

The chip's resources (constants below) and the model of them used here:

- 512 neuron circuits in two hemispheres of 256; circuit ``c`` lies in hemisphere ``c // 256``
  and is the column ``c % 256`` of that hemisphere's synapse array. One PyNN neuron takes one
  circuit, in native order or in the order of a user permutation.
- Each hemisphere has 256 synapse rows, driven by synapse drivers (2 rows each) grouped on
  4 PADI buses of 64 rows. A row has one sign (excitatory or inhibitory) and holds one synapse
  per column.
- Weights are 6-bit, 0..63, times a scale given per projection (PyNN units per weight step;
  the backend shares one among the projections of a sign onto a population). A
  weight above 63 steps is realised by ``ceil(w / 63)`` parallel synapses (each on its own row),
  or saturates at 63 when parallel synapses are off. A nonzero weight below half a step rounds
  to 0 steps: it takes no synapse and :func:`place` warns (:class:`RoundingWarning`).
- Routing, per hemisphere and sign: the presynaptic sources are dealt into label groups of at
  most 64 (a synapse tells the sources on its row apart by a 6-bit label). A label group gets
  as many rows as the largest number of its synapses (parallel ones counted) onto one neuron:
  the k-th synapse of the group onto a neuron lies on the group's k-th row, in the neuron's
  column. Rows are thus shared by the projections of one sign; no row holds two synapses in
  one column or more than 64 sources. Sources are dealt greedily, those with the most synapses
  first, each to the group whose rows grow least.
- PADI buses: each label group lies on one bus of 64 rows (its sources' events enter through
  it), packed first-fit decreasing; a hemisphere has 256 rows. Where the groups do not fit the
  buses, the sign with the largest group is dealt into one group more (smaller groups), until
  they fit or no more groups can help.
- A neuron's in-degree, summed over projections with parallel synapses, is at most 256 rows.

Simplifications against the reference router (grenade): label groups and buses are chosen
greedily (no search for the assignment that needs fewest rows; a network the greedy dealing
cannot fit may still fit), a label group's sources reach one bus (no duplication of events by
the crossbar), the crossbar's 12 outputs are not counted as a limit, merged circuits
(multi-compartment, larger in-degree) are not offered.
"""
from dataclasses import dataclass, field

import warnings

import numpy as np

from pyNN import errors

N_CIRCUITS = 512
N_HEMISPHERES = 2
CIRCUITS_PER_HEMISPHERE = N_CIRCUITS // N_HEMISPHERES
ROWS_PER_HEMISPHERE = 256
PADI_BUSES_PER_HEMISPHERE = 4
ROWS_PER_PADI_BUS = ROWS_PER_HEMISPHERE // PADI_BUSES_PER_HEMISPHERE
ROWS_PER_SYNAPSE_DRIVER = 2
MAX_IN_DEGREE_ROWS = ROWS_PER_HEMISPHERE
LABELS_PER_ROW = 64          # 6-bit synapse label: sources told apart on one row
WEIGHT_STEPS = 63            # largest 6-bit weight
SYNAPSES_PER_CHIP = N_HEMISPHERES * ROWS_PER_HEMISPHERE * CIRCUITS_PER_HEMISPHERE


class PlacementError(Exception):
    """The network does not fit on the chip: names the resource, the need and the capacity."""


class RoundingWarning(UserWarning):
    """Nonzero weights of a projection round to 0 six-bit steps and are left off the chip."""


@dataclass
class NeuronBlock:
    """Neurons of one population to place (input of :func:`place`)."""
    label: str
    size: int


@dataclass
class ConnectionBlock:
    """Connections of one projection to route (input of :func:`place`).

    pre : ID of the presynaptic source of each connection (any integers, one per source)
    post : global neuron index (position in the concatenated NeuronBlocks) of each connection
    magnitude : |weight| of each connection, PyNN units
    inhibitory : whether the projection's receptor is inhibitory
    weight_scale : PyNN units per weight step, or None: chosen so that the largest |w| is 63
    pre_neuron : global neuron index of each connection's presynaptic neuron, -1 for a spike
        source (needed only to partition a network over several runs)
    """
    label: str
    pre: np.ndarray
    post: np.ndarray
    magnitude: np.ndarray
    inhibitory: bool
    weight_scale: float = None
    pre_neuron: np.ndarray = None


@dataclass
class RowChunk:
    """Consecutive synapse rows on one PADI bus."""
    hemisphere: int
    bus: int
    first_row: int       # row index within the hemisphere, 0..255
    n_rows: int

    @property
    def drivers(self):
        """Synapse drivers (0..127 within the hemisphere) whose rows the chunk uses."""
        return range(self.first_row // ROWS_PER_SYNAPSE_DRIVER,
                     (self.first_row + self.n_rows - 1) // ROWS_PER_SYNAPSE_DRIVER + 1)


@dataclass
class ProjectionPlacement:
    """Where one projection went and how its weights are realised."""
    label: str
    inhibitory: bool
    weight_scale: float                 # PyNN units per weight step
    weight_steps: np.ndarray            # integer weight of each connection (parallel ones summed)
    parallel_synapses: np.ndarray       # synapses realising each connection
    saturated: int                      # connections whose weight was cut to 63 steps
    rounded_to_zero: int = 0            # nonzero weights below half a step: no synapse
    rows: list = field(default_factory=list)    # [RowChunk] holding its synapses
    # one entry per physical synapse (parallel synapses expanded): the connection it realises,
    # its hemisphere, row (0..255) and column (0..255)
    synapses: dict = field(default_factory=dict)

    @property
    def n_rows(self):
        """Rows holding synapses of this projection (shared ones included)."""
        return sum(chunk.n_rows for chunk in self.rows)

    @property
    def n_synapses(self):
        return int(self.parallel_synapses.sum())

    def realised_magnitude(self):
        """|weight| as realised on the chip, PyNN units."""
        return self.weight_steps * self.weight_scale


@dataclass
class LabelGroup:
    """Up to 64 sources sharing rows of one sign on one PADI bus."""
    hemisphere: int
    inhibitory: bool
    sources: np.ndarray                 # source IDs, told apart by the label 0..63
    n_rows: int
    rows: list = field(default_factory=list)    # [RowChunk]


@dataclass
class Placement:
    """Result of :func:`place`: circuits per population, rows per projection, utilisation."""
    circuits: dict                      # population label -> circuit index of each neuron
    projections: list                   # [ProjectionPlacement]
    in_degree: np.ndarray               # rows of input of each placed neuron
    label_groups: list                  # [LabelGroup]

    def rows_used(self):
        """Synapse rows in use, array [hemisphere, bus]."""
        used = np.zeros((N_HEMISPHERES, PADI_BUSES_PER_HEMISPHERE), dtype=int)
        for group in self.label_groups:
            for chunk in group.rows:
                used[chunk.hemisphere, chunk.bus] += chunk.n_rows
        return used

    def utilisation(self):
        """Fraction of each resource in use (circuits, rows, synapses, busiest PADI bus)."""
        n_neurons = sum(len(c) for c in self.circuits.values())
        rows = self.rows_used()
        return {"circuits": n_neurons / N_CIRCUITS,
                "synapse_rows": float(rows.sum() / (N_HEMISPHERES * ROWS_PER_HEMISPHERE)),
                "synapses": sum(p.n_synapses for p in self.projections) / SYNAPSES_PER_CHIP,
                "busiest_padi_bus": float(rows.max(initial=0) / ROWS_PER_PADI_BUS)}

    def __str__(self):
        n_neurons = sum(len(c) for c in self.circuits.values())
        lines = [f"BrainScaleS-2 placement: {n_neurons} of {N_CIRCUITS} neuron circuits, "
                 f"{self.rows_used().sum()} of {N_HEMISPHERES * ROWS_PER_HEMISPHERE} "
                 f"synapse rows, max in-degree {int(self.in_degree.max(initial=0))} of "
                 f"{MAX_IN_DEGREE_ROWS} rows"]
        for label, circuits in self.circuits.items():
            lines.append(f"  population {label!r}: {len(circuits)} circuits "
                         f"{_ranges(circuits)}")
        for prj in self.projections:
            sign = "inhibitory" if prj.inhibitory else "excitatory"
            where = ", ".join(f"hemisphere {c.hemisphere} bus {c.bus} rows "
                              f"{c.first_row}-{c.first_row + c.n_rows - 1} (drivers "
                              f"{c.drivers.start}-{c.drivers.stop - 1})" for c in prj.rows)
            lines.append(f"  projection {prj.label!r} ({sign}): {prj.n_synapses} synapses on "
                         f"{prj.n_rows} rows [{where or 'none'}], weight scale "
                         f"{prj.weight_scale:.6g} per step"
                         + (f", {prj.saturated} weights saturated" if prj.saturated else "")
                         + (f", {prj.rounded_to_zero} weights rounded to 0 (not placed)"
                            if prj.rounded_to_zero else ""))
        rows = self.rows_used()
        for h in range(N_HEMISPHERES):
            groups = [g for g in self.label_groups if g.hemisphere == h]
            lines.append(f"  hemisphere {h}: {len(groups)} label groups, rows per PADI bus "
                         f"{rows[h].tolist()} (capacity {ROWS_PER_PADI_BUS} each)")
        usage = ", ".join(f"{k} {100 * v:.1f} %" for k, v in self.utilisation().items())
        lines.append(f"  utilisation: {usage}")
        return "\n".join(lines)


def _ranges(indices):
    """'0-9, 20-29' for a sorted-or-not integer array (in the given order)."""
    indices = np.asarray(indices)
    if indices.size == 0:
        return "[]"
    breaks = np.flatnonzero(np.diff(indices) != 1) + 1
    parts = [f"{run[0]}-{run[-1]}" if run.size > 1 else f"{run[0]}"
             for run in np.split(indices, breaks)]
    return "[" + ", ".join(parts) + "]"


def weight_steps(magnitude, weight_scale=None, parallel_synapses=True):
    """Quantise |weights| to 6-bit steps.

    Parameters
    ----------
    magnitude : array of |weight| (PyNN units)
    weight_scale : PyNN units per step; None chooses max|w| / 63 (no saturation)
    parallel_synapses : if False, steps above 63 saturate at 63

    Returns
    -------
    (weight_scale, steps, synapses per connection (0 for 0 steps), number of saturated
    connections, number of nonzero weights rounded to 0 steps)
    """
    magnitude = np.asarray(magnitude, dtype=float)
    if weight_scale is None:
        largest = magnitude.max(initial=0.0)
        weight_scale = largest / WEIGHT_STEPS if largest > 0 else 1.0
    elif not weight_scale > 0:
        raise errors.InvalidParameterValueError(
            f"weight_scale = {weight_scale!r}; it must be > 0 (PyNN weight units per step)")
    steps = np.round(magnitude / weight_scale).astype(np.int64)
    rounded_to_zero = int(((steps == 0) & (magnitude > 0)).sum())
    saturated = 0
    if parallel_synapses:
        synapses = -(-steps // WEIGHT_STEPS)
    else:
        saturated = int((steps > WEIGHT_STEPS).sum())
        steps = np.minimum(steps, WEIGHT_STEPS)
        synapses = (steps > 0).astype(np.int64)
    return float(weight_scale), steps, synapses, saturated, rounded_to_zero


def place(neuron_blocks, connection_blocks, permutation=None, parallel_synapses=True):
    """Place neurons on circuits and route projections onto synapse rows.

    Parameters
    ----------
    neuron_blocks : [NeuronBlock], in placement order
    connection_blocks : [ConnectionBlock]
    permutation : circuit of each neuron (in placement order), or None for native order
    parallel_synapses : realise weights above 63 steps by parallel synapses (else saturate)

    Raises PlacementError, naming the exhausted resource, the need and the capacity; warns
    (RoundingWarning) for each projection with nonzero weights that round to 0 steps.
    """
    n_neurons = sum(block.size for block in neuron_blocks)
    circuit_of = _circuits(n_neurons, permutation)
    circuits, start = {}, 0
    for block in neuron_blocks:
        circuits[block.label] = circuit_of[start:start + block.size]
        start += block.size

    projections, in_degree = [], np.zeros(n_neurons, dtype=np.int64)
    for block in connection_blocks:
        scale, steps, synapses, saturated, rounded_to_zero = weight_steps(
            block.magnitude, block.weight_scale, parallel_synapses)
        projections.append(ProjectionPlacement(block.label, block.inhibitory, scale, steps,
                                               synapses, saturated, rounded_to_zero))
        in_degree += np.bincount(np.asarray(block.post, dtype=np.int64), weights=synapses,
                                 minlength=n_neurons).astype(np.int64)
    _check_in_degree(in_degree, neuron_blocks)
    synapses = _expand_synapses(projections, connection_blocks, circuit_of)
    groups = _route(synapses, projections)
    for p, prj in enumerate(projections):
        mine = synapses["projection"] == p
        prj.synapses = {"connection": synapses["connection"][mine],
                        "hemisphere": synapses["hemisphere"][mine],
                        "row": synapses["row"][mine], "column": synapses["column"][mine]}
        prj.rows = _chunks_of_rows(prj.synapses["hemisphere"], prj.synapses["row"])
    warn_rounded_to_zero(projections)
    return Placement(circuits, projections, in_degree, groups)


def warn_rounded_to_zero(projections):
    """A RoundingWarning for each ProjectionPlacement with weights rounded to 0 steps."""
    for prj in projections:
        if prj.rounded_to_zero:
            warnings.warn(RoundingWarning(
                f"projection {prj.label!r}: {prj.rounded_to_zero} of {prj.weight_steps.size} "
                f"weights are nonzero but below half a 6-bit step and round to 0; their synapses "
                f"are not placed (the smallest representable weight is one step, "
                f"{prj.weight_scale:.6g}; from half a step, {prj.weight_scale / 2:.6g}, a "
                f"weight rounds up to it)"), stacklevel=3)


def _expand_synapses(projections, connection_blocks, circuit_of):
    """One entry per physical synapse: projection, connection, source, hemisphere, column,
    sign; sorted by projection, connection and copy."""
    parts = {name: [] for name in ("projection", "connection", "source", "circuit", "sign")}
    for p, (prj, block) in enumerate(zip(projections, connection_blocks)):
        connection = np.repeat(np.arange(prj.parallel_synapses.size), prj.parallel_synapses)
        parts["projection"].append(np.full(connection.size, p))
        parts["connection"].append(connection)
        parts["source"].append(np.asarray(block.pre, dtype=np.int64)[connection])
        parts["circuit"].append(circuit_of[np.asarray(block.post, dtype=np.int64)][connection])
        parts["sign"].append(np.full(connection.size, int(prj.inhibitory)))
    synapses = {name: (np.concatenate(v) if v else np.zeros(0, dtype=np.int64)).astype(np.int64)
                for name, v in parts.items()}
    synapses["hemisphere"] = synapses["circuit"] // CIRCUITS_PER_HEMISPHERE
    synapses["column"] = synapses["circuit"] % CIRCUITS_PER_HEMISPHERE
    synapses["row"] = np.full(synapses["circuit"].size, -1, dtype=np.int64)
    return synapses


def _route(synapses, projections):
    """Label groups and PADI buses of each hemisphere, a row for every synapse (written into
    ``synapses["row"]``). Returns the LabelGroups; raises PlacementError when a hemisphere or
    its buses run out of rows."""
    groups = []
    for h in range(N_HEMISPHERES):
        chosen = np.flatnonzero(synapses["hemisphere"] == h)
        if chosen.size:
            groups.extend(_route_hemisphere(h, chosen, synapses, projections))
    return groups


def _route_hemisphere(h, chosen, synapses, projections):
    """Route the synapses ``chosen`` (indices into ``synapses``) of hemisphere ``h``."""
    # a source of one sign is one routing unit
    keys, unit = np.unique(np.stack([synapses["sign"][chosen], synapses["source"][chosen]]),
                           axis=1, return_inverse=True)
    unit = unit.reshape(-1)
    column = synapses["column"][chosen]
    counts = _column_counts(unit, column, keys.shape[1])
    unit_sign = keys[0]
    n_units = [int((unit_sign == sign).sum()) for sign in (0, 1)]
    n_groups = [-(-n // LABELS_PER_ROW) for n in n_units]
    # however the sources are grouped, each sign needs its largest in-degree of a column
    least_rows = int(sum(counts[unit_sign == sign].sum(axis=0).max(initial=0)
                         for sign in (0, 1)))
    if least_rows > ROWS_PER_HEMISPHERE:
        _raise_out_of_rows(h, least_rows, [], chosen, synapses, projections)
    least_rows = None
    while True:
        group_of_unit, group_rows, group_sign = np.empty(unit_sign.size, dtype=np.int64), [], []
        for sign in (0, 1):
            mine = np.flatnonzero(unit_sign == sign)
            if mine.size:
                dealt, rows = _deal_groups(counts[mine], n_groups[sign])
                group_of_unit[mine] = dealt + len(group_rows)
                group_rows.extend(rows)
                group_sign.extend([sign] * len(rows))
        bus_of_group, first_row = _pack(group_rows)
        least_rows = min(sum(group_rows), least_rows or sum(group_rows))
        if bus_of_group is not None:
            break
        # more, smaller label groups for the sign of the largest group, while that can help
        widest = [g for g in np.argsort(group_rows)[::-1]
                  if n_groups[group_sign[g]] < n_units[group_sign[g]]]
        if not widest or sum(n_groups) >= ROWS_PER_HEMISPHERE:
            _raise_out_of_rows(h, least_rows, group_rows, chosen, synapses, projections)
        n_groups[group_sign[widest[0]]] += 1
    result = []
    for g, rows in enumerate(group_rows):
        mine = chosen[group_of_unit[unit] == g]          # in projection/connection/copy order
        slot = _slots(synapses["column"][mine])
        synapses["row"][mine] = first_row[g] + slot
        bus = int(bus_of_group[g])
        result.append(LabelGroup(h, bool(group_sign[g]), keys[1][group_of_unit == g], rows,
                                 [RowChunk(h, bus, int(first_row[g]), rows)]))
    return result


def _raise_out_of_rows(h, least_rows, group_rows, chosen, synapses, projections):
    """least_rows: the fewest rows any grouping tried needed; group_rows: the last grouping."""
    names = ", ".join(repr(projections[p].label)
                      for p in np.unique(synapses["projection"][chosen]))
    if least_rows > ROWS_PER_HEMISPHERE:
        raise PlacementError(
            f"synapse rows of hemisphere {h} exhausted: the projections ({names}) need "
            f"{least_rows} rows (in label groups of at most {LABELS_PER_ROW} sources), the "
            f"hemisphere has {ROWS_PER_HEMISPHERE}")
    raise PlacementError(
        f"PADI bus rows of hemisphere {h} exhausted: the projections ({names}) need label "
        f"groups of {sorted(group_rows, reverse=True)} rows, each on one bus, and the "
        f"{PADI_BUSES_PER_HEMISPHERE} buses have {ROWS_PER_PADI_BUS} rows each")


def _slots(column):
    """Position of each synapse among the synapses onto the same column (in the given order)."""
    order = np.argsort(column, kind="stable")
    first = np.searchsorted(column[order], column[order])
    slot = np.empty(column.size, dtype=np.int64)
    slot[order] = np.arange(column.size) - first
    return slot


def _column_counts(unit, column, n_units):
    """Synapses of each routing unit onto each column, array [unit, column]."""
    return np.bincount(unit * CIRCUITS_PER_HEMISPHERE + column,
                       minlength=n_units * CIRCUITS_PER_HEMISPHERE
                       ).reshape(n_units, CIRCUITS_PER_HEMISPHERE)


def _deal_groups(counts, n_groups):
    """Deal sources (rows of ``counts``: synapses per column) into ``n_groups`` label groups
    of at most 64: sources with the most synapses first, each to the group whose rows (its
    largest number of synapses onto one column) grow least, ties to the group with fewest
    sources. Returns the group of each source and the rows of each group."""
    load = np.zeros((n_groups, CIRCUITS_PER_HEMISPHERE), dtype=np.int64)
    size = np.zeros(n_groups, dtype=np.int64)
    group_of = np.empty(counts.shape[0], dtype=np.int64)
    for s in np.argsort(-counts.sum(axis=1), kind="stable"):
        rows = np.where(size < LABELS_PER_ROW, (load + counts[s]).max(axis=1),
                        np.iinfo(np.int64).max)
        g = int(np.lexsort((size, rows))[0])
        load[g] += counts[s]
        size[g] += 1
        group_of[s] = g
    return group_of, load.max(axis=1).tolist()


def _pack(group_rows):
    """Label groups onto the PADI buses, each group on one bus, first-fit decreasing. Returns
    (bus of each group, first row of each group) or (None, None) if they do not fit."""
    free = np.full(PADI_BUSES_PER_HEMISPHERE, ROWS_PER_PADI_BUS)
    bus_of = np.empty(len(group_rows), dtype=np.int64)
    first_row = np.empty(len(group_rows), dtype=np.int64)
    for g in np.argsort(group_rows, kind="stable")[::-1]:
        buses = np.flatnonzero(free >= group_rows[g])
        if buses.size == 0:
            return None, None
        bus = int(buses[0])
        first_row[g] = bus * ROWS_PER_PADI_BUS + ROWS_PER_PADI_BUS - free[bus]
        free[bus] -= group_rows[g]
        bus_of[g] = bus
    return bus_of, first_row


def _chunks_of_rows(hemisphere, row):
    """Runs of consecutive rows on one bus holding the given synapses."""
    chunks = []
    for h in range(N_HEMISPHERES):
        rows = np.unique(row[hemisphere == h])
        if rows.size == 0:
            continue
        breaks = np.flatnonzero((np.diff(rows) != 1)
                                | (np.diff(rows // ROWS_PER_PADI_BUS) != 0)) + 1
        for run in np.split(rows, breaks):
            chunks.append(RowChunk(h, int(run[0] // ROWS_PER_PADI_BUS), int(run[0]), run.size))
    return chunks


def _circuits(n_neurons, permutation):
    if n_neurons > N_CIRCUITS:
        raise PlacementError(f"neuron circuits exhausted: the network has {n_neurons} neurons, "
                             f"the chip has {N_CIRCUITS} circuits")
    if permutation is None:
        return np.arange(n_neurons)
    permutation = np.asarray(permutation)
    if permutation.ndim != 1 or permutation.dtype.kind not in "iu" or \
            np.unique(permutation).size != permutation.size or \
            (permutation.size and (permutation.min() < 0 or permutation.max() >= N_CIRCUITS)):
        raise errors.InvalidParameterValueError(
            f"neuron_permutation = {permutation.tolist()}; it must list distinct circuit "
            f"indices 0..{N_CIRCUITS - 1}")
    if permutation.size < n_neurons:
        raise PlacementError(f"neuron_permutation lists {permutation.size} circuits, the "
                             f"network has {n_neurons} neurons")
    return permutation[:n_neurons].astype(np.int64)


def _check_in_degree(in_degree, neuron_blocks):
    over = np.flatnonzero(in_degree > MAX_IN_DEGREE_ROWS)
    if over.size:
        neuron = int(over[np.argmax(in_degree[over])])
        label, index = _neuron_name(neuron, neuron_blocks)
        raise PlacementError(
            f"in-degree of neuron {index} of {label!r} exhausted: it needs "
            f"{int(in_degree[neuron])} synapse rows (parallel synapses counted), a neuron "
            f"circuit has {MAX_IN_DEGREE_ROWS}")


def _neuron_name(neuron, neuron_blocks):
    for block in neuron_blocks:
        if neuron < block.size:
            return block.label, neuron
        neuron -= block.size
