"""``affected --since`` and ``matrix --since`` in real git repositories, locked by real uv.

Each test builds a workspace in ``tmp_path``, locks it with uv from a private wheelhouse (so
a test can add a newer wheel and re-lock), commits it as the base revision, changes
something, and asks the command line which members are affected.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import (
    affected_members,
    cli,
    git,
    git_commit_all,
    member_toml,
    offline_index,
    package_sources,
    run_uv,
    tool_env,
    write_tree,
)

pytestmark = pytest.mark.functional

NOXFILE = """
import nox

import nox_workspace


@nox_workspace.session(union="all")
def test(session: nox.Session, target: nox_workspace.Target) -> None:
    '''Run the tests.'''


nox_workspace.matrix_session()
"""


def affected(root: Path, *args: str) -> dict[str, Any]:
    result = cli("affected", "--since", "base", "--json", *args, cwd=root)
    assert result.returncode == 0, result.stderr
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


@pytest.fixture
def repo(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> Path:
    """core <- app (dependency), core <- tool (group ``test``); leaf: alpha; bar: gamma 1.0.

    The wheelhouse holds gamma 1.0 only, until a test adds gamma 2.0. Member folders match
    ``packages/*`` or ``libs/*``, so a member can move without a root ``pyproject.toml``
    change. The base revision is tagged ``base``.
    """
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for name in ("alpha-1.0", "beta-1.0", "gamma-1.0"):
        shutil.copy(wheelhouse / f"{name}-py3-none-any.whl", wheels)
    root = tmp_path / "ws"
    write_tree(
        root,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*", "libs/*"]\n'
            "[tool.uv]\n" + offline_index(wheels),
            "README.md": "# a workspace\n",
            "noxfile.py": NOXFILE,
            **affected_members(),
            ".gitignore": ".nox/\n.venv/\n__pycache__/\n",
        },
    )
    for name in ("core", "app", "tool", "leaf", "bar"):
        package_sources(root, f"packages/{name}", name)
    run_uv(["lock"], root, env)
    git_commit_all(root, "base")
    git(root, "tag", "base")
    return root


def edit(root: Path, path: str, text: str = "CHANGED = True\n") -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as handle:
        handle.write(text)


# --------------------------------------------------------------------------------------------
# The cases of the issue


def test_a_change_inside_a_leaf_member_affects_it_alone(repo: Path) -> None:
    edit(repo, "packages/leaf/src/leaf/__init__.py")
    result = affected(repo)
    assert result["affected"] == ["leaf"]
    assert result["reasons"] == {"leaf": ["changed: packages/leaf/src/leaf/__init__.py"]}


def test_a_change_inside_a_shared_member_affects_the_members_whose_sync_installs_it(
    repo: Path,
) -> None:
    """tool installs core only through its ``test`` group: ``uv sync --package tool`` leaves
    it out, ``--group test`` puts it in."""
    edit(repo, "packages/core/src/core/__init__.py")
    git_commit_all(repo, "core changed")
    result = affected(repo)
    assert result["affected"] == ["app", "core"]
    assert result["reasons"]["app"] == [
        "changed in member core, which it installs: packages/core/src/core/__init__.py"
    ]
    assert set(result["unaffected"]) == {"bar", "leaf", "tool"}
    assert affected(repo, "--group", "test")["affected"] == ["app", "core", "tool"]
    assert affected(repo, "--all-groups")["affected"] == ["app", "core", "tool"]


def test_a_lock_bump_of_a_package_one_member_uses_affects_that_member_only(
    repo: Path, wheelhouse: Path, env: dict[str, str]
) -> None:
    shutil.copy(wheelhouse / "gamma-2.0-py3-none-any.whl", repo.parent / "wheels")
    run_uv(["lock", "--upgrade-package", "gamma"], repo, env)
    assert git(repo, "status", "--porcelain").split() == ["M", "uv.lock"]
    result = affected(repo)
    assert result["affected"] == ["bar"]
    assert result["reasons"]["bar"] == ["uv.lock: gamma 1.0 -> 2.0"]
    assert "uv.lock changed, but not its locked closure" in result["unaffected"]["leaf"]


def test_the_root_pyproject_affects_every_member_through_the_tables_sessions_read(
    repo: Path,
) -> None:
    edit(repo, "pyproject.toml", "\n[tool.ruff]\nline-length = 99\n")
    result = affected(repo)
    assert result["affected"] == []
    assert result["outside"] == ["pyproject.toml"]
    edit(repo, "pyproject.toml", '\n[tool.pytest.ini_options]\naddopts = "-q"\n')
    result = affected(repo)
    assert result["affected"] == ["app", "bar", "core", "leaf", "tool"]
    assert result["reasons"]["leaf"] == ["global file changed: pyproject.toml [tool.pytest]"]


def test_a_root_uv_toml_affects_every_member(repo: Path) -> None:
    edit(repo, "uv.toml", "no-build = true\n")
    assert affected(repo)["affected"] == ["app", "bar", "core", "leaf", "tool"]


def test_a_readme_change_at_the_root_affects_no_member(repo: Path) -> None:
    edit(repo, "README.md", "More.\n")
    result = affected(repo)
    assert result["affected"] == []
    assert result["outside"] == ["README.md"]


def test_a_renamed_member_folder_affects_the_member(repo: Path, env: dict[str, str]) -> None:
    (repo / "libs").mkdir()
    git(repo, "mv", "packages/leaf", "libs/leaf")
    (repo / "uv.lock").unlink()  # uv 0.13 cannot re-lock from a lock naming the old folder
    run_uv(["lock"], repo, env)
    result = affected(repo)
    assert result["affected"] == ["leaf"]
    reasons = result["reasons"]["leaf"]
    assert "changed: libs/leaf/pyproject.toml" in reasons
    assert "changed in its folder at the base revision: packages/leaf/pyproject.toml" in reasons
    assert result["outside"] == []


def test_an_unknown_revision_is_one_clear_line(repo: Path) -> None:
    result = cli("affected", "--since", "origin/nope", cwd=repo)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "unknown git revision 'origin/nope'" in result.stderr
    assert "fetch-depth: 0" in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------------------------
# What counts as a change, and where


def test_committed_staged_unstaged_and_untracked_changes_all_count(repo: Path) -> None:
    edit(repo, "packages/leaf/a.py")
    git_commit_all(repo, "committed")
    edit(repo, "packages/bar/b.py")
    git(repo, "add", "packages/bar/b.py")
    edit(repo, "packages/app/pyproject.toml", "# unstaged\n")
    edit(repo, "packages/tool/untracked.txt")
    assert affected(repo)["affected"] == ["app", "bar", "leaf", "tool"]
    assert affected(repo, "--no-untracked")["affected"] == ["app", "bar", "leaf"]


def test_an_ignored_file_changes_nothing(repo: Path) -> None:
    edit(repo, "packages/leaf/.nox/x/log.txt")
    assert affected(repo)["affected"] == []


def test_a_deleted_file_affects_its_member(repo: Path) -> None:
    (repo / "packages/bar/src/bar/__init__.py").unlink()
    assert affected(repo)["affected"] == ["bar"]


def test_declared_global_files_affect_every_member(repo: Path) -> None:
    edit(repo, "pyproject.toml", '\n[tool.nox-workspace]\nglobal = ["ci/**"]\n')
    git_commit_all(repo, "declare ci/ global")
    git(repo, "tag", "-f", "base")
    edit(repo, "ci/run.sh", "echo\n")
    assert len(affected(repo)["affected"]) == 5
    edit(repo, "constraints.txt")
    git_commit_all(repo, "ci and constraints")
    git(repo, "tag", "-f", "base")
    edit(repo, "constraints.txt")
    assert affected(repo)["affected"] == []
    assert len(affected(repo, "--global", "constraints.txt")["affected"]) == 5


def test_a_workspace_in_a_subfolder_sees_files_outside_it_as_outside(
    repo: Path, tmp_path: Path
) -> None:
    """Paths outside the workspace root start with ``../`` and can be declared global."""
    outer = tmp_path / "outer"
    shutil.copytree(repo, outer / "python", ignore=shutil.ignore_patterns(".git"))
    write_tree(outer, {".github/workflows/ci.yml": "on: push\n"})
    git_commit_all(outer, "base")
    git(outer, "tag", "base")
    edit(outer, ".github/workflows/ci.yml", "# more\n")
    edit(outer, "python/packages/leaf/x.py")
    result = affected(outer / "python")
    assert result["affected"] == ["leaf"]
    assert result["outside"] == ["../.github/workflows/ci.yml"]
    assert len(affected(outer / "python", "--global", "../.github/**")["affected"]) == 5


def test_outside_a_git_repository_since_is_one_clear_line(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": member_toml("solo")})
    result = cli("affected", "--since", "HEAD", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "is not inside a git repository" in result.stderr


def test_without_git_since_is_one_clear_line(repo: Path, tmp_path: Path) -> None:
    empty = tmp_path / "no-git-here"
    empty.mkdir()
    result = cli("affected", "--since", "base", cwd=repo, env={**os.environ, "PATH": str(empty)})
    assert result.returncode == 2
    assert "git is not installed or not on PATH" in result.stderr
    assert result.stderr.count("\n") == 1


# --------------------------------------------------------------------------------------------
# The matrix, planned from the noxfile, in a repository


def matrix(root: Path, *args: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    result = cli("matrix", "--format", "json", *args, cwd=root, env=env)
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_matrix_since_keeps_the_rows_of_sessions_that_install_the_change(repo: Path) -> None:
    """test-tool syncs tool's default groups, which do not install core; the union does."""
    edit(repo, "packages/core/src/core/__init__.py")
    rows = matrix(repo, "--since", "base", "--union")
    assert [row["session"] for row in rows] == ["test-app", "test-core", "all"]


def test_matrix_since_counts_the_noxfile_as_global(repo: Path) -> None:
    edit(repo, "noxfile.py", "# a comment\n")
    assert len(matrix(repo, "--since", "base")) == 5
    assert affected(repo)["affected"] == []


def test_github_outputs_let_a_workflow_skip_an_empty_matrix(repo: Path, tmp_path: Path) -> None:
    output, summary = tmp_path / "github_output", tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    edit(repo, "README.md", "More.\n")
    result = cli("matrix", "--format", "github", "--since", "base", cwd=repo, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"include": []}
    assert output.read_text().splitlines() == ['matrix={"include":[]}', "any=false", "count=0"]
    assert "0 of 5 member sessions to run" in summary.read_text()

    edit(repo, "packages/leaf/x.py")
    cli("matrix", "--format", "github", "--since", "base", "--explain", cwd=repo, env=env)
    lines = output.read_text().splitlines()
    include = json.loads(lines[3].removeprefix("matrix="))["include"]
    assert [row["session"] for row in include] == ["test-leaf"]
    assert lines[4:] == ["any=true", "count=1"]
    assert "changed: packages/leaf/x.py" in summary.read_text()


def test_keys_are_equal_in_a_fresh_clone_and_follow_the_working_tree(
    repo: Path, tmp_path: Path
) -> None:
    """Keys come from content, not from clone paths or timestamps; an edit changes the keys
    of its member and dependents, and undoing it brings them back."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    base = {row["session"]: row["key"] for row in matrix(repo)}
    assert base == {row["session"]: row["key"] for row in matrix(clone)}

    source = repo / "packages/core/src/core/__init__.py"
    original = source.read_text()
    source.write_text(original + "X = 1\n")
    edited = {row["session"]: row["key"] for row in matrix(repo)}
    assert {name for name in base if base[name] != edited[name]} == {"test-app", "test-core"}
    source.write_text(original)
    assert {row["session"]: row["key"] for row in matrix(repo)} == base


def test_the_matrix_session_runs_in_nox_without_a_venv(repo: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nox", "-s", "matrix", "--", "--format", "json", "--member", "leaf"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert [row["session"] for row in json.loads(result.stdout)] == ["test-leaf"]
    assert not (repo / ".nox" / "matrix").exists()
    listed = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "--json"],
        cwd=repo,
        env=tool_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "matrix" not in {row["session"] for row in json.loads(listed.stdout)}


# --------------------------------------------------------------------------------------------
# A core package with an extra per plugin (livekit-agents' shape)

PLUGINS = 6
PLUGIN_NOXFILE = """
import nox_workspace
from nox_workspace import Sync


@nox_workspace.session()
def test(session, target):
    '''Each member, as uv sync --package installs it.'''


@nox_workspace.session(sync=Sync(extras=["p2"]), members=["core"])
def p2(session, target):
    '''The core with one plugin's extra.'''
"""


@pytest.fixture
def plugins(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> Path:
    """``core`` declares an extra per plugin; each plugin needs ``core``; locked by uv."""
    root = tmp_path / "plugins"
    names = [f"plugin-p{index}" for index in range(PLUGINS)]
    tree = {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["core", "plugins/*"]\n[tool.uv]\n'
        + offline_index(wheelhouse),
        "noxfile.py": PLUGIN_NOXFILE,
        ".gitignore": ".nox/\n.venv/\n__pycache__/\n",
        "core/pyproject.toml": member_toml(
            "core",
            dependencies=["alpha"],
            extras={name.removeprefix("plugin-"): [name] for name in names},
            workspace_sources=names,
        ),
    }
    for name in names:
        tree[f"plugins/{name}/pyproject.toml"] = member_toml(
            name, dependencies=["core"], workspace_sources=["core"]
        )
    write_tree(root, tree)
    package_sources(root, "core", "core")
    for name in names:
        package_sources(root, f"plugins/{name}", name)
    run_uv(["lock"], root, env)
    git_commit_all(root, "base")
    git(root, "tag", "base")
    return root


def test_a_plugin_edit_selects_the_sessions_that_install_it_not_every_plugin(
    plugins: Path,
) -> None:
    before = {row["session"]: row["key"] for row in matrix(plugins)}
    edit(plugins, "plugins/plugin-p2/src/plugin_p2/__init__.py")
    rows = matrix(plugins, "--since", "base")
    assert [row["session"] for row in rows] == ["test-plugin-p2", "p2-core"]
    after = {row["session"]: row["key"] for row in matrix(plugins)}
    assert {name for name in before if before[name] != after[name]} == {
        "test-plugin-p2",
        "p2-core",
    }
    assert affected(plugins)["affected"] == ["plugin-p2"]
    assert affected(plugins, "--extra", "p2")["affected"] == ["core", "plugin-p2"]


def test_a_locked_path_source_outside_the_members_affects_who_installs_it(
    tmp_path: Path, wheelhouse: Path, env: dict[str, str]
) -> None:
    """``vendor/x`` is no member; uv locks it into ``leaf`` as a directory source."""
    root = tmp_path / "vendored"
    leaf = member_toml(
        "leaf",
        dependencies=["vendored"],
        extra_toml='[tool.uv.sources]\nvendored = { path = "../../vendor/x" }\n',
    )
    write_tree(
        root,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n[tool.uv]\n'
            + offline_index(wheelhouse),
            ".gitignore": ".nox/\n.venv/\n__pycache__/\n",
            "packages/leaf/pyproject.toml": leaf,
            "packages/other/pyproject.toml": member_toml("other"),
            "vendor/x/pyproject.toml": member_toml("vendored"),
        },
    )
    for folder, name in (("packages/leaf", "leaf"), ("packages/other", "other")):
        package_sources(root, folder, name)
    package_sources(root, "vendor/x", "vendored")
    run_uv(["lock"], root, env)
    assert 'source = { directory = "vendor/x" }' in (root / "uv.lock").read_text()
    git_commit_all(root, "base")
    git(root, "tag", "base")
    edit(root, "vendor/x/src/vendored/__init__.py")
    result = affected(root)
    assert result["affected"] == ["leaf"]
    assert result["reasons"]["leaf"] == [
        "changed in locked path source vendor/x: vendor/x/src/vendored/__init__.py"
    ]
