"""Precise input events: appending them in delivery, and taking them in time order."""
import numpy as np
import jax.numpy as jnp

from pyNN_jax.engine import synapses
from pyNN_jax.engine.models import precise
from pyNN_jax.engine.models.base import StepContext


def empty_events(n_slots, n_cells, per_cell):
    return {"count": jnp.zeros(n_slots * n_cells, jnp.int32),
            "offset": jnp.zeros(n_slots * n_cells * per_cell),
            "weight": jnp.zeros(n_slots * n_cells * per_cell)}


def test_append_events_keeps_same_target_connections_up_to_the_slots():
    """Five connections of one pass to (slot 1, cell 0) with room for three: the count says
    five, three are kept; padding (weight 0) and cells outside the event cells are left out."""
    n_cells, per_cell = 4, 3                 # event cells 1 ... 3 of 4 cells, 2 slots
    events = empty_events(2, 3, per_cell)
    # rows of two connections: targets as port * n_cells + cell
    target = jnp.array([[1, 1], [1, 1], [5, 3], [0, 2]])
    slots = jnp.array([[1, 1], [1, 1], [1, 0], [1, 1]])
    weight = jnp.array([[0.1, 0.2], [0.3, -0.4], [0.5, 0.6], [0.7, 0.0]])
    spike_offset = jnp.array([0.01, 0.02, 0.03, 0.04])
    out = synapses.append_events(events, slots, target, weight, spike_offset, (1, 4, n_cells))
    count = np.asarray(out["count"]).reshape(2, 3)
    assert count.tolist() == [[0, 0, 1], [5, 0, 0]]      # cell 3 in slot 0; cell 1 in slot 1
    kept = np.asarray(out["weight"]).reshape(2, 3, per_cell)
    kept_offsets = np.asarray(out["offset"]).reshape(2, 3, per_cell)
    kept_weights = {round(float(w), 6) for w in kept[1, 0]}
    assert len(kept_weights) == per_cell and kept_weights < {0.1, 0.2, 0.3, -0.4, 0.5}
    for w, o in zip(kept[1, 0], kept_offsets[1, 0]):     # each weight with its row's offset
        row = {0.1: 0, 0.2: 0, 0.3: 1, -0.4: 1, 0.5: 2}[round(float(w), 6)]
        assert o == np.float32(spike_offset[row])
    assert kept[0, 2, 0] == np.float32(0.6) and kept_offsets[0, 2, 0] == np.float32(0.03)


def test_delta_cell_takes_its_events_in_time_order():
    """Events stored out of order: +6 mV at 0.1 ms, then +5 mV at 0.3 ms reach threshold
    (10 mV above rest) at 0.3 ms, offset 0.7 ms of a 1 ms step; a second cell of the group
    with one event of the two does not fire (each cell only its own events)."""
    model = precise.IFCurrDeltaPrecise()
    dt = 1.0
    p = {"tau_m": 10.0, "cm": 1.0, "v_rest": 0.0, "v_thresh": 10.0, "v_reset": 0.0,
         "tau_refrac": 2.0, "i_offset": 0.0}
    p = {name: jnp.asarray(value) for name, value in p.items()}
    d = {name: jnp.asarray(value) for name, value in model.derive(
        {name: np.asarray(value) for name, value in p.items()}, dt, np).items()}
    s = {"v": jnp.zeros(2), "refractory": jnp.zeros(2, jnp.int32), "spike_offset": jnp.zeros(2)}
    count = jnp.array([2, 1])
    offset = jnp.array([[0.7, 0.9], [0.9, 0.0]])         # (cells, slots): ms before the end
    weight = jnp.array([[5.0, 6.0], [6.0, 0.0]])
    syn_in = jnp.array([[11.0, 6.0], [0.0, 0.0]])
    new, spikes = model.step(p, d, s, syn_in, jnp.zeros(2),
                             StepContext(0, dt, None, (count, offset, weight)))
    assert np.asarray(spikes).tolist() == [1, 0]
    assert float(new["spike_offset"][0]) == np.float32(0.7)
    assert float(new["v"][0]) == 0.0 and int(new["refractory"][0]) == 2
    np.testing.assert_allclose(float(new["v"][1]), 6.0 * np.exp(-0.9 / 10.0), rtol=1e-6)
