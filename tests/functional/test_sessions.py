"""Generated sessions, run by the real nox with the real uv, offline.

Each test builds the workspace of ``nox_project.build_project`` (foo needs alpha, bar needs
beta, baz needs foo and delta) and asserts on what each session's venv really holds.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.nox_project import NoxProject, build_project
from tests.support import member_toml, nox_has, run_uv

pytestmark = pytest.mark.functional

SYNCED = "nox-workspace: syncing"
SKIPPED = "nox-workspace: uv.lock, pyproject.toml files and venv unchanged; no sync"


@pytest.fixture
def project(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> Iterator[NoxProject]:
    """The workspace; afterwards, nothing outside ``.nox/`` may differ from what the test
    changed on purpose (the user's files are never touched)."""
    built = build_project(tmp_path, wheelhouse, env)
    yield built
    assert built.unchanged_outside_nox(), "a session created, changed or deleted a user file"


def test_each_member_gets_exactly_its_locked_closure(project: NoxProject) -> None:
    """The situation of uv #13749: no member sees a sibling's dependencies; the union sees all.

    Sessions run in two orders and twice; what each venv holds never changes, and uv.lock
    stays byte-identical.
    """
    project.write_noxfile()
    lock_before = project.lock_bytes()
    seen: dict[str, set[str]] = {}
    for order in (
        ["test-foo", "test-bar", "test-baz", "all"],
        ["all", "test-baz", "test-bar", "test-foo"],
    ):
        project.nox("-s", *order)
        for session in order:
            installed = project.installed(session)
            assert seen.setdefault(session, installed) == installed
    # foo and its dependency alpha; zeta is in foo's `test` group, which Sync() leaves out.
    assert project.installed("test-foo") == {"foo", "alpha"}
    foo = project.imports("test-foo")
    assert foo["alpha"] is not None
    assert foo["beta"] is None
    bar = project.imports("test-bar")
    assert bar["beta"] is not None
    assert bar["alpha"] is None
    assert project.installed("test-baz") == {"baz", "foo", "alpha", "delta", "gamma"}
    union = project.imports("all")
    assert all(union[name] is not None for name in ("alpha", "beta", "delta", "foo", "bar", "baz"))
    assert project.lock_bytes() == lock_before


def test_session_runs_in_the_member_folder(project: NoxProject) -> None:
    """A member's session runs from the member's folder; the union from the root."""
    project.write_noxfile()
    project.nox("-s", "test-bar", "all")
    assert Path(project.report("test-bar")["cwd"]) == project.root / "packages" / "bar"
    assert Path(project.report("all")["cwd"]) == project.root


def test_listing_tags_and_python_parametrization(project: NoxProject) -> None:
    """``nox -l --json`` shows a session per member (and version) tagged with member and name."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    project.write_noxfile(f'union="all", python=["{version}"]')
    listed = json.loads(project.nox("-l", "--json").stdout)
    names = {row["session"]: row for row in listed}
    assert set(names) == {f"test-{m}-{version}" for m in ("foo", "bar", "baz")} | {f"all-{version}"}
    assert set(names[f"test-foo-{version}"]["tags"]) == {"foo", "test"}
    tagged = json.loads(project.nox("-l", "--json", "-t", "bar").stdout)
    assert [row["session"] for row in tagged] == [f"test-bar-{version}"]


def test_groups_from_the_member_or_the_root(project: NoxProject) -> None:
    """``groups`` adds a member's group; a group the member lacks comes from the root."""
    project.write_noxfile('sync=Sync(groups=["lint"]), members=["foo"]')
    project.nox("-s", "test-foo")
    assert project.installed("test-foo") == {"foo", "alpha", "eta"}


def test_default_groups_are_installed_unless_turned_off(project: NoxProject) -> None:
    """A member's ``dev`` group is a default group; ``default_groups=False`` leaves it out."""
    project.edit(
        "packages/foo/pyproject.toml",
        member_toml("foo", dependencies=["alpha"], groups={"dev": ["zeta"]}),
    )
    project.relock()
    project.write_noxfile('members=["foo"]')
    project.nox("-s", "test-foo")
    assert "zeta" in project.installed("test-foo")
    project.write_noxfile('members=["foo"], sync=Sync(default_groups=False)')
    project.nox("-s", "test-foo")
    assert "zeta" not in project.installed("test-foo")


def test_exact_removes_and_inexact_keeps_an_added_package(project: NoxProject) -> None:
    """A package added with session.install survives an inexact sync and is reported as a leak;
    an exact sync removes it."""
    zeta = str(next(project.wheelhouse.glob("zeta-*.whl")))
    project.write_noxfile('members=["bar"], sync=Sync(exact=False)')
    project.nox("-s", "test-bar", extra_env={"INSTALL_EXTRA": zeta})
    assert "zeta" in project.installed("test-bar")

    inexact = project.nox("-s", "test-bar")
    assert "zeta" in project.installed("test-bar")
    assert (
        "zeta 1.0 is installed but is not in the locked closure of member 'bar'" in inexact.stderr
    )
    # foo's test group locks zeta, so the lock has it: just not in any default closure.
    assert "uv.lock has it, for no member's default closure" in inexact.stderr
    assert "does not have it at all" not in inexact.stderr

    project.write_noxfile('members=["bar"]')
    exact = project.nox("-s", "test-bar")
    assert "zeta" not in project.installed("test-bar")
    assert "leaked" not in exact.stderr


def test_leak_names_the_member_that_locks_it(project: NoxProject) -> None:
    """A leaked package that the lock gives another member says which member that is."""
    alpha = str(next(project.wheelhouse.glob("alpha-*.whl")))
    project.write_noxfile('members=["bar"], sync=Sync(exact=False)')
    project.nox("-s", "test-bar", extra_env={"INSTALL_EXTRA": alpha})
    result = project.nox("-s", "test-bar")
    assert "alpha 1.0 is installed" in result.stderr
    assert "uv.lock has it for baz, foo" in result.stderr


def test_strict_turns_a_leak_into_a_failure(project: NoxProject) -> None:
    """With strict=True a leaked package fails the session."""
    zeta = str(next(project.wheelhouse.glob("zeta-*.whl")))
    project.write_noxfile('members=["bar"], sync=Sync(exact=False), strict=True')
    project.nox("-s", "test-bar", extra_env={"INSTALL_EXTRA": zeta})
    result = project.nox("-s", "test-bar", check=False)
    assert result.returncode != 0
    assert "zeta 1.0 is installed" in result.stderr


def test_stale_lock_fails_when_locked_and_installs_when_frozen(project: NoxProject) -> None:
    """A pyproject change not in uv.lock fails a locked sync (saying to run uv lock) and
    installs the lock as it is when frozen; uv.lock is never rewritten."""
    project.write_noxfile('members=["bar"]')
    project.edit("packages/bar/pyproject.toml", member_toml("bar", dependencies=["beta", "theta"]))
    before = project.lock_bytes()
    locked = project.nox("-s", "test-bar", check=False)
    assert locked.returncode != 0
    assert "needs to be updated" in locked.stdout  # uv's own words
    assert "run `uv lock`" in locked.stderr
    project.write_noxfile('members=["bar"], sync=Sync(frozen=True)')
    project.nox("-s", "test-bar")
    assert project.installed("test-bar") == {"bar", "beta"}
    assert project.lock_bytes() == before


def test_a_reused_venv_is_synced_every_run(project: NoxProject) -> None:
    """Every run of a reused venv asks uv to sync it (a no-op when nothing changed): a
    hand-installed package is removed, a changed uv.lock is installed."""
    project.write_noxfile('members=["foo", "bar"]')
    first = project.nox("-s", "test-foo")
    assert SYNCED in first.stderr
    second = project.nox("-s", "test-foo")
    assert re.search("Re-?using existing virtual environment", second.stderr)
    assert SYNCED in second.stderr
    assert SKIPPED not in second.stderr

    venv_python = project.venv("test-foo") / "bin" / "python"
    zeta = str(next(project.wheelhouse.glob("zeta-*.whl")))
    run_uv(["pip", "install", "--python", str(venv_python), zeta], project.root, project.env)
    project.nox("-s", "test-foo")
    assert "zeta" not in project.installed("test-foo")

    project.edit(
        "packages/foo/pyproject.toml",
        member_toml("foo", dependencies=["alpha", "theta"], groups={"test": ["zeta"]}),
    )
    project.relock()
    assert SYNCED in project.nox("-s", "test-foo").stderr
    assert "theta" in project.installed("test-foo")


def test_reuse_venv_never_recreates_the_venv(project: NoxProject) -> None:
    """Nox's --reuse-venv=never still gives a fresh venv, which is then synced."""
    project.write_noxfile('members=["foo"]')
    project.nox("-s", "test-foo")
    again = project.nox("-s", "test-foo", "--reuse-venv=never")
    assert SYNCED in again.stderr


@pytest.mark.skipif(not nox_has("allow_parallel"), reason="this Nox has no -j")
def test_parallel_member_sessions(project: NoxProject) -> None:
    """``nox -j 2`` runs the member sessions side by side, each with its own closure."""
    project.write_noxfile()
    project.nox("-j", "2", "-s", "test-foo", "test-bar", "test-baz")
    assert project.installed("test-foo") == {"foo", "alpha"}
    assert project.installed("test-bar") == {"bar", "beta"}


def test_virtualenv_backend(project: NoxProject) -> None:
    """With Nox's virtualenv backend the venv still holds exactly the closure (plus seeds)."""
    project.write_noxfile('members=["bar"], venv_backend="virtualenv"')
    result = project.nox("-s", "test-bar")
    installed = project.installed("test-bar") - {"pip", "setuptools", "wheel"}
    assert installed == {"bar", "beta"}
    assert "leaked" not in result.stderr


def test_no_editable_installs_a_built_wheel(project: NoxProject) -> None:
    """``editable=False`` installs the member from a built wheel, not the source tree."""
    project.write_noxfile('members=["foo"], sync=Sync(editable=False)')
    project.nox("-s", "test-foo")
    location = project.imports("test-foo")["foo"]
    assert location is not None
    assert str(project.venv("test-foo")) in location
    assert str(project.root / "packages") not in location


def test_tool_groups_overlay_a_members_exact_closure(project: NoxProject) -> None:
    """The root's lint group is installed on top of bar's closure, and is not a leak."""
    project.write_noxfile('members=["bar"], sync=Sync(tool_groups=["lint"]), strict=True')
    project.nox("-s", "test-bar")
    assert project.installed("test-bar") == {"bar", "beta", "eta"}


def test_member_settings_skip_and_change_groups(project: NoxProject) -> None:
    """[tool.nox-workspace] skips a member's session or changes its groups."""
    project.edit(
        "packages/bar/pyproject.toml",
        member_toml(
            "bar", dependencies=["beta"], extra_toml="[tool.nox-workspace]\nskip = ['test']\n"
        ),
    )
    project.edit(
        "packages/foo/pyproject.toml",
        member_toml(
            "foo",
            dependencies=["alpha"],
            groups={"test": ["zeta"]},
            extra_toml="[tool.nox-workspace.sessions.test]\ngroups = ['test']\n",
        ),
    )
    project.relock()
    project.write_noxfile()
    listed = {row["session"] for row in json.loads(project.nox("-l", "--json").stdout)}
    assert listed == {"test-foo", "test-baz", "all"}
    project.nox("-s", "test-foo")
    assert "zeta" in project.installed("test-foo")


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ('python=["3.8"]', "member 'bar' requires-python '>=3.10'"),
        ('sync=Sync(groups=["nope"])', "asks for group 'nope'"),
        ('sync=Sync(extras=["nope"])', "asks for extra 'nope'"),
        ('members=["qux"]', "no workspace member named 'qux'"),
    ],
)
def test_configuration_errors_fail_at_load_in_one_line(
    project: NoxProject, options: str, fragment: str
) -> None:
    """Bad configuration fails ``nox -l`` (the noxfile load), one line, no traceback."""
    project.write_noxfile(options)
    result = project.nox("-l", check=False)
    assert result.returncode != 0
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project.root / ".nox").exists()


def test_listing_reads_no_lock_and_starts_no_process(project: NoxProject) -> None:
    """``nox -l`` works with an unreadable uv.lock and no uv on PATH: it needs neither."""
    project.write_noxfile()
    project.edit("uv.lock", "this is not TOML [")
    env = {**project.env, "NOX_WORKSPACE_UV": "/nonexistent/uv"}
    result = subprocess.run(
        [sys.executable, "-m", "nox", "-l"],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "test-foo" in result.stdout


def test_no_install_flag_skips_the_sync_of_a_reused_venv(project: NoxProject) -> None:
    """``nox -R`` (reuse, no install) runs the body without syncing a changed workspace."""
    project.write_noxfile('members=["foo"]')
    project.nox("-s", "test-foo")
    project.edit(
        "packages/foo/pyproject.toml",
        member_toml("foo", dependencies=["alpha", "theta"], groups={"test": ["zeta"]}),
    )
    project.relock()
    result = project.nox("-R", "-s", "test-foo")
    assert "sync skipped (--no-install)" in result.stderr
    assert "theta" not in project.installed("test-foo")


def test_keyword_and_python_selection(project: NoxProject) -> None:
    """``-k`` and ``-p`` select generated sessions as they select any Nox session."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    project.write_noxfile(f'union="all", python=["{version}"]')
    by_keyword = json.loads(project.nox("-l", "--json", "-k", "bar or baz").stdout)
    assert {row["session"] for row in by_keyword} == {f"test-bar-{version}", f"test-baz-{version}"}
    by_python = json.loads(project.nox("-l", "--json", "-p", version).stdout)
    assert len(by_python) == 4


@pytest.mark.parametrize(
    ("script", "fragment"),
    [
        ("#!/bin/sh\necho 'uv 0.5.0'\n", "uv 0.5.0 at"),
        (None, "cannot run"),
    ],
    ids=["too-old", "missing"],
)
def test_uv_missing_or_too_old_is_one_clear_line(
    project: NoxProject, tmp_path: Path, script: str | None, fragment: str
) -> None:
    """A uv that is too old, or missing, fails the session with what to install."""
    fake = tmp_path / "fake-uv"
    if script is not None:
        fake.write_text(script)
        fake.chmod(0o755)
    project.write_noxfile('members=["foo"]')
    result = project.nox("-s", "test-foo", check=False, extra_env={"NOX_WORKSPACE_UV": str(fake)})
    assert result.returncode != 0
    assert fragment in result.stderr
    assert "pip install" in result.stderr
    assert "Traceback" not in result.stderr


def test_tool_groups_come_from_the_root_even_when_a_member_has_that_group(
    project: NoxProject,
) -> None:
    """A member's own group of the same name does not replace the root's tool group."""
    project.edit(
        "packages/bar/pyproject.toml",
        member_toml("bar", dependencies=["beta"], groups={"lint": ["theta"]}),
    )
    project.relock()
    project.write_noxfile('members=["foo"], sync=Sync(tool_groups=["lint"]), strict=True')
    project.nox("-s", "test-foo")
    assert project.installed("test-foo") == {"foo", "alpha", "eta"}


def test_two_sessions_with_one_name_fail_at_load(project: NoxProject) -> None:
    """Two decorators that would register the same session name are a load-time error."""
    project.write_noxfile(
        body="""
        import nox
        import nox_workspace

        @nox_workspace.session(union="all")
        def test(session, target):
            pass

        @nox_workspace.session(union="all", members=[])
        def other(session, target):
            pass
        """
    )
    result = project.nox("-l", check=False)
    assert result.returncode != 0
    assert "two sessions are both named 'all'" in result.stderr


def test_no_venv_is_one_clear_line(project: NoxProject) -> None:
    """``--no-venv`` leaves nothing to sync into: one line, no traceback."""
    project.write_noxfile('members=["foo"]')
    result = project.nox("-s", "test-foo", "--no-venv", check=False)
    assert result.returncode != 0
    assert "has no virtualenv to sync into" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_editable_builds_the_current_sources_every_time(project: NoxProject) -> None:
    """A source edit reaches a built-wheel session's venv on the next run (no stale wheel)."""
    project.write_noxfile('members=["baz"], sync=Sync(editable=False)')
    project.nox("-s", "test-baz")
    project.edit("packages/foo/src/foo/__init__.py", "NAME = 'edited'\n")
    project.nox("-s", "test-baz")
    installed = project.venv("test-baz").glob("lib/python*/site-packages/foo/__init__.py")
    assert next(installed).read_text() == "NAME = 'edited'\n"
