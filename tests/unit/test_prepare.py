"""The run-time step's own decisions, without uv: when the leak report is computed, cached,
or not needed at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from nox_workspace._prepare import _leaks, _may_skip_installs, compute_leaks
from nox_workspace._reuse import STATE_FILE
from nox_workspace._sync import Sync
from nox_workspace._venv import Venv
from tests.unit.reuse_fixtures import target, venv, workspace


def test_an_exact_sync_without_tool_groups_reads_no_lock(tmp_path: Path) -> None:
    workspace(tmp_path)
    (tmp_path / "uv.lock").write_text("not a lock at all")
    location = Venv(venv(tmp_path, {"bar": "0.1.0", "beta": "1.0", "junk": "1.0"}))
    assert _leaks(target(tmp_path, "bar", Sync()), location, print) == ((), False)
    assert not (location.location / STATE_FILE).exists()


def test_the_report_is_cached_until_an_input_changes(tmp_path: Path) -> None:
    workspace(tmp_path)
    location = Venv(venv(tmp_path, {"bar": "0.1.0", "beta": "1.0", "junk": "1.0"}))
    found = target(tmp_path, "bar", Sync(exact=False))
    first, cached = _leaks(found, location, print)
    assert not cached
    assert len(first) == 1
    assert first[0].startswith("junk 1.0 is installed")
    assert _leaks(found, location, print) == (first, True)
    fresh = compute_leaks(
        found, location.distributions(), location.marker_environment(), allow_seeds=False
    )
    assert fresh == first

    site = location.location / "lib" / "python3.11" / "site-packages"
    (site / "more-2.0.dist-info").mkdir()
    second, cached = _leaks(found, location, print)
    assert not cached
    assert len(second) == 2


def test_an_unwritable_state_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    workspace(tmp_path)
    location = Venv(venv(tmp_path, {"bar": "0.1.0", "beta": "1.0", "junk": "1.0"}))
    (location.location / STATE_FILE).mkdir()  # a folder where the file goes
    said: list[str] = []
    lines, cached = _leaks(target(tmp_path, "bar", Sync(exact=False)), location, said.append)
    assert len(lines) == 1
    assert not cached
    assert len(said) == 1
    assert said[0].startswith("nox-workspace: warning:")
    assert "\n" not in said[0]


@pytest.mark.parametrize(
    ("argv", "may"),
    [
        (["nox", "-s", "test-foo"], False),
        (["nox", "-r", "-s", "test-foo"], False),
        (["nox", "-R", "-s", "test-foo"], True),
        (["nox", "-rR"], True),
        (["nox", "--no-install", "-s", "test-foo"], True),
        (["nox", "--no-inst"], True),
        (["nox", "-s", "test-foo", "--", "-R", "--no-install"], False),
    ],
)
def test_only_a_command_line_that_may_skip_installs_asks_nox(argv: list[str], may: bool) -> None:
    assert _may_skip_installs(argv) is may
