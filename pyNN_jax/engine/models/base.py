"""The interface every engine neuron model implements.

A model is a stateless object: parameters and state live in dicts of arrays (one entry per
cell of a group), so that a whole group of cells of one model advances in one vectorised call.

Conventions (the PyNN units): time ms, voltage mV, current nA, conductance uS, capacitance nF.
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax


def materialised(x, step):
    """``x``, computed once into a buffer of its own. XLA on CPU has no multi-output fusion:
    it fuses the computation of an array into every consumer and so recomputes, e.g., the
    whole membrane update in the fusions that write v, the refractory counter, the spike
    counts and the recorded spike bits. The output of a conditional is a buffer; the
    predicate (``step`` >= 0) always holds, the other branch is never taken. Other backends
    fuse with several outputs (and XLA on GPU reads a conditional's predicate on the host):
    there ``x`` is returned as it is."""
    if jax.default_backend() != "cpu":
        return x
    return lax.cond(step >= 0, lambda a: a, jnp.zeros_like, x)


class StepContext(NamedTuple):
    """What a model's ``step`` needs besides its own arrays.

    ``step`` is the index k of the step being taken, from t = k*dt to t = (k+1)*dt;
    ``key`` is a PRNG key unique to this step and group; ``events``: the input events with
    their offsets of the models that receive them (:mod:`.precise`), else None;
    ``first_cell``: the index in its group's draws of the first cell the step advances (0,
    or where a device's share of a group split over several starts, :mod:`..sharding`, or
    where the group's cells start in the draws of the group they would form in one process,
    ``GroupSpec.draw_offset``). Random numbers are drawn per cell as entries ``first_cell
    ...`` of one draw for the group (:func:`..prng.uniform`, :func:`..prng.bits`), so they do
    not depend on the split.
    """
    step: jnp.ndarray
    dt: float
    key: jnp.ndarray
    events: tuple = None
    first_cell: object = 0


class NeuronModel:
    """Base class of the engine's neuron and spike-source models.

    Subclasses set

    - ``name``: unique engine name (the jit cache key uses it),
    - ``parameter_names``: per-cell parameters, in PyNN units,
    - ``state_names``: per-cell state variables (recordable names among them),
    - ``port_names``: synaptic input ports, in the order of the delivery buffer,

    and implement ``derive`` (per-cell constants such as propagators, computed once per
    chunk from parameters and dt) and ``step`` (advance one dt).
    """
    name = "abstract"
    parameter_names = ()
    state_names = ()
    port_names = ()
    integer_state_names = ("refractory", "next_spike", "phase")   # counters, not reals
    random_initial_state = False     # True if initial_state() draws random numbers
    state_follows_parameters = False  # True if resume_state() reads parameter values
    multiple_spikes_per_step = False  # True if step() may return counts above one
    # True if step() and step_block() use parameters and derived constants only elementwise
    # (no shapes, no indexing): those equal in every cell of a group then come as scalars
    # (:func:`..network.compact_group_values`)
    scalar_parameters = False
    # parameters and derived constants whose last axis, not the first, is the cells' (split
    # over devices along it, :mod:`..sharding`)
    cells_on_last_axis = ()

    @property
    def n_ports(self):
        return len(self.port_names)

    def derive(self, p, dt, xp):
        """Return a dict of per-cell constants from parameters ``p`` (``xp`` is numpy or
        jax.numpy, so the same code serves host-side checks and the jitted step)."""
        return {}

    def initial_state(self, p, state, rng):
        """Fill state that the user does not initialise (host side, numpy ``rng``)."""
        return state

    def resume_state(self, p, state, current_step):
        """Make state consistent with (possibly changed) parameters before running on from
        ``current_step`` (host side)."""
        return state

    def step(self, p, d, s, syn_in, i_ext, ctx):
        """Advance one time step.

        Parameters
        ----------
        p, d, s : dict of arrays (n,)
            Parameters, derived constants, state at time k*dt.
        syn_in : array (n_ports, n)
            Summed synaptic weights arriving in this step, per port.
        i_ext : array (n,)
            Injected current (nA) during this step.
        ctx : StepContext

        Returns
        -------
        (new_state, spike_count): spike_count is an int32 array (n,), the number of spikes
        emitted in this step (more than one only for spike sources with multiplicity).
        """
        raise NotImplementedError

    def step_block(self, p, d, s, syn_in, i_ext, ctx):
        """Advance a block of steps at once (block method, :mod:`.block`); optional.

        ``syn_in`` is (n_block, n_ports, n), ``i_ext`` (n_block, n), ``ctx`` the context of
        the block's first step; ``d["ref_steps"]`` is at least n_block - 1. Returns (states
        after each step: dict of (n_block, n) arrays, spike counts (n_block, n)).
        """
        raise NotImplementedError

    @property
    def time_parallel(self):
        """True if the model implements :meth:`step_block`."""
        return type(self).step_block is not NeuronModel.step_block

    def __repr__(self):
        return f"<engine model {self.name}>"

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return isinstance(other, NeuronModel) and other.name == self.name

