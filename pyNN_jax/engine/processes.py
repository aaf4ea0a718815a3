"""Several processes running one network: joining them and reading arrays that span them.

The processes are JAX's (``jax.distributed``): one Python process per host or accelerator,
each running the same program on its own devices, the collectives of the chunk
(:func:`.network.exchange`) crossing between them. On CPUs the collectives are gloo's (TCP;
loopback on one machine). Nothing here knows of PyNN.
"""
import os

import jax
import numpy as np
from jax._src import xla_bridge
from jax.experimental import multihost_utils

#: the environment of an explicit launch (any launcher, or none): the coordinator's
#: ``host:port``, the number of processes and this process's index (0 ... n - 1)
COORDINATOR, NUM_PROCESSES, PROCESS_ID = (
    "PYNN_JAX_COORDINATOR", "PYNN_JAX_NUM_PROCESSES", "PYNN_JAX_PROCESS_ID")


def launch_environment():
    """How this process was started: None (one process), or the arguments of
    ``jax.distributed.initialize`` (coordinator address, number of processes, process id;
    None where JAX reads them itself from Open MPI's or SLURM's environment)."""
    if os.environ.get(NUM_PROCESSES):
        n_processes = int(os.environ[NUM_PROCESSES])
        if n_processes <= 1:
            return None
        return os.environ[COORDINATOR], n_processes, int(os.environ[PROCESS_ID])
    if int(os.environ.get("OMPI_COMM_WORLD_SIZE", "1")) > 1:          # mpirun (Open MPI)
        return None, None, None
    if "SLURM_STEP_ID" in os.environ and int(os.environ.get("SLURM_NTASKS", "1")) > 1:  # srun
        return None, None, None
    return None


def join(environment):
    """Join the processes of ``environment`` (:func:`launch_environment`) unless this process
    has joined them already (or the user called ``jax.distributed.initialize``).

    Raises
    ------
    RuntimeError
        If JAX's backends were started before (a JAX computation ran before ``setup()``).
    """
    if environment is None or jax.distributed.is_initialized():
        return
    if xla_bridge.backends_are_initialized():
        raise RuntimeError(
            "this process was started as one of several (mpirun, srun or PYNN_JAX_"
            "NUM_PROCESSES), but JAX ran a computation before setup(): call setup() first, "
            "or jax.distributed.initialize() yourself before any JAX computation")
    coordinator, n_processes, process_id = environment
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator, n_processes, process_id)


def fetch(tree):
    """Numpy copies of the arrays of ``tree`` (a pytree of device or host arrays), whole even
    where an array is split over several processes' devices. Collective when one is: every
    process must call it with a tree of the same structure."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    spanning = [i for i, leaf in enumerate(leaves)
                if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable
                and not leaf.is_fully_replicated]
    for i, leaf in enumerate(leaves):
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable \
                and leaf.is_fully_replicated:
            leaves[i] = leaf.addressable_data(0)
    if spanning:
        gathered = multihost_utils.process_allgather([leaves[i] for i in spanning], tiled=True)
        for i, values in zip(spanning, gathered):
            leaves[i] = values
    return jax.tree_util.tree_map(np.asarray,
                                  jax.device_get(jax.tree_util.tree_unflatten(treedef, leaves)))
