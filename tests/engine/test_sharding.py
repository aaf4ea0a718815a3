"""A network spread over several JAX devices (``setup(devices=...)``, engine/sharding.py).

XLA's device count is fixed when JAX starts, so the comparison runs in a child Python process
with ``XLA_FLAGS=--xla_force_host_platform_device_count=4`` (four virtual CPU devices): it
simulates the same recurrent network (a Vogels-Abbott-like COBA network driven by Poisson
sources, one plastic STDP projection) on one device and on four, and the test compares the
spikes, the membrane potentials and the learned weights, and checks that the arrays were split
and that the compiled chunk is partitioned (it contains collectives).
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import pyNN.jax as sim
from pyNN import errors

N_DEVICES = 4
N_EXC, N_INH, N_NOISE = 320, 80, 30      # 30 noise sources: not a multiple of 4 (replicated)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def simulate(devices):
    """Build and run the network on ``devices``; return its spikes, traces and weights."""
    import jax
    from pyNN.random import NumpyRNG, RandomDistribution
    from pyNN_jax.engine import sharding

    # compilation_cache=None: sizes not padded (the shard sizes below are the populations')
    sim.setup(timestep=0.1, min_delay=0.2, max_delay=2.0, rng_seed=7, chunk_steps=300,
              devices=devices, compilation_cache=None)
    cell = dict(tau_m=20.0, tau_syn_E=5.0, tau_syn_I=10.0, v_rest=-60.0, v_reset=-60.0,
                v_thresh=-50.0, cm=0.2, tau_refrac=5.0, e_rev_E=0.0, e_rev_I=-80.0)
    exc = sim.Population(N_EXC, sim.IF_cond_exp(**cell), label="exc")
    # tau_m differs between the populations of the group: a per-cell array from the start,
    # so that inh.set(tau_m=...) below changes values, not shapes (no compilation)
    inh = sim.Population(N_INH, sim.IF_cond_exp(**dict(cell, tau_m=18.0)), label="inh")
    noise = sim.Population(N_NOISE, sim.SpikeSourcePoisson(rate=150.0), label="noise")
    rng = NumpyRNG(seed=11)
    v_init = RandomDistribution("uniform", low=-60.0, high=-50.0, rng=rng)
    exc.initialize(v=v_init)
    inh.initialize(v=v_init)

    def connector(p):
        return sim.FixedProbabilityConnector(p, rng=rng)
    exc_syn = sim.StaticSynapse(weight=0.006, delay=0.2)
    inh_syn = sim.StaticSynapse(weight=0.06, delay=0.5)
    recurrent = [sim.Projection(pre, post, connector(0.05), syn, receptor_type=receptor)
                 for post in (exc, inh)
                 for pre, syn, receptor in ((exc, exc_syn, "excitatory"),
                                            (inh, inh_syn, "inhibitory"))]
    sim.Projection(noise, exc, connector(0.25), sim.StaticSynapse(weight=0.02, delay=1.0),
                   receptor_type="excitatory")
    plastic = sim.Projection(noise, inh, connector(0.2), sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                            A_plus=0.01, A_minus=0.012),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=0.05),
        weight=0.02, delay=0.3), receptor_type="excitatory")
    exc.record("spikes")
    inh.record(["spikes", "v"])

    sim.run(100.0)
    sim.run(150.0)                  # a second run() reuses the compiled chunk
    result = {"stdp_weight": np.asarray(plastic.get("weight", format="list",
                                                    with_address=False))}
    sim.reset()                     # new values pushed to the placed arrays, no recompilation
    recurrent[0].set(weight=0.008)
    inh.set(tau_m=15.0)
    sim.run(50.0)
    for pop in (exc, inh):
        segments = pop.get_data().segments    # all variables: PyNN drops cached ones otherwise
        for segment_index, segment in enumerate(segments):
            trains = segment.spiketrains
            result[f"{pop.label}_ids_{segment_index}"] = np.concatenate(
                [np.full(len(st), st.annotations["source_index"]) for st in trains])
            result[f"{pop.label}_times_{segment_index}"] = np.concatenate(
                [st.magnitude for st in trains])
    result["inh_v"] = segments[0].filter(name="v")[0].magnitude

    network = sim.state.network
    placement = network.placement
    if placement.mesh is not None:
        v = network.device_state["groups"][0]["v"]      # the 400 IF_cond_exp cells
        static_rows = network.values["tables"][0]["row_owner"]
        result["v_spec"] = list(v.sharding.spec)
        result["v_shard_sizes"] = [shard.data.shape[0] for shard in v.addressable_shards]
        result["table_spec"] = list(static_rows.sharding.spec)
        result["table_shard_sizes"] = [s.data.shape[0] for s in static_rows.addressable_shards]
        result["table_rows"] = network.structure.tables[0].n_rows
        result["n_compiled"] = sharding._run_chunk_sharded._cache_size()
        hlo = sharding._run_chunk_sharded.lower(
            network.structure, placement.mesh, network.values, network.device_state,
            np.int32(1)).compile().as_text()
        result["collectives"] = sum(hlo.count(f" {op}(") + hlo.count(f" {op}-start(")
                                    for op in ("all-gather", "all-reduce", "all-to-all",
                                               "collective-permute", "reduce-scatter"))
        result["n_jax_devices"] = len(jax.devices())
    sim.end()
    return result


def _on_one_chosen_device():
    """Index of the device that holds the state of a network set up on the third device."""
    import jax
    sim.setup(devices=[jax.devices()[2]])
    cells = sim.Population(4, sim.IF_curr_exp(i_offset=1.0))
    cells.record("v")
    sim.run(1.0)
    (device,) = sim.state.network.device_state["groups"][0]["v"].devices()
    sim.end()
    return device.id


def _child(out_path):
    """Entry point of the child process: one device, then four; results saved to npz."""
    one = simulate(1)
    four = simulate(N_DEVICES)
    four["chosen_device"] = _on_one_chosen_device()
    np.savez(out_path, **{f"one_{k}": np.asarray(v) for k, v in one.items()},
             **{f"four_{k}": np.asarray(v) for k, v in four.items()})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out_path = str(tmp_path_factory.mktemp("sharding") / "runs.npz")
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={N_DEVICES}",
           "JAX_PLATFORMS": "cpu"}
    code = f"from tests.engine.test_sharding import _child; _child({out_path!r})"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    with np.load(out_path) as data:
        one = {k[4:]: data[k] for k in data.files if k.startswith("one_")}
        four = {k[5:]: data[k] for k in data.files if k.startswith("four_")}
    return one, four


def _sorted_spikes(result, label, segment):
    ids, times = result[f"{label}_ids_{segment}"], result[f"{label}_times_{segment}"]
    order = np.lexsort((times, ids))
    return ids[order], times[order]


@pytest.mark.parametrize("label", ["exc", "inh"])
@pytest.mark.parametrize("segment", [0, 1])     # 1: after reset(), Projection.set(), set()
def test_spikes_equal_on_one_and_four_devices(runs, label, segment):
    one, four = runs
    ids_1, times_1 = _sorted_spikes(one, label, segment)
    ids_4, times_4 = _sorted_spikes(four, label, segment)
    assert ids_1.size > 100              # the network is active: the comparison means something
    np.testing.assert_array_equal(ids_4, ids_1)
    np.testing.assert_array_equal(times_4, times_1)


def test_membrane_potentials_and_learned_weights_equal(runs):
    one, four = runs
    assert one["inh_v"].shape == (2501, N_INH)
    np.testing.assert_allclose(four["inh_v"], one["inh_v"], rtol=0, atol=1e-4)     # mV
    assert np.ptp(one["stdp_weight"]) > 0          # the weights did change (STDP at work)
    np.testing.assert_allclose(four["stdp_weight"], one["stdp_weight"], rtol=1e-6)


def test_arrays_are_split_over_the_devices(runs):
    _, four = runs
    assert int(four["n_jax_devices"]) == N_DEVICES
    assert four["v_spec"].tolist() == ["cells"]
    np.testing.assert_array_equal(four["v_shard_sizes"], [(N_EXC + N_INH) // N_DEVICES] * N_DEVICES)


def test_connectivity_tables_are_split_by_rows(runs):
    _, four = runs
    assert int(four["table_rows"]) % N_DEVICES != 0    # the rows are padded to a multiple
    padded_rows = -(-int(four["table_rows"]) // N_DEVICES) * N_DEVICES
    assert four["table_spec"].tolist() == ["cells"]
    np.testing.assert_array_equal(four["table_shard_sizes"], [padded_rows // N_DEVICES] * N_DEVICES)


def test_chunk_is_partitioned_and_compiled_once(runs):
    _, four = runs
    assert int(four["collectives"]) > 0      # XLA exchanges data between the devices
    assert int(four["n_compiled"]) == 1      # the state keeps its placement between chunks


def test_a_single_chosen_device_holds_the_network(runs):
    _, four = runs
    assert int(four["chosen_device"]) == 2


def test_more_devices_than_exist_is_an_error():
    import jax
    too_many = len(jax.devices()) + 1
    with pytest.raises(errors.InvalidParameterValueError, match=f"devices = {too_many}"):
        sim.setup(devices=too_many)


@pytest.mark.parametrize("devices", [0, "some", 2.5, []])
def test_invalid_devices_option_is_an_error(devices):
    with pytest.raises(errors.InvalidParameterValueError, match="devices"):
        sim.setup(devices=devices)


def test_default_is_one_device_without_mesh():
    import jax
    sim.setup()
    placement = sim.state.network.placement
    assert placement.mesh is None
    assert placement.devices == (jax.devices()[0],)
    sim.end()
