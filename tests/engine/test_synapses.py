"""Connectivity tables and event-driven delivery."""
import numpy as np
import jax
import jax.numpy as jnp
import pytest

from pyNN_jax.engine import synapses


def random_connections(n_cells, n_conn, seed=0):
    rng = np.random.default_rng(seed)
    pre = rng.integers(0, n_cells, n_conn)
    post = rng.integers(0, n_cells, n_conn)
    return pre, post, rng.uniform(0.1, 1.0, n_conn), rng.integers(1, 6, n_conn)


def test_table_holds_every_connection_once_in_its_owners_rows():
    pre, post, weight, delay = random_connections(300, 5000)
    pre[:400] = 7                                     # one cell with a large fan-out
    table, flat = synapses.build_table(pre, post, delay, {"weight": weight}, 300)
    n_rows, width = table["target"].shape
    assert len(np.unique(flat)) == flat.size          # no two connections share a slot
    rows = flat // width
    np.testing.assert_array_equal(table["row_owner"][rows], pre)
    np.testing.assert_array_equal(table["target"].reshape(-1)[flat], post)
    np.testing.assert_array_equal(table["delay"].reshape(-1)[flat], delay)
    np.testing.assert_array_equal(table["weight"].reshape(-1)[flat], weight)
    # empty slots carry no weight; memory is O(connections + cells), not cells^2
    assert np.isclose(table["weight"].sum(), weight.sum())
    assert n_rows * width < 2 * (5000 + 300 * width)


def deliver_all(counts, table, n_slots, n_cells, rows_per_pass, step=0):
    values = {k: jnp.asarray(v) for k, v in table.items()}
    ring = jnp.zeros(n_slots * n_cells)
    ring, _ = synapses.deliver("static", values, {}, jnp.asarray(counts), ring, jnp.int32(step),
                               n_slots, n_cells, n_cells, rows_per_pass, 0.1)
    return np.asarray(ring).reshape(n_slots, n_cells)


def expected_ring(pre, post, weight, delay, counts, n_slots, n_cells, step=0):
    ring = np.zeros((n_slots, n_cells))
    np.add.at(ring, ((step + delay) % n_slots, post), weight * counts[pre])
    return ring


def test_every_spike_delivered_when_all_cells_fire_in_one_step():
    """More spiking rows than one pass holds: the while loop delivers all of them."""
    n_cells = 2000
    pre, post, weight, delay = random_connections(n_cells, 40000, seed=1)
    table, _ = synapses.build_table(pre, post, delay, {"weight": weight}, n_cells)
    counts = np.ones(n_cells, dtype=np.int32)
    ring = deliver_all(counts, table, 8, n_cells, rows_per_pass=8, step=5)
    np.testing.assert_allclose(ring, expected_ring(pre, post, weight, delay, counts, 8, n_cells,
                                                   step=5), rtol=1e-5)
    assert np.isclose(ring.sum(), weight.sum(), rtol=1e-5)


def test_cells_with_many_rows_delivered_over_several_passes():
    """A static delivery compacts spiking cells and scatters their rows a pass at a time: a
    cell whose rows fill several passes, cells without connections and multiplicities all
    land where the spikes put them."""
    n_cells, n_slots, n_block, step = 400, 16, 2, 3
    pre, post, weight, delay = random_connections(n_cells, 8000, seed=9)
    pre[:600] = 7                                  # 75 rows of 8 for cell 7
    pre[pre >= 350] = 11                           # cells 350.. have no connections
    delay = delay + n_block
    table, _ = synapses.build_table(pre, post, delay, {"weight": weight}, n_cells, width=8)
    rng = np.random.default_rng(10)
    block_counts = (rng.random((n_block, n_cells)) < 0.2).astype(np.int32)
    block_counts[:, 7] = [1, 2]
    block_counts[1, 360:370] = 1
    assert_block_delivered(table, (pre, post, weight, delay), block_counts, n_slots, step,
                           cell_rows=False)


def test_multiplicity_and_silence():
    n_cells = 50
    pre, post, weight, delay = random_connections(n_cells, 500, seed=2)
    table, _ = synapses.build_table(pre, post, delay, {"weight": weight}, n_cells)
    counts = np.zeros(n_cells, dtype=np.int32)
    assert deliver_all(counts, table, 6, n_cells, 8).sum() == 0
    counts[[3, 9]] = [2, 1]
    np.testing.assert_allclose(deliver_all(counts, table, 6, n_cells, 8),
                               expected_ring(pre, post, weight, delay, counts, 6, n_cells),
                               rtol=1e-5)


def test_one_row_per_cell_when_no_cell_needs_more():
    n_cells = 400
    pre, post, weight, delay = random_connections(n_cells, 8000, seed=3)
    table, flat = synapses.build_table(pre, post, delay, {"weight": weight}, n_cells, width=64)
    assert synapses.rows_are_cells(table, n_cells)
    np.testing.assert_array_equal(flat // 64, pre)
    np.testing.assert_array_equal(table["row_used"], np.bincount(pre, minlength=n_cells) > 0)
    pre[0] = 399                    # a second source cell with many targets: row-split again
    pre[:200] = 5
    table, _ = synapses.build_table(pre, post, delay, {"weight": weight}, n_cells, width=64)
    assert not synapses.rows_are_cells(table, n_cells)


def assert_block_delivered(table, connections, block_counts, n_slots, step, cell_rows):
    """One static delivery of ``block_counts`` (n_block, n_cells) from ``step`` equals the
    sum of the single steps' expected rings."""
    n_block, n_cells = block_counts.shape
    values = {k: jnp.asarray(v) for k, v in table.items()}
    ring, _ = synapses.deliver("static", values, {}, jnp.asarray(block_counts),
                               jnp.zeros(n_slots * n_cells), jnp.int32(step), n_slots, n_cells,
                               n_cells, 8, 0.1, cell_rows=cell_rows)
    expected = sum(expected_ring(*connections, block_counts[j], n_slots, n_cells, step=step + j)
                   for j in range(n_block))
    np.testing.assert_allclose(np.asarray(ring).reshape(n_slots, n_cells), expected, rtol=1e-5)


@pytest.mark.parametrize("cell_rows", [True, False])
def test_block_of_steps_delivered_at_once_equals_step_by_step(cell_rows):
    """The spikes of steps k .. k+B-1 delivered in one call land where B single-step
    deliveries put them, also when they need several passes."""
    n_cells, n_slots, n_block, step = 300, 16, 4, 13
    pre, post, weight, delay = random_connections(n_cells, 6000, seed=4)
    delay = delay + n_block                     # every delay at least the block
    table, _ = synapses.build_table(pre, post, delay, {"weight": weight}, n_cells,
                                    width=None if cell_rows else 8)
    assert synapses.rows_are_cells(table, n_cells) == cell_rows
    rng = np.random.default_rng(5)
    block_counts = (rng.random((n_block, n_cells)) < 0.1).astype(np.int32)
    block_counts[2, 7] = 3
    assert_block_delivered(table, (pre, post, weight, delay), block_counts, n_slots, step,
                           cell_rows)


def test_dense_threshold_follows_the_pass_size():
    """Compacting passes read every entry: the smaller the pass, the fewer spiking entries
    make the dense delivery (every row) cheaper; wide rows never take it."""
    n_entries = 77169                # a one-to-one drive of the full cortical microcircuit
    small, large = (synapses.dense_threshold(n_entries, 1, p) for p in (16, 512))
    assert small < large < n_entries / 2
    assert small < 0.01 * n_entries    # 16-row passes: dense from ~1 % of the rows spiking
    assert synapses.dense_threshold(n_entries, 4000, 16) is None


@pytest.mark.parametrize("n_spiking", [3, 280])
def test_dense_delivery_of_a_strongly_driven_one_to_one_table(n_spiking):
    """Few spikes go through compacting passes, many through every row (dense): both land
    where the spikes of each step put them; cells without connections deliver nothing."""
    n_cells, n_slots, n_block, step = 600, 32, 15, 7
    pre = np.arange(300)                                     # cells 300.. have no connections
    post, weight = 300 + pre, np.linspace(0.1, 1.0, 300)
    delay = np.full(300, 15)
    table, _ = synapses.build_table(pre, post, delay, {"weight": weight}, n_cells)
    assert synapses.rows_are_cells(table, n_cells) and table["target"].shape[1] == 1
    # passes of 8 rows (as assert_block_delivered delivers): 3 spikes per step stay sparse,
    # 280 go dense
    assert 3 * n_block < synapses.dense_threshold(n_block * n_cells, 1, 8) < 280 * n_block
    rng = np.random.default_rng(6)
    block_counts = np.zeros((n_block, n_cells), np.int32)
    for j in range(n_block):
        chosen = rng.choice(n_cells, n_spiking, replace=False)
        block_counts[j, chosen] = rng.integers(1, 3, n_spiking)
    assert_block_delivered(table, (pre, post, weight, delay), block_counts, n_slots, step,
                           cell_rows=True)


def vmapped_static_delivery(table, block_counts, weights, steps, n_slots, rows_per_pass):
    """jax.vmap of deliver_static over sets: (n_sets, n_block, n_cells) counts, per-set
    weights (n_sets, n_rows, width) or None (shared), steps (n_sets,) or one int (shared)."""
    n_sets, _, n_cells = block_counts.shape
    values = {k: jnp.asarray(v) for k, v in table.items()}
    cell_rows = synapses.rows_are_cells(table, n_cells)
    axes = {k: None for k in values}
    if weights is not None:
        values["weight"], axes["weight"] = jnp.asarray(weights), 0
    step_axis = 0 if np.ndim(steps) else None

    def one(v, counts, ring, step):
        return synapses.deliver_static(v, counts, ring, step, n_slots, n_cells, n_cells,
                                       rows_per_pass, cell_rows=cell_rows)
    ring = jax.vmap(one, in_axes=(axes, 0, 0, step_axis))(
        values, jnp.asarray(block_counts), jnp.zeros((n_sets, n_slots * n_cells)),
        jnp.asarray(steps, dtype=jnp.int32))
    return np.asarray(ring).reshape(n_sets, n_slots, n_cells)


@pytest.mark.parametrize("width,sweep_weights,n_spiking", [
    (None, True, 0.1), (8, False, 0.1), (8, True, 0.3), (1, True, 0.95)])
def test_sets_delivered_together_equal_each_set_alone(width, sweep_weights, n_spiking):
    """Under jax.vmap (parameter sweeps) the spikes of all sets are compacted together, in
    passes shared by the sets, and the dense branch is taken for all at once: each set's ring
    equals the delivery of its spikes alone, bit for bit (same additions in the same order);
    sets without spikes receive nothing."""
    n_sets, n_cells, n_slots, n_block, step = 5, 200, 16, 3, 21
    if width == 1:                                  # one-to-one: dense delivery pays off
        n_cells = 2000
        threshold = synapses.dense_threshold(n_sets * n_block * n_cells, 1, 16)
        assert threshold is not None and threshold < 0.5 * n_sets * n_block * n_cells
        pre = np.arange(n_cells)
        post, weight = np.roll(pre, 7), np.linspace(0.1, 1.0, n_cells)
        delay = np.full(n_cells, 4)
    else:
        pre, post, weight, delay = random_connections(n_cells, 3000, seed=7)
        delay = delay + n_block
    table, flat = synapses.build_table(pre, post, delay, {"weight": weight}, n_cells,
                                       width=width)
    rng = np.random.default_rng(8)
    block_counts = (rng.random((n_sets, n_block, n_cells)) < n_spiking).astype(np.int32)
    block_counts[1] = 0
    block_counts[3, 0, 5] = 2
    weights = None
    if sweep_weights:
        weights = np.repeat(table["weight"][None], n_sets, axis=0) * np.arange(
            1.0, n_sets + 1)[:, None, None]
    together = vmapped_static_delivery(table, block_counts, weights, step, n_slots, 16)
    for i in range(n_sets):
        alone = dict(table, weight=table["weight"] if weights is None else weights[i])
        values = {k: jnp.asarray(v) for k, v in alone.items()}
        ring = synapses.deliver_static(values, jnp.asarray(block_counts[i]),
                                       jnp.zeros(n_slots * n_cells), jnp.int32(step), n_slots,
                                       n_cells, n_cells, 16,
                                       cell_rows=synapses.rows_are_cells(table, n_cells))
        if jax.default_backend() == "cpu":        # XLA on CPU scatters in order
            np.testing.assert_array_equal(together[i],
                                          np.asarray(ring).reshape(n_slots, n_cells))
        scale = 1.0 if weights is None else i + 1.0
        expected = sum(expected_ring(pre, post, scale * weight, delay, block_counts[i, j],
                                     n_slots, n_cells, step=step + j) for j in range(n_block))
        np.testing.assert_allclose(together[i], expected, rtol=1e-5, atol=1e-6)
    assert not together[1].any()


def test_sets_too_large_for_int32_indices_are_delivered_one_by_one():
    assert synapses.sets_fit_int32(100, 12_800_000, 10_000)
    assert not synapses.sets_fit_int32(168, 12_800_000, 10_000)
    assert not synapses.sets_fit_int32(3, 1000, 2 ** 30)


def test_sets_at_different_steps_are_delivered_one_by_one():
    """Sets whose step differs (a vmap over the step counter) take the plain mapped
    delivery: each lands at its own slots."""
    n_cells, n_slots, n_block = 100, 16, 2
    pre, post, weight, delay = random_connections(n_cells, 1000, seed=9)
    delay = delay + n_block
    table, _ = synapses.build_table(pre, post, delay, {"weight": weight}, n_cells, width=16)
    block_counts = (np.random.default_rng(10).random((3, n_block, n_cells)) < 0.2).astype(
        np.int32)
    steps = np.array([0, 5, 11])
    together = vmapped_static_delivery(table, block_counts, None, steps, n_slots, 8)
    for i, step in enumerate(steps):
        expected = sum(expected_ring(pre, post, weight, delay, block_counts[i, j], n_slots,
                                     n_cells, step=step + j) for j in range(n_block))
        np.testing.assert_allclose(together[i], expected, rtol=1e-5, atol=1e-6)


def test_tsodyks_markram_depression_closed_form():
    """Pure depression (tau_facil = 0): u = U, and between spikes x recovers as
    x -> 1 - (1 - x) exp(-h/tau_rec) (tau_psc << tau_rec); the n-th PSC of a regular train
    is U x_n with x_1 = 1, x_{n+1} = 1 - (1 - x_n (1 - U)) exp(-h/tau_rec)."""
    U, tau_rec, tau_psc, period = 0.5, 200.0, 1e-3, 20.0
    table, _ = synapses.build_table(
        np.array([0]), np.array([1]), np.array([1]),
        {"weight": np.array([1.0]), "U": np.array([U]), "tau_rec": np.array([tau_rec]),
         "tau_facil": np.array([0.0]), "tau_psc": np.array([tau_psc])}, 2)
    values = {k: jnp.asarray(v) for k, v in table.items()}
    state = {"u": jnp.zeros((1, 1)), "x": jnp.ones((1, 1)), "y": jnp.zeros((1, 1)),
             "last_spike_step": jnp.zeros((1, 1), jnp.int32)}
    delivered, x = [], 1.0
    expected = []
    for n in range(6):
        step = int(round((n + 1) * period / 0.1)) - 1
        ring = jnp.zeros(2 * 2)
        ring, state = synapses.deliver("tsodyks_markram", values, state,
                                       jnp.array([1, 0], dtype=jnp.int32), ring,
                                       jnp.int32(step), 2, 2, 2, 8, 0.1)
        delivered.append(float(np.asarray(ring).sum()))
        expected.append(U * x)
        x = 1 - (1 - x * (1 - U)) * np.exp(-period / tau_rec)
    np.testing.assert_allclose(delivered, expected, rtol=1e-4)


@pytest.mark.parametrize("n_cells", [1, 300, 1 << 16, (1 << 16) + 1, 5_000_000])
def test_a_cells_connections_fill_its_rows_in_their_order(n_cells):
    """Connection k of a cell sits in slot k of the cell's rows (consecutive slots in the
    order given, a stable argsort's), also for pieces of INDEX_CHUNK and huge cell counts."""
    rng = np.random.default_rng(11)
    pre = rng.integers(0, n_cells, 20000)
    pre[:50] = n_cells - 1
    delay = rng.integers(1, 4, pre.size)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(synapses, "INDEX_CHUNK", 4096)
        table, flat = synapses.build_table(pre, pre % 7, delay, {"weight": np.ones(pre.size)},
                                           n_cells)
    order = np.argsort(pre, kind="stable")
    same_cell = pre[order][1:] == pre[order][:-1]
    np.testing.assert_array_equal(np.diff(flat[order])[same_cell], 1)
    np.testing.assert_array_equal(table["row_owner"][flat // table["target"].shape[1]], pre)
    np.testing.assert_array_equal(table["delay"].reshape(-1)[flat], delay)


@pytest.mark.parametrize("shape, dtype", [((3, 5), np.int32), ((1000, 7), np.float32),
                                          ((0, 4), np.int32), ((4,), np.int16)])
def test_table_columns_are_adopted_by_the_cpu_device_without_a_copy(shape, dtype):
    column = synapses.aligned_empty(shape, dtype)
    assert column.shape == shape and column.dtype == dtype
    column[...] = 1
    on_device = jax.device_put(column, jax.devices("cpu")[0])
    if column.size:
        assert column.ctypes.data % synapses.HOST_ALIGNMENT == 0
        assert np.shares_memory(column, np.asarray(on_device))
    np.testing.assert_array_equal(np.asarray(on_device), np.ones(shape, dtype))


@pytest.mark.parametrize("max_steps, expected", [(1, np.int8), (127, np.int8), (128, np.int16),
                                                 (32767, np.int16), (32768, np.int32)])
def test_delay_column_is_the_narrowest_type_that_holds_the_longest_delay(max_steps, expected):
    assert synapses.delay_type(max_steps) is expected
    table, _, fill = synapses.plan_table(np.array([2, 0]), {"weight": np.float32},
                                         delay_steps_type=synapses.delay_type(max_steps))
    fill([synapses.ConnectionPart(2, np.array([0, 0]), np.array([1, 0]),
                                  np.array([max_steps, 1]), {"weight": np.ones(2)})])
    assert table["delay"].dtype == expected
    assert sorted(table["delay"].reshape(-1)[:2].tolist()) == [1, max_steps]


def one_to_one_part(pre, post, delay, weight):
    return synapses.ConnectionPart(len(pre), np.asarray(pre), np.asarray(post),
                                   np.asarray(delay), {"weight": np.asarray(weight)})


def test_gathered_columns_only_for_distinct_targets_and_one_delay():
    pre, post = np.arange(100, 200), np.arange(0, 100)[::-1]
    columns = synapses.gathered_columns([one_to_one_part(pre, post, np.full(100, 3),
                                                         np.ones(100))], 200)
    assert int(columns["gather_first_target"]) == 0 and int(columns["gather_delay"]) == 3
    np.testing.assert_array_equal(columns["source_row"][post], pre)
    two_delays = np.where(pre % 2, 3, 4)
    assert synapses.gathered_columns([one_to_one_part(pre, post, two_delays, pre)], 200) == {}
    onto_one = np.where(post == 5, 6, post)
    assert synapses.gathered_columns([one_to_one_part(pre, onto_one, np.full(100, 3), pre)],
                                     200) == {}


@pytest.mark.parametrize("sweep_weights", [False, True])
def test_gathered_delivery_equals_the_scattered_one(sweep_weights):
    """A one-to-one table with one delay is delivered by a gather and slice additions: the
    rings equal the scattered delivery bit for bit, alone and for sets under jax.vmap."""
    n_cells, n_slots, n_block, step, n_sets = 3000, 16, 3, 29, 4
    pre = np.arange(1000, 2500)
    post = 1700 + (pre * 7919) % 1300                  # distinct targets in 1700 .. 2999
    weight, delay = np.linspace(0.1, 1.0, pre.size), np.full(pre.size, 5)
    table, _ = synapses.build_table(pre, post, delay, {"weight": weight}, n_cells)
    assert synapses.rows_are_cells(table, n_cells) and table["target"].shape[1] == 1
    gathered = dict(table, **synapses.gathered_columns(
        [one_to_one_part(pre, post, delay, weight)], table["target"].shape[0]))
    block_counts = (np.random.default_rng(11).random((n_sets, n_block, n_cells)) < 0.3) * \
        np.random.default_rng(12).integers(1, 3, (n_sets, n_block, n_cells))
    weights = (np.repeat(table["weight"][None], n_sets, axis=0)
               * np.arange(1.0, n_sets + 1)[:, None, None]) if sweep_weights else None
    rings = [vmapped_static_delivery(t, block_counts, weights, step, n_slots, 16)
             for t in (table, gathered)]
    np.testing.assert_array_equal(rings[1], rings[0])
    values = {k: jnp.asarray(v) for k, v in gathered.items()}
    alone = synapses.deliver_static(values, jnp.asarray(block_counts[0]),
                                    jnp.zeros(n_slots * n_cells), jnp.int32(step), n_slots,
                                    n_cells, n_cells, 16, cell_rows=True)
    if weights is None:
        np.testing.assert_array_equal(np.asarray(alone).reshape(n_slots, n_cells), rings[0][0])
    expected = sum(expected_ring(pre, post, weight, delay, block_counts[0, j], n_slots,
                                 n_cells, step=step + j) for j in range(n_block))
    np.testing.assert_allclose(rings[1][0], expected, rtol=1e-6)
