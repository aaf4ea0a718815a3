"""The engine's random numbers: JAX's threefry2x32, lowered without a loop on CPU.

On CPU, JAX lowers the threefry2x32 hash as a while loop over its 5 groups of rounds (less code
to compile). Inside the engine's time step every ``fold_in`` and every draw (Poisson and gamma
sources, noise currents, stochastic synapses) then becomes a loop of ~30 small kernel launches
per step, and under ``jax.vmap`` (parameter sweeps) the largest cost of the step. The unrolled
lowering, the one JAX uses on GPU and TPU, computes the same bits in one fused kernel: about 7x
faster per draw on a 2-core CPU (100 keys, 20 draws each: 50 -> 7 us), and it compiles faster.

:func:`unroll_threefry_on_cpu` registers it for the CPU platform, for the whole process (other
JAX code gets the same bits, lowered the same way). It uses JAX internals; where they differ
(another JAX version), the default lowering stays: the same numbers, slower.

:func:`bits` and :func:`uniform` draw entries ``first ... first + n - 1`` of a longer draw
(the cells of one device in a network split over several, :mod:`.sharding`): the same numbers
as that draw's slice, computed for these entries only.
"""
import warnings

import numpy as np
import jax
import jax.numpy as jnp
from jax import lax

_registered = False


def unroll_threefry_on_cpu():
    """Lower threefry2x32 unrolled on CPU (idempotent); return True if it is."""
    global _registered
    if not _registered:
        try:
            from jax._src.interpreters import mlir
            from jax._src.random import threefry2x32
            mlir.register_lowering(threefry2x32.threefry2x32_p,
                                   threefry2x32._threefry2x32_lowering_rule, platform="cpu")
            _registered = True
        except Exception as error:     # pragma: no cover - JAX internals moved
            warnings.warn(f"pyNN.jax: threefry2x32 keeps JAX's rolled CPU lowering ({error}); "
                          "random processes run slower on CPU")
    return _registered


def raw_key(seed):
    """``jax.random.PRNGKey(seed)`` for an integer 0 <= seed < 2**64, built on the host when
    the default generator is threefry (PRNGKey would run, and on a first run compile, two
    small XLA computations)."""
    if jax.config.jax_default_prng_impl != "threefry2x32":
        return jax.random.PRNGKey(seed)
    return np.array([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF], dtype=np.uint32)



def _hashed_counters(key, n, first):
    """The two uint32 halves of threefry2x32 of the counters first ... first + n - 1 (as JAX's
    partitionable threefry hashes entry i of a draw of any shape below 2**32 entries)."""
    if not jax.config.jax_threefry_partitionable:       # pragma: no cover
        raise RuntimeError("pyNN.jax: a draw of part of the cells needs "
                           "jax_threefry_partitionable (JAX's default)")
    from jax._src.random.threefry2x32 import threefry2x32_p
    counter = lax.iota(jnp.uint32, n) + jnp.asarray(first, jnp.uint32)
    return threefry2x32_p.bind(key[0], key[1], jnp.zeros(n, jnp.uint32), counter)


def _whole(first):
    return isinstance(first, int) and first == 0


def bits(key, n, first=0):
    """``jax.random.bits(key, (N,), uint32)[first:first + n]`` for any N >= first + n
    (``key``: a raw uint32 key; ``first`` may be traced): the slice is hashed directly, not
    drawn whole."""
    if _whole(first):
        return jax.random.bits(key, (n,), jnp.uint32)
    high, low = _hashed_counters(key, n, first)
    return high ^ low


def uniform(key, n, dtype, first=0):
    """``jax.random.uniform(key, (N,), dtype)[first:first + n]``, as :func:`bits` (float32
    or float64)."""
    dtype = jnp.dtype(dtype)
    if _whole(first):
        return jax.random.uniform(key, (n,), dtype)
    high, low = _hashed_counters(key, n, first)
    finfo = jnp.finfo(dtype)
    unsigned = jnp.dtype(f"uint{finfo.bits}")
    if finfo.bits == 64:
        raw = (high.astype(unsigned) << unsigned.type(32)) | low.astype(unsigned)
    else:
        raw = high ^ low
    mantissa = lax.shift_right_logical(raw, unsigned.type(finfo.bits - finfo.nmant))
    one = unsigned.type(np.array(1.0, dtype).view(unsigned))
    return jnp.maximum(lax.bitcast_convert_type(mantissa | one, dtype) - dtype.type(1),
                       dtype.type(0))
