"""Izhikevich's quadratic integrate-and-fire model (Izhikevich 2003), NEST's ``izhikevich``:

    dv/dt = 0.04 v^2 + 5 v + 140 - u + I
    du/dt = a (b v - u)

    if v >= 30 mV:  v -> c,  u -> u + d

v in mV, u in mV/ms, t in ms, a and b in 1/ms, c in mV, d in mV/ms. I is in the model's own
units, mV/ms; NEST feeds it the current in pA, and pyNN.nest passes ``i_offset`` (nA) as
``I_e = 1000 i_offset`` (pA) and injected currents likewise in pA, so here
I = 1000 (i_offset + i_inj) with i_offset and i_inj in nA (i_offset = 0.01 nA is I = 10).

Synapses are voltage jumps: a spike of weight w (mV; negative for inhibition, PyNN's sign
convention for current synapses) adds w to v in the step in which it arrives, on either
port. pyNN.nest undoes its usual weight scaling for this model (``receptor_scale = 1e-3``),
so the weight given in PyNN is the jump in mV on both simulators.

Scheme: NEST's default (``consistent_integration = True``), one forward Euler step per time
step, both right-hand sides evaluated at the start of the step:

    v_{k+1} = v_k + dt (0.04 v_k^2 + 5 v_k + 140 - u_k + I_k) + sum of arriving weights
    u_{k+1} = u_k + dt a (b v_k - u_k)

then the threshold test (v_{k+1} >= 30 mV: spike stamped (k+1) dt, v -> c, u -> u + d).
There is no refractory period and no lower bound on v (NEST's V_min defaults to -inf).
The answer therefore depends on dt, exactly as in NEST (the PyNN examples use 0.01 ms).
"""
import jax.numpy as jnp

from .base import NeuronModel

V_PEAK = 30.0          # mV, NEST's V_th of izhikevich (not a PyNN parameter)
PA_PER_NA = 1000.0


class Izhikevich(NeuronModel):
    name = "Izhikevich"
    parameter_names = ("a", "b", "c", "d", "i_offset")
    state_names = ("v", "u")
    port_names = ("excitatory", "inhibitory")
    scalar_parameters = True

    def step(self, p, d, s, syn_in, i_ext, ctx):
        h = ctx.dt
        v, u = s["v"], s["u"]
        current = PA_PER_NA * (p["i_offset"] + i_ext)
        v_new = (v + h * (0.04 * v * v + 5.0 * v + 140.0 - u + current)
                 + syn_in[0] + syn_in[1])
        u_new = u + h * p["a"] * (p["b"] * v - u)
        spike = v_new >= V_PEAK
        v_new = jnp.where(spike, p["c"], v_new)
        u_new = jnp.where(spike, u_new + p["d"], u_new)
        return {"v": v_new, "u": u_new}, spike.astype(jnp.int32)
