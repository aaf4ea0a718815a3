"""pyNN.jax demo: a balanced network of 1000 conductance-based LIF cells driven by Poisson input.

Plain PyNN: change the import to ``pyNN.nest`` and the script runs on NEST. Writes the Neo data
(``demo_output/demo.pkl``) and a figure with a spike raster, the population rate and membrane
potentials (``demo_output/demo.png``).

    python examples/demo.py [--duration 1000] [--n 1000]
"""
import argparse
import time
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import pyNN.jax as sim  # noqa: E402
from pyNN.random import NumpyRNG, RandomDistribution  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--duration", type=float, default=1000.0, help="biological time (ms)")
parser.add_argument("--n", type=int, default=1000, help="number of cells")
parser.add_argument("--output", default="demo_output", help="folder for the results")
args = parser.parse_args()

timer = time.perf_counter()
sim.setup(timestep=0.1, min_delay=0.5, rng_seed=2026)
rng = NumpyRNG(seed=2026)

n_exc = int(args.n * 0.8)
cell_parameters = dict(tau_m=20.0, cm=0.2, v_rest=-60.0, v_thresh=-50.0, v_reset=-60.0,
                       tau_refrac=5.0, tau_syn_E=5.0, tau_syn_I=10.0, e_rev_E=0.0, e_rev_I=-80.0)
exc = sim.Population(n_exc, sim.IF_cond_exp(**cell_parameters), label="excitatory")
inh = sim.Population(args.n - n_exc, sim.IF_cond_exp(**cell_parameters), label="inhibitory")
all_cells = exc + inh
all_cells.initialize(v=RandomDistribution("uniform", (-60.0, -50.0), rng=rng))

drive = sim.Population(200, sim.SpikeSourcePoisson(rate=15.0), label="poisson input")
connect = sim.FixedProbabilityConnector(0.1, rng=rng)
delay = RandomDistribution("uniform", (0.5, 2.0), rng=rng)
sim.Projection(drive, all_cells, connect, sim.StaticSynapse(weight=0.006, delay=1.0),
               receptor_type="excitatory", label="drive")
sim.Projection(exc, all_cells, connect, sim.StaticSynapse(weight=0.004, delay=delay),
               receptor_type="excitatory", label="exc")
sim.Projection(inh, all_cells, connect, sim.StaticSynapse(weight=0.04, delay=delay),
               receptor_type="inhibitory", label="inh")

exc.record("spikes")
inh.record("spikes")
exc[:3].record(["v", "gsyn_exc", "gsyn_inh"])
built = time.perf_counter()

sim.run(args.duration)
ran = time.perf_counter()

exc_data = exc.get_data().segments[0]
inh_data = inh.get_data().segments[0]
output = Path(args.output)
output.mkdir(parents=True, exist_ok=True)
exc.write_data(str(output / "demo.pkl"))     # run as several processes: written by the first
first_process = sim.rank() == 0
sim.end()
if not first_process:       # mpirun -np N / python -m pyNN_jax.launch -n N: one report, one plot
    raise SystemExit

rate_exc = sum(len(st) for st in exc_data.spiketrains) / exc.size / (args.duration / 1000)
rate_inh = sum(len(st) for st in inh_data.spiketrains) / inh.size / (args.duration / 1000)
print(f"{args.n} cells, {args.duration:g} ms: build {built - timer:.2f} s, "
      f"run {ran - built:.2f} s (compilation included)")
print(f"mean rates: excitatory {rate_exc:.1f} Hz, inhibitory {rate_inh:.1f} Hz")

fig, axes = plt.subplots(3, 1, figsize=(9, 8), sharex=True,
                         gridspec_kw={"height_ratios": [3, 1, 2]})
for offset, data, colour in ((0, exc_data, "tab:red"), (n_exc, inh_data, "tab:blue")):
    times = np.concatenate([np.asarray(st) for st in data.spiketrains] + [np.zeros(0)])
    cells = np.concatenate([np.full(len(st), offset + i) for i, st in enumerate(data.spiketrains)]
                           + [np.zeros(0)])
    axes[0].scatter(times, cells, s=1, c=colour, lw=0)
axes[0].set_ylabel("cell")
axes[0].set_title(f"pyNN.jax: {args.n} IF_cond_exp cells, Poisson drive "
                  f"(exc {rate_exc:.1f} Hz, inh {rate_inh:.1f} Hz)")
trains = list(exc_data.spiketrains) + list(inh_data.spiketrains)
all_times = np.concatenate([np.asarray(st) for st in trains] + [np.zeros(0)])
bins = np.arange(0, args.duration + 5, 5.0)
axes[1].plot(bins[:-1], np.histogram(all_times, bins)[0] / args.n / 0.005, c="k", lw=1)
axes[1].set_ylabel("rate (Hz)")
v = exc_data.filter(name="v")[0]
axes[2].plot(v.times, v.magnitude, lw=0.8)
axes[2].set_ylabel("v (mV)")
axes[2].set_xlabel("time (ms)")
fig.tight_layout()
fig.savefig(output / "demo.png", dpi=120)
print(f"wrote {output / 'demo.pkl'} and {output / 'demo.png'}")
