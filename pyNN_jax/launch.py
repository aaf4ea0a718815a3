"""Start a script as several pyNN.jax processes on this machine, without MPI.

    python -m pyNN_jax.launch -n 2 my_script.py [script arguments]

starts ``-n`` Python processes running the script, each with the environment variables
``PYNN_JAX_COORDINATOR`` (``127.0.0.1`` and a free port), ``PYNN_JAX_NUM_PROCESSES`` and
``PYNN_JAX_PROCESS_ID``; the script's ``setup()`` joins them (``jax.distributed``) as it
joins the processes of ``mpirun`` or ``srun``. If one process fails the others are stopped;
the exit status is that of the first to fail. On a cluster use ``mpirun`` or ``srun`` instead
(docs: scaling page).
"""
import argparse
import collections
import os
import signal
import socket
import subprocess
import sys
import time

from .engine import processes


def free_port():
    """A TCP port of 127.0.0.1 that nothing listens on (free when asked)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environments(n_processes, port=None):
    """The environment of each of ``n_processes`` processes (this process's, plus the
    coordinator's address, the number of processes and the process's index)."""
    coordinator = f"127.0.0.1:{port or free_port()}"
    return [{**os.environ, processes.COORDINATOR: coordinator,
             processes.NUM_PROCESSES: str(n_processes), processes.PROCESS_ID: str(index)}
            for index in range(n_processes)]


class Outcome(collections.namedtuple("Outcome", "statuses exit_status")):
    """``statuses``: each process's exit status (negative: killed by that signal, as
    subprocess gives it); ``exit_status``: that of the first process to fail (a signal as
    128 + its number, as a shell gives it), 0 if none failed; the timeout is 124."""


def run(command, n_processes, timeout=None, **popen_options):
    """Run ``command`` (a list, as for subprocess) as ``n_processes`` joined processes
    (``popen_options``: for subprocess.Popen, e.g. ``stdout`` to a file; not PIPE, which
    nothing reads while they run). A process that fails, or ``timeout`` (s) passing, stops
    the others. Returns an :class:`Outcome`."""
    started, failed = [], None
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        for env in environments(n_processes):
            started.append(subprocess.Popen(command, env=env, **popen_options))
        while True:
            statuses = [p.poll() for p in started]      # every process, each time
            failed = next((status for status in statuses if status), None)
            if failed is not None or all(status is not None for status in statuses):
                break
            if deadline is not None and time.monotonic() > deadline:
                failed = 124
                break
            time.sleep(0.05)
    finally:
        for p in started:
            if p.poll() is None:
                p.kill()
        for p in started:
            p.wait()
    exit_status = 0 if failed is None else 128 - failed if failed < 0 else failed
    return Outcome([p.returncode for p in started], exit_status)


def _stop(signal_number, frame):
    raise SystemExit(128 + signal_number)      # run()'s finally stops the processes


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m pyNN_jax.launch",
        description="Run a PyNN script as several pyNN.jax processes on this machine.")
    parser.add_argument("-n", "--processes", type=int, required=True,
                        help="number of processes (at least 1)")
    parser.add_argument("script", help="the Python script")
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="the script's arguments")
    args = parser.parse_args(argv)
    if args.processes < 1:
        parser.error(f"--processes = {args.processes}; it must be at least 1")
    signal.signal(signal.SIGTERM, _stop)
    return run([sys.executable, args.script, *args.arguments], args.processes).exit_status


if __name__ == "__main__":
    sys.exit(main())
