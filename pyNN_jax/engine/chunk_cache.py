"""Compiled chunks by network structure, in memory and on disk.

JAX's persistent compilation cache is keyed by the lowered program: even a hit costs tracing and
lowering :func:`.network.run_chunk` (0.2 s of a small script's warm start on a 2-core CPU, more
for large networks). This cache is keyed by what determines that program instead -- the
:class:`.network.Structure`, the tree, shapes and dtypes of the arguments, the device, the source
of this package, JAX's version and configuration -- and keeps the serialised executable, so that
a later process running the same network loads it (~0.05 s) without tracing anything.
"""
import collections
import hashlib
import os
import pickle
import sys
import tempfile
import threading

import numpy as np
import jax
import jaxlib
from jax.experimental import serialize_executable

from . import network

# a quick compilation on a CPU: XLA's older elemental emitters instead of its fusion emitters
# (a small network: compile 1.4 -> 0.8 s of CPU, steps ~60 % slower, the same numbers)
QUICK_CPU_OPTIONS = {"xla_cpu_use_fusion_emitters": False}
# executables kept in memory, least recently used first. Bounded: on a CPU each holds ~150
# memory mappings of JIT code (more for large networks), and a process that builds networks
# of many structures (a long notebook, a test suite) would reach the kernel's limit of
# mappings (vm.max_map_count, 65 530), where XLA's next compilation crashes the process
MAX_EXECUTABLES_IN_MEMORY = 32
_compiled = collections.OrderedDict()   # key -> jax.stages.Compiled
_n_made = [0]               # executables compiled or loaded by this process
_directory = [None]         # folder of the serialised executables; None: memory only
_fingerprint = []           # computed once per process: versions, configuration, source
_jax_cache_hits = threading.local()     # .count: hits of JAX's persistent cache, per thread
# configuration flags that do not change the compiled program (where caches and logs go, ...)
_IRRELEVANT_FLAGS = ("cache", "log", "explain", "dump", "traceback", "pprint", "source_url",
                     "verbose", "timeout", "guard")


def set_directory(directory):
    """Keep executables in ``directory`` (created when first written); None: memory only."""
    _directory[0] = None if directory is None else os.fspath(directory)


def run_chunk(structure, values, state, n_steps, quick_compile=False):
    """:func:`.network.run_chunk`, its executable taken from memory, disk or a compilation.
    ``quick_compile``: on a CPU, compile with :data:`QUICK_CPU_OPTIONS`."""
    leaves, tree = jax.tree_util.tree_flatten((values, state, n_steps))
    shapes = tuple((np.shape(leaf), np.dtype(leaf.dtype)) for leaf in leaves)
    device = next((d for leaf in leaves for d in getattr(leaf, "devices", set)()), None)
    options = QUICK_CPU_OPTIONS if quick_compile and getattr(device, "platform", "") == "cpu" \
        else {}
    key = (structure, tree, shapes, device, tuple(sorted(options.items())))
    compiled = _compiled.get(key)
    if compiled is None:
        compiled = _compiled[key] = _load_or_compile(key, options, device, structure, values,
                                                     state, n_steps)
        _n_made[0] += 1
        while len(_compiled) > MAX_EXECUTABLES_IN_MEMORY:
            _compiled.popitem(last=False)
    else:
        _compiled.move_to_end(key)
    return compiled(values, state, n_steps)


def n_executables():
    """Executables made (compiled or loaded) by this process: one per structure, argument
    shapes and compile options (kept in memory or not)."""
    return _n_made[0]


def _count_jax_cache_hit(event, **kwargs):
    if event == "/jax/compilation_cache/cache_hits":
        _jax_cache_hits.count = getattr(_jax_cache_hits, "count", 0) + 1


jax.monitoring.register_event_listener(_count_jax_cache_hit)


def _load_or_compile(key, options, device, structure, values, state, n_steps):
    path = None
    if _directory[0] is not None and device is not None:
        on_disk = key[:3] + (f"{device} {device.device_kind} {device.client.platform_version}",
                             key[4])
        digest = hashlib.sha256(pickle.dumps((on_disk, _source_fingerprint()))).hexdigest()
        path = os.path.join(_directory[0], f"chunk-{digest}.pkl")
        try:
            with open(path, "rb") as file:
                payload, in_tree, out_tree = pickle.load(file)
            # on the arguments' device (by default: all devices of its client)
            return serialize_executable.deserialize_and_load(
                payload, in_tree, out_tree, backend=device.client, execution_devices=[device])
        except Exception:     # noqa: BLE001 -- absent, truncated or from another runtime
            pass
    hits = getattr(_jax_cache_hits, "count", 0)
    lowered = network.run_chunk.trace(structure, values, state, n_steps).lower()
    compiled = lowered.compile(compiler_options=options) if options else lowered.compile()
    # jit's own caches would keep the trace, the lowering and the executable of every
    # structure for the life of the process: this cache alone holds executables
    network.run_chunk.clear_cache()
    # an executable that came from JAX's cache serialises (XLA:CPU, jax 0.10) into one that
    # fails in another process ("Function ... not found"): write fresh compilations only
    if path is not None and getattr(_jax_cache_hits, "count", 0) == hits:
        _write_atomically(path, pickle.dumps(serialize_executable.serialize(compiled)))
    return compiled


def _write_atomically(path, payload):
    """Write the file whole or not at all (processes may share the folder)."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=os.path.dirname(path), delete=False) as file:
            file.write(payload)
        os.replace(file.name, path)
    except OSError:           # a read-only or full disk only costs the next process a compile
        pass


def _source_fingerprint():
    """Versions, the configuration of JAX and XLA, and the source of every loaded module of
    this package (what the traced program is made of), as one string."""
    if not _fingerprint:
        package = __name__.split(".")[0]
        source = hashlib.sha256()
        for name in sorted(name for name in sys.modules if name.split(".")[0] == package):
            path = getattr(sys.modules[name], "__file__", None)
            if path and path.endswith(".py"):
                with open(path, "rb") as file:
                    source.update(name.encode() + b"\0" + file.read())
        flags = sorted((name, repr(value)) for name, value in jax.config.values.items()
                       if not any(word in name for word in _IRRELEVANT_FLAGS))
        _fingerprint.append(repr((jax.__version__, jaxlib.__version__, flags,
                                  os.environ.get("XLA_FLAGS", ""), source.hexdigest())))
    return _fingerprint[0]
