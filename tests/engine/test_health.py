"""The non-finite state finder and its error message."""
import numpy as np
import jax.numpy as jnp

from pyNN import errors
from pyNN_jax.engine import health
from pyNN_jax.engine.models.lif_conductance import IFCondExp


class FakePopulation:
    def __init__(self, label, size, first_id):
        self.label, self.size = label, size
        self.all_cells = np.arange(first_id, first_id + size)
        self.celltype = type("IF_cond_exp", (), {})()


class FakeLayout:
    def __init__(self, groups):
        self.groups = groups


def test_first_non_finite_cell_and_variable_are_named():
    groups = [{"v": jnp.array([-65.0, -60.0, jnp.nan, jnp.inf, -50.0]),
               "gsyn_exc": jnp.zeros(5), "refractory": jnp.zeros(5, jnp.int32)}]
    findings = health.nonfinite_cells(groups)
    layout = FakeLayout([(IFCondExp(), [FakePopulation("a", 2, 10), FakePopulation("b", 3, 20)])])
    error = health.instability(findings, layout, 100.0, 200.0)
    assert isinstance(error, errors.InvalidParameterValueError)
    message = str(error)
    assert "population 'b'" in message and "cell 20 (index 0)" in message
    assert "'v'" in message and "between t = 100 and 200 ms" in message
    assert "cm, tau_m, i_offset or the weights" in message


def test_finite_state_gives_no_error_and_2d_state_is_per_row():
    groups = [{"v": jnp.zeros(3), "stc": jnp.zeros((3, 8)).at[1, 5].set(jnp.inf)}]
    findings = health.nonfinite_cells(groups)
    assert not bool(findings[0]["v"][0])
    assert bool(findings[0]["stc"][0]) and int(findings[0]["stc"][1]) == 1
    assert health.instability(health.nonfinite_cells([{"v": jnp.zeros(3)}]),
                              FakeLayout([]), 0.0, 1.0) is None
