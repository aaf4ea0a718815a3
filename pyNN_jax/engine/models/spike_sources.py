"""Spike sources: given spike times, and Poisson, dead-time Poisson and gamma processes.

A spike emitted in step k (from t = k dt to (k+1) dt) carries the time stamp (k+1) dt, as in
NEST. Random sources draw from the step's own PRNG key, so a run is reproducible for a seed and
independent of how it is cut into ``run()`` calls.
"""
import numpy as np
import jax.numpy as jnp

from .. import prng
from ..time_grid import to_steps
from .base import NeuronModel


def active_window(xp, p, dt):
    """First step of activity and first step after it, from start and duration (ms)."""
    return to_steps(xp, p["start"], dt), to_steps(xp, p["start"] + p["duration"], dt)


def is_active(d, step):
    return (step >= d["start_step"]) & (step < d["stop_step"])


MAX_EVENTS_PER_STEP = 8


def poisson_tail(xp, expected):
    """P(N > j), j = 0 .. MAX_EVENTS_PER_STEP - 1, of a Poisson count with mean ``expected``
    per cell, as thresholds for 32-bit random integers: shape (MAX_EVENTS_PER_STEP, n), uint32.
    Computed on the host in float64 from the tail (not 1 - CDF), so that low rates keep their
    precision: a rate is resolved to 2**-32 per step whatever the engine's float type."""
    term = xp.exp(-expected)
    tail = [-xp.expm1(-expected)]
    for j in range(1, MAX_EVENTS_PER_STEP):
        term = term * expected / j
        tail.append(xp.maximum(tail[-1] - term, 0.0))
    return xp.minimum(xp.round(xp.stack(tail) * 2.0 ** 32), 2.0 ** 32 - 1).astype(xp.uint32)


def poisson_count(key, tail, first_cell=0):
    """Number of events in a step, by inversion of the Poisson distribution with one 32-bit
    random integer per cell: exact up to MAX_EVENTS_PER_STEP events per step (the chance of
    more is about 1e-6 at a mean of 1 event per step, i.e. 10 kHz at dt = 0.1 ms). The cells
    are entries ``first_cell ...`` of the group's draw (:func:`..prng.bits`)."""
    bits = prng.bits(key, tail.shape[1], first_cell)
    return (bits[None, :] < tail).sum(axis=0).astype(jnp.int32)


class SpikeSourceArray(NeuronModel):
    """Emits given spike times, rounded to the time grid.

    Parameters (as arrays built by :meth:`encode_spike_times`): ``spike_steps`` (n, m) int32, the
    index g = ceil(t/dt) of the step end following each spike time (the spike is emitted in
    the step k*dt < t <= (k+1)*dt, as NEST's precise spike generator does), sorted and unique
    per cell, padded with a large value;
    ``multiplicity`` (n, m) int32, how many of the given times fell on that grid point (they are
    delivered as one event of that multiplicity, as NEST does). A spike at t = 0 is emitted in
    the first step.
    """
    multiple_spikes_per_step = True
    name = "SpikeSourceArray"
    parameter_names = ("spike_steps", "multiplicity")
    state_follows_parameters = True
    state_names = ("next_spike",)
    PAD = np.iinfo(np.int32).max

    @staticmethod
    def emission_grid(times, dt):
        """g = ceil(t/dt) (>= 1): the spike at t is emitted in step g - 1."""
        return np.maximum(np.ceil(np.asarray(times, dtype=float) / dt - 1e-9), 1).astype(np.int64)

    @classmethod
    def encode_spike_times(cls, spike_times, dt):
        """Turn a sequence (one per cell) of spike-time arrays (ms) into the padded arrays."""
        per_cell = []
        for times in spike_times:
            steps = cls.emission_grid(times, dt)
            per_cell.append(np.unique(steps, return_counts=True))
        width = max([len(u) for u, _ in per_cell] + [1])
        width = 1 << int(np.ceil(np.log2(width)))   # fewer shapes, fewer recompilations
        spike_steps = np.full((len(per_cell), width), cls.PAD, dtype=np.int32)
        multiplicity = np.zeros((len(per_cell), width), dtype=np.int32)
        for i, (u, c) in enumerate(per_cell):
            spike_steps[i, :len(u)] = u
            multiplicity[i, :len(u)] = c
        return spike_steps, multiplicity

    def resume_state(self, p, state, current_step):
        """Point each cell at its first spike not yet emitted once ``current_step`` steps have
        run. Spikes in the past
        (e.g. after spike_times was changed between runs) are never emitted, as in NEST."""
        steps = np.asarray(p["spike_steps"])
        state["next_spike"] = (steps <= current_step).sum(axis=1).astype(np.int32)
        return state

    def step(self, p, d, s, syn_in, i_ext, ctx):
        width = p["spike_steps"].shape[1]
        nxt = s["next_spike"]
        idx = jnp.minimum(nxt, width - 1)[:, None]
        due = jnp.take_along_axis(p["spike_steps"], idx, axis=1)[:, 0]
        hit = (nxt < width) & (due <= ctx.step + 1)
        mult = jnp.take_along_axis(p["multiplicity"], idx, axis=1)[:, 0]
        return {"next_spike": nxt + hit}, jnp.where(hit, mult, 0)


class SpikeSourcePoisson(NeuronModel):
    """Poisson process of ``rate`` (Hz) between ``start`` and ``start + duration`` (ms).

    Each step draws the Poisson number of spikes of mean rate*dt (several spikes in one step
    are one event of that multiplicity, as from NEST's poisson_generator), so the rate is exact
    at any rate.
    """
    multiple_spikes_per_step = True
    name = "SpikeSourcePoisson"
    cells_on_last_axis = ("tail",)
    parameter_names = ("rate", "start", "duration")
    state_names = ()

    def derive(self, p, dt, xp):
        start_step, stop_step = active_window(xp, p, dt)
        return {"tail": poisson_tail(xp, p["rate"] * dt / 1000.0),
                "start_step": start_step, "stop_step": stop_step}

    def step(self, p, d, s, syn_in, i_ext, ctx):
        count = poisson_count(ctx.key, d["tail"], ctx.first_cell)
        return {}, jnp.where(is_active(d, ctx.step), count, 0)


class SpikeSourcePoissonRefractory(NeuronModel):
    """Poisson process with a dead time ``tau_refrac`` (ms) after each spike.

    After the dead time the hazard is rate / (1 - rate tau_refrac), so that the mean rate is
    ``rate`` (the same correction as NEST's ``poisson_generator_ps``).
    """
    multiple_spikes_per_step = True
    name = "SpikeSourcePoissonRefractory"
    parameter_names = ("rate", "tau_refrac", "start", "duration")
    state_names = ("refractory",)

    def derive(self, p, dt, xp):
        start_step, stop_step = active_window(xp, p, dt)
        hazard = p["rate"] / xp.maximum(1.0 - p["rate"] * p["tau_refrac"] / 1000.0, 1e-12)
        return {"p_spike": -xp.expm1(-hazard * dt / 1000.0),
                "dead_steps": xp.maximum(to_steps(xp, p["tau_refrac"], dt) - 1, 0),
                "start_step": start_step, "stop_step": stop_step}

    def step(self, p, d, s, syn_in, i_ext, ctx):
        u = prng.uniform(ctx.key, d["p_spike"].shape[0], d["p_spike"].dtype, ctx.first_cell)
        free = s["refractory"] == 0
        hit = is_active(d, ctx.step) & free & (u < d["p_spike"])
        refractory = jnp.where(hit, d["dead_steps"], jnp.maximum(s["refractory"] - 1, 0))
        return {"refractory": refractory}, hit.astype(jnp.int32)


class SpikeSourceGamma(NeuronModel):
    """Gamma process of integer shape ``alpha`` and rate ``beta`` (Hz): every ``alpha``-th event
    of a Poisson process of rate ``beta`` is a spike (mean rate beta/alpha), as NEST's
    ``gamma_sup_generator``. The events of a step are a Poisson count, so rates are exact. The
    phase (events since the last spike) starts uniformly random, so the process is stationary
    from t = 0."""
    multiple_spikes_per_step = True
    name = "SpikeSourceGamma"
    cells_on_last_axis = ("tail",)
    parameter_names = ("alpha", "beta", "start", "duration")
    state_names = ("phase",)
    random_initial_state = True

    def derive(self, p, dt, xp):
        start_step, stop_step = active_window(xp, p, dt)
        return {"tail": poisson_tail(xp, p["beta"] * dt / 1000.0),
                "shape": xp.maximum(xp.round(p["alpha"]), 1).astype(xp.int32),
                "start_step": start_step, "stop_step": stop_step}

    def initial_state(self, p, state, rng):
        shape = np.maximum(np.round(np.asarray(p["alpha"])), 1).astype(np.int64)
        state["phase"] = rng.integers(0, shape).astype(np.int32)
        return state

    def step(self, p, d, s, syn_in, i_ext, ctx):
        events = jnp.where(is_active(d, ctx.step),
                           poisson_count(ctx.key, d["tail"], ctx.first_cell), 0)
        phase = s["phase"] + events
        return {"phase": phase % d["shape"]}, phase // d["shape"]
