"""Gradient training of networks written with the PyNN API.

:class:`Trainer` reads the weights, delays and cell parameters of PyNN Projections and
Populations (``IF_curr_exp`` cells fed by one ``SpikeSourceArray`` input population), builds a
differentiable forward function with :mod:`pyNN_jax.engine.differentiable`, trains it with an
optax optimiser on batches of input spike times, and writes the trained weights and
parameters back into the Projections and Populations, so that ``sim.run()`` (or another
backend, or a NIR export) uses them.
"""
import numpy as np
import jax
import jax.numpy as jnp
from pyNN import common, errors
from pyNN.parameters import Sequence

from .. import shares, simulator
from ..engine import differentiable as diff
from ..engine.models.lif_current import IFCurrExp
from ..engine.models.spike_sources import SpikeSourceArray
from ..engine.time_grid import to_steps
from . import losses

try:
    import optax
except ImportError as error:                              # pragma: no cover
    raise ImportError("pyNN_jax.training needs optax: pip install 'optax>=0.2'") from error

METHODS = ("surrogate", "exact")
TRAINABLE_PARAMETERS = {
    "surrogate": ("tau_m", "cm", "v_rest", "v_thresh", "v_reset", "i_offset",
                  "tau_syn_E", "tau_syn_I"),
    "exact": ("v_thresh", "cm"),
}
POSITIVE_PARAMETERS = ("tau_m", "cm", "tau_syn_E", "tau_syn_I")
MIN_POSITIVE = 1e-3           # floor of time constants (ms) and capacitance (nF) in training
MIN_THRESHOLD_GAP = 1e-2      # floor of v_thresh - v_rest (mV) in exact training
RECEPTOR_PORTS = {"excitatory": 0, "inhibitory": 1}
INITIAL_STATE = ("v", "isyn_exc", "isyn_inh")   # initialize()-able state of IF_curr_exp


def _per_cell(pop, name):
    """Parameter ``name`` of ``pop`` as a float array (size,)."""
    return np.broadcast_to(np.asarray(pop.get(name), dtype=float), (pop.size,)).copy()


class Trainer:
    """Trains the weights of ``projections`` (and the cell ``parameters``) of a PyNN network.

    Parameters
    ----------
    projections : list of Projection
        The Projections whose weights are trained; together they define the network. Their
        populations must be whole Populations: one SpikeSourceArray (the input, its spike
        times given per sample) and IF_curr_exp cells. Static synapses, receptor
        ``excitatory`` (weights kept >= 0) or ``inhibitory`` (kept <= 0); existing
        connections only (the connectivity is fixed).
    output : Population
        The population read out by the loss.
    duration : float
        Length (ms) of one sample's presentation: steps simulated (surrogate), spike time given
        to silent cells in the loss (exact).
    method : "surrogate" or "exact"
        "surrogate": time-discrete network on the simulator's time step, surrogate gradients:
        the engine's ``spike_precision="on_grid"`` dynamics (run the trained network with it
        for the same spikes). "exact": exact first spike times in continuous time, as the
        default ``spike_precision="off_grid"`` engine computes them (needs a feed-forward
        network, tau_m = 2 tau_syn_E = 2 tau_syn_I, i_offset = 0, tau_refrac >= duration so
        that each cell spikes once).
    parameters : list of (Population, name)
        Cell parameters trained along with the weights (see ``TRAINABLE_PARAMETERS``).
    loss : callable(outputs, labels) -> scalar, optional
        Default: :func:`losses.first_spike_cross_entropy` (exact, temperature tau_syn) or
        :func:`losses.spike_count_cross_entropy` (surrogate).
    readout : callable(outputs) -> classes, optional
        Default: earliest spike (exact) or most spikes (surrogate).
    surrogate_slope : float
        Steepness (1/mV) of the surrogate derivative 1 / (1 + slope |v - v_thresh|)^2; the
        default, 1/mV, is SuperSpike's 10 per threshold distance for v_thresh - v_rest = 10 mV.
    """

    def __init__(self, projections, output, duration, method="surrogate", parameters=(),
                 loss=None, readout=None, surrogate_slope=1.0):
        shares.refuse_split("Trainer")
        if method not in METHODS:
            raise errors.InvalidParameterValueError(
                f"method={method!r}: must be one of {METHODS}")
        if not projections:
            raise errors.ConnectionError("Trainer needs at least one Projection")
        if not duration > 0:
            raise errors.InvalidParameterValueError(
                f"duration={duration!r} ms: the presentation of a sample must be > 0 ms")
        self.method = method
        self.projections = list(projections)
        self.duration = float(duration)
        self.dt = simulator.state.dt
        self.dtype = jnp.dtype(simulator.state.dtype)
        self.populations = self._collect_populations()
        self.output = output
        self.output_index = self._index_of(output, "output")
        self.n_steps = int(round(self.duration / self.dt))
        self.surrogate_slope = float(surrogate_slope)
        self._read_connections()
        self._read_cells(parameters)
        if method == "exact":
            self._check_exact()
        self.spec = diff.NetworkSpec(tuple(p.size for p in self.populations), self.input_index,
                                     tuple(self._connections), self._max_delay)
        tau = float(np.min(self._fixed_cells[self.output_index]["tau_syn_E"]))
        default_loss = (
            (lambda t, y: losses.first_spike_cross_entropy(t, y, tau, self.duration))
            if method == "exact" else losses.spike_count_cross_entropy)
        self.loss_function = loss or default_loss
        self.readout = readout or (losses.first_spike_class if method == "exact"
                                   else losses.spike_count_class)
        self._jit_forward = jax.jit(self._forward_all)

    # --- reading the PyNN network -------------------------------------------------------

    def _collect_populations(self):
        populations = []
        for prj in self.projections:
            for pop in (prj.pre, prj.post):
                if not isinstance(pop, common.Population):
                    raise errors.ConnectionError(
                        f"Trainer needs whole Populations, got {type(pop).__name__} "
                        f"{pop.label!r} in Projection {prj.label!r}")
                if not any(pop is p for p in populations):
                    populations.append(pop)
        inputs = [i for i, p in enumerate(populations)
                  if p.celltype.__class__.__name__ == "SpikeSourceArray"]
        if len(inputs) != 1:
            raise errors.ConnectionError(
                f"Trainer needs exactly one SpikeSourceArray population, found {len(inputs)}")
        self.input_index = inputs[0]
        for i, pop in enumerate(populations):
            name = pop.celltype.__class__.__name__
            if i != self.input_index and name != "IF_curr_exp":
                raise errors.InvalidModelError(
                    f"Trainer does not support cell type {name} (population {pop.label!r}); "
                    f"supported: IF_curr_exp cells fed by one SpikeSourceArray population")
        return populations

    def _index_of(self, pop, role):
        for i, p in enumerate(self.populations):
            if p is pop:
                return i
        raise errors.ConnectionError(f"{role} population {pop.label!r} is not connected by "
                                     f"the trained projections")

    def _read_connections(self):
        self._connections, self._masks, self._signs = [], [], []
        weights, self._delays_ms, self._delay_steps = [], [], []
        self._max_delay = 1
        for prj in self.projections:
            synapse = prj.synapse_type.__class__.__name__
            if synapse != "StaticSynapse":
                raise errors.ConnectionError(
                    f"Projection {prj.label!r}: Trainer trains StaticSynapse weights, got "
                    f"{synapse}")
            if prj.receptor_type not in RECEPTOR_PORTS:
                raise errors.ConnectionError(
                    f"Projection {prj.label!r}: receptor_type {prj.receptor_type!r}, must be "
                    f"one of {tuple(RECEPTOR_PORTS)}")
            w = np.asarray(prj.get("weight", format="array"), dtype=float)
            mask = np.isfinite(w)
            if mask.sum() != len(prj):
                raise errors.ConnectionError(
                    f"Projection {prj.label!r} has several connections between one pair of "
                    f"cells; Trainer needs at most one per pair")
            delay = np.asarray(prj.get("delay", format="array"), dtype=float)
            delay = np.where(mask, delay, self.dt)
            steps = np.asarray(to_steps(np, delay, self.dt))
            used = steps[mask]
            uniform = int(used[0]) if used.size and np.all(used == used[0]) else None
            self._max_delay = max(self._max_delay, int(used.max()) if used.size else 1)
            self._connections.append(diff.Connection(
                self._index_of(prj.pre, "pre"), self._index_of(prj.post, "post"),
                RECEPTOR_PORTS[prj.receptor_type], uniform))
            self._masks.append(jnp.asarray(mask))
            self._signs.append(1.0 if prj.receptor_type == "excitatory" else -1.0)
            weights.append(jnp.asarray(np.where(mask, w, 0.0), dtype=self.dtype))
            # the delays the engine (and NEST) applies: rounded to the time grid
            self._delays_ms.append(jnp.asarray(steps * self.dt, dtype=self.dtype))
            self._delay_steps.append(jnp.asarray(steps))
        self.params = {"weights": weights, "cells": [{} for _ in self.populations]}

    def _read_cells(self, parameters):
        self._fixed_cells = []
        for i, pop in enumerate(self.populations):
            if i == self.input_index:
                self._fixed_cells.append({})
                continue
            cells = {name: jnp.asarray(_per_cell(pop, name), dtype=self.dtype)
                     for name in IFCurrExp.parameter_names}
            for state in INITIAL_STATE:
                value = pop.initial_values[state].evaluate(simplify=False)
                cells[f"{state}_init"] = jnp.asarray(
                    np.broadcast_to(np.asarray(value, dtype=float), (pop.size,)),
                    dtype=self.dtype)
            self._fixed_cells.append(cells)
        allowed = TRAINABLE_PARAMETERS[self.method]
        for pop, name in parameters:
            i = self._index_of(pop, "parameter's")
            if i == self.input_index or name not in allowed:
                raise errors.InvalidParameterValueError(
                    f"parameter {name!r} of population {pop.label!r} cannot be trained with "
                    f"method={self.method!r}; trainable: {allowed} of IF_curr_exp cells")
            self.params["cells"][i][name] = self._fixed_cells[i][name]

    def _check_exact(self):
        for i, cells in enumerate(self._fixed_cells):
            if i == self.input_index:
                continue
            label = self.populations[i].label
            tau_syn = np.asarray(cells["tau_syn_E"])
            for name, value, expected in (("tau_syn_I", cells["tau_syn_I"], tau_syn),
                                          ("tau_m", cells["tau_m"], 2 * tau_syn)):
                if not np.allclose(value, expected, rtol=1e-5):
                    raise errors.InvalidParameterValueError(
                        f"method='exact' needs tau_m = 2 tau_syn_E = 2 tau_syn_I; population "
                        f"{label!r} has {name}={np.unique(np.asarray(value))}")
            if np.any(np.asarray(cells["i_offset"]) != 0):
                raise errors.InvalidParameterValueError(
                    f"method='exact' needs i_offset = 0 (population {label!r})")
            gap = np.asarray(cells["v_thresh"]) - np.asarray(cells["v_rest"])
            if np.any(gap < MIN_THRESHOLD_GAP):
                raise errors.InvalidParameterValueError(
                    f"method='exact' needs v_thresh - v_rest >= {MIN_THRESHOLD_GAP} mV; "
                    f"population {label!r} has v_thresh - v_rest = {np.unique(gap)} mV")
            if (np.any(np.asarray(cells["v_init"]) != np.asarray(cells["v_rest"]))
                    or np.any(np.asarray(cells["isyn_exc_init"]) != 0)
                    or np.any(np.asarray(cells["isyn_inh_init"]) != 0)):
                raise errors.InvalidParameterValueError(
                    f"method='exact' needs cells starting at rest, v = v_rest and "
                    f"isyn_exc = isyn_inh = 0; population {label!r} starts at v="
                    f"{np.unique(np.asarray(cells['v_init']))} mV, isyn_exc="
                    f"{np.unique(np.asarray(cells['isyn_exc_init']))} nA, isyn_inh="
                    f"{np.unique(np.asarray(cells['isyn_inh_init']))} nA")
            if i != self.output_index and np.any(np.asarray(cells["tau_refrac"])
                                                 < self.duration):
                raise errors.InvalidParameterValueError(
                    f"method='exact' models one spike per cell: population {label!r} needs "
                    f"tau_refrac >= duration ({self.duration} ms), has "
                    f"{np.unique(np.asarray(cells['tau_refrac']))}")
        try:
            diff.topological_order(diff.NetworkSpec(
                tuple(p.size for p in self.populations), self.input_index,
                tuple(self._connections), self._max_delay))
        except ValueError as error:
            raise errors.ConnectionError(str(error)) from None

    # --- forward pass and loss ------------------------------------------------------------

    def full_parameters(self, params):
        """The engine's parameter pytree: trained values merged into the fixed ones."""
        return {"weights": params["weights"],
                "cells": [{**fixed, **trained} for fixed, trained in
                          zip(self._fixed_cells, params["cells"])]}

    def encode(self, input_times):
        """Input spike times (ms, numpy) as the forward pass takes them: (batch, n_input)
        times (exact), or the steps in which they are emitted (surrogate: the engine's
        SpikeSourceArray rule, in float64 on the host), (batch, n_input, n_spikes)."""
        times = np.asarray(input_times, dtype=float)
        if self.method == "exact":
            if times.ndim != 2:
                raise errors.InvalidParameterValueError(
                    f"input_times of shape {times.shape}: method='exact' takes one spike "
                    f"time per input cell, (batch, n_input)")
            return jnp.asarray(times, dtype=self.dtype)
        if times.ndim == 2:
            times = times[..., None]
        finite = np.isfinite(times)
        steps = SpikeSourceArray.emission_grid(np.where(finite, times, 0.0), self.dt) - 1
        return jnp.asarray(np.where(finite, steps, self.n_steps).astype(np.int32))

    def _forward_all(self, params, inputs, measured=None):
        """:meth:`forward_all` on encoded inputs (:meth:`encode`)."""
        full = self.full_parameters(params)
        if self.method == "exact":
            return jax.vmap(lambda t, m: diff.first_spike_times(
                self.spec, full, self._delays_ms, t, m))(inputs, measured)
        if measured is not None:
            raise errors.InvalidParameterValueError(
                "measured spike times need method='exact'")
        raster = diff.spike_raster(inputs, self.n_steps, self.dtype)
        return jax.vmap(lambda r: diff.simulate_discrete(
            self.spec, full, self._delay_steps, r, self.dt, self.surrogate_slope))(raster)

    def forward_all(self, params, input_times, measured=None):
        """Per population: first spike times (batch, n) (ms, inf: none; exact) or recorded
        ``{"spikes", "v"}`` (batch, n_steps, n) (surrogate); None for the input population.

        ``input_times``: numpy array (batch, n_input) or, surrogate only, (batch, n_input,
        n_spikes) padded with inf. ``measured`` (exact): first spike times (batch, n) per
        population measured on another system, which replace the model's (see :meth:`fit`).
        """
        return self._jit_forward(params, self.encode(input_times), measured)

    def forward(self, params, input_times):
        """The output population's part of :meth:`forward_all`."""
        return self.forward_all(params, input_times)[self.output_index]

    def loss(self, params, input_times, labels):
        """The loss of a batch (differentiable in ``params``; ``input_times`` numpy)."""
        return self.loss_function(self.forward(params, input_times), jnp.asarray(labels))

    def predict(self, input_times, params=None, batch_size=1000):
        """Predicted classes (n_samples,) of the current (or given) parameters."""
        params = self.params if params is None else params
        return np.concatenate([
            np.asarray(self.readout(self._jit_forward(
                params, self.encode(input_times[i:i + batch_size]))[self.output_index]))
            for i in range(0, len(input_times), batch_size)])

    def accuracy(self, input_times, labels, params=None):
        """Fraction of samples classified correctly."""
        return float(np.mean(self.predict(input_times, params) == np.asarray(labels)))

    # --- training ---------------------------------------------------------------------------

    def constrain(self, params):
        """Keep weights on existing synapses with the sign of their receptor, time constants
        and capacitances >= ``MIN_POSITIVE``; with method "exact", also v_thresh >= v_rest +
        ``MIN_THRESHOLD_GAP`` (the closed form of the first spike assumes a cell at rest is
        below threshold)."""
        weights = [jnp.where(mask, jnp.maximum(sign * w, 0.0) * sign, 0.0)
                   for w, mask, sign in zip(params["weights"], self._masks, self._signs)]
        cells = []
        for trained, fixed in zip(params["cells"], self._fixed_cells):
            cell = {name: jnp.maximum(v, MIN_POSITIVE) if name in POSITIVE_PARAMETERS else v
                    for name, v in trained.items()}
            if self.method == "exact" and "v_thresh" in cell:
                cell["v_thresh"] = jnp.maximum(cell["v_thresh"],
                                               fixed["v_rest"] + MIN_THRESHOLD_GAP)
            cells.append(cell)
        return {"weights": weights, "cells": cells}

    def _silent_targets(self, outputs, labels):
        """Per population, the cells to bump: output cells silent for a sample of which they
        are the label, other cells silent for the whole batch."""
        silent = []
        for i, times in enumerate(outputs):
            if i == self.input_index:
                silent.append(None)
            elif i == self.output_index:
                is_label = jnp.arange(times.shape[1]) == labels[:, None]
                silent.append(jnp.any(~jnp.isfinite(times) & is_label, axis=0))
            else:
                silent.append(~jnp.any(jnp.isfinite(times), axis=0))
        return silent

    def _bump(self, params, silent, bump):
        """Raise by ``bump`` the weights onto the ``silent`` cells."""
        return {**params, "weights": [w + bump * silent[c.post][None, :].astype(w.dtype)
                                      for c, w in zip(self._connections, params["weights"])]}

    def fit(self, input_times, labels, epochs, batch_size=32, optimizer=None, seed=0,
            bump=0.0, callback=None, measure=None):
        """Train on (input_times, labels) with mini-batches; update ``self.params``.

        Parameters
        ----------
        input_times : array (n_samples, n_input[, n_spikes])
            Spike times (ms) of the input population per sample (inf: none).
        labels : int array (n_samples,)
        epochs, batch_size : int
            Passes over the data; samples per step (an incomplete last batch is skipped).
        optimizer : optax.GradientTransformation
            Default: optax.adam(1e-3).
        seed : int
            Seed of the shuffling.
        bump : float
            Exact method: when the output cell of a sample's label is silent (it then has no
            spike time to differentiate), the gradient step is replaced by raising the weights
            onto such output cells, and onto hidden cells silent for the whole batch, by
            ``bump`` (nA), doubled at each consecutive such batch (the weight bumping of
            Goltz et al. 2021).
        callback : callable(epoch, trainer, mean_loss), optional
            Called after every epoch.
        measure : callable(trainer, input_times) -> list, optional
            Exact method, in-the-loop training: runs a batch on another system (hardware, its
            mock, another simulator) with the current ``trainer.params`` and returns the
            first spike times (batch, n) per population (None for the input). The loss is then
            taken on the measured times and the gradient from the exact model at the measured
            times (:func:`pyNN_jax.engine.differentiable.first_spike_times`).

        Returns
        -------
        list of the mean training loss of each epoch.
        """
        if bump and self.method != "exact":
            raise errors.InvalidParameterValueError(
                f"bump={bump}: weight bumping needs first spike times, method='exact'")
        optimizer = optimizer or optax.adam(1e-3)
        inputs = self.encode(input_times)
        labels = np.asarray(labels, dtype=np.int32)
        if len(inputs) < batch_size:
            raise errors.InvalidParameterValueError(
                f"batch_size={batch_size} is larger than the {len(inputs)} samples")
        opt_state = optimizer.init(self.params)

        if measure is not None and self.method != "exact":
            raise errors.InvalidParameterValueError(
                "measure: in-the-loop training needs first spike times, method='exact'")

        @jax.jit
        def update(params, opt_state, x, y, bump_size, measured):
            def loss_and_outputs(p):
                outputs = self._forward_all(p, x, measured)
                return self.loss_function(outputs[self.output_index], y), outputs
            (loss, outputs), grads = jax.value_and_grad(loss_and_outputs, has_aux=True)(params)
            updates, new_state = optimizer.update(grads, opt_state, params)
            stepped = optax.apply_updates(params, updates)
            silent_cells = self._silent_targets(outputs, y) if bump else None
            silent = jnp.any(silent_cells[self.output_index]) if bump else False
            if bump:
                bumped = self._bump(params, silent_cells, bump_size)
                stepped = jax.tree_util.tree_map(lambda b, s: jnp.where(silent, b, s),
                                                 bumped, stepped)
                new_state = jax.tree_util.tree_map(lambda o, n: jnp.where(silent, o, n),
                                                   opt_state, new_state)
            return self.constrain(stepped), new_state, loss, silent

        rng = np.random.default_rng(seed)
        n_batches = len(inputs) // batch_size
        history = []
        consecutive_bumps = 0
        for epoch in range(epochs):
            order = rng.permutation(len(inputs))
            epoch_loss = 0.0
            for b in range(n_batches):
                idx = order[b * batch_size:(b + 1) * batch_size]
                measured = None if measure is None else [
                    None if m is None else jnp.asarray(m, dtype=self.dtype)
                    for m in measure(self, np.asarray(input_times)[idx])]
                self.params, opt_state, loss, silent = update(
                    self.params, opt_state, inputs[idx], labels[idx],
                    bump * 2.0 ** min(consecutive_bumps, 30), measured)
                consecutive_bumps = consecutive_bumps + 1 if bump and bool(silent) else 0
                epoch_loss += float(loss)
            history.append(epoch_loss / n_batches)
            if callback is not None:
                callback(epoch, self, history[-1])
        return history

    # --- back to PyNN -----------------------------------------------------------------------

    def write_back(self):
        """Set the trained weights into the Projections and the trained parameters into the
        Populations (the next ``run()`` uses them)."""
        for prj, w, mask in zip(self.projections, self.params["weights"], self._masks):
            prj.set(weight=np.where(np.asarray(mask), np.asarray(w, dtype=float), np.nan))
        for pop, cells in zip(self.populations, self.params["cells"]):
            if cells:
                pop.set(**{name: np.asarray(v, dtype=float) for name, v in cells.items()})


def present(input_population, spike_times):
    """Set one sample's spike times (n_input,) or (n_input, n_spikes) (ms, inf: none) on a
    SpikeSourceArray population (any PyNN backend)."""
    spike_times = np.asarray(spike_times, dtype=float)
    if spike_times.ndim == 1:
        spike_times = spike_times[:, None]
    input_population.set(spike_times=[Sequence(np.sort(t[np.isfinite(t)]))
                                      for t in spike_times])


def run_samples(sim, input_population, output_population, input_times, duration):
    """Present samples one by one on a PyNN backend (``sim.reset()`` between them) and return
    the output population's first spike times (n_samples, n) (ms, inf: no spike) and spike
    counts (n_samples, n)."""
    output_population.record("spikes")
    first = np.full((len(input_times), output_population.size), np.inf)
    counts = np.zeros((len(input_times), output_population.size), dtype=int)
    for s, sample in enumerate(input_times):
        present(input_population, sample)
        sim.run(duration)
        trains = output_population.get_data("spikes", clear=True).segments[-1].spiketrains
        for train in trains:
            j = int(train.annotations["source_index"])
            times = np.asarray(train.magnitude)
            counts[s, j] = times.size
            if times.size:
                first[s, j] = times.min()
        sim.reset()
    return first, counts
