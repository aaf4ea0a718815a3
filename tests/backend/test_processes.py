"""One network over several processes (jax.distributed on this machine's CPU, gloo over
loopback) gives the one-process results exactly, and PyNN's rank and gather semantics.

Each run starts fresh processes (pyNN_jax.launch; mpirun where Open MPI is installed) of
``processes_network.py``, which writes what each process saw."""
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pyNN_jax import launch

SCRIPT = Path(__file__).with_name("processes_network.py")
TIMEOUT = 300          # s; a process that hangs in a collective fails the test, not the suite


OTHER_CONNECTIONS_SCRIPT = (
    "import pickle, sys\n"
    "import numpy as np\n"
    "import pyNN.jax as sim\n"
    "from pyNN.random import NumpyRNG, RandomDistribution\n"
    "sim.setup(timestep=0.1, min_delay=0.1, rng_seed=4, compilation_cache=None,\n"
    "          spike_precision='on_grid')\n"
    "cells = sim.Population(301, sim.IF_curr_exp(tau_refrac=2.0))\n"
    "others = sim.Population(23, sim.IF_curr_exp(i_offset=0.5))\n"
    "drive = sim.Population(324, sim.SpikeSourcePoisson(rate=900.0))\n"
    "sim.Projection(drive, cells + others, sim.OneToOneConnector(),\n"
    "               sim.StaticSynapse(weight=0.9), receptor_type='excitatory')\n"
    "sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=NumpyRNG(seed=2)),\n"
    "               sim.StaticSynapse(weight=-0.3), receptor_type='inhibitory')\n"
    "both = cells[:40] + others\n"
    "onto = sim.Projection(others, both, sim.FixedNumberPreConnector(5, rng=NumpyRNG(seed=3)),\n"
    "                      sim.StaticSynapse(weight=0.2, delay=0.5), receptor_type='excitatory')\n"
    "listed = sim.Projection(both, others[::2], sim.FromListConnector(\n"
    "    [(i, j, 0.01 + 0.001 * i, 0.3 + 0.1 * (j % 3)) for i in range(63) for j in range(12)]),\n"
    "    sim.StaticSynapse(),\n"
    "    receptor_type='excitatory')\n"
    "onto.set(weight=RandomDistribution('uniform', (0.1, 0.3), rng=NumpyRNG(seed=8)))\n"
    "cells.record('spikes')\n"
    "others.record('spikes')\n"
    "sim.run(100.0)\n"
    "result = {'spikes': [list(map(float, t)) for p in (cells, others)\n"
    "                     for t in p.get_data().segments[0].spiketrains],\n"
    "          'gathered': any('source_row' in table\n"
    "                          for table in sim.state.network.values['tables']),\n"
    "          'onto': onto.get('weight', format='array').tolist(),\n"
    "          'listed': sorted(listed.get(['weight', 'delay'], format='list')),\n"
    "          'sizes': (onto.size(), listed.size())}\n"
    "pickle.dump(result, open(sys.argv[1] + f'.{sim.rank()}', 'wb'))\n")


def test_views_assemblies_lists_and_a_one_to_one_drive_over_processes(tmp_path):
    """Projections onto an Assembly and a PopulationView, from a list, with weights set()
    from a random distribution, and a source per cell (its table delivered by gathers,
    decided alike from every process's connections): the one-process spikes and weights.
    (The receptor types are given: PyNN's default for an Assembly is not reproducible.)"""
    script = tmp_path / "other_connections.py"
    script.write_text(OTHER_CONNECTIONS_SCRIPT)
    subprocess.run([sys.executable, str(script), str(tmp_path / "one")], check=True,
                   timeout=TIMEOUT)
    outcome = launch.run([sys.executable, str(script), str(tmp_path / "two")], 2,
                         timeout=TIMEOUT)
    assert outcome.statuses == [0, 0]
    reference = pickle.loads((tmp_path / "one.0").read_bytes())
    assert reference["gathered"] and sum(map(len, reference["spikes"])) > 1000
    assert reference["sizes"] == (5 * 63, 63 * 12)
    for rank in range(2):
        result = pickle.loads((tmp_path / f"two.{rank}").read_bytes())
        np.testing.assert_array_equal(result.pop("onto"), reference["onto"])   # NaN: none
        assert result == {k: v for k, v in reference.items() if k != "onto"}


def _results(folder, n_processes):
    return [pickle.loads((folder / f"result.{rank}.pkl").read_bytes())
            for rank in range(n_processes)]


def _launched(tmp_path_factory, n_processes):
    folder = tmp_path_factory.mktemp(f"processes{n_processes}")
    outcome = launch.run([sys.executable, str(SCRIPT), str(folder)], n_processes,
                         timeout=TIMEOUT)
    assert outcome.statuses == [0] * n_processes
    return folder


@pytest.fixture(scope="module")
def one(tmp_path_factory):
    folder = tmp_path_factory.mktemp("processes1")
    subprocess.run([sys.executable, str(SCRIPT), str(folder)], check=True, timeout=TIMEOUT)
    return folder


@pytest.fixture(scope="module", params=[2, 3])
def several(request, tmp_path_factory):
    return request.param, _launched(tmp_path_factory, request.param)


def _assert_same_network_results(reference, result):
    assert result["spikes"] == reference["spikes"]
    for v, reference_v in zip(result["v"], reference["v"]):
        np.testing.assert_array_equal(v, reference_v)
    assert result["learned"] == reference["learned"]
    assert result["weights"] == reference["weights"]
    assert result["size"] == reference["size"]
    assert result["count"] == reference["count"]
    np.testing.assert_array_equal(result["tau_m"], reference["tau_m"])


def test_the_reference_run_is_not_trivial(one):
    reference, = _results(one, 1)
    assert reference["rank"] == 0 and reference["num_processes"] == 1
    assert reference["devices_error"] is None
    assert len(reference["spikes"]) == 2                       # before and after reset()
    assert all(sum(map(len, segment)) > 100 for segment in reference["spikes"])
    assert np.std(reference["learned"]) > 1e-4                 # STDP changed the weights
    assert reference["learned"] != reference["weights"]
    np.testing.assert_array_equal(reference["tau_m"], 12.0)    # set() between the runs


def test_every_process_gives_the_one_process_results(one, several):
    n_processes, folder = several
    reference, = _results(one, 1)
    for result in _results(folder, n_processes):
        _assert_same_network_results(reference, result)


def test_each_process_holds_only_the_connections_onto_its_cells(one, several):
    n_processes, folder = several
    reference, = _results(one, 1)
    results = _results(folder, n_processes)
    assert reference["local_size"] == reference["size"]
    assert sum(result["local_size"] for result in results) == reference["size"]
    for result in results:
        assert 0 < result["local_size"] < reference["size"]
        assert result["local_weights"] == result["local_size"]     # get(gather=False)


def test_rank_and_num_processes_as_on_pynn_nest(several):
    n_processes, folder = several
    results = _results(folder, n_processes)
    assert [r["rank"] for r in results] == list(range(n_processes))
    assert {r["num_processes"] for r in results} == {n_processes}


def test_sweeps_of_a_split_network_are_refused(one, several):
    n_processes, folder = several
    for result in _results(folder, n_processes):
        assert "one device" in result["sweep_error"]
        assert f"split over {n_processes} devices" in result["sweep_error"]
    assert _results(one, 1)[0]["sweep_error"] is None       # one process sweeps


def test_a_process_without_a_device_is_refused(several):
    n_processes, folder = several
    message = _results(folder, n_processes)[1]["devices_error"]
    assert message is not None and "devices = 1" in message
    assert f"of {n_processes}" in message


def _block(path):
    with open(path, "rb") as f:
        return pickle.load(f)


def _spike_times(block):
    return [[np.asarray(train).tolist() for train in segment.spiketrains]
            for segment in block.segments]


def test_write_data_gathered_on_rank_0_and_per_process_otherwise(one, several):
    n_processes, folder = several
    assert sorted(p.name for p in folder.glob("exc.pkl*")) == ["exc.pkl"]
    assert _spike_times(_block(folder / "exc.pkl")) == _spike_times(_block(one / "exc.pkl"))
    # gather=False: one file per process (PyNN's name.<rank>), each with the data of the
    # cells the process holds: every cell (the host copies are complete)
    per_process = sorted(p.name for p in folder.glob("inh.pkl*"))
    assert per_process == [f"inh.pkl.{rank}" for rank in range(n_processes)]
    for name in per_process:
        assert _spike_times(_block(folder / name)) == _spike_times(_block(one / "inh.pkl"))


MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2"]
needs_mpirun = pytest.mark.skipif(
    shutil.which("mpirun") is None,
    reason="mpirun not found: Open MPI (Debian's openmpi-bin) is not installed")


@needs_mpirun
def test_mpirun_gives_the_one_process_results(one, tmp_path):
    subprocess.run(MPIRUN + [sys.executable, str(SCRIPT), str(tmp_path)], check=True,
                   timeout=TIMEOUT)
    reference, = _results(one, 1)
    results = _results(tmp_path, 2)
    assert [r["rank"] for r in results] == [0, 1]
    for result in results:
        _assert_same_network_results(reference, result)


def test_launch_stops_the_others_when_one_process_fails():
    code = ("import os, sys, time\n"
            "if os.environ['PYNN_JAX_PROCESS_ID'] == '1': sys.exit(3)\n"
            "time.sleep(60)\n")
    started = time.monotonic()
    outcome = launch.run([sys.executable, "-c", code], 3, timeout=50)
    assert outcome.statuses[1] == 3 and outcome.exit_status == 3     # the first to fail
    assert outcome.statuses[0] < 0 and outcome.statuses[2] < 0        # killed, not left running
    assert time.monotonic() - started < 40              # at once, not at the timeout


def test_launch_gives_each_process_its_index_and_one_coordinator():
    environments = launch.environments(3, port=5555)
    assert [env["PYNN_JAX_PROCESS_ID"] for env in environments] == ["0", "1", "2"]
    assert {env["PYNN_JAX_NUM_PROCESSES"] for env in environments} == {"3"}
    assert {env["PYNN_JAX_COORDINATOR"] for env in environments} == {"127.0.0.1:5555"}


@pytest.mark.parametrize("launcher", ["pyNN_jax.launch", pytest.param("mpirun",
                                                                      marks=needs_mpirun)])
def test_the_demo_as_two_processes_writes_the_one_process_output(tmp_path, launcher):
    """examples/demo.py unchanged under pyNN_jax.launch -n 2 and mpirun -np 2: the same
    demo.pkl (spike trains and signals) as one process, and one figure."""
    demo = Path(__file__).parents[2] / "examples" / "demo.py"
    arguments = ["--n", "200", "--duration", "200"]
    subprocess.run([sys.executable, str(demo), *arguments, "--output", str(tmp_path / "one")],
                   check=True, timeout=TIMEOUT, capture_output=True)
    command = [sys.executable, str(demo), *arguments, "--output", str(tmp_path / "two")]
    if launcher == "mpirun":
        subprocess.run(MPIRUN + command, check=True, timeout=TIMEOUT, capture_output=True)
    else:
        outcome = launch.run(command, 2, timeout=TIMEOUT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        assert outcome.statuses == [0, 0]
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["demo.pkl", "demo.png"]
    one, two = (_block(tmp_path / folder / "demo.pkl") for folder in ("one", "two"))
    assert _spike_times(two) == _spike_times(one)
    assert sum(map(len, _spike_times(one)[0])) > 0
    signals = [{s.name: np.asarray(s) for s in block.segments[0].analogsignals}
               for block in (one, two)]
    assert signals[0].keys() == signals[1].keys() == {"v", "gsyn_exc", "gsyn_inh"}
    for name in signals[0]:
        np.testing.assert_array_equal(signals[1][name], signals[0][name])


def test_launch_command_line_runs_the_script_with_its_arguments(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("import os, sys\n"
                      "rank = os.environ['PYNN_JAX_PROCESS_ID']\n"
                      "open(os.path.join(sys.argv[1], 'ran.' + rank), 'w').write(sys.argv[2])\n"
                      "import time; time.sleep(30 if rank == '0' and sys.argv[2] == 'fail' "
                      "else 0)\n"
                      "sys.exit(5 if rank == '1' and sys.argv[2] == 'fail' else 0)\n")
    command = [sys.executable, "-m", "pyNN_jax.launch", "-n", "2", str(script), str(tmp_path)]
    assert subprocess.run(command + ["ok"], timeout=60).returncode == 0
    assert sorted(p.name for p in tmp_path.glob("ran.*")) == ["ran.0", "ran.1"]
    assert (tmp_path / "ran.1").read_text() == "ok"
    assert subprocess.run(command + ["fail"], timeout=60).returncode == 5
    refused = subprocess.run([sys.executable, "-m", "pyNN_jax.launch", "-n", "0", str(script)],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--processes = 0" in refused.stderr


@pytest.mark.parametrize("network, words", [
    # unseeded random parameters: each process would place its own shards from its own values
    ("cells = sim.Population(6, sim.IF_curr_exp(\n"
     "    i_offset=RandomDistribution('uniform', (0.5, 2.0))))\n", "different networks"),
    # a connector seeded from rank(): each process keeps its cells' share of another network
    ("cells = sim.Population(20, sim.IF_curr_exp())\n"
     "rng = NumpyRNG(seed=5 + sim.rank())\n"
     "sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.5, rng=rng))\n",
     "connections")])
def test_processes_that_built_different_networks_are_stopped_with_a_clear_error(
        tmp_path, network, words):
    """The processes compare digests of the cells' values and checksums of the connections
    they drew before the first run: a mixed network is refused, never run."""
    script = tmp_path / "divergent.py"
    script.write_text(
        "import sys\n"
        "import pyNN.jax as sim\n"
        "from pyNN.random import NumpyRNG, RandomDistribution\n"
        "from pyNN_jax.engine.processes import DivergenceError\n"
        "sim.setup(timestep=0.1)\n"
        + network +
        "try:\n"
        "    sim.run(10.0)\n"
        "except DivergenceError as error:\n"
        f"    assert {words!r} in str(error) and 'seed' in str(error)\n"
        "    sys.exit(3)\n")
    outcome = launch.run([sys.executable, str(script)], 2, timeout=TIMEOUT,
                         stderr=subprocess.DEVNULL)
    assert outcome.statuses == [3, 3] or outcome.exit_status == 3
