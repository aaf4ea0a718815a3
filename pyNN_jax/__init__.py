"""pyNN.jax: a PyNN simulator backend whose engine is JAX (CPU, GPU, TPU).

``import pyNN.jax as sim`` (or ``import pyNN_jax as sim``) and use the PyNN API.
"""
from .deferred_imports import defer_import
defer_import("csa")      # before pyNN.connectors imports it: csa imports matplotlib.pyplot

from pyNN import errors, random, space                             # noqa: F401
from pyNN.network import Network                                   # noqa: F401
from pyNN.space import Space                                       # noqa: F401
from pyNN.standardmodels import StandardCellType
from pyNN.random import NumpyRNG, GSLRNG, RandomDistribution       # noqa: F401
from pyNN.recording import *                                       # noqa: F401,F403
from pyNN.parameters import (                                      # noqa: F401
    ArrayParameter, LazyArray, ParameterSpace, Sequence)

from .standardmodels.cells import (                                # noqa: F401
    IF_curr_exp, IF_curr_alpha, IF_curr_delta, IF_cond_exp, IF_cond_alpha,
    EIF_cond_exp_isfa_ista, EIF_cond_alpha_isfa_ista, HH_cond_exp, Izhikevich,
    IF_cond_exp_gsfa_grr, IF_facets_hardware1, GIF_cond_exp, SpikeSourceArray,
    SpikeSourcePoisson, SpikeSourcePoissonRefractory, SpikeSourceGamma, SpikeSourceInhGamma)
from .standardmodels.synapses import (                             # noqa: F401
    StaticSynapse, TsodyksMarkramSynapse, STDPMechanism, SpikePairRule, Vogels2011Rule,
    AdditiveWeightDependence, MultiplicativeWeightDependence,
    AdditivePotentiationMultiplicativeDepression, GutigWeightDependence,
    SimpleStochasticSynapse, StochasticTsodyksMarkramSynapse, MultiQuantalSynapse,
    ElectricalSynapse)
from .standardmodels.composed import (                             # noqa: F401
    PointNeuron, LIF, AdExp, CurrExpPostSynapticResponse, CondExpPostSynapticResponse,
    CondAlphaPostSynapticResponse, CondBetaPostSynapticResponse, ExpPSR, AlphaPSR, BetaPSR)
from .standardmodels.electrodes import (                           # noqa: F401
    DCSource, ACSource, StepCurrentSource, NoisyCurrentSource)
from .connectors import *                                          # noqa: F401,F403
from .random import NativeRNG                                      # noqa: F401
from .populations import Population, PopulationView, Assembly     # noqa: F401
from .projections import Projection                                # noqa: F401
from .simulator import state                                       # noqa: F401
from .control import (                                             # noqa: F401
    setup, end, run, run_until, run_for, reset, initialize, get_current_time, get_time_step,
    get_min_delay, get_max_delay, num_processes, rank)
from .procedural_api import create, connect, record, record_v, record_gsyn, set  # noqa: F401

__version__ = "0.1.0"


def list_standard_models():
    """Names of the StandardCellType classes available in pyNN.jax."""
    return [obj.__name__ for obj in globals().values()
            if isinstance(obj, type) and issubclass(obj, StandardCellType)
            and obj is not StandardCellType]
