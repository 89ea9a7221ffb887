"""The command line as scripts use it: JSON shapes, exit status, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import cli, member_toml, offline_index, package_sources, run_uv, write_tree

pytestmark = pytest.mark.functional


@pytest.fixture
def workspace(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> Path:
    """A root member ``app`` (virtual: no build system) with ``lib`` and ``tool`` below it."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": member_toml(
                "app",
                dependencies=["lib"],
                groups={"dev": ["tool"]},
                workspace_sources=["lib", "tool"],
                packaged=False,
                extra_toml='[tool.uv.workspace]\nmembers = ["libs/*"]\n[tool.uv]\n'
                + offline_index(wheelhouse),
            ),
            "libs/lib/pyproject.toml": member_toml(
                "lib", dependencies=["alpha"], extras={"fast": ["kappa[fast]"]}
            ),
            "libs/tool/pyproject.toml": member_toml("tool", dependencies=["beta"]),
        },
    )
    package_sources(tmp_path, "libs/lib", "lib")
    package_sources(tmp_path, "libs/tool", "tool")
    run_uv(["lock"], tmp_path, env)
    return tmp_path


def test_members_json_shape_and_agreement_with_uv(workspace: Path, env: dict[str, str]) -> None:
    """``members --json`` lists what uv lists, with the documented fields."""
    result = cli("members", "--json", "--root", str(workspace))
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows == [
        {
            "name": "app",
            "path": ".",
            "virtual": True,
            "requires_python": ">=3.10",
            "depends_on": ["lib", "tool"],
        },
        {
            "name": "lib",
            "path": "libs/lib",
            "virtual": False,
            "requires_python": ">=3.10",
            "depends_on": [],
        },
        {
            "name": "tool",
            "path": "libs/tool",
            "virtual": False,
            "requires_python": ">=3.10",
            "depends_on": [],
        },
    ]
    listed = run_uv(["workspace", "list", "--paths"], workspace, env).stdout.split()
    assert {os.path.normpath(workspace / row["path"]) for row in rows} == set(listed)


def test_closure_json_matches_uv_export(workspace: Path, env: dict[str, str]) -> None:
    """``closure --json`` names the packages ``uv export --package`` lists, sorted."""
    result = cli("closure", "lib", "--extra", "fast", "--json", "--root", str(workspace))
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["member"] == "lib"
    names = [package["name"] for package in payload["packages"]]
    assert names == sorted(names) == ["alpha", "kappa", "lib", "theta"]
    exported = run_uv(
        ["export", "--frozen", "--package", "lib", "--extra", "fast", "--no-hashes"],
        workspace,
        env,
    ).stdout
    assert "theta==1.0" in exported
    assert "alpha==1.0" in exported


def test_closure_of_a_virtual_member_leaves_the_member_out(workspace: Path) -> None:
    """A virtual member is not installed, its dependencies and default groups are."""
    result = cli("closure", "app", "--json", "--root", str(workspace))
    names = [package["name"] for package in json.loads(result.stdout)["packages"]]
    assert names == ["alpha", "beta", "lib", "tool"]


@pytest.mark.parametrize("fmt", ["text", "json", "mermaid", "dot"])
def test_graph_formats_label_edges_by_kind(workspace: Path, fmt: str) -> None:
    """Every format shows both edges of ``app`` with their kind."""
    result = cli("graph", "--format", fmt, "--root", str(workspace))
    assert result.returncode == 0, result.stderr
    assert "dependency" in result.stdout
    assert "group" in result.stdout
    if fmt == "json":
        edges = json.loads(result.stdout)["edges"]
        assert {"source": "app", "target": "tool", "kind": "group", "via": "dev"} in edges


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("closure", "nope"), "no workspace member named 'nope'"),
        (("members", "--bogus"), "unrecognized arguments"),
        (("graph", "--format", "png"), "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    workspace: Path, args: tuple[str, ...], fragment: str
) -> None:
    """Bad arguments exit 2 with one line on stderr and no traceback."""
    result = cli(*args, "--root", str(workspace))
    assert result.returncode == 2
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("lock", "fragment"),
    [
        (None, "uv lock"),
        ('version = 2\nrevision = 1\n[[package]]\nname = "x"\n', "version"),
        ('version = 1\n[[package]]\nname = "x', "uv.lock"),
    ],
    ids=["missing", "unknown-schema", "truncated"],
)
def test_bad_lock_exits_2_with_one_line(workspace: Path, lock: str | None, fragment: str) -> None:
    """A missing, unknown-schema or truncated uv.lock is one line naming the file, exit 2."""
    if lock is None:
        (workspace / "uv.lock").unlink()
    else:
        (workspace / "uv.lock").write_text(lock)
    result = cli("closure", "lib", "--root", str(workspace))
    assert result.returncode == 2
    assert fragment in result.stderr
    assert "uv.lock" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_bad_workspace_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    """A malformed workspace is one line, exit 2, and no file is created."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["p/*"]\n',
            "p/a/pyproject.toml": "[tool.black]\n",
        },
    )
    before = sorted(tmp_path.rglob("*"))
    result = cli("members", "--root", str(tmp_path))
    assert result.returncode == 2
    assert "no [project] table" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(tmp_path.rglob("*")) == before


def test_verbose_says_what_uv_ignores(tmp_path: Path) -> None:
    """``--verbose`` names the folders that are silently not members."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["p/*"]\nexclude = ["p/old"]\n',
            "p/a/pyproject.toml": member_toml("a"),
            "p/old/pyproject.toml": member_toml("old"),
            "p/b/pyproject.toml": member_toml("b", extra_toml="[tool.uv]\nmanaged = false\n"),
        },
    )
    result = cli("members", "--verbose", "--root", str(tmp_path))
    assert result.returncode == 0
    assert "p/old: excluded" in result.stderr
    assert "p/b: tool.uv.managed = false" in result.stderr


def test_output_cut_short_by_the_reader_is_not_an_error(workspace: Path) -> None:
    """``... | head -1`` closes the pipe early: no traceback, exit status 0."""
    proc = subprocess.run(
        f"{sys.executable} -m nox_workspace graph --format dot --root '{workspace}' | head -1",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
        executable="/bin/bash",
    )
    assert proc.stdout.strip() == "digraph workspace {"
    assert "Traceback" not in proc.stderr


def test_version_and_prog_follow_how_the_command_was_invoked(tmp_path: Path) -> None:
    """``python -m nox_workspace --version`` and the ``nox-workspace`` console script both
    print the installed version, each under its own name."""
    from importlib import metadata

    version = metadata.version("nox-workspace")
    module = subprocess.run(
        [sys.executable, "-m", "nox_workspace", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert module.stdout.strip() == f"python -m nox_workspace {version}"
    script = Path(sys.executable).parent / "nox-workspace"
    if script.exists():
        result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
        assert result.stdout.strip() == f"nox-workspace {version}"
        usage = subprocess.run([str(script), "nonsense"], capture_output=True, text=True)
        assert usage.stderr.startswith("nox-workspace: error: ")  # one line, named as typed
