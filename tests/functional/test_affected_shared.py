"""``matrix --since`` on a copy of a real workspace (pydantic-ai, in ``../shared/workspaces``).

Its lock has conflict markers and its root is a member with default groups. Each test copies
it into ``tmp_path``, adds a noxfile, commits that as the base revision, changes one thing,
and asks the command line which rows are affected. uv is the oracle of what each session
installs (``uv export --frozen``). Without the folder the tests are skipped, and say why.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from nox_workspace._workspace import discover
from tests.support import cli, git_commit_all, uv_export_packages

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "workspaces"
SOURCE = SHARED / "pydantic-ai"

pytestmark = [
    pytest.mark.functional,
    pytest.mark.shared,
    pytest.mark.skipif(not (SOURCE / "uv.lock").is_file(), reason=f"no real workspace at {SOURCE}"),
]

NOXFILE = """
import nox_workspace
from nox_workspace import Sync


@nox_workspace.session(sync=Sync(groups=["dev"]))
def test(session, target):
    '''Tests, with the dev group (pytest).'''


@nox_workspace.session(sync=Sync(default_groups=False))
def bare(session, target):
    '''The member alone, no group.'''
"""
#: How each session function's sync reads as uv flags.
FLAGS = {"test": ["--group", "dev"], "bare": ["--no-default-groups"]}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "pydantic-ai"
    shutil.copytree(SOURCE, root)
    (root / "noxfile.py").write_text(NOXFILE, encoding="utf-8")
    graph = root / "pydantic_graph" / "pyproject.toml"
    graph.write_text(
        graph.read_text(encoding="utf-8") + '\n[tool.nox-workspace]\ntests = ["../tests/graph"]\n',
        encoding="utf-8",
    )
    for path in ("tests/graph/test_utils.py", "docs/index.md"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("# base\n", encoding="utf-8")
    git_commit_all(root, "base")
    return root


def matrix(root: Path, *args: str) -> list[dict[str, Any]]:
    result = cli("matrix", "--format", "json", *args, cwd=root)
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def keys(root: Path) -> dict[str, str]:
    return {row["session"]: row["key"] for row in matrix(root)}


def test_a_bump_of_a_group_package_selects_exactly_the_sessions_that_install_it(
    workspace: Path, env: dict[str, str]
) -> None:
    lock = workspace / "uv.lock"
    text = lock.read_text(encoding="utf-8")
    start = text.index('[[package]]\nname = "pytest"\nversion = "')
    end = text.index("\n[[package]]", start + 1)
    version = text[start:end].split('version = "', 1)[1].split('"', 1)[0]
    block = text[start:end].replace(version, "99.0")  # its files' names too, as uv checks
    lock.write_text(text[:start] + block + text[end:], encoding="utf-8")
    installs = set()
    for member in discover(workspace).members:
        for function, flags in FLAGS.items():
            exported = uv_export_packages(workspace, ["--package", member.name, *flags], env)
            assert not isinstance(exported, str), exported
            if ("pytest", "99.0") in exported:
                installs.add(f"{function}-{member.name}")
    rows = matrix(workspace, "--since", "HEAD")
    assert {row["session"] for row in rows} == installs
    every_group = set()
    for member in discover(workspace).members:
        exported = uv_export_packages(workspace, ["--package", member.name, "--all-groups"], env)
        assert not isinstance(exported, str), exported
        if ("pytest", "99.0") in exported:
            every_group.add(member.name)
    result = cli("affected", "--since", "HEAD", "--all-groups", "--json", cwd=workspace)
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)["affected"]) == every_group
    assert any(name.startswith("test-") for name in installs)
    assert not any(name.startswith("bare-pydantic-graph") for name in installs)


def test_tests_declared_outside_the_member_select_it_and_docs_select_nothing(
    workspace: Path,
) -> None:
    before = keys(workspace)
    (workspace / "tests/graph/test_utils.py").write_text("# changed\n", encoding="utf-8")
    rows = matrix(workspace, "--since", "HEAD")
    assert {row["session"] for row in rows} == {"test-pydantic-graph", "bare-pydantic-graph"}
    after = keys(workspace)
    assert {name for name in before if before[name] != after[name]} == {
        "test-pydantic-graph",
        "bare-pydantic-graph",
    }
    git_commit_all(workspace, "tests changed")

    (workspace / "docs/index.md").write_text("# changed\n", encoding="utf-8")
    assert matrix(workspace, "--since", "HEAD") == []
    assert keys(workspace) == after
    assert [row["session"] for row in matrix(workspace, "--since", "HEAD", "--global", "docs")]
