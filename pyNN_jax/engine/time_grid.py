"""Times (ms) to steps of the grid dt, with NEST's two rules.

- :func:`to_steps`, delays and event times: to the nearest step, halves up (NEST's
  ``Time::delay_ms_to_steps``, ``ld_round(t / dt)``; numpy's round-half-to-even would put
  10.05 ms and 10.0 ms on the same step at dt = 0.1 ms). A tolerance of 1e-9 step keeps binary
  fractions such as 0.15 / 0.1 = 1.4999999999999998 on the half that was meant (NEST computes
  0.15 * 10 = 1.5).
- :func:`refractory_steps`, durations such as refractory periods: NEST's
  ``Time(Time::ms(t)).get_steps()``, t rounded to the nearest tic of 1e-3 ms (NEST's default
  ``tics_per_ms``), then *up* to whole steps. A refractory period shorter than a step but above
  half a tic holds one step: tau_refrac = 0.1 ms at dt = 1 ms is 1 step, 1.05 ms is 2 steps.
"""
import numpy as np

NEVER = 2 ** 30      # a step that is never reached
TICS_PER_MS = 1000.0  # NEST's default time resolution (tics_per_ms)


def to_steps(xp, t_ms, dt):
    """Nearest grid step of ``t_ms`` (array), as int32, capped at NEVER."""
    if xp is np and np.size(t_ms) > 1 and np.ndim(t_ms) == 1 and (t_ms == t_ms[0]).all():
        # one value in every entry (a constant delay of millions of connections)
        return np.full(t_ms.shape, to_steps(np, t_ms[:1], dt)[0])
    return xp.minimum(xp.floor(t_ms / dt + (0.5 + 1e-9)), NEVER).astype(xp.int32)


def refractory_steps(xp, t_ms, dt):
    """Steps of the duration ``t_ms`` (array, >= 0) as NEST counts them: nearest tic, then the
    next step up; int32, capped at NEVER."""
    tics_per_step = round(dt * TICS_PER_MS)
    tics = xp.floor(t_ms * TICS_PER_MS + 0.5)
    return xp.minimum(xp.ceil(tics / tics_per_step), NEVER).astype(xp.int32)
