"""Stream compaction: the indices of the first few True entries of a long boolean array.

``jnp.nonzero(mask, size=k)`` computes a prefix sum over the whole array, which XLA lowers to a
log-depth scan: ~10 ns per element on a CPU, the largest cost of a sparse spike step. Here the
array is cut into words of ``WORD`` entries; the words holding a True entry are found first
(recursively, on an array ``WORD`` times shorter), then the entries inside the first ``size``
such words. The first ``size`` True entries lie in the first ``size`` non-empty words, so the
result equals ``jnp.nonzero``'s, at a cost of one cheap reduction over the array.
"""
import jax.numpy as jnp

SHIFT = 5
WORD = 1 << SHIFT
DIRECT_BELOW = 512       # arrays this short: one prefix sum


def first_true(mask, size):
    """Indices (int32, ascending) of the first ``size`` True entries of the 1-D ``mask``;
    missing entries are ``mask.size`` (as ``jnp.nonzero(mask, size=size,
    fill_value=mask.size)[0]``)."""
    n = mask.shape[0]
    if n <= DIRECT_BELOW:
        return _first_true_direct(mask, size)
    n_words = -(-n // WORD)
    words = jnp.pad(mask, (0, n_words * WORD - n)).reshape(n_words, WORD)
    chosen = first_true(words.any(axis=1), size)
    chosen_valid = chosen < n_words
    candidates = words[jnp.where(chosen_valid, chosen, 0)] & chosen_valid[:, None]
    index = chosen[:, None] * WORD + jnp.arange(WORD, dtype=jnp.int32)
    return _first_true_direct(candidates.reshape(-1), size, index.reshape(-1), n)


def _first_true_direct(mask, size, index=None, fill=None):
    """``index[i]`` (default ``i``) of the first ``size`` True entries ``i`` of the (short)
    ``mask``, ``fill`` (default ``mask.size``) for missing ones, by one prefix sum. The result
    comes out of a scatter, a materialised buffer: XLA does not fuse and recompute the index
    arithmetic into every element of its consumers (the (rows, width) gathers)."""
    n = mask.shape[0]
    index = jnp.arange(n, dtype=jnp.int32) if index is None else index
    rank = jnp.cumsum(mask, dtype=jnp.int32) - 1
    return jnp.full(size, n if fill is None else fill, jnp.int32).at[
        jnp.where(mask, rank, size)].set(index, mode="drop")
