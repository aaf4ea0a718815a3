"""Stream compaction: first_true against numpy's nonzero."""
import numpy as np
import jax.numpy as jnp
import pytest

from pyNN_jax.engine.compact import first_true


@pytest.mark.parametrize("n", [1, 31, 512, 513, 4000, 70001])
@pytest.mark.parametrize("density", [0.0, 0.0005, 0.02, 0.6, 1.0])
def test_first_true_is_the_first_nonzero_indices(n, density):
    rng = np.random.default_rng(n)
    mask = rng.random(n) < density
    for size in (1, 16, 100):
        expected = np.full(size, n)
        found = np.nonzero(mask)[0][:size]
        expected[:found.size] = found
        np.testing.assert_array_equal(np.asarray(first_true(jnp.asarray(mask), size)), expected)


def test_first_true_finds_entries_in_the_last_padded_word():
    mask = np.zeros(1000, dtype=bool)
    mask[[998, 999]] = True
    np.testing.assert_array_equal(np.asarray(first_true(jnp.asarray(mask), 3)), [998, 999, 1000])
