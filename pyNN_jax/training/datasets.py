"""The Yin-Yang classification data set, generated in code, and its spike-time encoding.

Kriener, Goeltz & Petrovici 2022, "The Yin-Yang dataset" (arXiv:2102.08211): points (x, y)
drawn uniformly in the square [0, 2 r_big]^2 and kept inside the circle of radius r_big, labelled
yin (0), yang (1) or dot (2); classes are drawn in turn so that they are balanced. The
network sees (x, y, 1 - x, 1 - y), which makes every point carry the same total input.
"""
import numpy as np

YIN, YANG, DOT = 0, 1, 2


def yin_yang_class(x, y, r_big=0.5, r_small=0.1):
    """Class of points (x, y) (arrays) of the Yin-Yang figure centred at (r_big, r_big)."""
    d_right = np.hypot(x - 1.5 * r_big, y - r_big)
    d_left = np.hypot(x - 0.5 * r_big, y - r_big)
    is_dot = (d_right < r_small) | (d_left < r_small)
    is_yin = ((d_right <= r_small) | ((d_left > r_small) & (d_left <= 0.5 * r_big))
              | ((y > r_big) & (d_right > 0.5 * r_big)))
    return np.where(is_dot, DOT, np.where(is_yin, YIN, YANG))


def yin_yang(n_samples, seed, r_big=0.5, r_small=0.1):
    """``n_samples`` points (n, 2) in [0, 2 r_big]^2 and their classes (n,), balanced
    (classes taken in turn, rejection sampling)."""
    rng = np.random.default_rng(seed)
    points = np.empty((n_samples, 2))
    labels = np.arange(n_samples) % 3
    for i, wanted in enumerate(labels):
        while True:
            x, y = rng.uniform(0.0, 2 * r_big, 2)
            if (np.hypot(x - r_big, y - r_big) <= r_big
                    and yin_yang_class(x, y, r_big, r_small) == wanted):
                points[i] = x, y
                break
    return points, labels


def encode_first_spikes(points, t_early, t_late, t_bias=None, r_big=0.5):
    """Time-to-first-spike code: (x, y, 2 r_big - x, 2 r_big - y) scaled from [0, 2 r_big] to
    [t_early, t_late] (ms), and, if ``t_bias`` is given, a fifth input spiking at t_bias.

    Returns
    -------
    array (n, 4 or 5) of spike times (ms).
    """
    u = np.concatenate([points, 2 * r_big - points], axis=1) / (2 * r_big)
    times = t_early + u * (t_late - t_early)
    if t_bias is not None:
        times = np.concatenate([times, np.full((len(points), 1), t_bias)], axis=1)
    return times
