"""Recorder: recorded data arrives from the engine chunk by chunk and is kept as arrays."""
import numpy as np
from neo import SpikeTrain
from neo.core import spiketrainlist

from pyNN import recording

from . import simulator
from .sorting import stable_order


class SpikeTrainList(spiketrainlist.SpikeTrainList):
    """Neo's SpikeTrainList built from (ids, times) arrays, split into SpikeTrains in one pass.

    Neo compares the id of every spike with each cell's id (cells x spikes operations) and
    constructs each SpikeTrain (~0.1 ms, mostly parsing unit strings in ``quantities``): minutes
    for 1 M spikes over 100 k cells. Here the spikes are sorted by cell once, put in one
    SpikeTrain, and each cell's train is a slice of it (a view; ~8 us). Annotations given per
    cell (``channel_id``, ``source_index``) are plain Python ints. Pickled as Neo's own class:
    files read back without pyNN.jax."""

    def _spiketrains_from_array(self):
        if self._spike_time_array is None:
            self._items = []
            return
        channel_ids = np.asarray(self._all_channel_ids)
        spike_ids = np.asarray(self._channel_id_array)
        order = (slice(None) if np.all(spike_ids[:-1] <= spike_ids[1:])   # as the Recorder gives
                 else stable_order(spike_ids))
        sorted_ids = spike_ids[order]
        all_trains = SpikeTrain(self._spike_time_array[order], **self._spiketrain_metadata)
        all_trains.segment = self.segment
        bounds = zip(np.searchsorted(sorted_ids, channel_ids, side="left").tolist(),
                     np.searchsorted(sorted_ids, channel_ids, side="right").tolist())
        per_cell = {name: value.tolist() for name, value in self._annotations.items()
                    if not isinstance(value, str) and hasattr(value, "__len__")
                    and len(value) == len(channel_ids)}
        per_cell["channel_id"] = channel_ids.tolist()
        shared = {name: value for name, value in self._annotations.items()
                  if name not in per_cell}
        names = list(per_cell)
        self._items = []
        for (start, stop), values in zip(bounds, zip(*per_cell.values())):
            train = all_trains[start:stop]
            train.annotations = {**shared, **dict(zip(names, values))}
            self._items.append(train)

    def __reduce__(self):
        return spiketrainlist.SpikeTrainList, (), self.__dict__


class Recorder(recording.Recorder):
    _simulator = simulator

    def __init__(self, population, file=None):
        super().__init__(population, file)
        self._clear_data()

    def _clear_data(self):
        self._spike_ids, self._spike_times = [], []
        self._signals = {}          # variable -> list of (ids, array[n_samples, n_ids])

    def _record(self, variable, new_ids, sampling_interval=None):
        if sampling_interval is not None:
            steps = sampling_interval / self._simulator.state.dt
            if abs(steps - round(steps)) > 1e-6 or steps < 1:
                from pyNN import errors
                raise errors.InvalidParameterValueError(
                    f"sampling_interval = {sampling_interval} ms must be a multiple of the "
                    f"time step ({self._simulator.state.dt} ms)")
            self.sampling_interval = sampling_interval
        self._simulator.state.network.structure_changed()

    # every process holds the data of every cell (the devices split the cells; the recordings
    # come back whole from each chunk): nothing to gather between processes (scaling page)
    def get(self, variables, gather=False, filter_ids=None, clear=False, annotations=None,
            locations=None):
        return super().get(variables, False, filter_ids, clear, annotations, locations)

    def count(self, variable, gather=True, filter_ids=None):
        return super().count(variable, False, filter_ids)

    # -- called by the engine driver --
    def _append_spikes(self, ids, times):
        if ids.size:
            self._spike_ids.append(ids)
            self._spike_times.append(times)

    def _append_signal(self, variable, ids, values):
        if values.shape[0]:
            self._signals.setdefault(variable, []).append((ids, values))

    # -- read by pyNN.recording.Recorder --
    def _get_current_segment(self, filter_ids=None, variables="all", clear=False):
        segment = super()._get_current_segment(filter_ids, variables, clear)
        segment.spiketrains.__class__ = SpikeTrainList   # built by PyNN from our arrays
        return segment

    def _get_spiketimes(self, ids, clear=False):
        """(ids, times in ms) of the spikes of cells ``ids``, sorted by cell, then by time."""
        if self._spike_ids:
            all_ids = np.concatenate(self._spike_ids)
            all_times = np.concatenate(self._spike_times).astype(float)
        else:
            all_ids, all_times = np.zeros(0, dtype=int), np.zeros(0)
        keep = np.isin(all_ids, np.fromiter(map(int, ids), dtype=all_ids.dtype, count=len(ids)))
        order = stable_order(all_ids[keep])
        spike_ids, spike_times = all_ids[keep][order], all_times[keep][order]
        if np.any((spike_ids[1:] == spike_ids[:-1]) & (spike_times[1:] < spike_times[:-1])):
            order = np.lexsort((spike_times, spike_ids))     # a cell's times out of order
            spike_ids, spike_times = spike_ids[order], spike_times[order]
        if clear:
            self._spike_ids, self._spike_times = [], []
        return spike_ids, spike_times

    def _get_all_signals(self, variable, ids, clear=False):
        ids = np.asarray([int(i) for i in ids], dtype=int)
        blocks = []
        for block_ids, values in self._signals.get(variable, []):
            if np.array_equal(block_ids, ids):
                blocks.append(values)
                continue
            out = np.full((values.shape[0], ids.size), np.nan)
            position = np.minimum(np.searchsorted(block_ids, ids), block_ids.size - 1)
            found = block_ids[position] == ids
            out[:, found] = values[:, position[found]]
            blocks.append(out)
        if clear:
            self._signals.pop(variable, None)
        if not blocks:
            return np.zeros((0, ids.size)), None
        return np.concatenate(blocks), None

    def _local_count(self, variable, filter_ids=None):
        ids = sorted(self.filter_recorded(variable, filter_ids))
        spike_ids = np.concatenate(self._spike_ids) if self._spike_ids else np.zeros(0, int)
        counts = np.bincount(spike_ids - int(self.population.first_id),
                             minlength=self.population.size) if spike_ids.size else None
        return {int(i): (int(counts[int(i) - int(self.population.first_id)])
                         if counts is not None else 0) for i in ids}

    def _clear_simulator(self):
        self._clear_data()

    def _reset(self):
        self._simulator.state.network.structure_changed()
