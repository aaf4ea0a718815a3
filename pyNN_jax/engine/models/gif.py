"""Generalized integrate-and-fire model with escape noise (Mensi et al. 2012, Pozzorini et
al. 2015), NEST's ``gif_cond_exp``, PyNN's ``GIF_cond_exp``:

    cm dv/dt = cm (v_rest - v)/tau_m + g_E (e_rev_E - v) + g_I (e_rev_I - v)
               - eta(t) + i_offset + i_inj
    eta(t)   = sum_j eta_j,    deta_j/dt   = -eta_j/tau_eta_j      (spike-triggered current)
    gamma(t) = sum_j gamma_j,  dgamma_j/dt = -gamma_j/tau_gamma_j  (threshold movement)
    v_T(t)   = v_t_star + gamma(t)
    lambda(t) = lambda0 exp((v - v_T)/delta_v)                     (escape rate)

A spike happens in a step with probability 1 - exp(-lambda dt); then every eta_j jumps by
a_eta_j, every gamma_j by a_gamma_j, and v is held at v_reset for the next tau_refrac in
steps, rounded up (:mod:`..time_grid`; v itself is not reset in the step of the spike, as in
NEST).
Units: mV, ms, nA, nF, uS; lambda0 in Hz (1/s); a_eta in nA, a_gamma in mV.
Recordables: ``i_eta`` = eta (nA) and ``v_t`` = v_T (mV), NEST's I_stc and E_sfa.

``tau_eta``, ``a_eta``, ``tau_gamma``, ``a_gamma`` are vectors (PyNN ArrayParameter values),
possibly of a different length per cell. They are stored as arrays of shape (n, K) with
K = MAX_COMPONENTS components, padded with a_j = 0 (and tau_j = 1 ms), and so are the state
variables ``stc`` (the eta_j) and ``sfa`` (the gamma_j).

Scheme, step k, in NEST's order (gif_cond_exp::update):
1. i_eta := sum_j eta_j and v_t := v_t_star + sum_j gamma_j (values at the start of the
   step, which NEST records); then eta_j, gamma_j decay by exp(-dt/tau_j) (exact);
2. membrane: IF_cond_exp's exponential integrator (:func:`.lif_conductance.integrate_membrane`,
   g_E, g_I in closed form) with i_eta held constant; during the refractory
   period v is instead held at v_reset;
3. the synaptic weights arriving in the step are added to g_E and g_I;
4. outside the refractory period, a uniform random number u is drawn per cell from the
   step's PRNG key (``ctx.key``, so reproducible for a seed) and the cell spikes if
   u < 1 - exp(-lambda dt), with lambda from v after step 2 and v_t of step 1.
NEST integrates the membrane with GSL's adaptive RKF45 and draws from its own generator, so
the spike trains agree with NEST's in distribution, not spike by spike; with delta_v -> 0 the
model becomes deterministic (threshold v_t) and the spike times agree within one step.
"""
import numpy as np
import jax.numpy as jnp

from .. import prng
from ..time_grid import refractory_steps
from .base import NeuronModel
from .lif_conductance import conductance_constants, exp_channels, integrate_membrane

MAX_COMPONENTS = 8
COMPONENT_PARAMETERS = ("tau_eta", "a_eta", "tau_gamma", "a_gamma")
COMPONENT_STATE = ("stc", "sfa")
PAD = {"tau_eta": 1.0, "tau_gamma": 1.0, "a_eta": 0.0, "a_gamma": 0.0}
LOG_HAZARD_CAP = 50.0     # lambda dt > e^50 is a certain spike; avoids inf and nan


def component_array(rows, name):
    """(n, MAX_COMPONENTS) float array from a sequence of 1-D per-cell vectors, padded."""
    out = np.full((len(rows), MAX_COMPONENTS), PAD[name])
    for i, row in enumerate(rows):
        row = np.asarray(row, dtype=float).reshape(-1)
        if row.size > MAX_COMPONENTS:
            raise ValueError(f"{name}: at most {MAX_COMPONENTS} components (got {row.size})")
        out[i, :row.size] = row
    return out


def fit_components(values, n):
    """State of the components as (n, MAX_COMPONENTS): zeros unless already of that shape."""
    values = np.asarray(values, dtype=float)
    if values.shape == (n, MAX_COMPONENTS):
        return values
    out = np.zeros((n, MAX_COMPONENTS))
    if values.ndim == 2:
        k = min(values.shape[1], MAX_COMPONENTS)
        out[:, :k] = values[:, :k]
    return out


class GIFCondExp(NeuronModel):
    name = "GIF_cond_exp"
    parameter_names = ("v_rest", "cm", "tau_m", "tau_refrac", "tau_syn_E", "tau_syn_I",
                       "e_rev_E", "e_rev_I", "v_reset", "i_offset", "delta_v", "v_t_star",
                       "lambda0") + COMPONENT_PARAMETERS
    state_names = ("v", "gsyn_exc", "gsyn_inh", "i_eta", "v_t") + COMPONENT_STATE + (
        "refractory",)
    port_names = ("excitatory", "inhibitory")
    # not random: the hook that gives the component state its (n, K) shape
    random_initial_state = True

    def derive(self, p, dt, xp):
        lambda_dt = p["lambda0"] / 1000.0 * dt          # Hz -> expected spikes per step at v_T
        positive = lambda_dt > 0
        log_lambda_dt = xp.where(positive, xp.log(xp.where(positive, lambda_dt, 1.0)), -xp.inf)
        return {
            "ref_steps": refractory_steps(xp, p["tau_refrac"], dt),
            **conductance_constants(xp, p, dt),
            "decay_stc": xp.exp(-dt / p["tau_eta"]),
            "decay_sfa": xp.exp(-dt / p["tau_gamma"]),
            "log_lambda_dt": log_lambda_dt,
        }

    def initial_state(self, p, state, rng):
        n = np.asarray(p["v_rest"]).shape[0]
        for name in COMPONENT_STATE:
            state[name] = fit_components(state[name], n)
        return state

    def resume_state(self, p, state, current_step):
        return self.initial_state(p, state, None)

    def step(self, p, d, s, syn_in, i_ext, ctx):
        # 1. adaptation sums at the start of the step, then exact decay
        i_eta = s["stc"].sum(axis=1)
        v_t = p["v_t_star"] + s["sfa"].sum(axis=1)
        stc = s["stc"] * d["decay_stc"]
        sfa = s["sfa"] * d["decay_sfa"]
        # 2. membrane (IF_cond_exp's integrator), clamped while refractory
        ge, gi = s["gsyn_exc"], s["gsyn_inh"]
        v_free = integrate_membrane(p, d, s["v"], exp_channels(p, ge, gi),
                                    p["i_offset"] + i_ext - i_eta, ctx.dt, ctx.step)
        refractory_before = s["refractory"] > 0
        v = jnp.where(refractory_before, p["v_reset"], v_free)
        # 3. arriving input
        gsyn_exc = ge * d["half_e"] ** 2 + syn_in[0]
        gsyn_inh = gi * d["half_i"] ** 2 + syn_in[1]
        # 4. escape noise
        log_hazard = jnp.minimum(d["log_lambda_dt"] + (v - v_t) / p["delta_v"], LOG_HAZARD_CAP)
        p_spike = -jnp.expm1(-jnp.exp(log_hazard))
        u = prng.uniform(ctx.key, v.shape[0], v.dtype, ctx.first_cell)
        spike = ~refractory_before & (u < p_spike)
        stc = jnp.where(spike[:, None], stc + p["a_eta"], stc)
        sfa = jnp.where(spike[:, None], sfa + p["a_gamma"], sfa)
        refractory = jnp.where(spike, d["ref_steps"],
                               jnp.where(refractory_before, s["refractory"] - 1, 0))
        return {"v": v, "gsyn_exc": gsyn_exc, "gsyn_inh": gsyn_inh, "i_eta": i_eta,
                "v_t": v_t, "stc": stc, "sfa": sfa, "refractory": refractory}, \
            spike.astype(jnp.int32)
