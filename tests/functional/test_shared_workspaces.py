"""Conformance on real public workspaces (``../shared/workspaces/``), when they are present.

The folder is not part of a clone of this project: without it these tests are skipped, and
the reason says so plainly. With it, discovery must agree with ``uv workspace list``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from nox_workspace._workspace import discover
from tests.support import run_uv

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "workspaces"
WORKSPACES = (
    sorted(p for p in SHARED.iterdir() if (p / "pyproject.toml").is_file())
    if SHARED.is_dir()
    else []
)

pytestmark = [
    pytest.mark.functional,
    pytest.mark.shared,
    pytest.mark.skipif(
        not WORKSPACES, reason=f"no real workspaces at {SHARED}; nothing to compare"
    ),
]


@pytest.mark.parametrize("source", WORKSPACES, ids=[p.name for p in WORKSPACES])
def test_discovery_agrees_with_uv_on_real_workspaces(
    source: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    """Our members are exactly ``uv workspace list --paths`` on a real workspace."""
    root = tmp_path / source.name
    shutil.copytree(source, root)
    listed = run_uv(["workspace", "list", "--paths"], root, env).stdout.split()
    assert {member.path for member in discover(root).members} == {
        Path(os.path.normpath(path)) for path in listed
    }


@pytest.mark.parametrize("source", WORKSPACES, ids=[p.name for p in WORKSPACES])
def test_member_graph_holds_every_locked_member_edge(source: Path) -> None:
    """Every member-to-member edge in the real lock is in the graph, dynamic dependencies too
    (pydantic-ai's members fill theirs in at build time)."""
    from nox_workspace._closure import complete_edges
    from nox_workspace._lock import read_lock

    lock = read_lock(source / "uv.lock")
    workspace = complete_edges(discover(source), lock)
    graph = workspace.dependencies()
    for origin, target, kind, _via in lock.member_edges():
        if kind != "group":
            assert target in graph[origin], (origin, target, kind)
