"""The Sync options nox-uv and tox-uv users know: uv decides, the closure follows.

For each option, the argv that a session runs (``Target.uv_sync_args()``) is handed to
``uv sync --dry-run``, and what uv would install must be the closure the plugin computes for
leaks and affected sessions (``Target.selection()``). Then real nox runs a few of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from nox_workspace import ConfigError, Sync, Target, discover
from nox_workspace._closure import target_closure
from nox_workspace._lock import read_lock
from tests.functional.nox_project import NoxProject, build_project
from tests.support import member_toml, uv_sync_dry_run_packages

pytestmark = pytest.mark.functional

SYNCS = {
    "only-groups-lint": Sync(only_groups=["lint"]),
    "only-groups-test": Sync(only_groups=["test"]),
    "all-groups": Sync(all_groups=True),
    "no-project": Sync(install_project=False),
    "no-project-no-defaults": Sync(install_project=False, default_groups=False),
    "extra-flags": Sync(uv_sync_flags=["--compile-bytecode", "--link-mode=copy"]),
}


@pytest.fixture
def project(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> Iterator[NoxProject]:
    """The workspace, with a ``dev`` group on foo so default groups matter."""
    built = build_project(tmp_path, wheelhouse, env)
    built.edit(
        "packages/foo/pyproject.toml",
        member_toml("foo", dependencies=["alpha"], groups={"test": ["zeta"], "dev": ["theta"]}),
    )
    built.relock()
    yield built
    assert built.unchanged_outside_nox(), "a session created, changed or deleted a user file"


def test_each_option_installs_the_closure_we_compute(project: NoxProject, tmp_path: Path) -> None:
    """uv's dry run of our own argv installs exactly the closure we compute, per member, for
    every new option (only_groups, all_groups, install_project, extra flags)."""
    workspace = discover(project.root)
    lock = read_lock(workspace.lock_path)
    problems = []
    checked = 0
    for label, sync in SYNCS.items():
        for member in workspace.members:
            if any(
                g not in member.dependency_groups and g not in workspace.root_groups
                for g in sync.only_groups
            ):
                continue
            target = Target(workspace=workspace, members=(member,), sync=sync)
            args = [a for a in target.uv_sync_args() if a not in ("sync", "--locked")]
            venv = tmp_path / f"venv-{label}-{member.name}"
            found = uv_sync_dry_run_packages(project.root, args, project.env, venv)
            assert not isinstance(found, str), f"{label} {member.name}: {found}"
            expected = {package.name for package in target_closure(lock, target, None)}
            checked += 1
            if {name for name, _version in found} != expected:
                problems.append((label, member.name, sorted(found), sorted(expected)))
    assert checked >= len(SYNCS) * 2
    assert not problems


def test_only_groups_and_no_project_in_a_real_session(project: NoxProject) -> None:
    """only_groups installs the group alone; install_project=False the member's dependencies
    without the member; the extra flags are in the log and reach uv."""
    project.write_noxfile('members=["foo"], sync=Sync(only_groups=["test"])')
    project.nox("-s", "test-foo")
    assert project.installed("test-foo") == {"zeta"}
    project.write_noxfile(
        'members=["baz"], sync=Sync(install_project=False, uv_sync_flags=["--compile-bytecode"])'
    )
    result = project.nox("-s", "test-baz")
    assert project.installed("test-baz") == {"foo", "alpha", "delta", "gamma"}
    assert "no project, uv sync --compile-bytecode" in result.stderr
    assert "--compile-bytecode" in result.stderr.split("no project")[-1]


@pytest.mark.parametrize(
    ("flags", "exact", "fragment"),
    [
        (["--inexact"], True, "contradicts Sync(exact=True)"),
        (["--frozen"], True, "use Sync(frozen=True)"),
        (["--locked"], False, "--locked"),
        (["--package=foo"], True, "members=..."),
        (["--all-packages"], True, "union=NAME"),
        (["--upgrade"], True, "writes uv.lock"),
        (["-U"], True, "writes uv.lock"),
        (["--group", "test"], True, "Sync(groups=...)"),
    ],
)
def test_contradicting_extra_flags_are_refused(
    flags: list[str], exact: bool, fragment: str
) -> None:
    """A flag that contradicts the Sync, bypasses the lock check or writes uv.lock is refused
    when the Sync is made, that is, when the noxfile loads."""
    with pytest.raises(ConfigError) as raised:
        Sync(exact=exact, uv_sync_flags=flags)
    assert fragment in str(raised.value)


def test_a_refused_flag_fails_the_noxfile_load_in_one_line(project: NoxProject) -> None:
    """At load: one line naming the flag and what to write instead, and no venv made."""
    project.write_noxfile('sync=Sync(uv_sync_flags=["--upgrade"])')
    result = project.nox("-l", check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "'--upgrade', which a session must not pass" in result.stderr
    assert not (project.root / ".nox").exists()
    listed = project.nox("-l", "--json", check=False)
    with pytest.raises(json.JSONDecodeError):
        json.loads(listed.stdout)
