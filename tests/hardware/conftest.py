"""A fresh hardware network per test."""
import pytest


@pytest.fixture
def hw():
    """pyNN.jax.hardware on the mock, dt = 0.1 ms, seed 1; torn down after the test."""
    import pyNN.jax.hardware as sim
    sim.setup(timestep=0.1, seed=1)
    yield sim
    sim.end()
