"""validate: reject a malformed IR before anything is generated from it."""
from __future__ import annotations

import math

import networkx as nx
import torch

from snnc.compiler.ops.connection import reads_traces
from snnc.compiler.options import BACKENDS, CompileOptions
from snnc.compiler.pass_manager import register_pass
from snnc.errors import SnncError
from snnc.ir.schema import CONNECTION, LAYER, OPS, RULE_SCHEMAS


def _check_tensor(owner: str, name: str, value, expected: tuple[int, ...] | None) -> None:
    if not isinstance(value, torch.Tensor):
        raise SnncError(f"{owner}: {name} must be a tensor, got {type(value).__name__}")
    if expected is not None and tuple(value.shape) != expected:
        raise SnncError(f"{owner}: {name} has shape {tuple(value.shape)}, expected {expected}")
    if value.is_floating_point() and torch.isnan(value).any():
        raise SnncError(f"{owner}: {name} contains NaN")
    if name in ("w", "b") and value.is_floating_point() and torch.isinf(value).any():
        raise SnncError(f"{owner}: {name} contains inf (backends would disagree on inf * 0); "
                        "use a large finite value")


def _check_params(owner: str, schema, params: dict, shape: tuple[int, ...] | None) -> None:
    for name in schema.params:
        if params.get(name) is None:
            raise SnncError(f"{owner}: missing parameter {name!r}")
    for name in (*schema.params, *schema.optional_params):
        value = params.get(name)
        if value is None:
            continue
        if name in schema.matrix_params:
            n = math.prod(shape)
            _check_tensor(owner, name, value, (n, n))
            continue
        if name in schema.kernel_params:
            _check_tensor(owner, name, value, None)
            if value.dim() != 1 or value.numel() == 0:
                raise SnncError(f"{owner}: {name} must be a non-empty vector over the window, "
                                f"got shape {tuple(value.shape)}")
            continue
        _check_tensor(owner, name, value, None)
        if shape is not None:
            try:
                torch.broadcast_shapes(tuple(value.shape), shape)
            except RuntimeError:
                raise SnncError(f"{owner}: {name} has shape {tuple(value.shape)}, expected a "
                                f"scalar or a tensor broadcastable to {shape}") from None


def _validate_layer(ir: nx.DiGraph, name: str, attrs: dict) -> None:
    owner = f"Layer {name!r}"
    schema = OPS.get(attrs.get("op"))
    if schema is None or schema.kind != LAYER:
        raise SnncError(f"{owner}: unknown layer op {attrs.get('op')!r}; "
                        f"known: {sorted(k for k, s in OPS.items() if s.kind == LAYER)}")
    shape = tuple(attrs["shape"])
    if math.prod(shape) != attrs["n"]:
        raise SnncError(f"{owner}: n={attrs['n']} does not match shape {shape}")
    _check_params(owner, schema, attrs["params"], shape)
    expected_state = list(schema.state)
    if attrs["options"].get("traces"):
        expected_state.append("x")
    if attrs["options"].get("sum_input"):
        expected_state.append("summed")
    for var in expected_state:
        if var not in attrs["state"]:
            raise SnncError(f"{owner}: missing state variable {var!r}")
        value = attrs["state"][var]
        window = value.shape[1] if var in schema.window_state and value.dim() > 1 else 0
        _check_tensor(owner, var, value, schema.state_shape(var, ir.graph["batch_size"], shape, window))



def _validate_connection(ir: nx.DiGraph, source: str, target: str, attrs: dict) -> None:
    owner = f"Connection ({source!r}, {target!r})"
    schema = OPS.get(attrs.get("op"))
    if schema is None or schema.kind != CONNECTION:
        raise SnncError(f"{owner}: unknown connection op {attrs.get('op')!r}")
    _check_params(owner, schema, attrs["params"], None)
    if OPS[ir.nodes[target]["op"]].input_window:
        if attrs["op"] != "dense":
            raise SnncError(f"{owner}: a {ir.nodes[target]['cls']} layer takes its response windows only "
                            f"through dense Connections, not {attrs.get('cls', attrs['op'])}")
        window, kernel = attrs["state"]["s_w"].shape[1], ir.nodes[target]["params"]["resKernel"].numel()
        if window != kernel:
            raise SnncError(f"{owner}: its source window holds {window} steps but the target's response "
                            f"kernel has {kernel}")
    if schema.weight_shape is None:
        return
    w = attrs["params"]["w"]
    source_shape, target_shape = tuple(ir.nodes[source]["shape"]), tuple(ir.nodes[target]["shape"])
    try:
        expected = schema.weight_shape(source_shape, target_shape, attrs["options"])
    except (KeyError, IndexError, TypeError):
        raise SnncError(f"{owner}: {attrs['op']} cannot connect a layer of shape {source_shape} "
                        f"to one of shape {target_shape}") from None
    _check_tensor(owner, "w", w, tuple(expected))
    bias = attrs["params"].get("b")
    bias_size = target_shape[0] if attrs["op"].startswith("conv") else ir.nodes[target]["n"]
    if bias is not None:
        try:
            torch.broadcast_shapes(tuple(bias.shape), (bias_size,))
        except RuntimeError:
            raise SnncError(f"{owner}: b has shape {tuple(bias.shape)}, expected "
                            f"({bias_size},)") from None
    rule = attrs["options"].get("rule")
    if rule is not None:
        if rule not in RULE_SCHEMAS:
            raise SnncError(f"{owner}: unknown learning rule {rule!r}; known: {sorted(RULE_SCHEMAS)}")
        n_pre, n_post = ir.nodes[source]["n"], ir.nodes[target]["n"]
        for var, _ in RULE_SCHEMAS[rule].state:
            if var not in attrs["state"]:
                raise SnncError(f"{owner}: learning rule {rule} is missing its state {var!r}")
            _check_tensor(owner, var, attrs["state"][var], RULE_SCHEMAS[rule].state_shape(
                var, ir.graph["batch_size"], n_pre, n_post, tuple(w.shape)))
    for end, reads in zip((source, target), reads_traces(attrs)):
        if reads and "x" not in ir.nodes[end]["state"]:
            raise SnncError(f"{owner}: learning rule {attrs['options']['rule']} needs traces on "
                            f"layer {end!r} (traces=True)")


def _validate_monitors(ir: nx.DiGraph) -> None:
    for spec in ir.graph["monitors"]:
        owner = f"Monitor {spec.name!r}"
        if isinstance(spec.target, tuple):
            if not ir.has_edge(*spec.target):
                raise SnncError(f"{owner}: unknown connection {spec.target}")
            attrs = ir.edges[spec.target]
            if attrs["op"] == "multicompartment" or attrs.get("cls") == "MulticompartmentConnection":
                raise SnncError(f"{owner}: a MulticompartmentConnection cannot be monitored (as in BindsNET); "
                                "read its features' values (connection.feature_index[name].value) after a run")
        else:
            if spec.target not in ir:
                raise SnncError(f"{owner}: unknown layer {spec.target!r}")
            attrs = ir.nodes[spec.target]
        for var in spec.state_vars:
            value = attrs["state"].get(var, attrs["params"].get(var))
            if not isinstance(value, torch.Tensor):
                known = sorted(k for k, v in {**attrs["state"], **attrs["params"]}.items()
                               if isinstance(v, torch.Tensor))
                raise SnncError(f"{owner}: {spec.target!r} has no state variable {var!r}; "
                                f"it has {known}")


@register_pass("validate")
def validate(ir: nx.DiGraph, options: CompileOptions) -> nx.DiGraph:
    """Check every layer, connection and monitor against the op schema.

    Errors name the object and what was expected, before any code is generated.
    """
    if options.backend not in BACKENDS:
        raise SnncError(f"unknown backend {options.backend!r}; choose one of {list(BACKENDS)}")
    dt = ir.graph.get("dt")
    if not isinstance(dt, float) or not math.isfinite(dt) or dt <= 0:
        raise SnncError(f"Network: dt must be a finite number > 0, got {dt}")
    if ir.graph.get("batch_size", 0) < 1:
        raise SnncError(f"Network: batch_size must be >= 1, got {ir.graph.get('batch_size')}")
    if ir.number_of_nodes() == 0:
        raise SnncError("Network: it has no layers; add one with add_layer")
    for name, attrs in ir.nodes(data=True):
        _validate_layer(ir, name, attrs)
    for source, target, attrs in ir.edges(data=True):
        _validate_connection(ir, source, target, attrs)
    for name in ir.graph["inputs"]:
        if name not in ir:
            raise SnncError(f"input {name!r}: no layer of that name; layers are {list(ir.nodes)}")
        if OPS[ir.nodes[name]["op"]].input_window:
            raise SnncError(f"input {name!r}: a {ir.nodes[name]['cls']} layer takes input only through "
                            "Connections (their response windows); feed it from an Input layer")
    _validate_monitors(ir)
    labels = {f"{source}->{target}" for source, target in ir.edges}
    for kind, overrides in (("storage", options.storage), ("propagation", options.propagation)):
        for label, _ in overrides:
            if label not in labels:
                raise SnncError(f"{kind} override for {label!r}: no such connection; connections are "
                                f"{sorted(labels)}")
    return ir
