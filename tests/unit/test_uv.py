"""The environment of a session's uv calls: one list cleared, one list named, in one place."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nox_workspace._errors import UvError
from nox_workspace._uv import CLEARED, NAMED, sync_environment, timeout_from


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
