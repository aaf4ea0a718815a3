"""How a process learns that it is one of several (pyNN_jax.engine.processes)."""
import pytest

from pyNN_jax.engine import processes

LAUNCH_VARIABLES = ("PYNN_JAX_COORDINATOR", "PYNN_JAX_NUM_PROCESSES", "PYNN_JAX_PROCESS_ID",
                    "OMPI_COMM_WORLD_SIZE", "OMPI_MCA_orte_hnp_uri", "SLURM_STEP_ID",
                    "SLURM_NTASKS")


@pytest.fixture
def environment(monkeypatch):
    for name in LAUNCH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_plain_process_is_alone(environment):
    assert processes.launch_environment() is None


def test_explicit_variables_give_coordinator_count_and_index(environment):
    environment.setenv("PYNN_JAX_COORDINATOR", "node7:4321")
    environment.setenv("PYNN_JAX_NUM_PROCESSES", "4")
    environment.setenv("PYNN_JAX_PROCESS_ID", "2")
    assert processes.launch_environment() == ("node7:4321", 4, 2, None)
    environment.setenv("PYNN_JAX_NUM_PROCESSES", "1")
    assert processes.launch_environment() is None


def test_an_incomplete_explicit_launch_says_what_is_missing(environment):
    environment.setenv("PYNN_JAX_NUM_PROCESSES", "2")
    environment.setenv("PYNN_JAX_PROCESS_ID", "1")
    with pytest.raises(RuntimeError, match="not PYNN_JAX_COORDINATOR"):
        processes.launch_environment()


def test_mpirun_and_srun_are_left_to_jax_to_read(environment):
    environment.setenv("OMPI_COMM_WORLD_SIZE", "2")
    environment.setenv("OMPI_MCA_orte_hnp_uri", "123.0;tcp://10.0.0.1:4000")   # Open MPI 4
    assert processes.launch_environment() == (None, None, None, None)
    environment.setenv("OMPI_COMM_WORLD_SIZE", "1")
    assert processes.launch_environment() is None
    environment.setenv("SLURM_NTASKS", "8")
    assert processes.launch_environment() is None          # an allocation, not a job step
    environment.setenv("SLURM_STEP_ID", "0")
    assert processes.launch_environment() == (None, None, None, None)


def test_open_mpi_5_without_mpi4py_is_refused_with_the_ways_out(environment, monkeypatch):
    import importlib.util
    environment.setenv("OMPI_COMM_WORLD_SIZE", "2")                 # no ORTE URI: Open MPI 5
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None
                        if name == "mpi4py" else real_find_spec(name, *args))
    with pytest.raises(RuntimeError, match="mpi4py.*pyNN_jax.launch"):
        processes.launch_environment()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: object()
                        if name == "mpi4py" else real_find_spec(name, *args))
    assert processes.launch_environment() == (None, None, None, "mpi4py")


def test_fetch_of_one_process_arrays_is_a_plain_copy():
    import jax.numpy as jnp
    import numpy as np
    tree = {"a": jnp.arange(4), "b": [np.ones(2), jnp.float32(3)]}
    fetched = processes.fetch(tree)
    np.testing.assert_array_equal(fetched["a"], np.arange(4))
    assert isinstance(fetched["b"][1], np.ndarray) and fetched["b"][1] == 3
