"""Leak lines tell the truth: what the lock has, at which version, for whom, in one line."""

from __future__ import annotations

from pathlib import Path

from nox_workspace._leaks import Leak, find_leaks, name_some
from nox_workspace._lock import read_lock
from nox_workspace._sync import Sync
from tests.support import LINUX_311 as LINUX
from tests.unit.reuse_fixtures import target, workspace


def leaks_of(root: Path, installed: dict[str, str], *, seeds: bool = False) -> list[str]:
    workspace(root)
    found = target(root, "bar")
    lock = read_lock(root / "uv.lock")
    leaks = find_leaks(installed, lock, found, LINUX, allow_seeds=seeds)
    return [leak.describe(found) for leak in leaks]


def test_a_package_the_lock_lacks_is_installed_by_hand(tmp_path: Path) -> None:
    (line,) = leaks_of(tmp_path, {"bar": "0.1.0", "beta": "1.0", "junk": "1.0"})
    assert line.startswith("junk 1.0 is installed but is not in the locked closure of member")
    assert line.endswith("uv.lock does not have it at all (installed by hand?)")


def test_a_package_of_another_member_names_that_member(tmp_path: Path) -> None:
    (line,) = leaks_of(tmp_path, {"bar": "0.1.0", "beta": "1.0", "alpha": "1.0"})
    assert line.endswith("uv.lock has it for foo")
    assert "does not have it" not in line


def test_another_version_than_the_lock_has_is_said(tmp_path: Path) -> None:
    (line,) = leaks_of(tmp_path, {"bar": "0.1.0", "beta": "1.0", "alpha": "3.0"})
    assert "installed 3.0, the lock has 1.0" in line
    assert "does not have it" not in line


def test_a_locked_package_in_no_default_closure_is_not_called_missing(tmp_path: Path) -> None:
    (gamma, zeta) = leaks_of(tmp_path, {"bar": "0.1.0", "beta": "1.0", "zeta": "1.0", "gamma": "1"})
    assert gamma.startswith("gamma 1 ")
    assert "installed 1, the lock has 2.0" in gamma
    assert zeta.endswith("uv.lock has it, for no member's default closure")


def test_a_closure_package_at_another_version_is_a_leak(tmp_path: Path) -> None:
    (line,) = leaks_of(tmp_path, {"bar": "0.1.0", "beta": "0.9"})
    assert line.startswith("beta 0.9 is installed, the lock has 1.0 for member 'bar'")


def test_seeds_are_allowed_only_when_asked(tmp_path: Path) -> None:
    installed = {"bar": "0.1.0", "beta": "1.0", "pip": "24.0"}
    assert leaks_of(tmp_path / "a", installed, seeds=True) == []
    assert len(leaks_of(tmp_path / "b", installed, seeds=False)) == 1


def test_exactly_the_closure_has_no_leak(tmp_path: Path) -> None:
    assert leaks_of(tmp_path, {"bar": "0.1.0", "beta": "1.0"}) == []


def test_long_member_lists_stay_one_readable_line(tmp_path: Path) -> None:
    names = tuple(f"member-{index:02}" for index in range(60))
    assert name_some(names) == "member-00, member-01, member-02 and 57 more"
    assert name_some(names[:4]) == "member-00, member-01, member-02, member-03"
    workspace(tmp_path)
    leak = Leak(
        name="alpha", version="1.0", in_lock=True, locked_versions=("1.0",), wanted_by=names
    )
    line = leak.describe(target(tmp_path, "bar", Sync(exact=False)))
    assert line.endswith("uv.lock has it for member-00, member-01, member-02 and 57 more")
    assert "member-03" not in line
