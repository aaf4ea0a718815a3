"""Exchange networks with NIR, the Neuromorphic Intermediate Representation (https://neuroir.org).

:func:`to_nir` exports the network built on pyNN.jax since ``setup()``; :func:`from_nir` builds
a NIR graph with any PyNN backend module. What one side cannot represent raises
:class:`NIRConversionError`, naming the loss; nothing is approximated silently.

Mapping (NIR times in ms, voltages in mV, as PyNN's)::

    SpikeSourceArray  <->  Input     shape (size,); the spike times are data, not graph
    IF_curr_exp       <->  CubaLIF   tau_mem = tau_m, tau_syn = tau_syn_E = tau_syn_I,
                                     r = tau_m / cm (MOhm), v_leak = v_rest + r * i_offset,
                                     v_threshold = v_thresh, v_reset = v_reset, w_in = 1
    IF_curr_delta     <->  LIF       tau = tau_m, r, v_leak, v_threshold, v_reset as above
    Projections A->B  <->  Linear    weight[j, i] (pC), summed over all connections i -> j
    delays            <->  Delay     after the Linear, one value per target neuron (ms)

Weights. NIR's spike input S(t) is a sum of Dirac impulses, so a Linear weight W is the charge
one spike delivers (pC = nA ms). CubaLIF, ``tau_syn dI/dt = -I + w_in W S``: a spike raises I
by ``w_in W / tau_syn`` (nA), PyNN's IF_curr_exp weight, so ``W = weight * tau_syn``. LIF,
``tau dv/dt = (v_leak - v) + r W S``: a spike raises v by ``r W / tau`` (mV), PyNN's
IF_curr_delta weight, so ``W = weight * cm``. Inhibition is a negative W. Tools that discretise
NIR with S = 1 in the step of a spike (the Euler scheme of NIR's reference implementation) give
a spike the effect of a charge W dt: multiply the weights of their graphs by their dt (ms)
before import. Currents (I) are in nA and r in MOhm, so ``r I`` is in mV.

Delays. Delays that differ between the connections onto one target neuron are exported as
parallel Linear -> Delay branches, one per distinct delay of a neuron. NIR's Linear is
instantaneous, PyNN's shortest delay is one time step: on import, delays below dt become dt.

Not represented by NIR (export raises): distinct tau_syn_E and tau_syn_I, a refractory period
(unless ``drop_refractory=True``), conductance-based and other cell types, spike sources other
than SpikeSourceArray, plastic synapses, current sources. The initial membrane potential is not
part of a NIR graph; imported cells start at ``v = v_leak``.
"""
import os

import numpy as np

from pyNN.standardmodels import cells, synapses

from . import shares, simulator

try:
    import nir
except ImportError as error:                              # pragma: no cover
    raise ImportError("pyNN_jax.nir needs the 'nir' package: pip install nir") from error


class NIRConversionError(ValueError):
    """A network part that the other representation cannot express without a loss."""


# ---- export ------------------------------------------------------------------------------

LIF_NAMES = ["tau_m", "cm", "v_rest", "v_thresh", "v_reset", "tau_refrac", "i_offset"]


def _missing_node(celltype):
    """Why a PyNN cell type has no NIR node."""
    if not celltype.injectable:
        return ("its spike-generating process has no NIR node (a NIR Input carries no data); "
                "give the spikes to a SpikeSourceArray")
    if celltype.conductance_based:
        return "conductance-based synapses have no NIR node"
    return ("NIR has no node with its dynamics (only current-based LIF cells: IF_curr_exp -> "
            "CubaLIF, IF_curr_delta -> LIF)")


def _export_population(pop, drop_refractory):
    """NIR node of a Population, and the charge (pC) per unit of PyNN weight of each cell."""
    celltype = pop.celltype
    where = f"population '{pop.label}' ({type(celltype).__name__})"
    if isinstance(celltype, cells.SpikeSourceArray):
        return nir.Input(input_type={"input": np.array([pop.size])}), None
    if not isinstance(celltype, (cells.IF_curr_exp, cells.IF_curr_delta)):
        raise NIRConversionError(f"{where}: {_missing_node(celltype)}")
    names = LIF_NAMES + (["tau_syn_E", "tau_syn_I"] if isinstance(celltype, cells.IF_curr_exp)
                         else [])
    p = {name: np.asarray(values, dtype=float).reshape(pop.size)
         for name, values in zip(names, pop.get(names, gather=True, simplify=False))}
    if (p["tau_refrac"] > 0).any() and not drop_refractory:
        raise NIRConversionError(
            f"{where}: tau_refrac = {p['tau_refrac'].max():g} ms would be lost, NIR neurons have "
            "no refractory period; set tau_refrac = 0, or pass drop_refractory=True to export "
            "the cells without it")
    r = p["tau_m"] / p["cm"]
    v_leak = p["v_rest"] + r * p["i_offset"]
    if isinstance(celltype, cells.IF_curr_delta):
        return nir.LIF(tau=p["tau_m"], r=r, v_leak=v_leak, v_threshold=p["v_thresh"],
                       v_reset=p["v_reset"]), p["cm"]
    differ = p["tau_syn_E"] != p["tau_syn_I"]
    if differ.any():
        k = np.flatnonzero(differ)[0]
        raise NIRConversionError(
            f"{where}: tau_syn_E = {p['tau_syn_E'][k]:g} ms and tau_syn_I = "
            f"{p['tau_syn_I'][k]:g} ms differ; NIR's CubaLIF has one synaptic time constant, "
            "so one of the two synaptic current time courses would be lost")
    return nir.CubaLIF(tau_syn=p["tau_syn_E"], tau_mem=p["tau_m"], r=r, v_leak=v_leak,
                       v_threshold=p["v_thresh"], v_reset=p["v_reset"],
                       w_in=np.ones(pop.size)), p["tau_syn_E"]


def _connections(populations, projections):
    """(pre population, post population, pre index, post index, weight, delay) of every
    connection, as arrays; indices within the Populations (not views or assemblies)."""
    first = np.array([int(p.first_id) for p in populations], dtype=np.int64)
    by_first = np.argsort(first)

    def locate(cells_, indices):
        ids = np.asarray(cells_.all_cells, dtype=np.int64)[indices]
        k = by_first[np.searchsorted(first[by_first], ids, side="right") - 1]
        return k, ids - first[k]

    columns = []
    for proj in projections:
        if not isinstance(proj.synapse_type, synapses.StaticSynapse):
            raise NIRConversionError(
                f"projection '{proj.label}' ({type(proj.synapse_type).__name__}): its synaptic "
                "dynamics would be lost, NIR connections are static")
        data = np.asarray(proj.get(["weight", "delay"], format="list", with_address=True),
                          dtype=float).reshape(-1, 4)
        pre_k, i = locate(proj.pre, data[:, 0].astype(np.int64))
        post_k, j = locate(proj.post, data[:, 1].astype(np.int64))
        columns.append((pre_k, post_k, i, j, data[:, 2], data[:, 3]))
    if not columns:
        return [np.zeros(0, dtype=np.int64)] * 4 + [np.zeros(0)] * 2
    return [np.concatenate(c) for c in zip(*columns)]


def _delay_branches(j, d):
    """Branch of each connection: the rank of its delay d among the distinct delays onto its
    target j, so that within one branch the delay is a function of the target."""
    order = np.lexsort((d, j))
    js, ds = j[order], d[order]
    new_pair = np.ones(js.size, dtype=bool)
    new_pair[1:] = (js[1:] != js[:-1]) | (ds[1:] != ds[:-1])
    pair = np.cumsum(new_pair) - 1
    branch = np.empty_like(pair)
    branch[order] = pair - pair[np.searchsorted(js, js)]
    return branch


def to_nir(drop_refractory=False):
    """The network built on pyNN.jax since ``setup()``, as a :class:`nir.NIRGraph`.

    Node names are the Population labels; the connections from Population A to Population B
    (all projections, views included) become a Linear node ``"A->B"`` followed by a Delay node
    ``"A->B.delay"`` (``"A->B.k"``, ``"A->B.k.delay"`` for the k-th of several delay branches).
    Populations without outgoing connections get an Output node ``"<label>.output"``.

    Parameters
    ----------
    drop_refractory : bool
        Export cells with ``tau_refrac > 0`` without their refractory period (a documented
        loss: after a spike, NIR cells integrate again at once). Off by default.

    Returns
    -------
    nir.NIRGraph

    Raises
    ------
    NIRConversionError
        For anything NIR cannot represent (see the module documentation), naming it.
    """
    shares.refuse_split("to_nir()")
    state = simulator.state
    if state.current_sources:
        kinds = sorted({type(source).__name__ for source in state.current_sources})
        raise NIRConversionError(f"the network has current sources ({', '.join(kinds)}); "
                                 "NIR has no current sources")
    populations = list(state.populations)
    labels = [pop.label for pop in populations]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise NIRConversionError(f"populations share the labels {repeated}; NIR node names "
                                 "are the labels and must be unique")
    nodes, charge = {}, []
    for pop in populations:
        nodes[pop.label], per_cell = _export_population(pop, drop_refractory)
        charge.append(per_cell)
    edges = []
    pre_k, post_k, i, j, w, d = _connections(populations, state.projections)
    pair = pre_k * len(populations) + post_k
    for code in np.unique(pair):
        a, b = divmod(int(code), len(populations))
        pre, post = populations[a], populations[b]
        sel = pair == code
        ii, jj, dd = i[sel], j[sel], d[sel]
        ww = w[sel] * charge[b][jj]
        branch = _delay_branches(jj, dd)
        n_branches = int(branch.max()) + 1
        for k in range(n_branches):
            on = branch == k
            weight = np.zeros((post.size, pre.size))
            np.add.at(weight, (jj[on], ii[on]), ww[on])
            delay = np.full(post.size, dd[on].min())
            delay[jj[on]] = dd[on]
            name = f"{pre.label}->{post.label}" + (f".{k}" if n_branches > 1 else "")
            if name in nodes or name + ".delay" in nodes:
                raise NIRConversionError(f"node name '{name}' is taken by a population label")
            nodes[name] = nir.Linear(weight=weight)
            nodes[name + ".delay"] = nir.Delay(delay=delay)
            edges += [(pre.label, name), (name, name + ".delay"), (name + ".delay", post.label)]
    sources = {a for a, _ in edges}
    for pop in populations:
        if pop.label not in sources and not isinstance(pop.celltype, cells.SpikeSourceArray):
            nodes[pop.label + ".output"] = nir.Output(output_type={"output": np.array([pop.size])})
            edges.append((pop.label, pop.label + ".output"))
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False,
                         metadata={"exported_by": "pyNN.jax", "timestep": state.dt})
    graph.check_types()
    return graph


# ---- import ------------------------------------------------------------------------------

TRANSFER_NODES = (nir.Linear, nir.Affine, nir.Delay, nir.Flatten)


def _uniform(values):
    """A parameter for PyNN: a float where all cells share it, else the array."""
    return float(values[0]) if values.size and (values == values[0]).all() else values


def _import_cells(sim, name, node, tau_refrac):
    """Population of a CubaLIF (IF_curr_exp) or LIF (IF_curr_delta) node, and the PyNN weight
    per pC of each cell."""
    shape = np.shape(node.v_threshold)
    size = int(np.prod(shape))

    def flat(values):
        return np.broadcast_to(np.asarray(values, dtype=float), shape).reshape(size)

    tau_m = flat(node.tau_mem if isinstance(node, nir.CubaLIF) else node.tau)
    r, v_leak = flat(node.r), flat(node.v_leak)
    parameters = dict(tau_m=_uniform(tau_m), cm=_uniform(tau_m / r), v_rest=_uniform(v_leak),
                      v_thresh=_uniform(flat(node.v_threshold)),
                      v_reset=_uniform(flat(node.v_reset)), tau_refrac=tau_refrac, i_offset=0.0)
    if isinstance(node, nir.CubaLIF):
        tau_syn = flat(node.tau_syn)
        celltype = sim.IF_curr_exp(tau_syn_E=_uniform(tau_syn), tau_syn_I=_uniform(tau_syn),
                                   **parameters)
        per_charge = flat(node.w_in) / tau_syn
    else:
        celltype = sim.IF_curr_delta(**parameters)
        per_charge = r / tau_m
    pop = sim.Population(size, celltype, label=name)
    pop.initialize(v=_uniform(v_leak))
    return pop, per_charge


def _routes(graph, successors, source, populations):
    """(target, weight or None, delay before, delay after) of every route from the population
    node ``source`` through Linear, Affine (without bias), Delay and Flatten nodes to the next
    population or Output node. ``None`` is the identity."""
    stack = [(b, None, 0.0, 0.0, (source,)) for b in successors.get(source, [])]
    while stack:
        name, weight, d_pre, d_post, route = stack.pop()
        node = graph.nodes[name]
        if name in populations or isinstance(node, nir.Output):
            yield name, weight, d_pre, d_post
            continue
        if name in route:
            raise NIRConversionError(f"the graph loops through '{name}' without neurons")
        if isinstance(node, nir.Delay):
            delay = np.asarray(node.delay, dtype=float).reshape(-1)
            if weight is None:
                d_pre = d_pre + delay
            else:
                d_post = d_post + delay
        elif isinstance(node, (nir.Linear, nir.Affine)):
            if isinstance(node, nir.Affine) and np.any(node.bias):
                raise NIRConversionError(f"Affine node '{name}' has a bias (a constant input "
                                         "current), which PyNN projections cannot carry")
            if weight is not None:
                raise NIRConversionError(
                    f"'{name}' follows another Linear node on the way from '{source}'; PyNN "
                    "connects neurons directly: multiply the weight matrices into one")
            weight = np.asarray(node.weight, dtype=float)
            if weight.ndim != 2:
                raise NIRConversionError(f"'{name}' has a weight of shape {weight.shape}; "
                                         "only 2-d (n_out, n_in) weights map to projections")
        stack += [(b, weight, d_pre, d_post, route + (name,)) for b in successors.get(name, [])]


def from_nir(graph, sim, tau_refrac=0.0):
    """Build a NIR graph with the PyNN backend module ``sim`` (pyNN.jax, pyNN.nest, ...).

    Input -> SpikeSourceArray without spikes (give them with ``set(spike_times=...)``),
    CubaLIF -> IF_curr_exp, LIF -> IF_curr_delta, routes through Linear / Affine (no bias) /
    Delay / Flatten nodes -> Projections with StaticSynapse (positive weights excitatory,
    negative inhibitory), Output nodes -> nothing. Only the public PyNN API of ``sim`` is
    used; call ``sim.setup()`` first.

    Parameters
    ----------
    graph : nir.NIRGraph or path
        The graph, or a NIR (HDF5) file to read it from.
    sim : module
        A PyNN backend module.
    tau_refrac : float
        Refractory period (ms) of the imported cells. NIR has none, so 0 (default) is exact;
        pyNN.nest's precise IF_curr_exp needs at least one time step: passing
        ``sim.get_time_step()`` there is an approximation that you choose.

    Returns
    -------
    dict
        Population of each Input, CubaLIF and LIF node, by node name (also its label).

    Raises
    ------
    NIRConversionError
        A node without PyNN equivalent (named, with its type), an Affine bias, chains of
        Linear nodes, shapes that do not match.
    """
    if isinstance(graph, (str, os.PathLike)):
        graph = nir.read(graph)
    populations, per_charge = {}, {}
    for name, node in graph.nodes.items():
        if isinstance(node, nir.Input):
            size = int(np.prod(node.output_type["output"]))
            populations[name] = sim.Population(size, sim.SpikeSourceArray(), label=name)
        elif isinstance(node, (nir.CubaLIF, nir.LIF)):
            populations[name], per_charge[name] = _import_cells(sim, name, node, tau_refrac)
        elif not isinstance(node, TRANSFER_NODES + (nir.Output,)):
            raise NIRConversionError(
                f"NIR node '{name}' ({type(node).__name__}) has no PyNN equivalent here "
                "(supported: Input, CubaLIF, LIF, Linear, Affine without bias, Delay, Flatten, "
                "Output)")
    successors = {}
    for a, b in graph.edges:
        successors.setdefault(a, []).append(b)
    dt = sim.get_time_step()
    for source, pre in populations.items():
        for target, weight, d_pre, d_post in _routes(graph, successors, source, populations):
            if target not in populations:            # an Output node
                continue
            if target not in per_charge:
                raise NIRConversionError(f"an edge leads into the Input node '{target}'")
            post = populations[target]
            if weight is None:
                if pre.size != post.size:
                    raise NIRConversionError(f"'{source}' ({pre.size}) and '{target}' "
                                             f"({post.size}) are joined without a Linear node "
                                             "but differ in size")
                i = j = np.arange(pre.size)
                values = np.ones(pre.size)
            else:
                if weight.shape != (post.size, pre.size):
                    raise NIRConversionError(
                        f"the weight from '{source}' to '{target}' has shape {weight.shape}, "
                        f"not ({post.size}, {pre.size})")
                j, i = np.nonzero(weight)
                values = weight[j, i]
            delay = (np.broadcast_to(d_pre, (pre.size,))[i]
                     + np.broadcast_to(d_post, (post.size,))[j])
            delay = np.maximum(delay, dt)
            pynn_weight = values * per_charge[target][j]
            for receptor, on in (("excitatory", pynn_weight > 0),
                                 ("inhibitory", pynn_weight < 0)):
                if on.any():
                    connections = np.column_stack((i[on], j[on], pynn_weight[on], delay[on]))
                    sim.Projection(pre, post,
                                   sim.FromListConnector(connections,
                                                         column_names=["weight", "delay"]),
                                   sim.StaticSynapse(), receptor_type=receptor,
                                   label=f"{source}->{target} ({receptor})")
    return populations
