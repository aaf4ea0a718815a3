"""Trainer on networks built with the PyNN API: forward passes against pyNN.jax's engine,
gradients against finite differences, training, write-back, and the trained network on the
engine, on pyNN.nest and in NIR."""
from functools import partial

import numpy as np
import pytest
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from pyNN import errors

optax = pytest.importorskip("optax")
from pyNN_jax import training                                       # noqa: E402
from pyNN_jax.training.datasets import yin_yang, encode_first_spikes  # noqa: E402

from ..conftest import needs_nest                                   # noqa: E402

TAU_SYN = 5.0
EXACT_CELL = dict(tau_m=2 * TAU_SYN, tau_syn_E=TAU_SYN, tau_syn_I=TAU_SYN, cm=1.0,
                  v_rest=-65.0, v_reset=-65.0, v_thresh=-55.0, tau_refrac=100.0)
DURATION = 25.0


def layered_network(sim, n_hidden=12, cell=EXACT_CELL, seed=3, delays=(0.3, 0.5),
                    output_cell=None):
    """5 inputs -> hidden (excitatory with per-synapse delays, and sparse inhibitory) -> 3
    outputs (excitatory and inhibitory)."""
    rng = np.random.default_rng(seed)
    inputs = sim.Population(5, sim.SpikeSourceArray(), label="input")
    hidden = sim.Population(n_hidden, sim.IF_curr_exp(**cell), label="hidden")
    output = sim.Population(3, sim.IF_curr_exp(**(output_cell or cell)), label="output")
    d_low, d_high = delays
    projections = [
        sim.Projection(inputs, hidden, sim.AllToAllConnector(), sim.StaticSynapse(
            weight=rng.uniform(1.0, 5.0, (5, n_hidden)),
            delay=np.round(rng.uniform(d_low, d_high, (5, n_hidden)), 2)),
            receptor_type="excitatory", label="in-hid exc"),
        sim.Projection(inputs, hidden, sim.FixedProbabilityConnector(
            0.5, rng=sim.NumpyRNG(seed)), sim.StaticSynapse(weight=-1.0, delay=d_low),
            receptor_type="inhibitory", label="in-hid inh"),
        sim.Projection(hidden, output, sim.AllToAllConnector(), sim.StaticSynapse(
            weight=rng.uniform(0.5, 3.0, (n_hidden, 3)), delay=d_high),
            receptor_type="excitatory", label="hid-out exc"),
        sim.Projection(hidden, output, sim.AllToAllConnector(), sim.StaticSynapse(
            weight=rng.uniform(-1.0, 0.0, (n_hidden, 3)), delay=d_high),
            receptor_type="inhibitory", label="hid-out inh"),
    ]
    return inputs, hidden, output, projections


def samples(n, seed=5):
    points, labels = yin_yang(n, seed)
    return encode_first_spikes(points, 0.75, 10.0, 4.5), labels


def first_times(trains, size):
    first = np.full(size, np.inf)
    for j, train in enumerate(trains):
        if len(train):
            first[j] = np.min(train.magnitude)
    return first


# --- forward passes are the networks' dynamics ---------------------------------------------

def test_surrogate_forward_is_the_engine_network(sim):
    """Time-discrete forward pass, recurrent inhibition included: same spikes and voltages
    as pyNN.jax's engine."""
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid")   # time-discrete
    cell = dict(EXACT_CELL, tau_m=12.0, tau_syn_I=3.0, tau_refrac=2.0, i_offset=0.1)
    inputs, hidden, output, projections = layered_network(sim, cell=cell, delays=(0.1, 1.5))
    projections.append(sim.Projection(hidden, hidden, sim.FixedProbabilityConnector(
        0.3, rng=sim.NumpyRNG(7)), sim.StaticSynapse(weight=-0.8, delay=1.2),
        receptor_type="inhibitory", label="hid-hid inh"))              # recurrent
    trainer = training.Trainer(projections, output, duration=DURATION, method="surrogate")
    times, _ = samples(3)
    model = trainer.forward_all(trainer.params, times)
    hidden.record("spikes")
    output.record(["spikes", "v"])
    for s in range(len(times)):
        training.present(inputs, times[s])
        sim.run(DURATION)
        steps = np.nonzero(np.asarray(model[1]["spikes"][s]))
        model_spikes = sorted(zip(steps[1], np.round((steps[0] + 1) * 0.1, 6)))
        trains = hidden.get_data(clear=True).segments[-1].spiketrains
        engine_spikes = sorted((j, round(float(t), 6)) for j, train in enumerate(trains)
                               for t in train.magnitude)
        assert model_spikes == engine_spikes and len(engine_spikes) > 5
        v = np.asarray(output.get_data(clear=True).segments[-1].filter(name="v")[0])
        np.testing.assert_allclose(np.asarray(model[2]["v"][s]), v[1:], atol=1e-4)
        sim.reset()


def test_surrogate_forward_starts_from_the_initialised_state(sim):
    """After initialize(v=..., isyn_exc=...) away from rest (per cell), the time-discrete
    forward pass has the engine's spikes and voltages, including those that the initial
    state alone causes."""
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid")   # time-discrete
    cell = dict(EXACT_CELL, tau_m=12.0, tau_refrac=2.0)
    inputs, hidden, output, projections = layered_network(sim, cell=cell, delays=(0.1, 1.5))
    v_hidden = np.linspace(-64.0, -54.5, hidden.size)    # the last ones spike at once
    hidden.initialize(v=v_hidden, isyn_exc=0.5)
    output.initialize(v=-56.0)
    trainer = training.Trainer(projections, output, duration=DURATION, method="surrogate")
    times, _ = samples(2)
    model = trainer.forward_all(trainer.params, times)
    hidden.record(["spikes", "v"])
    output.record(["spikes", "v"])
    for s in range(len(times)):
        training.present(inputs, times[s])
        sim.run(DURATION)
        hidden_data = hidden.get_data(clear=True).segments[-1]
        np.testing.assert_allclose(np.asarray(hidden_data.filter(name="v")[0])[0], v_hidden)
        for population, data in ((1, hidden_data),
                                 (2, output.get_data(clear=True).segments[-1])):
            steps = np.nonzero(np.asarray(model[population]["spikes"][s]))
            model_spikes = sorted(zip(steps[1], np.round((steps[0] + 1) * 0.1, 6)))
            engine_spikes = sorted((j, round(float(t), 6))
                                   for j, train in enumerate(data.spiketrains)
                                   for t in train.magnitude)
            assert model_spikes == engine_spikes
            v = np.asarray(data.filter(name="v")[0])
            np.testing.assert_allclose(np.asarray(model[population]["v"][s]), v[1:],
                                       atol=1e-4)
        first_step = np.asarray(model[1]["spikes"][s][0])
        assert first_step[-1] == 1 and first_step[0] == 0      # spiking from v_init alone
        sim.reset()


def test_exact_first_spikes_match_the_engine_within_the_time_grid():
    """Exact first spike times against the engine at dt = 0.01 ms: within 3 dt (an input, a
    hidden and an output spike each rounded up to the grid)."""
    import pyNN.jax as sim
    sim.setup(timestep=0.01, min_delay=0.01)
    inputs, hidden, output, projections = layered_network(sim)
    trainer = training.Trainer(projections, output, duration=DURATION, method="exact")
    times, _ = samples(4)
    model = trainer.forward_all(trainer.params, times)
    hidden.record("spikes")
    output.record("spikes")
    for s in range(len(times)):
        training.present(inputs, times[s])
        sim.run(DURATION)
        for pop, index in ((hidden, 1), (output, 2)):
            engine = first_times(pop.get_data(clear=True).segments[-1].spiketrains, pop.size)
            predicted = np.asarray(model[index][s])
            np.testing.assert_array_equal(np.isfinite(engine), np.isfinite(predicted))
            spiking = np.isfinite(engine)
            assert spiking.sum() >= 2
            assert np.all(engine[spiking] - predicted[spiking] >= -1e-4)
            assert np.all(engine[spiking] - predicted[spiking] <= 0.03 + 1e-4)
        sim.reset()
    sim.end()


# --- gradients against finite differences ----------------------------------------------------

def finite_difference_check(loss, params, entries, epsilon=1e-6):
    """Central differences of ``loss`` against jax.grad at the ``entries`` of ``params``,
    each given as a function that picks one element out of a params-shaped tree."""
    flat, unravel = ravel_pytree(params)
    loss = jax.jit(loss)
    gradient = ravel_pytree(jax.grad(loss)(params))[0]
    positions = unravel(jnp.arange(flat.size, dtype=flat.dtype))
    for pick in entries:
        i = int(pick(positions))
        step = jnp.zeros_like(flat).at[i].set(epsilon)
        numeric = (loss(unravel(flat + step)) - loss(unravel(flat - step))) / (2 * epsilon)
        assert abs(numeric) > 1e-7, i
        assert float(gradient[i]) == pytest.approx(float(numeric), rel=1e-4, abs=1e-9), i


def test_exact_gradients_equal_finite_differences():
    import pyNN.jax as sim
    sim.setup(timestep=0.1, min_delay=0.1, precision="float64")
    inputs, hidden, output, projections = layered_network(sim)
    trainer = training.Trainer(projections, output, duration=DURATION, method="exact",
                               parameters=[(hidden, "v_thresh"), (output, "cm")])
    times, labels = samples(8)
    loss = partial(trainer.loss, input_times=times, labels=labels)
    hidden_times = np.asarray(trainer.forward_all(trainer.params, times)[1])
    j = int(np.argmax(np.isfinite(hidden_times).sum(axis=0)))     # a hidden cell that spikes
    finite_difference_check(loss, trainer.params, [
        lambda p: p["weights"][0][0, j], lambda p: p["weights"][0][4, j],
        lambda p: p["weights"][2][j, 0], lambda p: p["weights"][3][j, 2],
        lambda p: p["cells"][1]["v_thresh"][j], lambda p: p["cells"][2]["cm"][1]])
    sim.end()


def test_surrogate_gradients_equal_finite_differences_below_threshold():
    """Below threshold the surrogate gradient is the true gradient: the voltage of output
    cells that do not spike, driven by spiking hidden cells, is a smooth function of the
    hidden-to-output weights and the output cells' parameters (propagators differentiated)."""
    import pyNN.jax as sim
    sim.setup(timestep=0.1, min_delay=0.1, precision="float64")
    cell = dict(EXACT_CELL, v_thresh=100.0, tau_m=12.0, tau_syn_I=3.0, i_offset=0.05)
    inputs, hidden, output, projections = layered_network(sim, output_cell=cell)
    names = ("tau_m", "cm", "v_rest", "tau_syn_E", "tau_syn_I", "i_offset")
    trainer = training.Trainer(projections, output, duration=DURATION, method="surrogate",
                               parameters=[(output, name) for name in names])
    times, labels = samples(4)

    def loss(p):
        return training.losses.max_voltage_cross_entropy(trainer.forward(p, times),
                                                         jnp.asarray(labels), scale=2.0)

    finite_difference_check(loss, trainer.params, [
        lambda p: p["weights"][2][0, 0],
        lambda p: p["weights"][3][5, 2]]
        + [lambda p, name=name: p["cells"][2][name][1] for name in names])
    sim.end()


def test_surrogate_gradient_through_spikes_is_the_superspike_rule(sim):
    """d(spike count)/dw of a spiking cell: the sum over steps of the surrogate derivative at
    v - v_thresh times dv/dw, dv/dw following the exact propagators and cut by each reset
    (an independent step-by-step computation in numpy)."""
    from pyNN_jax.engine.models import propagators as prop
    cell = dict(EXACT_CELL, tau_refrac=2.0, i_offset=0.2)
    source = sim.Population(1, sim.SpikeSourceArray(), label="source")
    target = sim.Population(1, sim.IF_curr_exp(**cell), label="target")
    weight, delay_steps, slope, dt = 6.0, 3, 2.0, 0.1
    projection = sim.Projection(source, target, sim.AllToAllConnector(),
                                sim.StaticSynapse(weight=weight, delay=delay_steps * dt))
    trainer = training.Trainer([projection], target, duration=DURATION, surrogate_slope=slope,
                               loss=lambda recorded, labels: recorded["spikes"].sum())
    spike_times = np.array([[[1.0, 2.5, 4.0, 9.0, 9.5]]])
    gradient = float(jax.grad(trainer.loss)(trainer.params, spike_times, np.zeros(1, int))
                     ["weights"][0][0, 0])

    n_steps = int(DURATION / dt)
    arrivals = np.zeros(n_steps)
    for t in spike_times[0, 0]:
        arrivals[int(np.ceil(t / dt - 1e-6)) - 1 + delay_steps] += 1
    p22 = prop.membrane_decay(np, cell["tau_m"], dt)
    p21 = prop.exp_current_to_voltage(np, cell["tau_syn_E"], cell["tau_m"], cell["cm"], dt)
    p20 = prop.current_to_voltage(np, cell["tau_m"], cell["cm"], dt)
    p11 = np.exp(-dt / cell["tau_syn_E"])
    v, current, refractory = cell["v_rest"], 0.0, 0
    dv, dcurrent, expected, n_spikes = 0.0, 0.0, 0.0, 0      # d/dw of v and the current
    for k in range(n_steps):
        if refractory == 0:
            v, dv = (cell["v_rest"] + p22 * (v - cell["v_rest"]) + p21 * current
                     + p20 * cell["i_offset"]), p22 * dv + p21 * dcurrent
        else:
            refractory -= 1
        current, dcurrent = current * p11 + weight * arrivals[k], dcurrent * p11 + arrivals[k]
        expected += dv / (1 + slope * abs(v - cell["v_thresh"])) ** 2
        if v >= cell["v_thresh"]:
            v, dv, refractory, n_spikes = cell["v_reset"], 0.0, int(round(2.0 / dt)), n_spikes + 1
    assert n_spikes >= 3
    assert gradient == pytest.approx(expected, rel=1e-4)


# --- training, write-back, and the trained network elsewhere ---------------------------------

@pytest.mark.parametrize("method", ["surrogate", "exact"])
def test_training_lowers_the_loss(sim, method):
    # surrogate: output cells that spike several times, read out by their spike counts
    output_cell = dict(EXACT_CELL, tau_refrac=2.0, v_thresh=-61.0) if method == "surrogate" \
        else None
    inputs, hidden, output, projections = layered_network(sim, output_cell=output_cell)
    trainer = training.Trainer(projections, output, duration=DURATION, method=method)
    labels = np.arange(96) % 3      # class c: input cell c spikes at 1 ms, the bias cell at 3 ms
    times = np.where(np.arange(5) == labels[:, None], 1.0, np.inf)
    times[:, 4] = 3.0
    before = float(trainer.loss(trainer.params, times, labels))
    history = trainer.fit(times, labels, epochs=4, batch_size=32,
                          optimizer=optax.adam(0.02 if method == "exact" else 0.1),
                          bump=0.001 if method == "exact" else 0.0)
    after = float(trainer.loss(trainer.params, times, labels))
    assert after < 0.9 * before
    assert history[-1] < history[0]


TRAINED = {}      # parameters trained once, shared by the tests of the trained network


def trained_exact_network(sim):
    """The layered network (tau_refrac = 30 ms >= DURATION, so that pyNN.nest's reset can
    flush it in 100 ms) with its weights and hidden thresholds trained for 5 epochs."""
    cell = dict(EXACT_CELL, tau_refrac=30.0)
    inputs, hidden, output, projections = layered_network(sim, n_hidden=20, cell=cell,
                                                          delays=(0.01, 0.01))
    trainer = training.Trainer(projections, output, duration=DURATION, method="exact",
                               parameters=[(hidden, "v_thresh")])
    if "params" not in TRAINED:
        times, labels = samples(150)
        trainer.fit(times, labels, epochs=5, batch_size=30, optimizer=optax.adam(0.02),
                    bump=0.001)
        TRAINED["params"] = trainer.params
    trainer.params = TRAINED["params"]
    return inputs, hidden, output, projections, trainer


def test_write_back_sets_the_trained_weights_and_parameters():
    import pyNN.jax as sim
    sim.setup(timestep=0.01, min_delay=0.01)
    inputs, hidden, output, projections, trainer = trained_exact_network(sim)
    before = [prj.get("weight", format="array") for prj in projections]
    trainer.write_back()
    for prj, w_before, w, mask in zip(projections, before, trainer.params["weights"],
                                      trainer._masks):
        written = prj.get("weight", format="array")
        np.testing.assert_array_equal(np.isnan(written), np.isnan(w_before))
        np.testing.assert_allclose(written[np.asarray(mask)], np.asarray(w)[np.asarray(mask)],
                                   rtol=1e-6)
        assert not np.allclose(written[np.asarray(mask)], w_before[np.asarray(mask)])
    np.testing.assert_allclose(hidden.get("v_thresh"),
                               trainer.params["cells"][1]["v_thresh"], rtol=1e-6)
    sim.end()


def margin_agreement(model_times, engine_times, tolerance):
    """Samples whose predicted class is clear by more than ``tolerance`` (ms) must be
    classified the same on the engine; returns the number of such samples."""
    ordered = np.sort(np.where(np.isfinite(model_times), model_times, 1e9), axis=1)
    clear = ordered[:, 1] - ordered[:, 0] > tolerance
    np.testing.assert_array_equal(np.argmin(model_times, axis=1)[clear],
                                  np.argmin(engine_times, axis=1)[clear])
    return int(clear.sum())


def test_trained_network_runs_on_the_engine_with_the_predicted_classes():
    """After write_back, sim.run() on pyNN.jax (dt = 0.01 ms) gives the output spike times the
    exact model predicts within 3 dt, hence its classes wherever the margin exceeds 3 dt."""
    import pyNN.jax as sim
    sim.setup(timestep=0.01, min_delay=0.01)
    inputs, hidden, output, projections, trainer = trained_exact_network(sim)
    trainer.write_back()
    times, _ = samples(12, seed=9)
    model = np.asarray(trainer.forward(trainer.params, times))
    engine, _ = training.run_samples(sim, inputs, output, times, DURATION)
    np.testing.assert_array_equal(np.isfinite(model), np.isfinite(engine))
    spiking = np.isfinite(model)
    np.testing.assert_allclose(engine[spiking], model[spiking], atol=0.03 + 1e-4)
    assert margin_agreement(model, engine, 0.03) >= 6
    sim.end()


@needs_nest
def test_trained_network_runs_on_nest_with_the_predicted_classes():
    """The trained weights, taken from the Projections, rebuilt on pyNN.nest (dt = 0.01 ms):
    NEST's output spike times are the model's within 3 dt plus NEST's input shift."""
    import pyNN.jax as sim
    import pyNN.nest as nest
    sim.setup(timestep=0.01, min_delay=0.01)
    inputs, hidden, output, projections, trainer = trained_exact_network(sim)
    trainer.write_back()
    weights = [prj.get("weight", format="array") for prj in projections]
    thresholds = hidden.get("v_thresh")
    times, _ = samples(12, seed=9)
    model = np.asarray(trainer.forward(trainer.params, times))
    sim.end()

    # pyNN.nest resets by simulating t_flush ms without input: 100 ms bring every cell back
    # to rest (tau_m = 10 ms) and past its refractory period (30 ms): samples are independent
    nest.setup(timestep=0.01, min_delay=0.01, spike_precision="on_grid", t_flush=100.0)
    n_inputs = nest.Population(5, nest.SpikeSourceArray(), label="input")
    cell = dict(EXACT_CELL, tau_refrac=30.0)
    n_hidden = nest.Population(hidden.size, nest.IF_curr_exp(**cell), label="hidden")
    n_hidden.set(v_thresh=thresholds)
    n_output = nest.Population(3, nest.IF_curr_exp(**cell), label="output")
    for (pre, post), w, prj in zip([(n_inputs, n_hidden)] * 2 + [(n_hidden, n_output)] * 2,
                                   weights, projections):
        connected = np.isfinite(w)
        rows, cols = np.nonzero(connected)
        nest.Projection(pre, post, nest.FromListConnector(
            [(i, j, w[i, j], 0.01) for i, j in zip(rows, cols)],
            column_names=["weight", "delay"]), nest.StaticSynapse(),
            receptor_type=prj.receptor_type)
    engine, _ = training.run_samples(nest, n_inputs, n_output, times, DURATION)
    nest.end()
    np.testing.assert_array_equal(np.isfinite(model), np.isfinite(engine))
    spiking = np.isfinite(model)
    np.testing.assert_allclose(engine[spiking], model[spiking], atol=0.03 + 1e-4)
    assert margin_agreement(model, engine, 0.03) >= 6


def test_trained_network_exports_to_nir():
    import pyNN.jax as sim
    from pyNN_jax.nir import to_nir
    sim.setup(timestep=0.01, min_delay=0.01)
    inputs, hidden, output, projections, trainer = trained_exact_network(sim)
    trainer.write_back()
    graph = to_nir(drop_refractory=True)
    signed = np.asarray(trainer.params["weights"][2] + trainer.params["weights"][3])
    # NIR's Linear weight is the charge (pC) of a spike, weight * tau_syn, (post, pre)
    np.testing.assert_allclose(graph.nodes["hidden->output"].weight, signed.T * TAU_SYN,
                               rtol=1e-5)
    np.testing.assert_allclose(graph.nodes["hidden"].v_threshold,
                               trainer.params["cells"][1]["v_thresh"], rtol=1e-6)
    sim.end()


# --- errors --------------------------------------------------------------------------------

def test_bad_configurations_raise_clear_errors(sim):
    inputs, hidden, output, projections = layered_network(sim)
    with pytest.raises(errors.InvalidParameterValueError, match="duration=0"):
        training.Trainer(projections, output, 0)
    with pytest.raises(errors.InvalidParameterValueError, match="method='adjoint'"):
        training.Trainer(projections, output, DURATION, method="adjoint")
    with pytest.raises(errors.InvalidParameterValueError, match="'tau_refrac'.*cannot be"):
        training.Trainer(projections, output, DURATION, parameters=[(hidden, "tau_refrac")])
    with pytest.raises(errors.InvalidParameterValueError, match="'tau_m'.*method='exact'"):
        training.Trainer(projections, output, DURATION, method="exact",
                         parameters=[(hidden, "tau_m")])
    with pytest.raises(errors.ConnectionError, match="PopulationView"):
        training.Trainer([sim.Projection(inputs, hidden[:3], sim.AllToAllConnector())],
                         output, DURATION)
    recurrent = sim.Projection(output, hidden, sim.AllToAllConnector(),
                               sim.StaticSynapse(weight=0.1, delay=1.0))
    training.Trainer(projections + [recurrent], output, DURATION, method="surrogate")
    with pytest.raises(errors.ConnectionError, match="recurrent"):
        training.Trainer(projections + [recurrent], output, DURATION, method="exact")
    hidden.set(tau_m=15.0)
    with pytest.raises(errors.InvalidParameterValueError, match="tau_m = 2 tau_syn_E"):
        training.Trainer(projections, output, DURATION, method="exact")
    hidden.set(tau_m=10.0, tau_refrac=2.0)
    with pytest.raises(errors.InvalidParameterValueError, match="tau_refrac >= duration"):
        training.Trainer(projections, output, DURATION, method="exact")
    hidden.set(tau_refrac=100.0, v_rest=-55.0)                       # v_thresh = -55 mV
    with pytest.raises(errors.InvalidParameterValueError,
                       match=r"v_thresh - v_rest >= 0.01 mV; population 'hidden' has "
                             r"v_thresh - v_rest = \[0\.\] mV"):
        training.Trainer(projections, output, DURATION, method="exact")
    hidden.set(v_rest=-65.0)
    hidden.initialize(v=-60.0)
    with pytest.raises(errors.InvalidParameterValueError, match=r"starts at v=\[-60\.\] mV"):
        training.Trainer(projections, output, DURATION, method="exact")
    adaptive = sim.Population(3, sim.IF_cond_exp(), label="conductance")
    with pytest.raises(errors.InvalidModelError,
                       match="cell type IF_cond_exp.*'conductance'.*supported: IF_curr_exp"):
        training.Trainer([sim.Projection(inputs, adaptive, sim.AllToAllConnector())],
                         adaptive, DURATION)


def test_exact_training_keeps_the_threshold_above_rest(sim):
    """The closed form of the first spike needs v_thresh > v_rest: constrain() clamps a
    trained threshold to v_rest + MIN_THRESHOLD_GAP, leaves the others, and the surrogate
    method (which models any threshold) is not clamped."""
    inputs, hidden, output, projections = layered_network(sim)
    thresholds = jnp.array([-70.0, -65.0, -64.999, -60.0, -50.0] + [-55.0] * 7)
    gap = training.trainer.MIN_THRESHOLD_GAP
    for method, expected in (
            ("exact", [-65.0 + gap, -65.0 + gap, -65.0 + gap, -60.0, -50.0]),
            ("surrogate", [-70.0, -65.0, -64.999, -60.0, -50.0])):
        trainer = training.Trainer(projections, output, DURATION, method=method,
                                   parameters=[(hidden, "v_thresh")])
        params = {**trainer.params, "cells": [{}, {"v_thresh": thresholds}, {}]}
        clamped = np.asarray(trainer.constrain(params)["cells"][1]["v_thresh"])
        np.testing.assert_allclose(clamped[:5], expected, atol=1e-5)
        np.testing.assert_array_equal(clamped[5:], -55.0)


def test_in_the_loop_gradient_is_the_exact_gradient_at_the_measured_times(sim):
    """With measured hidden and output times, the loss is taken on the measured output times
    and the gradient of the hidden-to-output weights is the closed form's at the measured
    hidden times (finite differences of the output layer fed with those times)."""
    from pyNN_jax.engine import differentiable as diff
    inputs, hidden, output, projections = layered_network(sim)
    trainer = training.Trainer(projections, output, duration=DURATION, method="exact")
    times, labels = samples(6)
    ideal = trainer.forward_all(trainer.params, times)
    same = trainer.forward_all(trainer.params, times, [None, ideal[1], ideal[2]])
    np.testing.assert_allclose(same[2], ideal[2])
    shift = np.random.default_rng(0).uniform(-0.2, 0.2, ideal[1].shape)
    measured_hidden = ideal[1] + shift
    measured_output = np.asarray(ideal[2]) + 0.05
    measured = [None, jnp.asarray(measured_hidden), jnp.asarray(measured_output)]

    def loss(p):
        return trainer.loss_function(trainer.forward_all(p, times, measured)[2],
                                     jnp.asarray(labels))

    loss = jax.jit(loss)
    assert float(loss(trainer.params)) == pytest.approx(float(trainer.loss_function(
        jnp.asarray(measured_output), jnp.asarray(labels))), rel=1e-6)
    gradient = jax.grad(loss)(trainer.params)["weights"]

    cells = trainer.full_parameters(trainer.params)["cells"][2]

    def output_layer(w_exc, w_inh):
        arrivals = jnp.concatenate([measured_hidden[:, :, None] + trainer._delays_ms[2],
                                    measured_hidden[:, :, None] + trainer._delays_ms[3]], 1)
        weights = jnp.concatenate([w_exc, w_inh])
        t = jax.vmap(lambda a: diff.lif_first_spike(
            a, weights, cells["tau_syn_E"], cells["cm"],
            cells["v_thresh"] - cells["v_rest"]))(arrivals)
        return diff.substitute_measured(t, jnp.asarray(measured_output))

    reference = jax.jit(jax.grad(lambda w: trainer.loss_function(
        output_layer(w, trainer.params["weights"][3]), jnp.asarray(labels))))(
        trainer.params["weights"][2])
    assert np.abs(np.asarray(reference)).max() > 0
    np.testing.assert_allclose(gradient[2], reference, rtol=1e-4, atol=1e-7)
