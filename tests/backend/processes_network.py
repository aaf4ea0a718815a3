"""The network of test_processes: run as one process, or as several (pyNN_jax.launch, mpirun).

A recurrent conductance-based network driven by Poisson sources, with static and STDP
projections, run (with progress lines: the run in pieces), changed with set(), run again,
reset and run. Each process writes what it
saw to ``<folder>/result.<rank>.pkl``, and the recorded data with write_data (gathered, and
per process)."""
import pickle
import sys
from pathlib import Path

import numpy as np
import pyNN.jax as sim
from pyNN import errors
from pyNN.random import NumpyRNG, RandomDistribution
from pyNN_jax.sweeps import run_sweep

folder = Path(sys.argv[1])
try:
    sim.setup(timestep=0.1, devices=1)
    devices_error = None
except errors.InvalidParameterValueError as error:
    devices_error = str(error)
sim.setup(timestep=0.1, min_delay=0.5, rng_seed=7, precision="float64", chunk_steps=10)
rng = NumpyRNG(seed=11)
exc = sim.Population(61, sim.IF_cond_exp(tau_m=15.0), label="exc")
inh = sim.Population(15, sim.IF_cond_exp(), label="inh")
# 1200 sources: a process's block of 5 steps has >= 1024 entries, so that its spikes cross as
# lists (engine.network.exchange), the per-step exchange of the STDP table whole
noise = sim.Population(1200, sim.SpikeSourcePoisson(rate=80.0), label="noise")
exc.initialize(v=RandomDistribution("uniform", (-65, -55), rng=rng))
weight = RandomDistribution("uniform", (0.004, 0.012), rng=rng)
drive = sim.StaticSynapse(weight=weight, delay=0.5)
sim.Projection(noise, exc, sim.FixedProbabilityConnector(0.01, rng=rng), drive)
sim.Projection(noise, inh, sim.FixedProbabilityConnector(0.01, rng=rng), drive)
sim.Projection(exc, inh, sim.FixedProbabilityConnector(0.2, rng=rng),
               sim.StaticSynapse(weight=0.01, delay=1.0))
sim.Projection(inh, exc, sim.FixedProbabilityConnector(0.2, rng=rng),
               sim.StaticSynapse(weight=0.03, delay=0.7), receptor_type="inhibitory")
stdp = sim.STDPMechanism(
    timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.01,
                                        A_minus=0.012),
    weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=0.02),
    weight=0.01, delay=1.0)
recurrent = sim.Projection(exc, exc, sim.FixedProbabilityConnector(0.1, rng=rng), stdp)
exc.record(["spikes", "v"])
inh.record("spikes")

sim.run(80.0, progress=0.02)     # pieces of the run after each process's wall time
learned = recurrent.get("weight", format="list", with_address=False)
exc.set(tau_m=12.0)
sim.run(40.0)
first = exc.get_data()
inh.write_data(str(folder / "inh.pkl"), gather=False)
sim.reset()
sim.run(60.0)
gathered = exc.get_data(gather=True)
exc.write_data(str(folder / "exc.pkl"))


def spikes(block):
    return [[np.asarray(train).tolist() for train in segment.spiketrains]
            for segment in block.segments]


sim.reset()
try:
    run_sweep(10.0, {(exc, "tau_m"): [10.0, 20.0]})
    sweep_error = None
except NotImplementedError as error:
    sweep_error = str(error)

result = {
    "sweep_error": sweep_error,
    "rank": sim.rank(), "num_processes": sim.num_processes(), "devices_error": devices_error,
    "spikes": spikes(first) + spikes(gathered)[1:],
    "v": [np.asarray(segment.filter(name="v")[0]) for segment in gathered.segments],
    "learned": learned,
    "weights": recurrent.get("weight", format="list", with_address=False),
    "size": recurrent.size(),
    "local_size": len(recurrent),      # the connections this process holds
    "local_weights": len(recurrent.get("weight", format="list", gather=False)),
    "tau_m": exc.get("tau_m", gather=True),
    "count": sum(exc.get_spike_counts().values()),
}
with open(folder / f"result.{sim.rank()}.pkl", "wb") as f:
    pickle.dump(result, f)
sim.end()
