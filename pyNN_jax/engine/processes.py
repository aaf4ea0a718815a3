"""Several processes running one network: joining them and reading arrays that span them.

The processes are JAX's (``jax.distributed``): one Python process per host or accelerator,
each running the same program on its own devices, the collectives of the chunk
(:func:`.network.exchange`) crossing between them. On CPUs the collectives are gloo's (TCP;
loopback on one machine). Nothing here knows of PyNN.
"""
import hashlib
import importlib.util
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
    ``jax.distributed.initialize`` (coordinator address, number of processes, process id,
    cluster detection method; None where JAX finds them itself in Open MPI's or SLURM's
    environment).

    Raises
    ------
    RuntimeError
        For an explicit launch that lacks one of its variables, or an Open MPI launch that
        JAX cannot read (Open MPI 5 without mpi4py).
    """
    if os.environ.get(NUM_PROCESSES):
        missing = [name for name in (COORDINATOR, PROCESS_ID) if not os.environ.get(name)]
        if missing:
            raise RuntimeError(f"{NUM_PROCESSES} is set, but not {' and '.join(missing)}: an "
                               f"explicit launch needs all three (python -m pyNN_jax.launch "
                               f"sets them)")
        n_processes = int(os.environ[NUM_PROCESSES])
        if n_processes <= 1:
            return None
        return os.environ[COORDINATOR], n_processes, int(os.environ[PROCESS_ID]), None
    if int(os.environ.get("OMPI_COMM_WORLD_SIZE", "1")) > 1:          # mpirun (Open MPI)
        if "OMPI_MCA_orte_hnp_uri" in os.environ:                      # Open MPI 4
            return None, None, None, None
        if importlib.util.find_spec("mpi4py") is not None:             # Open MPI 5: ask MPI
            return None, None, None, "mpi4py"
        raise RuntimeError(
            "started by mpirun of an Open MPI that JAX cannot read without mpi4py (Open MPI "
            "5): install mpi4py, or start the processes with python -m pyNN_jax.launch or "
            f"with {COORDINATOR}, {NUM_PROCESSES} and {PROCESS_ID} set")
    if "SLURM_STEP_ID" in os.environ and int(os.environ.get("SLURM_NTASKS", "1")) > 1:  # srun
        return None, None, None, None
    return None


def join(environment):
    """Join the processes of ``environment`` (:func:`launch_environment`) unless this process
    has joined them already (or the user called ``jax.distributed.initialize``). The explicit
    launch's variables are then removed from the environment, so that a process this one
    starts runs alone.

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
    coordinator, n_processes, process_id, detection = environment
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator, n_processes, process_id,
                               cluster_detection_method=detection)
    for name in (COORDINATOR, NUM_PROCESSES, PROCESS_ID):
        os.environ.pop(name, None)


def first_process_value(value):
    """Process 0's ``value`` (an integer), on every process. Collective."""
    return int(multihost_utils.broadcast_one_to_all(np.int64(value)))


class DivergenceError(RuntimeError):
    """The processes of one run hold different values of what should be one network."""


def check_same(tree, what):
    """Raise :class:`DivergenceError` unless every process passes the same host values in
    ``tree`` (numpy leaves, and device arrays of this process; arrays already spread over the
    processes are not compared) and the same structure. Collective: one all-gather of a
    32-byte digest."""
    digest = hashlib.sha256(repr(jax.tree_util.tree_structure(tree)).encode())
    for leaf in jax.tree_util.tree_leaves(tree):
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            continue
        leaf = np.ascontiguousarray(leaf)
        digest.update(f"{leaf.dtype}{leaf.shape}".encode())
        digest.update(leaf.tobytes())
    digests = multihost_utils.process_allgather(
        np.frombuffer(digest.digest(), dtype=np.uint8))
    differing = [index for index, other in enumerate(digests) if not np.array_equal(
        other, digests[jax.process_index()])]
    if differing:
        raise DivergenceError(
            f"the processes built different networks: the {what} of process "
            f"{jax.process_index()} differ from those of process(es) {differing}. Every "
            f"process runs the same script and must build the same network: give every "
            f"random distribution and connector a seeded generator (NumpyRNG(seed=...), "
            f"parallel_safe), and make nothing depend on rank()")


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


def fetch_own(tree):
    """As :func:`fetch`, but an array spread over several processes' devices comes back with
    this process's shards only, zero elsewhere (pages never written: no memory). Not
    collective."""
    def own(leaf):
        if not isinstance(leaf, jax.Array) or leaf.is_fully_addressable:
            return np.asarray(jax.device_get(leaf))
        out = np.zeros(leaf.shape, leaf.dtype)
        for shard in leaf.addressable_shards:
            out[shard.index] = np.asarray(shard.data)
        return out
    return jax.tree_util.tree_map(own, tree)


def concatenate(array):
    """The arrays ``array`` (any dtype, lengths along the first axis may differ) of every
    process, concatenated in process order, bit for bit. Collective."""
    array = np.ascontiguousarray(array)
    raw = np.frombuffer(array.tobytes(), np.uint8)       # exact for any dtype (no float64
    sizes = multihost_utils.process_allgather(np.int64(raw.size))  # rounding in JAX)
    padded = np.zeros(max(int(np.max(sizes)), 1), np.uint8)
    padded[:raw.size] = raw
    gathered = np.asarray(multihost_utils.process_allgather(padded))
    joined = np.concatenate([gathered[p, :size] for p, size in enumerate(np.ravel(sizes))])
    return np.frombuffer(joined.tobytes(), array.dtype).reshape((-1,) + array.shape[1:])


def summed(array):
    """The element-wise sum of the integer arrays ``array`` (same shape) of every process
    (all-gathered: N x its size on every process). Collective."""
    array = np.asarray(array, dtype=np.int64)
    return concatenate(array[None]).sum(axis=0)


def extremes(smallest, largest):
    """(the smallest of ``smallest``, the largest of ``largest``) over the processes (numbers).
    Collective."""
    values = concatenate(np.array([[-float(smallest), float(largest)]]))
    return -values[:, 0].max(), values[:, 1].max()


def largest(value):
    """The largest ``value`` (a number; a bool: whether any process's is True) of the
    processes. Collective."""
    return extremes(value, value)[1]
