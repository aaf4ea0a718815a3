"""Sweep the excitatory and inhibitory weights of the Vogels-Abbott network on a grid, all sets
in one compiled call (pyNN_jax.sweeps.run_sweep), and map the firing rate and the irregularity
(coefficient of variation of the inter-spike intervals) of the excitatory cells.

The network is the COBA benchmark of PyNN's ``examples/VAbenchmarks.py`` (Brette et al. 2007;
Vogels & Abbott 2005): 80 % excitatory IF_cond_exp cells, each receiving 2 % of 4000 = 80
connections on average (the connection probability is 80 / n for n cells), delays 0.2 ms,
a Poisson stimulus of 20 sources at 100 Hz during the first 50 ms starts the activity. The
reference weights are 4 nS (excitatory) and 51 nS (inhibitory). Writes
``va_sweep_output/va_sweep.png`` and the maps as ``va_sweep_output/va_sweep.npz``.

    python examples/va_sweep.py [--n 1000] [--duration 1000] [--grid 10]
"""
import argparse
import time
from pathlib import Path

import numpy as np

import pyNN.jax as sim
from pyNN.random import NumpyRNG, RandomDistribution
from pyNN_jax.sweeps import run_sweep

CELL_PARAMETERS = dict(tau_m=20.0, cm=0.2, v_rest=-60.0, v_thresh=-50.0, v_reset=-60.0,
                       tau_refrac=5.0, tau_syn_E=5.0, tau_syn_I=10.0, e_rev_E=0.0,
                       e_rev_I=-80.0)
CONNECTIONS_PER_CELL = 80      # 2 % of 4000: kept for smaller networks (p = 80 / n)
DELAY = 0.2                     # ms
G_EXC, G_INH = 4.0, 51.0        # nS, the reference weights of the benchmark


def build_network(n_cells, seed=98765):
    """The COBA network of ``n_cells`` on the current simulator; returns the excitatory and
    inhibitory Populations and their outgoing Projections. Spikes of all cells are recorded."""
    rng = NumpyRNG(seed=seed)
    p_connect = min(CONNECTIONS_PER_CELL / n_cells, 1.0)
    n_exc = int(round(n_cells * 0.8))
    exc = sim.Population(n_exc, sim.IF_cond_exp(**CELL_PARAMETERS), label="excitatory")
    inh = sim.Population(n_cells - n_exc, sim.IF_cond_exp(**CELL_PARAMETERS),
                         label="inhibitory")
    uniform = RandomDistribution("uniform", low=-60.0, high=-50.0, rng=rng)
    exc.initialize(v=uniform)
    inh.initialize(v=uniform)
    stimulus = sim.Population(20, sim.SpikeSourcePoisson(rate=100.0, duration=50.0),
                              label="stimulus")

    def connector(p, k):      # one rng per projection: independent connectivity
        return sim.FixedProbabilityConnector(p, rng=NumpyRNG(seed=seed + 1 + k))
    exc_synapse = sim.StaticSynapse(weight=G_EXC * 1e-3, delay=DELAY)       # uS
    inh_synapse = sim.StaticSynapse(weight=G_INH * 1e-3, delay=DELAY)
    excitatory = [sim.Projection(exc, post, connector(p_connect, k), exc_synapse,
                                 receptor_type="excitatory")
                  for k, post in enumerate((exc, inh))]
    inhibitory = [sim.Projection(inh, post, connector(p_connect, 2 + k),
                                 inh_synapse, receptor_type="inhibitory")
                  for k, post in enumerate((exc, inh))]
    sim.Projection(stimulus, exc, connector(0.01, 4),
                   sim.StaticSynapse(weight=0.1, delay=DELAY), receptor_type="excitatory")
    exc.record("spikes")
    inh.record("spikes")
    return exc, inh, excitatory, inhibitory


def weight_grid(g_exc, g_inh):
    """Every (excitatory, inhibitory) pair of the grid, flattened: the sweep's parameters."""
    exc_weights, inh_weights = np.meshgrid(g_exc, g_inh, indexing="ij")
    return exc_weights.ravel() * 1e-3, inh_weights.ravel() * 1e-3          # nS -> uS


def rate_and_cv(block, t_start=0.0):
    """Mean firing rate (Hz) of all cells and mean CV of the inter-spike intervals of the cells
    with at least 3 spikes (NaN if none), from the spikes after ``t_start`` (ms)."""
    trains = block.segments[0].spiketrains
    duration = float(trains[0].t_stop) - t_start
    counts, cvs = [], []
    for train in trains:
        times = train.magnitude[train.magnitude > t_start]
        counts.append(times.size)
        if times.size >= 3:
            intervals = np.diff(times)
            cvs.append(intervals.std() / intervals.mean())
    rate = np.sum(counts) / len(trains) / duration * 1000.0
    return rate, (np.mean(cvs) if cvs else np.nan)


def plot_maps(g_exc, g_inh, rate, cv, title, path):
    """Rate and CV maps over the weight grid (rows: excitatory, columns: inhibitory weight);
    silent sets (no CV) are left white."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    half_exc, half_inh = np.diff(g_exc[:2]).sum() / 2, np.diff(g_inh[:2]).sum() / 2
    extent = [g_inh[0] - half_inh, g_inh[-1] + half_inh, g_exc[0] - half_exc,
              g_exc[-1] + half_exc]                  # pixel centres on the grid points
    for ax, values, name, colour_map in ((axes[0], rate, "rate (Hz)", "viridis"),
                                         (axes[1], cv, "CV of ISIs", "magma")):
        image = ax.imshow(values, origin="lower", aspect="auto", extent=extent,
                          cmap=colour_map, interpolation="nearest")
        ax.plot(G_INH, G_EXC, "w+", markersize=12, markeredgewidth=2)
        ax.set_xlabel("inhibitory weight (nS)")
        ax.set_ylabel("excitatory weight (nS)")
        ax.set_title(f"excitatory cells: {name}")
        figure.colorbar(image, ax=ax)
    figure.suptitle(f"{title} (+: the benchmark's weights)")
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of cells")
    parser.add_argument("--duration", type=float, default=1000.0, help="ms per set")
    parser.add_argument("--grid", type=int, default=10, help="points per weight axis")
    parser.add_argument("--output", default="va_sweep_output", help="folder for the results")
    args = parser.parse_args()
    if args.grid < 2:
        parser.error("--grid must be at least 2")

    sim.setup(timestep=0.1, min_delay=DELAY, rng_seed=2026, spike_precision="on_grid")
    exc, inh, excitatory, inhibitory = build_network(args.n)
    g_exc = np.linspace(1.0, 10.0, args.grid)           # nS
    g_inh = np.linspace(10.0, 100.0, args.grid)         # nS
    w_exc, w_inh = weight_grid(g_exc, g_inh)
    parameters = {**{(prj, "weight"): w_exc for prj in excitatory},
                  **{(prj, "weight"): w_inh for prj in inhibitory}}
    timer = time.perf_counter()
    results = run_sweep(args.duration, parameters)
    elapsed = time.perf_counter() - timer
    print(f"{len(results)} sets of {args.n} cells x {args.duration:g} ms in one call: "
          f"{elapsed:.1f} s (including compilation)")

    # the activity in the first 100 ms follows the stimulus: measure after it
    rate, cv = np.array([rate_and_cv(result[exc], t_start=100.0) for result in results]).T
    rate, cv = rate.reshape(args.grid, args.grid), cv.reshape(args.grid, args.grid)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    np.savez(output / "va_sweep.npz", g_exc=g_exc, g_inh=g_inh, rate=rate, cv=cv)

    plot_maps(g_exc, g_inh, rate, cv, f"Vogels-Abbott COBA, {args.n} cells, "
              f"{args.duration:g} ms, {len(results)} sets in one call", output / "va_sweep.png")
    print(f"wrote {output / 'va_sweep.png'}")


if __name__ == "__main__":
    main()
