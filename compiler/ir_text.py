"""Print the IR: one line per layer, connection, monitor, scheduled op and buffer.

Formats: ``text`` (for people and golden tests), ``json`` and ``dot`` (Graphviz).
Tensors print as ``dtype[shape]``; one-element tensors print their value.
"""
from __future__ import annotations

import json

import networkx as nx
import torch

from snnc.compiler.order import connections_in_order, layers_in_order

SHORT_DTYPES = {"float32": "f32", "float16": "f16", "bfloat16": "bf16", "float64": "f64",
                "bool": "bool", "uint8": "u8", "int64": "i64", "int32": "i32"}


def _dtype(dtype) -> str:
    name = str(dtype).removeprefix("torch.")
    return SHORT_DTYPES.get(name, name)


def format_value(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, torch.Tensor):
        if value.numel() == 1 and value.dim() <= 1:
            return f"{value.item():g}" if value.is_floating_point() else str(value.item())
        return f"{_dtype(value.dtype)}[{','.join(map(str, value.shape))}]"
    if isinstance(value, (tuple, list)):
        return "[" + ",".join(map(str, value)) + "]"
    return str(value)


def _fields(values: dict) -> str:
    return " ".join(f"{k}={format_value(v)}" for k, v in values.items())


def _flags(options: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in options.items() if v)


def _run(masks: dict) -> str:
    """The run masks an object is given: ``run=clamp[per step],inject_v``."""
    if not masks:
        return ""
    return "run=" + ",".join(f"{k}[per step]" if per_step is True and k != "mask" else k
                             for k, per_step in masks.items())


def _owner(target) -> str:
    return "->".join(target) if isinstance(target, tuple) else str(target)


def format_text(ir: nx.DiGraph) -> str:
    """The IR as text, one object per line."""
    g = ir.graph
    inputs = ",".join(f"{k}:{_dtype(v)}" for k, v in g["inputs"].items()) or "-"
    lines = [f"graph dt={g['dt']:g} batch_size={g['batch_size']} learning={g['learning']} "
             f"one_step={g['one_step']} inputs={inputs}"]
    for name in layers_in_order(ir):
        a = ir.nodes[name]
        state = ", ".join(f"{k}:{format_value(v)}" for k, v in a["state"].items())
        parts = [f"layer {name} {a['op']}({a['cls']}) shape={format_value(a['shape'])}",
                 _flags(a["options"]), _fields(a["params"]), _run(a.get("run", {})), f"| state {state}"]
        lines.append(" ".join(p for p in parts if p))
    for edge in connections_in_order(ir):
        a = ir.edges[edge]
        parts = [f"connection {_owner(edge)} {a['op']}({a['cls']})", _flags(a["options"]),
                 _fields(a["params"]), _run(a.get("run", {}))]
        if a.get("state"):
            parts.append("| state " + ", ".join(f"{k}:{format_value(v)}" for k, v in a["state"].items()))
        if a.get("storage"):
            parts.append(f"| storage={a['storage']['format']}:{_dtype(a['storage']['dtype'])}")
        if a.get("storage") and "propagation" in a:
            parts.append(f"propagation={a['propagation']}")
        lines.append(" ".join(p for p in parts if p))
    for spec in g["monitors"]:
        lines.append(f"monitor {spec.name} {_owner(spec.target)} vars={','.join(spec.state_vars)} "
                     f"time={spec.time}")
    if "loop_nest" in g:
        nest = g["loop_nest"]
        rows = ",".join(nest["parallel_rows"]) or "-"
        lines.append(f"loop_nest batch_outer={nest['batch_outer']} parallel={nest['parallel']} "
                     f"parallel_rows={rows}")
    for i, op in enumerate(g.get("schedule", [])):
        lines.append(f"step {i} {op.label()}")
    for i, op in enumerate(g.get("end_of_run", [])):
        lines.append(f"end {i} {op.label()}")
    if "plan" in g:
        for spec in g["plan"].buffers:
            lines.append(f"buffer {spec.name} {spec.role} {_dtype(spec.dtype)}"
                         f"[{','.join(map(str, spec.shape))}]")
    return "\n".join(lines)


def to_json(ir: nx.DiGraph) -> dict:
    """The IR as JSON-ready data (tensors summarised as in the text form)."""
    def obj(attrs: dict) -> dict:
        return {k: ({kk: vv if isinstance(vv, (bool, str)) else format_value(vv)
                     for kk, vv in v.items()} if isinstance(v, dict) else
                    v if isinstance(v, (str, int, bool)) else format_value(v))
                for k, v in attrs.items()}

    g = ir.graph
    data = {
        "graph": {k: g[k] for k in ("dt", "batch_size", "learning", "one_step", "inputs")},
        "layers": [{"name": name, **obj(ir.nodes[name])} for name in layers_in_order(ir)],
        "connections": [{"source": s, "target": t, **obj(ir.edges[s, t])}
                        for s, t in connections_in_order(ir)],
        "monitors": [{"name": m.name, "target": m.target, "state_vars": list(m.state_vars),
                      "time": m.time} for m in g["monitors"]],
        "schedule": [op.label() for op in g.get("schedule", [])],
        "end_of_run": [op.label() for op in g.get("end_of_run", [])],
    }
    if "plan" in g:
        data["buffers"] = [{"name": b.name, "role": b.role, "dtype": b.dtype, "shape": list(b.shape)}
                           for b in g["plan"].buffers]
    return data


def format_json(ir: nx.DiGraph) -> str:
    return json.dumps(to_json(ir), indent=2, default=str)


def format_dot(ir: nx.DiGraph) -> str:
    """Graphviz source: layers as boxes, connections as labelled edges."""
    lines = ["digraph snnc {", "  rankdir=LR;", "  node [shape=box];"]
    for name in layers_in_order(ir):
        a = ir.nodes[name]
        lines.append(f'  "{name}" [label="{name}\\n{a["op"]} {format_value(a["shape"])}"];')
    for s, t in connections_in_order(ir):
        a = ir.edges[s, t]
        lines.append(f'  "{s}" -> "{t}" [label="{a["op"]} {format_value(a["params"]["w"])}"];')
    lines.append("}")
    return "\n".join(lines)


FORMATS = {"text": format_text, "json": format_json, "dot": format_dot}
