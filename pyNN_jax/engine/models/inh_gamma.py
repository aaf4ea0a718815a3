"""Inhomogeneous gamma renewal process, PyNN's ``SpikeSourceInhGamma`` (Muller et al. 2007).

PyNN's parameters: sequences ``a`` (shape, dimensionless), ``b`` (scale, in seconds) and
``tbins`` (ms): from tbins[i] on, until tbins[i+1], the process has the parameters a[i], b[i];
the mean rate in a bin is 1/(a b) (Hz). pyNN.nest maps the model to NEST's
``inh_gamma_generator`` (Eilif Muller's model for NEST 1.x/2.x, absent from NEST 3, so the
model does not run on pyNN.nest with NEST 3). That generator defines the process by its
hazard: at time t, a time tau after the last spike, the spike rate is the hazard of the gamma
distribution of the current bin,

    h(tau) = f(tau) / S(tau),   S(tau) = Q(a, tau/b)   (Q: regularized upper incomplete gamma)

(realised there by thinning a Poisson process of rate 1.02 max(1/b)). Before tbins[0] the
hazard is 0. The age tau counts from t = 0, and, as in NEST, the process runs outside
[start, start + duration) too: only the emission of its spikes is gated by that window.

Scheme, on the time grid: in step k (from k dt to (k+1) dt) a cell with age tau_k at the
start of the step spikes with probability

    p_k = 1 - S(tau_k + dt) / S(tau_k)     (a, b of the bin containing k dt, tbins rounded
                                            to the grid)

which is exact for piecewise-constant a and b. After a spike in step k the age at the start
of step k + 1 is dt/2 (the expected time since a spike placed uniformly in the step), which
keeps the mean interval unbiased to O(dt^2); the age at t = 0 is likewise dt/2. The state is
the integer step ``last_spike`` = k + 1 of the last spike (0 at the start), so the age
tau_k = (k - last_spike + 1/2) dt is exact in any precision. At most one spike per step: for
a >= 1 the probability of two is O((dt/b)^2). Random numbers come from the step's PRNG key.

log S is computed with jax.scipy.special.gammaincc and, where S underflows (tiny survival
after a switch to a much shorter b), from its asymptotic series
log Q(a, x) ~ (a-1) log x - x - lgamma(a) + log(1 + (a-1)/x + (a-1)(a-2)/x^2 + ...).
"""
import numpy as np
import jax
import jax.numpy as jnp
from jax.scipy.special import gammaincc, gammaln

from .. import prng
from ..time_grid import to_steps
from .base import NeuronModel
from .spike_sources import active_window, is_active

SURVIVAL_FLOOR = 1e-30


def encode_bins(a_rows, b_rows, tbin_rows):
    """Padded (n, m) arrays of a, b (s) and tbins (ms) from per-cell sequences; bins past a
    cell's own are padded with tbins = +inf (never reached)."""
    width = max([len(np.atleast_1d(t)) for t in tbin_rows] + [1])
    width = 1 << int(np.ceil(np.log2(width)))     # fewer shapes, fewer recompilations
    n = len(tbin_rows)
    a = np.ones((n, width))
    b = np.ones((n, width))
    tbins = np.full((n, width), np.inf)
    for i, (ar, br, tr) in enumerate(zip(a_rows, b_rows, tbin_rows)):
        ar, br, tr = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (ar, br, tr))
        a[i, :ar.size], b[i, :br.size], tbins[i, :tr.size] = ar, br, tr
    return a, b, tbins


def log_survival(a, x):
    """log Q(a, x), the log survival function of a unit-scale gamma(a) variable, x >= 0."""
    q = gammaincc(a, x)
    safe_x = jnp.maximum(x, 1.0)
    am1 = a - 1.0
    series = (1.0 + am1 / safe_x + am1 * (a - 2.0) / safe_x ** 2
              + am1 * (a - 2.0) * (a - 3.0) / safe_x ** 3)
    asymptotic = (am1 * jnp.log(safe_x) - safe_x - gammaln(a)
                  + jnp.log(jnp.maximum(series, SURVIVAL_FLOOR)))
    return jnp.where(q > SURVIVAL_FLOOR, jnp.log(jnp.maximum(q, SURVIVAL_FLOOR)), asymptotic)


class SpikeSourceInhGamma(NeuronModel):
    name = "SpikeSourceInhGamma"
    multiple_spikes_per_step = True
    parameter_names = ("a", "b", "tbins", "start", "duration")
    state_names = ("last_spike",)
    integer_state_names = NeuronModel.integer_state_names + ("last_spike",)

    def derive(self, p, dt, xp):
        start_step, stop_step = active_window(xp, p, dt)
        return {"bin_steps": to_steps(xp, p["tbins"], dt),
                "scale_ms": p["b"] * 1000.0,
                "start_step": start_step, "stop_step": stop_step}

    def step(self, p, d, s, syn_in, i_ext, ctx):
        k = ctx.step
        dt = ctx.dt
        bin_index = jax.vmap(lambda row: jnp.searchsorted(row, k, side="right"))(
            d["bin_steps"]) - 1
        in_bins = bin_index >= 0
        column = jnp.maximum(bin_index, 0)[:, None]
        a = jnp.take_along_axis(p["a"], column, axis=1)[:, 0]
        scale = jnp.take_along_axis(d["scale_ms"], column, axis=1)[:, 0]
        age = (k - s["last_spike"]).astype(a.dtype) * dt + 0.5 * dt
        log_ratio = log_survival(a, (age + dt) / scale) - log_survival(a, age / scale)
        p_spike = -jnp.expm1(jnp.minimum(log_ratio, 0.0))
        u = prng.uniform(ctx.key, a.shape[0], a.dtype, ctx.first_cell)
        spike = in_bins & (u < p_spike)
        last_spike = jnp.where(spike, k + 1, s["last_spike"])
        emitted = spike & is_active(d, k)
        return {"last_spike": last_spike.astype(jnp.int32)}, emitted.astype(jnp.int32)
