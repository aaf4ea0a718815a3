"""Parameter sweeps (pyNN_jax.sweeps.run_sweep): every set of one vmapped call gives the spikes
and membrane traces of a sequential run of that set (same seed), for cell parameters,
weights, input rates and seeds; the simulator is left as it was; unsupported sweeps raise."""
import subprocess
import sys
from pathlib import Path

import neo
import numpy as np
import pytest

import pyNN.jax as sim
from pyNN import errors
from pyNN.random import NumpyRNG

from pyNN_jax.sweeps import run_sweep

DURATION = 300.0      # ms


def build(rng_seed=7, chunk_steps=None):
    """Poisson sources driving conductance-based cells that inhibit each other, with
    depressing synapses onto a second group: every kind of sweepable value is used."""
    sim.setup(timestep=0.1, min_delay=0.1, rng_seed=rng_seed, chunk_steps=chunk_steps,
              spike_precision="on_grid")
    net = {}
    net["src"] = sim.Population(30, sim.SpikeSourcePoisson(rate=40.0), label="src")
    net["cells"] = sim.Population(20, sim.IF_cond_exp(tau_m=15.0), label="cells")
    net["readout"] = sim.Population(5, sim.IF_curr_exp(tau_syn_E=3.0), label="readout")
    net["input"] = sim.Projection(
        net["src"], net["cells"], sim.FixedProbabilityConnector(0.3, rng=NumpyRNG(1)),
        sim.StaticSynapse(weight=0.006, delay=0.5), receptor_type="excitatory", label="input")
    net["recurrent"] = sim.Projection(
        net["cells"], net["cells"], sim.FixedProbabilityConnector(0.2, rng=NumpyRNG(2)),
        sim.StaticSynapse(weight=0.01, delay=1.0), receptor_type="inhibitory",
        label="recurrent")
    net["depressing"] = sim.Projection(
        net["cells"], net["readout"], sim.AllToAllConnector(),
        sim.TsodyksMarkramSynapse(weight=0.3, delay=0.8, U=0.5, tau_rec=100.0),
        receptor_type="excitatory", label="depressing")
    net["cells"].record(["spikes", "v"])
    net["readout"].record(["spikes", "v"])
    net["src"].record("spikes")
    return net


def sequential(changes_by_name, set_index, rng_seed=7):
    """The data of one set from an ordinary run: set the values, run, get_data()."""
    net = build(rng_seed)
    for (name, parameter), values in changes_by_name.items():
        value = np.asarray(values)[set_index]
        if isinstance(net[name], sim.Projection) and np.ndim(value):
            # one value per connection, in connection order, as a (pre, post) matrix
            pre, post, _ = np.array(net[name].get(parameter, format="list",
                                                  with_address=True)).T
            matrix = np.full((net[name].pre.size, net[name].post.size), np.nan)
            matrix[pre.astype(int), post.astype(int)] = value
            net[name].set(**{parameter: matrix})
        else:
            net[name].set(**{parameter: value})
    sim.run(DURATION)
    return {net[label]: net[label].get_data() for label in ("src", "cells", "readout")}, net


def swept(changes_by_name, rng_seed=7, **options):
    net = build(rng_seed)
    parameters = {(net[name], parameter): values
                  for (name, parameter), values in changes_by_name.items()}
    return run_sweep(DURATION, parameters, **options), net


def assert_same_data(block, reference):
    """Same spike times (exactly) and membrane traces as the reference block."""
    segment, expected = block.segments[-1], reference.segments[-1]
    assert len(segment.spiketrains) == len(expected.spiketrains)
    for train, train_expected in zip(segment.spiketrains, expected.spiketrains):
        assert train.annotations["source_index"] == train_expected.annotations["source_index"]
        np.testing.assert_array_equal(train.magnitude, train_expected.magnitude)
        assert train.t_stop == train_expected.t_stop
    assert len(segment.analogsignals) == len(expected.analogsignals)
    for signal, signal_expected in zip(segment.analogsignals, expected.analogsignals):
        assert signal.shape == signal_expected.shape
        assert signal.sampling_period == signal_expected.sampling_period
        np.testing.assert_allclose(signal.magnitude, signal_expected.magnitude, atol=1e-4)


def check_against_sequential(changes_by_name, seeds=None):
    n_sets = len(seeds) if seeds is not None else len(next(iter(changes_by_name.values())))
    results, net = swept(changes_by_name, seeds=seeds)
    assert len(results) == n_sets
    labels = {population.label for population in results[0]}
    assert labels == {"src", "cells", "readout"}
    spike_counts = []
    for i in range(n_sets):
        rng_seed = seeds[i] if seeds is not None else 7
        reference, _ = sequential(changes_by_name, i, rng_seed)
        reference = {population.label: block for population, block in reference.items()}
        for population, block in results[i].items():
            assert_same_data(block, reference[population.label])
        spike_counts.append([sum(len(t) for t in block.segments[0].spiketrains)
                             for block in results[i].values()])
    spike_counts = np.array(spike_counts)
    assert (spike_counts[:, 1] > 0).sum() >= min(2, n_sets), \
        "the cells must spike for the comparison to mean anything"
    return spike_counts


def test_cell_parameters_equal_sequential_runs():
    per_cell = np.linspace(-52.0, -48.0, 20)
    counts = check_against_sequential({
        ("cells", "tau_m"): [10.0, 15.0, 25.0],
        ("cells", "v_thresh"): np.stack([per_cell, per_cell - 1.0, per_cell + 1.0])})
    assert len(set(counts[:, 1])) > 1          # the sets differ


def test_weights_equal_sequential_runs():
    net = build()
    n_input = len(net["input"])
    per_connection = np.random.default_rng(0).uniform(0.002, 0.012, (2, n_input))
    counts = check_against_sequential({
        ("input", "weight"): per_connection,
        ("recurrent", "weight"): [0.0, 0.03]})
    assert counts[0, 1] != counts[1, 1]


def test_input_rates_equal_sequential_runs():
    counts = check_against_sequential({("src", "rate"): [10.0, 40.0, 90.0]})
    assert counts[0, 0] < counts[1, 0] < counts[2, 0]     # source spikes grow with the rate


def test_seeds_equal_sequential_runs_with_those_seeds():
    counts = check_against_sequential({}, seeds=[1, 2, 3])
    assert len(set(counts[:, 0])) > 1


def test_recording_every_other_cell_equals_sequential_runs():
    """Recorded cells that are not one range of indices (gathered, not sliced)."""
    def record_every_other_cell(net):
        net["cells"].record(None)
        net["cells"][::2].record("spikes")
        return net

    net = record_every_other_cell(build())
    results = run_sweep(DURATION, seeds=[3, 4])
    for seed, result in zip((3, 4), results):
        reference = record_every_other_cell(build(rng_seed=seed))
        sim.run(DURATION)
        expected = reference["cells"].get_data().segments[0].spiketrains
        trains = result[net["cells"]].segments[0].spiketrains
        assert [t.annotations["source_index"] for t in trains] == list(range(0, 20, 2))
        assert sum(len(t) for t in trains) > 0
        for train, train_expected in zip(trains, expected):
            np.testing.assert_array_equal(train.magnitude, train_expected.magnitude)


def test_depressing_synapse_parameters_and_the_time_constant_they_follow():
    """U is a column of the synapse table; tau_psc follows the target cells' tau_syn_E."""
    check_against_sequential({("depressing", "U"): [0.1, 0.9],
                              ("readout", "tau_syn_E"): [2.0, 6.0]})


def test_default_sets_give_what_run_gives_now_and_the_simulator_is_left_as_it_was():
    net = build()
    sim.run(50.0)
    sim.reset()                                        # segment 1: other random numbers
    results = run_sweep(DURATION, {(net["cells"], "tau_m"): [12.0, 15.0]})
    assert sim.get_current_time() == 0.0
    assert net["cells"].get("tau_m") == 15.0
    assert not sim.state.running
    before = net["cells"].get_data()                     # segment 0 only: nothing run since
    assert len(before.segments) == 1
    assert float(before.segments[0].spiketrains[0].t_stop) == 50.0
    sim.run(DURATION)                                  # unchanged network: the second set
    reference = net["cells"].get_data()
    assert len(reference.segments) == 2
    assert reference.segments[-1].name == results[1][net["cells"]].segments[0].name
    assert_same_data(results[1][net["cells"]], reference)
    assert len(results[1][net["cells"]].segments) == 1


def test_block_structure_is_that_of_get_data():
    results, net = swept({("cells", "tau_m"): [15.0]})
    block = results[0][net["cells"]]
    sim.run(DURATION)
    reference = net["cells"].get_data()
    assert block.name == reference.name
    assert block.annotations == reference.annotations
    segment, expected = block.segments[0], reference.segments[0]
    assert segment.name == expected.name
    assert [s.name for s in segment.analogsignals] == [s.name for s in expected.analogsignals]
    for signal, signal_expected in zip(segment.analogsignals, expected.analogsignals):
        assert signal.units == signal_expected.units
        assert signal.t_start == signal_expected.t_start
        np.testing.assert_array_equal(signal.array_annotations["channel_index"],
                                      signal_expected.array_annotations["channel_index"])


def test_sets_split_over_calls_and_chunks_give_the_same_data():
    rates = [10.0, 30.0, 60.0]
    together, net = swept({("src", "rate"): rates})
    cells = net["cells"]
    split_net = build(chunk_steps=70)                  # several chunks per call
    split = run_sweep(DURATION, {(split_net["src"], "rate"): rates}, max_sets_per_call=2)
    for a, b in zip(together, split):
        assert_same_data(b[split_net["cells"]], a[cells])


@pytest.mark.parametrize("make_parameters, error, match", [
    (lambda net: {(net["input"], "delay"): [1.0, 2.0]}, NotImplementedError, "delays"),
    (lambda net: {(net["cells"], "tau_x"): [1.0, 2.0]}, errors.NonExistentParameterError,
     "tau_x"),
    (lambda net: {(net["input"], "tau_x"): [1.0, 2.0]}, errors.NonExistentParameterError,
     "tau_x"),
    (lambda net: {(net["cells"], "tau_m"): [10.0, -1.0]}, errors.InvalidParameterValueError,
     "set 1: .*tau_m = -1.0"),
    (lambda net: {(net["cells"], "tau_m"): np.ones((2, 3))},
     errors.InvalidParameterValueError, r"\(n_sets, 20\)"),
    (lambda net: {(net["cells"], "tau_m"): [10.0, 12.0], (net["src"], "rate"): [1.0]},
     errors.InvalidParameterValueError, "one entry per set"),
    (lambda net: {}, errors.InvalidParameterValueError, "neither"),
    (lambda net: {(net["src"], "rate"): [1.0, 2.0], "seeds": [1, -2]},
     errors.InvalidParameterValueError, "non-negative integers"),
    (lambda net: {("cells", "tau_m"): [10.0]}, TypeError, "Population"),
])
def test_bad_sweeps_raise_clear_errors(make_parameters, error, match):
    net = build()
    parameters = make_parameters(net)
    seeds = parameters.pop("seeds", None)
    with pytest.raises(error, match=match):
        run_sweep(DURATION, parameters, seeds=seeds)
    assert net["cells"].get("tau_m") == 15.0           # restored after a failing set


def test_structure_parameters_cannot_be_swept():
    sim.setup(timestep=0.1)
    given = sim.Population(2, sim.SpikeSourceArray(spike_times=[1.0, 2.0]))
    cells = sim.Population(2, sim.IF_curr_exp())
    plastic = sim.Projection(given, cells, sim.OneToOneConnector(), sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(), weight_dependence=sim.AdditiveWeightDependence(),
        weight=0.5, delay=1.0))
    with pytest.raises(NotImplementedError, match="follows its parameters"):
        run_sweep(10.0, {(given, "spike_times"): [[1.0], [2.0]]})
    with pytest.raises(NotImplementedError, match="plastic"):
        run_sweep(10.0, {(plastic, "weight"): [0.1, 0.2]})


def _precise_network(tau_m=20.0):
    """IF_curr_exp cells with precise spike times (the default spike_precision, off_grid) at dt
    1 ms (float64), each receiving ~25 input events per step from 40 SpikeSourceArrays (one
    event per source and step) at times off the grid: more than the 8 slots per cell and step
    the events start with."""
    sim.setup(timestep=1.0, min_delay=1.0, rng_seed=3, precision="float64")
    rng = np.random.default_rng(5)
    times = [np.sort(rng.uniform(1.0, 60.0, 60)).round(6).tolist() for _ in range(40)]
    sources = sim.Population(40, sim.SpikeSourceArray(spike_times=times))
    cells = sim.Population(3, sim.IF_curr_exp(tau_m=tau_m, tau_refrac=2.0, v_thresh=-55.0))
    sim.Projection(sources, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.008, delay=1.0))
    cells.record(["spikes", "v"])
    return cells


def test_sweep_of_precise_models_equals_sequential_runs_also_past_the_event_slots():
    cells = _precise_network()
    tau_m = [12.0, 20.0, 35.0]
    results = run_sweep(60.0, {(cells, "tau_m"): tau_m})
    for value, result in zip(tau_m, results):
        reference_cells = _precise_network(tau_m=value)
        sim.run(60.0)
        reference = reference_cells.get_data()
        block, = result.values()
        # the batched step rounds differently from the single one: spike times equal to
        # float64 rounding, not bit for bit
        for train, expected in zip(block.segments[0].spiketrains,
                                   reference.segments[0].spiketrains):
            np.testing.assert_allclose(train.magnitude, expected.magnitude, rtol=0, atol=1e-9)
        np.testing.assert_allclose(block.segments[0].analogsignals[0].magnitude,
                                   reference.segments[0].analogsignals[0].magnitude, atol=1e-9)
        assert sum(map(len, reference.segments[0].spiketrains)) > 3
        times = np.concatenate([np.asarray(t) for t in reference.segments[0].spiketrains])
        assert np.any(np.abs(times - np.round(times)) > 1e-3)      # off the 1 ms grid


def test_sweep_needs_t_zero_and_a_positive_duration():
    net = build()
    with pytest.raises(errors.InvalidParameterValueError, match="duration"):
        run_sweep(0.0, {(net["src"], "rate"): [1.0]})
    sim.run(1.0)
    with pytest.raises(RuntimeError, match="reset"):
        run_sweep(10.0, {(net["src"], "rate"): [1.0]})


def test_va_sweep_example_runs_and_measures_rate_and_cv(tmp_path):
    """examples/va_sweep.py at a tiny size writes its maps; its rate and CV measure agree with
    hand-computed values on regular and on Poisson-like trains."""
    example = Path(__file__).parent.parent / "examples" / "va_sweep.py"
    done = subprocess.run([sys.executable, str(example), "--n", "100", "--duration", "150",
                           "--grid", "2", "--output", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    maps = np.load(tmp_path / "va_sweep.npz")
    assert maps["rate"].shape == maps["cv"].shape == (2, 2)
    assert (maps["rate"] >= 0).all()
    assert (tmp_path / "va_sweep.png").stat().st_size > 10_000

    sys.path.insert(0, str(example.parent))
    from va_sweep import rate_and_cv

    def block_of(*trains):
        segment = neo.Segment()
        segment.spiketrains = [neo.SpikeTrain(t, t_stop=10000.0, units="ms") for t in trains]
        block = neo.Block()
        block.segments.append(segment)
        return block

    regular = np.arange(1, 1001) * 10.0                       # 100 Hz, CV 0
    rate, cv = rate_and_cv(block_of(regular))
    assert rate == pytest.approx(100.0) and cv == pytest.approx(0.0, abs=1e-9)
    poisson = np.cumsum(np.random.default_rng(0).exponential(2.0, 6000))   # 500 Hz, CV 1
    rate, cv = rate_and_cv(block_of(poisson[poisson < 10000.0], regular[:2]))
    assert rate == pytest.approx((np.sum(poisson < 10000.0) + 2) / 2 / 10.0)
    assert cv == pytest.approx(1.0, abs=0.05)                 # the 2-spike train is left out


def test_the_event_slots_of_all_sets_together_stay_within_the_memory_bound(monkeypatch):
    """build.MAX_EVENT_BYTES bounds the events of all sets of a call: where one set could
    grow its slots to 32, three sets together stay at 8 and say so."""
    from pyNN_jax import build
    cells = _precise_network()
    network = sim.simulator.state.network
    network.prepare()
    first, stop = network.structure.event_cells
    per_slot = 2 * np.dtype(network.structure.dtype).itemsize * network.structure.n_slots * (
        stop - first)
    monkeypatch.setattr(build, "MAX_EVENT_BYTES", 32 * per_slot)
    with pytest.warns(RuntimeWarning, match="8 per cell and step are kept"):
        run_sweep(60.0, {(cells, "tau_m"): [12.0, 20.0, 35.0]})
    one, = run_sweep(60.0, {(cells, "tau_m"): [12.0]})     # one set: grows to 32, no warning
    reference_cells = _precise_network(tau_m=12.0)
    sim.run(60.0)
    block, = one.values()
    for train, expected in zip(block.segments[0].spiketrains,
                               reference_cells.get_data().segments[0].spiketrains):
        np.testing.assert_allclose(train.magnitude, expected.magnitude, rtol=0, atol=1e-9)
