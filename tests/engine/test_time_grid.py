"""Times to steps: nearest step, halves up, the same for constant and varying arrays."""
import numpy as np
import jax.numpy as jnp

from pyNN_jax.engine.time_grid import NEVER, to_steps


def test_halves_round_up_and_binary_fractions_stay_on_their_half():
    t = np.array([0.15, 0.25, 10.05, 10.0, 0.04, 1e12])
    np.testing.assert_array_equal(to_steps(np, t, 0.1), [2, 3, 101, 100, 0, NEVER])
    np.testing.assert_array_equal(np.asarray(to_steps(jnp, jnp.asarray(t[:5]), 0.1)),
                                  [2, 3, 101, 100, 0])


def test_a_constant_array_gives_what_each_entry_gives():
    for value in (0.15, 1.5, 0.05, 7.3):
        constant = np.full(1000, value)
        steps = to_steps(np, constant, 0.1)
        assert steps.dtype == np.int32 and steps.shape == (1000,)
        np.testing.assert_array_equal(steps, to_steps(np, np.array([value, 0.0]), 0.1)[0])
