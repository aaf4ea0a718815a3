"""NIR exchange: export of a pyNN.jax network, import into pyNN.jax and pyNN.nest, round trip
through HDF5, and errors that name what NIR cannot represent."""
import numpy as np
import pytest

from .conftest import needs_nest

nir = pytest.importorskip("nir", reason="the nir package is not installed")
from pyNN_jax.nir import NIRConversionError, from_nir, to_nir   # noqa: E402

INPUT_TIMES = [[1.0, 5.0, 9.0], [2.0, 6.5], [3.0, 8.0, 12.0]]


def small_network(sim):
    """input -> cells (exc. delay 1 ms to all, inh. delay 2 ms to a view) -> out (delta)."""
    src = sim.Population(3, sim.SpikeSourceArray(spike_times=INPUT_TIMES), label="input")
    cells = sim.Population(4, sim.IF_curr_exp(tau_m=[10.0, 20.0, 20.0, 30.0],
                                              cm=[0.5, 1.0, 1.0, 2.0], tau_syn_E=3.0,
                                              tau_syn_I=3.0, tau_refrac=0.0, v_rest=-65.0,
                                              v_thresh=-55.0, v_reset=-70.0,
                                              i_offset=[0.0, 0.1, 0.2, 0.3]),
                           label="cells")
    out = sim.Population(2, sim.IF_curr_delta(tau_m=15.0, cm=0.5, tau_refrac=0.0, v_thresh=-60.0),
                         label="out")
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.5, delay=1.0))
    sim.Projection(src, cells[[0, 1]], sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=-1.0, delay=2.0), receptor_type="inhibitory")
    sim.Projection(cells, out, sim.FromListConnector([(0, 0, 5.0, 0.5), (1, 1, 6.0, 0.7),
                                                      (3, 1, 2.0, 0.7)]), sim.StaticSynapse())
    cells.initialize(v=cells.get("v_rest") + cells.get("tau_m") / cells.get("cm")
                     * cells.get("i_offset"))            # at rest, as NIR imports start
    out.initialize(v=out.get("v_rest"))
    return src, cells, out


def summed_weights(projections):
    """Weight matrices between whole Populations, summed over projections (views mapped to
    their parent)."""
    summed = {}
    for p in projections:
        pre, post = (getattr(x, "grandparent", x) for x in (p.pre, p.post))
        matrix = summed.setdefault((pre.label, post.label), np.zeros((pre.size, post.size)))
        for i, j, w in p.get("weight", format="list"):
            matrix[int(p.pre.all_cells[int(i)]) - int(pre.first_id),
                   int(p.post.all_cells[int(j)]) - int(post.first_id)] += w
    return summed


def run_and_record(sim, populations, t_stop=30.0):
    for pop in populations:
        pop.record(["spikes", "v"])
    sim.run(t_stop)
    segments = [pop.get_data().segments[0] for pop in populations]
    return ([[list(st.magnitude) for st in seg.spiketrains] for seg in segments],
            [seg.filter(name="v")[0].magnitude for seg in segments])


def test_export_nodes_units_and_edges(sim):
    small_network(sim)
    graph = to_nir()
    assert set(graph.nodes) == {"input", "cells", "out", "input->cells.0", "input->cells.0.delay",
                                "input->cells.1", "input->cells.1.delay", "cells->out",
                                "cells->out.delay", "out.output"}
    assert isinstance(graph.nodes["input"], nir.Input)
    np.testing.assert_array_equal(graph.nodes["input"].output_type["output"], [3])
    lif = graph.nodes["cells"]
    assert isinstance(lif, nir.CubaLIF)
    np.testing.assert_array_equal(lif.tau_mem, [10.0, 20.0, 20.0, 30.0])
    np.testing.assert_array_equal(lif.tau_syn, [3.0] * 4)
    np.testing.assert_array_equal(lif.r, [20.0] * 3 + [15.0])                 # MOhm
    np.testing.assert_allclose(lif.v_leak, [-65.0, -63.0, -61.0, -60.5])   # v_rest + r i_offset
    np.testing.assert_array_equal(lif.v_threshold, [-55.0] * 4)
    np.testing.assert_array_equal(lif.v_reset, [-70.0] * 4)
    np.testing.assert_array_equal(lif.w_in, [1.0] * 4)
    # charge per spike (pC) = weight (nA) * tau_syn (ms); inhibition negative
    np.testing.assert_array_equal(graph.nodes["input->cells.0"].weight, np.full((4, 3), 4.5))
    np.testing.assert_array_equal(graph.nodes["input->cells.0.delay"].delay, [1.0] * 4)
    np.testing.assert_array_equal(graph.nodes["input->cells.1"].weight,
                                  [[-3.0] * 3, [-3.0] * 3, [0.0] * 3, [0.0] * 3])
    np.testing.assert_array_equal(graph.nodes["input->cells.1.delay"].delay, [2.0] * 4)
    delta = graph.nodes["out"]
    assert isinstance(delta, nir.LIF)
    np.testing.assert_array_equal(delta.tau, [15.0, 15.0])
    np.testing.assert_array_equal(delta.r, [30.0, 30.0])
    # charge (pC) = jump (mV) * cm (nF)
    np.testing.assert_array_equal(graph.nodes["cells->out"].weight,
                                  [[2.5, 0, 0, 0], [0, 3.0, 0, 1.0]])
    np.testing.assert_array_equal(graph.nodes["cells->out.delay"].delay, [0.5, 0.7])
    assert set(graph.edges) == {
        ("input", "input->cells.0"), ("input->cells.0", "input->cells.0.delay"),
        ("input->cells.0.delay", "cells"), ("input", "input->cells.1"),
        ("input->cells.1", "input->cells.1.delay"), ("input->cells.1.delay", "cells"),
        ("cells", "cells->out"), ("cells->out", "cells->out.delay"),
        ("cells->out.delay", "out"), ("out", "out.output")}
    assert graph.metadata["timestep"] == 0.1


def test_connections_of_all_projections_between_two_populations_are_summed(sim):
    a = sim.Population(2, sim.SpikeSourceArray(), label="a")
    b = sim.Population(2, sim.IF_curr_exp(tau_refrac=0.0, tau_syn_E=2.0, tau_syn_I=2.0), label="b")
    sim.Projection(a, b, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.0, delay=1.0))
    sim.Projection(a, b, sim.OneToOneConnector(), sim.StaticSynapse(weight=-0.25, delay=1.0),
                   receptor_type="inhibitory")
    graph = to_nir()
    np.testing.assert_array_equal(graph.nodes["a->b"].weight, [[1.5, 0.0], [0.0, 1.5]])


@pytest.mark.parametrize("via_file", [False, True])
def test_round_trip_gives_the_same_network_and_activity(sim, tmp_path, via_file):
    original = small_network(sim)
    graph = to_nir()
    spikes_a, v_a = run_and_record(sim, original[1:])
    weights_a = summed_weights(sim.state.projections)
    if via_file:
        nir.write(str(tmp_path / "net.nir"), graph)
        graph = str(tmp_path / "net.nir")
    sim.setup(timestep=0.1, min_delay=0.1)
    pops = from_nir(graph, sim)
    assert set(pops) == {"input", "cells", "out"}
    assert pops["cells"].label == "cells"
    cells = pops["cells"]
    for name in ("tau_m", "cm", "tau_syn_E", "tau_syn_I", "v_thresh", "v_reset", "tau_refrac"):
        np.testing.assert_allclose(cells.get(name), original[1].get(name), rtol=1e-12)
    # i_offset travels in v_leak = v_rest + r i_offset: the same dynamics
    np.testing.assert_allclose(cells.get("v_rest"), [-65.0, -63.0, -61.0, -60.5])
    assert cells.get("i_offset") == 0.0
    summed = summed_weights(sim.state.projections)
    assert summed.keys() == weights_a.keys()
    for key in summed:
        np.testing.assert_allclose(summed[key], weights_a[key], rtol=1e-12)
    delays = {(p.pre.label, p.receptor_type): np.unique(p.get("delay", format="list",
                                                              with_address=False))
              for p in sim.state.projections}
    np.testing.assert_array_equal(delays[("input", "excitatory")], [1.0])
    np.testing.assert_array_equal(delays[("input", "inhibitory")], [2.0])
    np.testing.assert_array_equal(delays[("cells", "excitatory")], [0.5, 0.7])
    pops["input"].set(spike_times=[sim.Sequence(t) for t in INPUT_TIMES])
    spikes_b, v_b = run_and_record(sim, [cells, pops["out"]])
    # the same spikes; their precise times (float32) to the rounding of v_rest + r i_offset
    for trains_a, trains_b in zip(spikes_a, spikes_b):
        assert list(map(len, trains_a)) == list(map(len, trains_b))
        for a, b in zip(trains_a, trains_b):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-4)
    assert sum(len(s) for s in spikes_a[0] + spikes_a[1]) > 0
    for a, b in zip(v_a, v_b):
        np.testing.assert_allclose(a, b, atol=1e-3)


def graph_as_another_tool_writes_it():
    """What a tool built on nir's classes writes: a 2x2x2 event input flattened, an Affine
    without bias, a Delay, CubaLIF cells with w_in != 1, a LIF readout without Delay."""
    rng = np.random.default_rng(7)
    w1 = np.round(rng.normal(15.0, 20.0, (5, 8)), 3)
    w2 = np.round(rng.uniform(0.0, 1.0, (2, 5)), 3)
    nodes = {
        "events": nir.Input(input_type={"input": np.array([2, 2, 2])}),
        "flatten": nir.Flatten(input_type={"input": np.array([2, 2, 2])}, start_dim=0),
        "fc1": nir.Affine(weight=w1, bias=np.zeros(5)),
        "fc1_delay": nir.Delay(delay=np.array([1.0, 1.0, 2.5, 1.0, 0.3])),
        "hidden": nir.CubaLIF(tau_syn=np.full(5, 4.0), tau_mem=np.full(5, 12.0),
                              r=np.full(5, 6.0), v_leak=np.full(5, -60.0),
                              v_threshold=np.full(5, -52.0), v_reset=np.full(5, -63.0),
                              w_in=np.array([1.0, 2.0, 1.0, 1.0, 0.5])),
        "fc2": nir.Linear(weight=w2),
        "readout": nir.LIF(tau=np.array([10.0, 20.0]), r=np.array([5.0, 4.0]),
                           v_leak=np.zeros(2), v_threshold=np.ones(2), v_reset=np.zeros(2)),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }
    edges = [("events", "flatten"), ("flatten", "fc1"), ("fc1", "fc1_delay"),
             ("fc1_delay", "hidden"), ("hidden", "fc2"), ("fc2", "readout"),
             ("readout", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges), w1, w2


@pytest.mark.parametrize("via_file", [False, True])
def test_import_of_a_graph_built_with_nir_classes(sim, tmp_path, via_file):
    graph, w1, w2 = graph_as_another_tool_writes_it()
    if via_file:
        nir.write(str(tmp_path / "model.nir"), graph)
        graph = nir.read(str(tmp_path / "model.nir"))
    pops = from_nir(graph, sim)
    assert set(pops) == {"events", "hidden", "readout"}
    assert pops["events"].size == 8
    hidden, readout = pops["hidden"], pops["readout"]
    assert hidden.celltype.__class__.__name__ == "IF_curr_exp"
    assert readout.celltype.__class__.__name__ == "IF_curr_delta"
    assert hidden.get("tau_m") == 12.0 and hidden.get("cm") == 2.0     # 12 ms / 6 MOhm
    assert hidden.get("tau_syn_E") == hidden.get("tau_syn_I") == 4.0
    assert (hidden.get("v_rest"), hidden.get("v_thresh"), hidden.get("v_reset")) == (
        -60.0, -52.0, -63.0)
    assert hidden.get("tau_refrac") == 0.0
    np.testing.assert_array_equal(readout.get("cm"), [2.0, 5.0])
    np.testing.assert_array_equal(hidden.initial_values["v"], [-60.0] * 5)
    by_target = {}
    for p in sim.state.projections:
        weights = np.nan_to_num(p.get("weight", format="array"))
        by_target[p.post.label] = by_target.get(p.post.label, 0) + weights
        if p.post.label == "hidden":
            assert (np.sign(weights[weights != 0]) == (1 if p.receptor_type == "excitatory"
                                                       else -1)).all()
    w_in = np.array([1.0, 2.0, 1.0, 1.0, 0.5])
    np.testing.assert_allclose(by_target["hidden"], (w1 * w_in[:, None] / 4.0).T)
    np.testing.assert_allclose(by_target["readout"], (w2 * np.array([[0.5], [0.2]])).T)
    delays = {}
    for p in sim.state.projections:
        for i, j, d in p.get("delay", format="list"):
            delays[(p.post.label, int(i), int(j))] = d
    assert delays[("hidden", 0, 2)] == 2.5 and delays[("hidden", 0, 4)] == 0.3
    assert delays[("hidden", 7, 0)] == 1.0
    assert {d for (post, _, _), d in delays.items() if post == "readout"} == {0.1}  # dt


@needs_nest
@pytest.mark.parametrize("spike_precision", ["on_grid", "off_grid"])
def test_import_into_pyNN_nest_matches_pyNN_jax(spike_precision):
    """The same NIR graph in two backends, each in the same spike precision: the same spikes
    (NEST's IF_curr_exp needs a refractory period of at least one step, so both get dt);
    float64, where off the grid the spike times agree to 1e-6 ms."""
    import pyNN.jax
    import pyNN.nest
    graph, _, _ = graph_as_another_tool_writes_it()
    rng = np.random.default_rng(3)
    times = [np.round(np.sort(rng.uniform(1.0, 40.0, 12)), 1) for _ in range(8)]
    results = []
    for sim, extra in ((pyNN.jax, {"precision": "float64"}), (pyNN.nest, {})):
        sim.setup(timestep=0.1, min_delay=0.1, spike_precision=spike_precision, **extra)
        pops = from_nir(graph, sim, tau_refrac=0.1)
        pops["events"].set(spike_times=[sim.Sequence(t) for t in times])
        pops["hidden"].record(["spikes", "v"])
        sim.run(50.0)
        segment = pops["hidden"].get_data().segments[0]
        results.append(([list(st.magnitude) for st in segment.spiketrains],
                        segment.filter(name="v")[0].magnitude))
        sim.end()
    (spikes_jax, v_jax), (spikes_nest, v_nest) = results
    assert sum(map(len, spikes_jax)) > 0
    assert len(spikes_jax) == len(spikes_nest)
    for a, b in zip(spikes_jax, spikes_nest):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    np.testing.assert_allclose(v_jax, v_nest, atol=2e-3)


def test_export_refuses_what_nir_cannot_represent(sim):
    src = sim.Population(1, sim.SpikeSourceArray(), label="src")
    cells = sim.Population(1, sim.IF_curr_exp(tau_syn_E=5.0, tau_syn_I=10.0, tau_refrac=0.0),
                           label="cells")
    with pytest.raises(NIRConversionError,
                       match=r"population 'cells' \(IF_curr_exp\): tau_syn_E = 5 ms and "
                             r"tau_syn_I = 10 ms differ; NIR's CubaLIF has one synaptic time "
                             "constant"):
        to_nir()
    cells.set(tau_syn_I=5.0, tau_refrac=2.0)
    with pytest.raises(NIRConversionError, match=r"tau_refrac = 2 ms would be lost, NIR neurons "
                                                 "have no refractory period"):
        to_nir()
    graph = to_nir(drop_refractory=True)
    assert isinstance(graph.nodes["cells"], nir.CubaLIF)
    cells.set(tau_refrac=0.0)
    sim.Projection(src, cells, sim.AllToAllConnector(),
                   sim.TsodyksMarkramSynapse(weight=0.5, delay=1.0), label="stp")
    with pytest.raises(NIRConversionError, match=r"projection 'stp' \(TsodyksMarkramSynapse\): "
                                                 "its synaptic dynamics would be lost"):
        to_nir()


@pytest.mark.parametrize("celltype, loss", [
    ("IF_cond_exp", "conductance-based synapses have no NIR node"),
    ("EIF_cond_exp_isfa_ista", "conductance-based synapses have no NIR node"),
    ("IF_curr_alpha", "NIR has no node with its dynamics"),
    ("SpikeSourcePoisson", "its spike-generating process has no NIR node"),
])
def test_export_names_the_cell_type_without_nir_node(sim, celltype, loss):
    sim.Population(2, getattr(sim, celltype)(), label="p")
    with pytest.raises(NIRConversionError, match=rf"population 'p' \({celltype}\): {loss}"):
        to_nir()


def test_export_refuses_current_sources_and_repeated_labels(sim):
    cells = sim.Population(1, sim.IF_curr_exp(tau_refrac=0.0), label="cells")
    sim.Population(1, sim.IF_curr_exp(tau_refrac=0.0), label="cells")
    with pytest.raises(NIRConversionError, match=r"populations share the labels \['cells'\]"):
        to_nir()
    sim.setup(timestep=0.1)
    cells = sim.Population(1, sim.IF_curr_exp(tau_refrac=0.0), label="cells")
    sim.DCSource(amplitude=0.5).inject_into(cells)
    with pytest.raises(NIRConversionError, match=r"current sources \(DCSource\); NIR has no "
                                                 "current sources"):
        to_nir()


def test_import_refuses_what_pynn_cannot_build(sim):
    one = np.ones(2)
    li = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([2])}),
                             "leaky": nir.LI(tau=one, r=one, v_leak=0 * one)},
                      edges=[("in", "leaky")])
    with pytest.raises(NIRConversionError, match=r"NIR node 'leaky' \(LI\) has no PyNN "
                                                 "equivalent"):
        from_nir(li, sim)
    lif = nir.LIF(tau=one, r=one, v_leak=0 * one, v_threshold=one)
    biased = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([2])}),
                                 "fc": nir.Affine(weight=np.eye(2), bias=np.array([0.0, 0.1])),
                                 "lif": lif}, edges=[("in", "fc"), ("fc", "lif")])
    with pytest.raises(NIRConversionError, match=r"Affine node 'fc' has a bias \(a constant "
                                                 r"input current\)"):
        from_nir(biased, sim)
    chained = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([2])}),
                                  "fc1": nir.Linear(weight=np.eye(2)),
                                  "fc2": nir.Linear(weight=np.eye(2)), "lif": lif},
                           edges=[("in", "fc1"), ("fc1", "fc2"), ("fc2", "lif")])
    with pytest.raises(NIRConversionError, match="'fc2' follows another Linear node on the way "
                                                 "from 'in'"):
        from_nir(chained, sim)


def test_identity_edge_and_zero_delay_become_one_to_one_with_one_step(sim):
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type={"input": np.array([3])}),
               "lif": nir.CubaLIF(tau_syn=np.full(3, 2.0), tau_mem=np.full(3, 10.0),
                                  r=np.full(3, 1.0), v_leak=np.zeros(3),
                                  v_threshold=np.ones(3))},
        edges=[("in", "lif")])
    from_nir(graph, sim)
    (projection,) = sim.state.projections
    assert projection.get(["weight", "delay"], format="list") == [
        (0, 0, 0.5, 0.1), (1, 1, 0.5, 0.1), (2, 2, 0.5, 0.1)]
