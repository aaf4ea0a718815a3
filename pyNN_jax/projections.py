"""Projection of pyNN.jax: connections kept as arrays, laid out into engine tables at run time."""
import numpy as np

from pyNN import common, errors
from pyNN.parameters import LazyArray
from pyNN.space import Space

from . import shares, simulator
from .engine import plasticity, processes
from .engine.time_grid import to_steps
from .standardmodels.synapses import StaticSynapse

# indices of the connections' cells within self.pre / self.post (populations have < 2**31
# cells); 4 bytes less per index than int64: 2.4 GB at the microcircuit's 3e8 synapses
INDEX_TYPE = np.int32


class Connection(common.Connection):
    """One connection of a Projection, a view on its arrays."""

    def __init__(self, projection, index):
        self.projection = projection
        self.index = index

    @property
    def presynaptic_index(self):
        return int(self.projection._connections["pre"][self.index])

    @property
    def postsynaptic_index(self):
        return int(self.projection._connections["post"][self.index])

    def as_tuple(self, *attribute_names):
        return tuple(self.projection._attribute_values(name)[self.index]
                     for name in attribute_names)

    def __getattr__(self, name):
        if name.startswith("_") or name in ("projection", "index"):
            raise AttributeError(name)
        return self.projection._attribute_values(name)[self.index]

    def __setattr__(self, name, value):
        if name in ("projection", "index"):
            object.__setattr__(self, name, value)
        else:
            self.projection._set_connection_values(name, np.array([self.index]), value)


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None, space=Space(), label=None):
        super().__init__(presynaptic_population, postsynaptic_population, connector,
                         synapse_type, source, receptor_type, space, label)
        self._engine_kind = getattr(self.synapse_type, "engine_kind", None)
        if self._engine_kind is None:
            raise NotImplementedError(
                f"{type(self.synapse_type).__name__} is not available in pyNN.jax yet")
        self._check_receptor_type()
        self._synapse_names = list(self.synapse_type.native_parameters.keys())
        self._connections = {"pre": np.zeros(0, dtype=INDEX_TYPE),
                             "post": np.zeros(0, dtype=INDEX_TYPE)}
        self._connections.update({name: np.zeros(0) for name in self._synapse_names})
        self._pending = []
        # several processes: the connections onto this process's cells only (shares), and a
        # checksum of every connection drawn, which the processes compare before a run
        self._local_post = (shares.local_cells_mask(self.post) if shares.connections_are_split()
                            else None)
        self._drawn_checksum = np.zeros(0, np.uint64)
        self._gathering = False
        connector.connect(self)
        self._flush_pending()
        # plastic weights go back to these on reset() (static ones never change)
        self._initial_weights = self._connections["weight"].copy() \
            if self._engine_kind in plasticity.KINDS else None
        self._initial_synapse_values = {}
        self.initial_values = getattr(self, "initial_values", {})
        self._reset_synapse_state()
        simulator.state.projections.append(self)
        simulator.state.network.structure_changed()

    # ---- building ----------------------------------------------------------------------

    # several processes: each holds the connections onto its own cells (shares); gathered,
    # they come in process order (for connections ordered by postsynaptic cell, the order of
    # one process). Collective where gathered: every process must call it.
    def get(self, attribute_names, format, gather=True, with_address=True,
            multiple_synapses="sum"):
        self._gathering = bool(gather) and self._local_post is not None
        try:
            return super().get(attribute_names, format, False, with_address, multiple_synapses)
        finally:
            self._gathering = False

    def size(self, gather=True):
        if gather and self._local_post is not None:
            return int(processes.summed([len(self)])[0])
        return len(self)

    def _bulk_connect(self, pre, post, parameters):
        """Add connections from arrays of pre and post indices (within self.pre / self.post)
        and per-connection native parameter arrays."""
        pre = np.asarray(pre, dtype=INDEX_TYPE)
        post = np.asarray(post, dtype=INDEX_TYPE)
        columns = {"pre": pre, "post": post}
        for name in self._synapse_names:
            values = np.asarray(parameters[name], dtype=float)
            columns[name] = np.broadcast_to(values, pre.shape).astype(float)
        self.synapse_type.validate(columns)
        columns["delay"] = self._delays_as_used(columns["delay"])
        if self._local_post is not None:
            self._drawn_checksum = _checksum(columns, self._drawn_checksum)
            local = self._local_post[post]
            columns = {name: values[local] for name, values in columns.items()}
        self._pending.append(columns)

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index,
                            location_selector=None, **connection_parameters):
        """PyNN's per-post-cell hook, for connectors that do not use the bulk path."""
        if location_selector is not None:
            raise NotImplementedError("pyNN.jax has point neurons only")
        presynaptic_indices = np.atleast_1d(np.asarray(presynaptic_indices, dtype=np.int64))
        self._bulk_connect(presynaptic_indices,
                           np.full(presynaptic_indices.size, int(postsynaptic_index)),
                           connection_parameters)

    def _flush_pending(self):
        """Append the pieces built by ``_bulk_connect``, one column at a time, each column of
        the pieces dropped once copied: the build needs at most one column (8 bytes per
        connection) on top of the final arrays."""
        if self._pending:
            parts = [self._connections] + self._pending
            self._pending = []
            self._connections = {}
            for key in list(parts[0]):
                self._connections[key] = np.concatenate([part.pop(key) for part in parts])

    def _reset_synapse_state(self):
        """Per-connection dynamic state at its initial value (creation and reset()); plastic
        weights go back to the values given at creation or by the last set()."""
        if self._engine_kind in plasticity.KINDS:
            self._connections["weight"] = self._initial_weights.copy()
        self._synapse_state = self.synapse_type.initial_synapse_state(self._connections)
        for name, values in self._initial_synapse_values.items():
            self._synapse_state[name] = values.copy()

    def initialize(self, **initial_values):
        """Set initial values of per-connection state variables (restored by reset())."""
        # PyNN's generic version builds LazyArray(shape=(self.size,)) with the size *method*
        for variable, value in initial_values.items():
            initial_value = LazyArray(value, shape=(len(self),), dtype=float)
            self._set_initial_value_array(variable, initial_value)
            self.initial_values[variable] = initial_value

    def _set_initial_value_array(self, variable, initial_value):
        """Projection.initialize(): initial value of a per-connection state variable (e.g.
        ``u`` and ``a`` of MultiQuantalSynapse), also restored by reset()."""
        aliases = self.synapse_type.state_variables
        if variable not in aliases:
            raise errors.NonExistentParameterError(
                variable, type(self.synapse_type).__name__, sorted(aliases))
        values = np.asarray(initial_value.evaluate(simplify=False), dtype=float).reshape(-1)
        values = np.broadcast_to(values, (len(self),)).copy()
        simulator.state.network.pull_state()
        self._initial_synapse_values[aliases[variable]] = values
        self._synapse_state[aliases[variable]] = values.copy()

    def __len__(self):
        return self._connections["pre"].size

    @property
    def connections(self):
        return [Connection(self, i) for i in range(len(self))]

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [Connection(self, j) for j in range(len(self))[i]]
        return Connection(self, range(len(self))[i])

    def __iter__(self):
        return (Connection(self, i) for i in range(len(self)))

    # ---- engine layout -----------------------------------------------------------------
    def _port_of_cells(self, layout, post_global):
        """Engine port of ``receptor_type`` for each postsynaptic cell (by its model)."""
        ports = np.array([model.port_names.index(self.receptor_type)
                          if self.receptor_type in model.port_names else -1
                          for model, _ in layout.groups])
        first_group = layout.cell_group[post_global.min()] if post_global.size else None
        if first_group is not None and layout.cell_group[post_global.max()] == first_group:
            port = ports[first_group]   # groups are index ranges: all cells in one group
        else:
            port = ports[layout.cell_group[post_global]]
        if np.any(port < 0):
            raise errors.ConnectionError(
                f"receptor_type '{self.receptor_type}' does not exist on every target cell")
        return port

    def _table_constants(self):
        """Per-table constants: connections share a table only where these are equal (decided
        on every process from the values of all processes' connections)."""
        connections = self._connections
        if self._local_post is not None:
            connections = {name: processes.concatenate(np.unique(connections[name]))
                           for name in set(self.synapse_type.table_constant_names())}
        return self.synapse_type.table_constants(connections)

    def _table_columns(self, layout):
        return self.synapse_type.table_columns(self)

    def _postsynaptic_time_constant(self):
        """Decay time constant (ms) of the target receptor of each connection: tau_syn_E or
        tau_syn_I, or a composed cell's "<receptor>.tau_syn" / ".tau_decay"; dt for cells
        without one (delta synapses)."""
        names = {"excitatory": ["tau_syn_E"], "inhibitory": ["tau_syn_I"]}.get(
            self.receptor_type,
            [f"{self.receptor_type}.tau_syn", f"{self.receptor_type}.tau_decay"])
        for name in names:
            try:
                return np.asarray(self.post.get(name, gather=True, simplify=False),
                                  dtype=float).reshape(-1)[self._connections["post"]]
            except (errors.NonExistentParameterError, KeyError):
                continue
        return np.full(len(self), simulator.state.dt)

    def _check_receptor_type(self):
        """Every target cell's engine model must have the receptor (checked on creation)."""
        post = self.post
        populations = getattr(post, "populations", None) or [getattr(post, "grandparent",
                                                                     post)]
        for population in populations:
            ports = population.celltype.engine_model.port_names
            if self.receptor_type not in ports:
                raise errors.ConnectionError(
                    f"receptor_type '{self.receptor_type}' is not available on "
                    f"{type(population.celltype).__name__} in pyNN.jax; receptor types: "
                    f"{', '.join(ports)}")

    # ---- get / set ---------------------------------------------------------------------
    def set(self, **attributes):
        for name in attributes:
            if not self.synapse_type.has_parameter(name):
                raise errors.NonExistentParameterError(
                    name, type(self.synapse_type).__name__,
                    self.synapse_type.get_parameter_names())
        super().set(**attributes)
    set.__doc__ = common.Projection.set.__doc__

    def _attribute_values(self, name):
        values = self._local_attribute_values(name)
        return processes.concatenate(values) if self._gathering else values

    def _local_attribute_values(self, name):
        if name == "presynaptic_index":
            return self._connections["pre"]
        if name == "postsynaptic_index":
            return self._connections["post"]
        if name not in self._connections:
            raise errors.NonExistentParameterError(name, type(self.synapse_type).__name__,
                                                   self._synapse_names)
        if name == "weight" and self._engine_kind in plasticity.KINDS and \
                getattr(self, "_table_positions", None) is not None:
            self._connections["weight"] = np.asarray(
                simulator.state.network.plastic_weights(self), dtype=float)
        return self._connections[name]

    @staticmethod
    def _delays_as_used(delays):
        """Delays on the time grid, at least one step (NEST rounds them on creation too)."""
        dt = simulator.state.dt
        return np.round(np.maximum(to_steps(np, np.asarray(delays, dtype=float), dt), 1) * dt, 12)

    def _set_connection_values(self, name, index, value):
        if name not in self._synapse_names:
            raise errors.NonExistentParameterError(name, type(self.synapse_type).__name__,
                                                   self._synapse_names)
        updated = dict(self._connections)
        updated[name] = self._connections[name].copy()
        updated[name][index] = value
        self.synapse_type.validate({name: updated[name]})
        if name == "delay":
            updated[name] = self._delays_as_used(updated[name])
        if name == "weight" and len(self):
            checks = getattr(self.synapse_type, "parameter_checks", {})
            if "weight" in checks:
                checks["weight"](updated[name], self)
        if name == "weight" and self._engine_kind in plasticity.KINDS:
            simulator.state.network.pull_state()
            self._synapse_state["weight"] = updated["weight"].copy()
            self._initial_weights = updated["weight"].copy()
        self._connections = updated
        simulator.state.network.values_changed("tables")

    def _set_attributes(self, parameter_space):
        pre, post = self._connections["pre"], self._connections["post"]
        for name, value in parameter_space.items():
            if value.is_homogeneous:
                values = value.evaluate(simplify=True)
            else:
                values = np.asarray(value.evaluate(simplify=False), dtype=float)
                values = values[pre, post] if values.ndim == 2 else values
            self._set_connection_values(name, slice(None), values)

    def _get_attributes_as_list(self, names):
        return list(zip(*[self._attribute_values(name).tolist() for name in names]))

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        pre = self._attribute_values("presynaptic_index")
        post = self._attribute_values("postsynaptic_index")
        result = []
        for name in names:
            values = self._attribute_values(name.rstrip("s") if name not in self._connections
                                            else name)
            matrix = np.full((self.pre.size, self.post.size), np.nan)
            duplicates = False
            if pre.size:
                flat = pre.astype(np.int64) * self.post.size + post
                duplicates = np.unique(flat).size < flat.size
            if not duplicates:
                matrix[pre, post] = values
            else:
                operation = self.MULTI_SYNAPSE_OPERATIONS[multiple_synapses]
                for i, j, v in zip(pre, post, values):
                    matrix[i, j] = v if np.isnan(matrix[i, j]) else operation(matrix[i, j], v)
            result.append(matrix)
        return result


def _checksum(columns, checksum):
    """``checksum`` (uint64: connections, then the sum of each column's bits, wrapping) with
    the connections ``columns`` added: equal on the processes if they drew the same."""
    sums = [np.uint64(len(columns["pre"]))] + [
        np.sum(np.asarray(values).astype(np.float64 if np.asarray(values).dtype.kind == "f"
                                         else np.int64).view(np.uint64), dtype=np.uint64)
        for _, values in sorted(columns.items())]
    added = np.array(sums, dtype=np.uint64)
    return added if checksum.size == 0 else checksum + added
