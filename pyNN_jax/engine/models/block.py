"""Time-parallel advance of LIF cells over a block of steps (block method).

Taylor, King & Harper (NeurIPS 2023), "Addressing the speed-accuracy simulation trade-off for
adaptive spiking neurons": a cell with an absolute refractory period of R steps fires at most
once in any R + 1 consecutive steps. Over such a block, and when every input of the block is
known at its start (all delays at least the block), the membrane without reset is a linear
recurrence, solved for all steps at once by a parallel prefix scan; the first threshold
crossing is the block's only spike, and after it the cell is held at v_reset to the end of
the block. The sequential depth is T / block instead of T; the result is the step-by-step
result up to floating-point rounding (the recurrence is summed in another order).
"""
import jax.numpy as jnp
from jax import lax


def linear_recurrence(a, b, x0):
    """x_0 = x0, x_{j+1} = a_j x_j + b_j for j < len(b), all at once.

    Parameters
    ----------
    a : array (n,) or (n_block, n)   multipliers (a constant is broadcast over the block)
    b : array (n_block, n)           additive terms
    x0 : array (n,)

    Returns
    -------
    array (n_block + 1, n): x_0 ... x_{n_block}
    """
    a = jnp.broadcast_to(a, b.shape)

    def compose(first, then):
        a_first, b_first = first
        a_then, b_then = then
        return a_first * a_then, a_then * b_first + b_then

    a_prefix, b_prefix = lax.associative_scan(compose, (a, b), axis=0)
    return jnp.concatenate([x0[None], a_prefix * x0 + b_prefix], axis=0)


def free_steps(refractory, n_block):
    """(n_block, n) True where the cell integrates in step j: its refractory countdown at
    the start of the block, ``refractory`` (n,), has run out."""
    return jnp.arange(n_block)[:, None] >= refractory


def threshold_in_block(p, d, refractory, v_free):
    """Spikes, membrane and refractory countdown over a block with at most one spike per cell.

    ``v_free`` (n_block, n) is v after each step without any reset (held where not free);
    ``d["ref_steps"]`` must be at least n_block - 1. Returns (counts (n_block, n) int32,
    v after each step, refractory countdown after each step), reset and countdown as in
    :func:`.lif_current.threshold_and_reset`.
    """
    n_block = v_free.shape[0]
    step = jnp.arange(n_block)[:, None]
    crossing = free_steps(refractory, n_block) & (v_free >= p["v_thresh"])
    spiked = crossing.any(axis=0)
    first = jnp.argmax(crossing, axis=0)
    after = spiked & (step >= first)
    counts = (after & (step == first)).astype(jnp.int32)
    v = jnp.where(after, p["v_reset"], v_free)
    countdown = jnp.where(after, d["ref_steps"] - (step - first),
                          jnp.maximum(refractory - (step + 1), 0))
    return counts, v, countdown.astype(refractory.dtype)
