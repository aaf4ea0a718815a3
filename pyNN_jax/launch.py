"""Start a script as several pyNN.jax processes on this machine, without MPI.

    python -m pyNN_jax.launch -n 2 my_script.py [script arguments]

starts ``-n`` Python processes running the script, each with the environment variables
``PYNN_JAX_COORDINATOR`` (``127.0.0.1`` and a free port), ``PYNN_JAX_NUM_PROCESSES`` and
``PYNN_JAX_PROCESS_ID``; the script's ``setup()`` joins them (``jax.distributed``) as it
joins the processes of ``mpirun`` or ``srun``. If one process fails the others are stopped;
the exit status is the first non-zero one. On a cluster use ``mpirun`` or ``srun`` instead
(docs: scaling page).
"""
import argparse
import os
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


def run(command, n_processes, timeout=None, **popen_options):
    """Run ``command`` (a list, as for subprocess) as ``n_processes`` joined processes; return
    their exit statuses. A process that fails, or ``timeout`` (s) passing, stops the others."""
    started = [subprocess.Popen(command, env=env, **popen_options)
               for env in environments(n_processes)]
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            statuses = [p.poll() for p in started]      # every process, each time
            if all(status is not None for status in statuses) or any(statuses) or (
                    deadline is not None and time.monotonic() > deadline):
                break
            time.sleep(0.05)
    finally:
        for p in started:
            if p.poll() is None:
                p.kill()
        for p in started:
            p.wait()
    return [p.returncode for p in started]


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
    statuses = run([sys.executable, args.script, *args.arguments], args.processes)
    return next((status for status in statuses if status), 0)


if __name__ == "__main__":
    sys.exit(main())
