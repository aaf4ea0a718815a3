"""Translation to the real system, against a fake ``pynn_brainscales`` that records what it is
asked (the BrainScaleS-2 stack is not installable here)."""
import sys
import types

import neo
import numpy as np
import pytest
import quantities as pq

from pyNN import errors

from pyNN_jax.hardware import bss2

SPIKE_TIMES_HW_MS = (0.0125, 0.0503)     # what the fake chip "measures" for every neuron
CALIBRATED = {"current": 0.01, "conductance": 0.001}     # nA, uS per 6-bit step


class FakeStack:
    """A module-like stand-in for pynn_brainscales.brainscales2."""

    def __init__(self):
        self.calls = []
        self.populations = []
        self.projections = []
        self.runtime = None

        def cell(name):
            return type(name, (), {"__init__": lambda s, **kw: setattr(s, "parameters", kw)})

        self.cells = types.SimpleNamespace(**{name: cell(name) for name in (
            "CalibHXNeuronCuba", "CalibHXNeuronCoba", "SpikeSourceArray",
            "SpikeSourcePoisson")})
        self.standardmodels = types.SimpleNamespace(
            synapses=types.SimpleNamespace(StaticSynapse=cell("StaticSynapse")))
        stack = self

        class Population:
            def __init__(self, size, celltype, label=None):
                self.size, self.celltype, self.label = size, celltype, label
                self.recorded = []
                stack.populations.append(self)

            def record(self, variables):
                self.recorded = list(variables)

            def get_data(self, variables):
                segment = neo.Segment()
                for i in range(self.size):
                    times = np.array(SPIKE_TIMES_HW_MS)
                    train = neo.SpikeTrain(times[times <= stack.runtime] * pq.ms,
                                           t_stop=stack.runtime * pq.ms)
                    train.annotate(source_index=i)
                    segment.spiketrains.append(train)
                block = neo.Block()
                block.segments.append(segment)
                return block

        class Projection:
            def __init__(self, pre, post, connector, synapse_type=None, receptor_type=None,
                         label=None):
                stack.projections.append(types.SimpleNamespace(
                    pre=pre, post=post, connections=connector.conn_list,
                    column_names=connector.column_names, receptor_type=receptor_type))

        class FromListConnector:
            def __init__(self, conn_list, column_names=None):
                self.conn_list, self.column_names = conn_list, column_names

        self.Population, self.Projection = Population, Projection
        self.FromListConnector = FromListConnector

    def setup(self, **kwargs):
        self.calls.append(("setup", kwargs))

    def run(self, runtime):
        self.runtime = runtime
        self.calls.append(("run", runtime))

    def end(self):
        self.calls.append(("end",))


@pytest.fixture
def fake_stack(monkeypatch):
    stack = FakeStack()
    package = types.ModuleType("pynn_brainscales")
    module = types.ModuleType("pynn_brainscales.brainscales2")
    module.__dict__.update({k: getattr(stack, k) for k in (
        "cells", "standardmodels", "Population", "Projection", "FromListConnector", "setup",
        "run", "end")})
    package.brainscales2 = module
    monkeypatch.setitem(sys.modules, "pynn_brainscales", package)
    monkeypatch.setitem(sys.modules, "pynn_brainscales.brainscales2", module)
    return stack


def test_without_the_stack_a_clear_error(monkeypatch):
    import pyNN.jax.hardware as hw
    monkeypatch.setitem(sys.modules, "pynn_brainscales", None)
    with pytest.raises(ImportError, match=r"BrainScaleS-2 software stack.*target='mock'"):
        hw.setup(target="bss2")


def test_translation(fake_stack):
    import pyNN.jax.hardware as hw
    hw.setup(timestep=0.1, target="bss2", neuron_permutation=[10, 11, 12, 3, 4],
             weight_per_step=CALIBRATED)
    source = hw.Population(2, hw.SpikeSourceArray(spike_times=[[1.0, 2.5], [300.0]]),
                           label="in")
    poisson = hw.Population(1, hw.SpikeSourcePoisson(rate=20.0, start=5.0, duration=100.0),
                            label="noise")
    cuba = hw.Population(3, hw.IF_curr_exp(tau_m=10.0, v_thresh=-55.0), label="cuba")
    coba = hw.Population(2, hw.IF_cond_exp(e_rev_I=-75.0), label="coba")
    hw.Projection(source, cuba, hw.AllToAllConnector(), hw.StaticSynapse(weight=0.5),
                  label="exc")
    hw.Projection(poisson, coba[1:2], hw.AllToAllConnector(),
                  hw.StaticSynapse(weight=0.01), receptor_type="inhibitory", label="inh")
    cuba.record("spikes")
    hw.run(100.0)

    assert fake_stack.calls[0] == ("setup", {"neuronPermutation": [10, 11, 12, 3, 4]})
    assert ("run", 0.1) in fake_stack.calls and fake_stack.calls[-1] == ("end",)
    theirs = {p.label: p for p in fake_stack.populations}
    assert type(theirs["cuba"].celltype).__name__ == "CalibHXNeuronCuba"
    params = theirs["cuba"].celltype.parameters
    assert params["tau_m"] == [10.0] * 3                    # hardware us
    assert params["v_thresh"] == [85.0] * 3                 # -55 mV + 140
    assert params["v_rest"] == [75.0] * 3 and "e_rev_E" not in params
    coba_params = theirs["coba"].celltype.parameters
    assert type(theirs["coba"].celltype).__name__ == "CalibHXNeuronCoba"
    assert coba_params["e_rev_I"] == [65.0, 65.0] and coba_params["e_rev_E"] == [140.0, 140.0]
    assert theirs["in"].celltype.parameters["spike_times"] == [[0.001, 0.0025], [0.3]]
    noise = theirs["noise"].celltype.parameters
    assert noise == {"rate": [20000.0], "start": [0.005], "duration": [0.1]}
    exc, inh = fake_stack.projections
    assert exc.column_names == ["weight"] and exc.receptor_type == "excitatory"
    # the calibrated conversion, not a per-projection scale: 0.5 nA / 0.01 nA = 50 steps,
    # 0.01 uS / 0.001 uS = 10 steps
    assert sorted(exc.connections) == [(i, j, 50) for i in range(2) for j in range(3)]
    assert inh.connections == [(0, 1, -10)]                 # view index 0 -> population index 1
    assert theirs["cuba"].recorded == ["spikes"] and theirs["coba"].recorded == []

    # spikes come back in biological ms
    for train in cuba.get_data("spikes").segments[0].spiketrains:
        np.testing.assert_allclose(train.magnitude, np.array(SPIKE_TIMES_HW_MS) * 1000.0)
    assert hw.get_current_time() == pytest.approx(100.0)
    with pytest.raises(errors.InvalidParameterValueError, match="reset"):
        hw.run(10.0)
    hw.reset()
    hw.run(50.0)
    assert ("run", 0.05) in fake_stack.calls
    second = cuba.get_data("spikes").segments[1].spiketrains
    assert [train.magnitude.tolist() for train in second] == [[12.5]] * 3


def test_what_is_not_translated(fake_stack):
    import pyNN.jax.hardware as hw
    hw.setup(target="bss2", weight_per_step=CALIBRATED)
    hw.Population(1, hw.EIF_cond_exp_isfa_ista())            # a = 4 nS by default
    with pytest.raises(NotImplementedError, match="a != 0"):
        hw.run(10.0)
    hw.setup(target="bss2", weight_per_step=CALIBRATED)
    cells = hw.Population(1, hw.IF_curr_exp())
    cells.record("v")
    with pytest.raises(NotImplementedError, match="only spikes"):
        hw.run(10.0)


def test_placement_is_checked_before_the_stack_is_called(fake_stack):
    import pyNN.jax.hardware as hw
    hw.setup(target="bss2", weight_per_step=CALIBRATED)
    hw.Population(600, hw.IF_curr_exp())
    with pytest.raises(hw.PlacementError):
        hw.run(10.0)
    assert not any(call[0] == "run" for call in fake_stack.calls)


def test_module_constants():
    assert bss2.STACK_MODULE == "pynn_brainscales.brainscales2"


def test_partitioned_networks_are_not_sent_to_the_real_system(fake_stack):
    import pyNN.jax.hardware as hw
    hw.setup(target="bss2", partition=True, weight_per_step=CALIBRATED)
    hw.Population(600, hw.IF_curr_exp())
    assert len(hw.get_placement().runs) == 2
    with pytest.raises(NotImplementedError, match="partitioned over 2 runs"):
        hw.run(10.0)
    assert not any(call[0] == "run" for call in fake_stack.calls)


def test_bss2_needs_the_calibrated_weight_per_step(fake_stack):
    import pyNN.jax.hardware as hw
    with pytest.raises(errors.InvalidParameterValueError,
                       match=r"target='bss2' needs weight_per_step = \{'current': nA per step, "
                             r"'conductance': uS per step\}"):
        hw.setup(target="bss2")


def test_bss2_sends_what_the_mock_runs(fake_stack):
    """Same script, same weight_per_step: the steps sent to the chip are the mock's steps, a
    weight out of reach raises, a weight below half a step is left out with a warning."""
    import pyNN.jax.hardware as hw

    def build(target):
        hw.setup(timestep=0.1, target=target, weight_per_step=CALIBRATED)
        source = hw.Population(3, hw.SpikeSourceArray(spike_times=[[1.0], [2.0], [3.0]]))
        cells = hw.Population(2, hw.IF_curr_exp(), label="cells")
        prj = hw.Projection(source, cells, hw.FromListConnector(
            [(0, 0, 0.3), (1, 0, 0.004), (2, 1, 1.0)], column_names=["weight"]),
            hw.StaticSynapse(), label="p")
        return prj

    prj = build("mock")
    with pytest.warns(hw.RoundingWarning, match="'p': 1 of 3 weights"):
        mock_steps = hw.get_placement().projections[0].weight_steps.tolist()
    assert mock_steps == [30, 0, 100]
    np.testing.assert_allclose(prj.get("weight", format="list", with_address=False),
                               [0.3, 0.0, 1.0])
    build("bss2")
    with pytest.warns(hw.RoundingWarning, match="'p': 1 of 3 weights"):
        hw.run(10.0)
    assert sorted(fake_stack.projections[0].connections) == [(0, 0, 30), (2, 1, 100)]

    prj = build("bss2")
    prj.set(weight=50.0)                       # 5000 steps > 64 parallel synapses x 63
    with pytest.raises(errors.InvalidParameterValueError,
                       match=r"weight = 50 nA is out of reach.*0\.\.40\.32 nA"):
        hw.run(10.0)
