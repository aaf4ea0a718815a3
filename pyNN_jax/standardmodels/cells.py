"""PyNN standard cell types on the engine.

Native parameter names are PyNN's own (identity translations, PyNN units); each class names
the engine model that integrates it (equations and scheme in ``pyNN_jax/engine/models``) and the
range of every parameter, checked on creation and on ``set()``.
"""
import numpy as np

from pyNN import errors
from pyNN.standardmodels import cells, build_translations

from ..engine.models import adex, hh, lif_conductance, lif_current, spike_sources
from ..engine.models import facets_hardware, gif, gsfa_grr, inh_gamma, izhikevich, precise

POSITIVE = (0.0, False)        # value > 0
NON_NEGATIVE = (0.0, True)     # value >= 0


def identity_translations(pynn_class):
    return build_translations(*[(name, name) for name in pynn_class.default_parameters])


def check_range(model_name, name, values, lower, inclusive):
    values = np.asarray(values, dtype=float)
    bad = ~(values >= lower) if inclusive else ~(values > lower)
    if bad.any():
        relation = ">=" if inclusive else ">"
        raise errors.InvalidParameterValueError(
            f"{model_name}: {name} = {float(values[bad].flat[0])!r} is not allowed; "
            f"{name} must be {relation} {lower:g}")


def check_order(model_name, parameters, low, high, strict=True):
    """Raise InvalidParameterValueError unless parameters[low] < (or <=) parameters[high]."""
    if low in parameters and high in parameters:
        a = np.asarray(parameters[low], dtype=float)
        b = np.asarray(parameters[high], dtype=float)
        if ((a >= b) if strict else (a > b)).any():
            relation = "below" if strict else "<="
            raise errors.InvalidParameterValueError(
                f"{model_name}: {low} must be {relation} {high} "
                f"(got {low} = {float(a.max())!r}, {high} = {float(b.min())!r})")


class BySpikePrecision:
    """The engine model of a cell type with a precise variant (:mod:`..engine.models.precise`):
    ``off_grid`` under ``setup(spike_precision="off_grid")``, else ``on_grid``."""

    def __init__(self, on_grid, off_grid):
        self.models = {"on_grid": on_grid, "off_grid": off_grid}

    def __get__(self, obj, owner):
        from .. import simulator
        return self.models[simulator.state.spike_precision]


class EngineCellType:
    """What the PyNN layer needs of a cell type beyond PyNN's standard model."""
    engine_model = None
    parameter_ranges = {}

    def engine_parameters(self, parameter_dicts, dt):
        """Engine parameter arrays of a group, from the native parameters of its populations."""
        return {name: np.concatenate([np.asarray(d[name], dtype=float).reshape(-1)
                                      for d in parameter_dicts])
                for name in self.engine_model.parameter_names}

    @classmethod
    def validate(cls, parameters):
        """Raise InvalidParameterValueError for a value outside its allowed range."""
        for name, (lower, inclusive) in cls.parameter_ranges.items():
            if name in parameters:
                check_range(cls.__name__, name, parameters[name], lower, inclusive)

    def state_variable(self, name):
        """Engine state variable holding the PyNN recordable ``name``."""
        return name


class LIFCellType(EngineCellType):
    parameter_ranges = {"tau_m": POSITIVE, "cm": POSITIVE, "tau_syn_E": POSITIVE,
                        "tau_syn_I": POSITIVE, "tau_refrac": NON_NEGATIVE}

    @classmethod
    def validate(cls, parameters):
        super().validate(parameters)
        check_order(cls.__name__, parameters, "v_reset", "v_thresh")


SYNAPTIC_CURRENTS = ["isyn_exc", "isyn_inh"]     # recordable here, unlike on pyNN.nest


class IF_curr_exp(LIFCellType, cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__
    translations = identity_translations(cells.IF_curr_exp)
    recordable = cells.IF_curr_exp.recordable + SYNAPTIC_CURRENTS
    engine_model = BySpikePrecision(lif_current.IFCurrExp(), precise.IFCurrExpPrecise())


class IF_curr_alpha(LIFCellType, cells.IF_curr_alpha):
    __doc__ = cells.IF_curr_alpha.__doc__
    translations = identity_translations(cells.IF_curr_alpha)
    recordable = cells.IF_curr_alpha.recordable + SYNAPTIC_CURRENTS
    engine_model = lif_current.IFCurrAlpha()


class IF_curr_delta(LIFCellType, cells.IF_curr_delta):
    __doc__ = cells.IF_curr_delta.__doc__ + "\n    Weights are in mV (the jump of v).\n"
    translations = identity_translations(cells.IF_curr_delta)
    engine_model = BySpikePrecision(lif_current.IFCurrDelta(), precise.IFCurrDeltaPrecise())


class IF_cond_exp(LIFCellType, cells.IF_cond_exp):
    __doc__ = cells.IF_cond_exp.__doc__
    translations = identity_translations(cells.IF_cond_exp)
    engine_model = lif_conductance.IFCondExp()


class IF_cond_alpha(LIFCellType, cells.IF_cond_alpha):
    __doc__ = cells.IF_cond_alpha.__doc__
    translations = identity_translations(cells.IF_cond_alpha)
    engine_model = lif_conductance.IFCondAlpha()


class AdExCellType(EngineCellType):
    parameter_ranges = {"tau_m": POSITIVE, "cm": POSITIVE, "tau_syn_E": POSITIVE,
                        "tau_syn_I": POSITIVE, "tau_refrac": NON_NEGATIVE, "tau_w": POSITIVE,
                        "delta_T": NON_NEGATIVE}

    @classmethod
    def validate(cls, parameters):
        super().validate(parameters)
        check_order(cls.__name__, parameters, "v_reset", "v_spike")


class EIF_cond_exp_isfa_ista(AdExCellType, cells.EIF_cond_exp_isfa_ista):
    __doc__ = cells.EIF_cond_exp_isfa_ista.__doc__
    translations = identity_translations(cells.EIF_cond_exp_isfa_ista)
    engine_model = adex.AdExp()


class EIF_cond_alpha_isfa_ista(AdExCellType, cells.EIF_cond_alpha_isfa_ista):
    __doc__ = cells.EIF_cond_alpha_isfa_ista.__doc__
    translations = identity_translations(cells.EIF_cond_alpha_isfa_ista)
    engine_model = adex.AdExpAlpha()


class HH_cond_exp(EngineCellType, cells.HH_cond_exp):
    __doc__ = cells.HH_cond_exp.__doc__
    translations = identity_translations(cells.HH_cond_exp)
    engine_model = hh.HHCondExp()
    parameter_ranges = {"cm": POSITIVE, "tau_syn_E": POSITIVE, "tau_syn_I": POSITIVE,
                        "gbar_Na": NON_NEGATIVE, "gbar_K": NON_NEGATIVE,
                        "g_leak": NON_NEGATIVE}


class SpikeSourceArray(EngineCellType, cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__
    translations = identity_translations(cells.SpikeSourceArray)
    engine_model = BySpikePrecision(spike_sources.SpikeSourceArray(),
                                    precise.SpikeSourceArrayPrecise())

    @classmethod
    def engine_parameters(cls, parameter_dicts, dt):
        sequences = [s for d in parameter_dicts for s in np.asarray(d["spike_times"]).reshape(-1)]
        times = [np.asarray(getattr(s, "value", s), dtype=float) for s in sequences]
        model = cls.engine_model
        return dict(zip(model.parameter_names, model.encode_spike_times(times, dt)))

    @classmethod
    def validate(cls, parameters):
        for seq in np.asarray(parameters.get("spike_times", [])).reshape(-1):
            times = np.asarray(getattr(seq, "value", seq), dtype=float)
            if times.size and not (times >= 0).all():
                raise errors.InvalidParameterValueError(
                    f"SpikeSourceArray: spike_times must be >= 0 ms (got {float(times.min())!r})")
            if (np.diff(times) < 0).any():
                raise errors.InvalidParameterValueError(
                    "SpikeSourceArray: spike_times must be in non-decreasing order "
                    f"(got {times.tolist()})")


class SpikeSourcePoisson(EngineCellType, cells.SpikeSourcePoisson):
    __doc__ = cells.SpikeSourcePoisson.__doc__
    translations = identity_translations(cells.SpikeSourcePoisson)
    engine_model = BySpikePrecision(spike_sources.SpikeSourcePoisson(),
                                    precise.SpikeSourcePoissonPrecise())
    parameter_ranges = {"rate": NON_NEGATIVE, "start": NON_NEGATIVE, "duration": NON_NEGATIVE}


class SpikeSourcePoissonRefractory(EngineCellType, cells.SpikeSourcePoissonRefractory):
    __doc__ = cells.SpikeSourcePoissonRefractory.__doc__
    translations = identity_translations(cells.SpikeSourcePoissonRefractory)
    engine_model = spike_sources.SpikeSourcePoissonRefractory()
    parameter_ranges = {"rate": NON_NEGATIVE, "tau_refrac": NON_NEGATIVE,
                        "start": NON_NEGATIVE, "duration": NON_NEGATIVE}

    @classmethod
    def validate(cls, parameters):
        super().validate(parameters)
        if "rate" in parameters and "tau_refrac" in parameters:
            product = (np.asarray(parameters["rate"], dtype=float)
                       * np.asarray(parameters["tau_refrac"], dtype=float) / 1000.0)
            if (product >= 1.0).any():
                raise errors.InvalidParameterValueError(
                    "SpikeSourcePoissonRefractory: rate * tau_refrac must be < 1 "
                    f"(got {float(product.max())!r}); rate must be below 1000/tau_refrac Hz")


class SpikeSourceGamma(EngineCellType, cells.SpikeSourceGamma):
    __doc__ = cells.SpikeSourceGamma.__doc__
    translations = identity_translations(cells.SpikeSourceGamma)
    engine_model = spike_sources.SpikeSourceGamma()
    parameter_ranges = {"alpha": (1.0, True), "beta": NON_NEGATIVE,
                        "start": NON_NEGATIVE, "duration": NON_NEGATIVE}

    def get_schema(self):
        # PyNN types alpha as int, which would silently truncate 2.5 to 2: take it as a float
        # and reject non-integers in validate()
        return dict(super().get_schema(), alpha=float)

    @classmethod
    def validate(cls, parameters):
        super().validate(parameters)
        if "alpha" in parameters:
            alpha = np.asarray(parameters["alpha"], dtype=float)
            if (alpha != np.round(alpha)).any():
                raise errors.InvalidParameterValueError(
                    f"SpikeSourceGamma: alpha must be an integer >= 1 "
                    f"(got {float(alpha[alpha != np.round(alpha)].flat[0])!r})")


# ---- Izhikevich, adaptive and stochastic integrate-and-fire, FACETS, inhomogeneous gamma ----

def _per_cell_vectors(values):
    """Per-cell 1-D float arrays from a parameter array of ArrayParameter / Sequence values
    (or a plain (n, k) array)."""
    if not isinstance(values, np.ndarray):
        values = np.asarray(values, dtype=object)
    if values.ndim == 2:
        return [np.asarray(row, dtype=float) for row in values]
    return [np.atleast_1d(np.asarray(getattr(v, "value", v), dtype=float))
            for v in values.reshape(-1)]


class Izhikevich(EngineCellType, cells.Izhikevich):
    __doc__ = cells.Izhikevich.__doc__ + (
        "\n    Weights are in mV (the jump of v); i_offset and injected currents are in nA, "
        "entering the equation as I = 1000 i_offset (pA), as on pyNN.nest.\n")
    translations = identity_translations(cells.Izhikevich)
    engine_model = izhikevich.Izhikevich()


class IF_cond_exp_gsfa_grr(LIFCellType, cells.IF_cond_exp_gsfa_grr):
    __doc__ = cells.IF_cond_exp_gsfa_grr.__doc__
    translations = identity_translations(cells.IF_cond_exp_gsfa_grr)
    engine_model = gsfa_grr.IFCondExpGsfaGrr()
    parameter_ranges = dict(LIFCellType.parameter_ranges, tau_sfa=POSITIVE, tau_rr=POSITIVE)


class IF_facets_hardware1(LIFCellType, cells.IF_facets_hardware1):
    __doc__ = cells.IF_facets_hardware1.__doc__ + (
        "\n    Run as IF_cond_exp with cm = 0.2 nF, tau_m = cm/g_leak, tau_refrac = 1 ms, "
        "e_rev_E = 0 mV and i_offset = 0 (pyNN.nest's fixed parameters of iaf_cond_exp).\n")
    translations = identity_translations(cells.IF_facets_hardware1)
    engine_model = facets_hardware.IFFacetsHardware1()
    parameter_ranges = {"g_leak": POSITIVE, "tau_syn_E": POSITIVE, "tau_syn_I": POSITIVE}

    @classmethod
    def engine_parameters(cls, parameter_dicts, dt):
        native = {name: np.concatenate([np.asarray(d[name], dtype=float).reshape(-1)
                                        for d in parameter_dicts])
                  for name in cells.IF_facets_hardware1.default_parameters}
        return facets_hardware.cond_exp_parameters(**native)


class GIF_cond_exp(EngineCellType, cells.GIF_cond_exp):
    __doc__ = cells.GIF_cond_exp.__doc__ + (
        "\n    tau_eta, a_eta, tau_gamma, a_gamma: at most "
        f"{gif.MAX_COMPONENTS} components per cell. Escape noise from the network's random "
        "stream (setup(rng_seed=...)).\n")
    translations = identity_translations(cells.GIF_cond_exp)
    engine_model = gif.GIFCondExp()
    parameter_ranges = {"tau_m": POSITIVE, "cm": POSITIVE, "tau_syn_E": POSITIVE,
                        "tau_syn_I": POSITIVE, "tau_refrac": NON_NEGATIVE,
                        "delta_v": POSITIVE, "lambda0": NON_NEGATIVE}
    component_pairs = (("tau_eta", "a_eta"), ("tau_gamma", "a_gamma"))

    @classmethod
    def engine_parameters(cls, parameter_dicts, dt):
        model = cls.engine_model
        p = {}
        for name in model.parameter_names:
            if name in gif.COMPONENT_PARAMETERS:
                rows = [row for d in parameter_dicts for row in _per_cell_vectors(d[name])]
                p[name] = gif.component_array(rows, name)
            else:
                p[name] = np.concatenate([np.asarray(d[name], dtype=float).reshape(-1)
                                          for d in parameter_dicts])
        return p

    @classmethod
    def validate(cls, parameters):
        super().validate(parameters)
        vectors = {name: _per_cell_vectors(parameters[name])
                   for name in gif.COMPONENT_PARAMETERS if name in parameters}
        for tau_name, a_name in cls.component_pairs:
            for name in (tau_name, a_name):
                for row in vectors.get(name, []):
                    if row.size > gif.MAX_COMPONENTS:
                        raise errors.InvalidParameterValueError(
                            f"GIF_cond_exp: {name} has {row.size} components; pyNN.jax "
                            f"allows at most {gif.MAX_COMPONENTS}")
            for row in vectors.get(tau_name, []):
                check_range("GIF_cond_exp", tau_name, row, *POSITIVE)
            if tau_name in vectors and a_name in vectors:
                for taus, amplitudes in zip(vectors[tau_name], vectors[a_name]):
                    if taus.size != amplitudes.size:
                        raise errors.InvalidParameterValueError(
                            f"GIF_cond_exp: {tau_name} and {a_name} must have the same "
                            f"length (got {taus.size} and {amplitudes.size})")


class SpikeSourceInhGamma(EngineCellType, cells.SpikeSourceInhGamma):
    __doc__ = cells.SpikeSourceInhGamma.__doc__ + (
        "\n    A gamma renewal process whose shape a and scale b (s) change at the times tbins "
        "(ms), defined by its hazard as NEST's inh_gamma_generator (see "
        "pyNN_jax/engine/models/inh_gamma.py); mean rate 1/(a b) Hz in each bin.\n")
    translations = identity_translations(cells.SpikeSourceInhGamma)
    engine_model = inh_gamma.SpikeSourceInhGamma()
    parameter_ranges = {"start": NON_NEGATIVE, "duration": NON_NEGATIVE}

    @classmethod
    def engine_parameters(cls, parameter_dicts, dt):
        rows = {name: [row for d in parameter_dicts for row in _per_cell_vectors(d[name])]
                for name in ("a", "b", "tbins")}
        a, b, tbins = inh_gamma.encode_bins(rows["a"], rows["b"], rows["tbins"])
        p = {"a": a, "b": b, "tbins": tbins}
        for name in ("start", "duration"):
            p[name] = np.concatenate([np.asarray(d[name], dtype=float).reshape(-1)
                                      for d in parameter_dicts])
        return p

    @classmethod
    def validate(cls, parameters):
        super().validate(parameters)
        vectors = {name: _per_cell_vectors(parameters[name])
                   for name in ("a", "b", "tbins") if name in parameters}
        for name in ("a", "b"):
            for row in vectors.get(name, []):
                check_range("SpikeSourceInhGamma", name, row, *POSITIVE)
        for row in vectors.get("tbins", []):
            if (np.diff(row) < 0).any():
                raise errors.InvalidParameterValueError(
                    "SpikeSourceInhGamma: tbins must be in non-decreasing order "
                    f"(got {row.tolist()})")
        if len(vectors) == 3:
            for a, b, t in zip(vectors["a"], vectors["b"], vectors["tbins"]):
                if not a.size == b.size == t.size:
                    raise errors.InvalidParameterValueError(
                        "SpikeSourceInhGamma: a, b and tbins must have the same length "
                        f"(got {a.size}, {b.size} and {t.size})")
