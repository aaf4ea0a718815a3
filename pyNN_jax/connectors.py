"""PyNN's connectors with a bulk path: every projection is built a piece of columns at a time
(``PIECE_CONNECTIONS`` connections) with ``Projection._bulk_connect(pre, post, parameters)``,
never per connection nor per post cell in Python (10 000 x 10 000 cells, 1M connections with
random weights and delays: 0.05-0.2 s; see benchmarks/connectors.py).

Two kinds of connection draws
-----------------------------
FixedProbability, FixedNumberPre, FixedNumberPost, FixedTotalNumber and the
probability-based connectors (DistanceDependentProbability, IndexBasedProbability,
DisplacementDependentProbability) take ``draw_order="vectorised"`` (default) or
``draw_order="pynn"``:

* ``"vectorised"`` draws, with a NumpyRNG, the distribution PyNN's code defines, in bulk:
  FixedProbability the geometric gaps between consecutive connections (independent pairs
  with probability p); FixedNumberPre / Post the ``n`` cells of every cell at once (with
  replacement PyNN's own numbers, as PyNN draws them in one stream; without replacement a
  uniformly drawn set, duplicates drawn again); FixedTotalNumber the numbers of connections
  of the postsynaptic cells first (multinomial, or multivariate hypergeometric without
  replacement, by halving the cells), then their presynaptic cells as FixedNumberPre does;
  the probability-based ones sample each pair with its probability p at a cost proportional
  to the connections: pairs are taken under an upper bound of p over a tile of pairs
  (geometric gaps) and kept with probability p / bound (see ProbabilityMapMixin).
* ``"pynn"`` draws PyNN's numbers in PyNN's order (per pair, per cell, or for
  FixedTotalNumber per connection: slow): the connections of PyNN's generic code, and of
  pyNN.nest, for the same seeds. Other RNGs than NumpyRNG always draw so.

What is guaranteed
------------------
Same connections, in the same order, with the same parameter values as PyNN's generic code
(``pyNN.connectors`` as used by pyNN.mock, and by pyNN.nest / pyNN.neuron for the connectors
they do not replace) for the same RNG seeds, for AllToAll, OneToOne, Clone, Array,
FromList / FromFile, FixedNumberPre / Post with replacement (unless a self-connection must be
drawn again), and with ``draw_order="pynn"`` for the seven connectors above.
Connections are stored ordered by postsynaptic cell, and within one postsynaptic cell in the
order PyNN's code yields its presynaptic cells (vectorised draws without replacement: in
increasing order).

To get there, random numbers are drawn exactly where PyNN draws them:

* connection draws use the connector's ``rng`` itself, column by column (post cell by post
  cell), or, where PyNN compares a map of uniform numbers with probabilities (the
  probability-based connectors), a copy of it; a block of columns at a time where that gives
  the same numbers (a NumpyRNG's uniform numbers are one stream);
* synapse parameters drawn from a RandomDistribution use a *copy* of its RNG, taken where PyNN
  takes it (``synapse_type.native_parameters`` deep-copies the parameter space: before the
  connection draws for the map-based connectors and FixedNumberPre, after them for
  FixedNumberPost and FixedTotalNumber), so the user's RNG object is never advanced by them;
  the values are drawn column by column, within a column parameter by parameter in the synapse
  type's order (this matters where two parameters share one RNG). One draw per piece is used
  instead where it gives the same numbers (distinct RNGs, NumpyRNG, a distribution that is
  drawn element by element: not ``normal_clipped``);
* FromList / FromFile, like PyNN, draw a random parameter that the list does not give from a
  fresh copy of its RNG for every postsynaptic cell: the cells' values are the same sequence.

With ``draw_order="pynn"`` the probability-based connectors evaluate their probability and
draw a uniform number for every pair (a block of columns at a time), as PyNN does: their cost
is then proportional to n_pre x n_post, not to the number of connections.

Where pyNN.jax deliberately differs from PyNN's generic code
------------------------------------------------------------
* FromList / FromFile keep the connections of one postsynaptic cell in list order (PyNN's
  ``argsort`` is not stable for lists over 16 rows); a synapse parameter that is a function of
  distance is evaluated at the distance of each pair.
* FixedProbability with ``p_connect`` outside [0, 1] raises ConnectionError.
* AllToAll accepts ``allow_self_connections='NoMutual'`` (PyNN's constructor asserts a bool).
  For AllToAll and FixedProbability, 'NoMutual' between different populations (PyNN raises
  NotImplementedError) drops a pair a -> b when a is b, or when b -> a is also a candidate
  pair of the projection and ID(a) < ID(b); within one population this is PyNN's i > j.
* FixedNumberPre / FixedNumberPost / FixedTotalNumber without replacement asked for more
  distinct connections than exist (``n`` above the number of cells, without the cell itself
  where self-connections are not allowed; above n_pre x n_post less the self-connections)
  raise ConnectionError before anything is built. PyNN's FixedNumberPre / Post connect every
  cell once or more and then draw the remainder.
* FixedNumberPre / FixedNumberPost with replacement and without self-connections redraw a
  self-connection until it is none (PyNN 0.13 fails, or keeps it, where a draw must be redone
  twice); drawing vectorised, they treat 'NoMutual' as no self-connections (as
  FixedTotalNumber does).
* FixedTotalNumber honours ``allow_self_connections=False`` and ``with_replacement=False``,
  which PyNN ignores: with ``draw_order="pynn"`` a drawn pair that is a self-connection, or
  (without replacement) repeats an earlier pair, is drawn again; up to the first such redraw
  the draws are PyNN's.
* IndexBasedProbability calls its expression with 2-D index arrays (a block of columns).
* SmallWorld and CSA have no generic PyNN implementation (PyNN's SmallWorld raises
  NotImplementedError); see their docstrings.
"""
import ast
import builtins
from copy import copy, deepcopy

import lazyarray
import numpy as np
from pyNN.parameters import LazyArray, ParameterSpace

from pyNN import connectors, errors
from pyNN.random import NumpyRNG, RandomDistribution
from pyNN.recording import files
from pyNN.standardmodels import StandardSynapseType

from . import simulator
from .sorting import stable_order

BLOCK_ELEMENTS = 4_000_000     # pre x post block evaluated at once
PIECE_CONNECTIONS = 1 << 22      # connections drawn at once
PART_CONNECTIONS = 1 << 16       # connections given their parameters and stored at once
CACHE_ELEMENTS = 1 << 17       # pre x post block of a probability map (fits the L2 cache)
TILE_WIDTH = 64                # pairs of a row of a probability map sampled under one bound
MIN_BOUND = 1e-9               # smallest sampling bound (smaller ones are raised to it)
LEAF_CELLS = 4                 # cells of a leaf box of a spatial tree, about
SPLIT_CANDIDATES = 4.0         # candidates per pair of child boxes that make a box pair split
TIERS_PER_OCTAVE = 8           # sampling bounds of box pairs: 2 ** (-k / TIERS_PER_OCTAVE)
TIERS = 30 * TIERS_PER_OCTAVE + 1  # k < TIERS: the lowest tier is below MIN_BOUND
MAX_BOX_PAIRS = 1 << 12        # (post box, pre box) pairs bounded at once
TOP_BOX_PAIRS = 1 << 10        # pairs of boxes of the level where the search starts, at most
CHUNK_CANDIDATES = 1 << 14     # most pairs sampled at once (distance-dependent), about
MIN_CHUNK_CANDIDATES = 1 << 13  # fewest (at first)
MAX_DISPLACEMENTS = 1 << 20    # distinct displacements tabled (DisplacementDependent)
DISPLACEMENT_BLOCK = 8         # displacements per axis of a block of the table's maxima
DRAW_ORDERS = ("vectorised", "pynn")
INT32_MAX = np.iinfo(np.int32).max

# NumpyRNG distributions drawn element by element: next(a + b) == next(a) followed by next(b)
CHUNK_INVARIANT = frozenset(["uniform", "uniform_int", "normal", "normal_clipped_to_boundary",
                             "lognormal", "exponential", "gamma", "binomial", "poisson",
                             "vonmises"])


def _source_indices(source_mask, n_pre):
    """PyNN's per-column element (bool, bool array or index array) as an index array."""
    if source_mask is True or (np.ndim(source_mask) == 0 and bool(source_mask)):
        return np.arange(n_pre)
    if source_mask is False or np.ndim(source_mask) == 0:
        return np.zeros(0, dtype=int)
    source_mask = np.asarray(source_mask)
    if source_mask.dtype == bool:
        return np.flatnonzero(source_mask)
    return source_mask.astype(int, copy=False)


def _column_bounds(post):
    """(start, stop) of each run of equal post indices in ``post`` (sorted by post)."""
    if post.size == 0:
        return []
    bounds = np.flatnonzero(np.diff(post)) + 1
    return list(zip(np.concatenate([[0], bounds]).tolist(),
                    np.concatenate([bounds, [post.size]]).tolist()))


def _scalar_operations(lazy):
    return all(not isinstance(arg, (LazyArray, np.ndarray)) for _, arg in lazy.operations)


def _is_random(lazy):
    return not lazy.is_homogeneous and isinstance(lazy.base_value, RandomDistribution)


def _is_plain_random(lazy):
    """A parameter drawn from a RandomDistribution, possibly scaled by scalars."""
    return isinstance(lazy.base_value, RandomDistribution) and _scalar_operations(lazy)


def _bulk_drawable(parameter_space, names):
    """True where drawing each parameter once for all connections gives PyNN's numbers."""
    rngs = [parameter_space[name].base_value.rng for name in names]
    if len({id(rng) for rng in rngs}) < len(rngs):
        return False
    return all(_is_plain_random(parameter_space[name])
               and isinstance(parameter_space[name].base_value.rng, NumpyRNG)
               and parameter_space[name].base_value.name in CHUNK_INVARIANT
               for name in names)


def _apply_operations(lazy, values):
    values = np.asarray(values, dtype=float).reshape(-1)
    if not lazy.operations:
        return values
    result = LazyArray(values, shape=values.shape)
    result.operations = list(lazy.operations)
    return np.asarray(result.evaluate(simplify=False), dtype=float).reshape(-1)


def _column_values(lazy, sources, column):
    """PyNN's ``map[source_mask, col]``: draws ``sources.size`` values for a random map."""
    if _is_plain_random(lazy):
        return _apply_operations(lazy, lazy.base_value.next(sources.size))
    return np.asarray(lazy[sources, column], dtype=float).reshape(-1)


def _same_cell_index(cells, others):
    """Index in ``others`` of each cell of ``cells`` (the same ID), -1 where it is not there."""
    ids = np.asarray(cells.all_cells, dtype=np.int64)
    other_ids = np.asarray(others.all_cells, dtype=np.int64)
    if other_ids.size == 0:
        return np.full(ids.size, -1, dtype=np.int64)
    order = np.argsort(other_ids)
    position = np.minimum(np.searchsorted(other_ids, ids, sorter=order), other_ids.size - 1)
    found = other_ids[order[position]] == ids
    return np.where(found, order[position], -1)


def _blocks(sizes, per_block):
    """(start, stop) ranges of consecutive items whose ``sizes`` add up to about
    ``per_block`` each (at least one item per range)."""
    ends = np.cumsum(sizes, dtype=float)
    if ends.size == 0:
        return []
    stops = np.searchsorted(ends, np.arange(per_block, ends[-1], per_block), side="right")
    stops = np.unique(np.clip(np.concatenate([stops, [ends.size]]), 1, ends.size))
    return list(zip(np.concatenate([[0], stops[:-1]]).tolist(), stops.tolist()))


def _split_total(random_state, total, capacities, distinct):
    """Numbers of connections of each column adding up to ``total``: where each of the
    ``capacities[c]`` pairs of column c is drawn with equal probability, with replacement
    (multinomial) or, ``distinct``, without (multivariate hypergeometric). Drawn by halving
    the columns, one vectorised binomial or hypergeometric draw per level."""
    cumulative = np.concatenate([[0], np.cumsum(capacities, dtype=np.int64)])
    starts, stops = np.array([0]), np.array([len(capacities)])
    counts = np.array([total], dtype=np.int64)
    while np.any(stops - starts > 1):
        split = stops - starts > 1
        first, last, count = starts[split], stops[split], counts[split]
        middle = (first + last) // 2
        left = cumulative[middle] - cumulative[first]
        right = cumulative[last] - cumulative[middle]
        to_left = np.zeros_like(count)
        drawn = count > 0
        if distinct:
            to_left[drawn] = random_state.hypergeometric(left[drawn], right[drawn],
                                                         count[drawn])
        else:
            to_left[drawn] = random_state.binomial(count[drawn],
                                                   left[drawn] / (left[drawn] + right[drawn]))
        starts = np.concatenate([starts[~split], first, middle])
        stops = np.concatenate([stops[~split], middle, last])
        counts = np.concatenate([counts[~split], to_left, count - to_left])
    result = np.zeros(len(capacities), dtype=np.int64)
    result[starts] = counts
    return result


def _draw_indices(rng, size, high):
    return np.asarray(rng.next(size, "uniform_int", {"low": 0, "high": high}, mask=None),
                      dtype=np.int64).reshape(-1)


def _redraw_distinct(rng, matrix, valid, excluded, high):
    """Sort the valid entries of each row of ``matrix`` (they come first in the row) and
    redraw those equal to the row's ``excluded`` index or to the entry before them, until
    there are none: each row's entries are then a uniformly drawn set of distinct indices in
    [0, high) other than ``excluded``, in increasing order."""
    rows = np.arange(matrix.shape[0])
    padding = high + np.arange(matrix.shape[1])        # never equal to an index, nor each other
    while rows.size:
        block = np.where(valid[rows], matrix[rows], padding)
        block.sort(axis=1)
        bad = block == excluded[rows, None]
        bad[:, 1:] |= block[:, 1:] == block[:, :-1]
        block[bad] = _draw_indices(rng, int(bad.sum()), high)
        matrix[rows] = block
        rows = rows[bad.any(axis=1)]
    return matrix


def _draw_sources(rng, counts, high, excluded, distinct):
    """Indices for a block of columns, column after column: ``counts[c]`` in column c, each
    uniform in [0, high) other than ``excluded[c]`` (-1: none), independent draws or,
    ``distinct``, a uniformly drawn set of distinct indices (a column asking for more than half
    of its indices gets all but a drawn set of the others, in index order)."""
    if not distinct:
        sources = _draw_indices(rng, int(counts.sum()), high)
        column_excluded = np.repeat(excluded, counts)
        redo = np.flatnonzero(sources == column_excluded)
        while redo.size:
            sources[redo] = _draw_indices(rng, redo.size, high)
            redo = redo[sources[redo] == column_excluded[redo]]
        return sources
    available = high - (excluded >= 0)
    dense = 2 * counts > available
    picked = np.where(dense, available - counts, counts)
    valid = np.arange(max(int(picked.max(initial=0)), 1)) < picked[:, None]
    matrix = np.zeros(valid.shape, dtype=np.int64)
    matrix[valid] = _draw_indices(rng, int(valid.sum()), high)
    matrix = _redraw_distinct(rng, matrix, valid, excluded, high)
    if not dense.any():
        return matrix[valid]
    dense_rows = np.flatnonzero(dense)
    kept = np.ones((dense_rows.size, high), dtype=bool)       # all but the drawn ones
    left_out = valid[dense_rows]
    kept[np.nonzero(left_out)[0], matrix[dense_rows][left_out]] = False
    has_self = excluded[dense_rows] >= 0
    kept[np.flatnonzero(has_self), excluded[dense_rows][has_self]] = False
    chosen = np.zeros((counts.size, max(matrix.shape[1], int(counts.max()))), dtype=np.int64)
    chosen[:, :matrix.shape[1]] = matrix
    entries = np.arange(chosen.shape[1]) < counts[:, None]
    chosen[entries & dense[:, None]] = np.nonzero(kept)[1]
    return chosen[entries]


def _parts(pre, post, given):
    """A piece (pre, post, given) cut between postsynaptic cells into parts of about
    PART_CONNECTIONS connections: the parameters of a part are drawn, checked and converted
    while the others wait as index arrays (peak memory of a build: the piece's indices and
    one part's temporaries above the final arrays). Column by column draws see whole
    columns; bulk draws (one RNG per parameter) give the same numbers in parts."""
    if pre.size <= PART_CONNECTIONS:
        yield pre, post, given
        return
    starts = np.concatenate([[0], np.flatnonzero(np.diff(post)) + 1, [post.size]])
    for first, stop in _blocks(np.diff(starts), PART_CONNECTIONS):
        a, b = int(starts[first]), int(starts[stop])
        yield pre[a:b], post[a:b], {name: value[a:b] if np.ndim(value) else value
                                    for name, value in given.items()}


def _merged(pairs):
    """(pre, post) index arrays, ordered by post and one after the other in that order, as
    pieces (pre, post, {}) of at least PIECE_CONNECTIONS connections (but the last)."""
    pre_parts, post_parts, size = [], [], 0
    for pre, post in pairs:
        pre_parts.append(pre)
        post_parts.append(post)
        size += pre.size
        if size >= PIECE_CONNECTIONS:
            yield np.concatenate(pre_parts), np.concatenate(post_parts), {}
            pre_parts, post_parts, size = [], [], 0
    if size:
        yield np.concatenate(pre_parts), np.concatenate(post_parts), {}


def _geometric(random_state, log_failure):
    """One geometric number (>= 1: trials up to the first success) per ``log_failure``
    (log(1 - p) of a probability p in [MIN_BOUND, 1]), by inversion of a uniform number."""
    uniform = 1.0 - random_state.random_sample(log_failure.size)            # in (0, 1]
    return np.floor(np.log(uniform) / log_failure).astype(np.int64) + 1


def _as_bounds(upper):
    """Upper bounds of probabilities as sampling bounds: at most 1, 0 where no probability
    is above 0 (NaN: never connects), tiny ones raised to MIN_BOUND (a bound only has to be
    >= the probabilities; it keeps the geometric gaps within int64)."""
    with np.errstate(invalid="ignore"):
        return np.where(upper > 0, np.clip(upper, MIN_BOUND, 1.0), 0.0)


def _bernoulli_positions(random_state, sizes, bounds):
    """Items taken in segments of ``sizes[s]`` items, each item of segment s independently with
    probability ``bounds[s]`` (0, or in [MIN_BOUND, 1]): (segment, position) arrays, ordered
    by segment then position. Drawn as the geometric gaps between taken items: the cost is one
    draw per item taken plus about one per segment, whatever the segments' sizes; the segments
    at MIN_BOUND are sampled as one run (``_run_positions``)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    lowest = np.flatnonzero((bounds == MIN_BOUND) & (sizes > 0))
    segments, positions = _gap_positions(
        random_state, sizes, bounds, np.flatnonzero((bounds > MIN_BOUND) & (sizes > 0)))
    if lowest.size:
        owner, joined = _run_positions(random_state, sizes[lowest], np.array([MIN_BOUND]),
                                       np.zeros(lowest.size, dtype=np.int64))
        segments = np.concatenate([segments, lowest[owner]])
        positions = np.concatenate([positions, joined])
    if np.any(segments[1:] < segments[:-1]):
        order = np.argsort(segments, kind="stable")
        segments, positions = segments[order], positions[order]
    return segments, positions


def _run_positions(random_state, sizes, run_bounds, runs):
    """Items taken in segments of ``sizes[s]`` items, each item of segment s independently with
    probability ``run_bounds[runs[s]]`` (in [MIN_BOUND, 1]): the segments of a run are
    sampled end to end as one (geometric gaps), at a cost of one draw per item taken plus
    about one per run, and a binary search per segment among the items taken. Returns
    (segment, position) arrays, ordered run by run, then by position in the run."""
    order = stable_order(runs, run_bounds.size)         # the segments run after run
    starts = np.concatenate([[0], np.cumsum(sizes[order])])
    run_ends = starts[np.cumsum(np.bincount(runs, minlength=run_bounds.size))]
    run_sizes = np.diff(run_ends, prepend=0)
    run, position = _gap_positions(random_state, run_sizes, run_bounds,
                                   np.flatnonzero(run_sizes))
    position += run_ends[run] - run_sizes[run]                # from the start of all runs
    position.sort()                       # in order but where a run took more than a batch
    counts = np.diff(np.searchsorted(position, starts))       # items taken per segment
    owner = np.repeat(np.arange(order.size), counts)
    position -= starts[owner]
    return order[owner], position


def _gap_positions(random_state, sizes, bounds, active):
    """``_bernoulli_positions`` of the segments ``active``, by batches of geometric gaps
    (about 4 standard deviations more than expected; segments not reached continue)."""
    last = np.full(active.size, -1, dtype=np.int64)
    segments, positions = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    while active.size:
        n, q = sizes[active], bounds[active]
        mean = (n - 1 - last) * q
        batch = (mean + 4 * np.sqrt(mean) + 1).astype(np.int64)
        ends = np.cumsum(batch)
        with np.errstate(divide="ignore"):
            log_failure = np.log1p(-q)                          # -inf where q = 1
        drawn = np.cumsum(_geometric(random_state, np.repeat(log_failure, batch)))
        drawn -= np.repeat(np.concatenate([[0], drawn[ends[:-1] - 1]]) - last, batch)
        owner = np.repeat(np.arange(active.size), batch)
        taken = drawn < np.repeat(n, batch)
        segments.append(active[owner[taken]])
        positions.append(drawn[taken])
        final = drawn[ends - 1]
        more = final < n
        active, last = active[more], final[more]
    return np.concatenate(segments), np.concatenate(positions)


def _sample_map(random_state, probabilities):
    """(row, column) of the pairs connected, each independently with its probability in
    ``probabilities`` (2-D; values above 1 connect, NaN never), ordered by row then column.
    The rows are cut into tiles of TILE_WIDTH columns; pairs are taken with the tile's
    largest probability (geometric gaps), then kept with probability p / largest: exact, at
    a cost proportional to the pairs taken plus one pass over the map."""
    probabilities = np.asarray(probabilities, dtype=float)
    n_rows, n_columns = probabilities.shape
    if probabilities.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    tile_starts = np.arange(0, n_columns, TILE_WIDTH)
    with np.errstate(invalid="ignore"):
        largest = np.fmax.reduceat(probabilities, tile_starts, axis=1).reshape(-1)
    bounds = _as_bounds(largest)
    widths = np.diff(np.append(tile_starts, n_columns))
    segment, position = _bernoulli_positions(random_state, np.tile(widths, n_rows), bounds)
    rows, tiles = np.divmod(segment, tile_starts.size)
    columns = tile_starts[tiles] + position
    keep = random_state.random_sample(segment.size) * bounds[segment] < \
        probabilities[rows, columns]
    return rows[keep], columns[keep]


# ---- upper bounds of a d_expression over intervals of distances ------------------------------
def _widened(low, high):
    """An interval made a little wider, for the rounding of numpy's functions (an exact 0
    stays 0); NaN: unbounded."""
    unknown = np.isnan(low) | np.isnan(high)
    low = np.where(unknown, -np.inf, low - np.abs(low) * 1e-12 - (low != 0) * 1e-300)
    high = np.where(unknown, np.inf, high + np.abs(high) * 1e-12 + (high != 0) * 1e-300)
    return low, high


def _product(a, b):
    """Interval of a product (NaN where a corner is 0 x inf: unbounded)."""
    for interval, factor in ((a, b), (b, a)):
        if np.ndim(factor[0]) == np.ndim(factor[1]) == 0 and factor[0] == factor[1] and \
                0 < abs(factor[0]) < np.inf:           # times a finite number: its corners
            low, high = interval[0] * factor[0], interval[1] * factor[0]
            return (low, high) if factor[0] > 0 else (high, low)
    corners = (a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1])
    unknown = np.isnan(corners[0]) | np.isnan(corners[1]) | np.isnan(corners[2]) | \
        np.isnan(corners[3])
    low = np.minimum(np.minimum(corners[0], corners[1]), np.minimum(corners[2], corners[3]))
    high = np.maximum(np.maximum(corners[0], corners[1]), np.maximum(corners[2], corners[3]))
    return np.where(unknown, np.nan, low), np.where(unknown, np.nan, high)


def _reciprocal(b):
    low, high = np.broadcast_arrays(*b)
    through_zero = (low <= 0) & (high >= 0)
    return np.where(through_zero, np.nan, 1.0 / high), np.where(through_zero, np.nan, 1.0 / low)


def _absolute(a):
    low, high = a
    return (np.where((low <= 0) & (high >= 0), 0.0, np.minimum(np.abs(low), np.abs(high))),
            np.maximum(np.abs(low), np.abs(high)))


def _power(a, exponent):
    """a ** exponent for a constant exponent."""
    low, high = a
    if float(exponent).is_integer():
        if exponent < 0:
            return _reciprocal(_power(a, -exponent))
        if exponent % 2 == 0:
            low, high = _absolute(a)
        return low ** exponent, high ** exponent
    if exponent > 0:
        return (np.where(low >= 0, low ** exponent, np.nan),
                np.where(low >= 0, high ** exponent, np.nan))
    return (np.where(low > 0, high ** exponent, np.nan),
            np.where(low > 0, low ** exponent, np.nan))


def _compared(op, a, b):
    """Interval of a comparison: 1 where certainly true, 0 where certainly false."""
    if isinstance(op, (ast.Gt, ast.GtE)):
        a, b = b, a
    if isinstance(op, (ast.Lt, ast.Gt)):
        true, false = a[1] < b[0], a[0] >= b[1]
    else:
        true, false = a[1] <= b[0], a[0] > b[1]
    return np.where(false, 0.0, np.where(true, 1.0, 0.0)), np.where(true, 1.0, np.where(
        false, 0.0, 1.0))


INCREASING = frozenset(["exp", "sqrt", "log", "log10", "tanh", "arctan", "sinh", "floor",
                        "ceil"])
BOUNDED = {"sin": (-1.0, 1.0), "cos": (-1.0, 1.0)}


class DistanceExpressionBound:
    """Upper bound of PyNN's string ``d_expression`` (names as PyNN's ``eval`` resolves them)
    for all distances in [d_low, d_high], by interval arithmetic on its syntax tree: numbers,
    ``d``, + - * / **, comparisons, and the monotone (or bounded) functions of INCREASING,
    BOUNDED, ``fabs`` / ``abs``. ``build`` gives None for any other
    expression: its probabilities are then evaluated for every pair."""

    def __init__(self, tree):
        self.tree = tree

    @classmethod
    def build(cls, d_expression):
        if not isinstance(d_expression, str):
            return None
        try:
            tree = ast.parse(d_expression.strip(), mode="eval").body
        except SyntaxError:
            return None
        bound = cls(tree)
        try:
            bound.upper(np.zeros(1), np.ones(1))
        except _Unsupported:
            return None
        return bound

    def upper(self, d_low, d_high):
        """Upper bounds (array) of the expression over [d_low, d_high] (arrays); numpy's
        floating-point warnings are off for the whole evaluation (``_interval`` and the
        interval functions above rely on it)."""
        with np.errstate(all="ignore"):
            high = self._interval(self.tree, (np.asarray(d_low, float),
                                              np.asarray(d_high, float)))[1]
        return np.broadcast_to(high, np.shape(d_low))

    def _interval(self, node, d):
        interval = self._rounded_interval(node, d)
        exact = isinstance(node, (ast.Constant, ast.Name, ast.UnaryOp, ast.Compare))
        return interval if exact else _widened(*interval)

    def _rounded_interval(self, node, d):
        """The interval of ``node`` from its operands' intervals, before widening."""
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return np.float64(node.value), np.float64(node.value)
        if isinstance(node, ast.Name):
            if node.id == "d":
                return d
            value = _pynn_name(node.id)
            if isinstance(value, (int, float)):
                return np.float64(value), np.float64(value)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            low, high = self._interval(node.operand, d)
            return (-high, -low) if isinstance(node.op, ast.USub) else (low, high)
        elif isinstance(node, ast.BinOp):
            a = self._interval(node.left, d)
            if isinstance(node.op, ast.Pow):
                return self._power(node, a, d)
            b = self._interval(node.right, d)
            if isinstance(node.op, ast.Add):
                return a[0] + b[0], a[1] + b[1]
            if isinstance(node.op, ast.Sub):
                return a[0] - b[1], a[1] - b[0]
            if isinstance(node.op, ast.Mult):
                return _product(a, b)
            if isinstance(node.op, ast.Div):
                return _product(a, _reciprocal(b))
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(
                node.ops[0], (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
            return _compared(node.ops[0], self._interval(node.left, d),
                             self._interval(node.comparators[0], d))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                not node.keywords:
            return self._call(node, d)
        raise _Unsupported(ast.dump(node))

    def _power(self, node, base, d):
        exponent = node.right
        if isinstance(exponent, ast.UnaryOp) and isinstance(exponent.op, ast.USub) and \
                isinstance(exponent.operand, ast.Constant):
            exponent = ast.Constant(-exponent.operand.value)
        if isinstance(exponent, ast.Constant) and isinstance(exponent.value, (int, float)):
            return _power(base, exponent.value)
        if np.ndim(base[0]) == 0 and base[0] == base[1] and base[0] > 0:   # positive number
            low, high = self._interval(node.right, d)
            return (base[0] ** low, base[0] ** high) if base[0] >= 1 else \
                (base[0] ** high, base[0] ** low)
        raise _Unsupported(ast.dump(node))

    def _call(self, node, d):
        name = node.func.id
        function = _pynn_name(name)
        args = [self._interval(arg, d) for arg in node.args]
        lazy = function is not None and function is getattr(lazyarray, name, None)
        if (function is abs or lazy and name == "fabs") and len(args) == 1:
            return _absolute(args[0])
        if lazy and len(args) == 1 and name in INCREASING:
            return getattr(np, name)(args[0][0]), getattr(np, name)(args[0][1])
        if lazy and len(args) == 1 and name in BOUNDED:
            return BOUNDED[name]
        raise _Unsupported(name)


class _Unsupported(Exception):
    """An expression DistanceExpressionBound cannot bound."""


def _pynn_name(name):
    """What ``name`` means in PyNN's ``eval`` of a d_expression (pyNN.connectors' names, then
    the builtins), or None."""
    if hasattr(connectors, name):
        return getattr(connectors, name)
    return getattr(builtins, name, None)


def _pair_keys(pre, post, n_pre, n_post):
    """Keys post * n_pre + pre of pairs (index arrays): int32 where every pair's key fits,
    else int64; sorted, the keys order the pairs by post, then pre."""
    key_type = np.int32 if n_pre * n_post <= INT32_MAX else np.int64
    keys = post.astype(key_type)
    keys *= n_pre
    keys += pre
    return keys


def _key_pieces(keys, n_pre, n_post):
    """Pieces (pre, post, {}) of about ``_piece_size`` connections of pairs given by their
    sorted ``_pair_keys``, which become the pre indices (in place); the pieces are views of
    the pre and post arrays (index arrays of the keys' type), which the stored connections
    can keep as they are."""
    post = np.empty_like(keys)
    pre = keys
    np.divmod(keys, keys.dtype.type(n_pre), out=(post, pre))
    bounds = np.searchsorted(post, np.arange(n_post + 1))
    for first, stop in _blocks(np.diff(bounds), _piece_size(pre.size)):
        yield pre[bounds[first]:bounds[stop]], post[bounds[first]:bounds[stop]], {}


def _ordered_pieces(pre, post, n_post):
    """Pieces (pre, post, {}) of about ``_piece_size`` connections (int64 index arrays) of
    pairs (pre, post) ordered by post."""
    bounds = np.concatenate([[0], np.cumsum(np.bincount(post, minlength=n_post))])
    for first, stop in _blocks(np.diff(bounds), _piece_size(pre.size)):
        rows = slice(bounds[first], bounds[stop])
        yield pre[rows].astype(np.int64), post[rows].astype(np.int64), {}


def _piece_size(total):
    """Connections per piece for a projection of ``total`` connections known in advance: an
    eighth of them (at least 65 536, at most PIECE_CONNECTIONS), so that a piece's arrays
    (about 60 bytes per connection while it is stored) add at most ~8 bytes per
    connection to the build's peak memory."""
    return int(min(PIECE_CONNECTIONS, max(1 << 16, total // 8)))


def _check_point_neurons(connector):
    if getattr(connector, "location_selector", None) is not None:
        raise NotImplementedError(
            "location_selector: pyNN.jax has point neurons only (no multicompartment models)")


class BulkConnectMixin:
    """Replaces PyNN's per-post-cell ``_standard_connect`` with a bulk one, built in pieces."""

    def _standard_connect(self, projection, connection_map_generator, distance_map=None):
        parameter_space = self._parameters_from_synapse_type(projection, distance_map)

        def columns():
            for column, source_mask in enumerate(connection_map_generator()):
                sources = _source_indices(source_mask, projection.pre.size)
                yield sources, np.full(sources.size, column)
        self._connect_pieces(projection, _merged(columns()), parameter_space)

    def _connect_with_map(self, projection, connection_map, distance_map=None):
        """PyNN's connection map evaluated a block of columns at a time: the same random
        numbers (a NumpyRNG's uniform numbers drawn column after column are one stream), the
        same connections, in the same order."""
        base = connection_map.base_value
        if isinstance(base, RandomDistribution) and not (
                isinstance(base.rng, NumpyRNG) and base.name in CHUNK_INVARIANT):
            return self._standard_connect(projection, connection_map.by_column, distance_map)
        parameter_space = self._parameters_from_synapse_type(projection, distance_map)
        n_pre, n_post = projection.pre.size, projection.post.size

        def pieces():
            for first, stop in _blocks(np.full(n_post, n_pre), BLOCK_ELEMENTS):
                block = (slice(None), slice(first, stop))
                if isinstance(base, RandomDistribution):
                    draws = np.asarray(base.next(n_pre * (stop - first)))
                    values = connection_map._apply_operations(
                        draws.reshape(stop - first, n_pre).T, block)
                else:
                    values = connection_map._partially_evaluate(block)
                post, pre = np.nonzero(np.broadcast_to(values, (n_pre, stop - first)).T)
                yield pre, post + first
        self._connect_pieces(projection, _merged(pieces()), parameter_space)

    def _draw_pairs(self, parameter_space, pre, post, names):
        """Random parameters ``names`` at (pre, post) pairs sorted by post, drawn as PyNN's
        column-by-column loop would draw them."""
        if _bulk_drawable(parameter_space, names):
            return {name: _apply_operations(parameter_space[name],
                                            parameter_space[name].base_value.next(pre.size))
                    for name in names}
        parts = {name: [] for name in names}
        for a, b in _column_bounds(post):
            for name in names:
                parts[name].append(_column_values(parameter_space[name], pre[a:b], post[a]))
        return {name: np.concatenate(values) if values else np.zeros(0)
                for name, values in parts.items()}

    def _connect_pairs(self, projection, pre, post):
        """Connect given (pre, post) index pairs, ordered by post then as PyNN yields them."""
        self._connect_pieces(projection, [(pre, post, {})],
                             self._parameters_from_synapse_type(projection))

    def _connect_pieces(self, projection, pieces, parameter_space):
        """Connect (pre, post, given) pieces: index arrays ordered by post, the pieces one
        after the other in that order and each ending with a whole postsynaptic cell;
        ``given`` maps parameter names to values already known. The other random parameters
        are drawn piece by piece, which gives the numbers of one draw for all of them."""
        _check_point_neurons(self)
        random_names = [n for n, v in parameter_space.items() if _is_random(v)]
        for pre, post, given in (part for piece in pieces for part in _parts(*piece)):
            parameters = dict(given)
            parameters.update(self._draw_pairs(parameter_space, pre, post,
                                               [n for n in random_names if n not in given]))
            for name, value in parameter_space.items():
                if name in parameters:
                    continue
                if value.is_homogeneous:
                    parameters[name] = value.evaluate(simplify=True)
                else:
                    parameters[name] = self._evaluate_pairs(value, pre, post)
            if self.safe and pre.size:
                syn = projection.synapse_type
                for parameter_name, check in getattr(syn, "parameter_checks", {}).items():
                    native = syn.translations[parameter_name]["translated_name"]
                    if native in parameters:
                        check(np.broadcast_to(parameters[native], pre.shape), projection)
            projection._bulk_connect(pre, post, parameters)
        if self.callback:
            self.callback(1.0)

    @staticmethod
    def _evaluate_pairs(lazy, pre, post):
        """Values of a non-random lazy parameter at the (pre, post) pairs, column by column."""
        out = np.empty(pre.size, dtype=float)
        for a, b in _column_bounds(post):
            out[a:b] = np.asarray(lazy[pre[a:b], post[a]], dtype=float).reshape(-1)
        return out

    def _allowed_pairs(self, projection, pre, post):
        """The pairs (pre, post) allowed by ``allow_self_connections`` (the arrays themselves
        where all are)."""
        mode = getattr(self, "allow_self_connections", True)
        if mode is True:
            return pre, post
        all_pre = np.asarray(projection.pre.all_cells, dtype=np.int64)
        all_post = np.asarray(projection.post.all_cells, dtype=np.int64)
        pre_ids, post_ids = all_pre[pre], all_post[post]
        allowed = pre_ids != post_ids
        if mode == "NoMutual":
            # b -> a is a candidate of this projection when b is a pre cell and a a post cell
            reverse_possible = (np.isin(all_post, all_pre)[post]
                                & np.isin(all_pre, all_post)[pre])
            allowed &= ~reverse_possible | (pre_ids > post_ids)
        return pre[allowed], post[allowed]


class AllToAllConnector(BulkConnectMixin, connectors.AllToAllConnector):
    __doc__ = connectors.AllToAllConnector.__doc__ + """
    pyNN.jax also accepts ``allow_self_connections='NoMutual'``: of each pair of cells only the
    connection from the cell with the higher ID to the one with the lower ID is made.
    """

    def __init__(self, allow_self_connections=True, location_selector=None, safe=True,
                 callback=None):
        if allow_self_connections == "NoMutual":
            super().__init__(True, location_selector, safe, callback)
            self.allow_self_connections = "NoMutual"
        else:
            super().__init__(allow_self_connections, location_selector, safe, callback)

    def connect(self, projection):
        n_pre, n_post = projection.pre.size, projection.post.size

        def pieces():
            for first, stop in _blocks(np.full(n_post, n_pre), PIECE_CONNECTIONS):
                pre = np.tile(np.arange(n_pre), stop - first)
                post = np.repeat(np.arange(first, stop), n_pre)
                yield self._allowed_pairs(projection, pre, post) + ({},)
        self._connect_pieces(projection, pieces(), self._parameters_from_synapse_type(projection))


class OneToOneConnector(BulkConnectMixin, connectors.OneToOneConnector):
    __doc__ = connectors.OneToOneConnector.__doc__

    def connect(self, projection):
        if projection.pre.size != projection.post.size:
            raise errors.ConnectionError(
                f"OneToOneConnector needs pre and post of equal size "
                f"(got {projection.pre.size} and {projection.post.size})")
        pieces = ((np.arange(first, stop),) * 2 + ({},)
                  for first, stop in _blocks(np.ones(projection.pre.size), PIECE_CONNECTIONS))
        self._connect_pieces(projection, pieces, self._parameters_from_synapse_type(projection))


def _rng_uniform_int_exclude(self, n, size, exclude):
    """``n`` draws from [0, size) other than ``exclude``: the draws equal to it are drawn
    again until none is left. (PyNN 0.13's version indexes its redraw list with positions in
    the whole array, and fails or leaves ``exclude`` in where a second redraw is needed.)"""
    res = self.rng.next(n, "uniform_int", {"low": 0, "high": size}, mask=None)
    idx = np.flatnonzero(res == exclude)
    while idx.size > 0:
        redrawn = self.rng.next(idx.size, "uniform_int", {"low": 0, "high": size}, mask=None)
        res[idx] = redrawn
        idx = idx[np.asarray(redrawn) == exclude]
    return res


class DrawOrderMixin(BulkConnectMixin):
    """Connection draws in bulk or in PyNN's order, chosen by ``draw_order``.

    ``draw_order="vectorised"`` (with a NumpyRNG): the connections are drawn with the
    distribution of PyNN's generic code, in bulk. ``draw_order="pynn"``: PyNN's draws, in its
    order (per cell or per connection, slow): the connections of PyNN's generic code, and of
    pyNN.nest, for the same seed. Other RNGs than NumpyRNG always draw in PyNN's order.
    ``draw_order=None`` (default): ``setup(draw_order=...)``'s, "vectorised" unless set.
    """

    def __init__(self, *args, draw_order=None, **kwargs):
        if draw_order is not None and draw_order not in DRAW_ORDERS:
            raise ValueError(f"draw_order must be one of {DRAW_ORDERS}, not {draw_order!r}")
        super().__init__(*args, **kwargs)
        self.draw_order = draw_order

    def _vectorised(self):
        draw_order = self.draw_order or simulator.state.draw_order
        return draw_order == "vectorised" and isinstance(self.rng, NumpyRNG)

    def _excluded(self, cells, others):
        """Per cell of ``cells``, the index in ``others`` it may not connect to (itself,
        where self-connections are not allowed), or -1."""
        if self.allow_self_connections is True:
            return np.full(cells.size, -1, dtype=np.int64)
        return _same_cell_index(cells, others)

    def _numbers(self, size, draw):
        """``n`` for each of ``size`` cells; ``draw=False`` leaves a random ``n``'s RNG
        as it is (draws from a copy)."""
        if not isinstance(self.n, RandomDistribution):
            return np.full(size, int(self.n), dtype=np.int64)
        distribution = self.n if draw else deepcopy(self.n)
        return np.asarray(distribution.next(size), dtype=np.int64).reshape(-1)

    def _check_distinct(self, wanted, available, what):
        """ConnectionError, before anything is built, where more distinct connections are
        asked for than exist."""
        if self.with_replacement or wanted.size == 0:
            return
        worst = int(np.argmax(wanted - available))
        if wanted[worst] > available[worst]:
            raise errors.ConnectionError(
                f"{type(self).__name__}: n = {wanted[worst]} distinct {what} without "
                f"replacement, but only {available[worst]} are available")

    def _column_pieces(self, counts, high, excluded):
        """Pieces of (sources, columns): ``counts[c]`` sources in [0, high) drawn for each
        column c (see ``_draw_sources``)."""
        for first, stop in _blocks(counts, PIECE_CONNECTIONS):
            sources = _draw_sources(self.rng, counts[first:stop], high, excluded[first:stop],
                                    distinct=not self.with_replacement)
            yield sources, np.repeat(np.arange(first, stop), counts[first:stop]), {}


class FixedProbabilityConnector(DrawOrderMixin, connectors.FixedProbabilityConnector):
    __doc__ = connectors.FixedProbabilityConnector.__doc__ + """
    pyNN.jax draws, by default, the gaps between consecutive connections (geometric, in
    (post, pre) order): the same distribution as PyNN's one uniform number per pair, at a cost
    proportional to the number of connections; ``draw_order="pynn"`` draws PyNN's numbers.
    As PyNN, the connector's ``rng`` is not advanced: it is copied for each projection.
    """

    def connect(self, projection):
        if not 0 <= self.p_connect <= 1:
            raise errors.ConnectionError(
                f"FixedProbabilityConnector: p_connect = {self.p_connect} must be between "
                f"0 and 1")
        if not self._vectorised():
            return super().connect(projection)      # PyNN's draws, one number per pair
        # PyNN takes the synapse parameters (and copies of their RNGs) before the first draw
        parameter_space = self._parameters_from_synapse_type(projection)
        # PyNN's `random_map < p_connect` draws from a copy of the connector's rng (the
        # comparison copies the lazy array and its RandomDistribution), so the rng itself never
        # advances and every projection sharing it starts from the same state: the same here
        rng = deepcopy(self.rng)
        n_pre, n_post = projection.pre.size, projection.post.size
        # expected connections per column (a floor keeps the blocks finite for p = 0)
        per_column = n_pre * max(self.p_connect, 1.0 / BLOCK_ELEMENTS)

        def pieces():
            for first, stop in _blocks(np.full(n_post, per_column), PIECE_CONNECTIONS):
                # positions -> (post, pre) in place: one array more, not two
                post = self._gaps(rng, n_pre * (stop - first))
                pre = post % n_pre
                post //= n_pre
                post += first
                yield self._allowed_pairs(projection, pre, post) + ({},)
        self._connect_pieces(projection, pieces(), parameter_space)

    def _gaps(self, rng, size):
        """Positions in [0, size) each taken with probability p_connect, from the gaps
        between them (geometric)."""
        if self.p_connect == 0 or size == 0:
            return np.zeros(0, dtype=np.int64)
        expected = size * self.p_connect
        batch = int(expected + 5 * np.sqrt(expected) + 16)
        parts, last = [], -1
        while last < size:
            ends = rng.rng.geometric(self.p_connect, batch)
            np.cumsum(ends, out=ends)
            ends += last
            last = int(ends[-1])
            parts.append(ends[:np.searchsorted(ends, size)])      # a view: ends is sorted
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


class FromListConnector(BulkConnectMixin, connectors.FromListConnector):
    __doc__ = connectors.FromListConnector.__doc__ + """
    Indices out of range raise ConnectionError. Connections are kept ordered by postsynaptic
    cell, in list order within one cell. A synapse parameter that the list does not give and
    that is a RandomDistribution is drawn, as by PyNN, from a fresh copy of its RNG for every
    postsynaptic cell.
    """

    def connect(self, projection):
        self._check_column_names(projection)
        n_columns = 2 + len(self.column_names)
        conn_list = (np.asarray(self.conn_list, dtype=float).reshape(-1, n_columns)
                     if np.size(self.conn_list) else np.zeros((0, n_columns)))
        index_type = _index_type(projection)
        self._connect_list(projection, [
            _checked_indices(conn_list[:, 0], projection.pre.size, "source", index_type),
            _checked_indices(conn_list[:, 1], projection.post.size, "target", index_type),
            conn_list[:, 2:]], owned=False)

    def _check_column_names(self, projection):
        syn = projection.synapse_type
        for name in self.column_names:
            if name not in syn.get_parameter_names():
                raise ValueError(f"{name} is not a valid parameter for "
                                 f"{syn.__class__.__name__}")

    def _connect_list(self, projection, columns, owned):
        """Connect the rows of a list given as ``columns`` [pre, post, values] (a list this
        method empties); ``owned``: the arrays are this method's own (read from a file), and
        are replaced, one at a time, by their rows ordered by post."""
        syn = projection.synapse_type
        pre, post, values = columns
        columns.clear()
        # by post, list order within a post cell
        order = None if np.all(post[1:] >= post[:-1]) else \
            stable_order(post, projection.post.size).astype(pre.dtype)
        if owned and order is not None:       # (np.take: 2-4x faster than fancy indexing)
            pre = np.take(pre, order)
            post = np.take(post, order)
            values = np.take(values, order, axis=0)
            order = None
        column_sizes = np.bincount(post, minlength=projection.post.size)
        bounds = np.concatenate([[0], np.cumsum(column_sizes)])
        parameter_space = self._parameters_from_synapse_type(projection)

        def pieces():
            for first, stop in _blocks(column_sizes, _piece_size(post.size)):
                rows = slice(bounds[first], bounds[stop])
                if order is None:
                    yield self._listed_piece(syn, parameter_space, pre[rows], post[rows],
                                             values[rows])
                else:
                    rows = order[rows]
                    yield self._listed_piece(syn, parameter_space, np.take(pre, rows),
                                             np.take(post, rows), np.take(values, rows, axis=0))
        self._connect_pieces(projection, pieces(), parameter_space)

    def _listed_piece(self, syn, parameter_space, pre, post, values):
        """(pre, post, parameters) of rows of the list: the listed parameters (translated to
        native ones) and the random ones it does not give."""
        given = {name: values[:, col] for col, name in enumerate(self.column_names)}
        if given and pre.size and isinstance(syn, StandardSynapseType):
            listed = ParameterSpace(given, schema=syn.get_schema(), shape=(pre.size,))
            listed = syn.translate(listed, copy=False)
            listed.evaluate(simplify=False)
            given = {name: np.asarray(value, dtype=float).reshape(-1)
                     for name, value in listed.items()}
        random_names = [n for n, v in parameter_space.items() if n not in given and _is_random(v)]
        given.update(self._draw_restarting(parameter_space, pre, post, random_names))
        return pre, post, given

    @staticmethod
    def _draw_restarting(parameter_space, pre, post, names):
        """Random parameters ``names``, each post cell's values drawn from a fresh copy of the
        parameters' RNGs (PyNN deep-copies the parameter space for every post cell)."""
        if not names or pre.size == 0:
            return {name: np.zeros(pre.size) for name in names}
        bounds = _column_bounds(post)
        if _bulk_drawable(parameter_space, names):
            starts = np.repeat([a for a, _ in bounds], [b - a for a, b in bounds])
            rank = np.arange(pre.size) - starts
            longest = max(b - a for a, b in bounds)
            result = {}
            for name in names:
                sequence = deepcopy(parameter_space[name].base_value).next(longest)
                result[name] = _apply_operations(parameter_space[name],
                                                 np.atleast_1d(sequence)[rank])
            return result
        template = {name: parameter_space[name] for name in names}
        parts = {name: [] for name in names}
        for a, b in bounds:
            fresh = deepcopy(template)          # one copy: parameters sharing an RNG share it
            for name in names:
                parts[name].append(_column_values(fresh[name], pre[a:b], post[a]))
        return {name: np.concatenate(values) for name, values in parts.items()}


class FromFileConnector(FromListConnector, connectors.FromFileConnector):
    __doc__ = connectors.FromFileConnector.__doc__

    def connect(self, projection):
        if self.distributed:
            self.file.rename("%s.%d" % (self.file.name, projection._simulator.state.mpi_rank))
        self.column_names = [name for name in
                             self.file.get_metadata().get("columns", ("weight", "delay"))
                             if name not in ("i", "j")]
        self._check_column_names(projection)
        index_type = _index_type(projection)
        if isinstance(self.file, files.NumpyBinaryFile):
            rows = _npz_rows(self.file, projection.pre.size, projection.post.size, index_type)
        else:
            rows = None
        if rows is None:
            conn_list = np.asarray(self.file.read(), dtype=float)
            conn_list = conn_list.reshape(-1, 2 + len(self.column_names)) if conn_list.size \
                else np.zeros((0, 2 + len(self.column_names)))
            rows = [_checked_indices(conn_list[:, 0], projection.pre.size, "source",
                                     index_type),
                    _checked_indices(conn_list[:, 1], projection.post.size, "target",
                                     index_type),
                    conn_list[:, 2:]]
            del conn_list
        self._connect_list(projection, rows, owned=True)


def _index_type(projection):
    return np.int32 if max(projection.pre.size, projection.post.size) < 2 ** 31 else np.int64


def _checked_indices(column, size, side, index_type):
    """A column of cell indices of a connection list as ``index_type``; ConnectionError
    where one is out of range [0, size)."""
    if column.size and (column.min() < 0 or column.max() >= size):
        bad = column[(column < 0) | (column >= size)][0]
        raise errors.ConnectionError(
            f"FromListConnector: {side} index {bad:g} out of range: "
            f"{side} indices must be in [0, {size - 1}]")
    return column.astype(index_type)


def _npz_rows(npz_file, n_pre, n_post, index_type, block_rows=1 << 16):
    """The 2-D array ``data`` of a NumpyBinaryFile (PyNN's .npz) as [pre, post, values]
    columns (checked indices as ``index_type``, the other columns as one float array), read
    a block of rows at a time so that the file's rows are never all in memory; None where
    ``data`` is not a C-ordered 2-D array of numbers of a format numpy 1.0 or 2.0."""
    npz = np.load(npz_file.fileobj)
    try:
        with npz.zip.open("data.npy") as member:
            version = np.lib.format.read_magic(member)
            if version not in ((1, 0), (2, 0)):
                return None
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, fortran_order, dtype = read_header(member)
            if len(shape) != 2 or fortran_order or dtype.kind not in "iuf" or shape[1] < 2:
                return None
            n_rows, n_columns = shape
            pre = np.empty(n_rows, dtype=index_type)
            post = np.empty(n_rows, dtype=index_type)
            values = np.empty((n_rows, n_columns - 2))
            for first in range(0, n_rows, block_rows):
                count = min(block_rows, n_rows - first)
                block = np.frombuffer(member.read(count * n_columns * dtype.itemsize),
                                      dtype=dtype).reshape(count, n_columns)
                rows = slice(first, first + count)
                pre[rows] = _checked_indices(block[:, 0], n_pre, "source", index_type)
                post[rows] = _checked_indices(block[:, 1], n_post, "target", index_type)
                values[rows] = block[:, 2:]
        return [pre, post, values]
    finally:
        npz.close()
        npz_file.fileobj.seek(0)


class FixedTotalNumberConnector(DrawOrderMixin, connectors.FixedTotalNumberConnector):
    __doc__ = """
    Connects ``n`` (pre, post) pairs drawn at random, each pair with equal probability: with
    replacement (default; a pair may be drawn twice) or without. ``n`` may be a
    RandomDistribution (one draw).

    By default (``draw_order="vectorised"``) the numbers of connections of the postsynaptic
    cells are drawn first (multinomial, or multivariate hypergeometric without replacement),
    then the presynaptic cells of each (uniform; distinct without replacement).
    ``draw_order="pynn"`` draws as PyNN does: a binomial draw of the number (always ``n`` on
    one process), then for each connection a presynaptic index (``uniform_int``) and a
    postsynaptic index (``choice``) from ``rng``, one connection at a time (slow).

    pyNN.jax honours, unlike PyNN's generic code, ``allow_self_connections`` (False or
    'NoMutual': no self-connections) and ``with_replacement=False`` (no pair twice); in
    PyNN's order a drawn pair that is not allowed is drawn again. Asking for more distinct
    pairs than exist raises ConnectionError.
    """

    def connect(self, projection):
        n_pre = projection.pre.size
        n = self.n if isinstance(self.n, (int, np.integer)) else int(self.n.next())
        excluded = self._excluded(projection.post, projection.pre)
        available = n_pre - (excluded >= 0)
        n_allowed = int(available.sum())
        if n > 0 and n_allowed == 0:
            raise errors.ConnectionError(
                f"FixedTotalNumberConnector: n = {n}, but no (pre, post) pair is allowed")
        if not self.with_replacement and n > n_allowed:
            raise errors.ConnectionError(
                f"FixedTotalNumberConnector: n = {n} connections without replacement, "
                f"but only {n_allowed} distinct (pre, post) pairs are available")
        if not self._vectorised():
            return self._connect_in_pynn_order(projection, n)
        counts = _split_total(self.rng.rng, n, available, distinct=not self.with_replacement)
        self._connect_pieces(projection, self._column_pieces(counts, n_pre, excluded),
                             self._parameters_from_synapse_type(projection))

    def _connect_in_pynn_order(self, projection, n):
        """PyNN's draws, one connection at a time."""
        n_pre, n_post = projection.pre.size, projection.post.size
        binomial = RandomDistribution("binomial", [int(n), 1.0], rng=self.rng)
        total = int(binomial.next())
        pre_ids = np.asarray(projection.pre.all_cells, dtype=np.int64)
        post_ids = np.asarray(projection.post.all_cells, dtype=np.int64)
        forbid_self = self.allow_self_connections is not True
        possible_targets = np.arange(n_post)
        seen = set()
        connections = [[] for _ in range(n_post)]
        for _ in range(total):
            while True:
                source = int(self.rng.next(1, "uniform_int", {"low": 0, "high": n_pre},
                                           mask=None)[0])
                target = int(self.rng.choice(possible_targets, size=1)[0])
                if forbid_self and pre_ids[source] == post_ids[target]:
                    continue
                if not self.with_replacement:
                    if (source, target) in seen:
                        continue
                    seen.add((source, target))
                break
            connections[target].append(source)

        def build_source_masks(mask=None):
            return [np.array(x, dtype=int) for x in connections]
        self._standard_connect(projection, build_source_masks)


class FixedNumberPreConnector(DrawOrderMixin, connectors.FixedNumberPreConnector):
    __doc__ = connectors.FixedNumberPreConnector.__doc__ + """
    In pyNN.jax, without replacement, ``n`` greater than the number of presynaptic cells
    (without the cell itself where self-connections are not allowed) raises ConnectionError.
    By default (``draw_order="vectorised"``) the presynaptic cells of all postsynaptic cells
    are drawn at once, with replacement as PyNN draws them (the same cells where PyNN's code
    draws no self-connection again), without replacement as a uniformly drawn set per cell
    (not PyNN's permutations); a self-connection, where not allowed, is drawn again.
    ``draw_order="pynn"`` draws in PyNN's order.
    """

    def connect(self, projection):
        excluded = self._excluded(projection.post, projection.pre)
        counts = self._numbers(projection.post.size, draw=self._vectorised())
        self._check_distinct(counts, projection.pre.size - (excluded >= 0),
                             "presynaptic cells per postsynaptic cell")
        if not self._vectorised():
            return super().connect(projection)
        self._connect_pieces(projection,
                             self._column_pieces(counts, projection.pre.size, excluded),
                             self._parameters_from_synapse_type(projection))

    _rng_uniform_int_exclude = _rng_uniform_int_exclude


class FixedNumberPostConnector(DrawOrderMixin, connectors.FixedNumberPostConnector):
    __doc__ = connectors.FixedNumberPostConnector.__doc__ + """
    In pyNN.jax, without replacement, ``n`` greater than the number of postsynaptic cells
    (without the cell itself where self-connections are not allowed) raises ConnectionError.
    By default (``draw_order="vectorised"``) the targets of all presynaptic cells are drawn at
    once, with replacement as PyNN draws them (the same cells where PyNN's code draws no
    self-connection again), without replacement as a uniformly drawn set per cell (not PyNN's
    permutations). ``draw_order="pynn"`` draws in PyNN's order.
    """

    def connect(self, projection):
        n_pre, n_post = projection.pre.size, projection.post.size
        excluded = self._excluded(projection.pre, projection.post)
        counts = self._numbers(n_pre, draw=self._vectorised())
        self._check_distinct(counts, n_post - (excluded >= 0),
                             "postsynaptic cells per presynaptic cell")
        if not self._vectorised():
            return super().connect(projection)
        drawn = [(np.zeros(0, dtype=np.int64),) * 2] + \
            [piece[:2] for piece in self._column_pieces(counts, n_post, excluded)]
        targets = np.concatenate([piece_targets for piece_targets, _ in drawn])
        sources = np.concatenate([piece_sources for _, piece_sources in drawn])
        del drawn
        order = stable_order(targets, n_post)      # by post, then as PyNN: by pre
        pre, post = sources[order], targets[order]
        del targets, sources, order
        bounds = np.concatenate([[0], np.cumsum(np.bincount(post, minlength=n_post))])
        pieces = ((pre[bounds[a]:bounds[b]], post[bounds[a]:bounds[b]], {})
                  for a, b in _blocks(np.diff(bounds), PIECE_CONNECTIONS))
        self._connect_pieces(projection, pieces, self._parameters_from_synapse_type(projection))

    _rng_uniform_int_exclude = _rng_uniform_int_exclude


class SmallWorldConnector(BulkConnectMixin, connectors.SmallWorldConnector):
    """Watts-Strogatz small-world connectivity.

    Every pair closer than ``degree`` (in the projection's Space) is connected (or, with
    ``n_connections``, each presynaptic cell's ``n_connections`` nearest targets, ties by
    index); then each connection is rewired, with probability ``rewiring``, to a postsynaptic
    cell drawn uniformly; where self-connections are not allowed the presynaptic cell itself
    is left out of that draw, so every presynaptic cell keeps its number of connections. A
    rewired connection may duplicate another one. With 'NoMutual', the pairs a -> b with
    ID(a) < ID(b) whose reverse is possible are then dropped.
    """

    def connect(self, projection):
        n_pre, n_post = projection.pre.size, projection.post.size
        # Space.distances takes (n, 3) coordinates and returns the flattened matrix
        distances = projection.space.distances(projection.pre.positions.T,
                                               projection.post.positions.T).reshape(n_pre, n_post)
        degree = float(self.d_expression.split("<")[1])
        pre_ids = np.asarray(projection.pre.all_cells, dtype=np.int64)
        post_ids = np.asarray(projection.post.all_cells, dtype=np.int64)
        self_pair = pre_ids[:, None] == post_ids[None, :]
        forbid_self = self.allow_self_connections is not True
        if forbid_self:
            distances = np.where(self_pair, np.inf, distances)
        if self.n_connections is not None:
            nearest = np.argsort(distances, axis=1, kind="stable")[:, :self.n_connections]
            pre = np.repeat(np.arange(n_pre), nearest.shape[1])
            post = nearest.reshape(-1)
        else:
            pre, post = np.nonzero(distances < degree)
        rewire = np.asarray(self.rng.next(pre.size, "uniform", {"low": 0.0, "high": 1.0})) \
            < self.rewiring
        u = np.asarray(self.rng.next(int(rewire.sum()), "uniform", {"low": 0.0, "high": 1.0}))
        # position of each rewired connection's presynaptic cell among the post cells, or -1
        self_position = np.full(u.size, -1)
        if forbid_self:
            has_self = self_pair[pre[rewire]]
            self_position = np.where(has_self.any(axis=1), has_self.argmax(axis=1), -1)
        choices = np.where(self_position >= 0, n_post - 1, n_post)
        new_post = np.minimum((u * choices).astype(int), choices - 1)
        new_post += (self_position >= 0) & (new_post >= self_position)
        post = post.copy()
        post[rewire] = new_post
        pre, post = self._allowed_pairs(projection, pre, post)
        order = np.lexsort((pre, post))
        self._connect_pairs(projection, pre[order], post[order])


class CSAConnector(BulkConnectMixin, connectors.CSAConnector):
    __doc__ = connectors.CSAConnector.__doc__

    def connect(self, projection):
        import csa
        c = csa.cross((0, projection.pre.size - 1), (0, projection.post.size - 1)) * self.cset
        if csa.arity(self.cset) == 2:
            rows = np.array([(i, j, w, d) for (i, j, w, d) in c], dtype=float).reshape(-1, 4)
            order = np.lexsort((rows[:, 0], rows[:, 1]))
            rows = rows[order]
            parameter_space = self._parameters_from_synapse_type(projection)
            self._connect_pieces(projection, [(rows[:, 0].astype(int), rows[:, 1].astype(int),
                                               {"weight": rows[:, 2], "delay": rows[:, 3]})],
                                 parameter_space)
        elif csa.arity(self.cset) == 0:
            pairs = np.array([addr for addr in c], dtype=int).reshape(-1, 2)
            order = np.lexsort((pairs[:, 0], pairs[:, 1]))
            self._connect_pairs(projection, pairs[order, 0], pairs[order, 1])
        else:
            raise NotImplementedError("CSA connection sets of arity other than 0 or 2")


def _bulk(pynn_class, **attributes):
    return type(pynn_class.__name__, (BulkConnectMixin, pynn_class),
                {"__doc__": pynn_class.__doc__, "__module__": __name__, **attributes})


def _spatial_tree(positions):
    """A tree of boxes over cells at ``positions`` (n, axes): the cells are ordered along a
    Z-order curve over a grid of 2**bits bins per axis (about LEAF_CELLS cells per bin);
    level 0 holds the non-empty bins, each level above merges the boxes of the one below
    that share a bin of twice the edge (on the axes that still have bits), up to one root.
    Returns (cells in that order, levels): levels[k] = (starts, low, high, children): first
    cell of each box and the end, lowest and highest coordinates of its cells (n_boxes, axes),
    first child box (in level k - 1) of each box and the end (None at level 0)."""
    n, n_axes = positions.shape
    low, high = positions.min(axis=0), positions.max(axis=0)
    extent = high - low
    spread = extent > 0
    bits = np.zeros(n_axes, dtype=np.int64)
    if spread.any():
        edge = (np.prod(extent[spread]) * LEAF_CELLS / n) ** (1.0 / spread.sum())
        bits[spread] = np.ceil(np.log2(np.maximum(extent[spread] / edge, 1.0)))
        bits = np.minimum(bits, 62 // n_axes)
    bins = [np.minimum(((positions[:, axis] - low[axis]) * (2.0 ** bits[axis] / extent[axis])
                        ).astype(np.int64), 2 ** bits[axis] - 1) if bits[axis] else None
            for axis in range(n_axes)]
    keys = np.zeros(n, dtype=np.int64)
    for bit in range(int(bits.max(initial=0)) - 1, -1, -1):
        for axis in np.flatnonzero(bits > bit):
            keys = (keys << 1) | ((bins[axis] >> bit) & 1)
    cells = stable_order(keys)
    keys = keys[cells]
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    ordered = positions[cells]
    levels = [(np.append(starts, n), np.minimum.reduceat(ordered, starts, axis=0),
               np.maximum.reduceat(ordered, starts, axis=0), None)]
    box_keys = keys[starts]
    for bit in range(int(bits.max(initial=0))):
        box_keys = box_keys >> int((bits > bit).sum())
        first = np.flatnonzero(np.concatenate([[True], box_keys[1:] != box_keys[:-1]]))
        box_starts, box_low, box_high, _ = levels[-1]
        levels.append((np.append(box_starts[first], n),
                       np.minimum.reduceat(box_low, first, axis=0),
                       np.maximum.reduceat(box_high, first, axis=0),
                       np.append(first, box_keys.size)))
        box_keys = box_keys[first]
    return cells, levels


def _squared_distance_bounds(post_low, post_high, pre_low, pre_high, periods):
    """Lowest and highest square of the distance (post - pre, periodic where ``periods``
    gives a period) between any cell of a post box and any cell of a pre box; boxes as their
    lowest and highest coordinates, (..., axes) arrays broadcast against each other."""
    low = high = 0.0
    for axis, period in enumerate(periods):
        smallest = post_low[..., axis] - pre_high[..., axis]
        largest = post_high[..., axis] - pre_low[..., axis]
        near = np.maximum(np.maximum(smallest, -largest), 0.0)
        far = np.maximum(np.abs(smallest), np.abs(largest))
        if period is not None:        # PyNN's min(|x|, period - |x|) for |x| in [near, far]
            at_near, at_far = np.minimum(near, period - near), np.minimum(far, period - far)
            half_inside = (near <= period / 2) & (far >= period / 2)
            lowest = np.minimum(at_near, at_far)            # (concave: at an end)
            highest = np.where(half_inside, period / 2, np.maximum(at_near, at_far))
            near = np.where((lowest <= 0) & (highest >= 0), 0.0,
                            np.minimum(np.abs(lowest), np.abs(highest)))
            far = np.maximum(np.abs(lowest), np.abs(highest))
        low = low + near * near
        high = high + far * far
    return np.broadcast_to(low, np.shape(post_low[..., 0] - pre_low[..., 0])), \
        np.broadcast_to(high, np.shape(post_low[..., 0] - pre_low[..., 0]))


def _box_pairs(post_levels, pre_levels, box_bounds):
    """Pairs of boxes of two ``_spatial_tree`` levels lists that cover every pair of cells
    once, found from all pairs of the level with at most TOP_BOX_PAIRS of them down, level
    by level: a pair of boxes whose expected candidates (cell pairs x bound) exceed
    SPLIT_CANDIDATES per pair of their children is replaced by the pairs of their children
    (far pairs of large boxes are thus sampled at once, near ones from small boxes). Yields
    (post first cell, post end, pre first cell, pre end, bound) arrays, MAX_BOX_PAIRS pairs
    bounded at a time (pairs of bound 0 left out)."""
    depth = max(len(post_levels), len(pre_levels))
    # the shallower tree's root stands for itself on the levels above it
    trees = [levels + [(levels[-1][0], levels[-1][1], levels[-1][2], np.array([0, 1]))]
             * (depth - len(levels)) for levels in (post_levels, pre_levels)]
    post_counts, pre_counts = ([starts.size - 1 for starts, _, _, _ in tree] for tree in trees)
    top = depth - 1     # the lowest level with at most TOP_BOX_PAIRS pairs of boxes
    while top and post_counts[top - 1] * pre_counts[top - 1] <= TOP_BOX_PAIRS:
        top -= 1
    post_boxes, pre_boxes = np.divmod(np.arange(post_counts[top] * pre_counts[top]),
                                      pre_counts[top])
    for level in range(top, -1, -1):
        (post_starts, post_low, post_high, post_children), \
            (pre_starts, pre_low, pre_high, pre_children) = trees[0][level], trees[1][level]
        next_post, next_pre = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
        for first in range(0, post_boxes.size, MAX_BOX_PAIRS):
            post_box = post_boxes[first:first + MAX_BOX_PAIRS]
            pre_box = pre_boxes[first:first + MAX_BOX_PAIRS]
            bounds = box_bounds(post_low[post_box], post_high[post_box], pre_low[pre_box],
                                pre_high[pre_box])
            post_first, pre_first = post_starts[post_box], pre_starts[pre_box]
            post_end, pre_end = post_starts[post_box + 1], pre_starts[pre_box + 1]
            split = np.zeros(bounds.size, dtype=bool)
            if level:
                post_kids = post_children[post_box + 1] - post_children[post_box]
                pre_kids = pre_children[pre_box + 1] - pre_children[pre_box]
                split = ((post_end - post_first) * (pre_end - pre_first) * bounds
                         > SPLIT_CANDIDATES * (post_kids * pre_kids))
                kids = (post_kids * pre_kids)[split]
                owner = np.repeat(np.arange(kids.size), kids)
                rank = np.arange(owner.size) - np.repeat(np.cumsum(kids) - kids, kids)
                post_rank, pre_rank = np.divmod(rank, pre_kids[split][owner])
                next_post.append(post_children[post_box[split]][owner] + post_rank)
                next_pre.append(pre_children[pre_box[split]][owner] + pre_rank)
            kept = ~split & (bounds > 0)
            yield (post_first[kept], post_end[kept], pre_first[kept], pre_end[kept],
                   bounds[kept])
        post_boxes, pre_boxes = np.concatenate(next_post), np.concatenate(next_pre)


def _sampled_box_pairs(random_state, pre_positions, post_positions, box_bounds, probability):
    """Pairs of cells at ``pre_positions`` and ``post_positions`` ((n, axes) arrays), each
    pair connected independently with ``probability(pre, post)`` (index arrays). The pairs
    of cells are covered by pairs of boxes of two spatial trees (``_box_pairs``), sampled
    under ``box_bounds(post_low, post_high, pre_low, pre_high)`` (lowest and highest
    coordinates of boxes, (..., axes) arrays broadcast against each other; bounds as
    ``_as_bounds`` gives them, >= the probability of every pair of the boxes), then kept
    with probability p / bound. Yields (pre, post) index arrays, unordered, about
    ``_chunk_candidates`` pairs sampled at a time."""
    pre_cells, pre_levels = _spatial_tree(pre_positions)
    post_cells, post_levels = (pre_cells, pre_levels) if np.array_equal(
        pre_positions, post_positions) else _spatial_tree(post_positions)
    pending, expected, sampled = [], 0.0, 0.0
    for box_pairs in _box_pairs(post_levels, pre_levels, box_bounds):
        pending.append(box_pairs)
        expected += float(((box_pairs[1] - box_pairs[0]) * (box_pairs[3] - box_pairs[2])
                           * box_pairs[4]).sum())
        chunk = _chunk_candidates(sampled)
        if expected < chunk:
            continue
        yield from _sampled_pairs(random_state, pending, pre_cells, post_cells, probability,
                                  chunk)
        pending, sampled, expected = [], sampled + expected, 0.0
    yield from _sampled_pairs(random_state, pending, pre_cells, post_cells, probability,
                              _chunk_candidates(sampled))


def _chunk_candidates(sampled):
    """Pairs to sample at once after ``sampled`` pairs (expected): a sixteenth of them, at
    least MIN_CHUNK_CANDIDATES, at most CHUNK_CANDIDATES (the temporaries of a chunk,
    ~150 bytes per pair, stay small beside the connections of small projections)."""
    return int(min(max(sampled / 16, MIN_CHUNK_CANDIDATES), CHUNK_CANDIDATES))


def _sampled_pairs(random_state, box_pairs, pre_cells, post_cells, probability, chunk):
    """The pairs of cells of ``box_pairs`` (as ``_box_pairs`` yields them) sampled under
    their bounds raised to the next of TIERS_PER_OCTAVE tiers per factor 2 (the pairs of
    boxes of one tier are sampled as one run, ``_run_positions``), and kept with probability
    p / bound: (pre, post) index arrays, about ``chunk`` pairs sampled at a time."""
    if not box_pairs:
        return
    post_first, post_end, pre_first, pre_end, bounds = (
        np.concatenate(parts) for parts in zip(*box_pairs))
    pre_sizes = pre_end - pre_first
    sizes = (post_end - post_first) * pre_sizes
    tier_bounds = np.exp2(-np.arange(TIERS) / TIERS_PER_OCTAVE)
    tiers = np.minimum(np.floor(-np.log2(bounds) * TIERS_PER_OCTAVE).astype(np.int64),
                       TIERS - 1)
    tiers -= tier_bounds[tiers] < bounds                  # rounding of log2 and exp2
    bounds = tier_bounds[tiers]
    for a, b in _blocks(sizes * bounds, chunk):
        segment, position = _run_positions(random_state, sizes[a:b], tier_bounds, tiers[a:b])
        segment += a
        post_rank, pre_rank = np.divmod(position, pre_sizes[segment])
        post = post_cells[post_first[segment] + post_rank]
        pre = pre_cells[pre_first[segment] + pre_rank]
        kept = random_state.random_sample(pre.size) * bounds[segment] < probability(pre, post)
        yield pre[kept], post[kept]


class ProbabilityMapMixin(DrawOrderMixin):
    """Connectors with a connection probability per pair (independent pairs).

    ``draw_order="pynn"``: PyNN's uniform number per pair (from a copy of ``rng``, drawn
    column after column) compared with the probability, evaluated a block of columns at a
    time: the same connections as PyNN's code. ``draw_order="vectorised"`` (default): the
    same distribution, drawn from the same copy of ``rng`` with a cost proportional to the
    connections: the probabilities of a block are evaluated, then the pairs are sampled
    under the largest probability of each tile of pairs and kept with probability
    p / largest (``_sample_map``); DistanceDependentProbability with an expression that can be
    bounded over intervals of distance evaluates it only at the sampled pairs.
    """

    def _connect_by_probability(self, projection, probability, distance_map=None):
        """``probability(first, stop)``: the probabilities of the pairs of the columns
        [first, stop), an array (stop - first, n_pre): post cells along the first axis."""
        if not isinstance(self.rng, NumpyRNG):
            return super().connect(projection)
        parameter_space = self._parameters_from_synapse_type(projection, distance_map)
        rng = deepcopy(self.rng)         # as PyNN's `random_map < probability_map`
        n_pre, n_post = projection.pre.size, projection.post.size
        vectorised = self._vectorised()

        index_type = _index_type(projection)
        found = [(np.zeros(0, dtype=index_type),) * 2]
        for first, stop in _blocks(np.full(n_post, n_pre), CACHE_ELEMENTS):
            if vectorised:
                post, pre = _sample_map(rng.rng, np.broadcast_to(
                    probability(first, stop), (stop - first, n_pre)))
            else:
                draws = np.asarray(rng.next(n_pre * (stop - first), "uniform",
                                            {"low": 0.0, "high": 1.0}))
                post, pre = np.nonzero(draws.reshape(stop - first, n_pre)
                                       < probability(first, stop))
            post += first
            pre, post = self._allowed_pairs(projection, pre, post)
            found.append((pre.astype(index_type), post.astype(index_type)))
        pre = np.concatenate([pre for pre, _ in found])
        post = np.concatenate([post for _, post in found])
        del found
        self._connect_pieces(projection, _ordered_pieces(pre, post, n_post), parameter_space)

    def _connect_sampled_boxes(self, projection, pre_positions, post_positions, box_bounds,
                               probability, distance_map=None):
        """Each pair connected with ``probability(pre, post)`` (index arrays), sampled pair
        of spatial boxes by pair of boxes (``_sampled_box_pairs``) from a copy of ``rng``;
        the connections are then sorted by post, then pre (as keys: 4 or 8 bytes each)."""
        parameter_space = self._parameters_from_synapse_type(projection, distance_map)
        n_pre, n_post = projection.pre.size, projection.post.size
        found = [_pair_keys(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), n_pre,
                            n_post)]
        for pre, post in _sampled_box_pairs(deepcopy(self.rng.rng), pre_positions,
                                            post_positions, box_bounds, probability):
            found.append(_pair_keys(*self._allowed_pairs(projection, pre, post), n_pre, n_post))
        keys = np.concatenate(found)
        del found
        keys.sort()
        self._connect_pieces(projection, _key_pieces(keys, n_pre, n_post), parameter_space)


class DistanceDependentProbabilityConnector(ProbabilityMapMixin,
                                            connectors.DistanceDependentProbabilityConnector):
    __doc__ = connectors.DistanceDependentProbabilityConnector.__doc__ + """
    pyNN.jax (default ``draw_order="vectorised"``): where ``d_expression`` is a string that
    DistanceExpressionBound can bound (numbers, d, + - * / **, comparisons, exp, sqrt, log,
    abs, ...), the cells are grouped into spatial boxes, pairs of boxes are sampled under
    the expression's upper bound over their range of distances, and the expression is
    evaluated only at the sampled pairs (kept with probability p / bound): each pair is
    connected with probability p(d), at a cost proportional to the connections. Otherwise
    the expression is evaluated for every pair. ``draw_order="pynn"``: PyNN's connections.
    """

    def connect(self, projection):
        space = projection.space
        pre_positions = projection.pre.positions.T
        post_positions = space.scale_factor * (projection.post.positions.T + space.offset)
        # an axis on which every cell sits at one coordinate adds exactly 0 to every distance
        axes = [axis for axis in space.axes
                if np.ptp(np.concatenate([pre_positions[:, axis], post_positions[:, axis]]))]
        periods = [None if space.periodic_boundaries is None
                   or space.periodic_boundaries[axis] is None
                   else space.periodic_boundaries[axis][1] - space.periodic_boundaries[axis][0]
                   for axis in axes]

        def distances(pre, post):
            """PyNN's Space.distances (the same operations, in the same order) of the pairs
            (pre, post): index arrays of equal shapes, or broadcasting ones."""
            squares = 0.0
            for axis, period in zip(axes, periods):
                # post - pre: the same squares as PyNN's pre - post
                difference = post_positions[post, axis] - pre_positions[pre, axis]
                if period is not None:
                    difference = np.minimum(np.abs(difference), period - np.abs(difference))
                squares = squares + np.square(difference)
            return np.sqrt(np.broadcast_to(squares, np.broadcast_shapes(
                np.shape(pre), np.shape(post))))

        bound = DistanceExpressionBound.build(self.d_expression)
        distance_map = self._generate_distance_map(projection)
        n_pre, n_post = projection.pre.size, projection.post.size
        if bound is None or not self._vectorised() or n_pre == 0 or n_post == 0:
            pre_indices = np.arange(n_pre)[None, :]
            return self._connect_by_probability(
                projection, lambda first, stop: self.distance_function(
                    distances(pre_indices, np.arange(first, stop)[:, None])), distance_map)

        def box_bounds(*boxes):
            low, high = _squared_distance_bounds(*boxes, periods)
            return _as_bounds(bound.upper(np.sqrt(low) * (1 - 1e-12),
                                          np.sqrt(high) * (1 + 1e-12)))
        self._connect_sampled_boxes(
            projection, pre_positions[:, axes], post_positions[:, axes], box_bounds,
            lambda pre, post: self.distance_function(distances(pre, post)), distance_map)


class IndexBasedProbabilityConnector(ProbabilityMapMixin,
                                     connectors.IndexBasedProbabilityConnector):
    __doc__ = connectors.IndexBasedProbabilityConnector.__doc__ + """
    pyNN.jax calls ``index_expression(i, j)`` with 2-D arrays of indices (a block of columns:
    post cells j along the first axis, pre cells i along the second), where PyNN calls it for
    one column at a time.
    """

    def connect(self, projection):
        index_expression = copy(self.index_expression)
        index_expression.projection = projection
        pre_indices = np.arange(projection.pre.size)[None, :]

        def probability(first, stop):
            i, j = np.broadcast_arrays(pre_indices, np.arange(first, stop)[:, None])
            return np.broadcast_to(index_expression(i, j), i.shape)
        self._connect_by_probability(projection, probability)


class DisplacementDependentProbabilityConnector(
        ProbabilityMapMixin, connectors.DisplacementDependentProbabilityConnector):
    __doc__ = connectors.DisplacementDependentProbabilityConnector.__doc__ + """
    pyNN.jax (default ``draw_order="vectorised"``): where the cells' displacements (post -
    pre) take few distinct values (grids: at most MAX_DISPLACEMENTS vectors), ``disp_function``
    is called once, with all of them (an array (3, n)), and the pairs are sampled box pair by
    box pair under the largest probability of the displacements the boxes can have, then
    kept with probability p / largest: a cost proportional to the connections. Otherwise
    ``disp_function`` is called for every pair (a block of columns at a time, an array
    (3, n_columns, n_pre)). Either way ``disp_function`` must map each displacement to its
    probability on its own (elementwise), as PyNN's contract says.
    """

    def connect(self, projection):
        pre_positions = projection.pre.positions
        post_positions = projection.post.positions
        disp_function = self.index_expression._disp_function
        table = _displacement_table(pre_positions, post_positions, disp_function) \
            if self._vectorised() and projection.pre.size and projection.post.size else None
        if table is None:
            def probability(first, stop):
                """``disp_function`` of the (3, n_columns, n_pre) displacements post - pre."""
                displacement = post_positions[:, first:stop, None] - pre_positions[:, None, :]
                return np.broadcast_to(disp_function(displacement),
                                       (stop - first, pre_positions.shape[1]))
            return self._connect_by_probability(projection, probability)
        self._connect_sampled_boxes(projection, pre_positions.T, post_positions.T,
                                    table.box_bounds, table.probability)


class _DisplacementTable:
    """The probabilities of all distinct displacements post - pre of two sets of cells, by
    axis the distinct coordinates of the cells and the distinct differences of them (the same
    floating-point subtraction as for a pair)."""

    def __init__(self, axes, probabilities):
        self.axes = axes     # per axis: pre code, post code, differences, code of (post, pre)
        self.probabilities = probabilities                  # (m_x, m_y, m_z)
        self.block_largest = probabilities
        for axis in range(3):       # largest of blocks of DISPLACEMENT_BLOCK per axis
            with np.errstate(invalid="ignore"):
                self.block_largest = np.fmax.reduceat(
                    self.block_largest, np.arange(0, probabilities.shape[axis],
                                                  DISPLACEMENT_BLOCK), axis=axis)

    def probability(self, pre, post):
        codes = [differences_code[post_code[post], pre_code[pre]]
                 for pre_code, post_code, _, differences_code in self.axes]
        return self.probabilities[tuple(codes)]

    def box_bounds(self, post_low, post_high, pre_low, pre_high):
        """Largest probability over the blocks of displacements that cover the range of
        displacements of pairs of boxes (lowest and highest coordinates, (..., 3) arrays
        broadcast against each other)."""
        first_blocks, last_blocks = [], []
        for axis, (_, _, differences, _) in enumerate(self.axes):
            low = post_low[..., axis] - pre_high[..., axis]
            high = post_high[..., axis] - pre_low[..., axis]
            first_blocks.append(np.searchsorted(differences, low) // DISPLACEMENT_BLOCK)
            last_blocks.append((np.searchsorted(differences, high, side="right") - 1)
                               // DISPLACEMENT_BLOCK)
        largest = np.full(first_blocks[0].shape, -np.inf)
        spans = [int((last - first).max(initial=0)) + 1
                 for first, last in zip(first_blocks, last_blocks)]
        for offsets in np.ndindex(*spans):
            block = tuple(np.minimum(first + offset, last) for first, last, offset
                          in zip(first_blocks, last_blocks, offsets))
            largest = np.fmax(largest, self.block_largest[block])
        return _as_bounds(largest)


def _displacement_table(pre_positions, post_positions, disp_function):
    """A _DisplacementTable of the cells' positions (3, n), or None where they have more than
    MAX_DISPLACEMENTS distinct displacements."""
    axes, values = [], []
    for axis in range(3):
        pre_values, pre_code = np.unique(pre_positions[axis], return_inverse=True)
        post_values, post_code = np.unique(post_positions[axis], return_inverse=True)
        if pre_values.size * post_values.size > MAX_DISPLACEMENTS:
            return None
        differences, differences_code = np.unique(np.subtract.outer(post_values, pre_values),
                                                  return_inverse=True)
        axes.append((pre_code.reshape(-1), post_code.reshape(-1), differences,
                     differences_code.reshape(post_values.size, pre_values.size)))
        values.append(differences)
    shape = tuple(v.size for v in values)
    if np.prod(shape, dtype=float) > MAX_DISPLACEMENTS:
        return None
    displacements = np.stack([grid.reshape(-1) for grid in np.meshgrid(*values,
                                                                           indexing="ij")])
    probabilities = np.broadcast_to(np.asarray(disp_function(displacements), dtype=float),
                                    (displacements.shape[1],)).reshape(shape)
    return _DisplacementTable(axes, probabilities)


CloneConnector = _bulk(connectors.CloneConnector)
ArrayConnector = _bulk(connectors.ArrayConnector)

__all__ = [
    "AllToAllConnector", "OneToOneConnector", "FixedProbabilityConnector",
    "DistanceDependentProbabilityConnector", "IndexBasedProbabilityConnector",
    "DisplacementDependentProbabilityConnector", "FromListConnector", "FromFileConnector",
    "FixedNumberPreConnector", "FixedNumberPostConnector", "FixedTotalNumberConnector",
    "SmallWorldConnector", "CSAConnector", "CloneConnector", "ArrayConnector",
]
