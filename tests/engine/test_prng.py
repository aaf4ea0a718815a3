"""The engine's random keys and the unrolled threefry lowering give JAX's own numbers."""
import numpy as np
import jax
import pytest
from jax.extend.random import threefry_2x32

from pyNN_jax.engine import prng


@pytest.mark.parametrize("seed", [0, 1, 12345, 2 ** 31 - 1, 2 ** 32 - 1])
def test_raw_key_is_prngkey(seed):
    np.testing.assert_array_equal(prng.raw_key(seed), np.asarray(jax.random.PRNGKey(seed)))


@pytest.mark.parametrize("key,count,expected", [      # Random123 known answers
    ((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0))])
def test_unrolled_threefry_gives_the_known_answers(key, count, expected):
    """threefry2x32 (20 rounds) with the lowering the engine registers, inside jit."""
    assert prng.unroll_threefry_on_cpu()
    hashed = jax.jit(threefry_2x32)(np.array(key, np.uint32), np.array(count, np.uint32))
    np.testing.assert_array_equal(np.asarray(hashed), np.array(expected, np.uint32))
