"""``python -m nox_workspace check`` on a real shared ``.venv`` that real uv filled.

uv is the oracle twice: what the venv holds is what ``uv pip list`` lists, and a member's
venv synced exactly by ``uv sync --package`` must show no leak and nothing missing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nox_workspace._venv import Venv
from tests.functional.shared_venv import leaky_workspace
from tests.support import run_uv, site_packages, tree_changes, tree_state

pytestmark = pytest.mark.functional


def check(
    root: Path, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nox_workspace", "check", *args],
        cwd=cwd or root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def workspace(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> Path:
    return leaky_workspace(tmp_path / "ws", wheelhouse, env)


def test_reads_the_venv_as_uv_lists_it_legacy_installs_included(
    workspace: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """Names and versions are those of ``uv pip list``, also for an ``egg-info`` install and
    a ``setup.py develop`` link, which ``*.dist-info`` alone would miss."""
    site = site_packages(workspace / ".venv")
    legacy = site / "legacy_thing-1.0-py3.11.egg-info"
    legacy.mkdir()
    (legacy / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: legacy-thing\nVersion: 1.0\n")
    source = tmp_path / "checkout"
    (source / "devpkg.egg-info").mkdir(parents=True)
    (source / "devpkg.egg-info" / "PKG-INFO").write_text("Name: devpkg\nVersion: 0.5\n")
    (site / "devpkg.egg-link").write_text(f"{source}\n.\n")
    listed = run_uv(
        ["pip", "list", "--format", "json", "--python", str(workspace / ".venv")], workspace, env
    )
    uv_sees = {row["name"]: row["version"] for row in json.loads(listed.stdout)}
    assert {"legacy-thing", "devpkg", "alpha", "a", "b"} <= uv_sees.keys()
    assert Venv(workspace / ".venv").distributions() == uv_sees


def test_a_sibling_dependency_leaks_into_b_and_fails_the_check(
    workspace: Path, env: dict[str, str]
) -> None:
    """In the shared venv, ``alpha`` (from ``a``), ``gamma`` (``a``'s test group) and ``eta``
    (the root's dev group) are installed but outside ``b``'s closure: exit status 1, each
    named with who brings it; the venv is left exactly as it was."""
    before = tree_state(workspace / ".venv")
    result = check(workspace, "--member", "b", "--json", env=env)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    (member,) = report["members"]
    assert member["member"] == "b"
    assert member["leaked"] == ["a", "alpha", "eta", "gamma"]
    assert report["packages"] == {
        "a": {"version": "0.1.0", "brought_by": ["a"]},
        "alpha": {"version": "1.0", "brought_by": ["a"]},
        "eta": {"version": "1.0", "brought_by": ["root (group dev)"]},
        "gamma": {"version": "2.0", "brought_by": ["a (group test)"]},
    }
    assert member["missing"] == []
    assert tree_changes(before, tree_state(workspace / ".venv")) == []
    text = check(workspace, "--member", "b", env=env).stdout
    assert "  a 0.1.0, alpha 1.0 come from a\n" in text


def test_a_venv_uv_synced_for_the_member_alone_passes(workspace: Path, env: dict[str, str]) -> None:
    """After ``uv sync --package b`` (exact), uv itself finds nothing to change and the check
    finds no leak and nothing missing; from ``b``'s folder, ``b`` is checked by default."""
    run_uv(["sync", "--package", "b", "--frozen"], workspace, env)
    run_uv(["sync", "--package", "b", "--frozen", "--check"], workspace, env)
    result = check(workspace, "--json", cwd=workspace / "packages" / "b", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["members"] == [{"member": "b", "leaked": [], "missing": []}]


def test_what_a_member_needs_and_the_venv_lacks_is_reported_without_failing(
    workspace: Path, env: dict[str, str]
) -> None:
    """Synced for ``b`` only, the venv lacks ``a``'s closure (with its ``test`` group):
    ``check --member a --group test`` lists it as missing, next to ``b``'s leaks."""
    run_uv(["sync", "--package", "b", "--frozen"], workspace, env)
    result = check(workspace, "--member", "a", "--group", "test", "--json", env=env)
    report = json.loads(result.stdout)
    (member,) = report["members"]
    assert {item["name"] for item in member["missing"]} == {"a", "alpha", "gamma"}
    assert member["leaked"] == ["b", "beta", "optlib"]
    assert result.returncode == 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--venv", "nowhere"], "is not a virtual environment"),
        (["--member", "zz"], "no workspace member named 'zz'"),
        (["--all", "--group", "nope"], "group 'nope'"),
        (["--all", "--extra", "nope"], "extra 'nope'"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    workspace: Path, env: dict[str, str], args: list[str], words: str
) -> None:
    """A missing venv, an unknown member, group or extra: one line naming it, status 2."""
    result = check(workspace, *args, env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert words in result.stderr


def test_check_and_the_inspecting_commands_run_without_nox(
    workspace: Path, env: dict[str, str]
) -> None:
    """``check``, ``members``, ``closure`` and ``graph`` import no Nox: they work where
    ``nox`` cannot be imported."""
    blocker = workspace.parent / "no-nox"
    blocker.mkdir()
    (blocker / "nox.py").write_text("raise ImportError('nox is not installed here')\n")
    no_nox = {**env, "PYTHONPATH": str(blocker)}
    assert subprocess.run([sys.executable, "-c", "import nox"], env=no_nox).returncode != 0
    result = check(workspace, "--member", "a", env=no_nox)
    assert result.returncode == 1, result.stderr
    assert "  b 0.1.0, beta 1.0, optlib 1.0 come from b\n" in result.stdout
    for command in (["members"], ["closure", "a"], ["graph"]):
        proc = subprocess.run(
            [sys.executable, "-m", "nox_workspace", *command],
            cwd=workspace,
            env=no_nox,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
