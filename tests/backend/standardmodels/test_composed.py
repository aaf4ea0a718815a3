"""PointNeuron: composed models equal the monolithic standard models they compose."""
import numpy as np
import pytest

from ...conftest import needs_nest

TRAINS = [[5.0, 12.0, 40.0, 41.0, 80.0], [20.0, 60.0, 61.0]]


def drive(sim, cells, exc, inh, w_exc, w_inh):
    inputs = sim.Population(2, sim.SpikeSourceArray(spike_times=TRAINS))
    sim.Projection(inputs[0:1], cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=w_exc, delay=1.0), receptor_type=exc)
    sim.Projection(inputs[1:2], cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=w_inh, delay=1.0), receptor_type=inh)


def run_pair(sim, composed, monolithic, names, weights, variables):
    a = sim.Population(2, composed)
    b = sim.Population(2, monolithic)
    drive(sim, a, *names[0], *weights)
    drive(sim, b, *names[1], *weights)
    a.record(["spikes", "v"] + variables[0])
    b.record(["spikes", "v"] + variables[1])
    sim.run(120.0)
    return a.get_data().segments[0], b.get_data().segments[0]


def test_lif_with_current_receptors_is_IF_curr_exp(sim):
    sim.setup(timestep=0.1, min_delay=0.1, spike_precision="on_grid")   # both on the grid
    params = dict(tau_m=15.0, v_rest=-60.0, v_reset=-62.0, v_thresh=-55.0, i_offset=0.3,
                  tau_refrac=2.0, cm=0.5)
    composed = sim.PointNeuron(sim.LIF(**params),
                               excitatory=sim.CurrExpPostSynapticResponse(tau_syn=3.0),
                               inhibitory=sim.CurrExpPostSynapticResponse(tau_syn=8.0))
    mono = sim.IF_curr_exp(tau_syn_E=3.0, tau_syn_I=8.0, **params)
    a, b = run_pair(sim, composed, mono, [("excitatory", "inhibitory")] * 2, (1.5, -1.0),
                    [["excitatory.isyn"], ["isyn_exc"]])
    np.testing.assert_allclose(a.filter(name="v")[0].magnitude, b.filter(name="v")[0].magnitude,
                               atol=2e-3)
    np.testing.assert_allclose(a.filter(name="excitatory.isyn")[0].magnitude,
                               b.filter(name="isyn_exc")[0].magnitude, atol=1e-6)
    for st_a, st_b in zip(a.spiketrains, b.spiketrains):
        np.testing.assert_array_equal(np.asarray(st_a), np.asarray(st_b))
    assert sum(len(st) for st in a.spiketrains) > 0


def test_adexp_with_alpha_receptors_is_EIF_cond_alpha_isfa_ista(sim):
    params = dict(i_offset=0.6, tau_refrac=2.0)
    composed = sim.PointNeuron(sim.AdExp(**params),
                               AMPA=sim.AlphaPSR(tau_syn=0.3, e_syn=0.0),
                               GABA=sim.AlphaPSR(tau_syn=0.5, e_syn=-80.0))
    mono = sim.EIF_cond_alpha_isfa_ista(tau_syn_E=0.3, tau_syn_I=0.5, e_rev_I=-80.0, **params)
    a, b = run_pair(sim, composed, mono, [("AMPA", "GABA"), ("excitatory", "inhibitory")],
                    (0.02, 0.02), [["AMPA.gsyn", "w"], ["gsyn_exc", "w"]])
    np.testing.assert_allclose(a.filter(name="AMPA.gsyn")[0].magnitude,
                               b.filter(name="gsyn_exc")[0].magnitude, atol=1e-7)
    np.testing.assert_allclose(a.filter(name="v")[0].magnitude, b.filter(name="v")[0].magnitude,
                               atol=1e-3)
    for st_a, st_b in zip(a.spiketrains, b.spiketrains):
        np.testing.assert_array_equal(np.asarray(st_a), np.asarray(st_b))


def test_beta_receptor_peaks_at_the_weight(sim):
    cell = sim.Population(1, sim.PointNeuron(
        sim.LIF(v_thresh=1e3), NMDA=sim.CondBetaPostSynapticResponse(tau_rise=2.0,
                                                                     tau_decay=30.0)))
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
    sim.Projection(source, cell, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.05,
                                                                              delay=1.0),
                   receptor_type="NMDA")
    cell.record("NMDA.gsyn")
    sim.run(100.0)
    g = cell.get_data().segments[0].filter(name="NMDA.gsyn")[0].magnitude[:, 0]
    t_peak = 30.0 * 2.0 / 28.0 * np.log(15.0)
    assert g.max() == pytest.approx(0.05, rel=1e-3)
    assert np.argmax(g) * 0.1 == pytest.approx(11.0 + t_peak, abs=0.1)


def test_receptor_parameters_and_names(sim):
    cells = sim.Population(3, sim.PointNeuron(sim.LIF(tau_m=12.0),
                                              AMPA=sim.ExpPSR(tau_syn=2.0, e_syn=0.0),
                                              GABA=sim.ExpPSR(tau_syn=6.0, e_syn=-75.0)))
    assert cells.celltype.receptor_types == ["AMPA", "GABA"]
    assert cells.get("GABA.e_syn") == -75.0 and cells.get("tau_m") == 12.0
    with pytest.raises(sim.errors.InvalidParameterValueError, match="AMPA.tau_syn"):
        sim.Population(1, sim.PointNeuron(sim.LIF(), AMPA=sim.ExpPSR(tau_syn=-1.0)))


@needs_nest
def test_lif_multisynapse_same_spikes_as_nest():
    import pyNN.jax
    import pyNN.nest

    def script(sim, **extra):
        sim.setup(timestep=0.1, min_delay=0.1, **extra)
        cells = sim.Population(1, sim.PointNeuron(
            sim.LIF(tau_m=10.0, v_rest=-60.0, v_thresh=-55.0, i_offset=0.45),
            AMPA=sim.CurrExpPostSynapticResponse(tau_syn=1.0),
            NMDA=sim.CurrExpPostSynapticResponse(tau_syn=20.0)))
        drive(sim, cells, "AMPA", "NMDA", 1.0, 0.1)
        cells.record(["spikes", "v"])
        sim.run(120.0)
        seg = cells.get_data().segments[0]
        out = np.asarray(seg.spiketrains[0]), np.asarray(seg.filter(name="v")[0])
        sim.end()
        return out

    (s_a, v_a), (s_b, v_b) = (script(pyNN.jax, spike_precision="on_grid"),
                              script(pyNN.nest, spike_precision="on_grid"))
    assert len(s_a) == len(s_b) > 0
    assert np.abs(s_a - s_b).max() <= 0.1 + 1e-9
    first = int(s_b[0] / 0.1)
    np.testing.assert_allclose(v_a[:first], v_b[:first], atol=2e-3)
