"""The bulk connection draws of pyNN.jax (draw_order="vectorised", the default) against the
exact distributions their connectors define: chi-square tests at fixed seeds (scipy), on the
drawing functions with many samples and on whole projections (in-degrees, out-degrees,
totals); and the ConnectionError of a connector asked for more distinct connections than
exist."""
from itertools import combinations

import numpy as np
import pytest
from scipy import stats

from pyNN.random import NumpyRNG

from pyNN_jax import connectors

P_MIN = 1e-3      # a fixed seed either passes or fails; a correct draw fails 1 seed in 1000


def assert_chi_square(observed, expected):
    """Chi-square goodness of fit of counts, neighbouring bins merged until each expects >= 5
    (bins in the order given, i.e. tails merged into their neighbours)."""
    observed, expected = np.asarray(observed, float), np.asarray(expected, float)
    expected = expected * observed.sum() / expected.sum()
    merged_observed, merged_expected, o, e = [], [], 0.0, 0.0
    for obs, exp in zip(observed, expected):
        o, e = o + obs, e + exp
        if e >= 5:
            merged_observed.append(o)
            merged_expected.append(e)
            o, e = 0.0, 0.0
    merged_observed[-1] += o
    merged_expected[-1] += e
    assert len(merged_observed) >= 3, "too few bins to test"
    p = stats.chisquare(merged_observed, merged_expected).pvalue
    assert p > P_MIN, (p, merged_observed, merged_expected)


def assert_degrees(degrees, distribution):
    """Histogram of ``degrees`` against a scipy discrete ``distribution``."""
    support = np.arange(int(degrees.max()) + 2)
    assert_chi_square(np.bincount(degrees, minlength=support.size), distribution.pmf(support))


def pair_arrays(prj):
    table = np.asarray(prj.get("weight", format="list")).reshape(-1, 3)
    return table[:, 0].astype(int), table[:, 1].astype(int)


def connect(sim, connector, n_pre, n_post=None):
    """(pre, post) index arrays of a Projection from ``n_pre`` cells to ``n_post`` other
    cells, or (``n_post`` None) from ``n_pre`` cells to themselves."""
    pre = sim.Population(n_pre, sim.IF_curr_exp())
    post = pre if n_post is None else sim.Population(n_post, sim.IF_curr_exp())
    return pair_arrays(sim.Projection(pre, post, connector, sim.StaticSynapse(weight=0.1)))


# ---- the drawing functions -----------------------------------------------------------------

@pytest.mark.parametrize("distinct", [False, True])
def test_split_total_is_multinomial_or_hypergeometric(distinct):
    capacities = np.array([5, 1, 3, 0, 7])
    total, n_samples = 10, 4000
    rng = np.random.RandomState(1)
    samples = np.array([connectors._split_total(rng, total, capacities, distinct)
                        for _ in range(n_samples)])
    assert (samples.sum(axis=1) == total).all()
    assert (samples[:, 3] == 0).all()
    if distinct:
        assert (samples <= capacities).all()
    for column in (0, 2, 4):
        if distinct:
            marginal = stats.hypergeom(capacities.sum(), capacities[column], total)
        else:
            marginal = stats.binom(total, capacities[column] / capacities.sum())
        assert_degrees(samples[:, column], marginal)


@pytest.mark.parametrize("count, excluded", [(1, -1), (2, -1), (2, 4), (3, 1), (4, -1),
                                             (4, 0), (5, 2), (6, -1)])
def test_distinct_sources_are_a_uniform_set(count, excluded):
    """``count`` of 6 indices (5 where one is excluded), dense (more than half) or not: every
    allowed set equally often, in every column."""
    high, n_columns = 6, 6000
    allowed = [i for i in range(high) if i != excluded]
    counts = np.full(n_columns, count)
    sources = connectors._draw_sources(NumpyRNG(2), counts, high,
                                       np.full(n_columns, excluded), distinct=True)
    columns = sources.reshape(n_columns, count)
    sets = [tuple(sorted(column)) for column in columns.tolist()]
    assert all(len(set(s)) == count and set(s) <= set(allowed) for s in sets)
    possible = list(combinations(allowed, count))
    if len(possible) == 1:
        assert set(sets) == set(possible)
        return
    frequency = {s: 0 for s in possible}
    for s in sets:
        frequency[s] += 1
    assert_chi_square(list(frequency.values()), np.ones(len(possible)))


def test_sources_with_replacement_are_uniform_over_the_allowed_ones():
    high, n_columns, count = 7, 3000, 4
    excluded = np.arange(n_columns) % (high + 1) - 1          # -1 (none) or 0..6
    sources = connectors._draw_sources(NumpyRNG(3), np.full(n_columns, count), high, excluded,
                                       distinct=False).reshape(n_columns, count)
    assert not (sources == excluded[:, None]).any()
    for excluded_index in (-1, 3):
        drawn = sources[excluded == excluded_index].ravel()
        expected = np.array([i != excluded_index for i in range(high)], float)
        observed = np.bincount(drawn, minlength=high)
        assert_chi_square(observed[expected > 0], expected[expected > 0])


# ---- whole projections ---------------------------------------------------------------------

@pytest.fixture(params=["one piece", "small pieces"])
def pieces(request, monkeypatch):
    """Every projection built in one piece, or in pieces of 997 connections."""
    if request.param == "small pieces":
        monkeypatch.setattr(connectors, "PIECE_CONNECTIONS", 997)


def test_fixed_probability_degrees_are_binomial(sim, pieces):
    n_pre, n_post, p = 300, 200, 0.1
    pre, post = connect(sim, sim.FixedProbabilityConnector(p, rng=NumpyRNG(4)), n_pre, n_post)
    assert np.unique(pre * n_post + post).size == pre.size          # no pair twice
    assert (np.diff(post) >= 0).all()
    assert_degrees(np.bincount(post, minlength=n_post), stats.binom(n_pre, p))
    assert_degrees(np.bincount(pre, minlength=n_pre), stats.binom(n_post, p))
    total = stats.binom(n_pre * n_post, p)
    assert total.ppf(P_MIN / 2) <= pre.size <= total.ppf(1 - P_MIN / 2)


def test_fixed_probability_without_self_connections(sim, pieces):
    pre, post = connect(sim, sim.FixedProbabilityConnector(
        0.2, allow_self_connections=False, rng=NumpyRNG(5)), 200)
    assert not (pre == post).any()
    assert_degrees(np.bincount(post, minlength=200), stats.binom(199, 0.2))


def test_fixed_probability_one_and_zero(sim):
    full = connect(sim, sim.FixedProbabilityConnector(1.0, rng=NumpyRNG(1)), 30, 20)
    assert sorted(zip(*full)) == [(i, j) for i in range(30) for j in range(20)]
    empty = connect(sim, sim.FixedProbabilityConnector(0.0, rng=NumpyRNG(1)), 30, 20)
    assert empty[0].size == 0


def test_fixed_probability_does_not_advance_a_shared_rng(sim):
    """As PyNN's code: projections sharing one rng start from its state (a copy is drawn)."""
    rng = NumpyRNG(6)
    first, second = (connect(sim, sim.FixedProbabilityConnector(0.1, rng=rng), 100)
                     for _ in range(2))
    assert first[0].size > 0
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("fixed_side", ["pre", "post"])
@pytest.mark.parametrize("with_replacement", [False, True])
@pytest.mark.parametrize("self_connections", [True, False])
def test_fixed_number_one_degree_fixed_the_other_binomial(sim, pieces, fixed_side,
                                                          with_replacement, self_connections):
    """FixedNumberPre: every post cell has n inputs; a pre cell is one of a post cell's n with
    probability n / available (independently between post cells), so its out-degree is
    binomial (with replacement a sum of binomials: binomial too). FixedNumberPost: the same,
    pre and post swapped."""
    n_cells, n = 400, 40
    connector = {"pre": sim.FixedNumberPreConnector,
                 "post": sim.FixedNumberPostConnector}[fixed_side]
    pre, post = connect(sim, connector(n, with_replacement=with_replacement,
                                       allow_self_connections=self_connections,
                                       rng=NumpyRNG(7)), n_cells)
    fixed, drawn = (post, pre) if fixed_side == "pre" else (pre, post)
    assert (np.bincount(fixed, minlength=n_cells) == n).all()
    assert (np.diff(post) >= 0).all()
    available = n_cells - (not self_connections)
    if not self_connections:
        assert not (pre == post).any()
    if not with_replacement:
        assert np.unique(pre * n_cells + post).size == pre.size
    degree = stats.binom(available, n / available) if not with_replacement else \
        stats.binom(n * available, 1 / available)
    assert_degrees(np.bincount(drawn, minlength=n_cells), degree)


def test_fixed_number_pre_dense_without_replacement(sim):
    """More than half of the presynaptic cells: the complement is drawn."""
    pre, post = connect(sim, sim.FixedNumberPreConnector(8, rng=NumpyRNG(9)), 10, 2000)
    assert (np.bincount(post) == 8).all()
    assert np.unique(pre * 2000 + post).size == pre.size
    assert_chi_square(np.bincount(pre, minlength=10), np.ones(10))


@pytest.mark.parametrize("with_replacement", [True, False])
@pytest.mark.parametrize("self_connections", [True, False])
def test_fixed_total_number_exact_total_multinomial_degrees(sim, pieces, with_replacement,
                                                             self_connections):
    n_cells, n = 300, 20000
    pre, post = connect(sim, sim.FixedTotalNumberConnector(
        n, with_replacement=with_replacement, allow_self_connections=self_connections,
        rng=NumpyRNG(10)), n_cells)
    assert pre.size == n
    assert (np.diff(post) >= 0).all()
    if not self_connections:
        assert not (pre == post).any()
    if not with_replacement:
        assert np.unique(pre * n_cells + post).size == n
    available = n_cells - (not self_connections)
    n_pairs = n_cells * available
    # degree of one cell: binomial (multinomial marginal) or hypergeometric without replacement
    degree = stats.hypergeom(n_pairs, available, n) if not with_replacement else \
        stats.binom(n, 1 / n_cells)
    assert_degrees(np.bincount(post, minlength=n_cells), degree)
    assert_degrees(np.bincount(pre, minlength=n_cells), degree)


def test_fixed_total_number_pairs_uniform(sim):
    """Every (pre, post) pair equally likely: pair counts of a with-replacement draw."""
    pre, post = connect(sim, sim.FixedTotalNumberConnector(24000, rng=NumpyRNG(11)), 12, 10)
    assert_chi_square(np.bincount(pre * 10 + post, minlength=120), np.ones(120))


def test_fixed_total_number_all_pairs_without_replacement(sim):
    found = connect(sim, sim.FixedTotalNumberConnector(
        56, with_replacement=False, allow_self_connections=False, rng=NumpyRNG(12)), 8)
    assert sorted(zip(*found)) == [(i, j) for i in range(8) for j in range(8)
                                              if i != j]


def test_unknown_draw_order_is_refused(sim):
    with pytest.raises(ValueError, match="draw_order"):
        sim.FixedTotalNumberConnector(10, draw_order="fast")


# ---- more distinct connections than exist ---------------------------------------------------

TOO_MANY = {
    "FixedNumberPreConnector": (lambda s, **kw: s.FixedNumberPreConnector(21, **kw),
                                False, "n = 21", "only 20"),
    "FixedNumberPreConnector no self": (
        lambda s, **kw: s.FixedNumberPreConnector(20, allow_self_connections=False, **kw),
        True, "n = 20", "only 19"),
    "FixedNumberPostConnector": (lambda s, **kw: s.FixedNumberPostConnector(16, **kw),
                                 False, "n = 16", "only 15"),
    "FixedNumberPostConnector no self": (
        lambda s, **kw: s.FixedNumberPostConnector(20, allow_self_connections=False, **kw),
        True, "n = 20", "only 19"),
    "FixedTotalNumberConnector": (
        lambda s, **kw: s.FixedTotalNumberConnector(301, with_replacement=False, **kw),
        False, "n = 301", "only 300"),
    "FixedTotalNumberConnector no self": (
        lambda s, **kw: s.FixedTotalNumberConnector(
            381, with_replacement=False, allow_self_connections=False, **kw),
        True, "n = 381", "only 380"),
}


@pytest.mark.parametrize("draw_order", ["vectorised", "pynn"])
@pytest.mark.parametrize("case", sorted(TOO_MANY))
def test_more_distinct_connections_than_exist(sim, case, draw_order):
    """Raised before anything is built; data recorded before stays readable."""
    factory, same, *message = TOO_MANY[case]
    pre = sim.Population(20, sim.IF_curr_exp(i_offset=np.linspace(0.0, 2.0, 20)))
    post = pre if same else sim.Population(15, sim.IF_curr_exp())
    pre.record("v")
    sim.run(5.0)
    recorded = pre.get_data().segments[0].analogsignals[0].magnitude.copy()
    with pytest.raises(sim.errors.ConnectionError) as raised:
        sim.Projection(pre, post, factory(sim, rng=NumpyRNG(1), draw_order=draw_order),
                       sim.StaticSynapse(weight=0.1))
    text = str(raised.value)
    assert case.split()[0] in text and all(part in text for part in message), text
    np.testing.assert_array_equal(pre.get_data().segments[0].analogsignals[0].magnitude,
                                  recorded)
    assert recorded.shape[1] == 20 and np.ptp(recorded[-1]) > 0      # v recorded, cells differ


@pytest.mark.parametrize("factory", [
    lambda s: s.FixedNumberPreConnector(50, with_replacement=True, rng=NumpyRNG(1)),
    lambda s: s.FixedNumberPostConnector(50, with_replacement=True, rng=NumpyRNG(1)),
    lambda s: s.FixedTotalNumberConnector(1000, rng=NumpyRNG(1))])
def test_with_replacement_more_connections_than_cells_is_fine(sim, factory):
    pre, _ = connect(sim, factory(sim), 20, 15)
    assert pre.size in (50 * 15, 50 * 20, 1000)
