"""Simulator state of pyNN.jax: the clock, the network registry and the engine driver.

``state`` is the module singleton that PyNN's common code reads (t, dt, min_delay, ...).
"""
import sys
import time
import zlib

import numpy as np

from pyNN import common

from .build import EngineNetwork
from .engine import processes
from .engine.time_grid import to_steps

name = "JAX"  # written into Neo annotations, like "NEST" for pyNN.nest

PROGRESS_PERIOD = 1.0   # s of wall time between two progress lines of ``progress=True``


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


def _duration(seconds):
    """Wall time for people: "42.0 s", "3 min 05 s", "2 h 07 min"."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min {int(seconds % 60):02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


class ProgressReport:
    """Progress lines on stderr during one run: biological time (ms) done, wall time spent,
    and the wall time left, estimated from the speed since the first update (the first chunk
    of a run includes its compilation). One line rewritten in place on a terminal, a line per
    report otherwise."""

    def __init__(self, t_start, t_stop, period, silent=False):
        self.t_start, self.t_stop, self.period = t_start, t_stop, period
        self.silent = silent         # the processes but the first of a run of several
        self.started = self.last_line = time.perf_counter()
        self.first_update = None     # (t in ms, wall clock in s)

    def update(self, t):
        """After a piece of the run, at time ``t`` (ms): a line if ``period`` s have passed
        (from the second update on: the first gives the speed its starting point)."""
        now = time.perf_counter()
        if self.first_update is None:
            self.first_update = (t, now)
        elif now - self.last_line >= self.period and t < self.t_stop:
            self._write(t, now, end="")

    def finish(self, t):
        """The last line, at the end of the run."""
        self._write(t, time.perf_counter(), end="\n")

    def _write(self, t, now, end):
        if self.silent:
            return
        t_ref, wall_ref = (self.first_update if self.first_update and t > self.first_update[0]
                           else (self.t_start, self.started))
        ms_per_second = (t - t_ref) / max(now - wall_ref, 1e-9)
        left = (self.t_stop - t) / ms_per_second if ms_per_second > 0 else float("inf")
        span = max(self.t_stop - self.t_start, 1e-12)
        line = (f"pyNN.jax: {t:g} of {self.t_stop:g} ms biological time "
                f"({100 * (t - self.t_start) / span:3.0f} %), {_duration(now - self.started)} "
                f"wall time, {_duration(left)} left")
        stream = sys.stderr
        if stream.isatty():
            stream.write("\r" + line.ljust(79) + end)
        else:
            stream.write(line + "\n")
        stream.flush()
        self.last_line = now


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
        self.spike_precision = "off_grid"   # precise spike times (as pyNN.nest), or "on_grid"
        self.compilation_cache = None   # folder of the persistent compilation cache, or None
        self.draw_order = "vectorised"   # random connectors without their own draw_order
        self.progress_period = None   # s between progress lines of every run(); None: none
        self.progress_report = None   # the ProgressReport of the run in progress, if any
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
        """The shortest (``reduce`` = np.min) or longest delay of any connection (of every
        process: collective in a run of several); dt without connections."""
        delays = [float(reduce(p._connections["delay"]))
                  for p in getattr(self, "projections", []) if len(p)]
        if self.num_processes > 1:
            delays = processes.concatenate(np.array(delays))
        return float(reduce(delays)) if len(delays) else self.dt

    @property
    def t(self):
        return round(self.network.step * self.dt, 12)

    def run(self, simtime):
        self.run_until(self.t + simtime)

    def run_until(self, tstop):
        n_steps = int(to_steps(np, np.asarray(tstop, dtype=float), self.dt)) - self.network.step
        if n_steps > 0:
            self.running = True
            self.network.end_step = self.network.step + n_steps
            if self.progress_report is None:
                self.network.advance(n_steps)
            else:
                self._advance_reporting(n_steps)
        elif not self.running:
            self.running = True

    def _advance_reporting(self, n_steps):
        """Advance in pieces of whole chunks, each about one report period of wall time (the
        first: one chunk), updating the progress report after each. The engine copies out a
        chunk's recordings while the next one runs; that overlap is lost once per piece only."""
        self.network.prepare()
        chunk_steps = self.network.structure.chunk_steps
        piece_steps = chunk_steps
        while n_steps > 0:
            n = min(piece_steps, n_steps)
            started = time.perf_counter()
            self.network.advance(n)
            n_steps -= n
            self.progress_report.update(self.t)
            seconds_per_step = max(time.perf_counter() - started, 1e-9) / n
            piece_steps = chunk_steps * max(
                1, int(self.progress_report.period / seconds_per_step / chunk_steps))
            if self.num_processes > 1:
                # every process runs the same pieces (their chunks' collectives pair up)
                piece_steps = processes.first_process_value(piece_steps)

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
