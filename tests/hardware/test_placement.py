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
    scale, steps, synapses, saturated, rounded_to_zero = pl.weight_steps(
        np.array([0.0, 0.5, 1.0, 2.0]))
    assert scale == pytest.approx(2.0 / 63)
    assert steps.tolist() == [0, 16, 32, 63]        # round(w / scale): 15.75 -> 16, 31.5 -> 32
    assert synapses.tolist() == [0, 1, 1, 1]        # a zero weight takes no synapse
    assert saturated == 0 and rounded_to_zero == 0


def test_user_scale_gives_parallel_synapses_or_saturation():
    magnitude = np.array([63.0, 64.0, 126.0, 127.0, 200.0])
    _, steps, synapses, saturated, _ = pl.weight_steps(magnitude, weight_scale=1.0)
    assert steps.tolist() == [63, 64, 126, 127, 200]
    assert synapses.tolist() == [1, 2, 2, 3, 4]      # ceil(w / 63)
    _, steps, synapses, saturated, _ = pl.weight_steps(magnitude, 1.0, parallel_synapses=False)
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
    assert {g.inhibitory for g in placement.label_groups} == {False, True}


def test_a_row_tells_at_most_64_sources_apart():
    # in-degree 1 everywhere: 64 sources share one row, 130 need three label groups
    placement = place([NeuronBlock("n", 200)], [one_each(range(64), range(64))])
    assert placement.rows_used().sum() == 1
    placement = place([NeuronBlock("n", 200)], [one_each(range(130), range(130))])
    assert placement.rows_used().sum() == 3
    sizes = [g.sources.size for g in placement.label_groups]
    assert len(sizes) == 3 and max(sizes) <= 64 and sum(sizes) == 130


def test_sources_are_balanced_over_buses_and_label_groups():
    # 100 inputs onto 'a' (in-degree 100) and the 200 neurons of 'a' onto 'b' (in-degree
    # 200), one sign: cut into label groups in ID order the 300 sources would need 292 rows;
    # sharing rows between the two projections, 200
    neurons = [NeuronBlock("a", 200), NeuronBlock("b", 50)]
    inputs = all_to_all(np.arange(1000, 1100), range(200), label="in->a")
    hidden = all_to_all(np.arange(200), range(200, 250), label="a->b")
    placement = place(neurons, [inputs, hidden])
    assert placement.rows_used()[0].sum() == 200
    assert placement.rows_used().max() <= 64
    assert all(g.sources.size <= 64 for g in placement.label_groups)


def test_hemisphere_rows_exhausted_by_the_two_signs():
    # excitatory in-degree 200 onto neuron 0, inhibitory 200 onto neuron 1: each neuron is
    # within its 256 rows, the hemisphere needs 400
    neurons = [NeuronBlock("out", 512)]
    exc = one_each(range(200), np.zeros(200, int), label="exc")
    inh = one_each(range(200, 400), np.ones(200, int), label="inh", inhibitory=True)
    with pytest.raises(PlacementError, match=r"synapse rows of hemisphere 0 .*'exc', 'inh'.*"
                                             r"400 rows .*label groups.*256"):
        place(neurons, [exc, inh])
    inh_elsewhere = one_each(range(200, 400), np.full(200, 300), label="inh", inhibitory=True)
    placement = place(neurons, [exc, inh_elsewhere])
    assert placement.rows_used().sum(axis=1).tolist() == [200, 200]


def heavy_sources(n_sources, copies):
    """n_sources each onto neuron 0 with a weight of ``copies`` x 63 steps (scale 1)."""
    return ConnectionBlock("heavy", np.arange(n_sources), np.zeros(n_sources, int),
                           np.full(n_sources, 63.0 * copies), False, 1.0)


def test_a_source_lies_on_one_bus():
    neurons = [NeuronBlock("out", 1)]
    # one source with 64 parallel synapses fills one bus; with 65 it does not fit any, though
    # the neuron's in-degree (65) and the hemisphere (65 rows) would allow it
    placement = place(neurons, [heavy_sources(1, 64)])
    assert sorted(placement.rows_used()[0].tolist()) == [0, 0, 0, 64]
    with pytest.raises(PlacementError, match=r"PADI bus rows of hemisphere 0.*label groups "
                                             r"of \[65\] rows.*64 rows each"):
        place(neurons, [heavy_sources(1, 65)])
    # four sources of 40 synapses take a bus each; a fifth must share one (80 rows)
    placement = place(neurons, [heavy_sources(4, 40)])
    assert placement.rows_used()[0].tolist() == [40, 40, 40, 40]
    with pytest.raises(PlacementError, match=r"PADI bus rows.*\[40, 40, 40, 40, 40\]"):
        place(neurons, [heavy_sources(5, 40)])


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


@pytest.mark.filterwarnings("ignore::pyNN_jax.hardware.placement.RoundingWarning")
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


@pytest.mark.parametrize("parallel_synapses", [True, False])
def test_weights_below_half_a_step_are_counted_warned_and_not_placed(parallel_synapses):
    # scale 1.0 / 63: 0.005 is 0.315 steps -> 0, 0.008 is 0.504 steps -> 1
    magnitude = np.array([1.0, 0.005, 0.004, 0.008, 0.0])
    block = ConnectionBlock("small", np.arange(5), np.zeros(5, int), magnitude, False)
    with pytest.warns(pl.RoundingWarning,
                      match=r"'small': 2 of 5 weights are nonzero but .* round to 0.*one step, "
                            r"0\.015873") as record:
        placement = place([NeuronBlock("n", 1)], [block], parallel_synapses=parallel_synapses)
    assert issubclass(pl.RoundingWarning, UserWarning) and len(record) == 1
    routed = placement.projections[0]
    assert routed.weight_steps.tolist() == [63, 0, 0, 1, 0]
    assert routed.rounded_to_zero == 2
    assert routed.parallel_synapses.tolist() == [1, 0, 0, 1, 0]
    assert sorted(routed.synapses["connection"].tolist()) == [0, 3]    # only these placed
    assert placement.in_degree.tolist() == [2]
    assert "2 weights rounded to 0 (not placed)" in str(placement)


def test_no_rounding_warning_when_every_weight_is_representable(recwarn):
    block = ConnectionBlock("p", np.arange(2), np.zeros(2, int), np.array([1.0, 0.5]), False)
    place([NeuronBlock("n", 1)], [block])
    assert not [w for w in recwarn if issubclass(w.category, pl.RoundingWarning)]
