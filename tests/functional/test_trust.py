"""A reused venv is what ``uv sync`` with the session's flags makes it, or the run fails.

Each test changes one input of a sync between two real nox runs on a reused venv, then asks
uv itself (``uv sync <the session's flags> --dry-run --output-format json``) whether it would
change anything: it must not. Before uv decided on every run, each of these runs printed
"uv.lock, pyproject.toml files and venv unchanged; no sync" and kept a venv uv would change.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from nox_workspace._reuse import STARTED_FILE
from nox_workspace._sync import Sync, Target
from nox_workspace._workspace import discover
from tests.functional.nox_project import NoxProject, build_project, check_venv_holds_closure
from tests.support import (
    make_bulky_wheel,
    make_wheel,
    member_toml,
    run_uv,
    site_packages,
    tool_env,
    uv_bin,
    uv_sync_changes,
    venv_damage,
    venv_distributions,
    wait_until,
    write_tree,
)

pytestmark = pytest.mark.functional

SYNCED = "nox-workspace: syncing"
OLD_SKIP = "no sync"


@pytest.fixture
def project(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> Iterator[NoxProject]:
    """foo/bar/baz; afterwards nothing outside ``.nox/`` differs from what the test changed."""
    built = build_project(tmp_path, wheelhouse, env)
    yield built
    assert built.unchanged_outside_nox(), "a session created, changed or deleted a user file"


def uv_changes(
    project: NoxProject, session: str, member: str, sync: Sync | None = None
) -> list[str]:
    """What uv, with the session's own flags and a clean environment, would change."""
    workspace = discover(project.root)
    target = Target(workspace=workspace, members=(workspace.member(member),), sync=sync or Sync())
    return uv_sync_changes(project.root, target.uv_sync_args(), project.env, project.venv(session))


def synced_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if SYNCED in line]
    assert len(lines) == 1, stderr
    return lines[0]


# 1. Sync(tool_groups=...)


def test_changing_tool_groups_changes_the_venv(project: NoxProject) -> None:
    """Adding, removing and adding back a tool group each show in the reused venv."""
    project.write_noxfile('members=["foo"], sync=Sync(tool_groups=["lint"])')
    project.nox("-s", "test-foo")
    assert "eta" in project.installed("test-foo")
    project.write_noxfile('members=["foo"]')
    rerun = project.nox("-s", "test-foo")
    assert OLD_SKIP not in rerun.stderr
    assert "eta" not in project.installed("test-foo")
    assert uv_changes(project, "test-foo", "foo") == []
    project.write_noxfile('members=["foo"], sync=Sync(tool_groups=["lint"])')
    project.nox("-s", "test-foo")
    assert "eta" in project.installed("test-foo")


# 2. UV_* variables


CLEARED_CASES = {
    "UV_NO_DEV": "1",
    "UV_NO_DEFAULT_GROUPS": "1",
    "UV_NO_GROUP": "dev",
    "UV_NO_INSTALL_PROJECT": "1",
    "UV_NO_INSTALL_WORKSPACE": "1",
    "UV_NO_INSTALL_LOCAL": "1",
    "UV_NO_EDITABLE": "1",
    "UV_FROZEN": "1",
}


@pytest.mark.parametrize("variable", list(CLEARED_CASES))
def test_selection_variables_do_not_change_what_a_session_gets(
    project: NoxProject, variable: str
) -> None:
    """A caller's UV_NO_DEV, UV_NO_INSTALL_PROJECT, ... do not reach the sync: the venv holds
    foo (editable, from its folder) and its dev group whatever the caller set, before and
    after a run without the variable."""
    project.edit(
        "packages/foo/pyproject.toml",
        member_toml("foo", dependencies=["alpha"], groups={"dev": ["theta"]}),
    )
    project.relock()
    project.write_noxfile('members=["foo"]')
    for extra in ({variable: CLEARED_CASES[variable]}, {}):
        run = project.nox("-s", "test-foo", extra_env=extra)
        assert OLD_SKIP not in run.stderr
        assert project.installed("test-foo") == {"foo", "alpha", "theta"}
        where = project.imports("test-foo")["foo"]
        assert where is not None
        assert str(project.root / "packages" / "foo" / "src") in where
        assert uv_changes(project, "test-foo", "foo") == []


def test_machine_variables_are_honoured_and_named(project: NoxProject) -> None:
    """Index variables reach uv and the log line names them (never their values); the
    offline and cache variables of the tests are honoured without a mention."""
    project.write_noxfile('members=["bar"]')
    secret = "https://user:secret@index.invalid/simple"
    run = project.nox(
        "-s",
        "test-bar",
        extra_env={"UV_EXTRA_INDEX_URL": secret, "UV_FIND_LINKS": str(project.wheelhouse)},
    )
    line = synced_line(run.stderr)
    assert line.endswith("(exact, locked; honouring UV_EXTRA_INDEX_URL, UV_FIND_LINKS)")
    assert "secret" not in run.stderr + run.stdout
    assert project.installed("test-bar") == {"bar", "beta"}


# 3. and 4. What is really installed


def test_a_distribution_replaced_by_hand_is_repaired(project: NoxProject, tmp_path: Path) -> None:
    """alpha 1.0 replaced by another build of alpha 1.0: the next run puts the locked one back."""
    project.write_noxfile('members=["foo"]')
    project.nox("-s", "test-foo")
    other = make_wheel(tmp_path / "other", "alpha", "1.0", source="BUILD = 'other'\n")
    venv = project.venv("test-foo")
    run_uv(
        ["pip", "install", "--reinstall", "--python", str(venv / "bin/python"), str(other)],
        project.root,
        project.env,
    )
    assert uv_changes(project, "test-foo", "foo") != []
    project.nox("-s", "test-foo")
    assert uv_changes(project, "test-foo", "foo") == []
    assert "BUILD" not in (site_packages(venv) / "alpha" / "__init__.py").read_text()


def drop_eggs(venv: Path, tmp_path: Path) -> None:
    """An ``*.egg-info`` (a setuptools install) and an ``*.egg-link`` (``setup.py develop``)."""
    site = site_packages(venv)
    info = site / "junk-1.0-py3.egg-info"
    write_tree(
        site,
        {
            "junk.py": "X = 1\n",
            f"{info.name}/PKG-INFO": "Metadata-Version: 1.0\nName: junk\nVersion: 1.0\n",
            f"{info.name}/top_level.txt": "junk\n",
            f"{info.name}/installed-files.txt": "../junk.py\nPKG-INFO\ntop_level.txt\n",
        },
    )
    project_dir = tmp_path / "develop"
    write_tree(
        project_dir,
        {"junk2.egg-info/PKG-INFO": "Metadata-Version: 1.0\nName: junk2\nVersion: 2.0\n"},
    )
    (site / "junk2.egg-link").write_text(f"{project_dir}\n.", encoding="utf-8")
    (site / "easy-install.pth").write_text(f"{project_dir}\n", encoding="utf-8")


def test_egg_distributions_are_removed_by_an_exact_sync(
    project: NoxProject, tmp_path: Path
) -> None:
    project.write_noxfile('members=["bar"]')
    project.nox("-s", "test-bar")
    drop_eggs(project.venv("test-bar"), tmp_path)
    project.nox("-s", "test-bar")
    assert project.installed("test-bar") == {"bar", "beta"}
    assert uv_changes(project, "test-bar", "bar") == []


def test_egg_distributions_are_reported_as_leaks(project: NoxProject, tmp_path: Path) -> None:
    """An inexact session keeps them, and its leak report names both."""
    project.write_noxfile('members=["bar"], sync=Sync(exact=False)')
    project.nox("-s", "test-bar")
    drop_eggs(project.venv("test-bar"), tmp_path)
    run = project.nox("-s", "test-bar")
    assert "junk 1.0 is installed but is not in the locked closure" in run.stderr
    assert "junk2 2.0 is installed but is not in the locked closure" in run.stderr
    assert "uv.lock does not have it at all" in run.stderr


# 5. The interpreter


def other_python() -> Path | None:
    """A real interpreter of another minor version than the tests', when the machine has one."""
    versions = Path.home() / ".pyenv" / "versions"
    mine = f"{sys.version_info.major}.{sys.version_info.minor}"
    for folder in sorted(versions.glob("3.1[0-9].*")) if versions.is_dir() else []:
        python = folder / "bin" / "python3"
        if python.exists() and not folder.name.startswith(mine + "."):
            return python
    return None


def test_a_swapped_interpreter_gets_a_venv_uv_would_make(project: NoxProject) -> None:
    python = other_python()
    if python is None:
        pytest.skip("no second interpreter on this machine")
    project.write_noxfile('members=["foo"]')
    project.nox("-s", "test-foo")
    link = project.venv("test-foo") / "bin" / "python"
    link.unlink()
    link.symlink_to(python)
    project.nox("-s", "test-foo")
    assert uv_changes(project, "test-foo", "foo") == []
    check_venv_holds_closure(project, "test-foo", "foo")


# 6. Inputs outside the members' pyproject.toml


def test_a_path_source_outside_the_members_is_reinstalled(project: NoxProject) -> None:
    """foo needs ``outside``, a folder no member owns; changing it reaches the venv."""
    write_tree(
        project.root,
        {
            "vendor/outside/pyproject.toml": member_toml("outside"),
            "vendor/outside/src/outside/__init__.py": "VALUE = 1\n",
        },
    )
    project.edit(
        "packages/foo/pyproject.toml",
        member_toml("foo", dependencies=["alpha", "outside"], groups={"test": ["zeta"]})
        + '[tool.uv.sources]\noutside = { path = "../../vendor/outside" }\n',
    )
    project.relock()
    project.write_noxfile('members=["foo"]')
    project.nox("-s", "test-foo")
    project.edit("vendor/outside/src/outside/__init__.py", "VALUE = 2\n")
    pyproject = project.root / "vendor/outside/pyproject.toml"
    project.edit("vendor/outside/pyproject.toml", pyproject.read_text() + "# touched\n")
    assert uv_changes(project, "test-foo", "foo") != []
    project.nox("-s", "test-foo")
    assert uv_changes(project, "test-foo", "foo") == []
    installed = site_packages(project.venv("test-foo")) / "outside" / "__init__.py"
    assert installed.read_text() == "VALUE = 2\n"


def test_cache_keys_of_a_member_are_uv_s_to_check(project: NoxProject) -> None:
    """``[tool.uv] cache-keys`` name a file; changing it makes uv rebuild the member."""
    project.edit(
        "packages/foo/pyproject.toml",
        member_toml("foo", dependencies=["alpha"], groups={"test": ["zeta"]})
        + '[tool.uv]\ncache-keys = [{ file = "stamp.txt" }]\n',
    )
    project.edit("packages/foo/stamp.txt", "1\n")
    project.relock()
    project.write_noxfile('members=["foo"]')
    project.nox("-s", "test-foo")
    project.edit("packages/foo/stamp.txt", "2\n")
    assert uv_changes(project, "test-foo", "foo") != []
    project.nox("-s", "test-foo")
    assert uv_changes(project, "test-foo", "foo") == []


# 7. uv.toml


def test_a_reused_venv_reads_uv_toml_as_a_new_one_does(project: NoxProject) -> None:
    """A broken ``uv.toml`` fails the reused venv's run exactly as it fails a new venv's."""
    project.write_noxfile('members=["bar"]')
    project.nox("-s", "test-bar")
    project.edit("uv.toml", "this is = not [valid\n")
    reused = project.nox("-s", "test-bar", check=False)
    fresh = project.nox("-N", "-s", "test-bar", check=False)
    assert reused.returncode != 0
    assert fresh.returncode != 0
    assert "uv.toml" in reused.stdout
    assert "uv sync failed for member bar" in reused.stderr
    (project.root / "uv.toml").unlink()
    project.accept()
    project.nox("-s", "test-bar")
    assert uv_changes(project, "test-bar", "bar") == []


# 8. Two runs of one session at once


GATED_UV = """#!/bin/sh
# uv that, for `uv sync`, says it entered and waits for the test to let it go.
if [ "$1" = "sync" ]; then
    touch "$GATE_ENTERED"
    while [ ! -e "$GATE_RELEASE" ]; do sleep 0.01; done
fi
exec "$GATE_REAL_UV" "$@"
"""


def test_two_runs_of_one_session_wait_for_each_other(
    tmp_path: Path, wheelhouse: Path, env: dict[str, str]
) -> None:
    """Run A is held inside its ``uv sync``; meanwhile uv.lock moves on and run B starts.
    B says it waits and does not touch the venv (it does not take A's unfinished sync for an
    interrupted one); once A is let go, both pass, and the venv is whole and what uv makes of
    the new lock."""
    houses = tmp_path / "houses"
    houses.mkdir()
    for name in os.listdir(wheelhouse):
        (houses / name).write_bytes((wheelhouse / name).read_bytes())
    make_bulky_wheel(houses, "bulky", "1.0")
    make_bulky_wheel(houses, "bulky", "2.0")
    project = build_project(tmp_path, houses, tool_env(tmp_path / "cache"))
    project.edit("packages/bar/pyproject.toml", member_toml("bar", dependencies=["bulky<2"]))
    project.relock()
    project.write_noxfile('members=["bar"], sync=Sync(frozen=True)')
    project.nox("-s", "test-bar")
    gated = tmp_path / "gated-uv"
    gated.write_text(GATED_UV)
    gated.chmod(0o755)
    entered, release = tmp_path / "entered", tmp_path / "release"
    gate = {
        "NOX_WORKSPACE_UV": str(gated),
        "GATE_REAL_UV": uv_bin(),
        "GATE_ENTERED": str(entered),
        "GATE_RELEASE": str(release),
    }
    a_log, b_log = tmp_path / "a.log", tmp_path / "b.log"
    with a_log.open("w") as a_out, b_log.open("w") as b_out:
        first = nox_process(project, {**project.env, **gate}, a_out)
        wait_until(lambda: entered.exists() or first.poll() is not None, "run A to enter uv sync")
        assert entered.exists(), a_log.read_text()
        project.edit("packages/bar/pyproject.toml", member_toml("bar", dependencies=["bulky>=2"]))
        project.relock()
        second = nox_process(project, project.env, b_out)
        wait_until(
            lambda: "waiting" in b_log.read_text() or second.poll() is not None,
            "run B to wait or end",
        )
        release.touch()
        first.wait(timeout=600)
        second.wait(timeout=600)
    a_text, b_text = a_log.read_text(), b_log.read_text()
    assert first.returncode == 0, a_text
    assert second.returncode == 0, b_text
    assert "nox-workspace: another run is syncing test-bar; waiting" in b_text
    assert "the last sync was interrupted" not in b_text
    venv = project.venv("test-bar")
    assert venv_damage(venv) == []
    assert uv_changes(project, "test-bar", "bar", Sync(frozen=True)) == []
    assert not (venv / STARTED_FILE).exists()
    assert venv_distributions(venv) == {"bar": "0.1.0", "bulky": "2.0"}


def nox_process(project: NoxProject, env: dict[str, str], output: IO[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "nox", "--non-interactive", "-s", "test-bar"],
        cwd=project.root,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )


def setuptools_wheel() -> Path | None:
    """The setuptools wheel virtualenv (a dependency of Nox) embeds: a build backend offline."""
    try:
        import virtualenv
    except ImportError:  # pragma: no cover - Nox depends on virtualenv
        return None
    embed = Path(virtualenv.__file__).parent / "seed" / "wheels" / "embed"
    found = sorted(embed.glob("setuptools-*.whl"))
    return found[-1] if found else None


def test_setup_cfg_of_a_setuptools_member_is_uv_s_to_check(
    tmp_path: Path, wheelhouse: Path, env: dict[str, str]
) -> None:
    """A setuptools member: editing its ``setup.cfg`` makes uv rebuild it; the next run
    does. (setuptools writes ``*.egg-info`` into the member's folder; see the reuse how-to.)"""
    wheel = setuptools_wheel()
    if wheel is None:
        pytest.skip("no setuptools wheel on this machine")
    houses = tmp_path / "houses"
    houses.mkdir()
    for name in [*os.listdir(wheelhouse), wheel.name]:
        source = wheelhouse / name if name != wheel.name else wheel
        (houses / name).write_bytes(source.read_bytes())
    project = build_project(tmp_path, houses, env)
    write_tree(
        project.root,
        {
            "packages/bar/pyproject.toml": (
                '[project]\nname = "bar"\nrequires-python = ">=3.10"\n'
                'dynamic = ["version", "dependencies"]\n'
                '[build-system]\nrequires = ["setuptools"]\n'
                'build-backend = "setuptools.build_meta"\n'
            ),
            "packages/bar/setup.cfg": (
                "[metadata]\nname = bar\nversion = 0.1.0\n"
                "[options]\npackage_dir =\n    = src\npackages = find:\n"
                "install_requires = beta\n[options.packages.find]\nwhere = src\n"
            ),
        },
    )
    project.relock()
    project.write_noxfile('members=["bar"]')
    project.nox("-s", "test-bar")
    setup_cfg = project.root / "packages/bar/setup.cfg"
    setup_cfg.write_text(setup_cfg.read_text() + "# edited\n")
    assert uv_changes(project, "test-bar", "bar") != []
    rerun = project.nox("-s", "test-bar")
    assert OLD_SKIP not in rerun.stderr
    assert uv_changes(project, "test-bar", "bar") == []
    assert project.installed("test-bar") == {"bar", "beta"}
