"""Sizes padded for the persistent compilation cache: padded networks give the results of
unpadded ones, and a script edited a little finds its compiled chunk in the cache."""
import json
import os
import subprocess
import sys

import numpy as np

from pyNN_jax import padding

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def edited_network(sim, n_cells, p_connect, seed=3):
    """Excitatory and inhibitory IF_cond_exp cells (one group), Poisson sources onto all of
    them (rows of 256: several rows per source), recurrent FixedProbability connections."""
    rng = sim.NumpyRNG(seed=seed)
    n_exc = int(0.8 * n_cells)
    exc = sim.Population(n_exc, sim.IF_cond_exp(tau_refrac=2.0), label="exc")
    inh = sim.Population(n_cells - n_exc, sim.IF_cond_exp(tau_refrac=2.0), label="inh")
    for population in (exc, inh):
        population.initialize(v=sim.RandomDistribution("uniform", (-65.0, -52.0), rng=rng))
    noise = sim.Population(7, sim.SpikeSourcePoisson(rate=200.0), label="noise")
    for target in (exc, inh):
        sim.Projection(noise, target, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.01, delay=0.5))
    for source, weight, receptor in ((exc, 0.004, "excitatory"), (inh, 0.05, "inhibitory")):
        for target in (exc, inh):
            sim.Projection(source, target, sim.FixedProbabilityConnector(p_connect, rng=rng),
                           sim.StaticSynapse(weight=weight, delay=0.3), receptor_type=receptor)
    exc.record("spikes")
    inh.record("spikes")
    exc[[0, 3, 11]].record(["v", "gsyn_exc"])
    return exc, inh


def recorded(population):
    segment = population.get_data().segments[-1]
    return ([np.asarray(train) for train in segment.spiketrains],
            [np.asarray(signal) for signal in segment.analogsignals])


def test_a_padded_network_gives_the_results_of_the_unpadded_one(tmp_path):
    import pyNN.jax as sim
    results, shapes = [], []
    for cache in (None, tmp_path):
        sim.setup(timestep=0.1, min_delay=0.1, compilation_cache=cache)
        exc, inh = edited_network(sim, 230, 0.05)
        sim.run(150.0)
        network = sim.simulator.state.network
        shapes.append((network.structure.n_cells, network.structure.tables[0].n_rows,
                       network.structure.record.n_spike_bit_cells))
        results.append((recorded(exc), recorded(inh), exc.get("tau_m"), exc.positions))
        sim.end()
    (unpadded, padded) = shapes
    assert unpadded[0] == 230 + 7 and all(p > u for p, u in zip(padded, unpadded))
    (exc_a, inh_a, tau_a, positions_a), (exc_b, inh_b, tau_b, positions_b) = results
    for a, b in ((exc_a, exc_b), (inh_a, inh_b)):
        assert len(a[0]) == len(b[0]) and sum(len(t) for t in a[0]) > 100
        for train_a, train_b in zip(a[0], b[0]):
            np.testing.assert_array_equal(train_a, train_b)
        assert len(a[1]) == len(b[1])
        for signal_a, signal_b in zip(a[1], b[1]):
            assert signal_a.shape == signal_b.shape
            np.testing.assert_array_equal(signal_a, signal_b)
    np.testing.assert_array_equal(tau_a, tau_b)
    np.testing.assert_array_equal(positions_a, positions_b)


def test_sizes_used_before_are_reused_within_the_padding_bound(tmp_path):
    first = padding.SizePadding(tmp_path)
    assert first.size("cells 0 IF_cond_exp", 4000) == 4352       # + 6.25 %, 5 bits
    assert first.size("spike bits", 0) == 0
    first.save()
    again = padding.SizePadding(tmp_path)
    assert [again.size("cells 0 IF_cond_exp", n) for n in (4100, 3900, 4352)] == [4352] * 3
    assert again.size("cells 0 IF_cond_exp", 3800) == 4096        # 4352 pads 3800 > 12.5 %
    assert again.size("cells 0 IF_cond_exp", 4353) == 4864
    assert again.size("cells 0 IF_cond_exp", 4000) == 4352        # the oldest that fits
    assert [again.size("signal 0", 2) for _ in range(3)] == [3] * 3  # small: > 12.5 %
    again.save()
    with open(tmp_path / padding.INDEX_NAME) as f:
        assert json.load(f) == {"cells 0 IF_cond_exp": [4352, 4096, 4864], "signal 0": [3]}
    assert padding.SizePadding(None).size("cells 0 IF_cond_exp", 4000) == 4000


EDITED_SCRIPT = """
import sys
import jax
import pyNN.jax as sim
from tests.backend.test_padding import edited_network
events = []
jax.monitoring.register_event_listener(lambda event, **kw: events.append(event))
sim.setup(timestep=0.1, min_delay=0.1, compilation_cache=sys.argv[3])
exc, inh = edited_network(sim, int(sys.argv[1]), float(sys.argv[2]))
sim.run(20.0)
print(sum(event.endswith("cache_misses") for event in events))
"""


def test_a_script_edited_a_little_finds_its_chunk_in_the_cache(tmp_path):
    """Cells +2.6 % then connection probability +5 % (other table rows): no compilation
    cache miss after the first process; a size past the padding compiles again."""
    def cache_misses(n_cells, p_connect):
        out = subprocess.run([sys.executable, "-c", EDITED_SCRIPT, str(n_cells),
                              str(p_connect), str(tmp_path)], check=True, text=True,
                             capture_output=True, cwd=ROOT).stdout
        return int(out.split()[-1])

    assert cache_misses(230, 0.05) >= 1
    assert cache_misses(236, 0.05) == 0
    assert cache_misses(230, 0.0525) == 0
    assert cache_misses(300, 0.05) >= 1
