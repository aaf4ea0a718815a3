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
"""
import warnings

import numpy as np
import jax

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
