"""The environment of a session's uv calls: one list cleared, one list named, in one place."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from nox_workspace import _uv
from nox_workspace._errors import UvError
from nox_workspace._uv import (
    CLEARED,
    MINIMUM_UV,
    NAMED,
    failure_hint,
    find_uv,
    sync_environment,
    timeout_from,
)


def test_selection_variables_are_cleared_and_machine_ones_kept(tmp_path: Path) -> None:
    caller = {
        "UV_NO_DEV": "1",
        "UV_NO_INSTALL_PROJECT": "1",
        "UV_FROZEN": "1",
        "UV_INDEX_URL": "https://user:secret@example.org/simple",
        "UV_OFFLINE": "1",
        "UV_HTTP_TIMEOUT": "5",
        "UV_PROJECT_ENVIRONMENT": "/elsewhere",
        "HOME": "/home/me",
        "VIRTUAL_ENV": "/home/me/.venv",
    }
    env, named = sync_environment(caller, tmp_path / "venv", tmp_path / "venv/bin/python")
    assert "UV_NO_DEV" not in env
    assert "UV_NO_INSTALL_PROJECT" not in env
    assert "UV_FROZEN" not in env
    assert env["UV_INDEX_URL"] == caller["UV_INDEX_URL"]
    assert env["UV_HTTP_TIMEOUT"] == "5"
    assert env["HOME"] == "/home/me"
    assert env["UV_PROJECT_ENVIRONMENT"] == str(tmp_path / "venv")
    assert env["VIRTUAL_ENV"] == str(tmp_path / "venv")
    assert env["UV_OFFLINE"] == "1"
    assert named == ("UV_INDEX_URL",)


def test_uv_gets_the_interpreter_behind_the_venv_link(tmp_path: Path) -> None:
    link = tmp_path / "venv" / "bin" / "python"
    link.parent.mkdir(parents=True)
    link.symlink_to(sys.executable)
    env, _ = sync_environment({}, tmp_path / "venv", link)
    assert env["UV_PYTHON"] == str(Path(sys.executable).resolve())


def test_the_two_lists_are_disjoint_and_cover_the_issue() -> None:
    assert not set(CLEARED) & set(NAMED)
    for name in (
        "UV_NO_DEV",
        "UV_NO_DEFAULT_GROUPS",
        "UV_NO_GROUP",
        "UV_NO_INSTALL_PROJECT",
        "UV_NO_INSTALL_WORKSPACE",
        "UV_NO_INSTALL_LOCAL",
        "UV_NO_EDITABLE",
    ):
        assert name in CLEARED
    for name in ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS"):
        assert name in NAMED


@pytest.mark.parametrize(
    ("raw", "expected"), [("", 1800.0), ("10", 10.0), ("2.5", 2.5), ("0", None)]
)
def test_timeout_from_the_environment(raw: str, expected: float | None) -> None:
    assert timeout_from({"NOX_WORKSPACE_UV_TIMEOUT": raw}) == expected


@pytest.mark.parametrize("raw", ["soon", "-1"])
def test_a_bad_timeout_is_one_line(raw: str) -> None:
    with pytest.raises(UvError) as caught:
        timeout_from({"NOX_WORKSPACE_UV_TIMEOUT": raw})
    assert "\n" not in str(caught.value)
    assert "NOX_WORKSPACE_UV_TIMEOUT" in str(caught.value)


@pytest.mark.parametrize(
    ("output", "fragment"),
    [
        (
            "error: The lockfile at `uv.lock` needs to be updated, but `--locked` was provided.",
            "run `uv lock`",
        ),
        ("error: No interpreter found for Python 3.99 in virtual environments", "python=..."),
        ("error: Failed to fetch: `https://pypi.org/simple/alpha/`", "the network"),
        ("  Caused by: Network connectivity is disabled, but alpha was not cached", "the network"),
        ("error: Failed to build `legacy @ file:///ws/legacy`", "failed to build"),
        ("error: failed to create directory: No space left on device", "free space"),
        ("error: something uv has never said", "uv's message above says why"),
    ],
    ids=["stale-lock", "interpreter", "fetch", "offline", "build", "disk", "unknown"],
)
def test_a_failed_sync_gets_the_hint_that_fits_uvs_message(output: str, fragment: str) -> None:
    assert fragment in failure_hint(f"Resolved 3 packages\n{output}\n", frozen=False)


def test_a_frozen_sync_is_never_told_to_relock() -> None:
    """``--frozen`` never checks the lock, so "run uv lock" cannot be the fix there."""
    hint = failure_hint("The lockfile at `uv.lock` needs to be updated", frozen=True)
    assert "uv lock" not in hint


def test_the_uv_variable_chooses_the_uv_as_nox_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``$UV`` (a name on PATH or a path) picks the uv, as it does for Nox's venvs."""
    fake = tmp_path / "my-uv"
    fake.write_text("#!/bin/sh\necho 'uv 0.13.9'\n")
    fake.chmod(0o755)
    monkeypatch.delenv("NOX_WORKSPACE_UV", raising=False)
    monkeypatch.setenv("UV", str(fake))
    _uv._find.cache_clear()
    try:
        assert find_uv() == str(fake)
        monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
        monkeypatch.setenv("UV", "my-uv")
        _uv._find.cache_clear()
        assert find_uv() == str(fake)
        monkeypatch.setenv("UV", str(tmp_path / "nowhere"))
        _uv._find.cache_clear()
        with pytest.raises(UvError, match=r"UV='.*nowhere' names no executable uv"):
            find_uv()
    finally:
        _uv._find.cache_clear()


def test_the_minimum_uv_has_the_member_default_groups_rule() -> None:
    """Closures assume uv 0.12.2's rule: a selected member does not get the root's
    default-groups (uv #20930); an older uv would install something else."""
    assert Version("0.12.2") == MINIMUM_UV
