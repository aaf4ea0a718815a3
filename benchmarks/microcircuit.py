#!/usr/bin/env python
"""The cortical microcircuit of Potjans & Diesmann (2014, Cereb. Cortex 24:785), in plain PyNN.

Eight populations (L23E, L23I, L4E, L4I, L5E, L5I, L6E, L6I; 77 169 ``IF_curr_exp`` cells at
full scale), connected with the published connection probabilities, about 3e8 synapses at full
scale. The parameters are those of the model's reference implementation, NEST's PyNEST example
``pynest/examples/Potjans_2014`` (network_params.py, helpers.py), taken as numbers:

- cells: tau_m 10 ms, C_m 250 pF, tau_syn 0.5 ms (both receptors), t_ref 2 ms, E_L = V_reset =
  -65 mV, V_th -50 mV; initial v from N(-58, 10) mV (the model's "original" initial state);
- connections between populations: ``FixedTotalNumberConnector`` with the published total
  number K = log(1 - C) / log(1 - 1 / (N_pre N_post)) (C the connection probability, full-scale
  N), multapses and autapses allowed (with_replacement=True, allow_self_connections=True);
- weights: PSC amplitudes from a 0.15 mV PSP (87.81 pA), inhibitory -4x, L4E -> L23E doubled;
  relative SD 0.1, normal, redrawn outside the weight's sign (``normal_clipped``);
- delays: normal, 1.5 ms (excitatory) / 0.75 ms (inhibitory), relative SD 0.5, redrawn below
  dt (``normal_clipped``; above 10 ms as well, which at 11 SD never happens in practice: NEST
  needs a max_delay);
- background: per cell an independent Poisson source of K_ext x 8 Hz (``SpikeSourcePoisson``,
  one per cell, one-to-one, weight 87.81 pA, delay 1.5 ms), or ``--background dc``: the mean
  of that input as a constant current, 0.001 tau_syn K_ext 8 Hz 87.81 pA;
- dt 0.1 ms.

Scaling (as NEST's example, N_scaling / K_scaling): ``--scale S`` multiplies the population
sizes by S (rounded) and the in-degrees by ``--k-scale`` (default: S too), so the number of
synapses of each projection is round(K_full x S x k_scale) and the external in-degrees
round(K_ext x k_scale). Where k_scale < 1 the weights (recurrent and external) are divided by
sqrt(k_scale) and every cell gets the DC current 0.001 tau_syn (1 - sqrt(k_scale)) x (mean
recurrent input at the published full-scale rates, plus the Poisson input if any), so mean and
variance of the input stay those of the full model.

The script runs unchanged on pyNN.jax and pyNN.nest (``--simulator``): build (setup,
populations, projections, record), a short warm-up ``run(W)`` (for pyNN.jax it holds the
assembly of the connectivity tables and the compilation), the timed ``run(T)``, then
``get_data()``. Spikes of every cell are recorded; the rates are spike counts per cell over
the timed run after ``--transient`` ms of biological time (default 100 ms: the initial
synchronous burst of the N(-58, 10) mV start). Phase timings go to stderr; the last line on
stdout is one JSON object.

Usage::

    python benchmarks/microcircuit.py --scale 0.05 --time 200
    python benchmarks/microcircuit.py --scale 0.1 --time 1000 --simulator nest --threads 1
    python benchmarks/microcircuit.py --scale 1 --time 1000 --precision float32   # full scale
"""
import time

T_START = time.perf_counter()

import argparse          # noqa: E402
import json              # noqa: E402
import math              # noqa: E402
import os                # noqa: E402
import resource          # noqa: E402
import sys               # noqa: E402

import numpy as np       # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from suite import peak_rss_mb, spike_times_ms           # noqa: E402
from va_benchmark import cpu_busy_seconds, git_description  # noqa: E402

# ---- the model's parameters (Potjans & Diesmann 2014; NEST's Potjans_2014 example) -----------
POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
N_FULL = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
# connection probabilities, [target, source]
CONN_PROBS = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443]])
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])   # external in-degrees
# mean rates of the full-scale model (spikes/s): used only for the DC that compensates a
# scaled in-degree (NEST's example, 'full_mean_rates')
FULL_MEAN_RATES = np.array([0.971, 2.868, 4.746, 5.396, 8.142, 9.078, 0.991, 7.523])
BG_RATE = 8.0                    # Hz, per external input
PSP_EXC = 0.15                   # mV, mean excitatory PSP amplitude
WEIGHT_REL_SD = 0.1
G = -4.0                         # inhibitory / excitatory weight
DELAY_EXC, DELAY_INH = 1.5, 0.75  # ms, mean delays
DELAY_REL_SD = 0.5
DELAY_POISSON = 1.5              # ms
V0_MEAN, V0_SD = -58.0, 10.0     # mV, initial membrane potential
DT = 0.1                         # ms
MAX_DELAY = 10.0                 # ms, upper bound of the delay distributions
CELL = {"cm": 0.25, "tau_m": 10.0, "tau_syn_E": 0.5, "tau_syn_I": 0.5, "tau_refrac": 2.0,
        "v_rest": -65.0, "v_reset": -65.0, "v_thresh": -50.0}        # PyNN units: nF, ms, mV


def psc_over_psp(c_m=250.0, tau_m=10.0, tau_syn=0.5):
    """pA of exponential PSC per mV of PSP peak (NEST example's helpers, Hanuschkin et al. 2010)."""
    sub = 1.0 / (tau_syn - tau_m)
    pre = tau_m * tau_syn / c_m * sub
    frac = (tau_m / tau_syn) ** sub
    return 1.0 / (pre * (frac ** tau_m - frac ** tau_syn))


def full_total_numbers():
    """K[target, source]: the published total synapse numbers at full scale (not rounded)."""
    prod = np.outer(N_FULL, N_FULL).astype(float)
    return np.log(1.0 - CONN_PROBS) / np.log(1.0 - 1.0 / prod)


def model(scale, k_scale, background):
    """Population sizes, synapse numbers, weights (nA), external drive and DC (nA) at a scale."""
    n_cells = np.round(N_FULL * scale).astype(int)
    if np.any(n_cells < 1):
        raise ValueError(f"--scale {scale}: population(s) "
                         f"{[p for p, n in zip(POPULATIONS, n_cells) if n < 1]} would be empty "
                         f"(smallest scale: {0.5 / N_FULL.min():.5f})")
    k_full = full_total_numbers()
    n_synapses = np.round(k_full * scale * k_scale).astype(np.int64)
    tau_syn = CELL["tau_syn_E"]
    w_exc = PSP_EXC * psc_over_psp(CELL["cm"] * 1000.0, CELL["tau_m"], tau_syn)     # pA
    weights = np.empty((8, 8))
    weights[:, 0::2] = w_exc
    weights[:, 1::2] = G * w_exc
    weights[0, 2] = 2.0 * w_exc                  # L4E -> L23E doubled
    w_ext = w_exc
    k_ext = np.round(K_EXT * k_scale).astype(int)
    dc = np.zeros(8)                             # pA
    if background == "dc":
        dc += 0.001 * tau_syn * BG_RATE * K_EXT * w_ext
    if k_scale != 1.0:
        indegree_full = k_full / N_FULL[:, None]
        recurrent = np.sum(weights * indegree_full * FULL_MEAN_RATES, axis=1)
        dc += 0.001 * tau_syn * (1.0 - math.sqrt(k_scale)) * recurrent
        if background == "poisson":
            dc += 0.001 * tau_syn * (1.0 - math.sqrt(k_scale)) * w_ext * K_EXT * BG_RATE
        weights = weights / math.sqrt(k_scale)
        w_ext = w_ext / math.sqrt(k_scale)
    delays = np.empty((8, 8))
    delays[:, 0::2] = DELAY_EXC
    delays[:, 1::2] = DELAY_INH
    return {"n_cells": n_cells, "n_synapses": n_synapses, "weights_nA": weights / 1000.0,
            "w_ext_nA": w_ext / 1000.0, "k_ext": k_ext, "dc_nA": dc / 1000.0,
            "delays": delays}


# ---- the run ----------------------------------------------------------------------------------
def log(message):
    print(f"[microcircuit {time.perf_counter() - T_START:8.1f} s] {message}", file=sys.stderr,
          flush=True)


def build(sim, m, args):
    """Populations, projections and recording on the backend module ``sim`` (set up)."""
    from pyNN.random import NumpyRNG, RandomDistribution
    rng = NumpyRNG(seed=args.seed, parallel_safe=True)
    t = time.perf_counter()
    pops = []
    for name, n, dc in zip(POPULATIONS, m["n_cells"], m["dc_nA"]):
        pop = sim.Population(int(n), sim.IF_curr_exp(i_offset=float(dc), **CELL), label=name)
        pop.initialize(v=RandomDistribution("normal", mu=V0_MEAN, sigma=V0_SD, rng=rng))
        pops.append(pop)
    log(f"populations: {int(m['n_cells'].sum())} cells in {time.perf_counter() - t:.2f} s")

    t = time.perf_counter()
    background = []
    if args.background == "poisson":
        for pop, k in zip(pops, m["k_ext"]):
            if k == 0:
                continue
            source = sim.Population(pop.size, sim.SpikeSourcePoisson(rate=BG_RATE * int(k)),
                                    label=pop.label + "_bg")
            background.append(sim.Projection(
                source, pop, sim.OneToOneConnector(),
                sim.StaticSynapse(weight=float(m["w_ext_nA"]), delay=DELAY_POISSON),
                receptor_type="excitatory"))
        log(f"Poisson background: {len(background)} projections in "
            f"{time.perf_counter() - t:.2f} s")

    recurrent = []
    for i, target in enumerate(pops):
        for j, source in enumerate(pops):
            n = int(m["n_synapses"][i, j])
            if n == 0:
                continue
            t = time.perf_counter()
            w, d = float(m["weights_nA"][i, j]), float(m["delays"][i, j])
            low, high = (0.0, np.inf) if w > 0 else (-np.inf, 0.0)
            synapse = sim.StaticSynapse(
                weight=RandomDistribution("normal_clipped", mu=w, sigma=abs(w) * WEIGHT_REL_SD,
                                          low=low, high=high, rng=rng),
                delay=RandomDistribution("normal_clipped", mu=d, sigma=d * DELAY_REL_SD,
                                         low=DT, high=MAX_DELAY, rng=rng))
            connector = sim.FixedTotalNumberConnector(n, with_replacement=True,
                                                      allow_self_connections=True, rng=rng)
            recurrent.append(sim.Projection(
                source, target, connector, synapse,
                receptor_type="excitatory" if w > 0 else "inhibitory",
                label=f"{source.label}->{target.label}"))
            if args.verbose:
                log(f"  {source.label}->{target.label}: {n} synapses in "
                    f"{time.perf_counter() - t:.2f} s")
    for pop in pops:
        pop.record("spikes")
    return pops, recurrent, background


def use_host_devices(n):
    """Let JAX's CPU platform have ``n`` devices (XLA's virtual devices; before JAX starts),
    unless XLA_FLAGS sets their number already."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={n}".strip()


def run(args):
    info = {}
    t = time.perf_counter()
    if args.simulator == "jax":
        if args.devices > 1:
            use_host_devices(args.devices)
        import jax
        import pyNN.jax as sim
        # NEST's reference model runs the grid iaf_psc_exp: on_grid on both simulators
        extra = {"precision": args.precision, "compilation_cache": args.compile_cache or None,
                 "spike_precision": "on_grid"}
        if args.threads > 0:
            extra["threads"] = args.threads
        if args.devices > 1:
            extra["devices"] = args.devices
        if args.progress > 0:
            extra["progress"] = args.progress
    else:
        import nest
        import pyNN.nest as sim
        info["version"] = f"NEST {nest.__version__}"
        extra = {"threads": max(args.threads, 1), "spike_precision": "on_grid",
                 "verbosity": "error"}
    import_s = time.perf_counter() - t
    log(f"imported pyNN.{args.simulator} in {import_s:.2f} s")

    k_scale = args.scale if args.k_scale is None else args.k_scale
    m = model(args.scale, k_scale, args.background)
    log(f"scale {args.scale}, in-degree scale {k_scale}, background {args.background}: "
        f"{int(m['n_cells'].sum())} cells, {int(m['n_synapses'].sum())} recurrent synapses, "
        f"external in-degrees {m['k_ext'].tolist()}, DC (nA) "
        f"{np.round(m['dc_nA'], 4).tolist()}, excitatory weight {m['weights_nA'][0, 0]:.5f} nA")

    busy0, cpu0, wall0 = cpu_busy_seconds(), time.process_time(), time.perf_counter()
    t = time.perf_counter()
    sim.setup(timestep=DT, min_delay=DT, max_delay=MAX_DELAY, rng_seed=args.seed, **extra)
    pops, recurrent, background = build(sim, m, args)
    build_s = time.perf_counter() - t
    rss_build_mb = peak_rss_mb()
    log(f"build (setup, populations, projections, record): {build_s:.2f} s, "
        f"peak RSS {rss_build_mb:.0f} MB")
    if args.simulator == "jax":
        info["version"] = f"jax {jax.__version__}"
        info["backend"] = jax.default_backend()
    else:
        info["backend"] = "nest"

    t = time.perf_counter()
    n_synapses = int(sum(prj.size() for prj in recurrent))
    count_s = time.perf_counter() - t
    log(f"{n_synapses} recurrent synapses (counted in {count_s:.2f} s)")

    log(f"warm-up run({args.warmup} ms)"
        + (" (tables' assembly and compilation) ..." if args.simulator == "jax" else " ..."))
    t = time.perf_counter()
    sim.run(args.warmup)
    first_run_s = time.perf_counter() - t
    log(f"warm-up run: {first_run_s:.2f} s, peak RSS {peak_rss_mb():.0f} MB; "
        f"timed run({args.time} ms) ...")
    t = time.perf_counter()
    sim.run(args.time)
    run_s = time.perf_counter() - t
    log(f"timed run: {run_s:.2f} s (RTF {run_s / (args.time / 1000.0):.3f})")
    busy1, cpu1, wall1 = cpu_busy_seconds(), time.process_time(), time.perf_counter()

    t = time.perf_counter()
    blocks = [pop.get_data("spikes") for pop in pops]
    get_data_s = time.perf_counter() - t
    log(f"get_data: {get_data_s:.2f} s")

    start = max(args.transient, args.warmup)
    stop = args.warmup + args.time
    rates, spikes = {}, 0
    for pop, block in zip(pops, blocks):
        times = spike_times_ms(block)
        spikes += int(times.size)
        count = int(np.count_nonzero((times > start) & (times <= stop)))
        rates[pop.label] = count / pop.size / ((stop - start) / 1000.0)
    log("rates (Hz) over (%g, %g] ms: %s" % (start, stop, ", ".join(
        f"{k} {v:.2f}" for k, v in rates.items())))

    result = {
        "simulator": args.simulator,
        "backend": info["backend"],
        "version": info["version"],
        "scale": args.scale,
        "k_scale": k_scale,
        "background": args.background,
        "n_cells": int(sum(pop.size for pop in pops)),
        "n_cells_per_population": {pop.label: int(pop.size) for pop in pops},
        "n_synapses": n_synapses,
        # held by this process (several processes: the connections onto its own cells)
        "held_synapses": int(sum(len(prj) for prj in recurrent)),
        "n_synapses_expected": int(m["n_synapses"].sum()),
        "n_background_synapses": int(sum(prj.size() for prj in background)),
        "time_ms": args.time,
        "warmup_ms": args.warmup,
        "rate_window_ms": [start, stop],
        "import_s": import_s,
        "build_s": build_s,
        "first_run_s": first_run_s,
        # the warm-up run minus a warm run of the same length (estimated from run(T))
        "compile_s": max(first_run_s - run_s * args.warmup / args.time, 0.0),
        "run_s": run_s,
        "rtf": run_s / (args.time / 1000.0),
        "get_data_s": get_data_s,
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_after_build_mb": rss_build_mb,
        "rates_hz": rates,
        "spikes": spikes,
        "threads": args.threads,
        "devices": len(jax.devices()) if args.simulator == "jax" else args.devices,
        "processes": sim.num_processes(),
        "seed": args.seed,
        "process_s": time.perf_counter() - T_START,
        "source": git_description(),
    }
    if args.simulator == "jax":
        result["precision"] = args.precision
        if jax.default_backend() != "cpu":
            stats = jax.devices()[0].memory_stats() or {}
            if "peak_bytes_in_use" in stats:
                result["device_peak_mb"] = stats["peak_bytes_in_use"] / 2 ** 20
    if busy0 is not None and busy1 is not None and wall1 > wall0:
        # CPU time of every other process while this one built and ran (cores)
        result["other_load_cores"] = max(
            (busy1 - busy0) - (cpu1 - cpu0), 0.0) / (wall1 - wall0)
    result["max_rss_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    sim.end()
    print(json.dumps(result), flush=True)
    return result


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1,
                        help="population sizes (and, by default, in-degrees) relative to the "
                             "full model (1.0: 77 169 cells, ~3e8 synapses)")
    parser.add_argument("--k-scale", type=float, default=None,
                        help="in-degree scale (default: --scale); < 1 compensated with DC")
    parser.add_argument("--time", type=float, default=1000.0, help="timed run (ms)")
    parser.add_argument("--warmup", type=float, default=10.0,
                        help="first, untimed run before the timed one (ms)")
    parser.add_argument("--transient", type=float, default=100.0,
                        help="biological time (ms from 0) left out of the rates")
    parser.add_argument("--simulator", choices=("jax", "nest"), default="jax")
    parser.add_argument("--threads", type=int, default=1,
                        help="NEST's threads; pyNN.jax: CPUs of JAX's CPU runtime (0: all, "
                             "setup() is not given threads)")
    parser.add_argument("--devices", type=int, default=1,
                        help="pyNN.jax: setup(devices=N), the cells split over N devices; on "
                             "a CPU, N virtual devices (XLA_FLAGS is set unless it gives their "
                             "number) (default: 1)")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--background", choices=("poisson", "dc"), default="poisson")
    parser.add_argument("--precision", choices=("float32", "float64"), default="float32",
                        help="pyNN.jax only")
    parser.add_argument("--compile-cache", default=None,
                        help="pyNN.jax's persistent compilation cache directory (default off)")
    parser.add_argument("--progress", type=float, default=0.0,
                        help="pyNN.jax: a progress line on stderr every this many seconds of "
                             "wall time during the runs (0: none)")
    parser.add_argument("--verbose", action="store_true", help="time every projection")
    args = parser.parse_args(argv)
    if args.scale <= 0 or (args.k_scale is not None and args.k_scale <= 0):
        parser.error("--scale and --k-scale must be positive")
    if args.time <= 0 or args.warmup <= 0:
        parser.error("--time and --warmup must be positive")
    if max(args.transient, args.warmup) >= args.warmup + args.time:
        parser.error("--transient leaves no time for the rates: lower it or raise --time")
    return args


if __name__ == "__main__":
    run(parse_args())
