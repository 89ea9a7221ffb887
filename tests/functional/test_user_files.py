"""The user's files: nothing outside ``.nox/`` is created, changed or deleted, ever.

Every session test checks this after each test (``NoxProject``); here the guarantee is made
stronger in two ways:

* a **read-only workspace** (only ``.nox/`` writable) works: sessions sync and pass, their
  fingerprints let a second run skip, and every command line command answers. Writes are
  refused for real: as a normal user by taking the write bits away; as root (who ignores
  them) by a read-only bind mount of the workspace in a private mount namespace
  (``unshare -m``), with ``.nox/`` mounted writable again inside it. Where neither is
  possible the test says so and keeps only the snapshot below;
* a **strict snapshot** around each run: every file, folder and link with its bytes, mode
  and mtime, so a file rewritten with the same bytes, a touched file or a new empty folder
  counts as a change too.

Python's bytecode cache is turned off (``PYTHONDONTWRITEBYTECODE``): the interpreter writes
``__pycache__`` next to a module the user's session imports, which is the user's doing.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.functional.nox_project import (
    NOXFILE,
    PROBE,
    NoxProject,
    build_project,
    check_venv_holds_closure,
)
from tests.support import cli_argv, git_commit_all, member_toml, tree_changes, tree_state

pytestmark = pytest.mark.functional

SESSIONS = {"test-foo": "foo", "test-bar": "bar", "test-baz": "baz"}
SYNCED = "nox-workspace: syncing"

#: Mount the workspace ($1) read-only, its .nox/ writable, re-enter the current folder
#: through the new mounts, and run the command that follows.
MOUNT = (
    'root="$1"; shift; '
    'mount --bind "$root" "$root" && mount -o remount,bind,ro "$root" && '
    'mount --bind "$root/.nox" "$root/.nox" && mount -o remount,bind,rw "$root/.nox" && '
    'cd "$PWD" && exec "$@"'
)

CLI_COMMANDS: dict[str, list[str]] = {
    "members": ["members"],
    "members --json": ["members", "--json", "--verbose"],
    "closure": ["closure", "baz", "--json"],
    "closure --all-platforms": ["closure", "foo", "--all-platforms", "--group", "test"],
    "graph text": ["graph"],
    "graph mermaid": ["graph", "--format", "mermaid"],
    "graph dot": ["graph", "--format", "dot"],
    "affected": ["affected", "--since", "HEAD~1", "--json", "--explain"],
    "matrix text": ["matrix"],
    "matrix json": ["matrix", "--format", "json", "--union"],
    "matrix github": ["matrix", "--format", "github", "--since", "HEAD~1", "--explain"],
    "matrix gitlab": ["matrix", "--format", "gitlab"],
}


def unshare_command(root: Path) -> list[str]:
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", MOUNT, "sh", str(root)]


@functools.cache
def read_only_mounts_work() -> bool:
    """Whether this process may make a private read-only bind mount (root with unshare)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / ".nox").mkdir()
        probe = "! touch refused 2>/dev/null && touch .nox/allowed"
        proc = subprocess.run(
            [*unshare_command(root), "sh", "-c", probe],
            cwd=root,
            capture_output=True,
            check=False,
        )
        return proc.returncode == 0 and (root / ".nox/allowed").exists()


@contextlib.contextmanager
def read_only(root: Path) -> Iterator[tuple[str, list[str]]]:
    """Make ``root`` read-only except ``.nox/``; yield how, and the prefix commands need.

    Modes: ``permissions`` (a normal user: write bits removed, put back afterwards),
    ``mount`` (root: commands run inside a private read-only bind mount), ``snapshot``
    (root without mount rights: nothing is enforced, the strict snapshot still checks).
    """
    (root / ".nox").mkdir(exist_ok=True)
    if os.geteuid() != 0:
        changed: list[tuple[Path, int]] = []
        for folder, dirs, files in os.walk(root):
            base = Path(folder)
            if base == root:
                dirs.remove(".nox")
            for name in [*dirs, *files]:
                path = base / name
                mode = path.lstat().st_mode
                if not stat.S_ISLNK(mode):
                    changed.append((path, mode))
        changed.append((root, root.stat().st_mode))
        for path, mode in changed:
            path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        try:
            yield "permissions", []
        finally:
            for path, mode in changed:
                path.chmod(mode)
    elif read_only_mounts_work():
        yield "mount", unshare_command(root)
    else:
        yield "snapshot", []


@pytest.fixture
def project(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> Iterator[NoxProject]:
    """foo/bar/baz in a git repository of two commits (bar changed in the second), a noxfile
    with the probing session and the matrix session; no bytecode written."""
    built = build_project(tmp_path, wheelhouse, {**env, "PYTHONDONTWRITEBYTECODE": "1"})
    noxfile = NOXFILE.format(probe=PROBE, reports=str(built.reports), options='union="all"')
    built.write_noxfile(body=noxfile + "\n\nnox_workspace.matrix_session()\n")
    (built.root / ".gitignore").write_text(".nox/\n", encoding="utf-8")
    git_commit_all(built.root, "base")
    built.edit("packages/bar/pyproject.toml", member_toml("bar", dependencies=["beta"]) + "#\n")
    git_commit_all(built.root, "bar changed")
    built.accept()
    yield built
    assert built.unchanged_outside_nox(), "a run created, changed or deleted a user file"


def run(
    prefix: Sequence[str], args: Sequence[str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def nox(*args: str) -> list[str]:
    return [sys.executable, "-m", "nox", "--non-interactive", *args]


def test_sessions_and_commands_work_in_a_read_only_workspace(
    project: NoxProject, tmp_path: Path
) -> None:
    """With only ``.nox/`` writable, every session syncs its closure and passes, a second run
    syncs again (a no-op), and listing, the matrix session and every command line command answer;
    nothing outside ``.nox/`` changes (strict snapshot)."""
    root, env = project.root, project.env
    github = {"GITHUB_OUTPUT": str(tmp_path / "out"), "GITHUB_STEP_SUMMARY": str(tmp_path / "s")}
    before = tree_state(root)
    with read_only(root) as (mode, prefix):
        first = run(prefix, nox("-s", *SESSIONS, "all"), root, env)
        assert first.returncode == 0, f"[{mode}] {first.stdout}\n{first.stderr}"
        assert first.stderr.count(SYNCED) == 4
        second = run(prefix, nox("-s", *SESSIONS, "all"), root, env)
        assert second.returncode == 0, f"[{mode}] {second.stdout}\n{second.stderr}"
        assert second.stderr.count(SYNCED) == 4
        for args in (nox("-l", "--json"), nox("-s", "matrix", "--", "--format", "json")):
            listed = run(prefix, args, root, env)
            assert listed.returncode == 0, f"[{mode}] {listed.stderr}"
        for name, args in CLI_COMMANDS.items():
            cwd = root if args[0] == "matrix" else root / "packages" / "baz"
            answer = run(prefix, cli_argv(*args), cwd, {**env, **github})
            assert answer.returncode == 0, f"[{mode}] {name}: {answer.stderr}"
            assert answer.stdout.strip(), f"[{mode}] {name} printed nothing"
    assert tree_changes(before, tree_state(root)) == [], mode
    for session, member in SESSIONS.items():
        check_venv_holds_closure(project, session, member)
    if mode == "snapshot":
        pytest.skip("root without mount rights: writes were checked by snapshot only")


@pytest.mark.parametrize("args", list(CLI_COMMANDS.values()), ids=list(CLI_COMMANDS))
def test_a_command_line_command_changes_no_file(
    project: NoxProject, tmp_path: Path, args: list[str]
) -> None:
    """Each command, run from the root and (but ``matrix``, which reads the noxfile there)
    from a member's folder, leaves every file, folder and link of the workspace (``.git``
    included) as it was, down to the mtime."""
    env = {
        **project.env,
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }
    before = tree_state(project.root, skip=())
    folders = (
        [project.root] if args[0] == "matrix" else [project.root, project.root / "packages/foo"]
    )
    for cwd in folders:
        answer = run((), cli_argv(*args), cwd, env)
        assert answer.returncode == 0, answer.stderr
    assert tree_changes(before, tree_state(project.root, skip=())) == []


def test_a_failing_session_changes_no_user_file(project: NoxProject) -> None:
    """A sync that fails (a pyproject.toml edited without ``uv lock``) leaves the workspace's
    files as they were: ``uv.lock`` is not rewritten, nothing is created next to it."""
    bar = member_toml("bar", dependencies=["beta", "theta"])
    project.edit("packages/bar/pyproject.toml", bar)
    before = tree_state(project.root, skip=(".nox", ".git"))
    failed = project.nox("-s", "test-bar", check=False)
    assert failed.returncode != 0
    assert tree_changes(before, tree_state(project.root, skip=(".nox", ".git"))) == []
