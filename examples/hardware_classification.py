"""A small spiking classifier on the mock BrainScaleS-2 (pyNN.jax.hardware).

Three classes of input patterns: 30 input channels (SpikeSourceArray) fire Poisson spikes, at
25 Hz on the 10 channels of the sample's class and at 10 Hz elsewhere. Three output neurons
(IF_curr_exp) read the inputs through a nearest-centroid readout: the weight from channel i to
output k is proportional to how much channel i fires more (excitatory) or less (inhibitory)
for class k than on average. A sample is classified by the output that spikes most during its
100 ms presentation.

The same script runs the network on the ideal mock (every non-ideality off) and on the
default mock (6-bit weights, fixed-pattern variation, trial noise, 8 ns clock), prints the
placement and both accuracies, and plots the spikes of the default run to a PNG.

Usage: python hardware_classification.py [output directory] [--seed N]
"""
import argparse
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt                     # noqa: E402
import numpy as np                                  # noqa: E402

import pyNN.jax.hardware as sim                     # noqa: E402

N_CLASSES, N_CHANNELS, CHANNELS_PER_CLASS = 3, 30, 10
SAMPLES_PER_CLASS, PRESENTATION = 10, 100.0         # ms
RATE_ON, RATE_OFF = 25.0, 10.0                      # Hz
WEIGHT = 1.5                                        # nA for a full-strength synapse


def make_samples(rng):
    """Class label of each presentation and the spike times of each input channel (ms)."""
    labels = rng.permutation(np.repeat(np.arange(N_CLASSES), SAMPLES_PER_CLASS))
    rates = np.full((N_CLASSES, N_CHANNELS), RATE_OFF)
    for k in range(N_CLASSES):
        rates[k, k * CHANNELS_PER_CLASS:(k + 1) * CHANNELS_PER_CLASS] = RATE_ON
    times = [[] for _ in range(N_CHANNELS)]
    for sample, label in enumerate(labels):
        start = sample * PRESENTATION
        for channel in range(N_CHANNELS):
            n = rng.poisson(rates[label, channel] * PRESENTATION / 1000.0)
            times[channel].extend(np.sort(start + 1.0 + rng.uniform(0, PRESENTATION - 2.0, n)))
    return labels, rates, [np.round(t, 1) for t in times]


def readout_weights(rates):
    """Nearest-centroid readout: (channel, output) weights in nA, negative ones inhibitory
    (PyNN gives current-based inhibitory weights negative)."""
    centred = rates - rates.mean(axis=0)
    return WEIGHT * (centred / np.abs(centred).max()).T


def run(labels, input_times, weights, seed, non_idealities):
    """Build and run the network; returns (predictions, input trains, output trains, placement)."""
    sim.setup(timestep=0.1, seed=seed, non_idealities=non_idealities)
    inputs = sim.Population(N_CHANNELS, sim.SpikeSourceArray(spike_times=input_times),
                            label="input")
    outputs = sim.Population(N_CLASSES, sim.IF_curr_exp(tau_m=10.0, tau_syn_E=5.0,
                                                        tau_syn_I=5.0, tau_refrac=2.0),
                             label="output")
    pairs = [(i, k) for i in range(N_CHANNELS) for k in range(N_CLASSES)]
    for name, sign in (("excitatory", 1), ("inhibitory", -1)):
        chosen = [(i, k, weights[i, k]) for i, k in pairs if sign * weights[i, k] > 0]
        sim.Projection(inputs, outputs, sim.FromListConnector(chosen, column_names=["weight"]),
                       sim.StaticSynapse(), receptor_type=name, label=f"input->output {name}")
    inputs.record("spikes")
    outputs.record("spikes")
    placement = sim.get_placement()
    sim.run(len(labels) * PRESENTATION)
    output_trains = outputs.get_data("spikes").segments[0].spiketrains
    input_trains = inputs.get_data("spikes").segments[0].spiketrains
    counts = np.array([np.histogram(np.asarray(train.magnitude), len(labels),
                                    (0.0, len(labels) * PRESENTATION))[0]
                       for train in output_trains])                # (outputs, samples)
    predictions = np.where(counts.max(axis=0) > 0, counts.argmax(axis=0), -1)
    sim.end()
    return predictions, input_trains, output_trains, placement


def plot(path, labels, input_trains, output_trains, accuracy):
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
    for channel, train in enumerate(input_trains):
        top.plot(train.magnitude, np.full(len(train), channel), "|", color="0.3", ms=3)
    colours = plt.cm.tab10(np.arange(N_CLASSES))
    for sample, label in enumerate(labels):
        for axis in (top, bottom):
            axis.axvspan(sample * PRESENTATION, (sample + 1) * PRESENTATION,
                         color=colours[label], alpha=0.12, lw=0)
    for k, train in enumerate(output_trains):
        bottom.plot(train.magnitude, np.full(len(train), k), "|", color=colours[k], ms=10)
    top.set_ylabel("input channel")
    bottom.set_ylabel("output neuron")
    bottom.set_yticks(range(N_CLASSES))
    bottom.set_xlabel("time (biological ms; hardware us)")
    top.set_title(f"Mock BrainScaleS-2: background colour = true class, accuracy "
                  f"{100 * accuracy:.0f} %")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="hardware_output")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)
    labels, rates, input_times = make_samples(np.random.default_rng(args.seed))
    weights = readout_weights(rates)
    accuracies = {}
    for name, non_idealities in (("ideal", False), ("mock", None)):
        predictions, input_trains, output_trains, placement = run(
            labels, input_times, weights, args.seed, non_idealities)
        accuracies[name] = float(np.mean(predictions == labels))
    print(placement)
    for name, accuracy in accuracies.items():
        print(f"{name} accuracy: {accuracy:.3f} (chance {1 / N_CLASSES:.3f})")
    path = os.path.join(args.output, "hardware_classification.png")
    plot(path, labels, input_trains, output_trains, accuracies["mock"])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
