"""The leak report's cache key covers exactly its inputs; state and lock faults are one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nox_workspace._errors import VenvError
from nox_workspace._reuse import (
    STATE_FILE,
    SyncState,
    leak_key,
    load_state,
    lock_path,
    save_state,
    venv_lock,
)
from nox_workspace._sync import Sync
from nox_workspace._venv import Venv
from tests.unit.reuse_fixtures import target, venv, workspace

ENV = {"python_version": "3.11", "sys_platform": "linux"}
INSTALLED = {"bar": "0.1.0", "beta": "1.0"}


def key(root: Path, **changes: object) -> str:
    found = target(root, "bar", changes.get("sync", Sync(exact=False)))  # type: ignore[arg-type]
    installed = changes.get("installed", INSTALLED)
    environment = changes.get("environment", ENV)
    seeds = bool(changes.get("seeds", False))
    return leak_key(found, installed, environment, allow_seeds=seeds)  # type: ignore[arg-type]


def test_the_key_changes_with_each_input(tmp_path: Path) -> None:
    workspace(tmp_path)
    base = key(tmp_path)
    assert key(tmp_path) == base
    others = [
        key(tmp_path, installed={**INSTALLED, "junk": "1.0"}),
        key(tmp_path, installed={**INSTALLED, "beta": "1.1"}),
        key(tmp_path, environment={**ENV, "python_version": "3.12"}),
        key(tmp_path, seeds=True),
        key(tmp_path, sync=Sync(exact=False, tool_groups=())),
    ]
    assert others[:4] == [o for o in others[:4] if o != base]
    assert others[4] == base  # the same Sync: the same key
    (tmp_path / "uv.lock").write_text((tmp_path / "uv.lock").read_text() + "\n")
    assert key(tmp_path) != base
    after_lock = key(tmp_path)
    foo = tmp_path / "packages/foo/pyproject.toml"
    foo.write_text(foo.read_text() + "# default groups may change\n")
    assert key(tmp_path) != after_lock


def test_state_round_trip_and_damaged_states(tmp_path: Path) -> None:
    location = Venv(venv(tmp_path, INSTALLED))
    assert load_state(location) is None
    save_state(location, SyncState(key="k", leaks=("a line",)))
    assert load_state(location) == SyncState(key="k", leaks=("a line",))
    for damage in ("", "{", "[]", '{"schema": 1, "key": "k"}', '{"schema": 2}'):
        (location.location / STATE_FILE).write_text(damage)
        assert load_state(location) is None


def test_a_full_disk_while_saving_is_one_line_and_leaves_no_file(tmp_path: Path) -> None:
    """/dev/full fails every write with ENOSPC: a real full disk, for one file."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    location = Venv(venv(tmp_path, INSTALLED))
    temporary = location.location / f"{STATE_FILE}.{os.getpid()}.tmp"
    temporary.symlink_to("/dev/full")
    with pytest.raises(VenvError) as caught:
        save_state(location, SyncState(key="k"))
    message = str(caught.value)
    assert "\n" not in message
    assert "the disk is full" in message
    assert not temporary.exists()
    assert not (location.location / STATE_FILE).exists()


def test_the_lock_file_sits_beside_the_venv(tmp_path: Path) -> None:
    location = Venv(tmp_path / ".nox" / "test-foo")
    assert lock_path(location) == tmp_path / ".nox" / "test-foo.nox-workspace.lock"


def test_a_lock_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    location = Venv(tmp_path / "a-file" / "test-foo")
    with pytest.raises(VenvError) as caught, venv_lock(location):
        pass
    assert "\n" not in str(caught.value)
    assert "lock file" in str(caught.value)


def test_a_held_lock_says_so_and_waits(tmp_path: Path) -> None:
    """Another holder (a thread standing in for another run) keeps the lock: the second run
    logs one line, waits, and gets the lock once the first lets go."""
    import threading

    from filelock import FileLock

    location = Venv(venv(tmp_path, INSTALLED))
    held, release = threading.Event(), threading.Event()

    def other_run() -> None:
        with FileLock(str(lock_path(location))):
            held.set()
            release.wait()

    thread = threading.Thread(target=other_run)
    thread.start()
    held.wait()
    said: list[str] = []

    def on_wait(line: str) -> None:
        said.append(line)
        release.set()

    with venv_lock(location, on_wait=on_wait):
        assert said == ["nox-workspace: another run is syncing s; waiting"]
    thread.join()
