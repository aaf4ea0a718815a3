"""The vectorised draws of the probability connectors (DistanceDependent, IndexBased,
DisplacementDependent; draw_order="vectorised", the default) against the exact distribution
PyNN defines, each pair (i, j) connected independently with its probability: the sampling
functions with many samples, then whole projections (connection counts per class of pairs
of one probability, chi-square and total at fixed seeds), and the interval bounds of
d_expressions."""
import numpy as np
import pytest
from scipy import stats

from pyNN.core import IndexBasedExpression
from pyNN.random import NumpyRNG
from pyNN.space import Grid2D, RandomStructure, Cuboid, Space

from pyNN_jax import connectors

from .test_connector_statistics import P_MIN, assert_chi_square, pair_arrays


def assert_counts(observed, n_pairs, probabilities):
    """Connections per class of pairs (``n_pairs[c]`` pairs of probability
    ``probabilities[c]``) against the binomial: chi-square of the classes, and the total."""
    observed, n_pairs = np.asarray(observed, float), np.asarray(n_pairs, float)
    probabilities = np.clip(probabilities, 0, 1)
    certain = (probabilities == 0) | (probabilities == 1)
    np.testing.assert_array_equal(observed[certain], (n_pairs * probabilities)[certain])
    expected = n_pairs * probabilities
    if certain.all():
        return
    assert_chi_square(observed[~certain], expected[~certain])
    variance = (n_pairs * probabilities * (1 - probabilities)).sum()
    z = (observed.sum() - expected.sum()) / np.sqrt(variance)
    assert abs(z) < stats.norm.ppf(1 - P_MIN / 2), z


def assert_pairs_drawn_with(probability, bands, pre, post):
    """Connections ``(pre, post)`` against each pair's own ``probability`` (n_pre, n_post):
    chi-square of the counts per band of pairs (``bands``, a class per pair) against the summed
    probabilities of the band, and the total against its normal approximation."""
    n_bands = int(bands.max()) + 1
    observed = np.bincount(bands[pre, post], minlength=n_bands)
    expected = np.bincount(bands.ravel(), weights=probability.ravel(), minlength=n_bands)
    assert_chi_square(observed, expected)
    variance = (probability * (1 - probability)).sum()
    assert abs(pre.size - probability.sum()) < stats.norm.ppf(1 - P_MIN / 2) * np.sqrt(variance)


def by_class(classes, pre, post, n_classes):
    """(connections, pairs) per class; ``classes`` (n_pre, n_post) the class of every pair."""
    return (np.bincount(classes[pre, post], minlength=n_classes),
            np.bincount(classes.ravel(), minlength=n_classes))


# ---- the sampling functions ------------------------------------------------------------------

def test_bernoulli_positions_binomial_counts_uniform_positions():
    sizes = np.array([50, 1000, 3, 200, 0, 300_000_000, 700_000_000])
    bounds = np.array([0.3, 0.01, 1.0, 0.0, 0.5, connectors.MIN_BOUND, connectors.MIN_BOUND])
    random_state = np.random.RandomState(1)
    counts, first_positions = [], []
    for _ in range(2000):
        segment, position = connectors._bernoulli_positions(random_state, sizes, bounds)
        assert np.all(np.diff(segment) >= 0)
        same = segment[1:] == segment[:-1]
        assert np.all(np.diff(position)[same] > 0)            # distinct, increasing
        assert np.all((position >= 0) & (position < sizes[segment]))
        counts.append(np.bincount(segment, minlength=sizes.size))
        first_positions.append(position[segment == 0])
    counts = np.array(counts)
    assert (counts[:, 2] == 3).all() and (counts[:, 3] == 0).all() and (counts[:, 4] == 0).all()
    for column in (0, 1, 5, 6):
        support = np.arange(counts[:, column].max() + 2)
        assert_chi_square(np.bincount(counts[:, column], minlength=support.size),
                          stats.binom(sizes[column], bounds[column]).pmf(support))
    assert_chi_square(np.bincount(np.concatenate(first_positions), minlength=50), np.ones(50))


def test_run_positions_binomial_counts_uniform_positions():
    """Segments of one run (bound) sampled end to end: each segment's count binomial, its
    positions distinct and uniform, whatever the run's other segments."""
    sizes = np.array([40, 0, 1000, 3, 200, 300_000_000])
    run_bounds = np.array([0.3, 0.01, 1.0, connectors.MIN_BOUND])
    runs = np.array([0, 1, 1, 2, 0, 3])
    random_state = np.random.RandomState(4)
    counts, first_positions = [], []
    for _ in range(2000):
        segment, position = connectors._run_positions(random_state, sizes, run_bounds, runs)
        assert np.all((position >= 0) & (position < sizes[segment]))
        assert np.unique(segment * sizes.max() + position).size == segment.size   # distinct
        counts.append(np.bincount(segment, minlength=sizes.size))
        first_positions.append(position[segment == 0])
    counts = np.array(counts)
    assert (counts[:, 1] == 0).all() and (counts[:, 3] == 3).all()
    for column in (0, 2, 4, 5):
        support = np.arange(counts[:, column].max() + 2)
        bound = run_bounds[runs[column]]
        assert_chi_square(np.bincount(counts[:, column], minlength=support.size),
                          stats.binom(sizes[column], bound).pmf(support))
    assert_chi_square(np.bincount(np.concatenate(first_positions), minlength=40), np.ones(40))


def test_sample_map_each_pair_with_its_probability():
    """Zeros, NaN (never), values above 1 (always) and tiles of mixed probabilities."""
    random_state = np.random.RandomState(2)
    probabilities = random_state.uniform(0, 1, (7, 300)) ** 3
    probabilities[:, 100:170] = 0.0
    probabilities[2, :] = np.nan
    probabilities[3, 5:9] = 1.5
    n_samples = 400
    hits = np.zeros(probabilities.shape)
    for _ in range(n_samples):
        rows, columns = connectors._sample_map(random_state, probabilities)
        order = rows * probabilities.shape[1] + columns
        assert np.all(np.diff(order) > 0)
        np.add.at(hits, (rows, columns), 1)
    assert (hits[:, 100:170] == 0).all() and (hits[2] == 0).all()
    assert (hits[3, 5:9] == n_samples).all()
    classes = np.minimum((np.nan_to_num(probabilities) * 10).astype(int), 10)
    valid = np.isfinite(probabilities) & (probabilities > 0) & (probabilities <= 1)
    observed = np.bincount(classes[valid], weights=hits[valid], minlength=11)
    expected = np.bincount(classes[valid], weights=n_samples * probabilities[valid],
                           minlength=11)
    assert_chi_square(observed, expected)


# ---- the bounds of d_expressions -------------------------------------------------------------

@pytest.mark.parametrize("expression", [
    "0.3 * exp(-d / 5)", "d < 3", "(d >= 2) * 0.5", "exp(-d**2 / (2 * 4.0**2))",
    "1 / (1 + d)", "0.2 + 0.1 * cos(d)", "sqrt(d) / 10", "log(1 + d) / 10", "e**(-d) * pi / 4",
    "abs(d - 5) / 10", "fabs(3 - d) * 0.1", "d**0.5 * 0.1",
    "-d + 10", "tanh(d) - 0.5 * d ** -1"])
def test_expression_bound_is_above_every_value(expression):
    import pyNN.connectors
    function = eval("lambda d: " + expression, vars(pyNN.connectors))     # as PyNN's
    bound = connectors.DistanceExpressionBound.build(expression)
    assert bound is not None
    rng = np.random.RandomState(3)
    low = rng.uniform(0, 20, 500) * rng.randint(0, 2, 500)        # half of them from 0
    high = low + rng.exponential(3, 500) * rng.randint(0, 2, 500)   # some of width 0
    inside = low[:, None] + (high - low)[:, None] * np.linspace(0, 1, 201)[None, :]
    with np.errstate(all="ignore"):
        values = np.broadcast_to(function(inside), inside.shape)
        largest = np.nanmax(np.where(np.isnan(values), -np.inf, values), axis=1)
    assert np.all(bound.upper(low, high) >= largest)


@pytest.mark.parametrize("expression", ["d % 3 < 1", "where(d < 3, 1, 0)", "minimum(d, 1)",
                                        "d ** d", "arccos(d)", "exp(d)[0]", "(lambda x: x)(d)"])
def test_expressions_it_cannot_bound_are_evaluated(expression):
    assert connectors.DistanceExpressionBound.build(expression) is None


# ---- whole projections -----------------------------------------------------------------------

def grid_distance_classes(positions_pre, positions_post, periods=(None, None)):
    """Class (index of the distinct distance) of every pair, and the distances of the
    classes, for 2-D positions (3, n)."""
    squares = 0.0
    for axis, period in zip((0, 1), periods):
        difference = positions_post[axis][None, :] - positions_pre[axis][:, None]
        if period is not None:
            difference = np.minimum(np.abs(difference), period - np.abs(difference))
        squares = squares + difference ** 2
    values, classes = np.unique(np.round(np.sqrt(squares), 9), return_inverse=True)
    return classes.reshape(squares.shape), values


@pytest.mark.parametrize("expression", ["0.8 * exp(-d / 3)", "(d > 2) * 0.4 / (1 + d)",
                                        "d < 4.5", "0.5 * (d % 4 < 2)"])
@pytest.mark.parametrize("periodic", [False, True])
def test_distance_dependent_counts_per_distance_are_binomial(sim, expression, periodic):
    """Grid2D of 40 x 40 cells to itself (with "%": the expression evaluated per pair)."""
    space = Space(periodic_boundaries=((0, 40), (0, 40), None)) if periodic else Space()
    cells = sim.Population(1600, sim.IF_curr_exp(), structure=Grid2D(1.0, dx=1.0, dy=1.0))
    prj = sim.Projection(cells, cells, sim.DistanceDependentProbabilityConnector(
        expression, rng=NumpyRNG(7)), sim.StaticSynapse(weight=0.1), space=space)
    pre, post = pair_arrays(prj)
    assert (np.diff(post) >= 0).all() and np.unique(pre * 1600 + post).size == pre.size
    positions = cells.positions
    classes, distances = grid_distance_classes(positions, positions,
                                               (40.0, 40.0) if periodic else (None, None))
    observed, n_pairs = by_class(classes, pre, post, distances.size)
    probabilities = np.broadcast_to(
        prj._connector.distance_function(distances), distances.shape).astype(float)
    assert_counts(observed, n_pairs, probabilities)


@pytest.mark.parametrize("expression", ["0.6 * exp(-d / 4)", "d < 7.5"])
def test_distance_dependent_lines_of_other_sizes_counts_are_binomial(sim, expression):
    """Small projections between Lines of other sizes and spacings (spatial trees of other
    depths): the counts per distance against the binomial."""
    from pyNN.space import Line
    pre = sim.Population(300, sim.IF_curr_exp(), structure=Line(dx=1.0, x0=0.0))
    post = sim.Population(1000, sim.IF_curr_exp(), structure=Line(dx=0.5, x0=-50.0))
    prj = sim.Projection(pre, post, sim.DistanceDependentProbabilityConnector(
        expression, rng=NumpyRNG(15)), sim.StaticSynapse(weight=0.1))
    i, j = pair_arrays(prj)
    assert (np.diff(j) >= 0).all() and np.unique(i * 1000 + j).size == i.size
    distance = np.abs(post.positions[0][None, :] - pre.positions[0][:, None])
    values, classes = np.unique(np.round(distance, 9), return_inverse=True)
    classes = classes.reshape(distance.shape)
    observed, n_pairs = by_class(classes, i, j, values.size)
    probabilities = np.broadcast_to(prj._connector.distance_function(values),
                                    values.shape).astype(float)
    assert_counts(observed, n_pairs, probabilities)


def test_distance_dependent_random_structure_and_no_self_connections(sim):
    """Continuous distances (classes: bands of distance, expected: the sum of the pairs'
    probabilities), a scaled and shifted Space, and no self-connections."""
    structure = RandomStructure(Cuboid(30, 30, 0), rng=NumpyRNG(8))
    cells = sim.Population(1200, sim.IF_curr_exp(), structure=structure)
    space = Space(scale_factor=1.5, offset=(0.5, 0.0, 0.0))
    prj = sim.Projection(cells, cells, sim.DistanceDependentProbabilityConnector(
        "0.9 * exp(-d / 4)", allow_self_connections=False, rng=NumpyRNG(9)),
        sim.StaticSynapse(weight=0.1), space=space)
    pre, post = pair_arrays(prj)
    assert not (pre == post).any()
    distance = space.distances(cells.positions.T, cells.positions.T).reshape(1200, 1200)
    probability = 0.9 * np.exp(-distance / 4)
    np.fill_diagonal(probability, 0.0)
    assert_pairs_drawn_with(probability, np.minimum((distance * 2).astype(int), 60), pre, post)


class Classes(IndexBasedExpression):
    """Probabilities 0, 0.05, 0.3, 0.9, 1 by (i + 2 j) % 5."""
    values = np.array([0.0, 0.05, 0.3, 0.9, 1.0])

    def __call__(self, i, j):
        return self.values[(i + 2 * j) % 5]


def test_index_based_counts_per_class_are_binomial(sim):
    n_pre, n_post = 700, 500
    prj = sim.Projection(sim.Population(n_pre, sim.IF_curr_exp()),
                         sim.Population(n_post, sim.IF_curr_exp()),
                         sim.IndexBasedProbabilityConnector(Classes(), rng=NumpyRNG(10)),
                         sim.StaticSynapse(weight=0.1))
    pre, post = pair_arrays(prj)
    classes = (np.arange(n_pre)[:, None] + 2 * np.arange(n_post)[None, :]) % 5
    observed, n_pairs = by_class(classes, pre, post, 5)
    assert_counts(observed, n_pairs, Classes.values)


def test_displacement_dependent_counts_per_displacement_are_binomial(sim):
    cells = sim.Population(900, sim.IF_curr_exp(), structure=Grid2D(1.0, dx=1.0, dy=1.0))
    prj = sim.Projection(cells, cells, sim.DisplacementDependentProbabilityConnector(
        lambda d: 0.7 * np.exp(-np.abs(d[0] - 2) / 3) * (np.abs(d[1]) < 4),
        rng=NumpyRNG(11)), sim.StaticSynapse(weight=0.1))
    pre, post = pair_arrays(prj)
    x, y = cells.positions[0], cells.positions[1]
    dx = np.round(x[None, :] - x[:, None]).astype(int)
    dy = np.round(y[None, :] - y[:, None]).astype(int)
    classes = (dx + 29) * 59 + (dy + 29)
    observed, n_pairs = by_class(classes, pre, post, 59 * 59)
    shifts = np.arange(-29, 30)
    probabilities = (0.7 * np.exp(-np.abs(shifts[:, None] - 2) / 3)
                     * (np.abs(shifts[None, :]) < 4)).ravel()
    present = n_pairs > 0
    assert_counts(observed[present], n_pairs[present], probabilities[present])


@pytest.mark.parametrize("factory", [
    lambda s, rng: s.DistanceDependentProbabilityConnector("0.5 * exp(-d / 4)", rng=rng),
    lambda s, rng: s.IndexBasedProbabilityConnector(Classes(), rng=rng)])
def test_shared_rng_is_not_advanced_and_pynn_order_is_available(sim, factory):
    """As PyNN's code, projections sharing one rng start from its state; draw_order="pynn"
    draws other numbers (PyNN's) than the default."""
    cells = sim.Population(400, sim.IF_curr_exp(), structure=Grid2D(1.0, dx=1.0, dy=1.0))
    rng = NumpyRNG(12)
    first, second = (pair_arrays(sim.Projection(cells, cells, factory(sim, rng),
                                                sim.StaticSynapse(weight=0.1)))
                     for _ in range(2))
    assert first[0].size > 0
    np.testing.assert_array_equal(first, second)
    pynn_connector = factory(sim, rng)
    pynn_connector.draw_order = "pynn"
    pynn = pair_arrays(sim.Projection(cells, cells, pynn_connector,
                                      sim.StaticSynapse(weight=0.1)))
    assert pynn[0].size != first[0].size or (pynn[0] != first[0]).any()


def test_displacement_dependent_with_continuous_displacements(sim):
    """RandomStructure: every displacement distinct, the function evaluated for every pair;
    counts per band of probability against the sums of the pairs' probabilities."""
    structure = RandomStructure(Cuboid(20, 20, 20), rng=NumpyRNG(13))
    pre = sim.Population(600, sim.IF_curr_exp(), structure=structure)
    post = sim.Population(500, sim.IF_curr_exp(), structure=structure)

    def function(d):
        return 0.8 * np.exp(-np.hypot(d[0] - 3, d[1]) / 4) * (d[2] > -5)
    prj = sim.Projection(pre, post, sim.DisplacementDependentProbabilityConnector(
        function, rng=NumpyRNG(14)), sim.StaticSynapse(weight=0.1))
    i, j = pair_arrays(prj)
    displacement = post.positions[:, None, :] - pre.positions[:, :, None]
    probability = function(displacement)
    assert_pairs_drawn_with(probability, np.minimum((probability * 40).astype(int), 39), i, j)
