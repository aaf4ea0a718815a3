"""tonic events -> spike times and SpikeSourceArray Populations, on pyNN.jax and pyNN.nest.

The events are synthetic, of tonic's real dtypes (datasets cannot be downloaded here); where a
dataset class reads a file, the test writes a small file in that format.
"""
import importlib

import numpy as np
import pytest

from pyNN.space import Grid2D

from pyNN_jax.io import tonic as tio
from ..conftest import needs_nest

tonic = pytest.importorskip("tonic", reason="the tonic package is not installed")

SENSOR = (5, 3, 2)        # W, H, P


def make_events(x, y, t, p, dtype=None):
    """Events of tonic's own struct (x, y, t, p) or of a dataset's dtype, fields by name."""
    dtype = tonic.io.events_struct if dtype is None else np.dtype(dtype)
    events = np.zeros(len(t), dtype=dtype)
    for name, values in (("x", x), ("y", y), ("t", t), ("p", p)):
        events[name] = values
    return events


# events: (x, y, t in us, p)
EVENTS = make_events(x=[4, 0, 4, 2, 0, 4], y=[2, 0, 2, 1, 0, 0],
                     t=[3500, 1000, 1200, 2000, 1000, 700], p=[1, 0, 1, 0, 1, 0])
# neuron p*15 + y*5 + x:      29, 0, 29, 7, 15, 4
EXPECTED = {29: [1.2, 3.5], 0: [1.0], 7: [2.0], 15: [1.0], 4: [0.7]}


def as_dict(times):
    return {i: list(t) for i, t in enumerate(times) if len(t)}


def test_pyNN_jax_io_tonic_is_pyNN_jax_io_tonic():
    assert importlib.import_module("pyNN.jax.io.tonic") is tio
    assert importlib.import_module("pyNN.jax.io") is importlib.import_module("pyNN_jax.io")


def test_neuron_index_is_p_W_H_plus_y_W_plus_x():
    np.testing.assert_array_equal(tio.neuron_index(EVENTS, SENSOR), [29, 0, 29, 7, 15, 4])
    np.testing.assert_array_equal(tio.neuron_index(EVENTS, SENSOR, polarity=False),
                                  [14, 0, 14, 7, 0, 4])
    assert tio.n_neurons(SENSOR) == 30 and tio.n_neurons(SENSOR, polarity=False) == 15


def test_index_is_the_layout_of_tonic_frames():
    rng = np.random.default_rng(0)
    n = 500
    events = make_events(rng.integers(0, 5, n), rng.integers(0, 3, n),
                         np.sort(rng.integers(0, 10_000, n)), rng.integers(0, 2, n))
    frame = tonic.transforms.ToFrame(sensor_size=SENSOR, n_event_bins=1)(events)[0]
    counts = [len(t) for t in tio.spike_times(events, SENSOR)]
    np.testing.assert_array_equal(counts, frame.ravel())


def test_spike_times_exact_sorted_in_ms():
    times = tio.spike_times(EVENTS, SENSOR)
    assert len(times) == 30
    assert as_dict(times) == EXPECTED
    shifted = tio.spike_times(EVENTS, SENSOR, t_offset=1.0)
    assert as_dict(shifted) == {i: [v + 1.0 for v in t] for i, t in EXPECTED.items()}


def test_any_field_order_gives_the_same_spike_times():
    for dtype in (tonic.datasets.NMNIST.dtype, tonic.datasets.POKERDVS.dtype):
        events = make_events(EVENTS["x"], EVENTS["y"], EVENTS["t"], EVENTS["p"], dtype)
        assert as_dict(tio.spike_times(events, SENSOR)) == EXPECTED


def test_events_without_y_or_polarity_fields():
    audio = np.zeros(3, dtype=[("t", np.int64), ("x", np.int16), ("p", np.int8)])
    audio["t"], audio["x"], audio["p"] = [2000, 1000, 3000], [699, 3, 3], [0, 0, 0]
    times = tio.spike_times(audio, (700, 1, 1))
    assert len(times) == 700 and as_dict(times) == {3: [1.0, 3.0], 699: [2.0]}
    no_p = np.zeros(2, dtype=[("x", np.int16), ("y", np.int16), ("t", np.int64)])
    no_p["x"], no_p["y"], no_p["t"] = [1, 1], [2, 2], [500, 400]
    assert as_dict(tio.spike_times(no_p, SENSOR)) == {11: [0.4, 0.5]}


def test_polarities_minus_one_plus_one_are_zero_one():
    events = make_events([1, 1], [0, 0], [100, 200], [-1, 1],
                         dtype=[("t", int), ("x", int), ("y", int), ("p", int)])
    assert as_dict(tio.spike_times(events, SENSOR)) == {1: [0.1], 16: [0.2]}


def test_merge_keeps_the_first_spike_of_each_step():
    events = make_events([0] * 6 + [1], [0] * 7,
                         [1000, 1050, 1100, 0, 50, 1160, 1050], [0] * 7)
    assert as_dict(tio.spike_times(events, SENSOR)) == {
        0: [0.0, 0.05, 1.0, 1.05, 1.1, 1.16], 1: [1.05]}
    # steps k dt < t <= (k+1) dt, t = 0 in the first: {0, 0.05}, {1.0}, {1.05, 1.1}, {1.16}
    merged = tio.spike_times(events, SENSOR, duplicates="merge", dt=0.1)
    assert as_dict(merged) == {0: [0.0, 1.0, 1.05, 1.16], 1: [1.05]}


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"x = 5 lies outside the sensor \(0 <= x < 5\)"):
        tio.spike_times(make_events([5], [0], [0], [0]), SENSOR)
    with pytest.raises(ValueError, match=r"p = 2 lies outside"):
        tio.spike_times(make_events([0], [0], [0], [2], dtype=tonic.datasets.NMNIST.dtype),
                        SENSOR)
    with pytest.raises(ValueError, match="needs the time step"):
        tio.spike_times(EVENTS, SENSOR, duplicates="merge")
    with pytest.raises(ValueError, match="duplicates = 'drop'"):
        tio.spike_times(EVENTS, SENSOR, duplicates="drop")
    with pytest.raises(ValueError, match="need a field 'x'"):
        tio.spike_times(np.zeros(2, dtype=[("t", int)]), SENSOR)


def test_a_million_events_every_one_kept_sorted_per_neuron():
    """(Its speed, 1M events in well under 1 s, is measured by benchmarks/tonic_benchmark.py.)"""
    rng = np.random.default_rng(1)
    n = 1_000_000
    x, y, p = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
    t = rng.integers(0, 1_000_000, n)
    times = tio.spike_times(make_events(x, y, t, p), (128, 128, 2))
    assert len(times) == 32768 and sum(len(s) for s in times) == n
    assert all(np.all(np.diff(s) >= 0) for s in times)
    index = p * 128 * 128 + y * 128 + x
    for neuron in (0, 12345, 32767):
        np.testing.assert_allclose(times[neuron], np.sort(t[index == neuron]) / 1000.0)


def test_after_tonic_transforms():
    events = make_events(x=[4, 3, 0, 1], y=[2, 2, 0, 1], t=[1000, 1500, 30_000, 2000],
                         p=[1, 1, 0, 0])
    # Denoise drops the isolated event at t = 30 ms (no neighbour within 10 ms)
    denoised = tonic.transforms.Denoise(filter_time=10_000)(events)
    assert as_dict(tio.spike_times(denoised, SENSOR)) == {29: [1.0], 28: [1.5], 6: [2.0]}
    # Downsample halves the coordinates: the sensor becomes (3, 2, 2)
    small = tonic.transforms.Downsample(spatial_factor=0.5)(events)
    assert as_dict(tio.spike_times(small, (3, 2, 2))) == {11: [1.0], 10: [1.5], 0: [2.0, 30.0]}
    with pytest.raises(ValueError, match="give the sensor_size of the events as transformed"):
        tio.spike_times(small, (2, 1, 2))
    merged = tonic.transforms.MergePolarities()(events)
    assert as_dict(tio.spike_times(merged, SENSOR)) == {14: [1.0], 13: [1.5], 0: [30.0],
                                                        6: [2.0]}


def test_nmnist_binary_file_read_by_tonic(tmp_path):
    """An N-MNIST .bin file (5 bytes per event: x, y, p<<7 | t>>16, t>>8, t), read with the
    reader and dtype the NMNIST dataset class uses."""
    x, y, p, t = [33, 0, 10, 33], [33, 0, 5, 33], [1, 0, 1, 1], [300_000, 100, 2_000, 250_000]
    raw = bytearray()
    for xi, yi, pi, ti in zip(x, y, p, t):
        raw += bytes([xi, yi, (pi << 7) | (ti >> 16), (ti >> 8) & 0xFF, ti & 0xFF])
    path = tmp_path / "00001.bin"
    path.write_bytes(bytes(raw))
    events = tonic.io.read_mnist_file(str(path), dtype=tonic.datasets.NMNIST.dtype)
    assert events.dtype.names == ("x", "y", "t", "p")
    sensor = tonic.datasets.NMNIST.sensor_size
    times = tio.spike_times(events, sensor)
    assert len(times) == 34 * 34 * 2
    assert as_dict(times) == {1156 + 33 * 34 + 33: [250.0, 300.0], 0: [0.1],
                              1156 + 5 * 34 + 10: [2.0]}


@pytest.fixture
def pokerdvs_root(tmp_path):
    """A POKERDVS training set on disk, 20 .npy files of (t, x, y, p) rows in class folders;
    the dataset class then reads them without downloading."""
    root = tmp_path / "POKERDVS"
    (root / "pips_train").mkdir(parents=True)
    (root / "pips_train.tar.gz").write_bytes(b"")
    for suit, label in tonic.datasets.POKERDVS.int_classes.items():
        folder = root / "pips_train" / suit
        folder.mkdir()
        for n in range(5):       # one event at pixel (label, n), t = n + 1 ms; two at (34, 34)
            rows = np.array([[1000 * (n + 1), label, n, 0], [500, 34, 34, 1], [500, 34, 34, 1]])
            np.save(folder / f"{suit}{n}.npy", rows)
    return tmp_path


def test_pokerdvs_dataset_class_reads_written_files(pokerdvs_root):
    dataset = tonic.datasets.POKERDVS(save_to=str(pokerdvs_root), train=True)
    assert len(dataset) == 20
    corner = 35 * 35 + 34 * 35 + 34                   # p = 1, y = 34, x = 34
    samples = list(zip(dataset, tio.per_sample(dataset, dataset.sensor_size)))
    assert len(samples) == 20
    for (events, target), times in samples:
        assert events.dtype.names == ("t", "x", "y", "p")
        spikes = as_dict(times)
        assert spikes.pop(corner) == [0.5, 0.5]
        (index, pixel_times), = spikes.items()
        y, x = divmod(index, 35)
        assert x == target and pixel_times == [y + 1.0]


def test_population_on_pyNN_jax_has_sensor_layout_and_emits_the_events(sim):
    source = tio.population(sim, EVENTS, SENSOR, label="retina")
    assert source.size == 30 and source.label == "retina"
    assert isinstance(source.structure, Grid2D)
    np.testing.assert_array_equal(source.positions[:, 29], [4.0, 2.0, 1.0])   # x, y, p
    np.testing.assert_array_equal(source.positions[:, 7], [2.0, 1.0, 0.0])
    source.record("spikes")
    sim.run(5.0)
    trains = source.get_data().segments[0].spiketrains
    assert {i: list(st.magnitude) for i, st in enumerate(trains) if len(st)} == EXPECTED
    flat = tio.population(sim, EVENTS, SENSOR, polarity=False)
    assert flat.size == 15 and flat.structure.planes == 1


def test_population_with_two_events_in_one_step(sim):
    """pyNN.jax delivers both as one event of multiplicity 2, at the earlier time: the
    target gets twice the weight of one event at that time."""
    events = make_events([0, 0, 1], [0, 0, 0], [1020, 1060, 1020], [0, 0, 0])
    source = tio.population(sim, events, (2, 1, 1))
    target = sim.Population(2, sim.IF_curr_exp(tau_refrac=0.0))
    sim.Projection(source, target, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.0))
    target.record("v")
    sim.run(5.0)
    v = target.get_data().segments[0].analogsignals[0].magnitude
    rise = v.max(axis=0) - v[0]
    np.testing.assert_allclose(rise[0], 2 * rise[1], rtol=1e-5)
    merged = tio.population(sim, events, (2, 1, 1), duplicates="merge")
    assert [list(t.value) for t in merged.get("spike_times", simplify=False)] == [
        [1.02], [1.02]]


def test_one_segment_per_sample(sim):
    samples = [(make_events([0, 1], [0, 0], [1000, 2000], [0, 0]), 3),
               (make_events([1, 1], [0, 0], [500, 4000], [0, 0]), 7)]
    per_sample = tio.per_sample(samples, (2, 1, 1))
    source = tio.population(sim, samples[0][0], (2, 1, 1))
    source.record("spikes")
    for k, times in enumerate(per_sample):
        if k:
            sim.reset()
            tio.set_spike_times(source, times)
        sim.run(5.0)
    segments = source.get_data().segments
    assert [[list(st.magnitude) for st in seg.spiketrains] for seg in segments] == [
        [[1.0], [2.0]], [[], [0.5, 4.0]]]
    with pytest.raises(ValueError, match="1 spike-time arrays for a population of 2"):
        tio.set_spike_times(source, [np.array([1.0])])


def test_concatenate_presents_samples_after_gaps():
    first = make_events([0, 1], [0, 0], [1000, 3000], [0, 0])
    second = make_events([1], [0], [500], [1], dtype=tonic.datasets.POKERDVS.dtype)
    events, onsets = tio.concatenate([(first, 0), (second, 1), first], gap_ms=10.0)
    assert events.dtype == first.dtype
    np.testing.assert_array_equal(onsets, [0.0, 13.0, 23.5])
    np.testing.assert_array_equal(events["t"], [1000, 3000, 13_500, 24_500, 26_500])
    times = tio.spike_times(events, (2, 1, 2))
    assert as_dict(times) == {0: [1.0, 24.5], 1: [3.0, 26.5], 3: [13.5]}
    with pytest.raises(ValueError, match="gap_ms = -1"):
        tio.concatenate([first], gap_ms=-1)
    with pytest.raises(ValueError, match="different fields"):
        tio.concatenate([first, np.zeros(1, dtype=[("x", int), ("t", int)])], gap_ms=1.0)


@needs_nest
def test_population_on_pyNN_nest_emits_every_event():
    """pyNN.nest: identical times are separate spikes; the input is shifted by 1 ms since
    pyNN.nest cannot emit at t <= min_delay."""
    import pyNN.nest as nest_sim
    nest_sim.setup(timestep=0.1, min_delay=0.1)
    events = make_events([4, 0, 4, 2, 4], [2, 0, 2, 1, 2], [3500, 1000, 1200, 2000, 3500],
                         [1, 0, 1, 0, 1])
    source = tio.population(nest_sim, events, SENSOR, t_offset=1.0)
    assert source.size == 30 and isinstance(source.structure, Grid2D)
    source.record("spikes")
    nest_sim.run(6.0)
    trains = source.get_data().segments[0].spiketrains
    got = {i: list(st.magnitude) for i, st in enumerate(trains) if len(st)}
    nest_sim.end()
    assert got.keys() == {29, 0, 7}
    np.testing.assert_allclose(got[29], [2.2, 4.5, 4.5])
    np.testing.assert_allclose(got[0], [2.0])
    np.testing.assert_allclose(got[7], [3.0])
