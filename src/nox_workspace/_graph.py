"""Rendering the member graph: text, JSON, Mermaid and Graphviz dot.

Edges carry their kind (``dependency``, ``extra``, ``group``) and, for extras and groups, the
name that declares them, so a reader sees *why* one member needs another.
"""

from __future__ import annotations

import json
import re
from typing import Any

from nox_workspace._workspace import Edge, Workspace

__all__ = ["FORMATS", "graph_data", "render_graph"]

FORMATS = ("text", "json", "mermaid", "dot")


def _label(edge: Edge) -> str:
    return edge.kind if edge.via is None else f"{edge.kind}: {edge.via}"


def _edges(workspace: Workspace) -> list[Edge]:
    return [edge for member in workspace.members for edge in member.edges]


def graph_data(workspace: Workspace) -> dict[str, Any]:
    """The graph as plain data: ``{"members": [...], "edges": [{source, target, kind, via}]}``."""
    return {
        "members": list(workspace.names),
        "edges": [
            {"source": e.source, "target": e.target, "kind": e.kind, "via": e.via}
            for e in _edges(workspace)
        ],
    }


def _node_id(name: str) -> str:
    return "m_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def render_graph(workspace: Workspace, fmt: str) -> str:
    """The member graph in ``fmt`` (one of :data:`FORMATS`)."""
    edges = _edges(workspace)
    if fmt == "json":
        return json.dumps(graph_data(workspace), indent=2)
    if fmt == "mermaid":
        lines = ["graph TD"]
        lines += [f'    {_node_id(name)}["{name}"]' for name in workspace.names]
        lines += [
            f'    {_node_id(e.source)} -->|"{_label(e)}"| {_node_id(e.target)}' for e in edges
        ]
        return "\n".join(lines)
    if fmt == "dot":
        lines = ["digraph workspace {", "    rankdir=LR;"]
        lines += [f'    "{name}";' for name in workspace.names]
        lines += [f'    "{e.source}" -> "{e.target}" [label="{_label(e)}"];' for e in edges]
        lines.append("}")
        return "\n".join(lines)
    lines = []
    for member in workspace.members:
        lines.append(member.name)
        lines += [f"  -> {e.target} ({_label(e)})" for e in member.edges]
    return "\n".join(lines)
