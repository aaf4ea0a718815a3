"""Cost of the spike exchange between devices of one process (``setup(devices=N)``).

Times a ``lax.fori_loop`` of steps inside ``jax.shard_map`` over N virtual CPU devices, each step
all-gathering one int16 spike count per cell of a device (what the cell split exchanges per
step where the shortest delay is one step), against the same loop without the all-gather.
Prints one JSON object per size: microseconds per step with and without the exchange.

    python benchmarks/spike_exchange.py --devices 2 --cells 100 7718 23000
"""
import argparse
import json
import os
import time


def exchange_loop(mesh, n_local, steps, exchange):
    """A jitted loop of ``steps`` steps over ``mesh`` (axis "cells"), each device holding
    ``n_local`` cells: each step makes one int16 count per cell and, if ``exchange``,
    all-gathers the counts of every device (what the cell split exchanges per block)."""
    import jax
    import jax.numpy as jnp
    from jax import lax
    from jax.sharding import PartitionSpec

    def body(x):
        def step(i, carry):
            x, total = carry
            counts = (x + i).astype(jnp.int16)
            if exchange:
                counts = lax.all_gather(counts, "cells", axis=0, tiled=True)
            return x + 1, total + counts[:n_local].astype(jnp.int32)
        return lax.fori_loop(0, steps, step, (x, jnp.zeros(n_local, jnp.int32)))[1]
    return jax.jit(jax.shard_map(body, mesh=mesh, in_specs=PartitionSpec("cells"),
                                 out_specs=PartitionSpec("cells"), check_vma=False))


def microseconds_per_step(mesh, x, n_local, steps, repeat):
    """{"without": us, "with": us}: the fastest of ``repeat`` runs of :func:`exchange_loop`
    on ``x`` (the devices' cells), per step, without and with the all-gather."""
    result = {}
    for name, exchange in (("without", False), ("with", True)):
        run = exchange_loop(mesh, n_local, steps, exchange)
        run(x).block_until_ready()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            run(x).block_until_ready()
            times.append(time.perf_counter() - start)
        result[name] = 1e6 * min(times) / steps
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--cells", type=int, nargs="+", default=[100, 7718, 23000],
                        help="cells per device")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3, help="the fastest of N runs")
    args = parser.parse_args()
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = (f"{flags} --xla_force_host_platform_device_count="
                                   f"{args.devices}").strip()
    import numpy as np
    import jax
    import jax.numpy as jnp
    from jax.sharding import Mesh

    mesh = Mesh(np.array(jax.devices()[:args.devices]), ("cells",))

    for n_local in args.cells:
        x = jnp.zeros(args.devices * n_local, jnp.int32)
        us = microseconds_per_step(mesh, x, n_local, args.steps, args.repeat)
        print(json.dumps({"devices": args.devices, "cells_per_device": n_local,
                          "us_per_step_without": us["without"],
                          "us_per_step_with": us["with"]}), flush=True)


if __name__ == "__main__":
    main()
