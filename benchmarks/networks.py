"""The benchmark networks, written once in plain PyNN as functions of the backend module ``sim``.

Every builder takes a PyNN backend module on which ``sim.setup(**SETUP[case])`` (plus the
backend's own options) has been called, builds the network, records the spikes of every cell
and returns a :class:`Network`. Nothing here is specific to a backend: ``benchmarks/suite.py``
and ``benchmarks/va_benchmark.py`` run the same functions on pyNN.jax and pyNN.nest.

- :func:`vogels_abbott`: Brette et al. (2007) benchmarks 1 (COBA) and 2 (CUBA), the network of
  PyNN's ``examples/VAbenchmarks.py``, with either a fixed connection probability (2 %) or a
  fixed mean number of inputs per cell (for sizes where N^2 synapses do not fit).
- :func:`brunel`: Brunel (2000), the network of NEST's ``brunel_delta_nest.py`` example
  (delta synapses, per-cell Poisson drive).
- :func:`lif_population`: one Population of IF_curr_exp cells driven by constant currents, no
  projections (the cost of stepping neurons alone).
"""
from dataclasses import dataclass

import numpy as np

# ---- Vogels-Abbott (parameters of PyNN's VAbenchmarks.py) ------------------------------------
VA_EXC_FRACTION = 0.8       # 4 excitatory : 1 inhibitory
VA_PCONN = 0.02             # connection probability
VA_STIM_DUR = 50.0          # ms, duration of the random stimulation (COBA)
VA_STIM_RATE = 100.0        # Hz
VA_STIM_N = 20              # number of stimulus sources
VA_STIM_PCONN = 0.01        # stimulus connection probability
VA_STIM_WEIGHT = 0.1        # uS
VA_DELAY = 0.2              # ms
VA_V_RESET, VA_V_THRESH = -60.0, -50.0
VA_V_MEAN = -60.0           # mV, membrane potential the CUBA weights are computed at
VA_E_EXC, VA_E_INH = 0.0, -80.0

# ---- Brunel (2000), as NEST's brunel_delta_nest.py -------------------------------------------
BRUNEL_NE, BRUNEL_NI = 10000, 2500
BRUNEL_EPSILON = 0.1        # connection probability: CE = 1000, CI = 250 inputs per cell
BRUNEL_J = 0.1              # mV, EPSP amplitude
BRUNEL_G = 5.0              # IPSP / EPSP
BRUNEL_ETA = 2.0            # external rate / threshold rate
BRUNEL_DELAY = 1.5          # ms
BRUNEL_CELL = {"tau_m": 20.0, "cm": 0.25, "v_rest": 0.0, "v_reset": 10.0, "v_thresh": 20.0,
               "tau_refrac": 2.0, "i_offset": 0.0}

# ---- one large LIF population ------------------------------------------------------------------
LIF_I_OFFSET = (0.5, 1.5)   # nA, spread linearly over the cells; 0.75 nA reaches threshold

DT = 0.1                    # ms, every network
SETUP = {
    "va_coba": {"timestep": DT, "min_delay": VA_DELAY, "max_delay": 1.0},
    "va_cuba": {"timestep": DT, "min_delay": VA_DELAY, "max_delay": 1.0},
    "brunel": {"timestep": DT, "min_delay": BRUNEL_DELAY, "max_delay": BRUNEL_DELAY},
    "lif1m": {"timestep": DT, "min_delay": DT, "max_delay": 1.0},
}


@dataclass
class Network:
    """A built benchmark network.

    Attributes
    ----------
    recorded : dict of str -> Population
        The populations whose spikes are recorded (every cell of the network proper).
    projections : dict of str -> Projection
    rate_label : str
        Key in ``recorded`` of the population whose mean rate is reported (excitatory cells).
    """
    recorded: dict
    projections: dict
    rate_label: str

    def out_degree(self, label):
        """Mean number of outgoing connections per cell of ``recorded[label]`` (within the
        network: projections from stimulus sources are not counted)."""
        pop = self.recorded[label]
        return sum(prj.size() for prj in self.projections.values() if prj.pre is pop) / pop.size


def va_parameters(model):
    """Cell parameters and weights of the Vogels-Abbott network.

    Returns
    -------
    cell : dict
        IF_cond_exp (``model == "coba"``) or IF_curr_exp (``"cuba"``) parameters.
    w_exc, w_inh : float
        Weights: uS, both positive (COBA); nA, inhibitory negative (CUBA).
    """
    area = 20000e-8                          # cm2
    cell = {"tau_m": 20.0, "tau_syn_E": 5.0, "tau_syn_I": 10.0,
            "v_rest": -60.0 if model == "coba" else -49.0,
            "v_reset": VA_V_RESET, "v_thresh": VA_V_THRESH,
            "cm": 1.0 * area * 1000, "tau_refrac": 5.0}     # uF/cm2 * cm2 -> nF: 0.2 nF
    if model == "coba":
        cell.update(e_rev_E=VA_E_EXC, e_rev_I=VA_E_INH)
        return cell, 4.0e-3, 51.0e-3
    g_exc, g_inh = 0.27e-3, 4.5e-3                          # uS
    return cell, g_exc * (VA_E_EXC - VA_V_MEAN), g_inh * (VA_E_INH - VA_V_MEAN)


def poisson_trains(n, rate, duration, dt, seed):
    """``n`` Poisson spike trains (ms) on the dt grid, in (0, duration]: one draw per step."""
    rng = np.random.default_rng(seed)
    hits = rng.random((n, round(duration / dt))) < -np.expm1(-rate * dt / 1000.0)
    return [np.round((np.flatnonzero(row) + 1) * dt, 10) for row in hits]


def vogels_abbott(sim, model, n_cells, seed, indegree=None, stimulus="array", record_v=False):
    """Vogels-Abbott network of ``n_cells`` cells (80 % excitatory).

    Parameters
    ----------
    model : {"coba", "cuba"}
    n_cells : int
    seed : int
        Seeds the initial potentials, every connector and the stimulus.
    indegree : int, optional
        None: each pair connected with probability 2 % (the published benchmark: N^2 synapses).
        An int K: K inputs per cell on average, so that synapses grow as N: each cell draws
        its number of excitatory (inhibitory) inputs from Binomial(n_pre, K / n_cells), the
        in-degree distribution of connection probability K / n_cells, and draws that many
        sources with replacement (FixedNumberPreConnector; O(K) per cell, whereas PyNN's draw
        without replacement permutes all sources for every cell; a repeated source is as rare
        as in NEST's fixed_indegree rule). K = 80 at 4000 cells is the 2 % network. (An exact
        in-degree of K, without the binomial spread, lets the COBA activity die out.)
    stimulus : {"array", "poisson"}
        COBA only: the 20 stimulus sources as SpikeSourceArray trains drawn here with numpy
        (identical input on every backend) or as each backend's SpikeSourcePoisson.
    record_v : bool
        Also record v of the first two excitatory cells.
    """
    from pyNN.parameters import Sequence
    from pyNN.random import NumpyRNG, RandomDistribution

    cell, w_exc, w_inh = va_parameters(model)
    n_exc = round(n_cells * VA_EXC_FRACTION)
    celltype = sim.IF_cond_exp if model == "coba" else sim.IF_curr_exp
    exc = sim.Population(n_exc, celltype(**cell), label="Excitatory_Cells")
    inh = sim.Population(n_cells - n_exc, celltype(**cell), label="Inhibitory_Cells")
    uniform = RandomDistribution("uniform", low=VA_V_RESET, high=VA_V_THRESH,
                                 rng=NumpyRNG(seed=seed, parallel_safe=True))
    exc.initialize(v=uniform)
    inh.initialize(v=uniform)

    # One fresh NumpyRNG per projection: PyNN's generic connectors (pyNN.nest) draw from a
    # deep copy of the rng, pyNN.jax advances it; with one rng used once both build the same
    # connections.
    def rng(k):
        return NumpyRNG(seed=seed + 1000 + k, parallel_safe=True)

    def connector(k, fraction, pre):
        if indegree is None:
            return sim.FixedProbabilityConnector(VA_PCONN, rng=rng(k))
        # the in-degree distribution of connection probability indegree / n_cells, drawn
        # without forming the N^2 pairs
        n_inputs = RandomDistribution("binomial", (pre.size, indegree * fraction / pre.size),
                                      rng=rng(k + 100))
        return sim.FixedNumberPreConnector(n_inputs, with_replacement=True, rng=rng(k))

    exc_syn = sim.StaticSynapse(weight=w_exc, delay=VA_DELAY)
    inh_syn = sim.StaticSynapse(weight=w_inh, delay=VA_DELAY)
    inh_fraction = 1.0 - VA_EXC_FRACTION
    projections = {
        "e2e": sim.Projection(exc, exc, connector(0, VA_EXC_FRACTION, exc), exc_syn,
                              receptor_type="excitatory"),
        "e2i": sim.Projection(exc, inh, connector(1, VA_EXC_FRACTION, exc), exc_syn,
                              receptor_type="excitatory"),
        "i2e": sim.Projection(inh, exc, connector(2, inh_fraction, inh), inh_syn,
                              receptor_type="inhibitory"),
        "i2i": sim.Projection(inh, inh, connector(3, inh_fraction, inh), inh_syn,
                              receptor_type="inhibitory"),
    }
    if model == "coba":
        if stimulus == "array":
            trains = poisson_trains(VA_STIM_N, VA_STIM_RATE, VA_STIM_DUR, DT, seed + 1)
            source = sim.SpikeSourceArray(spike_times=[Sequence(t) for t in trains])
        else:
            source = sim.SpikeSourcePoisson(rate=VA_STIM_RATE, duration=VA_STIM_DUR)
        stim = sim.Population(VA_STIM_N, source, label="stimulus")
        ext_syn = sim.StaticSynapse(weight=VA_STIM_WEIGHT, delay=VA_DELAY)
        for k, (name, target) in enumerate((("ext2e", exc), ("ext2i", inh)), start=4):
            projections[name] = sim.Projection(
                stim, target, sim.FixedProbabilityConnector(VA_STIM_PCONN, rng=rng(k)),
                ext_syn, receptor_type="excitatory")
    exc.record("spikes")
    inh.record("spikes")
    if record_v:
        exc[[0, 1]].record("v")
    return Network({"exc": exc, "inh": inh}, projections, "exc")


def brunel(sim, seed, scale=1.0):
    """Brunel (2000) network with delta synapses: NE = 10000 excitatory and NI = 2500
    inhibitory IF_curr_delta cells (times ``scale``), each receiving CE = 0.1 NE excitatory
    inputs of J = 0.1 mV and CI = 0.1 NI inhibitory inputs of -g J (FixedNumberPreConnector,
    multapses and autapses allowed as in NEST's fixed_indegree rule), delay 1.5 ms, and an
    independent Poisson drive of rate eta * nu_th * CE with nu_th = theta / (J CE tau_m)
    (20 kHz at scale 1) through a one-to-one projection of weight J.

    ``scale`` < 1 shrinks the populations and the in-degrees together (for tests): the drive
    rate is recomputed from the in-degree, so the mean input stays at threshold times eta.
    """
    from pyNN.random import NumpyRNG, RandomDistribution

    n_exc = max(round(BRUNEL_NE * scale), 1)
    n_inh = max(round(BRUNEL_NI * scale), 1)
    c_exc = max(round(BRUNEL_EPSILON * n_exc), 1)
    c_inh = max(round(BRUNEL_EPSILON * n_inh), 1)
    nu_threshold = BRUNEL_CELL["v_thresh"] / (BRUNEL_J * c_exc * BRUNEL_CELL["tau_m"])  # 1/ms
    drive_rate = 1000.0 * BRUNEL_ETA * nu_threshold * c_exc                             # Hz

    cells = sim.IF_curr_delta(**BRUNEL_CELL)
    exc = sim.Population(n_exc, cells, label="brunel_E")
    inh = sim.Population(n_inh, cells, label="brunel_I")
    uniform = RandomDistribution("uniform", low=0.0, high=BRUNEL_CELL["v_thresh"],
                                 rng=NumpyRNG(seed=seed, parallel_safe=True))
    exc.initialize(v=uniform)
    inh.initialize(v=uniform)
    drive_e = sim.Population(n_exc, sim.SpikeSourcePoisson(rate=drive_rate), label="drive_E")
    drive_i = sim.Population(n_inh, sim.SpikeSourcePoisson(rate=drive_rate), label="drive_I")

    def fixed_indegree(n, k):
        return sim.FixedNumberPreConnector(n, with_replacement=True,
                                           rng=NumpyRNG(seed=seed + 1000 + k, parallel_safe=True))

    excitatory = sim.StaticSynapse(weight=BRUNEL_J, delay=BRUNEL_DELAY)
    inhibitory = sim.StaticSynapse(weight=-BRUNEL_G * BRUNEL_J, delay=BRUNEL_DELAY)
    projections = {}
    for k, (name, pre, post, n_in, syn, receptor) in enumerate((
            ("e2e", exc, exc, c_exc, excitatory, "excitatory"),
            ("e2i", exc, inh, c_exc, excitatory, "excitatory"),
            ("i2e", inh, exc, c_inh, inhibitory, "inhibitory"),
            ("i2i", inh, inh, c_inh, inhibitory, "inhibitory"))):
        projections[name] = sim.Projection(pre, post, fixed_indegree(n_in, k), syn,
                                           receptor_type=receptor)
    for name, pre, post in (("drive2e", drive_e, exc), ("drive2i", drive_i, inh)):
        projections[name] = sim.Projection(pre, post, sim.OneToOneConnector(), excitatory,
                                           receptor_type="excitatory")
    exc.record("spikes")
    inh.record("spikes")
    return Network({"exc": exc, "inh": inh}, projections, "exc")


def lif_population(sim, n_cells):
    """``n_cells`` IF_curr_exp cells (PyNN defaults: tau_m 20 ms, cm 1 nF, threshold 15 mV
    above rest) with i_offset spread linearly over LIF_I_OFFSET, so that the cells above
    0.75 nA fire regularly (up to ~70 Hz) and the others stay silent; spikes recorded."""
    currents = np.linspace(*LIF_I_OFFSET, n_cells)
    cells = sim.Population(n_cells, sim.IF_curr_exp(i_offset=currents), label="lif")
    cells.record("spikes")
    return Network({"lif": cells}, {}, "lif")

