"""pyNN_jax.sorting.stable_order: numpy's stable argsort, digit by digit."""
import numpy as np
import pytest

from pyNN_jax.sorting import stable_order


@pytest.mark.parametrize("high", [1, 300, 70_000, 5_000_000_000])
def test_equals_a_stable_argsort(high):
    keys = np.random.default_rng(high).integers(0, high, 5000)
    np.testing.assert_array_equal(stable_order(keys), np.argsort(keys, kind="stable"))
    np.testing.assert_array_equal(stable_order(keys, high), np.argsort(keys, kind="stable"))


def test_no_keys():
    assert stable_order(np.zeros(0, np.int64)).size == 0
