"""Yin-Yang on the mock BrainScaleS-2: training with the chip in the loop.

The network of ``yinyang_training.py`` (5 inputs -> hidden -> 3 outputs, IF_curr_exp,
tau_m = 2 tau_syn) is built with ``import pyNN.jax.hardware as sim``, the mock BrainScaleS-2
(6-bit weights, fixed-pattern variation of every neuron circuit and synapse, membrane noise,
8 ns clock). Three phases:

1. train on the ideal model only (exact first spike times, :class:`pyNN_jax.training.Trainer`);
2. write the weights into the Projections and classify the test set on the mock: the
   chip's non-idealities cost accuracy;
3. train on with the chip in the loop (Goltz et al. 2021; Cramer et al. 2022): every batch
   runs on the mock (forward pass), the loss is taken on the spike times measured there and
   the gradient comes from the ideal model evaluated at the measured times
   (``Trainer.fit(measure=...)``); then classify the test set on the mock again.

    python examples/yinyang_bss2_mock.py [--model-epochs N] [--loop-epochs N] [--hidden N]
"""
import argparse
import os
import time
from functools import partial

import numpy as np
import optax

import pyNN.jax.hardware as sim
from pyNN_jax import training
from pyNN_jax.training.datasets import yin_yang, encode_first_spikes

TAU_SYN = 5.0                  # ms (biological; the chip runs 1000 times faster)
DURATION = 5.0 * TAU_SYN       # ms: the part of a sample's window the loss looks at
WINDOW = 60.0                  # ms between samples played in one run: the cells return to rest
CELL = dict(tau_m=2 * TAU_SYN, tau_syn_E=TAU_SYN, tau_syn_I=TAU_SYN, cm=1.0, v_rest=-65.0,
            v_reset=-65.0, v_thresh=-55.0, tau_refrac=30.0, i_offset=0.0)
# tau_refrac >= DURATION: one spike per cell and sample (the chip reaches at most 32 ms)
T_EARLY, T_LATE, T_BIAS = 0.15 * TAU_SYN, 2.0 * TAU_SYN, 0.9 * TAU_SYN


def loss(times, labels):
    return training.losses.first_spike_cross_entropy(
        times, labels, tau=0.2 * TAU_SYN, t_max=DURATION, alpha=0.005, tau_early=6.4 * TAU_SYN)


def build_network(n_hidden, timestep, rng):
    inputs = sim.Population(5, sim.SpikeSourceArray(), label="input")
    hidden = sim.Population(n_hidden, sim.IF_curr_exp(**CELL), label="hidden")
    output = sim.Population(3, sim.IF_curr_exp(**CELL), label="output")
    projections = []
    for pre, post, mean in ((inputs, hidden, 1.5), (hidden, output, 0.5)):
        weights = rng.normal(mean, 0.8, (pre.size, post.size))
        for receptor, part in (("excitatory", np.maximum(weights, 0.0)),
                               ("inhibitory", np.minimum(weights, 0.0))):
            projections.append(sim.Projection(
                pre, post, sim.AllToAllConnector(),
                sim.StaticSynapse(weight=part, delay=timestep), receptor_type=receptor,
                label=f"{pre.label}->{post.label} {receptor}"))
    return inputs, hidden, output, projections


class MockChip:
    """Plays batches of samples on the mock, one window each, and measures first spikes."""

    def __init__(self, inputs, hidden, output):
        self.inputs, self.populations = inputs, (hidden, output)
        for pop in self.populations:
            pop.record("spikes")

    def first_spikes(self, input_times):
        """First spike times (n_samples, n) of hidden and output cells, relative to each
        sample's window (inf: no spike in the first DURATION ms)."""
        offsets = WINDOW * np.arange(len(input_times))[:, None]
        training.present(self.inputs, (np.asarray(input_times) + offsets).T)
        sim.run(WINDOW * len(input_times))
        measured = []
        for pop in self.populations:
            first = np.full((len(input_times), pop.size), np.inf)
            for train in pop.get_data("spikes", clear=True).segments[-1].spiketrains:
                t = np.asarray(train.magnitude)
                sample = (t // WINDOW).astype(int)
                relative = t - sample * WINDOW
                keep = relative <= DURATION
                j = int(train.annotations["source_index"])
                np.minimum.at(first[:, j], sample[keep], relative[keep])
            measured.append(first)
        sim.reset()
        return measured

    def measure(self, trainer, input_times):
        """``Trainer.fit(measure=...)``: the current weights onto the chip, one batch run."""
        trainer.write_back()
        return [None] + self.first_spikes(input_times)

    def accuracy(self, input_times, labels, batch=100):
        outputs = np.concatenate([self.first_spikes(input_times[i:i + batch])[1]
                                  for i in range(0, len(input_times), batch)])
        return float(np.mean(training.losses.first_spike_class(outputs) == labels))


def plot(results, history, path):
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    names = list(results)
    left.bar(range(len(names)), [100 * results[n] for n in names],
             color=["0.6", "tab:red", "tab:green", "0.3"])
    left.set_xticks(range(len(names)), [n.replace(", ", "\n") for n in names], fontsize=8)
    left.set(ylabel="test accuracy (%)", ylim=(0, 100), title="Yin-Yang, mock BrainScaleS-2")
    right.plot(range(len(history["mock"])), 100 * np.array(history["mock"]), "o-")
    right.set(xlabel="in-the-loop epoch", ylabel="test accuracy on the mock (%)",
              title="training with the mock in the loop")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-epochs", type=int, default=60)
    parser.add_argument("--loop-epochs", type=int, default=5)
    parser.add_argument("--loop-samples", type=int, default=2000,
                        help="training samples per in-the-loop epoch")
    parser.add_argument("--hidden", type=int, default=60)
    parser.add_argument("--test-samples", type=int, default=500)
    parser.add_argument("--timestep", type=float, default=0.05, help="mock time step (ms)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", default="yinyang_output")
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)
    started = time.perf_counter()
    encode = partial(encode_first_spikes, t_early=T_EARLY, t_late=T_LATE, t_bias=T_BIAS)
    train_points, train_labels = yin_yang(5000, seed=args.seed)
    test_points, test_labels = yin_yang(args.test_samples, seed=args.seed + 2000)
    train_times, test_times = encode(train_points), encode(test_points)

    sim.setup(timestep=args.timestep, seed=args.seed)
    inputs, hidden, output, projections = build_network(
        args.hidden, args.timestep, np.random.default_rng(args.seed))
    chip = MockChip(inputs, hidden, output)
    trainer = training.Trainer(projections, output, duration=DURATION, method="exact",
                               loss=loss)
    batch = 32
    steps = args.model_epochs * (len(train_times) // batch)
    trainer.fit(train_times, train_labels, epochs=args.model_epochs, batch_size=batch,
                optimizer=optax.adam(optax.cosine_decay_schedule(0.005, steps, alpha=0.02)),
                seed=args.seed, bump=0.0005)
    results = {"model": trainer.accuracy(test_times, test_labels)}
    trainer.write_back()
    results["mock, model-trained"] = chip.accuracy(test_times, test_labels)
    print(f"ideal model {results['model']:.3f}, the same weights on the mock "
          f"{results['mock, model-trained']:.3f} ({time.perf_counter() - started:.0f} s)",
          flush=True)

    history = {"loss": [], "mock": [results["mock, model-trained"]]}

    def report(epoch, trainer, mean_loss):
        trainer.write_back()
        history["loss"].append(mean_loss)
        history["mock"].append(chip.accuracy(test_times, test_labels))
        print(f"in-the-loop epoch {epoch + 1}: loss {mean_loss:.3f}, mock test accuracy "
              f"{history['mock'][-1]:.3f} ({time.perf_counter() - started:.0f} s)", flush=True)

    subset = np.random.default_rng(args.seed).permutation(len(train_times))[:args.loop_samples]
    trainer.fit(train_times[subset], train_labels[subset], epochs=args.loop_epochs,
                batch_size=batch, optimizer=optax.adam(0.001), seed=args.seed + 1,
                measure=chip.measure, callback=report)
    results["mock, in the loop"] = history["mock"][-1]
    results["model, after the loop"] = trainer.accuracy(test_times, test_labels)
    print(f"after {args.loop_epochs} in-the-loop epochs: mock "
          f"{results['mock, in the loop']:.3f}, ideal model "
          f"{results['model, after the loop']:.3f} ({time.perf_counter() - started:.0f} s)")
    plot(results, history, os.path.join(args.output, "yinyang_bss2_mock.png"))
    print(sim.get_placement())
    sim.end()


if __name__ == "__main__":
    main()
