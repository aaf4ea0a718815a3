"""PyNN standard synapse types on the engine (see ``pyNN_jax/engine/synapses.py``)."""
import numpy as np

from pyNN import errors
from pyNN.standardmodels import synapses

from ..engine.time_grid import to_steps
from ..simulator import state
from .cells import check_order, check_range, identity_translations


class EngineSynapseType:
    engine_kind = None
    engine_columns = ()       # native parameters the engine table holds besides the weight
    state_variables = {}      # PyNN name -> per-connection engine state, for initialize()
    parameter_ranges = {}

    def table_constant_names(self):
        """The native parameters that :meth:`table_constants` reads."""
        return ()

    def table_constants(self, connections):
        """Values that must be equal across one engine table (none for most kinds)."""
        return ()

    def table_columns(self, projection):
        """Per-connection columns of the engine table."""
        c = projection._connections
        return {"weight": c["weight"], **{name: c[name] for name in self.engine_columns}}

    def initial_synapse_state(self, connections):
        """Per-connection dynamic state at rest (on creation and reset())."""
        return {}

    def _get_minimum_delay(self):
        d = state.min_delay
        return state.dt if d == "auto" else d

    @classmethod
    def validate(cls, parameters):
        for name, (lower, inclusive) in cls.parameter_ranges.items():
            if name in parameters:
                check_range(cls.__name__, name, parameters[name], lower, inclusive)
        if "delay" in parameters:
            delay = np.asarray(parameters["delay"], dtype=float)
            if delay.size and not (delay >= state.dt / 2).all():
                raise errors.ConnectionError(
                    f"{cls.__name__}: delay = {float(delay.min())!r} ms is below the time step; "
                    f"delays must be >= dt/2 = {state.dt / 2} ms (they are rounded to the "
                    f"time grid, at least one step of {state.dt} ms)")


class StaticSynapse(EngineSynapseType, synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = identity_translations(synapses.StaticSynapse)
    engine_kind = "static"


class TsodyksMarkramSynapse(EngineSynapseType, synapses.TsodyksMarkramSynapse):
    __doc__ = synapses.TsodyksMarkramSynapse.__doc__ + """
    Dynamics of NEST's ``tsodyks_synapse`` (u, x, y per connection; y decays with the
    postsynaptic cell's tau_syn of the target receptor), event-driven: the state is advanced
    only when the presynaptic cell spikes.
    """
    translations = identity_translations(synapses.TsodyksMarkramSynapse)
    engine_kind = "tsodyks_markram"
    engine_columns = ("U", "tau_rec", "tau_facil")
    state_variables = {"u": "u", "x": "x", "y": "y"}
    parameter_ranges = {"U": (0.0, True), "tau_rec": (0.0, False), "tau_facil": (0.0, True)}

    def table_columns(self, projection):
        return dict(super().table_columns(projection),
                    tau_psc=projection._postsynaptic_time_constant())

    def initial_synapse_state(self, connections):
        n = connections["pre"].size
        return {"u": np.zeros(n), "x": np.ones(n), "y": np.zeros(n),
                "last_spike_step": np.zeros(n, dtype=np.int32)}

    @classmethod
    def validate(cls, parameters):
        super().validate(parameters)
        if "U" in parameters:
            U = np.asarray(parameters["U"], dtype=float)
            if (U > 1).any():
                raise errors.InvalidParameterValueError(
                    f"TsodyksMarkramSynapse: U = {float(U.max())!r} is not allowed; "
                    "U must be in [0, 1]")


# ---- spike-timing-dependent plasticity (pyNN_jax/engine/plasticity.py) -----------------------

class STDPComponent:
    possible_models = {"stdp"}

    def __init__(self, **parameters):
        super().__init__(**parameters)


class AdditiveWeightDependence(STDPComponent, synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__
    translations = identity_translations(synapses.AdditiveWeightDependence)
    extra_parameters = {"mu_plus": 0.0, "mu_minus": 0.0}


class MultiplicativeWeightDependence(STDPComponent, synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__
    translations = identity_translations(synapses.MultiplicativeWeightDependence)
    extra_parameters = {"mu_plus": 1.0, "mu_minus": 1.0}


class AdditivePotentiationMultiplicativeDepression(
        STDPComponent, synapses.AdditivePotentiationMultiplicativeDepression):
    __doc__ = synapses.AdditivePotentiationMultiplicativeDepression.__doc__
    translations = identity_translations(synapses.AdditivePotentiationMultiplicativeDepression)
    extra_parameters = {"mu_plus": 0.0, "mu_minus": 1.0}


class GutigWeightDependence(STDPComponent, synapses.GutigWeightDependence):
    __doc__ = synapses.GutigWeightDependence.__doc__
    translations = identity_translations(synapses.GutigWeightDependence)
    extra_parameters = {}


class SpikePairRule(STDPComponent, synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = identity_translations(synapses.SpikePairRule)
    extra_parameters = {}


class Vogels2011Rule(STDPComponent, synapses.Vogels2011Rule):
    __doc__ = synapses.Vogels2011Rule.__doc__
    translations = identity_translations(synapses.Vogels2011Rule)
    extra_parameters = {}


class STDPMechanism(EngineSynapseType, synapses.STDPMechanism):
    __doc__ = synapses.STDPMechanism.__doc__ + """
    On pyNN.jax: event-driven pair-based STDP with traces, NEST's stdp_synapse (SpikePairRule
    with any weight dependence) or vogels_sprekeler_synapse (Vogels2011Rule); see
    pyNN_jax/engine/plasticity.py. ``dendritic_delay_fraction`` splits each delay into its
    dendritic part (rounded to steps, at least one) and the axonal rest; 1 (NEST's only
    choice, the default) makes it all dendritic.
    """
    base_translations = identity_translations(
        type("STDPBase", (), {"default_parameters": {"weight": 0.0, "delay": 0.0,
                                                     "dendritic_delay_fraction": 1.0}}))
    parameter_ranges = {"A_plus": (0.0, True), "A_minus": (0.0, True), "tau_plus": (0.0, False),
                        "tau_minus": (0.0, False), "tau": (0.0, False), "eta": (0.0, True),
                        "rho": (0.0, True), "mu_plus": (0.0, True), "mu_minus": (0.0, True)}

    def __init__(self, timing_dependence=None, weight_dependence=None,
                 voltage_dependence=None, dendritic_delay_fraction=1.0, weight=0.0, delay=None):
        if not 0 <= dendritic_delay_fraction <= 1:
            raise errors.InvalidParameterValueError(
                f"dendritic_delay_fraction = {dendritic_delay_fraction!r}; it must be in [0, 1]")
        if voltage_dependence is not None:
            raise NotImplementedError("voltage-dependent STDP is not available in pyNN.jax")
        super().__init__(timing_dependence, weight_dependence, voltage_dependence,
                         dendritic_delay_fraction, weight, delay)

    @property
    def engine_kind(self):
        return "stdp_vogels" if isinstance(self.timing_dependence, Vogels2011Rule) else "stdp"

    def _build_translations(self):
        self.translations = dict(self.base_translations)
        for component in (self.timing_dependence, self.weight_dependence):
            if component:
                self.translations.update(component.translations)
        for name in ("mu_plus", "mu_minus"):
            self.translations.setdefault(name, identity_translations(type(
                "Mu", (), {"default_parameters": {name: 0.0}}))[name])

    @classmethod
    def validate(cls, parameters):
        super().validate(parameters)
        check_order("STDPMechanism", parameters, "w_min", "w_max", strict=False)

    def table_constant_names(self):
        return ("tau", "tau") if self.engine_kind == "stdp_vogels" else ("tau_plus", "tau_minus")

    def table_constants(self, connections):
        constants = []
        for engine_name, name in zip(("tau_plus", "tau_minus"), self.table_constant_names()):
            values = np.unique(connections[name])
            if values.size > 1:
                raise errors.InvalidParameterValueError(
                    f"STDPMechanism: {name} must be the same for all connections of a "
                    f"Projection (got {values.size} values)")
            constants.append((engine_name, float(values[0]) if values.size else 20.0))
        return tuple(constants)

    def initial_synapse_state(self, connections):
        return {"weight": connections["weight"].copy()}

    def table_columns(self, projection):
        connections = projection._connections
        delay_steps = np.maximum(to_steps(np, connections["delay"], state.dt), 1)
        dendritic = np.clip(to_steps(np, connections["dendritic_delay_fraction"] * delay_steps,
                                     1.0), 1, delay_steps)
        if self.engine_kind == "stdp_vogels":
            columns = {"eta": connections["eta"],
                       "alpha": 2.0 * connections["rho"] * connections["tau"] / 1000.0}
        else:
            columns = {name: connections[name] for name in
                       ("A_plus", "A_minus", "mu_plus", "mu_minus")}
        return dict(columns, w_min=connections["w_min"], w_max=connections["w_max"],
                    dendritic_delay=dendritic.astype(float))


# ---- stochastic synapses (pyNN_jax/engine/stochastic_synapses.py) ----------------------------

class SimpleStochasticSynapse(EngineSynapseType, synapses.SimpleStochasticSynapse):
    __doc__ = synapses.SimpleStochasticSynapse.__doc__
    translations = identity_translations(synapses.SimpleStochasticSynapse)
    engine_kind = "stochastic"
    engine_columns = ("p",)
    parameter_ranges = {"p": (0.0, True)}

    @classmethod
    def validate(cls, parameters):
        super().validate(parameters)
        if "p" in parameters and (np.asarray(parameters["p"], dtype=float) > 1).any():
            raise errors.InvalidParameterValueError(
                f"SimpleStochasticSynapse: p = {float(np.max(parameters['p']))!r} is not "
                "allowed; p must be in [0, 1]")


class StochasticTsodyksMarkramSynapse(EngineSynapseType,
                                      synapses.StochasticTsodyksMarkramSynapse):
    __doc__ = synapses.StochasticTsodyksMarkramSynapse.__doc__
    translations = identity_translations(synapses.StochasticTsodyksMarkramSynapse)
    engine_kind = "stochastic_tsodyks_markram"
    engine_columns = ("U", "tau_rec", "tau_facil")
    state_variables = {"u": "u", "R": "recovered"}
    parameter_ranges = {"U": (0.0, True), "tau_rec": (0.0, False), "tau_facil": (0.0, True)}

    def initial_synapse_state(self, connections):
        n = connections["pre"].size
        return {"u": np.zeros(n), "recovered": np.ones(n),
                "survival_step": np.zeros(n, dtype=np.int32),
                "last_spike_step": np.zeros(n, dtype=np.int32)}


class MultiQuantalSynapse(EngineSynapseType, synapses.MultiQuantalSynapse):
    __doc__ = synapses.MultiQuantalSynapse.__doc__
    translations = identity_translations(synapses.MultiQuantalSynapse)
    engine_kind = "quantal"
    engine_columns = ("U", "n", "tau_rec", "tau_facil")
    state_variables = {"u": "u", "a": "available"}
    parameter_ranges = {"U": (0.0, True), "n": (1.0, True), "tau_rec": (0.0, False),
                        "tau_facil": (0.0, True)}

    def initial_synapse_state(self, connections):
        n = connections["pre"].size
        return {"u": np.zeros(n), "available": np.round(connections["n"]).astype(float),
                "last_spike_step": np.zeros(n, dtype=np.int32)}


class ElectricalSynapse(synapses.ElectricalSynapse):
    """Gap junctions are not available in pyNN.jax.

    A gap junction couples the membrane potentials of two cells continuously (a current
    g (v_pre - v_post) in both cells at every step), while the engine exchanges only spike
    events through delay ring buffers; it would need a sparse matrix-vector product inside
    every integration substep. Creating one raises NotImplementedError.
    """

    def __init__(self, **parameters):
        raise NotImplementedError(
            "ElectricalSynapse (gap junctions) is not available in pyNN.jax: the engine "
            "exchanges spike events only; see the docs, 'Differences from pyNN.nest'")

