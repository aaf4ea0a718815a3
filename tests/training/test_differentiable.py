"""The differentiable engine functions against closed forms and root finding."""
import numpy as np
import pytest
import jax
import jax.numpy as jnp
from scipy.optimize import brentq

from pyNN_jax.engine import differentiable as diff


def test_spike_function_is_heaviside_with_fast_sigmoid_derivative():
    x = jnp.array([-2.0, -0.1, 0.0, 0.3])
    slope = 5.0
    np.testing.assert_array_equal(diff.spike_function(x, slope), [0.0, 0.0, 1.0, 1.0])
    derivative = jax.vmap(jax.grad(lambda u: diff.spike_function(u, slope)))(x)
    np.testing.assert_allclose(derivative, 1.0 / (1.0 + slope * np.abs(x)) ** 2, rtol=1e-6)


def test_spike_raster_counts_the_spikes_of_each_step():
    steps = jnp.array([[0, 2, 0, 5], [2, 2, 7, 9]])      # steps >= n_steps: padding
    raster = np.asarray(diff.spike_raster(steps, n_steps=5))
    np.testing.assert_array_equal(raster[:, 0], [2, 0, 1, 0, 0])
    np.testing.assert_array_equal(raster[:, 1], [0, 0, 2, 0, 0])


def membrane(t, in_times, weights, tau_syn, cm):
    """v - v_rest (mV) of an IF_curr_exp cell with tau_m = 2 tau_syn (superposition)."""
    tau_m = 2 * tau_syn
    total = 0.0
    for t_i, w in zip(in_times, weights):
        if t >= t_i:
            s = t - t_i
            total += w / cm * tau_m * tau_syn / (tau_m - tau_syn) * (
                np.exp(-s / tau_m) - np.exp(-s / tau_syn))
    return total


@pytest.mark.parametrize("in_times, weights, expect_spike", [
    ([1.0], [5.0], True),                     # one strong input
    ([1.0], [3.9], False),                    # subthreshold: peak tau_m/(4 cm) w = 9.75 mV
    ([1.0, 2.0, 6.0], [4.5, -1.0, 3.0], True),  # inhibition delays the crossing to the 3rd
    ([0.5, 0.7, 4.0], [2.5, 2.5, -3.0], True),  # crossing before the inhibitory spike
])
def test_first_spike_is_the_first_threshold_crossing(in_times, weights, expect_spike):
    tau_syn, cm, theta = 5.0, 1.0, 10.0
    t = float(diff.lif_first_spike(jnp.array(in_times)[:, None], jnp.array(weights)[:, None],
                                   jnp.array([tau_syn]), jnp.array([cm]),
                                   jnp.array([theta]))[0])
    grid = np.linspace(0.0, 60.0, 60001)
    v = np.array([membrane(s, in_times, weights, tau_syn, cm) for s in grid])
    above = np.nonzero(v >= theta)[0]
    assert bool(above.size) == expect_spike
    if expect_spike:
        k = above[0]
        root = brentq(lambda s: membrane(s, in_times, weights, tau_syn, cm) - theta,
                      grid[k - 1], grid[k])
        assert t == pytest.approx(root, abs=2e-4)
    else:
        assert np.isinf(t)


def test_first_spike_gradient_is_the_implicit_function_derivative():
    # dt*/dw = -(dV/dw) / (dV/dt) at t* (implicit function theorem), one input at t = 0
    tau_syn, cm, theta, w = 5.0, 1.0, 10.0, 5.0
    tau_m = 2 * tau_syn

    def t_star(weight):
        return diff.lif_first_spike(jnp.zeros((1, 1)), weight * jnp.ones((1, 1)),
                                    jnp.array([tau_syn]), jnp.array([cm]),
                                    jnp.array([theta]))[0]
    t = float(t_star(w))
    kernel = tau_m / cm * (np.exp(-t / tau_m) - np.exp(-t / tau_syn))
    slope = w * tau_m / cm * (-np.exp(-t / tau_m) / tau_m + np.exp(-t / tau_syn) / tau_syn)
    assert float(jax.grad(t_star)(w)) == pytest.approx(-kernel / slope, rel=1e-4)


def test_recurrent_network_has_no_topological_order():
    spec = diff.NetworkSpec((2, 3, 3), 0, (diff.Connection(0, 1, 0, 1),
                                           diff.Connection(1, 2, 0, 1),
                                           diff.Connection(2, 1, 1, 1)), 1)
    with pytest.raises(ValueError, match="recurrent"):
        diff.topological_order(spec)
    assert diff.topological_order(spec._replace(connections=spec.connections[:2])) == [0, 1, 2]


def test_first_spike_after_inputs_many_time_constants_apart_is_finite_and_exact():
    """Inputs at 0 and 50 ms with tau_syn = 0.5 ms (exp(50/tau_syn) overflows float32): the
    spike caused by the second input is the float64 root of the membrane equation, and its
    gradient is finite and the implicit function derivative."""
    tau_syn, cm, theta = 0.5, 0.1, 10.0                  # one input's peak: 2.5 mV per nA
    tau_m = 2 * tau_syn
    in_times = [0.0, 50.0]

    def t_star(weights, arrivals):
        return diff.lif_first_spike(arrivals[:, None], weights[:, None],
                                    jnp.array([tau_syn]), jnp.array([cm]),
                                    jnp.array([theta]))[0]
    weights = jnp.array([1.0, 5.0])                      # the first input alone: 2.5 mV
    arrivals = jnp.array(in_times)
    t = float(t_star(weights, arrivals))
    root = brentq(lambda s: membrane(s, in_times, [1.0, 5.0], tau_syn, cm) - theta,
                  50.0, 50.0 + tau_m * np.log(2.0))     # before the single input's peak
    assert t == pytest.approx(root, abs=1e-4)
    grad_w, grad_t = jax.grad(t_star, argnums=(0, 1))(weights, arrivals)
    assert np.all(np.isfinite(grad_w)) and np.all(np.isfinite(grad_t))
    s = root - 50.0
    kernel = tau_m / cm * (np.exp(-s / tau_m) - np.exp(-s / tau_syn))
    slope = 5.0 * tau_m / cm * (-np.exp(-s / tau_m) / tau_m + np.exp(-s / tau_syn) / tau_syn)
    assert float(grad_w[1]) == pytest.approx(-kernel / slope, rel=1e-3)
    assert float(grad_t[1]) == pytest.approx(1.0, rel=1e-4)    # the spike moves with it
    assert abs(float(grad_w[0])) < 1e-6                  # decayed by exp(-50 ms / tau_m)
