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
- Each projection gets its own block of rows in each hemisphere it targets. The block has as
  many rows as the largest number of synapses (parallel ones counted) that the projection makes
  onto one neuron of that hemisphere; the k-th synapse onto a neuron (in the order of the
  connections) lies on the block's k-th row, in the neuron's column. A block is cut into
  chunks of at most 64 rows and every chunk must lie on one PADI bus: the events of a chunk's
  sources enter the array through one bus (a neuron's in-degree on one bus is at most 64
  rows).
- A neuron's in-degree, summed over projections with parallel synapses, is at most 256 rows.

Simplifications against the reference router (grenade): rows are not shared between
projections, the 6-bit synapse labels (at most 64 sources told apart on one row) and the
crossbar's 12 outputs are not counted as limits, merged circuits (multi-compartment, larger
in-degree) are not offered.
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

    post : global neuron index (position in the concatenated NeuronBlocks) of each connection
    magnitude : |weight| of each connection, PyNN units
    inhibitory : whether the projection's receptor is inhibitory
    weight_scale : PyNN units per weight step, or None: chosen so that the largest |w| is 63
    """
    label: str
    post: np.ndarray
    magnitude: np.ndarray
    inhibitory: bool
    weight_scale: float = None


@dataclass
class RowChunk:
    """Consecutive synapse rows of one projection on one PADI bus."""
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
    rows: list = field(default_factory=list)    # [RowChunk]
    # one entry per physical synapse (parallel synapses expanded): the connection it realises,
    # its hemisphere, row (0..255) and column (0..255)
    synapses: dict = field(default_factory=dict)

    @property
    def n_rows(self):
        return sum(chunk.n_rows for chunk in self.rows)

    @property
    def n_synapses(self):
        return int(self.parallel_synapses.sum())

    def realised_magnitude(self):
        """|weight| as realised on the chip, PyNN units."""
        return self.weight_steps * self.weight_scale


@dataclass
class Placement:
    """Result of :func:`place`: circuits per population, rows per projection, utilisation."""
    circuits: dict                      # population label -> circuit index of each neuron
    projections: list                   # [ProjectionPlacement]
    in_degree: np.ndarray               # rows of input of each placed neuron

    def rows_used(self):
        """Synapse rows in use, array [hemisphere, bus]."""
        used = np.zeros((N_HEMISPHERES, PADI_BUSES_PER_HEMISPHERE), dtype=int)
        for prj in self.projections:
            for chunk in prj.rows:
                used[chunk.hemisphere, chunk.bus] += chunk.n_rows
        return used

    def utilisation(self):
        """Fraction of each resource in use (circuits, rows, synapses, busiest PADI bus)."""
        n_neurons = sum(len(c) for c in self.circuits.values())
        rows = self.rows_used()
        return {"circuits": n_neurons / N_CIRCUITS,
                "synapse_rows": rows.sum() / (N_HEMISPHERES * ROWS_PER_HEMISPHERE),
                "synapses": sum(p.n_synapses for p in self.projections) / SYNAPSES_PER_CHIP,
                "busiest_padi_bus": rows.max(initial=0) / ROWS_PER_PADI_BUS}

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
            lines.append(f"  hemisphere {h}: rows per PADI bus {rows[h].tolist()} "
                         f"(capacity {ROWS_PER_PADI_BUS} each)")
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
    row_need = []          # (projection index, hemisphere, rows)
    for block in connection_blocks:
        scale, steps, synapses, saturated = weight_steps(block.magnitude, block.weight_scale,
                                                         parallel_synapses)
        projections.append(ProjectionPlacement(block.label, block.inhibitory, scale, steps,
                                               synapses, saturated))
        post = np.asarray(block.post, dtype=np.int64)
        per_neuron = np.bincount(post, weights=synapses, minlength=n_neurons).astype(np.int64)
        in_degree += per_neuron
        hemisphere = circuit_of // CIRCUITS_PER_HEMISPHERE
        for h in range(N_HEMISPHERES):
            rows = int(per_neuron[hemisphere == h].max(initial=0))
            if rows:
                row_need.append((len(projections) - 1, h, rows))

    _check_in_degree(in_degree, neuron_blocks)
    for h in range(N_HEMISPHERES):
        need = sum(rows for _, hh, rows in row_need if hh == h)
        if need > ROWS_PER_HEMISPHERE:
            detail = ", ".join(f"{projections[p].label!r}: {rows}"
                               for p, hh, rows in row_need if hh == h)
            raise PlacementError(
                f"synapse rows of hemisphere {h} exhausted: the projections need {need} rows "
                f"({detail}), the hemisphere has {ROWS_PER_HEMISPHERE}")
    _assign_rows(projections, row_need)
    for prj, block in zip(projections, connection_blocks):
        prj.synapses = _synapse_coordinates(prj, circuit_of[np.asarray(block.post, np.int64)])
    return Placement(circuits, projections, in_degree)


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


def _assign_rows(projections, row_need):
    """Chunks of <= 64 rows, first-fit decreasing onto the PADI buses of each hemisphere."""
    free = np.full((N_HEMISPHERES, PADI_BUSES_PER_HEMISPHERE), ROWS_PER_PADI_BUS)
    chunks = []
    for p, h, rows in row_need:
        while rows > 0:
            chunks.append((min(rows, ROWS_PER_PADI_BUS), p, h))
            rows -= ROWS_PER_PADI_BUS
    for n_rows, p, h in sorted(chunks, key=lambda c: -c[0]):
        buses = np.flatnonzero(free[h] >= n_rows)
        if buses.size == 0:
            raise PlacementError(
                f"PADI bus rows of hemisphere {h} exhausted: projection "
                f"{projections[p].label!r} needs a chunk of {n_rows} rows on one bus, the free "
                f"rows of its {PADI_BUSES_PER_HEMISPHERE} buses are {free[h].tolist()} "
                f"(capacity {ROWS_PER_PADI_BUS} each)")
        bus = int(buses[0])
        first = bus * ROWS_PER_PADI_BUS + ROWS_PER_PADI_BUS - int(free[h, bus])
        free[h, bus] -= n_rows
        projections[p].rows.append(RowChunk(h, bus, first, n_rows))
    for prj in projections:
        prj.rows.sort(key=lambda c: (c.hemisphere, c.first_row))


def _synapse_coordinates(prj, post_circuit):
    """Hemisphere, row and column of every physical synapse of a routed projection."""
    copies = prj.parallel_synapses
    connection = np.repeat(np.arange(copies.size), copies)
    circuit = post_circuit[connection]
    hemisphere = circuit // CIRCUITS_PER_HEMISPHERE
    # slot: position of the synapse among the projection's synapses onto the same neuron
    order = np.lexsort((np.arange(connection.size), circuit))
    sorted_circuit = circuit[order]
    first_of_neuron = np.searchsorted(sorted_circuit, sorted_circuit)
    slot = np.empty(connection.size, dtype=np.int64)
    slot[order] = np.arange(connection.size) - first_of_neuron
    row = np.empty(connection.size, dtype=np.int64)
    for h in range(N_HEMISPHERES):
        block = [np.arange(c.first_row, c.first_row + c.n_rows)
                 for c in prj.rows if c.hemisphere == h]
        in_h = hemisphere == h
        if in_h.any():
            row[in_h] = np.concatenate(block)[slot[in_h]]
    return {"connection": connection, "hemisphere": hemisphere, "row": row,
            "column": circuit % CIRCUITS_PER_HEMISPHERE}
