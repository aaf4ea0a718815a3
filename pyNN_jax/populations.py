"""Population, PopulationView and Assembly of pyNN.jax.

Parameters are stored natively (PyNN names and units) as numpy arrays per Population; state
and initial state likewise, keyed by the engine model's state variable names.
"""
import numpy as np

from pyNN import common, errors
from pyNN.parameters import LazyArray, ParameterSpace, simplify
from pyNN.standardmodels import StandardCellType

from . import simulator
from .recording import Recorder


def _per_cell(value, size):
    """A parameter value as an array with one entry per cell."""
    value = np.asarray(value)
    if value.dtype == object and value.ndim == 0:
        out = np.empty(size, dtype=object)
        out[:] = [value.item()] * size
        return out
    return np.array(np.broadcast_to(value, (size,)))


class Assembly(common.Assembly):
    __doc__ = common.Assembly.__doc__
    _simulator = simulator

    @property
    def receptor_types(self):
        """The receptor types common to all populations of the assembly, in the first
        population's order (PyNN's generic code returns a set's order, which differs from
        one Python process to the next: a Projection onto an Assembly without a
        ``receptor_type`` then got one at random)."""
        rest = [set(p.celltype.receptor_types) for p in self.populations[1:]]
        return [name for name in self.populations[0].celltype.receptor_types
                if all(name in names for names in rest)]


class PopulationMixin:

    def record(self, variables, to_file=None, sampling_interval=None, locations=None):
        if variables == "all":       # PyNN iterates the string letter by letter otherwise
            variables = list(self.celltype.recordable)
        return super().record(variables, to_file, sampling_interval, locations)

    def get(self, parameter_names, gather=False, simplify=True):
        # every process holds every cell's parameters: nothing to gather (scaling page)
        return super().get(parameter_names, gather=False, simplify=simplify)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    def _get_parameters(self, *names):
        """ParameterSpace of PyNN parameters ``names``."""
        if any(name in self.celltype.computed_parameters() for name in names):
            native_names = self.celltype.get_native_names()
        else:
            native_names = self.celltype.get_native_names(*names)
        return self.celltype.reverse_translate(self._get_native_parameters(*native_names))

    def _get_native_parameters(self, *names):
        parameters = {}
        for name in names:
            if name not in self._root._parameters:
                raise errors.NonExistentParameterError(name, self.celltype.__class__.__name__,
                                                       self.celltype.get_parameter_names())
            parameters[name] = simplify(self._root._parameters[name][self._root_mask])
        return ParameterSpace(parameters, shape=(self.size,))

    def _set_parameters(self, parameter_space):
        """Set native parameters (evaluated for the cells of this population or view)."""
        root = self._root
        parameter_space.evaluate(simplify=False)
        updated = {name: np.array(values, copy=True) for name, values in root._parameters.items()}
        for name, value in parameter_space.items():
            updated[name][self._root_mask] = _per_cell(value, self.size)
        self.celltype.validate(updated)
        root._parameters = updated
        simulator.state.network.values_changed("groups")

    def _set_initial_value_array(self, variable, initial_values):
        root = self._root
        model = self.celltype.engine_model
        if variable not in model.state_names:
            raise errors.NonExistentParameterError(
                variable, self.celltype.__class__.__name__,
                sorted(self.celltype.default_initial_values))
        values = initial_values.evaluate(simplify=False)
        simulator.state.network.pull_state()
        root._initial_state[variable][self._root_mask] = values
        root._state[variable][self._root_mask] = values


class PopulationView(PopulationMixin, common.PopulationView):
    __doc__ = common.PopulationView.__doc__
    _simulator = simulator
    _assembly_class = Assembly

    @property
    def _root(self):
        return self.grandparent

    @property
    def _root_mask(self):
        return self.index_in_grandparent(np.arange(self.size))

    def initialize(self, **initial_values):
        """Set initial values of state variables of the cells of this view (PyNN's generic
        version raises NotImplementedError for views)."""
        for variable, value in initial_values.items():
            self._set_initial_value_array(variable, LazyArray(value, shape=(self.size,),
                                                              dtype=float))
            self._root.initial_values[variable] = LazyArray(
                self._root._initial_state[variable].copy(), shape=(self._root.size,),
                dtype=float)


class Population(PopulationMixin, common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def __init__(self, size, cellclass, cellparams=None, structure=None, initial_values={},
                 label=None):
        if isinstance(cellclass, type):      # Population(n, IF_curr_exp): scripts do this
            cellclass = cellclass(**(cellparams or {}))
            cellparams = None
        super().__init__(size, cellclass, cellparams, structure, initial_values, label)

    @property
    def _root(self):
        return self

    @property
    def _root_mask(self):
        return slice(None)

    def _create_cells(self):
        if not isinstance(self.celltype, StandardCellType) or \
                getattr(self.celltype, "engine_model", None) is None:
            raise errors.InvalidModelError(
                f"{type(self.celltype).__name__} is not available in pyNN.jax")
        first = simulator.state.id_counter
        self.all_cells = np.array([simulator.ID(i) for i in range(first, first + self.size)],
                                  dtype=simulator.ID)
        for cell in self.all_cells:
            cell.parent = self
        self._mask_local = np.ones(self.size, dtype=bool)
        parameter_space = self.celltype.native_parameters
        parameter_space.shape = (self.size,)
        parameter_space.evaluate(simplify=False)
        self._parameters = {name: _per_cell(value, self.size)
                            for name, value in parameter_space.items()}
        self.celltype.validate(self._parameters)
        model = self.celltype.engine_model
        self._initial_state = {
            name: np.zeros(self.size, dtype=np.int32 if name in model.integer_state_names
                           else float)
            for name in model.state_names}
        simulator.state.id_counter += self.size
        simulator.state.populations.append(self)
        self._restore_initial_state()
        simulator.state.network.structure_changed()

    def _restore_initial_state(self):
        """State := initial state (on creation and on reset())."""
        state = {name: values.copy() for name, values in self._initial_state.items()}
        sim = simulator.state
        if self.celltype.engine_model.random_initial_state:
            rng = np.random.default_rng(sim.seed_for(("population", int(self.all_cells[0]),
                                                      sim.segment_counter)))
            p = self.celltype.engine_parameters([self._parameters], sim.dt)
            state = self.celltype.engine_model.initial_state(p, state, rng)
        self._state = state
