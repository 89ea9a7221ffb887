"""Faults around a session's sync are one line each, with no traceback: a uv that hangs, an
unusable uv cache, a lock file that cannot be created, a read-only ``.nox``, a state that
cannot be written. (A full disk while the state is written: ``tests/unit/test_reuse.py``.)"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nox_workspace._reuse import LOCK_SUFFIX, STATE_FILE
from tests.functional.nox_project import NoxProject, build_project, check_venv_holds_closure
from tests.functional.test_user_files import read_only_mounts_work
from tests.support import one_line

pytestmark = pytest.mark.functional


@pytest.fixture
def project(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> Iterator[NoxProject]:
    """foo/bar/baz with a noxfile for bar; afterwards no user file changed."""
    built = build_project(tmp_path, wheelhouse, env)
    built.write_noxfile('members=["bar"]')
    yield built
    assert built.unchanged_outside_nox(), "a run created, changed or deleted a user file"


def test_a_uv_that_hangs_is_stopped_with_one_line(project: NoxProject, tmp_path: Path) -> None:
    """A uv that answers --version and then never finishes a sync: the configured limit stops
    it, and the session fails with one line naming the variable."""
    hanging = tmp_path / "hanging-uv"
    hanging.write_text(
        '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "uv 0.13.9"; exit 0; fi\nexec sleep 600\n'
    )
    hanging.chmod(0o755)
    run = project.nox(
        "-s",
        "test-bar",
        check=False,
        extra_env={"NOX_WORKSPACE_UV": str(hanging), "NOX_WORKSPACE_UV_TIMEOUT": "2"},
    )
    assert run.returncode != 0
    line = one_line(run.stderr, "did not finish within 2 s")
    assert "NOX_WORKSPACE_UV_TIMEOUT" in line


def test_a_bad_timeout_setting_is_one_line(project: NoxProject) -> None:
    run = project.nox("-s", "test-bar", check=False, extra_env={"NOX_WORKSPACE_UV_TIMEOUT": "soon"})
    assert run.returncode != 0
    one_line(run.stderr, "NOX_WORKSPACE_UV_TIMEOUT='soon' is not a number of seconds")


def test_an_unusable_uv_cache_is_uv_s_message_and_one_line(
    project: NoxProject, tmp_path: Path
) -> None:
    """A cache path that is a file, on a reused venv: uv says why, the session adds one line,
    and the next run with a good cache gives the locked closure."""
    project.nox("-s", "test-bar")  # Nox's own `uv venv` needs the cache only once
    bad = tmp_path / "not-a-folder"
    bad.write_text("")
    run = project.nox("-s", "test-bar", check=False, extra_env={"UV_CACHE_DIR": str(bad)})
    assert run.returncode != 0
    one_line(run.stderr, "uv sync failed for member bar")
    assert "cache" in run.stdout.lower()
    project.nox("-s", "test-bar")
    check_venv_holds_closure(project, "test-bar", "bar")


def test_a_lock_file_that_cannot_be_created_is_one_line(project: NoxProject) -> None:
    project.nox("-s", "test-bar")
    blocker = project.root / ".nox" / f"test-bar{LOCK_SUFFIX}"
    blocker.unlink(missing_ok=True)
    blocker.mkdir()
    run = project.nox("-s", "test-bar", check=False)
    assert run.returncode != 0
    line = one_line(run.stderr, "cannot create the lock file")
    assert str(blocker) in line


def test_a_state_that_cannot_be_written_is_a_warning(project: NoxProject) -> None:
    """An inexact session whose state file cannot be written still passes, with one warning
    line; the state is only a cache."""
    project.write_noxfile('members=["bar"], sync=Sync(exact=False)')
    project.nox("-s", "test-bar")
    state = project.venv("test-bar") / STATE_FILE
    state.unlink(missing_ok=True)
    state.mkdir()  # a folder where the file goes: os.replace cannot put a file there
    run = project.nox("-s", "test-bar")
    one_line(run.stderr, "cannot record the leak report")
    assert project.installed("test-bar") == {"bar", "beta"}


READ_ONLY_NOX = (
    'root="$1"; shift; '
    'mount --bind "$root/.nox" "$root/.nox" && mount -o remount,bind,ro "$root/.nox" && '
    'cd "$PWD" && exec "$@"'
)


def test_a_read_only_nox_folder_is_one_line(project: NoxProject) -> None:
    """A reused venv in a ``.nox`` that has become read-only (a private read-only bind mount):
    the session fails with one line naming the lock file and the cause."""
    if not read_only_mounts_work():
        pytest.skip("this process may not make read-only bind mounts")
    project.nox("-s", "test-bar")
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", READ_ONLY_NOX]
    command += ["sh", str(project.root), sys.executable, "-m", "nox", "--non-interactive"]
    run = subprocess.run(
        [*command, "-s", "test-bar"],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0
    line = one_line(run.stderr, "cannot create the lock file")
    assert "read-only file system" in line
