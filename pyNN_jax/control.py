"""setup(), run(), reset() and friends."""
import atexit
import gc
import importlib.util
import os
import warnings

import jax
import numpy as np
from jax._src import xla_bridge

from pyNN import common, errors
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from . import connectors, simulator
from .engine import chunk_cache, processes, sharding

PRECISIONS = ("float32", "float64")
SPIKE_PRECISIONS = ("on_grid", "off_grid")


DEFAULT_COMPILATION_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "pyNN_jax", "xla")


def _use_compilation_cache(directory):
    """Keep compiled chunks on disk (JAX's persistent compilation cache, and the chunks
    by network structure in its ``chunks`` folder), so that the next process running the
    same network structure loads them instead of tracing and compiling."""
    chunk_cache.set_directory(os.path.join(directory, "chunks") if directory else None)
    if directory:
        jax.config.update("jax_compilation_cache_dir", os.fspath(directory))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _fast_exit():
    """Freeze the cyclic garbage collector when the interpreter exits (after the script's own
    atexit handlers): its final collections over the ~200 000 objects that jax, PyNN, neo and
    matplotlib leave behind cost 0.3-0.8 s of every script's wall time on a 2-core machine.
    Objects are still freed by reference counting (files are flushed and closed); only
    unreachable reference cycles are left to the operating system, as on ``os._exit``.
    ``PYNN_JAX_FAST_EXIT=0`` keeps Python's default."""
    if os.environ.get("PYNN_JAX_FAST_EXIT", "1") != "0":
        atexit.register(gc.freeze)


_fast_exit()


# XLA:GPU runs loops and conditionals as host-driven thunks by default: every iteration of the
# chunk's step loop copies its predicate to the host and waits for it. Recorded as CUDA-graph
# command buffers with conditional nodes, the loops stay on the GPU (H200, VA-4000 COBA: 79 ->
# 42 us per step). Only the GPU reads these flags.
GPU_COMMAND_BUFFER_FLAG = "--xla_gpu_enable_command_buffer=FUSION,CUBLAS,CUSTOM_CALL,CONDITIONAL,WHILE"


def _use_gpu_command_buffers():
    """Add :data:`GPU_COMMAND_BUFFER_FLAG` to ``XLA_FLAGS`` before JAX starts its backends,
    unless the user's ``XLA_FLAGS`` already choose the command buffers."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_gpu_enable_command_buffer" in flags or xla_bridge.backends_are_initialized():
        return
    os.environ["XLA_FLAGS"] = f"{flags} {GPU_COMMAND_BUFFER_FLAG}".strip()


_cpu_threads = None    # CPUs of XLA's CPU runtime when setup(threads=...) started it


# plugins of accelerators: where one is installed, setup() without threads leaves JAX's CPU
# runtime as JAX starts it (all CPUs)
ACCELERATOR_PLUGINS = ("jax_cuda12_plugin", "jax_cuda13_plugin", "jax_rocm60_plugin",
                       "jax_rocm7_plugin", "libtpu")


def _default_cpu_threads():
    """CPUs of XLA's CPU runtime when setup() is not given ``threads``: one, NEST's default,
    where JAX has no accelerator plugin; else None (JAX's own choice, all CPUs). XLA's CPU
    runtime spreads the step's operations over its threads; on a 2-core machine that made
    every network measured below a million cells slower (docs/backend.rst)."""
    if any(importlib.util.find_spec(name) for name in ACCELERATOR_PLUGINS):
        return None
    return 1


def _use_cpu_threads(threads):
    """XLA's CPU runtime works on ``threads`` CPUs (NEST's ``threads``: scripts written for
    pyNN.nest pass it to setup(); None: :func:`_default_cpu_threads`, without a warning where
    the runtime exists already).

    JAX sizes the thread pool of its CPU runtime from the CPUs the process may use when the
    client is created. It is created here, with the calling thread's CPU affinity cut to its
    first ``threads`` CPUs; then the calling thread and the threads the client started get
    the full affinity back: the pool keeps its size, and XLA's compiler (whose parallelism
    follows the affinity) stays as fast. A client that exists already cannot change: a
    different number warns."""
    global _cpu_threads
    if threads is None:
        threads = None if xla_bridge.backends_are_initialized() else _default_cpu_threads()
        if threads is None:
            return
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise errors.InvalidParameterValueError(
            f"threads = {threads!r}; threads must be a positive integer (CPU threads of the "
            f"engine)")
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if xla_bridge.backends_are_initialized():
        if threads != _cpu_threads and not (_cpu_threads is None and allowed
                                            and threads >= len(allowed)):
            warnings.warn(f"setup(threads={threads}) has no effect: JAX's CPU runtime was "
                          f"started earlier in this process with "
                          f"{_cpu_threads or 'all available'} CPU(s); give threads to the "
                          f"first setup() of the process, before any JAX computation")
        return
    if allowed is None or threads >= len(allowed):
        return
    before = _thread_ids()
    os.sched_setaffinity(0, sorted(allowed)[:threads])
    try:
        jax.devices()
    finally:
        for thread in {0} | (_thread_ids() - before):
            try:
                os.sched_setaffinity(thread, allowed)
            except OSError:        # a thread that has ended meanwhile
                pass
    _cpu_threads = int(threads)


def _thread_ids():
    """Kernel ids of the threads of this process (Linux; empty elsewhere)."""
    try:
        return {int(task) for task in os.listdir("/proc/self/task")}
    except OSError:
        return set()


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, **extra_params):
    """Initialise (or re-initialise) pyNN.jax; any existing network is destroyed.

    Parameters
    ----------
    timestep : float
        Integration step dt (ms).
    min_delay, max_delay : float or "auto"
        PyNN's delay bounds (ms). Delays are rounded to dt (at least one step); the ring buffer
        is sized from the longest delay actually present, so ``max_delay`` is not a limit.
    precision : {"float32", "float64"}
        Floating-point type of the engine. float32 (default) is what accelerators are fast
        at; float64 enables ``jax_enable_x64`` for the whole process.
    rng_seed : int
        Seed of every random process of the engine (Poisson sources, noise) and of NativeRNG.
    chunk_steps : int
        Steps per compiled chunk (default: chosen from the recording size, at most 1000).
    block_method : bool
        Opt-in block method (Taylor, King & Harper 2023) for networks of IF_curr_exp and
        IF_curr_delta cells with static synapses: blocks as long as the shortest refractory
        period plus one step (and at most the shortest delay) are advanced time-parallel,
        at most one spike per cell per block. Same spikes as step by step up to floating-point
        rounding; see the engine page of the documentation. It implies
        ``spike_precision="on_grid"`` unless spike_precision is given.
    draw_order : {"vectorised", "pynn"}
        How the random connectors (FixedProbability, FixedNumberPre/Post without
        replacement, FixedTotalNumber) draw when not given ``draw_order`` themselves:
        "vectorised" (default) draws in bulk, the same distributions as PyNN's generic code;
        "pynn" draws PyNN's numbers in PyNN's order, the connections pyNN.nest makes for the
        same seed (much slower). See the differences page of the documentation.
    compilation_cache : str, path or None
        Directory of JAX's persistent compilation cache (default: the environment variable
        ``PYNN_JAX_COMPILATION_CACHE``, else ``~/.cache/pyNN_jax/xla``; ``None`` or ``""``:
        off). A network structure compiled once is loaded, not compiled, by later processes.
        This is a process-wide JAX setting.
    devices : int, "all" or sequence of jax.Device
        Devices the network is spread over (default: JAX's default device, no sharding; in a
        run of several processes, every device of every process): the first N devices of
        JAX's default backend, all of them, or the ones given. Cells and their connectivity
        tables are split over the devices; see the scaling page of the documentation.

    threads : int
        CPUs that JAX's CPU runtime uses, as NEST's ``threads`` (default: 1, NEST's default,
        unless an accelerator plugin of JAX is installed: then all the process may use). Only
        the first setup() of a process, before any JAX computation, can set it (later: a
        warning). One thread is the fastest up to several hundred thousand cells; a network
        of a million cells gains from more (see the backend page of the documentation).

    progress : bool or float
        Progress lines on stderr during every run (biological time, wall time, estimated time
        left): True every second of wall time, a number every that many seconds; default
        False. ``run(..., progress=...)`` decides for one run.

    spike_precision : {"on_grid", "off_grid"}
        "off_grid" (pyNN.nest's meaning): IF_curr_exp and IF_curr_delta are NEST's
        iaf_psc_exp_ps and iaf_psc_delta_ps (spikes at their exact times inside a step, input
        applied at its offset), SpikeSourceArray emits at its exact times and
        SpikeSourcePoisson is poisson_generator_ps; other cell types receive these spikes in
        the step they arrive in; the default, as on pyNN.nest. "on_grid": every spike on the
        time grid (NEST's iaf_psc_exp, ...; about 3x cheaper for IF_curr_exp networks); the
        default when ``block_method=True``. See the numerics page of the documentation.

    Other keyword arguments (``label``, ...) are accepted and ignored, as on other backends.

    A script started as several processes (``mpirun -np N``, ``srun``, or the environment
    variables ``PYNN_JAX_COORDINATOR``, ``PYNN_JAX_NUM_PROCESSES``, ``PYNN_JAX_PROCESS_ID``)
    joins them here (``jax.distributed``); ``rank()`` and ``num_processes()`` answer as on
    pyNN.nest. See the scaling page of the documentation.
    """
    common.setup(timestep, min_delay, **extra_params)
    precision = extra_params.get("precision", "float32")
    if precision not in PRECISIONS:
        raise errors.InvalidParameterValueError(
            f"precision = {precision!r}; precision must be one of {PRECISIONS}")
    if timestep <= 0:
        raise errors.InvalidParameterValueError(f"timestep = {timestep}; it must be > 0 ms")
    jax.config.update("jax_enable_x64", precision == "float64")
    state = simulator.state
    state.dt = float(timestep)
    state.min_delay = min_delay if min_delay == "auto" else float(min_delay)
    max_delay = extra_params.get("max_delay", DEFAULT_MAX_DELAY)
    state.max_delay = max_delay if max_delay == "auto" else float(max_delay)
    state.seed = int(extra_params.get("rng_seed", extra_params.get("seed", 0)) or 0)
    state.dtype = precision
    chunk_steps = extra_params.get("chunk_steps")
    if chunk_steps is not None and (int(chunk_steps) != chunk_steps or chunk_steps < 1):
        raise errors.InvalidParameterValueError(
            f"chunk_steps = {chunk_steps!r}; chunk_steps must be a positive integer")
    state.chunk_steps = None if chunk_steps is None else int(chunk_steps)
    state.block_method = bool(extra_params.get("block_method", False))
    # the block method integrates the grid models only: asking for it implies "on_grid"
    state.spike_precision = extra_params.get(
        "spike_precision", "on_grid" if state.block_method else "off_grid")
    if state.spike_precision not in SPIKE_PRECISIONS:
        raise errors.InvalidParameterValueError(
            f"spike_precision = {state.spike_precision!r}; spike_precision must be one of "
            f"{SPIKE_PRECISIONS}")
    state.draw_order = extra_params.get("draw_order", "vectorised")
    if state.draw_order not in connectors.DRAW_ORDERS:
        raise errors.InvalidParameterValueError(
            f"draw_order = {state.draw_order!r}; draw_order must be one of "
            f"{connectors.DRAW_ORDERS}")
    state.progress_period = _progress_period(extra_params.get("progress"))
    state.compilation_cache = extra_params.get(
        "compilation_cache", os.environ.get("PYNN_JAX_COMPILATION_CACHE",
                                            DEFAULT_COMPILATION_CACHE)) or None
    _use_compilation_cache(state.compilation_cache)
    _use_gpu_command_buffers()
    processes.join(processes.launch_environment())
    _use_cpu_threads(extra_params.get("threads"))
    state.mpi_rank, state.num_processes = jax.process_index(), jax.process_count()
    state.devices = _devices(extra_params.get("devices"), state.num_processes)
    state.clear()
    return rank()


def _devices(devices, num_processes):
    """The devices of the network (``setup(devices=...)``): with several processes, every
    process's devices by default, and each process must hold some of them."""
    if devices is None and num_processes > 1:
        devices = "all"
    try:
        chosen = sharding.resolve_devices(devices)
    except ValueError as error:
        raise errors.InvalidParameterValueError(str(error)) from None
    idle = set(range(num_processes)) - {device.process_index for device in chosen}
    if idle:
        raise errors.InvalidParameterValueError(
            f"devices = {devices!r} leaves process(es) {sorted(idle)} of {num_processes} "
            f"without a device; every process must hold a part of the network (default: "
            f"all devices)")
    return chosen


def end(compatible_output=True):
    """Write the data that ``record(..., to_file=...)`` asked for and release the network."""
    for (population, variables, filename) in simulator.state.write_on_end:
        io = get_io(filename)
        population.write_data(io, variables)
    simulator.state.write_on_end = []


_run_until = common.build_run(simulator)[1]   # (run, run_until)


def _progress_period(progress):
    """Seconds between progress lines for a ``progress`` option; None: no progress lines."""
    if progress is None or progress is False:
        return None
    if progress is True:
        return simulator.PROGRESS_PERIOD
    if isinstance(progress, (int, float, np.integer, np.floating)) and progress > 0:
        return float(progress)
    raise errors.InvalidParameterValueError(
        f"progress = {progress!r}; progress must be True, False or a positive number of "
        f"seconds between two progress lines")


def run_until(time_point, callbacks=None, progress=None):
    """Advance the simulation until ``time_point`` (ms); PyNN's ``run_until``.

    ``callbacks`` : callables, each called with the current time (ms) and returning the next
    time it wants to be called. ``progress`` : True (a line on stderr every second of wall
    time: biological time, wall time, estimated time left), a number of seconds between
    lines, or False; default: ``setup(progress=...)``.
    """
    state = simulator.state
    period = _progress_period(progress) if progress is not None else state.progress_period
    if period is None:
        return _run_until(time_point, callbacks)
    report = state.progress_report = simulator.ProgressReport(state.t, time_point, period,
                                                              silent=state.mpi_rank > 0)
    try:
        time_reached = _run_until(time_point, callbacks)
    finally:
        state.progress_report = None
    report.finish(time_reached)
    return time_reached


def run(simtime, callbacks=None, progress=None):
    """Advance the simulation by ``simtime`` (ms); as :func:`run_until`."""
    return run_until(simulator.state.t + simtime, callbacks, progress)


run_for = run

reset = common.build_reset(simulator)

initialize = common.initialize

get_current_time, get_time_step, get_min_delay, get_max_delay, \
    num_processes, rank = common.build_state_queries(simulator)
