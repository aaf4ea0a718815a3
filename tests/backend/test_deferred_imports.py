"""csa (Connection Set Algebra) is imported only when a script uses it."""
import importlib.util
import subprocess
import sys
import textwrap

import pytest

needs_csa = pytest.mark.skipif(importlib.util.find_spec("csa") is None,
                               reason="the csa package (Connection Set Algebra) is not installed")


def _run(code):
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@needs_csa
def test_import_does_not_load_csa_or_matplotlib():
    loaded = _run("""
        import sys
        import pyNN.jax
        print(type(sys.modules["csa"]).__name__, "matplotlib" in sys.modules)
    """)
    assert loaded == ["_DeferredModule", "False"]


@needs_csa
def test_csa_connector_loads_csa_on_use():
    out = _run("""
        import sys
        import pyNN.jax as sim
        import pyNN.connectors
        import csa
        sim.setup()
        a, b = sim.Population(4, sim.IF_curr_exp()), sim.Population(5, sim.IF_curr_exp())
        prj = sim.Projection(a, b, sim.CSAConnector(csa.full))
        print(len(prj), sys.modules["csa"].__name__, pyNN.connectors.csa.arity(csa.full),
              type(sys.modules["csa"]).__name__)
    """)
    assert out == ["20", "csa", "0", "module"]


def test_placeholder_for_a_module_already_imported_or_missing_is_not_made():
    from pyNN_jax.deferred_imports import defer_import
    defer_import("json")
    defer_import("no_such_module_for_pynn_jax")
    assert type(sys.modules["json"]).__name__ == "module"
    assert "no_such_module_for_pynn_jax" not in sys.modules
