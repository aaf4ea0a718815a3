"""PyNN units <-> chip ranges, and what the chip cannot do, raised before anything runs."""
import numpy as np
import pytest

from pyNN import errors

from pyNN_jax.hardware import parameters as hwp


def test_time_and_voltage_maps():
    assert hwp.to_hardware_us(10.0) == 10.0             # 10 ms biological = 10 us on the chip
    assert hwp.to_hardware_ms(1000.0) == 1.0
    assert hwp.from_hardware_ms(0.25) == 250.0
    assert hwp.to_chip_voltage(-65.0) == 75.0
    assert hwp.from_chip_voltage(125.0) == -15.0
    assert hwp.CLOCK_PERIOD_MS == pytest.approx(0.008)
    times, cycles = hwp.quantise_to_clock([0.0, 0.0079, 0.008, 1.0, 10.0005])
    assert cycles.tolist() == [0, 0, 1, 125, 1250]
    np.testing.assert_allclose(times, [0.0, 0.0, 0.008, 1.0, 10.0])


@pytest.mark.parametrize("name, low, high", [
    ("tau_m", 0.5, 60.0), ("tau_syn_E", 0.3, 30.0), ("tau_syn_I", 0.3, 30.0),
    ("tau_refrac", 0.04, 32.0), ("v_rest", -90.0, 20.0), ("v_reset", -90.0, 20.0),
    ("v_thresh", -90.0, 80.0), ("e_rev_E", -80.0, 20.0), ("e_rev_I", -80.0, 20.0)])
def test_reachable_ranges_in_user_units(name, low, high):
    assert hwp.reachable_range(name) == pytest.approx((low, high))
    hwp.check_neuron_parameters("X", {name: [low, high]})
    for bad in (low - 0.01 * (high - low), high + 0.01 * (high - low)):
        with pytest.raises(errors.InvalidParameterValueError) as info:
            hwp.check_neuron_parameters("X", {name: [low, bad]})
        message = str(info.value)
        assert name in message and f"{bad:g}" in message and f"{low:g}..{high:g}" in message


def test_pynn_default_cells_are_reachable():
    from pyNN.standardmodels import cells
    for cls in (cells.IF_curr_exp, cells.IF_cond_exp, cells.EIF_cond_exp_isfa_ista):
        hwp.check_neuron_parameters(cls.__name__, cls.default_parameters)


def test_out_of_range_raises_on_creation_and_on_set(hw):
    with pytest.raises(errors.InvalidParameterValueError,
                       match=r"tau_m = 100 ms .* 0.5..60 ms"):
        hw.Population(3, hw.IF_curr_exp(tau_m=100.0))
    tau_m = hw.RandomDistribution("uniform", (5.0, 50.0), rng=hw.NumpyRNG(seed=9))
    cells = hw.Population(3, hw.IF_cond_exp(tau_m=tau_m))
    assert cells.first_id == 0                       # the refused population took no ids
    expected = hw.RandomDistribution("uniform", (5.0, 50.0), rng=hw.NumpyRNG(seed=9)).next(3)
    np.testing.assert_array_equal(cells.get("tau_m"), expected)   # drawn once, as elsewhere
    with pytest.raises(errors.InvalidParameterValueError, match=r"e_rev_I = -95 mV.*-80..20 mV"):
        cells.set(e_rev_I=-95.0)
    assert cells.get("e_rev_I") == -70.0                      # the old value is kept
    with pytest.raises(errors.InvalidParameterValueError, match=r"v_thresh = 90 mV"):
        cells[0:2].set(v_thresh=90.0)
    with pytest.raises(errors.InvalidParameterValueError, match=r"tau_syn_E = 0.1 ms"):
        cells[0:2][1:2].set(tau_syn_E=0.1)                   # a view of a view
    assert cells.get("v_thresh") == -50.0 and cells.get("tau_syn_E") == 5.0


def test_unsupported_models_and_synapses(hw):
    import pyNN_jax
    with pytest.raises(errors.InvalidModelError, match="IF_curr_alpha.*not available"):
        hw.Population(2, pyNN_jax.IF_curr_alpha())
    a = hw.Population(2, hw.SpikeSourceArray())
    b = hw.Population(2, hw.IF_curr_exp())
    with pytest.raises(errors.InvalidModelError, match="TsodyksMarkramSynapse"):
        hw.Projection(a, b, hw.AllToAllConnector(), pyNN_jax.TsodyksMarkramSynapse())


def test_delays_other_than_the_minimum_are_refused_before_running(hw):
    a = hw.Population(2, hw.SpikeSourceArray(spike_times=[1.0]))
    b = hw.Population(2, hw.IF_curr_exp())
    hw.Projection(a, b, hw.AllToAllConnector(), hw.StaticSynapse(weight=0.1, delay=2.0))
    with pytest.raises(errors.InvalidParameterValueError, match=r"delay = 2 ms.*0.1 ms"):
        hw.run(10.0)
    assert hw.get_current_time() == 0.0


def test_wrong_weight_sign_for_the_receptor(hw):
    a = hw.Population(2, hw.SpikeSourceArray(spike_times=[1.0]))
    b = hw.Population(2, hw.IF_curr_exp())
    # PyNN makes a negative weight without receptor_type inhibitory: that is fine
    hw.Projection(a, b, hw.AllToAllConnector(), hw.StaticSynapse(weight=-0.1))
    assert hw.get_placement().projections[0].inhibitory
    with pytest.raises(errors.ConnectionError, match="positive"):     # PyNN's own check
        hw.Projection(a, b, hw.AllToAllConnector(), hw.StaticSynapse(weight=-0.1),
                      receptor_type="excitatory")
    excitatory = hw.Projection(a, b, hw.AllToAllConnector(), hw.StaticSynapse(weight=0.1))
    with pytest.raises(errors.ConnectionError, match="excitatory"):
        excitatory.set(weight=-0.1)
        hw.get_placement()
    with pytest.raises(errors.ConnectionError, match="receptor_type = 'NMDA'"):
        hw.Projection(a, b, hw.AllToAllConnector(), receptor_type="NMDA")


def test_placement_error_before_anything_runs(hw):
    source = hw.Population(10, hw.SpikeSourcePoisson(rate=10.0))
    cells = hw.Population(400, hw.IF_curr_exp(), label="big")
    hw.Projection(source, cells, hw.AllToAllConnector(), hw.StaticSynapse(weight=0.1))
    cells.record("spikes")
    hw.Population(113, hw.IF_curr_exp(), label="more")
    with pytest.raises(hw.PlacementError, match=r"neuron circuits.*513.*512"):
        hw.run(10.0)
    assert hw.get_current_time() == 0.0
    from pyNN_jax.simulator import state
    assert state.network.device_state is None and state.network.step == 0   # nothing ran
    assert sum(cells.get_spike_counts().values()) == 0
    # the network fits once the extra cells are gone from a fresh setup
    hw.setup(timestep=0.1)
    source = hw.Population(10, hw.SpikeSourcePoisson(rate=10.0))
    cells = hw.Population(512, hw.IF_curr_exp(), label="exactly")
    hw.Projection(source, cells, hw.AllToAllConnector(), hw.StaticSynapse(weight=0.1))
    hw.run(10.0)
    assert hw.get_placement().utilisation()["circuits"] == 1.0


def test_in_degree_overflow_from_pynn(hw):
    source = hw.Population(257, hw.SpikeSourcePoisson(rate=10.0))
    cell = hw.Population(1, hw.IF_cond_exp(), label="sink")
    hw.Projection(source, cell, hw.AllToAllConnector(), hw.StaticSynapse(weight=0.01))
    with pytest.raises(hw.PlacementError, match=r"in-degree of neuron 0 of 'sink'.*257.*256"):
        hw.get_placement()


def test_get_placement_lists_circuits_rows_and_scale(hw):
    source = hw.Population(8, hw.SpikeSourceArray(spike_times=[1.0]), label="in")
    hidden = hw.Population(16, hw.IF_curr_exp(), label="hidden")
    out = hw.Population(4, hw.IF_curr_exp(), label="out")
    hw.Projection(source, hidden, hw.AllToAllConnector(), hw.StaticSynapse(weight=0.63),
                  label="in-hidden")
    hw.Projection(hidden, out, hw.FixedNumberPreConnector(5, rng=hw.NumpyRNG(1)),
                  hw.StaticSynapse(weight=-0.2), receptor_type="inhibitory", label="hidden-out")
    placement = hw.get_placement()
    assert placement.circuits["hidden"].tolist() == list(range(16))
    assert placement.circuits["out"].tolist() == list(range(16, 20))
    first, second = placement.projections
    assert first.n_rows == 8 and first.weight_scale == pytest.approx(0.01)
    assert second.n_rows == 5 and second.inhibitory
    text = str(placement)
    assert "'in-hidden' (excitatory): 128 synapses on 8 rows" in text
    assert "'hidden-out' (inhibitory): 20 synapses on 5 rows" in text
