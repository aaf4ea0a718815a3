"""Recording and Neo output: the structure of pyNN.nest's, data kept through errors, files."""
import numpy as np
import pytest
import quantities as pq

from ..conftest import needs_nest


def record_network(sim, **setup):
    sim.setup(timestep=0.1, min_delay=0.1, **setup)
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[5.0, 15.0], [7.0]]), label="input")
    cells = sim.Population(3, sim.IF_cond_exp(i_offset=[0.0, 1.0, 0.5], tau_refrac=2.0),
                           label="cells")
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.05, delay=1.0))
    cells.record(["v", "gsyn_exc", "spikes"])
    cells[1:].record("gsyn_inh")
    src.record("spikes")
    sim.run(30.0)
    sim.reset()
    sim.run(20.0)
    return cells.get_data(), src.get_data()


def describe(block):
    """The structure of a Neo block, without the data."""
    segments = []
    for seg in block.segments:
        segments.append({
            "name": seg.name,
            "spiketrains": [(sorted(st.annotations), float(st.t_start), float(st.t_stop),
                             str(st.units)) for st in seg.spiketrains],
            "signals": sorted((sig.name, sig.shape, str(sig.units), float(sig.sampling_period),
                               float(sig.t_start), sorted(sig.annotations),
                               sorted(sig.array_annotations),
                               list(sig.array_annotations["channel_index"]))
                              for sig in seg.analogsignals),
        })
    return {"annotations": sorted(k for k in block.annotations), "segments": segments,
            "name": block.name}


@needs_nest
def test_neo_structure_equals_pyNN_nest():
    import pyNN.jax
    import pyNN.nest
    ours = record_network(pyNN.jax)
    theirs = record_network(pyNN.nest, spike_precision="on_grid", t_flush=200.0)
    for a, b in zip(ours, theirs):
        assert describe(a) == describe(b)
    assert ours[0].annotations["simulator"] == "JAX"
    # the data too: same spike times, and v within float32 precision
    for seg_a, seg_b in zip(ours[0].segments, theirs[0].segments):
        for st_a, st_b in zip(seg_a.spiketrains, seg_b.spiketrains):
            np.testing.assert_allclose(st_a.magnitude, st_b.magnitude, atol=1e-9)
        v_a = seg_a.filter(name="v")[0].magnitude
        v_b = seg_b.filter(name="v")[0].magnitude
        np.testing.assert_allclose(v_a, v_b, atol=2e-3)


def test_sampling_interval_and_sample_count(sim):
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=0.5))
    cells.record("v", sampling_interval=0.5)
    sim.run(20.0)
    sim.run(10.0)
    v = cells.get_data().segments[0].filter(name="v")[0]
    assert v.shape == (61, 2)                    # t = 0, 0.5, ..., 30 ms
    assert float(v.sampling_period) == 0.5
    # the sample at 0.5 ms is the membrane after five steps of the closed-form solution
    expected = -65.0 + 20.0 * 0.5 * (1 - np.exp(-0.5 / 20.0))
    assert v[1, 0].magnitude.item() == pytest.approx(expected, abs=1e-4)


def test_get_data_clear_and_spike_counts(sim):
    cells = sim.Population(3, sim.IF_curr_exp(i_offset=[0.0, 1.0, 2.0]))
    cells.record("spikes")
    sim.run(100.0)
    counts = cells.get_spike_counts()
    mean_count = cells.mean_spike_count()
    data = cells.get_data(clear=True).segments[0]
    assert [len(st) for st in data.spiketrains] == [counts[c] for c in cells.all_cells]
    first, second, third = (counts[c] for c in cells.all_cells)
    assert first == 0 and third > second
    assert mean_count == pytest.approx(np.mean(list(counts.values())))
    sim.run(50.0)
    later = cells.get_data().segments[0]
    assert all(float(t) > 100.0 for st in later.spiketrains for t in st)


def test_record_all_and_record_class_constructor(sim):
    """Population(n, CellClass) and record('all') work, as scripts in the wild expect."""
    cells = sim.Population(2, sim.IF_cond_alpha)
    cells.record("all")
    sim.run(5.0)
    names = {sig.name for sig in cells.get_data().segments[0].analogsignals}
    assert names == {"v", "gsyn_exc", "gsyn_inh"}


def test_record_only_a_view(sim):
    cells = sim.Population(10, sim.IF_curr_exp(i_offset=np.linspace(0, 2, 10)))
    cells[[2, 5, 7]].record(["spikes", "v"])
    sim.run(50.0)
    seg = cells.get_data().segments[0]
    assert [st.annotations["source_index"] for st in seg.spiketrains] == [2, 5, 7]
    assert list(seg.analogsignals[0].array_annotations["channel_index"]) == [2, 5, 7]


@pytest.mark.parametrize("extension", ["pkl", "nix"])
def test_write_data_round_trip(sim, tmp_path, extension):
    if extension == "nix":
        pytest.importorskip("nixio")
    import neo
    cells = sim.Population(3, sim.IF_curr_exp(i_offset=[0.5, 1.0, 1.5]), label="cells")
    cells.record(["spikes", "v"])
    sim.run(40.0)
    filename = str(tmp_path / f"data.{extension}")
    cells.write_data(filename)
    original = cells.get_data().segments[0]
    io = neo.io.get_io(filename)
    block = io.read_block()
    if hasattr(io, "close"):
        io.close()
    segment = block.segments[0]
    for a, b in zip(original.spiketrains, segment.spiketrains):
        np.testing.assert_allclose(a.rescale(pq.ms).magnitude, b.rescale(pq.ms).magnitude)
    np.testing.assert_allclose(original.analogsignals[0].magnitude,
                               segment.analogsignals[0].magnitude)


def test_record_to_file_written_by_end(tmp_path):
    import pickle
    import pyNN.jax as sim
    sim.setup()
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    filename = str(tmp_path / "end.pkl")
    cells.record("spikes", to_file=filename)
    sim.run(50.0)
    sim.end()
    with open(filename, "rb") as f:
        block = pickle.load(f)
    assert sum(len(st) for st in block.segments[0].spiketrains) == 2 * 1


def test_data_recorded_before_an_error_is_kept(sim):
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    cells.record(["spikes", "v"])
    sim.run(60.0)
    before = cells.get_data().segments[0]
    with pytest.raises(sim.errors.InvalidParameterValueError):
        cells.set(tau_m=-1.0)
    after = cells.get_data().segments[0]
    assert [len(st) for st in after.spiketrains] == [len(st) for st in before.spiketrains] == [2, 2]
    np.testing.assert_array_equal(after.analogsignals[0].magnitude,
                                  before.analogsignals[0].magnitude)
    sim.run(10.0)                                 # and the simulation goes on
    assert cells.get_data().segments[0].analogsignals[0].shape[0] == 701


def spike_source_network(sim):
    """Five SpikeSourceArray cells after a Population of two (ids 2-6); cell 1 never fires."""
    sim.Population(2, sim.IF_curr_exp())
    times = [[5.0, 12.3], [], [0.5, 1.0, 29.9], [7.0], [3.0, 4.0]]
    sources = sim.Population(5, sim.SpikeSourceArray(spike_times=times), label="sources")
    sources.record("spikes")
    sim.run(30.0)
    return sources, times


def test_spike_trains_carry_plain_int_ids_and_the_given_times(sim):
    sources, times = spike_source_network(sim)
    trains = sources.get_data().segments[0].spiketrains
    assert len(trains) == 5
    for index, (train, expected) in enumerate(zip(trains, times)):
        channel_id = train.annotations["channel_id"]
        source_index = train.annotations["source_index"]
        assert type(channel_id) is int and type(source_index) is int
        assert channel_id == int(sources[index]) == 2 + index and source_index == index
        assert sources.id_to_index(channel_id) == index
        np.testing.assert_allclose(train.rescale(pq.ms).magnitude, expected, atol=1e-9)
        assert (float(train.t_start), float(train.t_stop)) == (0.0, 30.0)
        assert train.annotations["source_population"] == "sources"
        assert train.segment is trains.segment


def test_spike_trains_split_like_neo_from_unsorted_arrays():
    """Spike trains of the fast SpikeTrainList equal Neo's own split of the same arrays, in
    any order of the spikes."""
    from neo.core.spiketrainlist import SpikeTrainList as NeoSpikeTrainList
    from pyNN_jax.recording import SpikeTrainList
    rng = np.random.default_rng(3)
    ids = rng.integers(10, 20, 200)
    times = rng.uniform(0.0, 100.0, 200)
    arguments = (times, ids, np.arange(8, 22), 100.0 * pq.ms)
    annotations = dict(units="ms", source_index=np.arange(14), source_population="p")
    ours = list(SpikeTrainList.from_spike_time_array(*arguments, **annotations))
    neos = list(NeoSpikeTrainList.from_spike_time_array(*arguments, **annotations))
    assert len(ours) == len(neos) == 14
    for a, b in zip(ours, neos):
        assert a.annotations == b.annotations
        np.testing.assert_array_equal(np.sort(a.magnitude), np.sort(b.magnitude))
        assert (a.t_start, a.t_stop) == (b.t_start, b.t_stop)


def test_pickled_block_reads_back_as_neo_classes(sim, tmp_path):
    import pickle
    from neo.core.spiketrainlist import SpikeTrainList as NeoSpikeTrainList
    sources, times = spike_source_network(sim)
    sources.write_data(str(tmp_path / "spikes.pkl"))
    with open(tmp_path / "spikes.pkl", "rb") as f:
        trains = pickle.load(f).segments[0].spiketrains
    assert type(trains) is NeoSpikeTrainList
    assert [list(train.magnitude) for train in trains] == times


def test_id_to_index_of_numpy_integers_does_not_fetch_parameters(sim, monkeypatch):
    """numpy's look-ups of special names on an ID must not reach the cell's parameters."""
    cells = sim.Population(4, sim.IF_cond_exp())
    monkeypatch.setattr(sim.simulator.ID, "get_parameters",
                        lambda self: pytest.fail("parameters fetched"))
    assert cells.id_to_index(np.int64(int(cells[2]))) == 2
    assert list(cells.id_to_index(np.array([int(c) for c in cells[1:3]]))) == [1, 2]
    assert not hasattr(cells[0], "__array_interface__")


@pytest.mark.parametrize("span", [5, 70_000, 2 ** 40])
@pytest.mark.parametrize("in_time_order", [True, False])
def test_recorded_spikes_come_out_sorted_by_cell_then_time(sim, span, in_time_order):
    """Ids beyond one 16-bit digit of the radix sort; spikes appended in time order, as the
    engine does, or a cell's times out of order (the lexsort fallback)."""
    recorder = sim.Population(1, sim.IF_curr_exp()).recorder
    rng = np.random.default_rng(span)
    ids = rng.integers(0, span, 500)
    times = rng.uniform(0.0, 100.0, 500)
    if in_time_order:
        times.sort()
    for chunk in np.array_split(np.arange(500), 4):
        recorder._append_spikes(ids[chunk], times[chunk])
    got_ids, got_times = recorder._get_spiketimes(np.unique(ids))
    order = np.lexsort((times, ids))
    np.testing.assert_array_equal(got_ids, ids[order])
    np.testing.assert_array_equal(got_times, times[order])
