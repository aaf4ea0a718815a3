"""Precise spike times (``spike_precision="off_grid"``): NEST's ``iaf_psc_exp_ps``,
``iaf_psc_delta_ps``, ``poisson_generator_ps`` and precise ``spike_generator`` times.

A spike carries, besides its step, an *offset*: as in NEST, the time (ms) before the end of
the step at which it happened, in [0, dt). The models here keep the offset of their last
spike in the state variable ``spike_offset``; the network delivers it with the spike.

Input events: in each step a cell of an event-receiving model gets, through ``ctx.events``,
up to ``EVENT_SLOTS`` events ``(count, offset, weight)`` (offset and weight: (slots, n)) and,
as every model, the summed weights of the step per port (``syn_in``). Weights beyond the
stored events (more events than slots, or input from tables that deliver on the grid) are the
difference of the two and are applied at the end of the step, as on the grid.

Within a step the cells integrate exactly from event to event in time order, as NEST does
(Morrison et al. 2007, "Exact subthreshold integration with continuous spike times in
discrete-time neural network simulations"; Hanuschkin et al. 2010, "A general and efficient
method for incorporating precise spike times in globally time-driven simulations"):

- ``IF_curr_exp`` (iaf_psc_exp_ps, Hanuschkin et al. 2010): the membrane and synaptic
  currents are propagated over each interval between events; the threshold is tested at the
  end of each interval, before the event's weight is added (weight >= 0: excitatory current,
  < 0: inhibitory); the crossing inside the interval is located by the Illinois variant of
  regula falsi on the exact membrane trajectory (NEST's ``regula_falsi``: |V - V_th| below
  1e-14 mV in float64).
- ``IF_curr_delta`` (iaf_psc_delta_ps, Morrison et al. 2007): a cell fires at the time of an
  input that lifts v to threshold, or where the DC drive crosses it, at the analytic time
  t = tau_m ln((V_inf - V)/(V_inf - V_th)) before the test point; events at the same time are
  summed first; input while refractory is discarded.

The refractory period lasts ``tau_refrac`` rounded to whole steps (NEST's ``t_ref``, at least
one step) from the precise spike time, so it ends off the grid, at the spike's offset; at
most one spike per cell and step.
"""
import numpy as np
import jax
import jax.numpy as jnp
from jax import lax

from ..time_grid import refractory_steps
from . import propagators as prop
from .lif_current import LIF_PARAMETERS
from .spike_sources import SpikeSourceArray, SpikeSourcePoisson, is_active, poisson_count
from .base import NeuronModel

EVENT_SLOTS = 8          # input events per cell and step kept with their offsets
MAX_ROOT_ITERATIONS = 100


def sorted_events(events, dt):
    """The stored events of a step in time order: (number per cell (n,), time after the
    start of the step (slots, n), weight (slots, n)); missing ones have time inf, weight 0."""
    count, offset, weight = events
    n_events = jnp.minimum(count, offset.shape[0])
    valid = jnp.arange(offset.shape[0])[:, None] < n_events[None, :]
    lag, weight = lax.sort((jnp.where(valid, dt - offset, jnp.inf), jnp.where(valid, weight, 0)),
                           dimension=0, num_keys=1)
    return n_events, lag, weight


def grid_remainder(syn_in, weight):
    """Input of the step not among the stored events, per port (excitatory, inhibitory)."""
    return (syn_in[0] - jnp.sum(jnp.where(weight > 0, weight, 0), axis=0),
            syn_in[1] - jnp.sum(jnp.where(weight < 0, weight, 0), axis=0))


def refractory_at_start(s, dt):
    """(refractory at the start of the step, time in the step at which it ends: inf when
    later). ``s["refractory"]`` counts the steps until the one in which it ends."""
    ends_here = s["refractory"] == 1
    return s["refractory"] > 0, jnp.where(ends_here, dt - s["spike_offset"], jnp.inf)


def after_step(d, s, spiked, offset):
    """Refractory counter and last spike offset after a step."""
    return {"refractory": jnp.where(spiked, d["ref_steps"], jnp.maximum(s["refractory"] - 1, 0)),
            "spike_offset": jnp.where(spiked, offset, s["spike_offset"])}


def event_loop(n_events, lag, weight, carry, on_event):
    """``carry = on_event(carry, time, weight, same_as_next)`` for the events of each cell in
    time order; cells with fewer events get no-op calls (time = their current time)."""
    n_slots = lag.shape[0]

    def body(j, c):
        here = j < n_events
        later = (j + 1 < n_events) & (lag[jnp.minimum(j + 1, n_slots - 1)] == lag[j])
        return on_event(c, jnp.where(here, lag[j], c["t"]), jnp.where(here, weight[j], 0),
                        later)

    return lax.fori_loop(0, jnp.max(n_events, initial=0), body, carry)


def precise_refractory_steps(xp, tau_refrac, dt):
    """NEST's t_ref in steps for the _ps models: at least one step."""
    return xp.maximum(refractory_steps(xp, tau_refrac, dt), 1)


class IFCurrExpPrecise(NeuronModel):
    """IF_curr_exp with precise spike times (NEST ``iaf_psc_exp_ps``)."""
    name = "IF_curr_exp_ps"
    parameter_names = LIF_PARAMETERS + ("tau_syn_E", "tau_syn_I")
    state_names = ("v", "isyn_exc", "isyn_inh", "refractory", "spike_offset")
    port_names = ("excitatory", "inhibitory")
    scalar_parameters = True
    emits_offsets = True
    receives_events = True

    def derive(self, p, dt, xp):
        return {"ref_steps": precise_refractory_steps(xp, p["tau_refrac"], dt)}

    @staticmethod
    def membrane(p, u, isyn_exc, isyn_inh, current, h):
        """v - v_rest after h (ms) from u = v - v_rest with these currents (nA) at its start."""
        return (prop.current_to_voltage(jnp, p["tau_m"], p["cm"], h) * current
                + prop.exp_current_to_voltage(jnp, p["tau_syn_E"], p["tau_m"], p["cm"], h)
                * isyn_exc
                + prop.exp_current_to_voltage(jnp, p["tau_syn_I"], p["tau_m"], p["cm"], h)
                * isyn_inh
                + u * jnp.exp(-h / p["tau_m"]))

    def step(self, p, d, s, syn_in, i_ext, ctx):
        dt = ctx.dt
        current = p["i_offset"] + i_ext
        u_th, u_reset = p["v_thresh"] - p["v_rest"], p["v_reset"] - p["v_rest"]
        refractory, t_end = refractory_at_start(s, dt)
        u = s["v"] - p["v_rest"]
        instant = ~refractory & (u >= u_th)       # set above threshold: a spike at once
        zero = jnp.zeros_like(u)
        carry = {"t": zero, "u": jnp.where(instant, u_reset, u), "ie": s["isyn_exc"] + zero,
                 "ii": s["isyn_inh"] + zero, "refractory": refractory | instant,
                 "t_end": jnp.where(instant, jnp.inf, t_end), "spiked": instant,
                 "t0": zero, "length": zero, "u0": zero, "ie0": zero, "ii0": zero}

        def advance(c, t_b):
            """Propagate every cell from its time c["t"] to t_b; test the threshold at t_b."""
            ends = c["refractory"] & (c["t_end"] <= t_b)
            t_free = jnp.where(c["refractory"], jnp.where(ends, c["t_end"], t_b), c["t"])
            ie_free = c["ie"] * jnp.exp(-(t_free - c["t"]) / p["tau_syn_E"])
            ii_free = c["ii"] * jnp.exp(-(t_free - c["t"]) / p["tau_syn_I"])
            length = t_b - t_free
            u_b = self.membrane(p, c["u"], ie_free, ii_free, current, length)
            crossed = (length > 0) & (u_b >= u_th)
            refractory_b = (c["refractory"] & ~ends) | crossed
            return {"t": t_b, "u": jnp.where(crossed, u_reset, u_b),
                    "ie": c["ie"] * jnp.exp(-(t_b - c["t"]) / p["tau_syn_E"]),
                    "ii": c["ii"] * jnp.exp(-(t_b - c["t"]) / p["tau_syn_I"]),
                    "refractory": refractory_b,
                    "t_end": jnp.where(crossed, jnp.inf, c["t_end"]),
                    "spiked": c["spiked"] | crossed,
                    "t0": jnp.where(crossed, t_free, c["t0"]),
                    "length": jnp.where(crossed, length, c["length"]),
                    "u0": jnp.where(crossed, c["u"], c["u0"]),
                    "ie0": jnp.where(crossed, ie_free, c["ie0"]),
                    "ii0": jnp.where(crossed, ii_free, c["ii0"])}

        def on_event(c, t, w, _):
            c = advance(c, t)
            return {**c, "ie": c["ie"] + jnp.where(w > 0, w, 0),
                    "ii": c["ii"] + jnp.where(w < 0, w, 0)}

        n_events, lag, weight = sorted_events(ctx.events, dt)
        carry = event_loop(n_events, lag, weight, carry, on_event)
        carry = advance(carry, jnp.full_like(zero, dt))
        remainder_exc, remainder_inh = grid_remainder(syn_in, weight)
        crossing = lax.cond(jnp.any(carry["spiked"] & ~instant),
                            lambda c: self.crossing_time(p, c, current, u_th),
                            lambda c: zero, carry)
        offset = jnp.where(instant, dt * (1 - jnp.finfo(zero.dtype).eps),
                           dt - (carry["t0"] + crossing))
        return {"v": p["v_rest"] + carry["u"], "isyn_exc": carry["ie"] + remainder_exc,
                "isyn_inh": carry["ii"] + remainder_inh,
                **after_step(d, s, carry["spiked"], offset)}, carry["spiked"].astype(jnp.int32)

    def crossing_time(self, p, c, current, u_th):
        """Time (ms) after c["t0"] at which v reaches threshold in the interval of length
        c["length"] where it crossed: NEST's Illinois regula falsi, |v - v_th| < tolerance
        (1e-14 mV in float64, as NEST; 1e-5 mV in float32)."""
        tolerance = 1e-14 if c["u0"].dtype == jnp.float64 else 1e-5

        def distance(h):
            return self.membrane(p, c["u0"], c["ie0"], c["ii0"], current, h) - u_th

        a, b = jnp.zeros_like(c["length"]), c["length"]
        fa, fb = distance(a), distance(b)
        done = ~c["spiked"] | (c["length"] <= 0)
        state = (a, b, fa, fb, b, done, jnp.zeros(a.shape, jnp.int32), jnp.int32(0))

        def unfinished(state):
            return jnp.any(~state[5]) & (state[7] < MAX_ROOT_ITERATIONS)

        def iteration(state):
            a, b, fa, fb, root, done, last, i = state
            new_root = (a * fb - b * fa) / jnp.where(fb != fa, fb - fa, 1.0)
            fr = distance(new_root)
            root = jnp.where(done, root, new_root)
            done_now = done | (jnp.abs(fr) < tolerance)
            move_a = ~done_now & (fa * fr > 0)
            move_b = ~done_now & ~move_a & (fb * fr > 0)
            a, fa_new = jnp.where(move_a, new_root, a), jnp.where(move_a, fr, fa)
            b, fb_new = jnp.where(move_b, new_root, b), jnp.where(move_b, fr, fb)
            fb_new = jnp.where(move_a & (last == 1), fb_new / 2, fb_new)
            fa_new = jnp.where(move_b & (last == -1), fa_new / 2, fa_new)
            last = jnp.where(move_a, 1, jnp.where(move_b, -1, last))
            done_now = done_now | ~(move_a | move_b)
            return a, b, fa_new, fb_new, root, done_now, last, i + 1

        return jnp.where(c["spiked"], lax.while_loop(unfinished, iteration, state)[4], 0.0)


class IFCurrDeltaPrecise(NeuronModel):
    """IF_curr_delta with precise spike times (NEST ``iaf_psc_delta_ps``)."""
    name = "IF_curr_delta_ps"
    parameter_names = LIF_PARAMETERS
    state_names = ("v", "refractory", "spike_offset")
    port_names = ("excitatory", "inhibitory")
    scalar_parameters = True
    emits_offsets = True
    receives_events = True

    def derive(self, p, dt, xp):
        return {"ref_steps": precise_refractory_steps(xp, p["tau_refrac"], dt)}

    def step(self, p, d, s, syn_in, i_ext, ctx):
        dt = ctx.dt
        u_inf = p["tau_m"] / p["cm"] * (p["i_offset"] + i_ext)    # v - v_rest it relaxes to
        u_th, u_reset = p["v_thresh"] - p["v_rest"], p["v_reset"] - p["v_rest"]
        refractory, t_end = refractory_at_start(s, dt)
        u = s["v"] - p["v_rest"]
        instant = ~refractory & (u >= u_th)
        zero = jnp.zeros_like(u)
        carry = {"t": zero, "u": jnp.where(instant, u_reset, u),
                 "refractory": refractory | instant,
                 "t_end": jnp.where(instant, jnp.inf, t_end), "spiked": instant,
                 "offset": jnp.where(instant, dt * (1 - jnp.finfo(zero.dtype).eps), zero)}

        def spike(c, where, offset):
            return {**c, "u": jnp.where(where, u_reset, c["u"]),
                    "refractory": c["refractory"] | where,
                    "t_end": jnp.where(where, jnp.inf, c["t_end"]),
                    "spiked": c["spiked"] | where,
                    "offset": jnp.where(where, offset, c["offset"])}

        def advance(c, t_b):
            ends = c["refractory"] & (c["t_end"] <= t_b)
            t_free = jnp.where(c["refractory"], jnp.where(ends, c["t_end"], t_b), c["t"])
            decay = jnp.expm1(-(t_b - t_free) / p["tau_m"])
            u_b = -u_inf * decay + c["u"] * decay + c["u"]
            crossed = (t_b > t_free) & (u_b >= u_th)
            since = -p["tau_m"] * jnp.log(jnp.where(crossed, (u_inf - u_b) / (u_inf - u_th), 1.0))
            c = {**c, "t": t_b, "u": u_b, "refractory": c["refractory"] & ~ends}
            return spike(c, crossed, dt - t_b + since)

        def on_event(c, t, w, same_as_next):
            c = advance(c, t)
            u_new = c["u"] + jnp.where(c["refractory"], 0, w)
            c = {**c, "u": u_new}
            return spike(c, ~c["refractory"] & ~same_as_next & (u_new >= u_th), dt - t)

        n_events, lag, weight = sorted_events(ctx.events, dt)
        carry = event_loop(n_events, lag, weight, carry, on_event)
        carry = advance(carry, jnp.full_like(zero, dt))
        remainder_exc, remainder_inh = grid_remainder(syn_in, weight)
        carry = on_event(carry, carry["t"], remainder_exc + remainder_inh, False)
        return {"v": p["v_rest"] + carry["u"],
                **after_step(d, s, carry["spiked"], carry["offset"])}, \
            carry["spiked"].astype(jnp.int32)


class SpikeSourceArrayPrecise(SpikeSourceArray):
    """SpikeSourceArray at its exact times (NEST ``spike_generator`` with precise_times and a
    ``parrot_neuron_ps``). The times of one cell within one step are sent as one event of
    their multiplicity, at the earliest of them."""
    name = "SpikeSourceArray_ps"
    parameter_names = ("spike_steps", "multiplicity", "spike_offsets")
    state_names = ("next_spike", "spike_offset")
    emits_offsets = True

    @classmethod
    def encode_spike_times(cls, spike_times, dt):
        """As :meth:`SpikeSourceArray.encode_spike_times`, plus ``spike_offsets`` (n, m):
        the offset (ms before the end of the step) of the earliest time of each step."""
        spike_steps, multiplicity = super().encode_spike_times(spike_times, dt)
        offsets = np.zeros(spike_steps.shape)
        for i, times in enumerate(spike_times):
            times = np.asarray(times, dtype=float)
            steps = cls.emission_grid(times, dt)
            unique_steps, first = np.unique(steps, return_index=True)
            offsets[i, :unique_steps.size] = np.clip(unique_steps * dt - times[first], 0, dt)
        return spike_steps, multiplicity, offsets

    def step(self, p, d, s, syn_in, i_ext, ctx):
        state, counts = super().step(p, d, s, syn_in, i_ext, ctx)
        idx = jnp.minimum(s["next_spike"], p["spike_offsets"].shape[1] - 1)[:, None]
        offset = jnp.take_along_axis(p["spike_offsets"], idx, axis=1)[:, 0]
        return {**state, "spike_offset": jnp.where(counts > 0, offset, s["spike_offset"])}, counts


class SpikeSourcePoissonPrecise(SpikeSourcePoisson):
    """Poisson process at continuous times (NEST ``poisson_generator_ps`` through a
    ``parrot_neuron_ps``): the count of a step as on the grid, at a time uniform in the step.
    Several spikes of one cell in one step (probability ~ (rate dt)^2 / 2) are one event of
    that multiplicity at one time."""
    name = "SpikeSourcePoisson_ps"
    state_names = ("spike_offset",)
    emits_offsets = True

    def step(self, p, d, s, syn_in, i_ext, ctx):
        count = jnp.where(is_active(d, ctx.step), poisson_count(ctx.key, d["tail"]), 0)
        offset = ctx.dt * jax.random.uniform(jax.random.fold_in(ctx.key, 1), count.shape,
                                             dtype=s["spike_offset"].dtype)
        return {"spike_offset": jnp.where(count > 0, offset, s["spike_offset"])}, count
