"""The hardware module as a PyNN backend on the mock: placement before running, parameter
checks, realised weights, non-idealities (determinism, fixed pattern, noise, clock)."""
import numpy as np
import pytest

from pyNN import errors

import pyNN_jax
from pyNN_jax.hardware import backend, mock

OFF = {"weight_quantisation": False, "clock_quantisation": False, "fixed_pattern": False,
       "trial_noise": False}


def spikes(population):
    return [np.asarray(st.magnitude) for st in population.get_data("spikes")
            .segments[-1].spiketrains]


def test_same_module_object_and_surface():
    import pyNN.jax.hardware as sim
    import pyNN_jax.hardware
    assert sim is pyNN_jax.hardware
    for name in ("setup", "end", "run", "run_until", "reset", "Population", "Projection",
                 "AllToAllConnector", "FixedProbabilityConnector", "FromListConnector",
                 "IF_curr_exp", "IF_cond_exp", "EIF_cond_exp_isfa_ista", "SpikeSourceArray",
                 "SpikeSourcePoisson", "StaticSynapse", "get_placement", "PlacementError",
                 "NumpyRNG", "RandomDistribution", "get_current_time", "create", "connect"):
        assert hasattr(sim, name), name
    assert backend.chip.target == "mock"     # the default


def poisson_network(sim, n_in=30, n_out=20):
    source = sim.Population(n_in, sim.SpikeSourcePoisson(rate=40.0), label="in")
    cells = sim.Population(n_out, sim.IF_cond_exp(), label="out")
    sim.Projection(source, cells, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(5)),
                   sim.StaticSynapse(weight=0.012), label="exc")
    sim.Projection(source, cells, sim.FixedProbabilityConnector(0.2, rng=sim.NumpyRNG(6)),
                   sim.StaticSynapse(weight=0.02), receptor_type="inhibitory", label="inh")
    cells.record("spikes")
    return cells


def run_network(sim, seed, **setup):
    sim.setup(timestep=0.1, seed=seed, **setup)
    cells = poisson_network(sim)
    sim.run(300.0)
    first = spikes(cells)
    sim.reset()
    sim.run(300.0)
    second = spikes(cells)
    sim.end()
    return first, second


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_same_seed_same_spikes_other_seed_other_spikes(hw):
    first, second = run_network(hw, seed=7)
    again_first, again_second = run_network(hw, seed=7)
    other, _ = run_network(hw, seed=8)
    assert sum(len(s) for s in first) > 20
    assert same(first, again_first) and same(second, again_second)
    assert not same(first, other)
    assert not same(first, second)          # reset(): a new trial, new noise and Poisson draws


def test_fixed_pattern_persists_over_reset_trial_noise_does_not(hw):
    hw.setup(timestep=0.1, seed=3, non_idealities={"trial_noise": False})
    cells = hw.Population(40, hw.IF_curr_exp(i_offset=1.0), label="driven")
    cells.record("spikes")
    hw.run(200.0)
    first = spikes(cells)
    hw.reset()
    hw.run(200.0)
    assert same(first, spikes(cells))                  # nothing random but the fixed pattern
    counts = [len(s) for s in first]
    assert len(set(counts)) > 1 or len({s[0] for s in first}) > 1   # circuits differ

    hw.setup(timestep=0.1, seed=3)                     # trial noise on
    cells = hw.Population(40, hw.IF_curr_exp(i_offset=1.0), label="driven")
    cells.record("spikes")
    hw.run(200.0)
    first = spikes(cells)
    hw.reset()
    hw.run(200.0)
    assert not same(first, spikes(cells))


def test_fixed_pattern_belongs_to_the_circuit(hw):
    """A neuron moved to circuit c behaves as the neuron that sat on c before."""
    config = {"trial_noise": False, "clock_quantisation": False}
    results = []
    for permutation in (None, [5, 3, 0, 1, 2, 4]):
        hw.setup(timestep=0.1, seed=4, non_idealities=config, neuron_permutation=permutation)
        cells = hw.Population(6, hw.IF_curr_exp(i_offset=0.9), label="c")
        cells.record("spikes")
        hw.run(300.0)
        results.append(spikes(cells))
    native, permuted = results
    assert not same(native, [native[0]] * 6)
    for neuron, circuit in enumerate([5, 3, 0, 1, 2, 4]):
        assert np.array_equal(permuted[neuron], native[circuit])


def test_realised_parameters_follow_the_documented_spread(hw):
    deviations = mock.circuit_deviations(11)
    assert np.array_equal(deviations["tau_m"], mock.circuit_deviations(11)["tau_m"])
    config = mock.NonIdealities(time_constant_spread=0.05, voltage_spread_mv=2.0)
    circuits = np.array([7, 300])
    realised = mock.realise_neuron_parameters(
        {"tau_m": np.full(2, 10.0), "v_thresh": np.full(2, -50.0), "cm": np.ones(2)},
        circuits, deviations, config)
    np.testing.assert_allclose(realised["tau_m"],
                               10.0 * np.exp(0.05 * deviations["tau_m"][circuits]))
    np.testing.assert_allclose(realised["v_thresh"],
                               -50.0 + 2.0 * deviations["v_thresh"][circuits])
    assert np.array_equal(realised["cm"], np.ones(2))     # not a varied parameter


def test_all_non_idealities_off_equals_plain_pyNN_jax():
    import pyNN.jax.hardware as hw
    results = []
    for sim, extra in ((hw, {"seed": 2, "non_idealities": False}), (pyNN_jax, {"rng_seed": 2})):
        sim.setup(timestep=0.1, **extra)
        cells = poisson_network(sim)
        cells.record("v")
        sim.run(200.0)
        block = cells.get_data()
        results.append((spikes(cells), block.segments[0].filter(name="v")[0].magnitude))
        sim.end()
    assert sum(len(s) for s in results[0][0]) > 10
    assert same(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_weights_are_quantised_and_runs_use_them():
    """Only weight quantisation on: the mock equals pyNN.jax run with the 6-bit weights."""
    import pyNN.jax.hardware as hw
    weights = np.array([0.05, 0.21, 0.33, 0.5])          # nA; scale 0.5 / 63
    steps = np.round(weights / (0.5 / 63))
    realised = steps * 0.5 / 63
    traces = []
    for sim, w in ((hw, weights), (pyNN_jax, realised)):
        extra = ({"non_idealities": dict(OFF, weight_quantisation=True)} if sim is hw else {})
        sim.setup(timestep=0.1, **extra)
        source = sim.Population(4, sim.SpikeSourceArray(
            spike_times=[[5.0], [25.0], [45.0], [65.0]]))
        cell = sim.Population(1, sim.IF_curr_exp())
        prj = sim.Projection(source, cell, sim.FromListConnector(
            [(i, 0, float(w[i]), 0.1) for i in range(4)]), sim.StaticSynapse())
        cell.record("v")
        sim.run(100.0)
        traces.append(cell.get_data().segments[0].filter(name="v")[0].magnitude)
        if sim is hw:
            np.testing.assert_allclose(prj.get("weight", format="array")[:, 0], realised,
                                       rtol=1e-12)
            assert not np.allclose(realised, weights)
            assert hw.get_placement().projections[0].weight_steps.tolist() == steps.tolist()
        sim.end()
    np.testing.assert_array_equal(traces[0], traces[1])


def test_user_weight_scale_saturates_without_parallel_synapses(hw):
    hw.setup(timestep=0.1, parallel_synapses=False)
    source = hw.Population(2, hw.SpikeSourceArray(spike_times=[[1.0], [2.0]]))
    cell = hw.Population(1, hw.IF_curr_exp())
    prj = hw.Projection(source, cell, hw.AllToAllConnector(), hw.StaticSynapse(weight=1.0),
                        weight_scale=0.01)
    hw.run(5.0)
    np.testing.assert_allclose(prj.get("weight", format="list", with_address=False), 0.63)
    assert hw.get_placement().projections[0].saturated == 2


def test_parallel_synapses_realise_large_weights(hw):
    source = hw.Population(2, hw.SpikeSourceArray(spike_times=[[1.0], [2.0]]))
    cell = hw.Population(1, hw.IF_curr_exp())
    prj = hw.Projection(source, cell, hw.AllToAllConnector(), hw.StaticSynapse(weight=1.0),
                        weight_scale=0.01)
    hw.run(5.0)
    np.testing.assert_allclose(prj.get("weight", format="list", with_address=False), 1.0)
    routed = hw.get_placement().projections[0]
    assert routed.parallel_synapses.tolist() == [2, 2] and routed.n_rows == 4


def test_weight_set_after_run_is_placed_again(hw):
    source = hw.Population(3, hw.SpikeSourceArray(spike_times=[[1.0], [2.0], [3.0]]))
    cell = hw.Population(1, hw.IF_curr_exp())
    prj = hw.Projection(source, cell, hw.AllToAllConnector(), hw.StaticSynapse(weight=0.63))
    hw.run(5.0)
    assert hw.get_placement().projections[0].weight_scale == pytest.approx(0.01)
    prj.set(weight=[1.26, 0.5, 0.1])
    hw.run(5.0)
    routed = hw.get_placement().projections[0]
    assert routed.weight_scale == pytest.approx(0.02)
    np.testing.assert_allclose(prj.get("weight", format="list", with_address=False),
                               np.round(np.array([1.26, 0.5, 0.1]) / 0.02) * 0.02)
    prj.weight_scale = 0.3                         # a fixed scale: 1.26 -> 4 steps = 1.2
    np.testing.assert_allclose(prj.get("weight", format="list", with_address=False),
                               [1.26, 0.5, 0.1])   # the script's values until placed again
    with pytest.warns(hw.RoundingWarning, match="1 of 3 weights"):     # 0.1 < 0.15
        hw.run(5.0)
    np.testing.assert_allclose(prj.get("weight", format="list", with_address=False),
                               [1.2, 0.6, 0.0])


def test_spike_times_on_the_hardware_clock(hw):
    hw.setup(timestep=0.1, seed=1, non_idealities=dict(OFF, clock_quantisation=True))
    cells = hw.Population(5, hw.IF_curr_exp(i_offset=1.0))
    cells.record("spikes")
    hw.run(200.0)
    trains = cells.get_data("spikes").segments[0].spiketrains
    pyNN_jax.setup(timestep=0.1)
    plain = pyNN_jax.Population(5, pyNN_jax.IF_curr_exp(i_offset=1.0))
    plain.record("spikes")
    pyNN_jax.run(200.0)
    exact = spikes(plain)
    for train, reference in zip(trains, exact):
        times = np.asarray(train.magnitude)
        cycles = train.array_annotations["fpga_cycle"]
        assert times.size == reference.size > 0
        np.testing.assert_allclose(times, cycles * 0.008, atol=1e-9)
        assert ((reference - times >= -1e-9) & (reference - times < 0.008)).all()
        np.testing.assert_allclose(train.array_annotations["hardware_time_us"], times)


def test_trial_noise_gives_the_documented_membrane_spread(hw):
    hw.setup(timestep=0.1, seed=5, non_idealities=dict(OFF, trial_noise=True,
                                                       membrane_noise_mv=2.0))
    cells = hw.Population(20, hw.IF_curr_exp(tau_m=10.0, cm=0.5))
    cells.record("v")
    hw.run(2000.0)
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude[200:]
    # 20 cells x 1800 ms / (2 tau_m) ~ 1800 independent samples: sd known to ~2 %
    assert np.std(v) == pytest.approx(2.0, rel=0.08)
    assert np.mean(v) == pytest.approx(-65.0, abs=0.2)


def test_setup_options_are_checked():
    import pyNN.jax.hardware as hw
    with pytest.raises(errors.InvalidParameterValueError, match="target"):
        hw.setup(target="spinnaker")
    with pytest.raises(errors.InvalidParameterValueError, match="unknown"):
        hw.setup(non_idealities={"thermal": True})
    with pytest.raises(errors.InvalidParameterValueError, match="membrane_noise_mv"):
        hw.setup(non_idealities={"membrane_noise_mv": -1.0})


def test_synapse_efficacy_weights_parallel_synapses_by_their_steps():
    from pyNN_jax.hardware.placement import ConnectionBlock, NeuronBlock, place
    routed = place([NeuronBlock("n", 1)], [ConnectionBlock(
        "p", np.arange(3), np.zeros(3, int), np.array([0.0, 30.0, 100.0]), False,
        1.0)]).projections[0]
    assert routed.parallel_synapses.tolist() == [0, 1, 2]
    z = np.zeros((2, 256, 256))
    where = routed.synapses
    z[where["hemisphere"], where["row"], where["column"]] = [2.0, 3.0, 4.0]
    efficacy = mock.synapse_efficacy(routed, z, 0.1)
    # 0 steps: no synapse, efficacy 1; 100 steps: 63 on the first synapse (z = 3), 37 on
    # the second (z = 4)
    np.testing.assert_allclose(efficacy, [1.0, np.exp(0.2),
                                          (63 * np.exp(0.3) + 37 * np.exp(0.4)) / 100])
    np.testing.assert_allclose(mock.synapse_efficacy(routed, z, 0.0), 1.0)


def test_synapse_mismatch_scales_each_synapse_and_get_reports_the_digital_weight():
    """Fixed pattern of the synapses only: the mock equals pyNN.jax with each weight times
    exp(spread * z) of the synapse the placement put it on."""
    import pyNN.jax.hardware as hw
    config = dict(OFF, fixed_pattern=True, time_constant_spread=0.0, voltage_spread_mv=0.0,
                  synapse_spread=0.2)
    hw.setup(timestep=0.1, seed=12, non_idealities=config)
    source = hw.Population(4, hw.SpikeSourceArray(spike_times=[[5.0], [25.0], [45.0], [65.0]]))
    cell = hw.Population(1, hw.IF_curr_exp(v_thresh=0.0))
    prj = hw.Projection(source, cell, hw.AllToAllConnector(), hw.StaticSynapse(weight=0.5))
    cell.record("v")
    hw.run(100.0)
    v_chip = cell.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    np.testing.assert_allclose(prj.get("weight", format="list", with_address=False), 0.5)
    where = hw.get_placement().projections[0].synapses
    z = mock.synapse_deviations(12)[where["hemisphere"], where["row"], where["column"]]
    hw.end()

    pyNN_jax.setup(timestep=0.1)
    source = pyNN_jax.Population(4, pyNN_jax.SpikeSourceArray(
        spike_times=[[5.0], [25.0], [45.0], [65.0]]))
    cell = pyNN_jax.Population(1, pyNN_jax.IF_curr_exp(v_thresh=0.0))
    pyNN_jax.Projection(source, cell, pyNN_jax.FromListConnector(
        [(i, 0, 0.5 * float(np.exp(0.2 * z[i])), 0.1) for i in range(4)]),
        pyNN_jax.StaticSynapse())
    cell.record("v")
    pyNN_jax.run(100.0)
    v_plain = cell.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    np.testing.assert_allclose(v_chip, v_plain, atol=1e-5)
    assert np.abs(v_chip - v_plain).max() < 0.1 * np.abs(np.exp(0.2 * z) - 1).max()


def test_a_feed_forward_network_larger_than_the_chip_is_partitioned(hw):
    """600 neurons: without partitioning a PlacementError; with it, neurons 512..599 go to
    circuits 0..87 of a second run and share those circuits' fixed pattern."""
    def build(**setup):
        hw.setup(timestep=0.1, seed=6, non_idealities={"trial_noise": False}, **setup)
        cells = hw.Population(600, hw.IF_curr_exp(i_offset=0.9), label="cells")
        readout = hw.Population(1, hw.IF_curr_exp(), label="readout")
        hw.Projection(cells[:200], readout, hw.AllToAllConnector(),
                      hw.StaticSynapse(weight=0.01))
        cells.record("spikes")
        return cells
    build()
    with pytest.raises(hw.PlacementError, match=r"neuron circuits.*601.*partition=True"):
        hw.run(10.0)
    cells = build(partition=True)
    placement = hw.get_placement()
    assert isinstance(placement, hw.PartitionedPlacement) and len(placement.runs) == 2
    assert placement.circuits["cells"][512:].tolist() == list(range(88))
    hw.run(200.0)
    trains = spikes(cells)
    assert sum(len(t) for t in trains) > 0
    for i in range(88):
        assert np.array_equal(trains[512 + i], trains[i])
    assert not all(np.array_equal(trains[88 + i], trains[i]) for i in range(88))


def test_rng_seed_is_the_seed_and_a_conflict_raises():
    import pyNN.jax.hardware as hw
    hw.setup(rng_seed=5)
    assert backend.chip.seed == 5 and pyNN_jax.simulator.state.seed == 5
    np.testing.assert_array_equal(backend.chip.deviations["tau_m"],
                                  mock.circuit_deviations(5)["tau_m"])
    hw.setup(seed=3, rng_seed=3)
    assert backend.chip.seed == 3
    with pytest.raises(errors.InvalidParameterValueError, match=r"seed = 1 and rng_seed = 5"):
        hw.setup(seed=1, rng_seed=5)
    hw.setup()
    assert backend.chip.seed == 0
    hw.end()


def test_repeated_population_labels_keep_their_own_circuits(hw):
    """Labels "a", "a", "a#2": three distinct keys, each population its own circuits and its
    own realised parameters."""
    first = hw.Population(2, hw.IF_curr_exp(tau_m=10.0), label="a")
    second = hw.Population(3, hw.IF_curr_exp(tau_m=20.0), label="a")
    third = hw.Population(4, hw.IF_curr_exp(tau_m=30.0), label="a#2")
    placement = hw.get_placement()
    assert len(placement.circuits) == 3
    assert placement.circuits["a"].tolist() == [0, 1]
    assert placement.circuits["a#2"].tolist() == [5, 6, 7, 8]       # the population so named
    assert placement.circuits["a#3"].tolist() == [2, 3, 4]
    assert backend._unique_labels([first, second, third]) == ["a", "a#3", "a#2"]
    realised = backend.chip.realised_parameters
    for pop, tau_m in ((first, 10.0), (second, 20.0), (third, 30.0)):
        assert realised[pop]["tau_m"].size == pop.size
        np.testing.assert_allclose(realised[pop]["tau_m"], tau_m, rtol=0.15)


def test_neuron_permutation_with_partitioning_raises(hw):
    hw.setup(partition=True, neuron_permutation=list(range(511, -1, -1)))
    small = hw.Population(10, hw.IF_curr_exp())
    assert hw.get_placement().circuits[small.label].tolist() == list(range(511, 501, -1))
    hw.Population(600, hw.IF_curr_exp())
    with pytest.raises(errors.InvalidParameterValueError,
                       match=r"neuron_permutation = \[512 circuits\] with partitioning"):
        hw.get_placement()


def test_end_is_pyNN_jax_end():
    import pyNN.jax.hardware as hw
    assert hw.end is pyNN_jax.control.end


def plain_membrane(connections, spike_times, duration):
    """v of one IF_curr_exp cell (v_thresh 0 mV) on plain pyNN.jax, given FromList weights."""
    pyNN_jax.setup(timestep=0.1)
    source = pyNN_jax.Population(len(spike_times),
                                 pyNN_jax.SpikeSourceArray(spike_times=spike_times))
    cell = pyNN_jax.Population(1, pyNN_jax.IF_curr_exp(v_thresh=0.0))
    pyNN_jax.Projection(source, cell, pyNN_jax.FromListConnector(
        connections, column_names=["weight"]), pyNN_jax.StaticSynapse())
    cell.record("v")
    pyNN_jax.run(duration)
    v = cell.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    pyNN_jax.end()
    return v


def test_weights_rounded_to_zero_warn_and_do_not_act(hw):
    """1.0 nA next to 0.005 nA: 0.005 is 0.315 of a step (1/63 nA) and is left off the chip;
    the mock's membrane equals plain pyNN.jax without that connection."""
    spike_times = [[5.0], [25.0]]
    hw.setup(timestep=0.1, seed=1, non_idealities=dict(OFF, weight_quantisation=True))
    source = hw.Population(2, hw.SpikeSourceArray(spike_times=spike_times))
    cell = hw.Population(1, hw.IF_curr_exp(v_thresh=0.0), label="cell")
    prj = hw.Projection(source, cell, hw.FromListConnector(
        [(0, 0, 1.0), (1, 0, 0.005)], column_names=["weight"]), hw.StaticSynapse(),
        label="mixed")
    cell.record("v")
    with pytest.warns(hw.RoundingWarning, match=r"'mixed': 1 of 2 weights .* 0\.015873"):
        hw.run(60.0)
    np.testing.assert_allclose(prj.get("weight", format="list", with_address=False),
                               [1.0, 0.0])
    assert hw.get_placement().projections[0].n_synapses == 1
    v_chip = cell.get_data().segments[0].filter(name="v")[0].magnitude[:, 0]
    hw.end()
    without = plain_membrane([(0, 0, 1.0)], spike_times, 60.0)
    with_small = plain_membrane([(0, 0, 1.0), (1, 0, 0.005)], spike_times, 60.0)
    np.testing.assert_allclose(v_chip, without, atol=1e-4)
    assert np.abs(with_small - without).max() > 1e-3       # the dropped PSP is measurable


def test_weight_per_step_fixes_every_scale_on_the_mock(hw):
    hw.setup(timestep=0.1, weight_per_step={"current": 0.01, "conductance": 0.001})
    source = hw.Population(2, hw.SpikeSourceArray(spike_times=[[1.0], [2.0]]))
    cuba = hw.Population(1, hw.IF_curr_exp())
    coba = hw.Population(1, hw.IF_cond_exp())
    to_cuba = hw.Projection(source, cuba, hw.AllToAllConnector(),
                            hw.StaticSynapse(weight=0.5))
    to_coba = hw.Projection(source, coba, hw.AllToAllConnector(),
                            hw.StaticSynapse(weight=0.0123), receptor_type="inhibitory")
    placement = hw.get_placement()
    assert [p.weight_scale for p in placement.projections] == [0.01, 0.001]
    assert placement.projections[0].weight_steps.tolist() == [50, 50]
    assert placement.projections[1].weight_steps.tolist() == [12, 12]
    np.testing.assert_allclose(to_cuba.get("weight", format="array").ravel(), 0.5)
    np.testing.assert_allclose(to_coba.get("weight", format="array").ravel(), 0.012)


def test_weight_per_step_is_checked(hw):
    for bad in ({"nA": 0.01}, {"current": -1.0}, {}, 0.01, {"current": "x"}):
        with pytest.raises(errors.InvalidParameterValueError, match="weight_per_step"):
            hw.setup(weight_per_step=bad)
    hw.setup(weight_per_step={"current": 0.01})
    source = hw.Population(1, hw.SpikeSourceArray(spike_times=[1.0]))
    coba = hw.Population(1, hw.IF_cond_exp())
    hw.Projection(source, coba, hw.AllToAllConnector(), hw.StaticSynapse(weight=0.01))
    with pytest.raises(errors.InvalidParameterValueError,
                       match=r"conductance-based cells.*no 'conductance' entry"):
        hw.get_placement()

    hw.setup(weight_per_step={"current": 0.01}, parallel_synapses=False)
    cuba = hw.Population(1, hw.IF_curr_exp())
    source = hw.Population(1, hw.SpikeSourceArray(spike_times=[1.0]))
    prj = hw.Projection(source, cuba, hw.AllToAllConnector(), hw.StaticSynapse(weight=0.7),
                        label="big")
    with pytest.raises(errors.InvalidParameterValueError,
                       match=r"'big': weight = 0\.7 nA is out of reach.*range is 0\.\.0\.63 nA"):
        hw.get_placement()
    prj.set(weight=0.63)
    assert hw.get_placement().projections[0].weight_steps.tolist() == [63]
    prj.weight_scale = 0.02
    with pytest.raises(errors.InvalidParameterValueError, match=r"weight_scale = 0\.02"):
        hw.get_placement()

    hw.setup(weight_per_step={"current": 0.01})       # parallel synapses: 64 x 63 steps
    cuba = hw.Population(1, hw.IF_curr_exp())
    source = hw.Population(1, hw.SpikeSourceArray(spike_times=[1.0]))
    prj = hw.Projection(source, cuba, hw.AllToAllConnector(), hw.StaticSynapse(weight=40.33))
    with pytest.raises(errors.InvalidParameterValueError, match=r"range is 0\.\.40\.32 nA"):
        hw.get_placement()
    prj.set(weight=40.32)
    assert hw.get_placement().projections[0].parallel_synapses.tolist() == [64]


def test_projections_of_one_sign_onto_one_population_share_a_scale(hw):
    """The chip's synaptic gain belongs to a neuron and a sign: 'strong' (1 nA) and 'weak'
    (0.05 nA, onto a view of the same population) share the scale 1/63 nA, so 0.05 nA is
    3 steps (0.0476 nA); other signs, other populations and a fixed weight_scale keep theirs."""
    source = hw.Population(2, hw.SpikeSourceArray(spike_times=[[1.0], [2.0]]))
    cells = hw.Population(4, hw.IF_curr_exp(), label="cells")
    other = hw.Population(1, hw.IF_curr_exp(), label="other")
    connect = hw.AllToAllConnector()
    strong = hw.Projection(source, cells, connect, hw.StaticSynapse(weight=1.0), label="strong")
    weak = hw.Projection(source, cells[2:], connect, hw.StaticSynapse(weight=0.05),
                         label="weak")
    inhibitory = hw.Projection(source, cells, connect, hw.StaticSynapse(weight=-0.05),
                               receptor_type="inhibitory", label="inhibitory")
    elsewhere = hw.Projection(source, other, connect, hw.StaticSynapse(weight=0.05),
                              label="elsewhere")
    fixed = hw.Projection(source, cells, connect, hw.StaticSynapse(weight=0.05),
                          weight_scale=0.001, label="fixed")
    scales = {p.label: p.weight_scale for p in hw.get_placement().projections}
    assert scales["strong"] == pytest.approx(1.0 / 63)
    assert scales["weak"] == pytest.approx(1.0 / 63)
    assert scales["inhibitory"] == pytest.approx(0.05 / 63)
    assert scales["elsewhere"] == pytest.approx(0.05 / 63)
    assert scales["fixed"] == 0.001
    np.testing.assert_allclose(weak.get("weight", format="list", with_address=False),
                               round(0.05 * 63) / 63)
    for prj in (strong, inhibitory, elsewhere, fixed):
        np.testing.assert_allclose(prj.get("weight", format="list", with_address=False),
                                   {strong: 1.0, inhibitory: -0.05}.get(prj, 0.05))
