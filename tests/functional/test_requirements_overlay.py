"""``Sync(requirements=...)``: test tools the lock lacks, installed after the exact sync.

Real workspaces install test tools from per-member requirements files; the overlay installs
them on top of the member's exact locked closure, says so in the log, keeps them out of the
leak report and never writes them into ``uv.lock``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.nox_project import NoxProject, build_project

pytestmark = pytest.mark.functional


@pytest.fixture
def project(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> Iterator[NoxProject]:
    """The workspace; afterwards uv.lock and every user file are as they were."""
    built = build_project(tmp_path, wheelhouse, env)
    lock = built.lock_bytes()
    yield built
    assert built.lock_bytes() == lock, "the overlay must never be written into uv.lock"
    assert built.unchanged_outside_nox(), "a session created, changed or deleted a user file"


def test_requirements_are_installed_after_the_exact_sync_and_are_not_leaks(
    project: NoxProject,
) -> None:
    """kappa is in no lock entry: the session holds foo's closure plus kappa, strict passes."""
    project.write_noxfile('members=["foo"], sync=Sync(requirements=["kappa"]), strict=True')
    run = project.nox("-s", "test-foo")
    assert project.installed("test-foo") == {"foo", "alpha", "kappa"}
    assert "overlay (not from uv.lock): kappa 1.0" in run.stderr
    assert "leaked" not in run.stderr


def test_a_requirements_file_is_relative_to_the_member_and_brings_dependencies(
    project: NoxProject,
) -> None:
    """``-r requirements-test.txt`` in the member's folder; kappa[fast] also brings theta."""
    project.edit("packages/foo/requirements-test.txt", "kappa[fast]\n")
    options = 'members=["foo"], sync=Sync(requirements=["-r requirements-test.txt"]), strict=True'
    project.write_noxfile(options)
    run = project.nox("-s", "test-foo")
    assert project.installed("test-foo") == {"foo", "alpha", "kappa", "theta"}
    assert "overlay (not from uv.lock): kappa 1.0, theta 1.0" in run.stderr


def test_a_rerun_still_holds_the_overlay_and_a_hand_install_is_still_a_leak(
    project: NoxProject,
) -> None:
    """The exact sync removes the overlay and it comes back; anything else installed by hand
    (eta, through ``session.install`` in the session body) is reported."""
    project.write_noxfile('members=["foo"], sync=Sync(exact=False, requirements=["kappa"])')
    project.nox("-s", "test-foo")
    rerun = project.nox("-s", "test-foo", extra_env={"INSTALL_EXTRA": "eta"})
    assert {"kappa", "eta"} <= project.installed("test-foo")
    third = project.nox("-s", "test-foo")
    assert "eta 1.0 is installed" in third.stderr
    assert "kappa 1.0 is installed" not in third.stderr
    assert "kappa" in project.installed("test-foo")
    assert rerun.returncode == 0


def test_a_missing_requirements_file_fails_at_load(project: NoxProject) -> None:
    project.write_noxfile('members=["foo"], sync=Sync(requirements=["-r missing.txt"])')
    listing = project.nox("-l", check=False)
    assert listing.returncode != 0
    assert "missing.txt" in listing.stderr
    assert "Traceback" not in listing.stderr
