"""Measure how far pyNN.jax is from pyNN.nest on the same small PyNN scripts.

Every simulator (and pyNN.jax precision) runs in its own subprocess. Sections
(``--sections``, all by default):

``cells``
    For each cell model (the five LIF models, AdEx, HH, Izhikevich, IF_cond_exp_gsfa_grr,
    IF_facets_hardware1, GIF_cond_exp in its deterministic limit and three composed
    PointNeurons) one cell receives

    * excitatory and inhibitory input from two SpikeSourceArrays with fixed, Poisson-distributed
      spike times on the 0.1 ms grid (400 Hz and 200 Hz, seeded, identical in both
      simulators), delay 1 ms;
    * a DCSource switched on at 200 ms (so the first ~200 ms are subthreshold);

    and runs for 1000 ms at dt = 0.1 ms with ``setup(spike_precision="on_grid")`` (pyNN.jax
    ignores it). Printed per model and pyNN.jax precision: max |v_jax - v_nest| (mV) over the
    samples before the first spike of either simulator, and over those up to 1 ms before it
    (without the upstroke of a spike, which HH and AdEx record: there a shift of
    microseconds is a large difference in v); the spike counts; the number of
    matched spikes (nearest spike of the other simulator within 2 ms) and the largest
    |t_jax - t_nest| (ms) among them; max |v_jax - v_nest| (mV) over the whole run (large as
    soon as one spike moves by a step).

    pyNN.nest stores a SpikeSourceArray time t as ``t - min_delay`` (a parrot neuron adds the
    min_delay back); where that float subtraction rounds up (67.4 - 0.1 = 67.30000000000001)
    NEST emits the spike one step late. A first NEST run records the input trains, and the
    times NEST does not emit at the given time are dropped from the input of both simulators,
    so that the table measures integration, not this artefact (``--keep-all-times`` keeps
    them).

    Workarounds for pyNN.nest 0.13 defects, applied in the NEST subprocess only:
    ``IF_curr_delta`` gets the variable_map of iaf_psc_delta (``v`` is not recordable
    otherwise); ``IF_cond_exp_gsfa_grr`` gets ``g_r``/``g_s`` mapped to NEST's
    ``g_rr``/``g_sfa`` (without it the model cannot be created: KeyError).

    With ``--reference``, also the error of both simulators (at dt = 0.1 ms) against pyNN.jax
    in float64 at dt = 0.001 ms, up to 1 ms before the first spike (not for Izhikevich, whose
    equations are the forward Euler scheme at the given dt, in NEST too).

``currents``
    ACSource and StepCurrentSource into a non-spiking IF_curr_exp cell: max |v_jax - v_nest|.

``tm``
    TsodyksMarkramSynapse (NEST ``tsodyks_synapse``), a depressing and a facilitating
    synapse, 100 presynaptic spikes at irregular whole-ms times onto a non-leaky IF_curr_exp
    cell (tau_m = 1e9 ms, tau_syn_E = 0.5 ms): the PSC amplitude of each spike is
    cm * (jump of v) / tau_syn_E. Printed: the largest relative difference of the PSC
    amplitudes and of their mean.

``stdp``
    STDPMechanism with SpikePairRule and each weight dependence (NEST ``stdp_synapse``), and
    Vogels2011Rule (NEST ``vogels_sprekeler_synapse``, through
    ``pyNN.nest.native_synapse_type``: pyNN.nest 0.13 has no Vogels2011Rule). 40 pairings,
    the postsynaptic spike forced by a strong input at -30 ... +30 ms around each presynaptic
    spike; the last presynaptic spike follows the last postsynaptic spike by 100 ms, so NEST's
    lazy potentiation has caught up. Printed: the learned weight on both and the relative
    difference of the weight and of its change. GutigWeightDependence runs twice: with
    PyNN's defaults mu_plus = mu_minus = 0.5 (the only values pyNN.nest 0.13 passes on) and
    with mu_plus = 0.3, mu_minus = 0.8 set directly on the NEST connections. The weight is also
    read between two runs, after a potentiating pairing and before the next presynaptic spike
    ("between runs"): there NEST's lazy potentiation has not been applied yet.

``stochastic``
    Rates of random processes, pyNN.jax / NEST with the standard error of the ratio:
    SimpleStochasticSynapse (``bernoulli_synapse``) and MultiQuantalSynapse
    (``quantal_stp_synapse``): mean weight transmitted per presynaptic spike, 400 connections
    x 1000 spikes at 20 Hz onto non-leaky IF_curr_delta cells (the first 100 spikes of each
    connection are left out: pyNN.nest starts quantal_stp_synapse with NEST's defaults a = 1
    available site and u = 0.5, pyNN.jax with a = n and u = 0); SpikeSourcePoisson,
    SpikeSourcePoissonRefractory, SpikeSourceGamma: mean rate of 1000 cells over 2 s;
    GIF_cond_exp with escape noise: mean rate of 400 cells over 1 s; NoisyCurrentSource:
    standard deviation of v of 1000 non-spiking IF_curr_exp cells. StochasticTsodyksMarkram
    and SpikeSourceInhGamma are tried on pyNN.nest and reported as not comparable when NEST
    cannot run them.

Usage::

    python benchmarks/nest_deviation.py                 # all tables (about 3 minutes)
    python benchmarks/nest_deviation.py --sections cells --models IF_curr_exp --reference
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile

import numpy as np

LIF_MODELS = ("IF_curr_exp", "IF_curr_alpha", "IF_curr_delta", "IF_cond_exp", "IF_cond_alpha")
MORE_MODELS = ("EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista", "HH_cond_exp",
               "Izhikevich", "IF_cond_exp_gsfa_grr", "IF_facets_hardware1", "GIF_cond_exp",
               "LIF+CurrExp", "AdExp+CondAlpha", "AdExp+CondBeta")
MODELS = LIF_MODELS + MORE_MODELS
SECTIONS = ("cells", "currents", "tm", "stdp", "stochastic")
DT = 0.1            # ms
REFERENCE_DT = 0.001  # ms
T_STOP = 1000.0     # ms
DELAY = 1.0         # ms
DC_START = 200.0    # ms
UPSTROKE = 1.0      # ms before the first spike left out of the second v column
SEED = 20261123

# per model: excitatory weight, inhibitory weight (nA for current synapses; mV for
# IF_curr_delta and Izhikevich; uS for conductances), DC amplitude (nA). Chosen for 10-20
# output spikes once the DC is on.
INPUT = {
    "IF_curr_exp":   (0.1, -0.1, 0.75),
    "IF_curr_alpha": (0.04, -0.04, 0.8),
    "IF_curr_delta": (0.5, -0.5, 0.75),
    "IF_cond_exp":   (0.002, 0.004, 0.7),
    "IF_cond_alpha": (0.0008, 0.0016, 0.8),
    "EIF_cond_exp_isfa_ista": (0.002, 0.004, 0.7),
    "EIF_cond_alpha_isfa_ista": (0.0008, 0.0016, 0.7),
    "HH_cond_exp": (0.002, 0.004, 0.1),
    "Izhikevich": (0.5, -0.5, 0.006),
    "IF_cond_exp_gsfa_grr": (0.002, 0.004, 1.0),
    "IF_facets_hardware1": (0.0003, 0.0006, 0.3),
    "GIF_cond_exp": (0.002, 0.004, 0.6),
    "LIF+CurrExp": (0.1, -0.1, 0.75),
    "AdExp+CondAlpha": (0.0008, 0.0016, 0.7),
    "AdExp+CondBeta": (0.002, 0.004, 0.7),
}
# cell parameters other than PyNN's defaults
PARAMETERS = {
    "EIF_cond_exp_isfa_ista": {"tau_refrac": 2.0},
    "EIF_cond_alpha_isfa_ista": {"tau_refrac": 2.0},
    "IF_cond_exp_gsfa_grr": {"tau_refrac": 2.0},
    # deterministic limit: spike as soon as v crosses v_t (delta_v -> 0)
    "GIF_cond_exp": {"delta_v": 1e-6, "v_t_star": -55.0, "tau_refrac": 2.0,
                     "a_eta": (0.1, 0.05, 0.02), "a_gamma": (5.0, 2.0, 1.0)},
    "AdExp+CondAlpha": {"tau_refrac": 2.0},
    "AdExp+CondBeta": {"tau_refrac": 2.0},
}
RATE_E, RATE_I = 400.0, 200.0   # Hz, of the two input trains
# models whose equations are their discrete scheme at the given dt (NEST's izhikevich: one
# forward Euler step per time step): no dt -> 0 reference
DT_DEFINED = ("Izhikevich",)


def label(model):
    """Name of a model in the tables."""
    if "+" in model:
        membrane, receptor = model.split("+")
        return f"PointNeuron({membrane}, {receptor})"
    return model


def input_times(spike_precision="on_grid", dt=DT):
    """Poisson spike times (ms), unique, in [1 ms, T_STOP): on the ``dt`` grid, or, for
    "off_grid", anywhere (rounded to 1e-6 ms)."""
    rng = np.random.default_rng(SEED)
    trains = []
    for rate in (RATE_E, RATE_I):
        n = rng.poisson(rate * T_STOP / 1000.0)
        if spike_precision == "off_grid":
            trains.append(np.unique(np.round(rng.uniform(1.0, T_STOP, size=n), 6)))
            continue
        steps = np.unique(rng.integers(int(np.ceil(1.0 / dt)), int(T_STOP / dt), size=n))
        trains.append(np.round(steps * dt, 10))
    return trains


def import_simulator(simulator):
    """The PyNN backend module; on pyNN.nest with the workarounds for its 0.13 defects."""
    if simulator == "jax":
        import pyNN.jax as sim
        return sim
    import pyNN.nest as sim
    # PyNN 0.13's pyNN.nest IF_curr_delta has no variable_map: v cannot be recorded
    # ("unknown recordable v"). Give it the one of iaf_psc_delta.
    sim.IF_curr_delta.variable_map = {"v": "V_m"}
    sim.IF_curr_delta.scale_factors = {"v": 1}
    # PyNN 0.13's pyNN.nest maps the state of IF_cond_exp_gsfa_grr as g_rr/g_sfa, PyNN
    # declares g_r/g_s: the model cannot be created (KeyError) without this
    celltype = sim.IF_cond_exp_gsfa_grr
    celltype.variable_map = dict(celltype.variable_map, g_r="g_rr", g_s="g_sfa")
    celltype.scale_factors = dict(celltype.scale_factors, g_r=1.0, g_s=1.0)
    return sim


def setup(sim, simulator, precision, dt=DT, spike_precision="on_grid", **extra):
    extra = dict(extra, precision=precision) if simulator == "jax" else extra
    sim.setup(timestep=dt, spike_precision=spike_precision, **extra)


def make_cell(sim, model):
    """Cell type and the names of its excitatory and inhibitory receptor types."""
    params = dict(PARAMETERS.get(model, {}))
    if "+" not in model:
        return getattr(sim, model)(**params), "excitatory", "inhibitory"
    membrane, receptor = model.split("+")
    if receptor == "CurrExp":
        exc = sim.CurrExpPostSynapticResponse(tau_syn=5.0)
        inh = sim.CurrExpPostSynapticResponse(tau_syn=5.0)
    elif receptor == "CondAlpha":
        exc = sim.CondAlphaPostSynapticResponse(tau_syn=5.0, e_syn=0.0)
        inh = sim.CondAlphaPostSynapticResponse(tau_syn=5.0, e_syn=-80.0)
    else:
        exc = sim.CondBetaPostSynapticResponse(tau_rise=0.5, tau_decay=5.0, e_syn=0.0)
        inh = sim.CondBetaPostSynapticResponse(tau_rise=0.5, tau_decay=5.0, e_syn=-80.0)
    # not "excitatory"/"inhibitory": pyNN.nest negates the weights on a receptor called
    # "inhibitory" of a conductance-based cell, which NEST's multisynapse models refuse
    return sim.PointNeuron(getattr(sim, membrane)(**params), AMPA=exc, GABA=inh), "AMPA", "GABA"


def probe(times_file, dt, spike_precision, out):
    """pyNN.nest: the times at which the two input SpikeSourceArrays really emit."""
    import pyNN.nest as sim
    dt = float(dt)
    sim.setup(timestep=dt, min_delay=dt, max_delay=10.0, spike_precision=spike_precision)
    with np.load(times_file) as data:
        trains = [data["exc"], data["inh"]]
    sources = sim.Population(2, sim.SpikeSourceArray(spike_times=trains))
    sources.record("spikes")
    sim.run(T_STOP)
    emitted = [np.asarray(st.rescale("ms").magnitude, dtype=float)
               for st in sources.get_data().segments[0].spiketrains]
    np.savez(out, exc=emitted[0], inh=emitted[1])
    sim.end()


def worker(simulator, model, precision, times_file, dt, spike_precision, out):
    """Build and run the cell script on one simulator; save v (every 0.1 ms, or every step if
    longer) and the spike times to ``out`` (.npz)."""
    dt = float(dt)
    sim = import_simulator(simulator)
    setup(sim, simulator, precision, dt, spike_precision, min_delay=max(dt, DT),
          max_delay=10.0)
    w_exc, w_inh, amplitude = INPUT[model]
    with np.load(times_file) as data:
        exc_times, inh_times = data["exc"], data["inh"]
    celltype, exc_receptor, inh_receptor = make_cell(sim, model)
    cell = sim.Population(1, celltype, label="cell")
    exc = sim.Population(1, sim.SpikeSourceArray(spike_times=exc_times), label="exc")
    inh = sim.Population(1, sim.SpikeSourceArray(spike_times=inh_times), label="inh")
    sim.Projection(exc, cell, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=w_exc, delay=DELAY), receptor_type=exc_receptor)
    sim.Projection(inh, cell, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=w_inh, delay=DELAY), receptor_type=inh_receptor)
    sim.DCSource(amplitude=amplitude, start=DC_START, stop=T_STOP + 10.0).inject_into(cell)
    cell.record("spikes")
    cell.record("v", sampling_interval=max(dt, DT))
    sim.run(T_STOP)
    segment = cell.get_data().segments[0]
    v = segment.filter(name="v")[0]
    np.savez(out, t=np.asarray(v.times.rescale("ms")).ravel(),
             v=np.asarray(v.magnitude, dtype=float)[:, 0],
             spikes=np.asarray(segment.spiketrains[0].rescale("ms").magnitude, dtype=float))
    sim.end()


# ---- current sources -------------------------------------------------------------------------

def task_currents(sim, simulator, precision):
    """ACSource and StepCurrentSource into non-spiking IF_curr_exp cells, 500 ms."""
    setup(sim, simulator, precision, min_delay=DT, max_delay=10.0)
    cells = sim.Population(2, sim.IF_curr_exp(v_thresh=1000.0))
    sim.ACSource(amplitude=0.5, offset=0.1, frequency=7.0, phase=30.0, start=50.0,
                 stop=450.0).inject_into(cells[0:1])
    sim.StepCurrentSource(times=[100.0, 150.0, 200.5, 300.0],
                          amplitudes=[0.3, -0.2, 0.5, 0.0]).inject_into(cells[1:2])
    cells.record("v", sampling_interval=DT)
    sim.run(500.0)
    v = np.asarray(cells.get_data().segments[0].filter(name="v")[0].magnitude, dtype=float)
    sim.end()
    return {"v": v}


# ---- Tsodyks-Markram ---------------------------------------------------------------------------

TM_CONFIGS = {   # U, tau_rec, tau_facil
    "depressing": (0.5, 800.0, 0.0),
    "facilitating": (0.1, 100.0, 1000.0),
}
TM_TAU_SYN = 0.5   # ms


def tm_spike_times():
    """100 presynaptic times at whole ms, intervals 10-150 ms."""
    rng = np.random.default_rng(SEED + 1)
    return 10.0 + np.cumsum(rng.integers(10, 151, size=100)).astype(float)


def task_tm(sim, simulator, precision):
    times = tm_spike_times()
    out = {}
    for name, (U, tau_rec, tau_facil) in TM_CONFIGS.items():
        setup(sim, simulator, precision, min_delay=DT, max_delay=10.0)
        pre = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
        post = sim.Population(1, sim.IF_curr_exp(tau_m=1e9, tau_syn_E=TM_TAU_SYN, cm=1.0,
                                                 v_rest=0.0, v_reset=-1.0, v_thresh=1e6))
        post.initialize(v=0.0)
        sim.Projection(pre, post, sim.AllToAllConnector(), sim.TsodyksMarkramSynapse(
            weight=1.0, delay=DELAY, U=U, tau_rec=tau_rec, tau_facil=tau_facil))
        post.record("v", sampling_interval=DT)
        sim.run(times[-1] + 20.0)
        v = np.asarray(post.get_data().segments[0].filter(name="v")[0].magnitude,
                       dtype=float)[:, 0]
        sim.end()
        # v just before each arrival (t + delay) and 15 ms after the last one
        samples = np.round(np.append(times + DELAY, times[-1] + DELAY + 15.0) / DT).astype(int)
        out[name] = np.diff(v[samples]) * 1.0 / TM_TAU_SYN     # PSC amplitude (nA), cm = 1 nF
    return out


# ---- STDP -------------------------------------------------------------------------------------

STDP_DELAY = 3.0     # ms
STDP_W0 = 0.5        # nA
STDP_RULE = dict(tau_plus=20.0, tau_minus=25.0, A_plus=0.01, A_minus=0.012)
STDP_DEPENDENCES = {   # label: (weight dependence, extra parameters)
    "Additive": ("AdditiveWeightDependence", {}),
    "Multiplicative": ("MultiplicativeWeightDependence", {}),
    "AdditivePotentiationMultiplicativeDepression":
        ("AdditivePotentiationMultiplicativeDepression", {}),
    "Gutig (mu 0.5, 0.5)": ("GutigWeightDependence", {}),
    "Gutig (mu 0.3, 0.8)": ("GutigWeightDependence", {"mu_plus": 0.3, "mu_minus": 0.8}),
    "Vogels2011Rule": ("Vogels2011Rule", {}),
}
VOGELS = dict(tau=20.0, eta=0.005, rho=10.0)
N_PAIRINGS = 40


def stdp_protocol():
    """Presynaptic times every 100 ms; the drive that makes the postsynaptic cell spike about
    2 ms after it arrives, at offsets -30 ... +30 ms from each presynaptic spike; one more
    presynaptic spike 100 ms after the last pairing."""
    rng = np.random.default_rng(SEED + 2)
    pre = 50.0 + 100.0 * np.arange(N_PAIRINGS + 1)
    offsets = rng.integers(-30, 31, size=N_PAIRINGS).astype(float)
    offsets[offsets == 0] = 5.0
    offsets[N_PAIRINGS // 2] = 4.0       # the pairing read between two runs potentiates
    drive = pre[:-1] + offsets
    return pre, drive


def task_stdp(sim, simulator, precision):
    pre_times, drive_times = stdp_protocol()
    t_mid = pre_times[N_PAIRINGS // 2] + 50.0       # after a potentiating post spike,
    out = {}                                         # before the next pre spike
    for name, (dependence, extra) in STDP_DEPENDENCES.items():
        setup(sim, simulator, precision, min_delay=DT, max_delay=10.0)
        pre = sim.Population(1, sim.SpikeSourceArray(spike_times=pre_times))
        drive = sim.Population(1, sim.SpikeSourceArray(spike_times=drive_times))
        post = sim.Population(1, sim.IF_curr_exp(tau_refrac=2.0, tau_syn_E=0.5))
        sim.Projection(drive, post, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=40.0, delay=1.0))
        set_on_nest = {}
        if dependence == "Vogels2011Rule":
            alpha = 2.0 * VOGELS["rho"] * VOGELS["tau"] / 1000.0
            if simulator == "jax":
                synapse = sim.STDPMechanism(sim.Vogels2011Rule(**VOGELS),
                                            sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0),
                                            weight=STDP_W0, delay=STDP_DELAY)
            else:
                # pyNN.nest 0.13 has no Vogels2011Rule: NEST's model, in NEST's units (pA)
                import nest
                nest.SetStatus(post.node_collection, {"tau_minus": VOGELS["tau"]})
                synapse = sim.native_synapse_type("vogels_sprekeler_synapse")(
                    weight=1000.0 * STDP_W0, delay=STDP_DELAY, tau=VOGELS["tau"],
                    eta=1000.0 * VOGELS["eta"], alpha=alpha, Wmax=1000.0)
        else:
            params = dict(w_min=0.0, w_max=1.0)
            if simulator == "jax":
                params.update(extra)
            else:
                set_on_nest = extra   # pyNN.nest 0.13 drops Gutig's mu_plus, mu_minus
            synapse = sim.STDPMechanism(sim.SpikePairRule(**STDP_RULE),
                                        getattr(sim, dependence)(**params),
                                        weight=STDP_W0, delay=STDP_DELAY)
        prj = sim.Projection(pre, post, sim.AllToAllConnector(), synapse)
        if set_on_nest:
            import nest
            nest.SetStatus(prj.nest_connections, set_on_nest)
        post.record("spikes")
        sim.run(t_mid)
        w_mid = prj.get("weight", format="list", with_address=False)[0]
        sim.run(pre_times[-1] + 10.0)
        w_end = prj.get("weight", format="list", with_address=False)[0]
        n_post = len(post.get_data().segments[0].spiketrains[0])
        sim.end()
        out[name] = np.array([w_mid, w_end, n_post])
    return out


# ---- stochastic synapses and random sources ----------------------------------------------------

N_CONNECTIONS = 400
N_NOISE_CELLS = 1000
N_STOCHASTIC_SPIKES = 1000
TRANSIENT_SPIKES = 100
STOCHASTIC_SYNAPSES = {   # label: (synapse type, parameters)
    "SimpleStochasticSynapse p=0.3": ("SimpleStochasticSynapse", dict(p=0.3)),
    "MultiQuantal n=10 U=0.4 fast rec.": ("MultiQuantalSynapse",
                                          dict(n=10, U=0.4, tau_rec=0.5, tau_facil=0.0)),
    "MultiQuantal n=5 U=0.5 depressing": ("MultiQuantalSynapse",
                                          dict(n=5, U=0.5, tau_rec=200.0, tau_facil=0.0)),
    "MultiQuantal n=5 U=0.1 facilitating": ("MultiQuantalSynapse",
                                            dict(n=5, U=0.1, tau_rec=50.0, tau_facil=200.0)),
    "StochasticTsodyksMarkram U=0.5": ("StochasticTsodyksMarkramSynapse",
                                       dict(U=0.5, tau_rec=100.0, tau_facil=0.0)),
}
SOURCES = {   # label: (cell type, parameters, cells, duration (ms))
    "SpikeSourcePoisson 50 Hz": ("SpikeSourcePoisson", dict(rate=50.0), 1000, 2000.0),
    "SpikeSourcePoissonRefractory 100 Hz": ("SpikeSourcePoissonRefractory",
                                            dict(rate=100.0, tau_refrac=2.0), 1000, 2000.0),
    "SpikeSourceGamma a=5 b=500 Hz": ("SpikeSourceGamma", dict(alpha=5, beta=500.0), 1000,
                                      2000.0),
    "SpikeSourceInhGamma": ("SpikeSourceInhGamma",
                            dict(a=(2.0, 4.0), b=(0.01, 0.005), tbins=(0.0, 1000.0)),
                            1000, 2000.0),
    "GIF_cond_exp escape noise": ("GIF_cond_exp",
                                  dict(i_offset=0.8, delta_v=1.0, v_t_star=-50.0, lambda0=10.0,
                                       tau_refrac=2.0, a_eta=(0.02, 0.02, 0.02),
                                       a_gamma=(0.5, 0.5, 0.5)), 400, 1000.0),
}


def _samples(values):
    values = np.asarray(values, dtype=float)
    return np.array([values.mean(), values.std(ddof=1) / np.sqrt(values.size)])


def task_stochastic(sim, simulator, precision):
    out = {}
    interval = 50.0
    pre_times = 10.0 + interval * np.arange(N_STOCHASTIC_SPIKES)
    for name, (synapse, params) in STOCHASTIC_SYNAPSES.items():
        setup(sim, simulator, precision, 1.0, min_delay=1.0, max_delay=10.0)
        try:
            synapse_type = getattr(sim, synapse)(weight=1.0, delay=1.0, **params)
            pre = sim.Population(N_CONNECTIONS, sim.SpikeSourceArray(spike_times=pre_times))
            post = sim.Population(N_CONNECTIONS, sim.IF_curr_delta(
                v_thresh=1e9, tau_m=1e12, v_rest=0.0, v_reset=0.0, tau_refrac=0.0))
            post.initialize(v=0.0)
            sim.Projection(pre, post, sim.OneToOneConnector(), synapse_type)
            post.record("v", sampling_interval=interval)
            sim.run(pre_times[-1] + interval)
        except Exception as error:         # NEST cannot run it
            out[name] = np.array(f"{type(error).__name__}: {str(error).splitlines()[0]}")
            sim.end()
            continue
        v = np.asarray(post.get_data().segments[0].filter(name="v")[0].magnitude, dtype=float)
        # v sampled at 0, 50, ... ms: the jump from spike k (at 10 + 50 k ms, arriving 1 ms
        # later) lies between samples k and k + 1
        jumps = np.diff(v, axis=0)[TRANSIENT_SPIKES:N_STOCHASTIC_SPIKES]
        out[name] = _samples(jumps.mean(axis=0))
        sim.end()
    for name, (celltype, params, n, duration) in SOURCES.items():
        setup(sim, simulator, precision, min_delay=DT, max_delay=10.0, rng_seed=SEED % 100000)
        try:
            cells = sim.Population(n, getattr(sim, celltype)(**params))
            cells.record("spikes")
            sim.run(duration)
        except Exception as error:
            out[name] = np.array(f"{type(error).__name__}: {str(error).splitlines()[0]}")
            sim.end()
            continue
        counts = [len(st) for st in cells.get_data().segments[0].spiketrains]
        out[name] = _samples(np.asarray(counts) * 1000.0 / duration)
        sim.end()
    setup(sim, simulator, precision, min_delay=DT, max_delay=10.0, rng_seed=SEED % 100000)
    cells = sim.Population(N_NOISE_CELLS, sim.IF_curr_exp(v_thresh=1000.0))
    sim.NoisyCurrentSource(mean=0.0, stdev=0.5, dt=1.0, start=0.0,
                           stop=2000.0).inject_into(cells)
    cells.record("v", sampling_interval=1.0)
    sim.run(2000.0)
    v = np.asarray(cells.get_data().segments[0].filter(name="v")[0].magnitude, dtype=float)
    sim.end()
    out["NoisyCurrentSource"] = _samples(v[200:].std(axis=0))
    return out


TASKS = {"currents": task_currents, "tm": task_tm, "stdp": task_stdp,
         "stochastic": task_stochastic}


def task_worker(task, simulator, precision, out):
    sim = import_simulator(simulator)
    result = TASKS[task](sim, simulator, precision)
    np.savez(out, **result)


# ---- driver ----------------------------------------------------------------------------------

def _subprocess(*args):
    """Run this file with ``args`` in a fresh interpreter; return the arrays it saved."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.npz")
        env = dict(os.environ, JAX_PLATFORMS="cpu")
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), *args, out],
                              capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
        with np.load(out) as data:
            return {k: data[k] for k in data.files}


def run_worker(simulator, model, precision, times_file, dt=DT, spike_precision="on_grid"):
    return _subprocess("--worker", simulator, model, precision, times_file, repr(dt),
                       spike_precision)


def run_task(task, simulator, precision):
    return _subprocess("--task", task, simulator, precision)


def prepare_inputs(times_file, keep_all, dt=DT, spike_precision="on_grid"):
    """Write the input trains to ``times_file``; return the number of times dropped."""
    exc, inh = input_times(spike_precision, dt)
    if spike_precision == "off_grid" and not keep_all:
        # pyNN.jax sends the times of one SpikeSourceArray cell within one step as one event
        # at the earliest (docs/numerics.rst, Limits); NEST sends each
        exc, inh = (times[np.concatenate([[True], np.diff(np.ceil(times / dt - 1e-9)) > 0])]
                    for times in (exc, inh))
    dropped_in_steps = sum(times.size for times in input_times(spike_precision, dt)) - (
        exc.size + inh.size)
    np.savez(times_file, exc=exc, inh=inh)
    if keep_all:
        return 0
    emitted = _subprocess("--probe", times_file, repr(dt), spike_precision)
    kept = []
    for given, name in ((exc, "exc"), (inh, "inh")):
        late = np.abs(given[:, None] - emitted[name][None, :]).min(axis=1) > 1e-6
        kept.append(given[~late])
    np.savez(times_file, exc=kept[0], inh=kept[1])
    return dropped_in_steps + exc.size + inh.size - kept[0].size - kept[1].size


def _first_spike(*results):
    return min([r["spikes"][0] for r in results if r["spikes"].size] + [T_STOP + DT])


def compare(jax_result, nest_result, tolerance=2.0):
    t_j, t_n = jax_result["t"], nest_result["t"]
    n = min(t_j.size, t_n.size)
    assert np.allclose(t_j[:n], t_n[:n]), "sample times differ"
    s_j, s_n = jax_result["spikes"], nest_result["spikes"]
    first = _first_spike(jax_result, nest_result)
    before = t_j[:n] < first
    settled = t_j[:n] < first - UPSTROKE
    dv = np.abs(jax_result["v"][:n] - nest_result["v"][:n])
    matched, max_dt = 0, 0.0
    if s_j.size and s_n.size:
        nearest = np.abs(s_j[:, None] - s_n[None, :]).min(axis=1)
        ok = nearest <= tolerance
        matched = int(ok.sum())
        max_dt = float(nearest[ok].max()) if matched else float("nan")
    return {"dv_before": float(dv[before].max()), "dv_settled": float(dv[settled].max()),
            "dv_all": float(dv.max()),
            "first_spike": float(first),
            "n_jax": int(s_j.size), "n_nest": int(s_n.size), "matched": matched,
            "max_dt": max_dt}


def reference_error(result, reference, first):
    """max |v - v_reference| (mV) over the common samples up to 1 ms (UPSTROKE) before
    ``first`` (ms)."""
    n = min(result["t"].size, reference["t"].size)
    assert np.allclose(result["t"][:n], reference["t"][:n]), "sample times differ"
    before = result["t"][:n] < first - UPSTROKE
    return float(np.abs(result["v"][:n] - reference["v"][:n])[before].max())


def _print_table(header, widths, rows):
    line = "  ".join("=" * w for w in widths)
    print(line)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    print(line)
    for cells in rows:
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
    print(line)


def cells_section(models, keep_all, reference, dt=DT, spike_precision="on_grid"):
    rows, ref_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        times_file = os.path.join(tmp, "times.npz")
        dropped = prepare_inputs(times_file, keep_all, dt, spike_precision)
        with np.load(times_file) as data:
            n_inputs = data["exc"].size + data["inh"].size
        for model in models:
            nest_result = run_worker("nest", model, "float64", times_file, dt, spike_precision)
            jax_results = {}
            for precision in ("float32", "float64"):
                jax_results[precision] = run_worker("jax", model, precision, times_file, dt,
                                                    spike_precision)
                rows.append((model, precision, compare(jax_results[precision], nest_result)))
            if reference and model not in DT_DEFINED:
                ref = run_worker("jax", model, "float64", times_file, REFERENCE_DT,
                                 spike_precision)
                first = _first_spike(ref, nest_result, *jax_results.values())
                ref_rows.append((model, first,
                                 reference_error(jax_results["float64"], ref, first),
                                 reference_error(jax_results["float32"], ref, first),
                                 reference_error(nest_result, ref, first)))
    print(f"# cells: dt = {dt} ms, spike_precision = {spike_precision}, {T_STOP:g} ms, DC on "
          f"from {DC_START:g} ms; {n_inputs} input spikes ({dropped} dropped: times pyNN.nest "
          f"does not emit at their time, and off the grid the later of two times of one train "
          f"in one step, which pyNN.jax sends as one event)")
    _print_table(("model", "jax dtype", "max|dv| (mV)", "to -1 ms (mV)", "1st spike (ms)",
                  "n jax", "n nest", "matched", "max|dt| (ms)", "max|dv| all (mV)"),
                 (31, 9, 13, 13, 14, 6, 7, 8, 12, 16),
                 [(label(model), precision, f"{r['dv_before']:.2e}", f"{r['dv_settled']:.2e}",
                   f"{r['first_spike']:.1f}",
                   str(r["n_jax"]), str(r["n_nest"]), str(r["matched"]), f"{r['max_dt']:.1e}",
                   f"{r['dv_all']:.2e}") for model, precision, r in rows])
    if ref_rows:
        print(f"# error against pyNN.jax float64 at dt = {REFERENCE_DT} ms, up to {UPSTROKE:g} ms "
              "before the first spike: max |v - v_ref| (mV)")
        _print_table(("model", "until (ms)", "jax float64", "jax float32", "NEST"),
                     (31, 10, 11, 11, 9),
                     [(label(m), f"{first - UPSTROKE:.1f}", f"{a:.2e}", f"{b:.2e}", f"{c:.2e}")
                      for m, first, a, b, c in ref_rows])
    return {"table": [{"model": m, "precision": p, **r} for m, p, r in rows],
            "reference": [{"model": m, "until": f, "jax_float64": a, "jax_float32": b,
                           "nest": c} for m, f, a, b, c in ref_rows]}


def currents_section():
    nest_v = run_task("currents", "nest", "float64")["v"]
    rows = []
    for precision in ("float32", "float64"):
        v = run_task("currents", "jax", precision)["v"]
        n = min(v.shape[0], nest_v.shape[0])
        dv = np.abs(v[:n] - nest_v[:n]).max(axis=0)
        rows.append((precision, dv))
    print("# current sources into IF_curr_exp (no spikes), 500 ms: max |v_jax - v_nest| (mV)")
    _print_table(("jax dtype", "ACSource", "StepCurrentSource"), (9, 10, 17),
                 [(p, f"{dv[0]:.2e}", f"{dv[1]:.2e}") for p, dv in rows])
    return [{"precision": p, "ACSource": float(dv[0]), "StepCurrentSource": float(dv[1])}
            for p, dv in rows]


def tm_section():
    nest_result = run_task("tm", "nest", "float64")
    rows = []
    for precision in ("float32", "float64"):
        jax_result = run_task("tm", "jax", precision)
        for name in TM_CONFIGS:
            a, b = jax_result[name], nest_result[name]
            rows.append({"synapse": name, "precision": precision, "psc_first": float(b[0]),
                         "psc_min": float(b.min()), "psc_max": float(b.max()),
                         "max_rel": float(np.abs(a / b - 1).max()),
                         "mean_rel": float(a.mean() / b.mean() - 1)})
    print(f"# TsodyksMarkramSynapse, {tm_spike_times().size} spikes at irregular times onto "
          "IF_curr_exp (weight 1 nA): PSC amplitudes")
    _print_table(("synapse", "jax dtype", "NEST PSC (nA)", "max rel. diff", "rel. diff of mean"),
                 (12, 9, 13, 13, 17),
                 [(r["synapse"], r["precision"], f"{r['psc_min']:.3f}-{r['psc_max']:.3f}",
                   f"{r['max_rel']:.1e}", f"{r['mean_rel']:+.1e}") for r in rows])
    return rows


def stdp_section():
    nest_result = run_task("stdp", "nest", "float64")
    rows = []
    for precision in ("float32", "float64"):
        jax_result = run_task("stdp", "jax", precision)
        for name in STDP_DEPENDENCES:
            (j_mid, j_end, j_n), (n_mid, n_end, n_n) = jax_result[name], nest_result[name]
            rows.append({"rule": name, "precision": precision, "w_jax": float(j_end),
                         "w_nest": float(n_end), "rel_w": float(j_end / n_end - 1),
                         "rel_dw": float((j_end - STDP_W0) / (n_end - STDP_W0) - 1),
                         "w_mid_jax": float(j_mid), "w_mid_nest": float(n_mid),
                         "post_jax": int(j_n), "post_nest": int(n_n)})
    print(f"# STDP, {N_PAIRINGS} pairings, w0 = {STDP_W0} nA: learned weight (nA)")
    _print_table(("rule / weight dependence", "jax dtype", "w nest", "w jax", "rel. diff w",
                  "rel. diff dw", "posts j/n", "between runs: nest", "jax"),
                 (44, 9, 8, 8, 11, 12, 9, 18, 8),
                 [(r["rule"], r["precision"], f"{r['w_nest']:.5f}", f"{r['w_jax']:.5f}",
                   f"{r['rel_w']:+.1e}", f"{r['rel_dw']:+.1e}",
                   f"{r['post_jax']}/{r['post_nest']}", f"{r['w_mid_nest']:.5f}",
                   f"{r['w_mid_jax']:.5f}") for r in rows])
    return rows


def stochastic_section():
    nest_result = run_task("stochastic", "nest", "float64")
    jax_result = run_task("stochastic", "jax", "float32")
    rows = []
    for name in list(STOCHASTIC_SYNAPSES) + list(SOURCES) + ["NoisyCurrentSource"]:
        a, b = jax_result[name], nest_result[name]
        if b.dtype.kind in "US" or a.dtype.kind in "US":
            rows.append({"process": name, "jax": a.tolist(), "nest": str(b)})
            continue
        ratio = a[0] / b[0]
        error = ratio * np.hypot(a[1] / a[0], b[1] / b[0])
        rows.append({"process": name, "jax": a.tolist(), "nest": b.tolist(),
                     "ratio": float(ratio), "ratio_se": float(error)})
    print("# random processes, pyNN.jax float32 / NEST (+- standard error): weight transmitted "
          "per spike (synapses), rate (Hz, sources), std of v (mV, noise)")
    _print_table(("process", "NEST", "jax", "jax / NEST"), (36, 18, 18, 16),
                 [(r["process"], f"{r['nest'][0]:#.4g} +- {r['nest'][1]:.2g}"
                   if "ratio" in r else "n/a", f"{r['jax'][0]:#.4g} +- {r['jax'][1]:.2g}",
                   f"{r['ratio']:.4f} +- {r['ratio_se']:.4f}" if "ratio" in r else "n/a")
                  for r in rows])
    for r in rows:
        if "ratio" not in r:
            print(f"# {r['process']} on pyNN.nest: {r['nest']}")
    return rows


def main(sections, models, keep_all=False, reference=False, dt=DT, spike_precision="on_grid"):
    import jax
    import nest
    print(f"# pyNN.jax vs pyNN.nest, {datetime.date.today().isoformat()}, "
          f"{platform.machine()} {os.cpu_count()}-core CPU, jax {jax.__version__}, "
          f"NEST {nest.__version__}")
    results = {}
    if "cells" in sections:
        results["cells"] = cells_section(models, keep_all, reference, dt, spike_precision)
    if "currents" in sections:
        results["currents"] = currents_section()
    if "tm" in sections:
        results["tm"] = tm_section()
    if "stdp" in sections:
        results["stdp"] = stdp_section()
    if "stochastic" in sections:
        results["stochastic"] = stochastic_section()
    return results


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:9])
    elif len(sys.argv) > 1 and sys.argv[1] == "--task":
        task_worker(*sys.argv[2:6])
    elif len(sys.argv) > 1 and sys.argv[1] == "--probe":
        probe(*sys.argv[2:6])
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=SECTIONS)
        parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
        parser.add_argument("--keep-all-times", action="store_true",
                            help="do not drop the input times that pyNN.nest emits late")
        parser.add_argument("--reference", action="store_true",
                            help=f"also compare both with pyNN.jax at dt = {REFERENCE_DT} ms")
        parser.add_argument("--spike-precision", default="on_grid",
                            choices=("on_grid", "off_grid"),
                            help="setup(spike_precision=...) of both simulators, cells section "
                                 "(off_grid: input times off the grid as well)")
        parser.add_argument("--dt", type=float, default=DT, help="time step, cells section")
        parser.add_argument("--json", help="also write the results to this JSON file")
        args = parser.parse_args()
        results = main(args.sections, args.models, args.keep_all_times, args.reference,
                       args.dt, args.spike_precision)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
