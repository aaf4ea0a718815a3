"""The engine's time loop: blocks of steps between deliveries, recording buffers."""
import dataclasses

import numpy as np
import jax
import jax.numpy as jnp
import pytest

import pyNN.jax as sim
from pyNN_jax.engine import network


def recurrent_network(delay, spike_precision="on_grid"):
    """200 LIF cells with recurrent static and STDP connections, Poisson and array input."""
    sim.setup(timestep=0.1, min_delay=0.1, rng_seed=7, spike_precision=spike_precision)
    rng = sim.NumpyRNG(seed=3)
    cells = sim.Population(200, sim.IF_curr_exp(tau_refrac=2.0), label="cells")
    noise = sim.Population(50, sim.SpikeSourcePoisson(rate=80.0))
    given = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0, 1.05, 30.0], [2.5]]))
    sim.Projection(noise, cells, sim.FixedProbabilityConnector(0.2, rng=rng),
                   sim.StaticSynapse(weight=0.6, delay=delay))
    sim.Projection(given, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=2.0,
                                                                            delay=delay))
    sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.05, rng=rng),
                   sim.StaticSynapse(weight=-0.3, delay=delay + 0.2),
                   receptor_type="inhibitory")
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                             weight_dependence=sim.AdditiveWeightDependence(w_max=1.0),
                             weight=0.4, delay=0.1)
    sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.05, rng=rng), stdp)
    cells.record(["spikes", "v"])
    noise.record("spikes")
    return cells


@pytest.mark.parametrize("spike_precision", ["on_grid", "off_grid"])
@pytest.mark.parametrize("delay, n_steps", [(0.3, 1000), (1.5, 997)])
def test_blocks_give_the_same_spikes_and_voltages_as_single_steps(delay, n_steps,
                                                                  spike_precision):
    recurrent_network(delay, spike_precision)
    net = sim.state.network
    net.prepare()
    assert net.structure.block_steps == round(delay / 0.1)
    results = []
    for block_steps in (net.structure.block_steps, 1):
        structure = dataclasses.replace(net.structure, block_steps=block_steps)
        state, out = network.run_chunk(structure, net.values, net.device_state,
                                       np.int32(n_steps))
        # the LIF cells' spikes: bits on the grid, steps and offsets off it
        spikes = ("spike_bits", "spikes") if spike_precision == "on_grid" else \
            ("precise_spikes", "precise_offsets")
        results.append(tuple(np.asarray(out[name]) for name in spikes)
                       + (np.asarray(out["signals"][0]), np.asarray(state["ring"])))
    (bits_b, counts_b, v_b, ring_b), (bits_1, counts_1, v_1, ring_1) = results
    assert bits_b[:n_steps].any() and counts_b[:n_steps].any()
    np.testing.assert_array_equal(bits_b, bits_1)
    # counts equal; offsets (ms) are roots found to float32's tolerance from the v below
    np.testing.assert_allclose(counts_b, counts_1, rtol=0, atol=1e-4)
    # the inputs of one slot are summed in another order: equal up to float32 rounding
    np.testing.assert_allclose(v_b, v_1, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(ring_b, ring_1, rtol=1e-6, atol=1e-6)
    assert not bits_b[n_steps:].any()          # rows past n_steps stay empty
    sim.end()


def test_block_length_follows_the_shortest_static_delay():
    recurrent_network(0.5)
    net = sim.state.network
    net.prepare()
    assert net.structure.block_steps == 5
    prj = sim.state.projections[0]
    prj.set(delay=0.2)                          # shorter than the block: rebuilt
    net.prepare()
    assert net.structure.block_steps == 2
    sim.end()


@pytest.mark.parametrize("n_steps, n_cells, density", [
    (7, 100, 0.2),       # an even number of words in all
    (5, 33, 0.5),        # odd: the last 64-bit word is padded
    (3, 64, 1.0),        # every bit of every word set
    (4, 1, 0.5),
    (6, 70, 0.0),        # no spike
    (0, 40, 0.5),        # no step
])
def test_spike_bits_round_trip(n_steps, n_cells, density):
    rng = np.random.default_rng(1)
    flags = rng.random((n_steps, n_cells)) < density
    if n_steps == 0:
        words = np.zeros((0, -(-n_cells // 32)), np.uint32)
        steps, cells = network.unpack_bits(words)
        assert steps.size == 0 and cells.size == 0
        return
    words = np.stack([np.asarray(network.pack_bits(jnp.asarray(f))) for f in flags])
    assert words.shape == (n_steps, -(-n_cells // 32)) and words.dtype == np.uint32
    steps, cells = network.unpack_bits(words)
    np.testing.assert_array_equal(steps, np.nonzero(flags)[0])
    np.testing.assert_array_equal(cells, np.nonzero(flags)[1])


def test_values_equal_in_every_cell_of_a_group_become_scalars():
    from pyNN_jax.engine.models import lif_current, spike_sources
    values = {"p": {"v_rest": np.full(4, -65.0, np.float32),
                    "i_offset": np.array([0.0, 0.1, 0.2, 0.3], np.float32),
                    "tau_m": np.full(4, 20.0, np.float32)},
              "d": {"ref_steps": np.full(4, 20, np.int32)}}
    compact = network.compact_group_values(lif_current.IFCurrExp(), values,
                                           per_cell={("p", "tau_m")})
    assert compact["p"]["v_rest"].shape == () and compact["p"]["v_rest"] == -65.0
    assert compact["p"]["v_rest"].dtype == np.float32
    assert compact["d"]["ref_steps"].shape == () and compact["d"]["ref_steps"].dtype == np.int32
    np.testing.assert_array_equal(compact["p"]["i_offset"], values["p"]["i_offset"])
    assert compact["p"]["tau_m"].shape == (4,)          # kept per cell on request
    # models that read their values' shapes keep every array
    poisson = {"p": {"rate": np.full(4, 10.0)}, "d": {"p_spike": np.full(4, 1e-3)}}
    assert network.compact_group_values(spike_sources.SpikeSourcePoisson(), poisson) is poisson


@pytest.mark.parametrize("spike_precision", ["on_grid", "off_grid"])
def test_scalar_values_give_the_same_run_as_per_cell_arrays(spike_precision):
    """The chunk with the compacted group values (scalars where all cells share a value)
    computes what it computes from the full per-cell arrays: exactly on the grid; off it,
    XLA compiles a division by a scalar otherwise than by an array, and spike offsets
    (roots to float32's tolerance) and what follows from them agree to float32 rounding,
    every spike in the same step."""
    recurrent_network(0.3, spike_precision)
    net = sim.state.network
    net.prepare()
    assert any(np.ndim(v) == 0 for g in net.values["groups"] for v in g["p"].values())
    per_cell = {**net.values, "groups": net.host_groups}
    compact_state, compact_recorded = network.run_chunk(net.structure, net.values,
                                                         net.device_state, 300)
    full_state, full_recorded = network.run_chunk(net.structure, per_cell,
                                                  net.device_state, 300)
    for a, b in zip(jax.tree_util.tree_leaves((compact_state, compact_recorded)),
                    jax.tree_util.tree_leaves((full_state, full_recorded))):
        a, b = np.asarray(a), np.asarray(b)
        if spike_precision == "on_grid" or not np.issubdtype(a.dtype, np.floating):
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
    spikes = "spikes" if spike_precision == "on_grid" else "precise_spikes"
    assert np.asarray(compact_recorded[spikes]).sum() > 0
