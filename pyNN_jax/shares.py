"""Which process holds which connections in a run of several processes.

Every process of a run (``mpirun``, ``srun``, ``python -m pyNN_jax.launch``) holds every cell's
parameters and state variables on the host (a few numbers per cell), but only the connections
onto the cells that its devices hold: connectors draw the whole network on every process, from
the same seeds (so it is the same network whatever the number of processes) and each process
keeps the connections onto its own cells. For that, where a cell lives is fixed when its
population is created: in such a run every population is its own engine group
(:class:`.build.Layout` with ``per_population``), split as every group is
(:class:`.engine.sharding.CellSplit`): device d of D holds cells d * s ... (d + 1) * s - 1 of a
population of n cells, s = ceil(n / D).
"""
import numpy as np

from . import simulator


def connections_are_split():
    """Whether each process holds only the connections onto its own cells (several
    processes)."""
    return simulator.state.num_processes > 1


def device_share(n_cells, n_devices):
    """Cells of a population of ``n_cells`` per device (the last devices may hold padding)."""
    return -(-n_cells // n_devices)


def local_cells_mask(cells):
    """Whether this process holds each cell of ``cells`` (a Population, PopulationView or
    Assembly, in its order)."""
    state = simulator.state
    ids = np.asarray(cells.all_cells, dtype=np.int64)
    process_of_device = np.array([device.process_index for device in state.devices])
    mask = np.zeros(ids.size, bool)
    for population in state.populations:
        first = int(population.first_id)
        inside = (ids >= first) & (ids <= int(population.last_id))
        if inside.any():
            share = device_share(population.size, process_of_device.size)
            mask[inside] = process_of_device[(ids[inside] - first) // share] == state.mpi_rank
    return mask


def refuse_split(what):
    """Raise NotImplementedError where ``what`` needs every connection in one process."""
    if connections_are_split():
        raise NotImplementedError(
            f"{what} is not available in a run of several processes: each process holds only "
            f"the connections onto its own cells; run the script as one process")
