"""Train a spiking network written with the PyNN API on the Yin-Yang data set.

The network (5 input spike times -> 120 IF_curr_exp hidden cells -> 3 IF_curr_exp output
cells) is built with ``import pyNN.jax as sim``. :class:`pyNN_jax.training.Trainer` trains its
weights on exact first spike times (tau_m = 2 tau_syn, Goltz et al. 2021) with Adam; the
parameters of the epoch with the best validation accuracy are kept, written back into the
Projections, and the same PyNN network then classifies test samples on pyNN.jax's time-stepped
engine, and is exported to NIR. Figures and the NIR file go to ``yinyang_output/``.

    python examples/yinyang_training.py [--epochs N] [--hidden N] [--engine-samples N]
"""
import argparse
import os
import time
from functools import partial

import numpy as np
import optax

import pyNN.jax as sim
from pyNN_jax import training
from pyNN_jax.training.datasets import yin_yang, encode_first_spikes

TAU_SYN = 5.0                 # ms; tau_m = 2 tau_syn for the exact first spike times
CELL = dict(tau_m=2 * TAU_SYN, tau_syn_E=TAU_SYN, tau_syn_I=TAU_SYN, cm=1.0, v_rest=-65.0,
            v_reset=-65.0, v_thresh=-55.0, tau_refrac=100.0, i_offset=0.0)
T_EARLY, T_LATE, T_BIAS = 0.15 * TAU_SYN, 2.0 * TAU_SYN, 0.9 * TAU_SYN    # ms
DURATION = 5.0 * TAU_SYN      # ms: presentation of one sample
CLASS_NAMES = ("yin", "yang", "dot")


def signed_projections(pre, post, weights, delay, label):
    """An excitatory and an inhibitory all-to-all Projection that together carry the signed
    weight matrix ``weights`` (nA): PyNN keeps the sign of a projection fixed."""
    exc = sim.Projection(pre, post, sim.AllToAllConnector(),
                         sim.StaticSynapse(weight=np.maximum(weights, 0.0), delay=delay),
                         receptor_type="excitatory", label=label + " exc")
    inh = sim.Projection(pre, post, sim.AllToAllConnector(),
                         sim.StaticSynapse(weight=np.minimum(weights, 0.0), delay=delay),
                         receptor_type="inhibitory", label=label + " inh")
    return [exc, inh]


def build_network(n_hidden, timestep, rng):
    """Input, hidden and output Populations and the four Projections between them (initial
    weights in nA as Goltz et al. 2021, in units of theta cm / tau_m = 1 nA)."""
    inputs = sim.Population(5, sim.SpikeSourceArray(), label="input")
    hidden = sim.Population(n_hidden, sim.IF_curr_exp(**CELL), label="hidden")
    output = sim.Population(3, sim.IF_curr_exp(**CELL), label="output")
    projections = (
        signed_projections(inputs, hidden, rng.normal(1.5, 0.8, (5, n_hidden)), timestep,
                           "input->hidden")
        + signed_projections(hidden, output, rng.normal(0.5, 0.8, (n_hidden, 3)), timestep,
                             "hidden->output"))
    return inputs, hidden, output, projections


def loss(times, labels):
    """Cross-entropy of the first spike times at temperature 0.2 tau_syn, with a term that
    pulls the correct spike early (Goltz et al. 2021)."""
    return training.losses.first_spike_cross_entropy(
        times, labels, tau=0.2 * TAU_SYN, t_max=DURATION, alpha=0.005, tau_early=6.4 * TAU_SYN)


def plot(history, test_points, test_labels, predicted, model_times, engine_times, path):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    epochs = np.arange(1, len(history["loss"]) + 1)
    axes[0].plot(epochs, history["loss"], color="k")
    axes[0].set(xlabel="epoch", ylabel="training loss", title="training")
    twin = axes[0].twinx()
    twin.plot(epochs, 100 * np.array(history["validation"]), color="tab:blue")
    twin.set_ylabel("validation accuracy (%)", color="tab:blue")
    colours = np.array(["tab:orange", "tab:blue", "tab:green"])
    wrong = predicted != test_labels
    axes[1].scatter(*test_points[~wrong].T, c=colours[predicted[~wrong]], s=8)
    axes[1].scatter(*test_points[wrong].T, c="k", marker="x", s=20, label="misclassified")
    axes[1].set(aspect="equal", xlabel="x", ylabel="y",
                title=f"test set, predicted class ({100 * np.mean(~wrong):.1f} % correct)")
    axes[1].legend(loc="upper right", fontsize=8)
    spiking = np.isfinite(model_times) & np.isfinite(engine_times)
    axes[2].plot(model_times[spiking], engine_times[spiking] - model_times[spiking], ".",
                 ms=3)
    axes[2].set(xlabel="exact first spike time (ms)",
                ylabel="engine - exact (ms)",
                title="output spikes: PyNN network on the engine")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=120)
    parser.add_argument("--hidden", type=int, default=120)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.005)
    parser.add_argument("--engine-samples", type=int, default=200,
                        help="test samples classified again by sim.run() on the engine")
    parser.add_argument("--timestep", type=float, default=0.01, help="engine time step (ms)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", default="yinyang_output")
    args = parser.parse_args()
    os.makedirs(args.output, exist_ok=True)
    started = time.perf_counter()

    encode = partial(encode_first_spikes, t_early=T_EARLY, t_late=T_LATE, t_bias=T_BIAS)
    train_points, train_labels = yin_yang(5000, seed=args.seed)
    validation_points, validation_labels = yin_yang(1000, seed=args.seed + 1000)
    test_points, test_labels = yin_yang(1000, seed=args.seed + 2000)
    train_times, validation_times, test_times = map(
        encode, (train_points, validation_points, test_points))

    sim.setup(timestep=args.timestep, min_delay=args.timestep)
    inputs, hidden, output, projections = build_network(
        args.hidden, args.timestep, np.random.default_rng(args.seed))
    trainer = training.Trainer(projections, output, duration=DURATION, method="exact",
                               loss=loss)
    steps = args.epochs * (len(train_times) // args.batch_size)
    optimizer = optax.adam(optax.cosine_decay_schedule(args.learning_rate, steps, alpha=0.02))
    history = {"loss": [], "validation": []}
    best = {"accuracy": -1.0}

    def report(epoch, trainer, mean_loss):
        accuracy = trainer.accuracy(validation_times, validation_labels)
        history["loss"].append(mean_loss)
        history["validation"].append(accuracy)
        if accuracy > best["accuracy"]:
            best.update(accuracy=accuracy, epoch=epoch + 1, params=trainer.params)
        print(f"epoch {epoch + 1:3d}  loss {mean_loss:.4f}  validation accuracy "
              f"{accuracy:.3f}  ({time.perf_counter() - started:.0f} s)", flush=True)

    trainer.fit(train_times, train_labels, epochs=args.epochs, batch_size=args.batch_size,
                optimizer=optimizer, seed=args.seed, bump=0.0005, callback=report)
    trainer.params = best["params"]
    training_time = time.perf_counter() - started
    predicted = trainer.predict(test_times)
    test_accuracy = float(np.mean(predicted == test_labels))
    print(f"kept epoch {best['epoch']} (validation {best['accuracy']:.3f}): test accuracy "
          f"{test_accuracy:.3f}; data, compilation and training took {training_time:.0f} s")

    # the trained weights into the PyNN Projections; the same network on the engine
    trainer.write_back()
    n = min(args.engine_samples, len(test_times))
    started_engine = time.perf_counter()
    engine_times, _ = training.run_samples(sim, inputs, output, test_times[:n], DURATION)
    model_times = np.asarray(trainer.forward(trainer.params, test_times[:n]))
    engine_classes = training.losses.first_spike_class(engine_times)
    agree = np.mean(engine_classes == predicted[:n])
    spiking = np.isfinite(model_times) & np.isfinite(engine_times)
    deviation = np.abs(engine_times[spiking] - model_times[spiking])
    print(f"engine (dt = {args.timestep} ms), {n} test samples in "
          f"{time.perf_counter() - started_engine:.0f} s: accuracy "
          f"{np.mean(engine_classes == test_labels[:n]):.3f}, same class as the exact model "
          f"for {100 * agree:.1f} %; output spike times differ by at most "
          f"{deviation.max():.3f} ms (median {np.median(deviation):.3f} ms)")

    from pyNN_jax.nir import to_nir
    import nir
    nir_path = os.path.join(args.output, "yinyang.nir")
    nir.write(nir_path, to_nir(drop_refractory=True))
    print(f"NIR graph written to {nir_path}")
    plot(history, test_points, test_labels, predicted, model_times, engine_times,
         os.path.join(args.output, "yinyang_training.png"))
    sim.end()


if __name__ == "__main__":
    main()
