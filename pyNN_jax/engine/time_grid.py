"""Times (ms) to steps of the grid dt, one rule everywhere: to the nearest step, halves up
(NEST's ``ld_round`` for delays and refractory periods; numpy's round-half-to-even would put
10.05 ms and 10.0 ms on the same step at dt = 0.1 ms). A relative tolerance of 1e-9 keeps
binary fractions such as 0.15 / 0.1 = 1.4999999999999998 on the half that was meant."""
import numpy as np

NEVER = 2 ** 30      # a step that is never reached


def to_steps(xp, t_ms, dt):
    """Nearest grid step of ``t_ms`` (array), as int32, capped at NEVER."""
    if xp is np and np.size(t_ms) > 1 and np.ndim(t_ms) == 1 and (t_ms == t_ms[0]).all():
        # one value in every entry (a constant delay of millions of connections)
        return np.full(t_ms.shape, to_steps(np, t_ms[:1], dt)[0])
    return xp.minimum(xp.floor(t_ms / dt + (0.5 + 1e-9)), NEVER).astype(xp.int32)
