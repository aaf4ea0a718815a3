"""PyNN's connectors with a bulk path: every projection is built with one call of
``Projection._bulk_connect(pre, post, parameters)`` instead of one call per post cell.

What is guaranteed
------------------
Same connections, in the same order, with the same parameter values as PyNN's generic code
(``pyNN.connectors`` as used by pyNN.mock, and by pyNN.nest / pyNN.neuron for the connectors
they do not replace) for the same RNG seeds, for AllToAll, OneToOne, FixedProbability,
DistanceDependentProbability, IndexBasedProbability, DisplacementDependentProbability,
FixedNumberPre, FixedNumberPost, FixedTotalNumber (with its defaults), Clone, Array and
FromList / FromFile. Connections are stored ordered by postsynaptic cell, and within one
postsynaptic cell in the order PyNN's code yields its presynaptic cells.

To get there, random numbers are drawn exactly where PyNN draws them:

* connection draws use the connector's ``rng`` itself, column by column (post cell by post
  cell); FixedProbability draws them in blocks of columns, which gives the same numbers;
* synapse parameters drawn from a RandomDistribution use a *copy* of its RNG, taken where PyNN
  takes it (``synapse_type.native_parameters`` deep-copies the parameter space: before the
  connection draws for the map-based connectors and FixedNumberPre, after them for
  FixedNumberPost and FixedTotalNumber), so the user's RNG object is never advanced by them;
  the values are drawn column by column, within a column parameter by parameter in the synapse
  type's order (this matters where two parameters share one RNG). One draw for all the
  connections of a projection is used instead where it gives the same numbers (distinct RNGs,
  NumpyRNG, a distribution that is drawn element by element: not ``normal_clipped``);
* FromList / FromFile, like PyNN, draw a random parameter that the list does not give from a
  fresh copy of its RNG for every postsynaptic cell: the cells' values are the same sequence.

AllToAll, OneToOne and FixedProbability are fully vectorised; the other map-based connectors
loop over post cells in numpy, never per connection.

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
* FixedNumberPre / FixedNumberPost with replacement and without self-connections redraw a
  self-connection until it is none (PyNN 0.13 fails, or keeps it, where a draw must be redone
  twice); the draws are PyNN's wherever PyNN's code works.
* FixedTotalNumber honours ``allow_self_connections=False`` and ``with_replacement=False``,
  which PyNN ignores: a drawn pair that is a self-connection, or (without replacement) repeats
  an earlier pair, is drawn again. Up to the first such redraw the draws are PyNN's.
* SmallWorld and CSA have no generic PyNN implementation (PyNN's SmallWorld raises
  NotImplementedError); see their docstrings.
"""
from copy import deepcopy

import numpy as np
from pyNN.parameters import LazyArray, ParameterSpace

from pyNN import connectors, errors
from pyNN.random import NumpyRNG, RandomDistribution
from pyNN.standardmodels import StandardSynapseType

BLOCK_ELEMENTS = 4_000_000     # pre x post block evaluated at once

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


def _check_point_neurons(connector):
    if getattr(connector, "location_selector", None) is not None:
        raise NotImplementedError(
            "location_selector: pyNN.jax has point neurons only (no multicompartment models)")


class BulkConnectMixin:
    """Replaces PyNN's per-post-cell ``_standard_connect`` with a bulk one."""

    def _standard_connect(self, projection, connection_map_generator, distance_map=None):
        parameter_space = self._parameters_from_synapse_type(projection, distance_map)
        random_names = [n for n, v in parameter_space.items() if _is_random(v)]
        pre_parts, columns, column_sizes = [], [], []
        drawn = {name: [] for name in random_names}
        for column, source_mask in enumerate(connection_map_generator()):
            sources = _source_indices(source_mask, projection.pre.size)
            if sources.size == 0:
                continue
            pre_parts.append(sources)
            columns.append(column)
            column_sizes.append(sources.size)
            for name in random_names:
                drawn[name].append(_column_values(parameter_space[name], sources, column))
        pre = np.concatenate(pre_parts) if pre_parts else np.zeros(0, dtype=int)
        post = np.repeat(np.asarray(columns, dtype=int), column_sizes)
        drawn = {name: np.concatenate(values) if values else np.zeros(0)
                 for name, values in drawn.items()}
        self._bulk_finish(projection, pre, post, parameter_space, drawn)

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

    def _connect_pairs(self, projection, pre, post, distance_map=None, parameter_space=None):
        """Connect given (pre, post) index pairs, ordered by post then as PyNN yields them.

        ``parameter_space`` is the synapse parameters as PyNN's code would have them at the
        start of its connection loop (taken before any connection draws)."""
        if parameter_space is None:
            parameter_space = self._parameters_from_synapse_type(projection, distance_map)
        random_names = [n for n, v in parameter_space.items() if _is_random(v)]
        drawn = self._draw_pairs(parameter_space, pre, post, random_names)
        self._bulk_finish(projection, pre, post, parameter_space, drawn)

    def _bulk_finish(self, projection, pre, post, parameter_space, drawn):
        _check_point_neurons(self)
        parameters = {}
        for name, value in parameter_space.items():
            if name in drawn:
                parameters[name] = drawn[name]
            elif value.is_homogeneous:
                parameters[name] = np.full(pre.size, value.evaluate(simplify=True), dtype=float)
            else:
                parameters[name] = self._evaluate_pairs(value, pre, post)
        if self.safe:
            syn = projection.synapse_type
            for parameter_name, check in getattr(syn, "parameter_checks", {}).items():
                native = syn.translations[parameter_name]["translated_name"]
                if native in parameters and pre.size:
                    check(parameters[native], projection)
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

    def _self_connection_mask(self, projection, pre, post):
        """True where a pair is allowed by ``allow_self_connections``."""
        mode = getattr(self, "allow_self_connections", True)
        if mode is True:
            return np.ones(pre.size, dtype=bool)
        all_pre = np.asarray(projection.pre.all_cells, dtype=np.int64)
        all_post = np.asarray(projection.post.all_cells, dtype=np.int64)
        pre_ids, post_ids = all_pre[pre], all_post[post]
        allowed = pre_ids != post_ids
        if mode == "NoMutual":
            # b -> a is a candidate of this projection when b is a pre cell and a a post cell
            reverse_possible = (np.isin(all_post, all_pre)[post]
                                & np.isin(all_pre, all_post)[pre])
            allowed &= ~reverse_possible | (pre_ids > post_ids)
        return allowed


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
        pre = np.tile(np.arange(n_pre), n_post)
        post = np.repeat(np.arange(n_post), n_pre)
        keep = self._self_connection_mask(projection, pre, post)
        self._connect_pairs(projection, pre[keep], post[keep])


class OneToOneConnector(BulkConnectMixin, connectors.OneToOneConnector):
    __doc__ = connectors.OneToOneConnector.__doc__

    def connect(self, projection):
        if projection.pre.size != projection.post.size:
            raise errors.ConnectionError(
                f"OneToOneConnector needs pre and post of equal size "
                f"(got {projection.pre.size} and {projection.post.size})")
        index = np.arange(projection.pre.size)
        self._connect_pairs(projection, index, index.copy())


class FixedProbabilityConnector(BulkConnectMixin, connectors.FixedProbabilityConnector):
    __doc__ = connectors.FixedProbabilityConnector.__doc__

    def connect(self, projection):
        if not 0 <= self.p_connect <= 1:
            raise errors.ConnectionError(
                f"FixedProbabilityConnector: p_connect = {self.p_connect} must be between "
                f"0 and 1")
        if not isinstance(self.rng, NumpyRNG):
            return super().connect(projection)      # PyNN's column-by-column draws
        # PyNN takes the synapse parameters (and copies of their RNGs) before the first draw
        parameter_space = self._parameters_from_synapse_type(projection)
        n_pre, n_post = projection.pre.size, projection.post.size
        block = max(1, BLOCK_ELEMENTS // max(n_pre, 1))
        pre_parts, post_parts = [np.zeros(0, dtype=int)], [np.zeros(0, dtype=int)]
        # PyNN's `random_map < p_connect` draws from a copy of the connector's rng (the
        # comparison copies the lazy array and its RandomDistribution), so the rng itself never
        # advances and every projection sharing it starts from the same state: the same here
        rng = deepcopy(self.rng)
        for first in range(0, n_post, block):
            n_cols = min(block, n_post - first)
            draws = np.asarray(rng.next(n_pre * n_cols, "uniform", {"low": 0.0, "high": 1.0}))
            cols, rows = np.nonzero(draws.reshape(n_cols, n_pre) < self.p_connect)
            pre_parts.append(rows)
            post_parts.append(cols + first)
        pre, post = np.concatenate(pre_parts), np.concatenate(post_parts)
        keep = self._self_connection_mask(projection, pre, post)
        self._connect_pairs(projection, pre[keep], post[keep], parameter_space=parameter_space)


class FromListConnector(BulkConnectMixin, connectors.FromListConnector):
    __doc__ = connectors.FromListConnector.__doc__ + """
    Indices out of range raise ConnectionError. Connections are kept ordered by postsynaptic
    cell, in list order within one cell. A synapse parameter that the list does not give and
    that is a RandomDistribution is drawn, as by PyNN, from a fresh copy of its RNG for every
    postsynaptic cell.
    """

    def connect(self, projection):
        syn = projection.synapse_type
        synapse_parameter_names = syn.get_parameter_names()
        for name in self.column_names:
            if name not in synapse_parameter_names:
                raise ValueError(f"{name} is not a valid parameter for "
                                 f"{syn.__class__.__name__}")
        n_columns = 2 + len(self.column_names)
        conn_list = (np.asarray(self.conn_list, dtype=float).reshape(-1, n_columns)
                     if np.size(self.conn_list) else np.zeros((0, n_columns)))
        pre = conn_list[:, 0].astype(int)
        post = conn_list[:, 1].astype(int)
        for indices, size, side in ((pre, projection.pre.size, "source"),
                                    (post, projection.post.size, "target")):
            if indices.size and (indices.min() < 0 or indices.max() >= size):
                bad = indices[(indices < 0) | (indices >= size)][0]
                raise errors.ConnectionError(
                    f"FromListConnector: {side} index {bad} out of range: "
                    f"{side} indices must be in [0, {size - 1}]")
        order = np.argsort(post, kind="stable")   # by post, list order within a post cell
        pre, post, conn_list = pre[order], post[order], conn_list[order]
        given = {name: conn_list[:, col] for col, name in enumerate(self.column_names, 2)}
        if given and pre.size and isinstance(syn, StandardSynapseType):
            listed = ParameterSpace(given, schema=syn.get_schema(), shape=(pre.size,))
            listed = syn.translate(listed, copy=False)
            listed.evaluate(simplify=False)
            given = {name: np.asarray(value, dtype=float).reshape(-1)
                     for name, value in listed.items()}
        parameter_space = self._parameters_from_synapse_type(projection)
        random_names = [n for n, v in parameter_space.items() if n not in given and _is_random(v)]
        drawn = dict(given)
        drawn.update(self._draw_restarting(parameter_space, pre, post, random_names))
        self._bulk_finish(projection, pre, post, parameter_space, drawn)

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
        self.conn_list = self.file.read()
        FromListConnector.connect(self, projection)


class FixedTotalNumberConnector(BulkConnectMixin, connectors.FixedTotalNumberConnector):
    __doc__ = """
    Connects exactly ``n`` (pre, post) pairs drawn at random: a binomial draw of the number
    (always ``n`` on one process), then for each connection a presynaptic index
    (``uniform_int``) and a postsynaptic index (``choice``) from ``rng``, as PyNN does.

    pyNN.jax honours, unlike PyNN's generic code, ``allow_self_connections`` (False or
    'NoMutual': no self-connections) and ``with_replacement=False`` (no pair twice): a drawn
    pair that is not allowed is drawn again. ``n`` may be a RandomDistribution (one draw).
    """

    def connect(self, projection):
        n_pre, n_post = projection.pre.size, projection.post.size
        n = self.n if isinstance(self.n, (int, np.integer)) else int(self.n.next())
        binomial = RandomDistribution("binomial", [int(n), 1.0], rng=self.rng)
        total = int(binomial.next())
        pre_ids = np.asarray(projection.pre.all_cells, dtype=np.int64)
        post_ids = np.asarray(projection.post.all_cells, dtype=np.int64)
        forbid_self = self.allow_self_connections is not True
        n_allowed = n_pre * n_post
        if forbid_self:
            n_allowed -= int(np.isin(pre_ids, post_ids).sum())
        if total > 0 and n_allowed == 0:
            raise errors.ConnectionError(
                f"FixedTotalNumberConnector: no allowed (pre, post) pair for n = {total}")
        if not self.with_replacement and total > n_allowed:
            raise errors.ConnectionError(
                f"FixedTotalNumberConnector: n = {total} connections without replacement, "
                f"but only {n_allowed} distinct (pre, post) pairs are allowed")
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
        keep = self._self_connection_mask(projection, pre, post)
        pre, post = pre[keep], post[keep]
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
            self._bulk_finish(projection, rows[:, 0].astype(int), rows[:, 1].astype(int),
                              parameter_space, {"weight": rows[:, 2], "delay": rows[:, 3]})
        elif csa.arity(self.cset) == 0:
            pairs = np.array([addr for addr in c], dtype=int).reshape(-1, 2)
            order = np.lexsort((pairs[:, 0], pairs[:, 1]))
            self._connect_pairs(projection, pairs[order, 0], pairs[order, 1])
        else:
            raise NotImplementedError("CSA connection sets of arity other than 0 or 2")


def _bulk(pynn_class, **attributes):
    return type(pynn_class.__name__, (BulkConnectMixin, pynn_class),
                {"__doc__": pynn_class.__doc__, "__module__": __name__, **attributes})


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


DistanceDependentProbabilityConnector = _bulk(connectors.DistanceDependentProbabilityConnector)
IndexBasedProbabilityConnector = _bulk(connectors.IndexBasedProbabilityConnector)
DisplacementDependentProbabilityConnector = _bulk(
    connectors.DisplacementDependentProbabilityConnector)
FixedNumberPreConnector = _bulk(connectors.FixedNumberPreConnector,
                                _rng_uniform_int_exclude=_rng_uniform_int_exclude)
FixedNumberPostConnector = _bulk(connectors.FixedNumberPostConnector,
                                 _rng_uniform_int_exclude=_rng_uniform_int_exclude)
CloneConnector = _bulk(connectors.CloneConnector)
ArrayConnector = _bulk(connectors.ArrayConnector)

__all__ = [
    "AllToAllConnector", "OneToOneConnector", "FixedProbabilityConnector",
    "DistanceDependentProbabilityConnector", "IndexBasedProbabilityConnector",
    "DisplacementDependentProbabilityConnector", "FromListConnector", "FromFileConnector",
    "FixedNumberPreConnector", "FixedNumberPostConnector", "FixedTotalNumberConnector",
    "SmallWorldConnector", "CSAConnector", "CloneConnector", "ArrayConnector",
]
