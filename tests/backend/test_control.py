"""setup/run/reset control flow, callbacks, the procedural API, precision, threads."""
import os
import pickle
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest


def test_run_callbacks_are_called_and_can_change_parameters(sim):
    cells = sim.Population(1, sim.IF_curr_exp(i_offset=0.0, v_thresh=1e3))
    cells.record("v")
    calls = []

    def step_current_up(t):
        calls.append(t)
        cells.set(i_offset=0.1 * len(calls))
        return t + 10.0

    assert sim.run(30.0, callbacks=[step_current_up]) == pytest.approx(30.0)
    assert calls == pytest.approx([0.0, 10.0, 20.0, 30.0])
    v = cells.get_data().segments[0].analogsignals[0].magnitude[:, 0]
    slopes = [v[k + 1] - v[k] for k in (0, 100, 200)]
    assert slopes[0] < slopes[1] < slopes[2]


def test_run_until_and_run_for_and_time_queries(sim):
    sim.Population(1, sim.IF_curr_exp())
    assert sim.run_until(12.3) == pytest.approx(12.3)
    assert sim.run_for(7.7) == pytest.approx(20.0)
    assert sim.get_current_time() == pytest.approx(20.0)
    with pytest.raises(ValueError):
        sim.run_until(10.0)
    sim.reset()
    assert sim.get_current_time() == 0.0


def test_procedural_api(sim):
    cells = sim.create(sim.IF_curr_exp(i_offset=1.0), n=3)
    sources = sim.create(sim.SpikeSourceArray(spike_times=[1.0]), n=2)
    prj = sim.connect(sources, cells, weight=0.5, delay=1.0, p=1.0)
    assert len(prj) == 6
    cells.record("spikes")
    sim.set(cells, tau_m=30.0)
    assert cells.get("tau_m") == 30.0
    sim.initialize(cells, v=-60.0)
    sim.run(50.0)
    assert all(len(st) > 0 for st in cells.get_data().segments[0].spiketrains)


def test_min_delay_auto_is_the_shortest_delay(sim):
    import pyNN.jax as jx
    jx.setup(min_delay="auto")
    a = jx.Population(2, jx.IF_curr_exp())
    jx.Projection(a, a, jx.AllToAllConnector(), jx.StaticSynapse(delay=0.7))
    jx.Projection(a, a, jx.AllToAllConnector(), jx.StaticSynapse(delay=2.5))
    assert jx.get_min_delay() == pytest.approx(0.7)


def test_float64_precision_option():
    import pyNN.jax as sim
    sim.setup(precision="float64")
    cells = sim.Population(1, sim.IF_curr_exp(i_offset=0.3, v_thresh=1e3))
    cells.record("v")
    sim.run(100.0)
    v = cells.get_data().segments[0].analogsignals[0].magnitude[:, 0]
    t = np.arange(1001) * 0.1
    np.testing.assert_allclose(v, -65.0 + 6.0 * (1 - np.exp(-t / 20.0)), atol=1e-11)
    assert sim.simulator.state.network.device_state["ring"].dtype == np.float64
    sim.setup(precision="float32")
    sim.end()


COMPILE_AND_RUN = """
import sys
import jax.monitoring
import pyNN.jax as sim
traces = []
jax.monitoring.register_event_duration_secs_listener(
    lambda event, seconds, **kw: traces.append(event) if event.endswith("jaxpr_trace_duration") else None)
sim.setup(timestep=0.1)
cells = sim.Population(int(sys.argv[1]), sim.IF_curr_exp(i_offset=2.0))
cells.record("spikes")
sim.run(50.0)
print(sum(cells.get_spike_counts().values()), len(traces))
"""


def test_compiled_chunks_are_kept_in_the_persistent_cache(tmp_path):
    """A second process with the same network loads the compiled chunk from the cache
    directory (PYNN_JAX_COMPILATION_CACHE) without tracing it, and gives the same spikes;
    another size (beyond the padding) compiles its own; an unreadable file is compiled again; executables found in
    JAX's own cache are used but not kept by structure."""
    env = {**os.environ, "PYNN_JAX_COMPILATION_CACHE": str(tmp_path)}

    def spikes_and_traces(n_cells):
        out = subprocess.run([sys.executable, "-c", COMPILE_AND_RUN, str(n_cells)], env=env,
                             check=True, capture_output=True, text=True).stdout
        return tuple(int(word) for word in out.split()[-2:])

    first, second = spikes_and_traces(20), spikes_and_traces(20)
    assert first[0] == 20 * 5 and first[1] > 0    # 2 nA: a spike every 9.5 ms (closed form)
    assert second == (first[0], 0)
    assert any("run_chunk" in name for name in os.listdir(tmp_path))
    chunks = tmp_path / "chunks"
    assert len(os.listdir(chunks)) == 1
    assert spikes_and_traces(40) == (40 * 5, first[1])     # beyond the padding of 20 cells
    assert len(os.listdir(chunks)) == 2
    for name in os.listdir(chunks):
        (chunks / name).write_bytes(b"truncated")
    assert spikes_and_traces(20) == first
    # from JAX's cache alone (its executables are not written again: they would not load)
    shutil.rmtree(chunks)
    assert spikes_and_traces(20) == first == spikes_and_traces(20)
    assert not os.path.exists(chunks)


@pytest.mark.parametrize("threads", [0, -2, 1.5, True, "2"])
def test_threads_must_be_a_positive_integer(sim, threads):
    with pytest.raises(sim.errors.InvalidParameterValueError, match="threads"):
        sim.setup(threads=threads)


THREADS_IN_A_FRESH_PROCESS = """
import glob, os, warnings
import pyNN.jax as sim
affinity = os.sched_getaffinity(0)
sim.setup(threads=1)
cells = sim.Population(20, sim.IF_curr_exp(i_offset=1.0))
cells.record("spikes")
sim.run(50.0)
# XLA names the threads of its CPU runtime's pool tf_XLAEigen
names = [open(f).read().split("Name:")[1].split()[0] for f in glob.glob("/proc/self/task/*/status")]
spikes = sum(len(st) for st in cells.get_data().segments[0].spiketrains)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    sim.setup(threads=2)             # too late: the runtime exists
print(names.count("tf_XLAEigen"), os.sched_getaffinity(0) == affinity, spikes,
      sum("threads=2" in str(w.message) for w in caught))
"""


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and at least 2 CPUs")
def test_threads_sizes_the_cpu_runtime_of_a_fresh_process():
    # setup(threads=1) before any JAX computation: one runtime thread, the process keeps its
    # CPUs, the network runs; a later setup(threads=2) warns that it cannot change it
    output = subprocess.run([sys.executable, "-c", THREADS_IN_A_FRESH_PROCESS], check=True,
                            capture_output=True, text=True).stdout.split()
    assert output[:2] == ["1", "True"]
    assert int(output[2]) == 20    # 1 nA: each cell fires at 20 ln 4 = 27.7 ms, again at 55.5
    assert output[3] == "1"


RUNTIME_THREADS = """
import glob, sys
import pyNN.jax as sim
sim.setup(**({"threads": int(sys.argv[1])} if len(sys.argv) > 1 else {}))
sim.Population(5, sim.IF_curr_exp(i_offset=1.0))
sim.run(10.0)
names = [open(f).read().split("Name:")[1].split()[0] for f in glob.glob("/proc/self/task/*/status")]
print(names.count("tf_XLAEigen"))
"""


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and at least 2 CPUs")
def test_cpu_runtime_has_one_thread_unless_setup_asks_for_more():
    """setup() without threads: one thread in XLA's CPU runtime (NEST's default); threads=2
    gives two."""
    def runtime_threads(*args):
        return int(subprocess.run([sys.executable, "-c", RUNTIME_THREADS, *args], check=True,
                                  capture_output=True, text=True).stdout.split()[-1])
    assert runtime_threads() == 1
    assert runtime_threads("2") == 2


PROGRESS_LINE = re.compile(r"pyNN\.jax: ([\d.]+) of ([\d.]+) ms biological time \( *(\d+) %\), "
                           r"[\d.]+ s wall time, [\d.]+ s left")


def progress_lines(text):
    """(t, t_stop, percent) of every progress line of ``text``."""
    return [(float(t), float(t_stop), int(percent))
            for t, t_stop, percent in PROGRESS_LINE.findall(text)]


def test_progress_lines_on_stderr_only_when_asked(sim, capsys):
    sim.setup(timestep=0.1, chunk_steps=10)
    sim.Population(3, sim.IF_curr_exp(i_offset=1.0))
    sim.run(20.0)
    assert capsys.readouterr().err == ""
    sim.run(30.0, progress=1e-6)             # a line after every piece but the first
    lines = progress_lines(capsys.readouterr().err)
    assert len(lines) >= 3
    assert [t for t, _, _ in lines] == sorted(t for t, _, _ in lines)
    assert {t_stop for _, t_stop, _ in lines} == {50.0}
    assert 20.0 < lines[0][0] and lines[-1] == (50.0, 50.0, 100)
    sim.run(10.0, progress=False)
    assert capsys.readouterr().err == ""


def test_progress_of_setup_applies_to_every_run(sim, capsys):
    sim.setup(timestep=0.1, progress=True)
    sim.Population(3, sim.IF_curr_exp())
    sim.run(10.0)
    sim.run_until(25.0)
    assert progress_lines(capsys.readouterr().err) == [(10.0, 10.0, 100), (25.0, 25.0, 100)]
    sim.run(5.0, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("progress", [-1.0, "text", 0])
def test_progress_must_be_a_bool_or_a_positive_period(sim, progress):
    sim.Population(1, sim.IF_curr_exp())
    with pytest.raises(sim.errors.InvalidParameterValueError):
        sim.run(1.0, progress=progress)
    with pytest.raises(sim.errors.InvalidParameterValueError):
        sim.setup(progress=progress)


def test_simulation_progress_bar_callback(sim, capsys):
    from pyNN.utility import SimulationProgressBar
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    cells.record("v")
    assert sim.run(100.0, callbacks=[SimulationProgressBar(10.0, 100.0)],
                   progress=True) == pytest.approx(100.0)
    assert sim.get_current_time() == pytest.approx(100.0)
    assert cells.get_data().segments[0].analogsignals[0].shape == (1001, 2)
    output = capsys.readouterr()
    assert output.out.count("%") == 11 and "100%" in output.out     # t = 0, 10, ..., 100 ms
    assert progress_lines(output.err)[-1] == (100.0, 100.0, 100)


COMMAND_BUFFER_FLAGS = """
import os
import pickle
import pyNN.jax as sim
from pyNN_jax.control import GPU_COMMAND_BUFFER_FLAG
sim.setup()
print(os.environ.get("XLA_FLAGS", "").count("xla_gpu_enable_command_buffer"),
      GPU_COMMAND_BUFFER_FLAG in os.environ.get("XLA_FLAGS", ""))
"""


@pytest.mark.parametrize("user_flags, expected", [
    ("", "1 True"),                                                  # added
    ("--xla_cpu_enable_fast_math=false", "1 True"),                  # added to the user's
    ("--xla_gpu_enable_command_buffer=", "1 False"),                 # the user's choice kept
])
def test_setup_keeps_gpu_loops_on_the_device_unless_the_user_chose(user_flags, expected):
    env = dict(os.environ, XLA_FLAGS=user_flags)
    output = subprocess.run([sys.executable, "-c", COMMAND_BUFFER_FLAGS], env=env, check=True,
                            capture_output=True, text=True).stdout
    assert output.split("\n")[-2] == expected


FAST_EXIT_SCRIPT = """
import atexit, gc, pickle, sys
# registered before pyNN.jax is imported: runs after its exit handler
atexit.register(lambda: print("frozen", gc.get_freeze_count() > 0, flush=True))
import pyNN.jax as sim
sim.setup()
cells = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
cells.record("spikes")
sim.run(50.0)
out = open(sys.argv[1], "wb")     # left open: closed and flushed by reference counting at exit
pickle.dump(sum(len(st) for st in cells.get_data().segments[0].spiketrains), out)
"""


@pytest.mark.parametrize("fast_exit, frozen", [(None, True), ("0", False)])
def test_exit_freezes_the_garbage_collector_and_keeps_written_data(tmp_path, fast_exit,
                                                                  frozen):
    env = {k: v for k, v in os.environ.items() if k != "PYNN_JAX_FAST_EXIT"}
    if fast_exit is not None:
        env["PYNN_JAX_FAST_EXIT"] = fast_exit
    path = tmp_path / "count.pkl"
    output = subprocess.run([sys.executable, "-c", FAST_EXIT_SCRIPT, str(path)], env=env,
                            check=True, capture_output=True, text=True).stdout
    assert f"frozen {frozen}" in output
    with open(path, "rb") as f:
        assert pickle.load(f) > 0      # both cells fire under 1 nA within 50 ms


ON_THE_SECOND_DEVICE = """
import jax
import pyNN.jax as sim
sim.setup(timestep=0.1, devices=[jax.devices()[1]])
cells = sim.Population(20, sim.IF_curr_exp(i_offset=2.0))
cells.record("spikes")
sim.run(50.0)
(device,) = sim.state.network.device_state["groups"][0]["v"].devices()
print(sum(cells.get_spike_counts().values()), device.id)
"""


def test_a_chunk_kept_on_disk_loads_onto_the_device_the_network_is_on(tmp_path):
    """A network set up on one chosen device of several: the second process loads the
    chunk the first kept, onto that device, and gives the same spikes."""
    env = {**os.environ, "PYNN_JAX_COMPILATION_CACHE": str(tmp_path),
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    outputs = [subprocess.run([sys.executable, "-c", ON_THE_SECOND_DEVICE], env=env,
                              check=True, capture_output=True, text=True).stdout.split()
               for _ in range(2)]
    assert len(os.listdir(tmp_path / "chunks")) == 1
    assert outputs[0] == outputs[1] == ["100", "1"]
