"""Placement and routing onto one BrainScaleS-2 chip (pure numpy)."""
import numpy as np
import pytest

from pyNN import errors

from pyNN_jax.hardware import placement as pl
from pyNN_jax.hardware.placement import ConnectionBlock, NeuronBlock, PlacementError, place


def all_to_all(sources, post_neurons, weight=1.0, label="prj", inhibitory=False, scale=None):
    """Every source (an int: sources 0..n-1, or an array of source IDs) onto every neuron."""
    sources = np.arange(sources) if np.isscalar(sources) else np.asarray(sources)
    pre = np.repeat(sources, len(post_neurons))
    post = np.tile(np.asarray(post_neurons), sources.size)
    return ConnectionBlock(label, pre, post, np.full(post.size, weight), inhibitory, scale)


def one_each(sources, post, label="prj", inhibitory=False):
    """Source sources[i] onto neuron post[i]."""
    return ConnectionBlock(label, np.asarray(sources), np.asarray(post),
                           np.ones(len(post)), inhibitory)


def test_chip_constants_are_consistent():
    assert pl.N_CIRCUITS == 512 and pl.ROWS_PER_HEMISPHERE == 256
    assert pl.PADI_BUSES_PER_HEMISPHERE * pl.ROWS_PER_PADI_BUS == pl.ROWS_PER_HEMISPHERE
    assert pl.SYNAPSES_PER_CHIP == 131072 and pl.LABELS_PER_ROW == 64


def test_native_order_and_hemispheres():
    placement = place([NeuronBlock("a", 300), NeuronBlock("b", 212)], [])
    assert np.array_equal(placement.circuits["a"], np.arange(300))
    assert np.array_equal(placement.circuits["b"], np.arange(300, 512))


def test_permutation_is_followed():
    permutation = np.arange(511, -1, -1)
    placement = place([NeuronBlock("a", 3), NeuronBlock("b", 2)], [], permutation)
    assert placement.circuits["a"].tolist() == [511, 510, 509]
    assert placement.circuits["b"].tolist() == [508, 507]


@pytest.mark.parametrize("permutation", [[0, 0, 1], [0, 512, 1], [-1, 2, 3]])
def test_bad_permutation_raises(permutation):
    with pytest.raises(errors.InvalidParameterValueError, match="neuron_permutation"):
        place([NeuronBlock("a", 3)], [], permutation)


def test_512_neurons_fit_exactly_513_do_not():
    place([NeuronBlock("a", 512)], [])
    with pytest.raises(PlacementError, match=r"neuron circuits.*513.*512"):
        place([NeuronBlock("a", 500), NeuronBlock("b", 13)], [])


def test_weights_map_largest_to_63_steps():
    scale, steps, synapses, saturated = pl.weight_steps(np.array([0.0, 0.5, 1.0, 2.0]))
    assert scale == pytest.approx(2.0 / 63)
    assert steps.tolist() == [0, 16, 32, 63]        # round(w / scale): 15.75 -> 16, 31.5 -> 32
    assert synapses.tolist() == [1, 1, 1, 1] and saturated == 0


def test_user_scale_gives_parallel_synapses_or_saturation():
    magnitude = np.array([63.0, 64.0, 126.0, 127.0, 200.0])
    _, steps, synapses, saturated = pl.weight_steps(magnitude, weight_scale=1.0)
    assert steps.tolist() == [63, 64, 126, 127, 200]
    assert synapses.tolist() == [1, 2, 2, 3, 4]      # ceil(w / 63)
    _, steps, synapses, saturated = pl.weight_steps(magnitude, 1.0, parallel_synapses=False)
    assert steps.tolist() == [63] * 5 and synapses.tolist() == [1] * 5 and saturated == 4
    with pytest.raises(errors.InvalidParameterValueError, match="weight_scale"):
        pl.weight_steps(magnitude, weight_scale=0.0)


def test_rows_per_projection_are_its_largest_in_degree_per_hemisphere():
    # 10 sources onto neurons 0..9 (hemisphere 0) and 300..309 (hemisphere 1)
    neurons = [NeuronBlock("a", 512)]
    block = all_to_all(10, list(range(10)) + list(range(300, 310)))
    placement = place(neurons, [block])
    prj = placement.projections[0]
    assert [(c.hemisphere, c.n_rows) for c in prj.rows] == [(0, 10), (1, 10)]
    assert placement.in_degree[0] == 10 and placement.in_degree[10] == 0
    assert placement.rows_used().sum() == 20


def test_in_degree_256_fits_257_does_not():
    neurons = [NeuronBlock("out", 2)]
    fits = [all_to_all(np.arange(64) + 64 * i, [0], label=f"p{i}") for i in range(4)]
    placement = place(neurons, fits)
    assert placement.in_degree[0] == 256
    assert placement.rows_used()[0].tolist() == [64, 64, 64, 64]
    with pytest.raises(PlacementError, match=r"in-degree of neuron 0 of 'out'.*257.*256"):
        place(neurons, fits + [all_to_all([1000], [0], label="extra")])


def test_the_whole_synapse_array_fits_exactly():
    neurons = [NeuronBlock("all", 512)]
    placement = place(neurons, [all_to_all(256, range(512))])
    assert placement.utilisation() == {"circuits": 1.0, "synapse_rows": 1.0, "synapses": 1.0,
                                       "busiest_padi_bus": 1.0}
    with pytest.raises(PlacementError, match=r"in-degree .* 257 synapse rows"):
        place(neurons, [all_to_all(256, range(512)), all_to_all([999], [511], label="more")])


def test_parallel_synapses_count_towards_in_degree():
    neurons = [NeuronBlock("out", 1)]
    # 128 sources, weight 126 steps each: 2 synapses per connection = 256 rows: fits
    placement = place(neurons, [all_to_all(128, [0], weight=126.0, scale=1.0)])
    assert placement.rows_used().sum() == 256
    with pytest.raises(PlacementError, match=r"in-degree.*258.*256"):
        place(neurons, [all_to_all(129, [0], weight=126.0, scale=1.0)])


def test_rows_are_shared_by_projections_of_one_sign_not_of_two():
    neurons = [NeuronBlock("a", 10), NeuronBlock("b", 10)]
    to_a = all_to_all(64, range(10), label="to a")
    to_b = all_to_all(64, range(10, 20), label="to b")
    placement = place(neurons, [to_a, to_b])
    assert placement.rows_used().sum() == 64
    first, second = placement.projections
    assert first.n_rows == second.n_rows == 64 and first.rows == second.rows
    to_b.inhibitory = True
    placement = place(neurons, [to_a, to_b])
    assert placement.rows_used().sum() == 128
    assert len(placement.label_groups) == 2


def test_a_row_tells_at_most_64_sources_apart():
    # in-degree 1 everywhere: 64 sources share one row, 65 need two label groups
    placement = place([NeuronBlock("n", 200)], [one_each(range(64), range(64))])
    assert placement.rows_used().sum() == 1
    placement = place([NeuronBlock("n", 200)], [one_each(range(130), range(130))])
    assert placement.rows_used().sum() == 3
    assert [g.sources.size for g in placement.label_groups] == [64, 64, 2]


def test_hemisphere_rows_exhausted_across_neurons():
    # 5 label groups of 64 sources, group g onto neuron g: each in-degree 64, 320 rows
    sources = np.arange(320)
    neurons = [NeuronBlock("out", 512)]
    with pytest.raises(PlacementError,
                       match=r"synapse rows of hemisphere 0 .*320 rows in 5 label groups.*256"):
        place(neurons, [one_each(sources, sources // 64)])
    # the same onto neurons 0, 100, 200 (hemisphere 0) and 300, 400 (hemisphere 1) fits
    placement = place(neurons, [one_each(sources, (sources // 64) * 100)])
    assert placement.rows_used().sum(axis=1).tolist() == [192, 128]


def padi_groups(n_groups, rows):
    """Label groups of 64 sources needing ``rows`` rows each (sources split over 2 neurons)."""
    sources = np.arange(64 * n_groups)
    within = sources % 64
    return one_each(sources, 2 * (sources // 64) + (within >= rows))


def test_padi_bus_chunks_must_fit_one_bus():
    # 5 groups of 40 rows: 200 rows <= 256, but two 40-row chunks do not share a bus
    neurons = [NeuronBlock("out", 10)]
    with pytest.raises(PlacementError, match=r"PADI bus rows of hemisphere 0.*40 rows"):
        place(neurons, [padi_groups(5, 40)])
    placement = place(neurons, [padi_groups(4, 40)])
    assert placement.rows_used()[0].tolist() == [40, 40, 40, 40]
    placement = place(neurons, [padi_groups(5, 32)])           # two 32-row chunks per bus
    assert sorted(placement.rows_used()[0].tolist()) == [0, 32, 64, 64]


def test_summary_names_populations_projections_and_utilisation():
    placement = place([NeuronBlock("hidden", 20)], [all_to_all(8, range(20), label="in->hidden")])
    text = str(placement)
    assert "'hidden': 20 circuits [0-19]" in text
    assert "'in->hidden' (excitatory): 160 synapses on 8 rows [hemisphere 0 bus 0 rows 0-7 " \
        "(drivers 0-3)]" in text
    usage = placement.utilisation()
    assert usage["circuits"] == pytest.approx(20 / 512)
    assert usage["synapse_rows"] == pytest.approx(8 / 512)
    assert usage["busiest_padi_bus"] == pytest.approx(8 / 64)


def test_every_synapse_has_its_own_place_on_its_projections_rows():
    rng = np.random.default_rng(3)
    neurons = [NeuronBlock("a", 200), NeuronBlock("b", 200)]
    blocks = []
    for i in range(6):
        post = rng.integers(0, 400, 300)
        pre = rng.integers(0, 150, post.size)
        magnitude = rng.uniform(0.0, 3.0, post.size)
        blocks.append(ConnectionBlock(f"p{i}", pre, post, magnitude, bool(i % 2),
                                      weight_scale=0.03))
    permutation = rng.permutation(512)
    placement = place(neurons, blocks, permutation)
    taken = set()
    for prj, block in zip(placement.projections, blocks):
        where = prj.synapses
        assert np.array_equal(np.bincount(where["connection"], minlength=len(block.post)),
                              prj.parallel_synapses)
        circuit = permutation[block.post][where["connection"]]
        assert np.array_equal(where["hemisphere"], circuit // 256)
        assert np.array_equal(where["column"], circuit % 256)
        own_rows = {(c.hemisphere, r) for c in prj.rows
                    for r in range(c.first_row, c.first_row + c.n_rows)}
        cells = set(zip(where["hemisphere"].tolist(), where["row"].tolist(),
                        where["column"].tolist()))
        assert {(h, r) for h, r, _ in cells} <= own_rows
        assert len(cells) == prj.n_synapses           # no two synapses of one projection share
        assert not cells & taken                      # nor with another projection
        taken |= cells
    # a row has one sign and at most 64 sources
    rows = {}
    for prj, block in zip(placement.projections, blocks):
        where = prj.synapses
        for h, r, source in zip(where["hemisphere"], where["row"],
                                block.pre[where["connection"]]):
            rows.setdefault((h, r), set()).add((prj.inhibitory, int(source)))
    assert all(len({sign for sign, _ in members}) == 1 for members in rows.values())
    assert max(len(members) for members in rows.values()) <= 64
    assert len(rows) == placement.rows_used().sum()
    for group in placement.label_groups:
        assert sum(c.n_rows for c in group.rows) == group.n_rows
        for c in group.rows:
            assert c.first_row // 64 == c.bus == (c.first_row + c.n_rows - 1) // 64
