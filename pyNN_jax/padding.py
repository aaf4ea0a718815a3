"""Sizes padded so that a script edited a little finds its compiled chunk in the persistent
compilation cache.

The compiled chunk depends on the shapes of the network's arrays: the cells of each group,
the rows of each static table, the recorded cells. A script run again with 4100 cells
instead of 4000, or another connection probability, would compile again. With a persistent
compilation cache (``setup(compilation_cache=...)``, on by default) these sizes are padded
(:meth:`SizePadding.size`): a size needed for the first time gets some headroom; a later
need of the same component reuses a size used before if it pads the need by at most 12.5 %.
The sizes used are kept, per component, in a small JSON file beside the cache, so that the
next process pads to the same sizes and its chunk is found in the cache.

Padding cells never spike (:func:`.engine.network.run_chunk` masks their spikes), nothing
connects to them, and padding rows of a table belong to no cell: results are the same as
without padding; only a step computes the padding cells too.
"""
import json
import os

INDEX_NAME = "pyNN_jax_padded_sizes.json"
HEADROOM = 16          # a size needed for the first time: the need plus 1/HEADROOM, ...
SIGNIFICANT_BITS = 5   # ... rounded up to this many significant bits (at most 6.25 % more)
MAX_PADDING = 8        # a size used before fits a need down to size / (1 + 1/MAX_PADDING)


def round_up(n, bits=SIGNIFICANT_BITS):
    """``n`` rounded up to ``bits`` significant bits."""
    step = 1 << max(int(n).bit_length() - bits, 0)
    return -(-int(n) // step) * step


def fresh_size(need):
    """The padded size of a need that no size used before fits: 6.25 % headroom, rounded up
    to 5 significant bits (6.25-12.5 % more than the need from 32 on: 4000 -> 4352)."""
    return round_up(need + -(-need // HEADROOM))


def fits(size, need):
    """True when a size used before can hold ``need`` with at most 1/MAX_PADDING padding
    (or no more than a need's fresh size: small needs get more than 1/MAX_PADDING)."""
    return need <= size <= max(need + need // MAX_PADDING, fresh_size(need))


class SizePadding:
    """The padded sizes of one network assembly.

    Parameters
    ----------
    folder : str or None
        The persistent compilation cache's folder; None: no padding (every size as needed).
    """

    def __init__(self, folder):
        self.path = os.path.join(folder, INDEX_NAME) if folder else None
        self.used = self._read()
        self.changed = False

    def _read(self):
        if self.path is None:
            return {}
        try:
            with open(self.path) as f:
                used = json.load(f)
        except (OSError, ValueError):
            return {}
        if not isinstance(used, dict):
            return {}
        return {component: [size for size in sizes if isinstance(size, int)]
                for component, sizes in used.items() if isinstance(sizes, list)}

    def size(self, component, need):
        """The size of ``component`` (a name: ``"cells 0 IF_cond_exp"``, ...) that holds
        ``need`` entries: the first size used before that fits (:func:`fits`), else a new
        one (:func:`fresh_size`), appended. Sizes are only appended, so a need once padded
        to a size is padded to it again (the oldest size that fits); a size is added only
        where none fits, at most ~40 per factor of 10."""
        if self.path is None or need == 0:
            return need
        sizes = self.used.setdefault(component, [])
        chosen = next((size for size in sizes if fits(size, need)), None)
        if chosen is None:
            chosen = fresh_size(need)
            sizes.append(chosen)
            self.changed = True
        return chosen

    def least_need(self, size):
        """About the smallest need that a padded ``size`` serves, size / (1 + 1/MAX_PADDING)
        (``size`` itself without padding): what a heuristic that follows a size should see,
        so that padding does not raise it."""
        return size if self.path is None else -(-size * MAX_PADDING // (MAX_PADDING + 1))

    def save(self):
        """Write the sizes used (to a temporary file, then renamed: a process reading at
        the same time sees the old or the new file, never half of one)."""
        if self.path is None or not self.changed:
            return
        temporary = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(temporary, "w") as f:
                json.dump(self.used, f)
            os.replace(temporary, self.path)
        except OSError:         # a read-only cache: the next process pads afresh
            pass
        self.changed = False
