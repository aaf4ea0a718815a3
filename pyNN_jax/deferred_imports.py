"""Third-party modules that PyNN imports eagerly but only some scripts use, imported on first use.

``pyNN.connectors`` runs ``import csa`` (Connection Set Algebra) when it is installed, and csa's
``__init__`` imports ``matplotlib.pyplot``: ~0.4 s of every ``import pyNN.jax`` for the
scripts that never build a CSAConnector. A placeholder module stands in for csa until one of
its attributes is read; then the real package is imported and takes its place.

``importlib.util.LazyLoader`` does not serve here: the import system reads the module's
``__spec__`` when ``import csa`` finds it in ``sys.modules``, and a lazy module loads on any
attribute read.
"""
import importlib
import importlib.util
import sys
import types


class _DeferredModule(types.ModuleType):
    """Stands in ``sys.modules`` for a module until an attribute other than its spec is read."""

    def __getattr__(self, name):
        # Only called for attributes not yet in this module's __dict__.
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        self.__dict__.update(real.__dict__)
        return getattr(real, name)


def defer_import(name):
    """Put a placeholder for top-level module ``name`` in ``sys.modules`` (nothing if already
    imported or not installed); reading any of its attributes imports it."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    placeholder = _DeferredModule(name)
    placeholder.__spec__ = spec
    placeholder.__file__ = spec.origin
    sys.modules[name] = placeholder
