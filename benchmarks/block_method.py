#!/usr/bin/env python
"""Block method (Taylor, King & Harper 2023) against step-by-step simulation.

A recurrent network of IF_curr_exp cells (80 % excitatory, 2 % connectivity, delays 5 ms)
driven by Poisson sources, simulated with ``setup(block_method=False)`` and ``True`` for
several refractory periods: the block method advances blocks of (refractory period + 1 step)
time-parallel, so its sequential depth falls as the refractory period grows. Both runs of a
row simulate the same network with the same seed; the table prints the warm run time per
second of biological time (compilation excluded: a first short run compiles), the block
length, the speed-up and the spike counts of both (float32: a rare spike may move by a step,
since the block sums the membrane recurrence in another order).

Usage::

    python benchmarks/block_method.py [--n 4000] [--time 1000] [--refractory 0.1,0.5,1,2,5]
"""
import argparse
import platform
import time

import jax
import numpy as np

import pyNN.jax as sim

DELAY = 5.0        # ms: at least every refractory period measured, so blocks are not capped


def build(n, refractory, block_method, seed=42):
    sim.setup(timestep=0.1, min_delay=0.1, rng_seed=seed, block_method=block_method,
              spike_precision="on_grid")
    rng = sim.NumpyRNG(seed=seed)
    cells = sim.Population(n, sim.IF_curr_exp(tau_refrac=refractory, tau_m=20.0, cm=0.25,
                                              v_thresh=-50.0, v_reset=-65.0, v_rest=-65.0))
    cells.initialize(v=sim.RandomDistribution("uniform", (-65.0, -50.0), rng=rng))
    noise = sim.Population(n // 10, sim.SpikeSourcePoisson(rate=100.0))
    n_exc = int(0.8 * n)
    sim.Projection(noise, cells, sim.FixedProbabilityConnector(0.05, rng=rng),
                   sim.StaticSynapse(weight=0.04, delay=DELAY))
    sim.Projection(cells[:n_exc], cells, sim.FixedProbabilityConnector(0.02, rng=rng),
                   sim.StaticSynapse(weight=0.01, delay=DELAY))
    sim.Projection(cells[n_exc:], cells, sim.FixedProbabilityConnector(0.02, rng=rng),
                   sim.StaticSynapse(weight=-0.05, delay=DELAY), receptor_type="inhibitory")
    cells.record("spikes")
    return cells


def measure(n, refractory, block_method, bio_ms):
    cells = build(n, refractory, block_method)
    sim.run(100.0)                                    # compiles the chunk
    start = time.perf_counter()
    sim.run(bio_ms)
    elapsed = time.perf_counter() - start
    n_spikes = int(sum(cells.get_spike_counts().values()))
    block_steps = sim.state.network.structure.block_steps
    sim.end()
    return elapsed * 1000.0 / bio_ms, n_spikes, block_steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--time", type=float, default=1000.0, help="biological ms per run")
    parser.add_argument("--refractory", default="0.1,0.5,1,2,5",
                        help="refractory periods (ms), comma-separated")
    args = parser.parse_args()
    print(f"# Block method vs step by step: {args.n} IF_curr_exp cells, delays {DELAY} ms, "
          f"{args.time:g} ms per run, dt 0.1 ms")
    print(f"# {platform.processor() or platform.machine()}, JAX {jax.__version__} on "
          f"{jax.default_backend()}, float32")
    print("| tau_refrac (ms) | block (steps) | step by step (s / bio s) | block method "
          "(s / bio s) | speed-up | spikes step by step | spikes block method |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for refractory in (float(r) for r in args.refractory.split(",")):
        sequential, spikes_sequential, _ = measure(args.n, refractory, False, args.time)
        parallel, spikes_parallel, block_steps = measure(args.n, refractory, True, args.time)
        print(f"| {refractory:g} | {block_steps} | {sequential:.3f} | {parallel:.3f} | "
              f"{sequential / parallel:.2f} | {spikes_sequential} | {spikes_parallel} |",
              flush=True)


if __name__ == "__main__":
    main()
