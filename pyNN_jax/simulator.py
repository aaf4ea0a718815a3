"""Simulator state of pyNN.jax: the clock, the network registry and the engine driver.

``state`` is the module singleton that PyNN's common code reads (t, dt, min_delay, ...).
"""
import zlib

import numpy as np

from pyNN import common

from .build import EngineNetwork
from .engine.time_grid import to_steps

name = "JAX"  # written into Neo annotations, like "NEST" for pyNN.nest


class ID(int, common.IDMixin):
    __doc__ = common.IDMixin.__doc__

    def __init__(self, n):
        """Create an ID object with numerical value `n`."""
        int.__init__(n)
        common.IDMixin.__init__(self)

    def __getattr__(self, name):
        """A cell parameter (PyNN's IDMixin). Python's special names are not parameters:
        numpy looks some up (``__array_interface__``, ...) whenever an ID meets a numpy
        integer, and each look-up would fetch every parameter of the cell (0.3-4 ms)."""
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return super().__getattr__(name)


class State(common.control.BaseState):
    """The clock (in integer steps), the objects of the current network and the engine."""

    def __init__(self):
        super().__init__()
        self.mpi_rank = 0
        self.num_processes = 1
        self.dt = 0.1
        self.min_delay = 0.1      # a number, or "auto": the shortest delay present
        self.max_delay = 10.0     # a number, or "auto": the longest delay present
        self.seed = 0
        self.dtype = "float32"
        self.chunk_steps = None
        self.block_method = False
        self.clear()

    @property
    def min_delay(self):
        if self._min_delay == "auto":
            return self._delay_extreme(np.min)
        return self._min_delay

    @min_delay.setter
    def min_delay(self, value):
        self._min_delay = value

    @property
    def max_delay(self):
        if self._max_delay == "auto":
            return self._delay_extreme(np.max)
        return self._max_delay

    @max_delay.setter
    def max_delay(self, value):
        self._max_delay = value

    def _delay_extreme(self, reduce):
        delays = [reduce(p._connections["delay"]) for p in getattr(self, "projections", [])
                  if len(p)]
        return float(reduce(delays)) if delays else self.dt

    @property
    def t(self):
        return round(self.network.step * self.dt, 12)

    def run(self, simtime):
        self.run_until(self.t + simtime)

    def run_until(self, tstop):
        n_steps = int(to_steps(np, np.asarray(tstop, dtype=float), self.dt)) - self.network.step
        if n_steps > 0:
            self.running = True
            self.network.advance(n_steps)
        elif not self.running:
            self.running = True

    def clear(self):
        self.populations = []
        self.projections = []
        self.current_sources = []
        self.recorders = set()
        self.id_counter = 0
        self.segment_counter = -1
        self.network = EngineNetwork(self)
        self.reset()

    def reset(self):
        """Return to t = 0 with every state variable at its initial value (a full restore)."""
        self.segment_counter += 1
        self.network.reset()
        for recorder in self.recorders:
            recorder._clear_simulator()
        for source in self.current_sources:
            source._clear_samples()
        self.running = False
        self.t_start = 0

    def seed_for(self, purpose):
        """A reproducible integer seed for one purpose (``rng_seed`` from setup())."""
        return int(np.random.SeedSequence([self.seed, zlib.crc32(repr(purpose).encode())])
                   .generate_state(1)[0])


state = State()
