"""Placement and routing of a network onto one BrainScaleS-2 chip (pure numpy, no PyNN).

The chip's resources (constants below) and the model of them used here:

- 512 neuron circuits in two hemispheres of 256; circuit ``c`` lies in hemisphere ``c // 256``
  and is the column ``c % 256`` of that hemisphere's synapse array. One PyNN neuron takes one
  circuit, in native order or in the order of a user permutation.
- Each hemisphere has 256 synapse rows, driven by synapse drivers (2 rows each) grouped on
  4 PADI buses of 64 rows. A row has one sign (excitatory or inhibitory) and holds one synapse
  per column.
- Weights are 6-bit, 0..63, times a per-projection scale (PyNN units per weight step). A
  weight above 63 steps is realised by ``ceil(w / 63)`` parallel synapses (each on its own row),
  or saturates at 63 when parallel synapses are off.
- Routing, per hemisphere and sign: the presynaptic sources of all projections of that sign
  into the hemisphere are cut, in the order of their IDs, into label groups of at most 64
  sources (a synapse tells sources apart by a 6-bit label). A label group gets a block of rows,
  as many as the largest number of its synapses (parallel ones counted) onto one neuron: the
  k-th synapse of the group onto a neuron lies on the block's k-th row, in the neuron's column.
  Rows are thus shared between projections of one sign and between the sources of a group,
  and never hold two synapses in one column or more than 64 sources.
- A block is cut into chunks of at most 64 rows and every chunk lies on one PADI bus (first-
  fit decreasing): the events of a group enter the array through one bus per chunk.
- A neuron's in-degree, summed over projections with parallel synapses, is at most 256 rows.

Simplifications against the reference router (grenade): label groups follow the order of the
source IDs (no search for groupings that need fewer rows), the crossbar's 12 outputs are not
counted as a limit, merged circuits (multi-compartment, larger in-degree) are not offered.
"""
from dataclasses import dataclass, field

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
    """
    label: str
    pre: np.ndarray
    post: np.ndarray
    magnitude: np.ndarray
    inhibitory: bool
    weight_scale: float = None


@dataclass
class RowChunk:
    """Consecutive synapse rows on one PADI bus."""
    hemisphere: int
    bus: int
    first_row: int       # row index within the hemisphere, 0..255
    n_rows: int
    first_slot: int = 0  # for a label group's chunk: the block row it starts at

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
    """Up to 64 sources sharing rows of one sign in one hemisphere."""
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
                         + (f", {prj.saturated} weights saturated" if prj.saturated else ""))
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
    (weight_scale, steps, synapses per connection, number of saturated connections)
    """
    magnitude = np.asarray(magnitude, dtype=float)
    if weight_scale is None:
        largest = magnitude.max(initial=0.0)
        weight_scale = largest / WEIGHT_STEPS if largest > 0 else 1.0
    elif not weight_scale > 0:
        raise errors.InvalidParameterValueError(
            f"weight_scale = {weight_scale!r}; it must be > 0 (PyNN weight units per step)")
    steps = np.round(magnitude / weight_scale).astype(np.int64)
    saturated = 0
    if parallel_synapses:
        synapses = np.maximum(1, -(-steps // WEIGHT_STEPS))
    else:
        saturated = int((steps > WEIGHT_STEPS).sum())
        steps = np.minimum(steps, WEIGHT_STEPS)
        synapses = np.ones_like(steps)
    return float(weight_scale), steps, synapses, saturated


def place(neuron_blocks, connection_blocks, permutation=None, parallel_synapses=True):
    """Place neurons on circuits and route projections onto synapse rows.

    Parameters
    ----------
    neuron_blocks : [NeuronBlock], in placement order
    connection_blocks : [ConnectionBlock]
    permutation : circuit of each neuron (in placement order), or None for native order
    parallel_synapses : realise weights above 63 steps by parallel synapses (else saturate)

    Raises PlacementError, naming the exhausted resource, the need and the capacity.
    """
    n_neurons = sum(block.size for block in neuron_blocks)
    circuit_of = _circuits(n_neurons, permutation)
    circuits, start = {}, 0
    for block in neuron_blocks:
        circuits[block.label] = circuit_of[start:start + block.size]
        start += block.size

    projections, in_degree = [], np.zeros(n_neurons, dtype=np.int64)
    for block in connection_blocks:
        scale, steps, synapses, saturated = weight_steps(block.magnitude, block.weight_scale,
                                                         parallel_synapses)
        projections.append(ProjectionPlacement(block.label, block.inhibitory, scale, steps,
                                               synapses, saturated))
        in_degree += np.bincount(np.asarray(block.post, dtype=np.int64), weights=synapses,
                                 minlength=n_neurons).astype(np.int64)
    _check_in_degree(in_degree, neuron_blocks)
    synapses = _expand_synapses(projections, connection_blocks, circuit_of)
    groups = _label_groups(synapses, projections)
    _assign_rows(groups, synapses)
    for p, prj in enumerate(projections):
        mine = synapses["projection"] == p
        prj.synapses = {"connection": synapses["connection"][mine],
                        "hemisphere": synapses["hemisphere"][mine],
                        "row": synapses["row"][mine], "column": synapses["column"][mine]}
        prj.rows = _chunks_of_rows(prj.synapses["hemisphere"], prj.synapses["row"])
    return Placement(circuits, projections, in_degree, [g for g, _ in groups])


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


def _label_groups(synapses, projections):
    """Label groups of each hemisphere and sign, with the slot (row within the group's block)
    of each of their synapses; raises PlacementError when a hemisphere runs out of rows."""
    groups = []                # (LabelGroup, indices of its synapses, their slots)
    for h in range(N_HEMISPHERES):
        for sign in (0, 1):
            chosen = np.flatnonzero((synapses["hemisphere"] == h) & (synapses["sign"] == sign))
            if chosen.size == 0:
                continue
            sources = np.unique(synapses["source"][chosen])
            group_of = np.searchsorted(sources, synapses["source"][chosen]) // LABELS_PER_ROW
            for g in range(int(group_of.max()) + 1):
                members = chosen[group_of == g]          # in projection/connection/copy order
                column = synapses["column"][members]
                order = np.argsort(column, kind="stable")
                first = np.searchsorted(column[order], column[order])
                slot = np.empty(members.size, dtype=np.int64)
                slot[order] = np.arange(members.size) - first
                group = LabelGroup(h, bool(sign), sources[g * LABELS_PER_ROW:
                                                          (g + 1) * LABELS_PER_ROW],
                                   int(slot.max()) + 1)
                groups.append((group, members, slot))
        need = sum(g.n_rows for g, _, _ in groups if g.hemisphere == h)
        if need > ROWS_PER_HEMISPHERE:
            names = sorted({projections[p].label for g, members, _ in groups
                            if g.hemisphere == h
                            for p in np.unique(synapses["projection"][members])})
            n_groups = sum(1 for g, _, _ in groups if g.hemisphere == h)
            raise PlacementError(
                f"synapse rows of hemisphere {h} exhausted: the projections "
                f"({', '.join(repr(n) for n in names)}) need {need} rows in {n_groups} label "
                f"groups of at most {LABELS_PER_ROW} sources, the hemisphere has "
                f"{ROWS_PER_HEMISPHERE}")
    return [(g, (members, slot)) for g, members, slot in groups]


def _assign_rows(groups, synapses):
    """Blocks cut into chunks of <= 64 rows, first-fit decreasing onto the PADI buses; the row
    of every synapse is written into ``synapses["row"]``."""
    free = np.full((N_HEMISPHERES, PADI_BUSES_PER_HEMISPHERE), ROWS_PER_PADI_BUS)
    chunks = []                    # (n_rows, group index, first slot)
    for index, (group, _) in enumerate(groups):
        for first in range(0, group.n_rows, ROWS_PER_PADI_BUS):
            chunks.append((min(ROWS_PER_PADI_BUS, group.n_rows - first), index, first))
    for n_rows, index, first_slot in sorted(chunks, key=lambda c: -c[0]):
        group = groups[index][0]
        h = group.hemisphere
        buses = np.flatnonzero(free[h] >= n_rows)
        if buses.size == 0:
            raise PlacementError(
                f"PADI bus rows of hemisphere {h} exhausted: a label group of "
                f"{group.sources.size} sources needs a chunk of {n_rows} rows on one bus, the "
                f"free rows of the {PADI_BUSES_PER_HEMISPHERE} buses are {free[h].tolist()} "
                f"(capacity {ROWS_PER_PADI_BUS} each)")
        bus = int(buses[0])
        first_row = bus * ROWS_PER_PADI_BUS + ROWS_PER_PADI_BUS - int(free[h, bus])
        free[h, bus] -= n_rows
        group.rows.append(RowChunk(h, bus, first_row, n_rows, first_slot))
    for group, (members, slot) in groups:
        group.rows.sort(key=lambda c: c.first_slot)
        for chunk in group.rows:
            inside = (slot >= chunk.first_slot) & (slot < chunk.first_slot + chunk.n_rows)
            synapses["row"][members[inside]] = chunk.first_row + slot[inside] - chunk.first_slot


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
