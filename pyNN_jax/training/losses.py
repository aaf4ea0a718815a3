"""Loss functions and read-outs for classification with spiking output populations.

Each loss takes the output of :meth:`pyNN_jax.training.Trainer.forward` for a batch and
integer class labels (batch,), and returns the mean loss; the matching read-out gives the
predicted class. Non-spiking cells have first spike time inf.
"""
import jax
import jax.numpy as jnp


def first_spike_cross_entropy(times, labels, tau, t_max, alpha=0.0, tau_early=None):
    """Cross-entropy of softmax(-t / tau) over the output cells' first spike times (ms), plus
    ``alpha * (exp(t_label / tau_early) - 1)`` to pull the correct cell's spike early (Goltz
    et al. 2021, eq. 4). Silent cells count as spiking at ``t_max`` (ms)."""
    times = jnp.where(jnp.isfinite(times), times, t_max)
    log_p = jax.nn.log_softmax(-times / tau, axis=-1)
    label_time = jnp.take_along_axis(times, labels[:, None], axis=-1)[:, 0]
    loss = -jnp.take_along_axis(log_p, labels[:, None], axis=-1)[:, 0]
    if alpha:
        loss = loss + alpha * (jnp.exp(label_time / (tau if tau_early is None else tau_early))
                               - 1.0)
    return loss.mean()


def first_spike_class(times):
    """The class of the earliest output spike (ties: the lower index; no spike: class 0)."""
    return jnp.argmin(times, axis=-1)


def spike_count_cross_entropy(recorded, labels):
    """Cross-entropy of softmax over the output cells' spike counts (surrogate method)."""
    counts = recorded["spikes"].sum(axis=-2)
    log_p = jax.nn.log_softmax(counts, axis=-1)
    return -jnp.take_along_axis(log_p, labels[:, None], axis=-1).mean()


def spike_count_class(recorded):
    """The class of the output cell with most spikes (ties: the lower index)."""
    return jnp.argmax(recorded["spikes"].sum(axis=-2), axis=-1)


def max_voltage_cross_entropy(recorded, labels, scale=1.0):
    """Cross-entropy of softmax over the output cells' maximum membrane potential (mV,
    divided by ``scale`` in mV), for non-spiking read-out cells (surrogate method)."""
    log_p = jax.nn.log_softmax(recorded["v"].max(axis=-2) / scale, axis=-1)
    return -jnp.take_along_axis(log_p, labels[:, None], axis=-1).mean()


def max_voltage_class(recorded):
    """The class of the output cell with the highest membrane potential."""
    return jnp.argmax(recorded["v"].max(axis=-2), axis=-1)
