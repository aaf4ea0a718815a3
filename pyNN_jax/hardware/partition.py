"""Feed-forward networks larger than one chip, partitioned over several runs of it (pure numpy).

As the reference stack does for feed-forward networks (Arnold et al. 2024, arXiv 2401.16840):
the neuron populations are taken in feed-forward order and packed greedily into runs of the
chip; a population is split where only part of it fits in what is left of a run. A run's inputs
from neurons of earlier runs are those neurons' recorded spikes, played back like spike
sources, so every run is an ordinary placement (:func:`.placement.place`). Each projection
keeps one weight scale over all runs.
"""
import warnings
from dataclasses import dataclass, replace

import numpy as np

from pyNN import errors

from .placement import (PlacementError, ProjectionPlacement, RoundingWarning, place,
                        warn_rounded_to_zero, weight_steps)


@dataclass
class NeuronSlice:
    """Neurons ``start:stop`` of one population, placed in one run."""
    label: str
    start: int
    stop: int


@dataclass
class PartitionedPlacement:
    """Placement of a network over several runs of the chip.

    ``circuits``, ``projections`` and ``in_degree`` cover the whole network as in a
    :class:`.placement.Placement` (a circuit index is the circuit in the neuron's run);
    ``runs`` holds the placement of each run and ``slices`` what each run holds.
    """
    runs: list                          # [Placement]
    slices: list                        # per run: [NeuronSlice]
    circuits: dict                      # population label -> circuit of each neuron
    run_of: dict                        # population label -> run of each neuron
    projections: list                   # [ProjectionPlacement] over all runs
    in_degree: np.ndarray

    def utilisation(self):
        """Utilisation of each run."""
        return [run.utilisation() for run in self.runs]

    def __str__(self):
        lines = [f"BrainScaleS-2 placement over {len(self.runs)} runs (feed-forward "
                 f"partitioning)"]
        for index, (run, slices) in enumerate(zip(self.runs, self.slices)):
            held = ", ".join(f"{s.label!r}[{s.start}:{s.stop}]" for s in slices)
            lines.append(f"run {index}: {held}")
            lines.extend("  " + line for line in str(run).splitlines())
        return "\n".join(lines)


def place_partitioned(neuron_blocks, connection_blocks, permutation=None,
                      parallel_synapses=True):
    """:func:`.placement.place` on one chip if the network fits, else over several runs.

    ``connection_blocks`` must give ``pre_neuron`` (global index of a presynaptic neuron, -1 for
    a spike source). Raises PlacementError if the network does not fit one chip and is not
    feed-forward, or if one neuron's needs exceed a whole chip; InvalidParameterValueError if
    it must be partitioned and a ``permutation`` is given (a permutation lists circuits of
    one chip; the runs of a partitioned network place their neurons in native order).
    """
    try:
        return place(neuron_blocks, connection_blocks, permutation, parallel_synapses)
    except PlacementError as error:
        single_chip_error = error
    if permutation is not None:
        raise errors.InvalidParameterValueError(
            f"neuron_permutation = [{len(permutation)} circuits] with partitioning: the "
            f"network does not fit one chip ({single_chip_error}) and a permutation of one "
            f"chip's circuits cannot be split over runs; give neuron_permutation=None to "
            f"partition, or a network that fits one chip")
    with warnings.catch_warnings():          # one warning for the whole network, below
        warnings.simplefilter("ignore", RoundingWarning)
        placement = _partition(neuron_blocks, connection_blocks, parallel_synapses,
                               single_chip_error)
    warn_rounded_to_zero(placement.projections)
    return placement


def _partition(neuron_blocks, connection_blocks, parallel_synapses, single_chip_error):
    """Populations packed greedily into runs of the chip; see :func:`place_partitioned`."""
    starts = np.cumsum([0] + [b.size for b in neuron_blocks])
    order = _feed_forward_order(neuron_blocks, connection_blocks, starts, single_chip_error)
    fixed = [block if block.weight_scale is not None
             else replace(block, weight_scale=weight_steps(block.magnitude)[0])
             for block in connection_blocks]

    def attempt(units):
        return _place_run(units, neuron_blocks, fixed, starts, parallel_synapses)

    runs, current = [], []
    for b in order:
        start, size = 0, neuron_blocks[b].size
        while start < size:
            n = _largest_fit(lambda n: attempt(current + [(b, start, start + n)]), size - start)
            if n == 0:
                if not current:
                    try:
                        attempt([(b, start, start + 1)])
                    except PlacementError as error:
                        raise PlacementError(
                            f"{error} (neuron {start} of {neuron_blocks[b].label!r} does not "
                            f"fit a whole chip, so partitioning over runs cannot help)") from None
                runs.append(current)
                current = []
                continue
            if current and current[-1][0] == b and current[-1][2] == start:
                current[-1] = (b, current[-1][1], start + n)      # one slice per population
            else:
                current.append((b, start, start + n))
            start += n
    runs.append(current)
    return _assemble([attempt(units) for units in runs], runs, neuron_blocks, fixed, starts)


def _feed_forward_order(neuron_blocks, connection_blocks, starts, single_chip_error):
    """Populations in an order where every projection goes forward; PlacementError if the
    projections between them form a loop."""
    n = len(neuron_blocks)
    edges = set()
    for block in connection_blocks:
        pre = np.asarray(block.pre_neuron)
        from_neuron = pre >= 0
        pre_block = np.searchsorted(starts, pre[from_neuron], side="right") - 1
        post_block = np.searchsorted(starts, np.asarray(block.post)[from_neuron],
                                     side="right") - 1
        edges |= set(zip(pre_block.tolist(), post_block.tolist()))
    incoming = {b: {a for a, c in edges if c == b} for b in range(n)}
    order = []
    while len(order) < n:
        ready = [b for b in range(n) if b not in order and incoming[b] <= set(order)]
        if not ready:
            loop = [neuron_blocks[b].label for b in range(n) if b not in order]
            raise PlacementError(
                f"{single_chip_error}; the network cannot be partitioned over several runs "
                f"because it is not feed-forward: projections form a loop through {loop}")
        order.append(ready[0])
    return order


def _largest_fit(fits, largest):
    """Largest n in 0..largest with fits(n) not raising PlacementError (fits is monotone)."""
    def ok(n):
        try:
            fits(n)
            return True
        except PlacementError:
            return False
    if ok(largest):
        return largest
    low, high = 0, largest          # ok(low) holds (nothing added), ok(high) does not
    while high - low > 1:
        middle = (low + high) // 2
        if ok(middle):
            low = middle
        else:
            high = middle
    return low


def _place_run(units, neuron_blocks, connection_blocks, starts, parallel_synapses):
    """Place the neurons ``units`` ([(block, start, stop)]) and the connections onto them.
    Returns (Placement, per projection the indices of its connections in this run)."""
    local = np.full(starts[-1], -1, dtype=np.int64)
    offset = 0
    for b, start, stop in units:
        if stop > start:
            local[starts[b] + start:starts[b] + stop] = offset + np.arange(stop - start)
        offset += stop - start
    blocks, kept = [], []
    for block in connection_blocks:
        post_local = local[np.asarray(block.post, dtype=np.int64)]
        index = np.flatnonzero(post_local >= 0)
        kept.append(index)
        blocks.append(replace(block, pre=np.asarray(block.pre)[index], post=post_local[index],
                              magnitude=np.asarray(block.magnitude)[index],
                              pre_neuron=np.asarray(block.pre_neuron)[index]))
    neurons = [replace(neuron_blocks[b], label=f"{neuron_blocks[b].label}[{start}:{stop}]",
                       size=stop - start) for b, start, stop in units]
    return place(neurons, blocks, None, parallel_synapses), kept


def _assemble(placed, runs, neuron_blocks, connection_blocks, starts):
    circuits = {b.label: np.zeros(b.size, dtype=np.int64) for b in neuron_blocks}
    run_of = {b.label: np.zeros(b.size, dtype=np.int64) for b in neuron_blocks}
    in_degree = np.zeros(starts[-1], dtype=np.int64)
    slices = []
    for r, ((placement, _), units) in enumerate(zip(placed, runs)):
        slices.append([NeuronSlice(neuron_blocks[b].label, start, stop)
                       for b, start, stop in units])
        position = 0
        run_circuits = np.concatenate(list(placement.circuits.values()))
        for b, start, stop in units:
            label = neuron_blocks[b].label
            circuits[label][start:stop] = run_circuits[position:position + stop - start]
            run_of[label][start:stop] = r
            in_degree[starts[b] + start:starts[b] + stop] = \
                placement.in_degree[position:position + stop - start]
            position += stop - start
    projections = []
    for p, block in enumerate(connection_blocks):
        n = len(block.post)
        steps, copies = np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64)
        synapses, rows, saturated, rounded_to_zero = [], [], 0, 0
        for placement, kept in placed:
            routed = placement.projections[p]
            index = kept[p]
            steps[index], copies[index] = routed.weight_steps, routed.parallel_synapses
            saturated += routed.saturated
            rounded_to_zero += routed.rounded_to_zero
            rows.extend(routed.rows)
            synapses.append(dict(routed.synapses,
                                 connection=index[routed.synapses["connection"]]))
        merged = {name: np.concatenate([s[name] for s in synapses]) for name in synapses[0]}
        order = np.argsort(merged["connection"], kind="stable")
        projections.append(ProjectionPlacement(
            block.label, block.inhibitory, placed[0][0].projections[p].weight_scale, steps,
            copies, saturated, rounded_to_zero, rows,
            {name: v[order] for name, v in merged.items()}))
    return PartitionedPlacement([placement for placement, _ in placed], slices, circuits,
                                run_of, projections, in_degree)
