"""Plastic tables: the unused columns of a cell's incoming row change no weight."""
import numpy as np

import pyNN.jax as sim


def test_unused_incoming_columns_leave_the_last_connection_alone():
    """Presynaptic cell 1 fills the last row of the STDP table (its connections onto cells
    0-3); postsynaptic cell 1 has one incoming connection in an incoming row of two. Cell 1
    fires after every presynaptic spike, cell 3 never: the connection 1 -> 3, the last of
    the table, must not be potentiated by cell 1's spikes (an unused column, -1, once indexed
    the last connection)."""
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid")
    pre = sim.Population(2, sim.SpikeSourceArray(spike_times=[[], [10.0, 30.0, 50.0]]))
    post = sim.Population(4, sim.IF_curr_exp(i_offset=[0.0, 2.0, 0.0, 0.0], tau_refrac=2.0))
    connections = [(0, 0), (1, 0), (1, 1), (1, 2), (1, 3)]
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.1,
                                            A_minus=0.0),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0),
        weight=0.01, delay=0.5)
    prj = sim.Projection(pre, post, sim.FromListConnector(connections), stdp)
    post.record("spikes")
    sim.run(60.0)
    weights = prj.get("weight", format="array")
    trains = post.get_data().segments[0].spiketrains
    assert len(trains[1]) > 3 and len(trains[3]) == 0
    assert weights[1, 1] > 0.01                      # potentiated: cell 1 fired after pre 1
    assert weights[1, 3] == np.float32(0.01)         # cell 3 never fired: unchanged
    sim.end()
