"""Feed-forward networks larger than one chip, partitioned over several runs."""
import numpy as np
import pytest

from pyNN_jax.hardware.partition import PartitionedPlacement, place_partitioned
from pyNN_jax.hardware.placement import (ConnectionBlock, NeuronBlock, Placement, PlacementError,
                                         place)

INPUT_IDS = 10_000          # source IDs of the spike sources


def connect(pre_neurons, post_neurons, label, pre_ids=None, weight=1.0):
    """Connection i from pre_neurons[i] (global neuron index, -1 for a spike source with ID
    pre_ids[i]) onto post_neurons[i]."""
    pre_neurons = np.asarray(pre_neurons)
    pre_ids = pre_neurons if pre_ids is None else np.asarray(pre_ids)
    return ConnectionBlock(label, pre_ids, np.asarray(post_neurons),
                           np.full(pre_neurons.size, weight), False, pre_neuron=pre_neurons)


def dense(pre, post, label, inputs=False):
    pre, post = np.repeat(pre, len(post)), np.tile(post, len(pre))
    if inputs:
        return connect(-np.ones(pre.size, int), post, label, pre_ids=INPUT_IDS + pre)
    return connect(pre, post, label)


def test_a_network_that_fits_is_placed_on_one_chip():
    neurons = [NeuronBlock("L0", 200), NeuronBlock("L1", 100)]
    blocks = [dense(np.arange(10), np.arange(200), "in", inputs=True),
              dense(np.arange(200), np.arange(200, 300), "L0->L1")]
    assert isinstance(place_partitioned(neurons, blocks), Placement)


def test_circuits_bound_layers_are_packed_and_split():
    # 10 inputs -> L0 (400) -> L1 (300), in-degrees 10 and 1: only circuits run out
    neurons = [NeuronBlock("L0", 400), NeuronBlock("L1", 300)]
    blocks = [dense(np.arange(10), np.arange(400), "in->L0", inputs=True),
              connect(np.arange(300) % 400, 400 + np.arange(300), "L0->L1")]
    with pytest.raises(PlacementError, match="neuron circuits"):
        place(neurons, blocks)
    placement = place_partitioned(neurons, blocks)
    assert isinstance(placement, PartitionedPlacement)
    assert [[(s.label, s.start, s.stop) for s in run] for run in placement.slices] == [
        [("L0", 0, 400), ("L1", 0, 112)], [("L1", 112, 300)]]
    assert placement.run_of["L1"].tolist() == [0] * 112 + [1] * 188
    assert placement.circuits["L1"].tolist() == list(range(400, 512)) + list(range(188))
    assert placement.in_degree.tolist() == [10] * 400 + [1] * 300
    text = str(placement)
    assert "placement over 2 runs" in text and "run 1: 'L1'[112:300]" in text


def test_every_run_fits_the_chip_and_runs_follow_the_layers():
    rng = np.random.default_rng(4)
    sizes = [250, 250, 250]
    neurons = [NeuronBlock(f"L{i}", n) for i, n in enumerate(sizes)]
    starts = np.cumsum([0] + sizes)
    blocks = [dense(np.arange(100), np.arange(250), "in->L0", inputs=True)]
    for i in (1, 2):   # 120 random presynaptic neurons per neuron of the next layer
        post = np.repeat(np.arange(starts[i], starts[i + 1]), 120)
        pre = starts[i - 1] + np.concatenate([rng.choice(250, 120, replace=False)
                                              for _ in range(250)])
        blocks.append(connect(pre, post, f"L{i - 1}->L{i}", weight=rng.uniform(0.1, 1.0)))
    placement = place_partitioned(neurons, blocks)
    assert len(placement.runs) >= 2
    run_of = np.concatenate([placement.run_of[n.label] for n in neurons])
    for run in placement.runs:
        assert sum(len(c) for c in run.circuits.values()) <= 512
        assert run.rows_used().max() <= 64 and run.in_degree.max() <= 256
    for routed, block in zip(placement.projections, blocks):
        # each connection realised once, on one weight scale over the runs
        assert np.array_equal(np.unique(routed.synapses["connection"]),
                              np.arange(block.post.size))
        expected = np.round(block.magnitude / (block.magnitude.max() / 63))
        assert np.array_equal(routed.weight_steps, expected)
        # feed-forward: a connection's source ran before or with its target
        from_neuron = block.pre_neuron >= 0
        assert (run_of[block.pre_neuron[from_neuron]] <= run_of[block.post[from_neuron]]).all()
        # within a run no two synapses share a place
        where = routed.synapses
        places = set(zip(run_of[block.post[where["connection"]]].tolist(),
                         where["hemisphere"].tolist(), where["row"].tolist(),
                         where["column"].tolist()))
        assert len(places) == where["row"].size


def test_a_recurrent_network_that_does_not_fit_is_refused():
    neurons = [NeuronBlock("L0", 400), NeuronBlock("L1", 200)]
    blocks = [dense(np.arange(10), np.arange(400), "in", inputs=True),
              connect(np.arange(200), 400 + np.arange(200), "L0->L1"),
              connect(400 + np.arange(200), np.arange(200), "L1->L0")]
    with pytest.raises(PlacementError, match=r"neuron circuits.*600.*not feed-forward.*L0"):
        place_partitioned(neurons, blocks)


def test_a_neuron_that_needs_more_than_a_chip_is_refused():
    neurons = [NeuronBlock("big", 600)]
    blocks = [dense(np.arange(300), np.arange(600), "in", inputs=True)]
    with pytest.raises(PlacementError, match=r"in-degree.*300.*partitioning over runs cannot"):
        place_partitioned(neurons, blocks)


def test_one_rounding_warning_per_projection_over_all_runs():
    """Weights rounded to 0 in a partitioned network: counted over all runs, warned once."""
    from pyNN_jax.hardware.placement import RoundingWarning
    neurons = [NeuronBlock("L0", 400), NeuronBlock("L1", 300)]
    magnitude = np.where(np.arange(300) % 3 == 0, 0.001, 1.0)     # 100 of 300 below 1/126
    blocks = [dense(np.arange(10), np.arange(400), "in->L0", inputs=True),
              ConnectionBlock("L0->L1", np.arange(300), 400 + np.arange(300), magnitude,
                              False, pre_neuron=np.arange(300))]
    with pytest.warns(RoundingWarning) as record:
        placement = place_partitioned(neurons, blocks)
    assert len(placement.runs) == 2
    assert [str(w.message).split(":")[0] for w in record] == ["projection 'L0->L1'"]
    assert "100 of 300 weights" in str(record[0].message)
    routed = placement.projections[1]
    assert routed.rounded_to_zero == 100 and routed.n_synapses == 200
    assert placement.in_degree[400:].tolist() == [0 if i % 3 == 0 else 1 for i in range(300)]


def test_a_permutation_cannot_be_split_over_runs():
    from pyNN import errors
    neurons = [NeuronBlock("L0", 400), NeuronBlock("L1", 300)]
    blocks = [connect(np.arange(300), 400 + np.arange(300), "L0->L1")]
    permutation = np.arange(512)[::-1]
    assert place_partitioned(neurons[:1], [], permutation).circuits["L0"][0] == 511
    with pytest.raises(errors.InvalidParameterValueError, match="neuron_permutation"):
        place_partitioned(neurons, blocks, permutation)
