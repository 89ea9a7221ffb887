"""The ``uv sync`` / ``uv export`` argv a session passes to uv: exact lists, no uv run here.

The argv builder is the one place that maps a :class:`Sync` to uv's flags; these lists are
what uv gets for a member's session, the union, built wheels and root tool groups.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nox_workspace import ConfigError, Sync, Target, Workspace, discover
from tests.support import member_toml, write_tree


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A virtual root with a ``lint`` group; ``app`` depends on ``lib``; ``tool`` stands alone."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": (
                '[tool.uv.workspace]\nmembers = ["p/*"]\n[dependency-groups]\nlint = ["ruff"]\n'
            ),
            "p/app/pyproject.toml": member_toml(
                "app", dependencies=["lib"], workspace_sources=["lib"], groups={"test": ["x"]}
            ),
            "p/lib/pyproject.toml": member_toml("lib", extras={"fast": ["alpha"]}),
            "p/tool/pyproject.toml": member_toml("tool"),
        },
    )
    return discover(tmp_path)


def member(workspace: Workspace, name: str, sync: Sync) -> Target:
    return Target(workspace=workspace, members=(workspace.member(name),), sync=sync)


def union(workspace: Workspace, sync: Sync) -> Target:
    return Target(workspace=workspace, members=workspace.members, sync=sync, all_packages=True)


def test_a_members_default_sync(workspace: Workspace) -> None:
    root = str(workspace.root)
    assert member(workspace, "app", Sync()).uv_sync_args() == [
        "sync", "--project", root, "--package", "app", "--exact", "--locked",
    ]  # fmt: skip


def test_every_option_of_a_members_sync(workspace: Workspace) -> None:
    sync = Sync(exact=False, frozen=True, groups=["test"], default_groups=False, extras=["fast"])
    assert member(workspace, "lib", sync).uv_sync_args() == [
        "sync", "--project", str(workspace.root), "--package", "lib", "--inexact", "--frozen",
        "--group", "test", "--no-default-groups", "--extra", "fast",
    ]  # fmt: skip


def test_the_union(workspace: Workspace) -> None:
    assert union(workspace, Sync(all_extras=True)).uv_sync_args() == [
        "sync", "--project", str(workspace.root), "--all-packages", "--exact", "--locked",
        "--all-extras",
    ]  # fmt: skip


def test_built_wheels_reinstall_the_member_and_what_it_depends_on(workspace: Workspace) -> None:
    """``editable=False`` rebuilds the member and its workspace dependencies, nothing else."""
    root = str(workspace.root)
    assert member(workspace, "app", Sync(editable=False)).uv_sync_args() == [
        "sync", "--project", root, "--package", "app", "--exact", "--locked", "--no-editable",
        "--reinstall-package", "app", "--reinstall-package", "lib",
    ]  # fmt: skip
    assert union(workspace, Sync(editable=False)).uv_sync_args()[-7:] == [
        "--no-editable",
        "--reinstall-package", "app", "--reinstall-package", "lib",
        "--reinstall-package", "tool",
    ]  # fmt: skip


def test_tool_groups_are_exported_through_an_anchor_member(workspace: Workspace) -> None:
    """The root's ``lint`` group alone, through the first member without a ``lint`` group."""
    target = member(workspace, "lib", Sync(tool_groups=["lint"]))
    assert target.uv_sync_args()[-2:] == ["--exact", "--locked"]
    assert target.tool_group_export_args() == [
        [
            "export", "--project", str(workspace.root), "--frozen", "--no-hashes",
            "--no-header", "--no-annotate", "--no-emit-workspace",
            "--package", "app", "--only-group", "lint",
        ]
    ]  # fmt: skip


def test_a_tool_group_the_root_lacks_is_refused(workspace: Workspace) -> None:
    with pytest.raises(ConfigError, match="overlays tool group 'docs'"):
        member(workspace, "lib", Sync(tool_groups=["docs"])).validate("test")


def test_default_groups_are_the_members_or_the_roots(tmp_path: Path) -> None:
    """A member's session turns on the member's default groups, the union the root's."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": (
                '[tool.uv.workspace]\nmembers = ["a", "b"]\n[tool.uv]\ndefault-groups = ["lint"]\n'
                '[dependency-groups]\nlint = ["ruff"]\n'
            ),
            "a/pyproject.toml": member_toml(
                "a", groups={"test": ["x"]}, extra_toml='[tool.uv]\ndefault-groups = ["test"]\n'
            ),
            "b/pyproject.toml": member_toml("b"),
        },
    )
    workspace = discover(tmp_path)
    assert member(workspace, "a", Sync()).default_groups == ("test",)
    assert member(workspace, "b", Sync()).default_groups == ("dev",)
    assert union(workspace, Sync()).default_groups == ("lint",)
    assert member(workspace, "a", Sync(default_groups=False)).default_groups == ()


def test_the_options_nox_uv_and_tox_uv_users_know(workspace: Workspace) -> None:
    """only_groups, all_groups, install_project and extra flags, in that order, flags last."""
    root = str(workspace.root)
    only = Sync(only_groups=["lint"], uv_sync_flags=["--compile-bytecode"])
    assert member(workspace, "app", only).uv_sync_args() == [
        "sync", "--project", root, "--package", "app", "--exact", "--locked",
        "--only-group", "lint", "--compile-bytecode",
    ]  # fmt: skip
    rest = Sync(all_groups=True, install_project=False, default_groups=False)
    assert member(workspace, "app", rest).uv_sync_args() == [
        "sync", "--project", root, "--package", "app", "--exact", "--locked",
        "--all-groups", "--no-default-groups", "--no-install-project",
    ]  # fmt: skip
    assert member(workspace, "app", only).default_groups == ()
    assert only.describe() == "exact, locked, only groups: lint, uv sync --compile-bytecode"


def test_options_that_exclude_each_other_are_refused() -> None:
    """only_groups installs the groups alone; all_groups with groups says one thing twice."""
    with pytest.raises(ConfigError, match="installs those groups alone"):
        Sync(only_groups=["lint"], groups=["test"])
    with pytest.raises(ConfigError, match="exclude each other"):
        Sync(all_groups=True, groups=["test"])
    with pytest.raises(ConfigError, match="not the string"):
        Sync(uv_sync_flags="--compile-bytecode")


def test_requirements_are_checked_when_the_sync_is_made(workspace: Workspace) -> None:
    """A requirement that is not PEP 508, or a -r file the member lacks, fails at load."""
    assert Sync(requirements=["pytest-xdist>=3", "-r req.txt"]).requirements == (
        "pytest-xdist>=3",
        "-r req.txt",
    )
    with pytest.raises(ConfigError, match="is not a requirement"):
        Sync(requirements=["pytest >>> 3"])
    with pytest.raises(ConfigError, match="has no such file"):
        member(workspace, "app", Sync(requirements=["-r req.txt"])).validate("test")


def test_the_union_cannot_leave_out_the_project(workspace: Workspace) -> None:
    with pytest.raises(ConfigError, match="installs them all"):
        union(workspace, Sync(install_project=False)).validate("all")


def test_a_member_setting_that_contradicts_the_sync_names_the_member(tmp_path: Path) -> None:
    """The member's ``groups`` with the decorator's ``only_groups``: one line naming the file."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["p/*"]\n',
            "p/app/pyproject.toml": member_toml(
                "app",
                groups={"test": ["x"]},
                extra_toml='[tool.nox-workspace]\ngroups = ["test"]\n',
            ),
        },
    )
    app = discover(tmp_path).member("app")
    with pytest.raises(ConfigError, match="of member 'app' for session 'lint'") as raised:
        Sync(only_groups=["test"]).for_member(app, "lint")
    assert str(app.pyproject) in str(raised.value)
