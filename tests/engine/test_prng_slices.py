"""Draws of a part of the cells (a device's share): the slice of the group's draw."""
import numpy as np
import jax
import jax.numpy as jnp
import pytest

from pyNN_jax.engine import prng


def test_bits_of_a_slice_are_the_slice_of_the_draw():
    key = jnp.asarray(prng.raw_key(12345))
    whole = np.asarray(jax.random.bits(key, (1000,), jnp.uint32))
    part = jax.jit(lambda key, first: prng.bits(key, 300, first))(key, 500)
    np.testing.assert_array_equal(part, whole[500:800])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_of_a_slice_is_the_slice_of_the_draw(dtype):
    with jax.enable_x64(dtype == "float64"):
        key = jnp.asarray(prng.raw_key(7))
        whole = np.asarray(jax.random.uniform(key, (1000,), jnp.dtype(dtype)))
        part = jax.jit(lambda key, first: prng.uniform(key, 300, dtype, first))(key, 123)
        assert part.dtype == jnp.dtype(dtype)
        np.testing.assert_array_equal(part, whole[123:423])
