"""Concurrency: several nox processes on one workspace, and ``nox -j 2``, never collide.

Each test runs its rounds on a workspace with a uv cache of its own that starts empty, so
the first round's processes fill the cache side by side. Afterwards every session has passed,
every venv holds exactly its locked closure (every file whole), ``uv.lock`` is byte for byte
what it was, no user file changed, and the shared cache still installs each member's closure
into a new venv with every file as its RECORD says.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from packaging.markers import default_environment

from nox_workspace._closure import target_closure
from nox_workspace._lock import clear_lock_cache, read_lock
from nox_workspace._sync import Sync, Target
from nox_workspace._workspace import discover
from tests.functional.nox_project import (
    NoxProject,
    build_project,
    check_venv_holds_closure,
    locked_closure,
)
from tests.support import run_uv, tool_env, venv_damage, venv_distributions

pytestmark = pytest.mark.functional

MEMBER_SESSIONS = {"test-foo": "foo", "test-bar": "bar", "test-baz": "baz"}
ALL_SESSIONS = [*MEMBER_SESSIONS, "all"]
ROUNDS = 3


@pytest.fixture
def project(tmp_path: Path, wheelhouse: Path) -> Iterator[NoxProject]:
    """The foo/bar/baz workspace with a cold uv cache of its own; afterwards no user file
    changed and uv.lock is what it was."""
    built = build_project(tmp_path, wheelhouse, tool_env(tmp_path / "uv-cache"))
    built.write_noxfile()
    lock = built.lock_bytes()
    yield built
    assert built.lock_bytes() == lock, "uv.lock changed"
    assert built.unchanged_outside_nox(), "a session created, changed or deleted a user file"


def round_options(round_: int) -> list[str]:
    """Round 1 fills the cache and the venvs; round 2 reuses them (the syncs are skipped);
    round 3 recreates every venv, which then syncs from a warm cache."""
    return ["--reuse-venv=never"] if round_ == 3 else []


def run_at_once(project: NoxProject, *commands: Sequence[str]) -> None:
    """Start one nox process per command, all at once; each must pass."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "nox", "--non-interactive", *command],
            cwd=project.root,
            env=project.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    failures = []
    for command, process in zip(commands, processes, strict=True):
        stdout, stderr = process.communicate(timeout=600)
        if process.returncode != 0:
            failures.append(f"nox {' '.join(command)} failed:\n{stdout}\n{stderr}")
    assert not failures, "\n\n".join(failures)


def union_closure(root: Path) -> dict[str, str]:
    """Name -> version of the union's locked closure (every member) for this interpreter."""
    workspace = discover(root)
    clear_lock_cache()
    environment = {key: str(value) for key, value in default_environment().items()}
    target = Target(workspace=workspace, members=workspace.members, sync=Sync(), all_packages=True)
    return {
        package.name: package.version or ""
        for package in target_closure(read_lock(workspace.lock_path), target, environment)
    }


def check_every_venv(project: NoxProject, envdir: str = ".nox") -> None:
    for session, member in MEMBER_SESSIONS.items():
        check_venv_holds_closure(project, session, member, project.root / envdir / session)
    union = project.root / envdir / "all"
    assert venv_distributions(union) == union_closure(project.root)
    assert venv_damage(union) == []


def check_cache_still_installs(project: NoxProject, folder: Path) -> None:
    """A new venv per member, synced offline from the shared cache, is exactly its closure."""
    for member in MEMBER_SESSIONS.values():
        venv = folder / f"fresh-{member}"
        env = {**project.env, "UV_PROJECT_ENVIRONMENT": str(venv)}
        run_uv(["sync", "--package", member, "--exact", "--locked"], project.root, env)
        assert venv_distributions(venv) == locked_closure(project.root, member, project.env)
        assert venv_damage(venv) == []


def test_two_nox_processes_on_different_sessions_at_once(
    project: NoxProject, tmp_path: Path
) -> None:
    """Two nox processes, one on foo and baz, the other on bar and the union, run side by
    side three rounds in a row: every session passes and every venv is its closure."""
    for round_ in range(1, ROUNDS + 1):
        options = round_options(round_)
        run_at_once(
            project,
            [*options, "-s", "test-foo", "test-baz"],
            [*options, "-s", "test-bar", "all"],
        )
        check_every_venv(project)
    check_cache_still_installs(project, tmp_path)


def test_two_nox_processes_on_the_same_sessions_with_their_own_envdirs(
    project: NoxProject, tmp_path: Path
) -> None:
    """Two nox processes run the same four sessions side by side, in opposite orders, each
    with its own ``--envdir`` (under ``.nox/``), three rounds in a row: the same lock and the
    same cache serve both, and both pass every time.

    In one envdir, two processes of one session cannot both pass: Nox creates (or, with
    ``--reuse-venv=never``, deletes and creates) the venv before any plugin code runs, and
    takes no lock, so one process can remove the venv the other is testing in.
    """
    for round_ in range(1, ROUNDS + 1):
        options = round_options(round_)
        run_at_once(
            project,
            ["--envdir", ".nox/a", *options, "-s", *ALL_SESSIONS],
            ["--envdir", ".nox/b", *options, "-s", *reversed(ALL_SESSIONS)],
        )
        check_every_venv(project, ".nox/a")
        check_every_venv(project, ".nox/b")
    check_cache_still_installs(project, tmp_path)


def test_nox_j2_across_all_members_three_times(project: NoxProject, tmp_path: Path) -> None:
    """``nox -j 2`` over every member session and the union, three rounds in a row."""
    for round_ in range(1, ROUNDS + 1):
        project.nox("-j", "2", *round_options(round_), "-s", *ALL_SESSIONS)
        check_every_venv(project)
    check_cache_still_installs(project, tmp_path)


def test_two_nox_j2_processes_at_once(project: NoxProject, tmp_path: Path) -> None:
    """Two ``nox -j 2`` processes, on foo and bar and on baz and the union: four syncs in
    flight at once, three rounds in a row."""
    for round_ in range(1, ROUNDS + 1):
        options = ["-j", "2", *round_options(round_)]
        run_at_once(
            project,
            [*options, "-s", "test-foo", "test-bar"],
            [*options, "-s", "test-baz", "all"],
        )
        check_every_venv(project)
    check_cache_still_installs(project, tmp_path)
