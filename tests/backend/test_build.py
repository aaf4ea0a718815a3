"""Running a network: one compiled chunk, chunking invariance, no lost spikes, full reset."""
import collections

import numpy as np
import pytest

from pyNN_jax.engine import chunk_cache


def small_network(sim, seed=7):
    rng = sim.NumpyRNG(seed=seed)
    cells = sim.Population(200, sim.IF_curr_exp(i_offset=sim.RandomDistribution(
        "uniform", (0.3, 1.2), rng=rng), tau_refrac=2.0), label="cells")
    noise = sim.Population(50, sim.SpikeSourcePoisson(rate=40.0), label="noise")
    sim.Projection(noise, cells, sim.FixedProbabilityConnector(0.2, rng=rng),
                   sim.StaticSynapse(weight=0.3, delay=1.5))
    sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.05, rng=rng),
                   sim.StaticSynapse(weight=-0.2, delay=0.7), receptor_type="inhibitory")
    cells.record(["spikes", "v"])
    return cells


def spikes_of(population):
    return [np.asarray(st) for st in population.get_data().segments[-1].spiketrains]


def test_run_lengths_values_and_reset_reuse_one_compiled_chunk(sim):
    cells = small_network(sim)
    sim.run(10.0)
    compiled = chunk_cache.n_executables()
    sim.run(123.4)
    sim.run(0.3)
    cells.set(i_offset=0.5)                      # a value, not the structure
    sim.run(5.0)
    sim.reset()
    sim.run(77.0)
    assert chunk_cache.n_executables() == compiled


def test_adding_a_recorded_cell_recompiles_once(sim):
    small_network(sim)
    sim.run(10.0)
    compiled = chunk_cache.n_executables()
    other = sim.Population(3, sim.IF_cond_exp())
    other.record("v")
    sim.run(10.0)
    sim.run(10.0)
    assert chunk_cache.n_executables() == compiled + 1


def test_a_process_keeps_a_bounded_number_of_executables(sim, monkeypatch):
    """Networks of ever new structures in one process (each executable holds ~150 memory
    mappings of JIT code on a CPU; the kernel allows 65 530): the least recently used
    executables are dropped, jit's own caches keep none, and a dropped network still runs."""
    from pyNN_jax.engine import network
    monkeypatch.setattr(chunk_cache, "MAX_EXECUTABLES_IN_MEMORY", 2)
    monkeypatch.setattr(chunk_cache, "_compiled", collections.OrderedDict())
    counts = []
    for size in (3, 4, 5, 3):        # the last has the first's structure, dropped meanwhile
        sim.setup(timestep=0.1, spike_precision="on_grid", compilation_cache=None)
        cells = sim.Population(size, sim.IF_curr_exp(i_offset=1.0, tau_refrac=2.0))
        cells.record("spikes")
        sim.run(50.0)
        counts.append([len(st) for st in cells.get_data().segments[-1].spiketrains])
        assert len(chunk_cache._compiled) <= 2
        assert network.run_chunk._cache_size() == 0
    assert counts[3] == counts[0] and min(counts[0]) > 0


def test_first_run_compiles_its_chunk_once_while_the_tables_are_written(sim, monkeypatch):
    # the static tables are written while a second thread has the chunk made (compiled, or
    # loaded from a cache folder) by a run of zero steps (build.EngineNetwork.
    # _fill_tables_while_compiling): the run itself must find that chunk, not make its own
    import threading
    # on the grid: off it, the synchronous first spikes (17 inputs per cell in one step) make
    # the precise events' slots grow, which is a second compilation by design
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid")
    rng = sim.NumpyRNG(seed=5)
    cells = sim.Population(173, sim.IF_curr_exp(i_offset=2.0), label="cells")
    sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                   sim.StaticSynapse(weight=0.2, delay=0.5))
    cells.record("spikes")
    made_in = []
    make = chunk_cache._load_or_compile

    def recording_make(*args):
        made_in.append(threading.current_thread())
        return make(*args)

    # nothing made in this process yet
    monkeypatch.setattr(chunk_cache, "_compiled", collections.OrderedDict())
    monkeypatch.setattr(chunk_cache, "_load_or_compile", recording_make)
    sim.run(20.0)
    assert len(made_in) == 1 and made_in[0] is not threading.main_thread()
    assert sum(len(st) for st in cells.get_data().segments[0].spiketrains) > 0


def run_in_pieces(pieces, chunk_steps=None, spike_precision="off_grid"):
    import pyNN.jax as sim
    sim.setup(timestep=0.1, rng_seed=3, chunk_steps=chunk_steps,
              spike_precision=spike_precision)
    cells = small_network(sim)
    for duration in pieces:
        sim.run(duration)
    data = cells.get_data().segments[-1]
    result = ([np.asarray(st) for st in data.spiketrains], np.asarray(data.analogsignals[0]))
    sim.end()
    return result


@pytest.mark.parametrize("spike_precision", ["on_grid", "off_grid"])
def test_quick_compilation_of_short_runs_gives_the_same_results(monkeypatch, spike_precision):
    """A short run's chunk is compiled without LLVM's optimisations (build.
    QUICK_COMPILE_CELL_STEPS), a long run's with them: two executables, the same numbers on
    the grid; off it the same spikes, their times and v equal to float32 rounding (the
    optimised code rounds the root finding's arithmetic otherwise)."""
    from pyNN_jax import build
    before = chunk_cache.n_executables()
    # 250 cells x 3000 steps; chunks of 77 steps: a structure no other test compiles
    spikes_quick, v_quick = run_in_pieces([300.0], 77, spike_precision)
    monkeypatch.setattr(build, "QUICK_COMPILE_CELL_STEPS", 0)
    spikes_full, v_full = run_in_pieces([300.0], 77, spike_precision)
    assert chunk_cache.n_executables() == before + 2
    assert sum(map(len, spikes_quick)) > 100
    exact = spike_precision == "on_grid"
    for a, b in zip(spikes_quick, spikes_full):
        np.testing.assert_allclose(a, b, rtol=0, atol=0 if exact else 1e-3)
    np.testing.assert_allclose(v_quick, v_full, rtol=0, atol=0 if exact else 1e-2)


def test_result_independent_of_how_the_run_is_cut():
    spikes_whole, v_whole = run_in_pieces([300.0])
    spikes_cut, v_cut = run_in_pieces([50.0, 0.1, 49.9, 137.3, 62.7])
    assert sum(len(s) for s in spikes_whole) > 100
    for a, b in zip(spikes_whole, spikes_cut):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(v_whole, v_cut)


def test_chunk_length_does_not_change_results():
    spikes_default, v_default = run_in_pieces([200.0])
    spikes_short, v_short = run_in_pieces([200.0], chunk_steps=7)
    for a, b in zip(spikes_default, spikes_short):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(v_default, v_short)


def test_reset_restores_the_full_state(sim):
    """Deterministic network: the segment after reset() is identical to the first."""
    cells = sim.Population(20, sim.IF_curr_alpha(i_offset=np.linspace(0.2, 1.5, 20)))
    cells.initialize(v=np.linspace(-70, -55, 20))
    sim.Projection(cells, cells, sim.AllToAllConnector(allow_self_connections=False),
                   sim.StaticSynapse(weight=0.05, delay=2.0))
    cells.record(["v", "spikes"])
    sim.run(150.0)
    sim.reset()
    sim.run(150.0)
    first, second = cells.get_data().segments
    np.testing.assert_array_equal(np.asarray(first.analogsignals[0]),
                                  np.asarray(second.analogsignals[0]))
    for a, b in zip(first.spiketrains, second.spiketrains):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert sum(len(st) for st in first.spiketrains) > 20


def test_random_streams_new_per_segment_and_reproducible_per_seed():
    import pyNN.jax as sim
    runs = []
    for seed in (11, 11, 12):
        sim.setup(timestep=0.1, rng_seed=seed)
        noise = sim.Population(30, sim.SpikeSourcePoisson(rate=50.0))
        noise.record("spikes")
        sim.run(200.0)
        sim.reset()
        sim.run(200.0)
        runs.append([[np.asarray(st) for st in seg.spiketrains]
                     for seg in noise.get_data().segments])
        sim.end()

    def same(a, b):
        return all(np.array_equal(x, y) for x, y in zip(a, b))
    assert same(runs[0][0], runs[1][0]) and same(runs[0][1], runs[1][1])
    assert not same(runs[0][0], runs[0][1])            # new randomness after reset
    assert not same(runs[0][0], runs[2][0])            # another seed, other spikes


def test_no_spike_lost_when_every_cell_fires_in_the_same_step(sim):
    """5000 identical cells fire together; each projects onto one delta-synapse cell with
    weight 2**-8 mV (exact in float32): the jump is exactly 5000 * 2**-8 mV."""
    n = 5000
    senders = sim.Population(n, sim.IF_curr_exp(i_offset=2.0, tau_refrac=50.0))
    target = sim.Population(1, sim.IF_curr_delta(v_thresh=1000.0, tau_m=1e9, v_rest=0.0,
                                                 v_reset=0.0))
    target.initialize(v=0.0)
    sim.Projection(senders, target, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=2 ** -8, delay=1.0))
    senders.record("spikes")
    target.record("v")
    sim.run(30.0)
    data = senders.get_data().segments[0]
    first_spikes = {float(st[0]) for st in data.spiketrains}
    assert len(first_spikes) == 1 and sum(len(st) for st in data.spiketrains) == n
    v = np.asarray(target.get_data().segments[0].analogsignals[0])[:, 0]
    assert v.max() == n * 2 ** -8


@pytest.mark.parametrize("pieces,chunk_steps", [([300.0], None),
                                                ([41.3, 0.2, 120.0, 138.5], 7)])
def test_every_spike_arrives_with_short_and_long_delays_through_many_ring_cycles(
        pieces, chunk_steps):
    """Static connections of 1 ms (the cells advance blocks of 10 steps between their
    deliveries) and stochastic ones with p = 1, delivered every step, with the longest delay
    of the network (12 ms): every input spike moves v of a delta-synapse cell by the weight
    at its arrival, also when runs and chunks cut the blocks, while the delay ring (32 slots)
    wraps around ~90 times."""
    import pyNN.jax as sim
    sim.setup(timestep=0.1, min_delay=0.1, max_delay=12.0, chunk_steps=chunk_steps)
    rng = np.random.default_rng(3)
    times = np.round(np.cumsum(rng.uniform(3.0, 9.0, 45)), 1)
    times = times[~np.isin(np.round(times - 11.0, 1), times)]   # no two arrivals in a step
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
    cell = sim.Population(1, sim.IF_curr_delta(tau_m=1e4, v_rest=0.0, v_reset=0.0,
                                               v_thresh=1e3, tau_refrac=0.1))
    cell.initialize(v=0.0)
    sim.Projection(source, cell, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=1.0, delay=1.0))
    sim.Projection(source, cell, sim.OneToOneConnector(),
                   sim.SimpleStochasticSynapse(weight=0.25, delay=12.0, p=1.0))
    cell.record("v")
    for piece in pieces:
        sim.run(piece)
    assert sim.state.network.structure.block_steps == min(10, chunk_steps or 10)
    v = cell.get_data().segments[0].analogsignals[0].magnitude[:, 0]
    sim.end()
    total = sum(pieces)
    arrivals = sorted([(t + 1.0, 1.0) for t in times if t + 1.0 < total - 0.2]
                      + [(t + 12.0, 0.25) for t in times if t + 12.0 < total - 0.2])
    jumps = np.flatnonzero(np.diff(v) > 0.1)
    assert len(jumps) == len(arrivals) > 60
    for jump, (arrival, weight) in zip(jumps, arrivals):
        assert abs(jump - arrival / 0.1) <= 1.0
        assert np.diff(v)[jump] == pytest.approx(weight, abs=0.01)


def test_values_that_become_different_between_cells_compile_once(sim):
    """Values equal in every cell are scalars in the compiled step; Population.set() that
    makes them differ compiles once, after which they stay per-cell arrays (no compilation
    when they become equal again). The new values take effect."""
    cells = sim.Population(40, sim.IF_curr_exp(i_offset=2.0, tau_refrac=2.0))
    cells.record("spikes")
    sim.run(20.0)
    compiled = chunk_cache.n_executables()
    cells.set(i_offset=np.linspace(0.5, 3.0, 40))
    sim.run(30.0)
    assert chunk_cache.n_executables() == compiled + 1
    cells.set(i_offset=2.0)
    sim.run(5.0)
    assert chunk_cache.n_executables() == compiled + 1
    counts = [len(st) for st in cells.get_data().segments[-1].spiketrains]
    before = [len(st.time_slice(0, 20.0)) for st in cells.get_data().segments[-1].spiketrains]
    assert len(set(before)) == 1 and before[0] > 0        # equal drive: equal spikes
    during = np.subtract(counts, before)
    assert during[-1] > during[20] > during[0] >= 0       # the drive now differs by cell


def driven_one_to_one(sim, new_delays=None):
    """Cells driven one to one by their own Poisson sources (one delay): spikes and v, after
    optionally changing the drive's delays between two runs."""
    sim.setup(timestep=0.1, min_delay=0.1, rng_seed=12, compilation_cache=None)
    cells = sim.Population(300, sim.IF_curr_exp(tau_m=10.0, v_thresh=-55.0))
    drive = sim.Population(300, sim.SpikeSourcePoisson(rate=np.linspace(500.0, 3000.0, 300)))
    projection = sim.Projection(drive, cells, sim.OneToOneConnector(),
                                sim.StaticSynapse(weight=0.4, delay=0.3))
    cells.record(["spikes", "v"])
    sim.run(50.0)
    if new_delays is not None:
        projection.set(delay=new_delays)
    sim.run(50.0)
    gathered = "source_row" in sim.state.network.values["tables"][0]
    spikes, v = spikes_of(cells), np.asarray(cells.get_data().segments[-1].analogsignals[0])
    sim.end()
    return spikes, v, gathered


@pytest.mark.parametrize("new_delays", [None, 0.5, np.linspace(0.2, 1.0, 300)])
def test_one_to_one_drive_delivered_by_gathering_gives_the_scattered_results(
        monkeypatch, new_delays):
    """A static one-to-one table with one delay is delivered by a gather into the ring
    (engine.synapses.gathered_columns); the same spikes and v as the scattered delivery, also
    after Projection.set() gives the connections another delay or several delays (the table
    is then planned again, scattered)."""
    import pyNN.jax as sim
    from pyNN_jax.engine import synapses
    spikes, v, gathered = driven_one_to_one(sim, new_delays)
    assert gathered == (np.ndim(new_delays) == 0)
    assert sum(map(len, spikes)) > 1000
    monkeypatch.setattr(synapses, "gathered_columns", lambda parts, n_rows: {})
    spikes_scattered, v_scattered, gathered = driven_one_to_one(sim, new_delays)
    assert not gathered
    for ours, theirs in zip(spikes, spikes_scattered):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(v, v_scattered)


def test_padding_cells_keep_a_one_to_one_drive_in_rows_of_their_cells(tmp_path):
    """With a compilation cache the groups are padded (pyNN_jax.padding); the padding cells,
    which have no connections, do not count against a table of one row per cell: the
    one-to-one drive of 1000 cells by 1000 sources keeps row r = cell r and is gathered."""
    import pyNN.jax as sim
    sim.setup(timestep=0.1, min_delay=0.1, compilation_cache=str(tmp_path))
    cells = sim.Population(1000, sim.IF_curr_exp())
    drive = sim.Population(1000, sim.SpikeSourcePoisson(rate=1000.0))
    sim.Projection(drive, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.1))
    sim.run(1.0)
    network = sim.state.network
    assert network.structure.n_cells > 2000                      # padded
    assert network.structure.tables[0].cell_rows
    assert "source_row" in network.values["tables"][0]
    sim.end()
