"""Which members a change affects: the pure rules, on workspaces and lock mappings as data.

No git and no subprocess here: the changed paths and both locks are handed to
``plan_affected`` directly (the git edge is proven in tests/functional/test_affected_git.py).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nox_workspace._affected import Affected, LockSnapshot, RootChange, plan_affected
from nox_workspace._closure import target_closure
from nox_workspace._errors import ConfigError
from nox_workspace._git import _relative
from nox_workspace._lockdiff import LockDiff, lock_reasons
from nox_workspace._scope import Scope, member_scopes, root_tables
from nox_workspace._sync import Sync, Target
from nox_workspace._workspace import Workspace, discover
from tests.support import affected_members, member_toml, write_tree

REGISTRY = {"registry": "https://pypi.org/simple"}


def registry(name: str, version: str, deps: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    table: dict[str, Any] = {"name": name, "version": version, "source": dict(REGISTRY)}
    if deps:
        table["dependencies"] = [dict(dep) for dep in deps]
    return table


def editable(
    name: str,
    folder: str,
    deps: Sequence[str] = (),
    groups: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    table: dict[str, Any] = {"name": name, "version": "0.1.0", "source": {"editable": folder}}
    if deps:
        table["dependencies"] = [{"name": dep} for dep in deps]
    if groups:
        table["dev-dependencies"] = {g: [{"name": d} for d in ds] for g, ds in groups.items()}
    return table


def lock_mapping(
    gamma: str = "1.0",
    *,
    leaf_folder: str = "packages/leaf",
    extra: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The lock of the ``workspace`` fixture: bar alone uses gamma."""
    packages = [
        registry("alpha", "1.0"),
        registry("beta", "1.0"),
        registry("gamma", gamma),
        editable("app", "packages/app", ["core"]),
        editable("bar", "packages/bar", ["gamma"]),
        editable("core", "packages/core", ["beta"]),
        editable("leaf", leaf_folder, ["alpha"]),
        editable("tool", "packages/tool", groups={"test": ["core"]}),
        *extra,
    ]
    return {
        "version": 1,
        "revision": 3,
        "requires-python": ">=3.10",
        "manifest": {"members": ["app", "bar", "core", "leaf", "tool"]},
        "package": packages,
    }


def snapshot(data: Mapping[str, Any]) -> LockSnapshot:
    return LockSnapshot.from_mapping(data, Path("/ws/uv.lock"))


LOCK = snapshot(lock_mapping())


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """app needs core (dependency); tool needs core (group ``test``); leaf and bar stand alone."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": (
                '[tool.uv.workspace]\nmembers = ["packages/*"]\n'
                '[tool.nox-workspace]\nglobal = ["ci/**", "constraints.txt"]\n'
            ),
            **affected_members(),
        },
    )
    return discover(tmp_path)


def plan(workspace: Workspace, *paths: str, **kwargs: Any) -> Affected:
    return plan_affected(
        workspace, paths, since="base", global_globs=workspace.settings.global_globs, **kwargs
    )


# --------------------------------------------------------------------------------------------
# Files


def test_a_file_in_a_leaf_member_affects_that_member_alone(workspace: Workspace) -> None:
    result = plan(workspace, "packages/leaf/src/leaf/__init__.py")
    assert result.affected == ("leaf",)
    assert result.reasons["leaf"] == ("changed: packages/leaf/src/leaf/__init__.py",)


def test_a_shared_member_affects_the_members_whose_closure_installs_it(
    workspace: Workspace,
) -> None:
    """app installs core (a dependency); tool installs core only through its ``test`` group,
    which ``uv sync --package tool`` leaves out: tool is not affected."""
    result = plan(workspace, "packages/core/src/core/__init__.py", new_lock=LOCK)
    assert result.affected == ("app", "core")
    assert result.reasons["app"] == (
        "changed in member core, which it installs: packages/core/src/core/__init__.py",
    )


def test_a_session_that_syncs_a_group_is_affected_by_the_members_the_group_installs(
    workspace: Workspace,
) -> None:
    tool = workspace.member("tool")
    scopes = [
        Scope(name=name, target=Target(workspace=workspace, members=(tool,), sync=sync))
        for name, sync in (("plain", Sync()), ("tests", Sync(groups=["test"])))
    ]
    result = plan(workspace, "packages/core/src/core/__init__.py", new_lock=LOCK, scopes=scopes)
    assert result.affected == ("tests",)


def test_without_a_lock_the_member_graph_stands_in_for_the_closure(workspace: Workspace) -> None:
    result = plan(workspace, "packages/core/src/core/__init__.py")
    assert result.affected == ("app", "core", "tool")


def test_unaffected_members_say_why_not(workspace: Workspace) -> None:
    result = plan(workspace, "packages/core/pyproject.toml", new_lock=LOCK)
    assert result.reasons["leaf"] == (
        "uv.lock unchanged",
        "no changed file in the members it installs (leaf)",
        "no global file changed",
    )
    assert "leaf" in result.to_json()["unaffected"]


def test_the_root_pyproject_affects_every_member(workspace: Workspace) -> None:
    result = plan(workspace, "pyproject.toml")
    assert result.affected == workspace.names
    assert result.reasons["leaf"][0] == "global file changed: pyproject.toml"


@pytest.mark.parametrize("path", ["ci/run.sh", "ci/deep/x.yml", "constraints.txt"])
def test_declared_global_files_affect_every_member(workspace: Workspace, path: str) -> None:
    assert plan(workspace, path).affected == workspace.names


def test_a_readme_at_a_virtual_root_affects_no_member(workspace: Workspace) -> None:
    result = plan(workspace, "README.md", "docs/index.md")
    assert result.affected == ()
    assert result.outside == ("README.md", "docs/index.md")


def test_a_path_that_only_starts_like_a_member_folder_is_not_in_it(workspace: Workspace) -> None:
    assert plan(workspace, "packages/leafy/x.py").affected == ()


def test_a_root_member_owns_what_no_other_member_owns(tmp_path: Path) -> None:
    """With nested folders the longest wins; the root member gets its files at the root and
    its package folders, not other root folders such as ``tests/`` or ``docs/``."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": member_toml(
                "app", extra_toml='[tool.uv.workspace]\nmembers = ["libs/*"]\n'
            ),
            "libs/lib/pyproject.toml": member_toml("lib"),
        },
    )
    workspace = discover(tmp_path)
    assert plan(workspace, "libs/lib/x.py").affected == ("lib",)
    assert plan(workspace, "src/app/x.py").affected == ("app",)
    assert plan(workspace, "app/x.py").affected == ("app",)
    assert plan(workspace, "README.md").affected == ("app",)
    assert plan(workspace, "docs/x.md").affected == ()
    assert "changed: uv.lock" not in plan(workspace, "uv.lock").reasons["app"]
    assert plan(workspace, "../elsewhere/x.py").outside == ("../elsewhere/x.py",)


def test_global_must_be_a_list_of_strings(tmp_path: Path) -> None:
    root = '[tool.uv.workspace]\nmembers = []\n[tool.nox-workspace]\nglobal = "noxfile.py"\n'
    write_tree(tmp_path, {"pyproject.toml": root})
    with pytest.raises(ConfigError, match="global must be a list"):
        discover(tmp_path)


# --------------------------------------------------------------------------------------------
# The lock


def test_a_lock_bump_affects_only_the_members_whose_closure_holds_the_package(
    workspace: Workspace,
) -> None:
    result = plan(
        workspace,
        "uv.lock",
        old_lock=snapshot(lock_mapping("1.0")),
        new_lock=snapshot(lock_mapping("2.0")),
    )
    assert result.affected == ("bar",)
    assert result.reasons["bar"] == ("uv.lock: gamma 1.0 -> 2.0",)
    assert "uv.lock changed, but not its locked closure" in result.reasons["leaf"]


def test_a_lock_entry_that_changes_without_a_version_change_is_named(
    workspace: Workspace,
) -> None:
    new = lock_mapping()
    gamma = next(p for p in new["package"] if p["name"] == "gamma")
    gamma["dependencies"] = [{"name": "alpha", "marker": "sys_platform == 'win32'"}]
    result = plan(workspace, "uv.lock", old_lock=snapshot(lock_mapping()), new_lock=snapshot(new))
    assert result.affected == ("bar",)
    assert result.reasons["bar"] == (
        "uv.lock: + alpha 1.0",
        "uv.lock: gamma 1.0 has a new locked entry (dependencies, markers or files)",
    )


def test_a_lock_change_outside_every_closure_affects_no_member(workspace: Workspace) -> None:
    new = lock_mapping(extra=[registry("zeta", "1.0")])
    result = plan(workspace, "uv.lock", old_lock=snapshot(lock_mapping()), new_lock=snapshot(new))
    assert result.affected == ()


def test_a_lock_absent_at_the_base_or_removed_affects_every_member(
    workspace: Workspace,
) -> None:
    assert plan(workspace, "uv.lock", new_lock=snapshot(lock_mapping())).affected == (
        workspace.names
    )
    assert plan(workspace, "uv.lock", old_lock=snapshot(lock_mapping())).affected == (
        workspace.names
    )


def test_a_member_new_to_the_lock_is_affected(workspace: Workspace) -> None:
    old = lock_mapping()
    old["package"] = [p for p in old["package"] if p["name"] != "leaf"]
    old["manifest"]["members"].remove("leaf")
    result = plan(workspace, "uv.lock", old_lock=snapshot(old), new_lock=snapshot(lock_mapping()))
    assert result.affected == ("leaf",)
    assert result.reasons["leaf"] == (
        "uv.lock: the member was not in the lock at the base revision",
    )


def test_a_file_of_a_renamed_member_folder_counts_for_the_member(workspace: Workspace) -> None:
    """The old folder comes from the old lock's editable source."""
    old = snapshot(lock_mapping(leaf_folder="old/leaf"))
    result = plan(
        workspace,
        "old/leaf/src/leaf/__init__.py",
        "uv.lock",
        old_lock=old,
        new_lock=snapshot(lock_mapping()),
    )
    assert "leaf" in result.affected
    assert (
        "changed in its folder at the base revision: old/leaf/src/leaf/__init__.py"
        in result.reasons["leaf"]
    )
    assert result.outside == ()


# The shortcut (compare closures only of members that can reach a changed entry, and skip the
# old walk when the new closure holds no changed entry) must agree with comparing every
# member's closure in both locks.

NAMES = ("alpha", "beta", "gamma", "delta", "epsilon")
MARKERS = (None, "sys_platform == 'win32'", "python_full_version < '3.12'")


@st.composite
def third_party(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Registry packages where each may depend on later ones, some under a marker."""
    tables = []
    for index, name in enumerate(NAMES):
        later = NAMES[index + 1 :]
        deps = draw(st.lists(st.sampled_from(later), unique=True, max_size=2)) if later else []
        tables.append(
            registry(
                name,
                draw(st.sampled_from(["1.0", "2.0"])),
                [
                    {
                        "name": dep,
                        **({"marker": m} if (m := draw(st.sampled_from(MARKERS))) else {}),
                    }
                    for dep in deps
                ],
            )
        )
    return tables


@st.composite
def edited(draw: st.DrawFn, tables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``tables`` after a re-lock: some packages bumped, some with new files or new needs."""
    out = copy.deepcopy(tables)
    for table in out:
        change = draw(st.sampled_from(["same", "same", "bump", "files", "needs"]))
        if change == "bump":
            table["version"] = "3.0"
        elif change == "files":
            table["wheels"] = [{"url": "https://example.org/x.whl", "hash": "sha256:00"}]
        elif change == "needs" and table.get("dependencies"):
            table["dependencies"] = table["dependencies"][1:]
        elif change == "needs" and table["name"] != NAMES[-1]:
            table["dependencies"] = [{"name": NAMES[-1], "marker": "sys_platform == 'win32'"}]
    return out


@st.composite
def lock_pair(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two locks with the same members (random third-party needs): the second one either
    re-locks the first (bumps, new files, new needs) or is drawn afresh."""
    members = {"app", "bar", "core", "leaf", "tool"}
    base = lock_mapping()
    base["package"] = [p for p in base["package"] if p["name"] in members]
    for table in base["package"]:
        kept = [dep for dep in table.get("dependencies", ()) if dep["name"] in members]
        picked = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=2))
        table["dependencies"] = kept + [{"name": name} for name in picked]
    registries = draw(third_party())
    old = copy.deepcopy(base)
    old["package"] += registries
    new = copy.deepcopy(base)
    new["package"] += draw(st.one_of(edited(registries), third_party()))
    return old, new


def closures(data: Mapping[str, Any], workspace: Workspace) -> dict[str, frozenset[Any]]:
    lock = snapshot(data).lock
    return {
        member.name: frozenset(
            target_closure(lock, Target(workspace=workspace, members=(member,), sync=Sync()), None)
        )
        for member in workspace.members
    }


def entry(data: Mapping[str, Any], name: str, version: str | None) -> Any:
    return next(p for p in data["package"] if p["name"] == name and p.get("version") == version)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pair=lock_pair())
def test_the_lock_rule_agrees_with_comparing_every_closure_in_both_locks(
    workspace: Workspace, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    old, new = pair
    before, after = closures(old, workspace), closures(new, workspace)
    expected = {
        name
        for name in workspace.names
        if before[name] != after[name]
        or any(
            entry(old, p.name, p.version) != entry(new, p.name, p.version)
            for p in before[name] & after[name]
        )
    }
    result = plan(workspace, "uv.lock", old_lock=snapshot(old), new_lock=snapshot(new))
    by_lock = {
        name
        for name in result.affected
        if any(reason.startswith("uv.lock") for reason in result.reasons[name])
    }
    assert by_lock == expected
    fast = LockDiff.of(snapshot(old), snapshot(new))
    slow = LockDiff.of(snapshot(old), snapshot(new), exact=True)
    for member in workspace.members:
        target = Target(workspace=workspace, members=(member,), sync=Sync())
        assert lock_reasons(target, fast) == lock_reasons(target, slow)


# --------------------------------------------------------------------------------------------
# Globs and paths


@pytest.mark.parametrize(
    ("path", "prefix", "relative"),
    [
        ("packages/a/x.py", "", "packages/a/x.py"),
        ("python/packages/a/x.py", "python/", "packages/a/x.py"),
        (".github/workflows/ci.yml", "python/", "../.github/workflows/ci.yml"),
        ("README.md", "a/b/", "../../README.md"),
    ],
)
def test_repository_paths_are_made_relative_to_the_workspace_root(
    path: str, prefix: str, relative: str
) -> None:
    assert _relative(path, prefix) == relative


def test_explain_lists_every_member_and_the_files_that_affect_none(
    workspace: Workspace,
) -> None:
    text = plan(workspace, "packages/leaf/a.py", "README.md").explain()
    assert text.splitlines()[0] == "app: not affected"
    assert (
        "leaf: affected (rule 2: a file of what it installs changed)\n"
        "  - changed: packages/leaf/a.py"
    ) in text
    assert text.splitlines()[-1] == "changed outside every member (affect none): README.md"


def test_many_changed_files_are_summarized(workspace: Workspace) -> None:
    paths = [f"packages/leaf/f{index}.py" for index in range(8)]
    reasons = plan(workspace, *paths).reasons["leaf"]
    assert len(reasons) == 6
    assert reasons[-1] == "changed: and 3 more"


# --------------------------------------------------------------------------------------------
# Per session: what each session installs and reads (the issue's misses and over-reach)


def scopes_of(workspace: Workspace, member: str, **syncs: Sync) -> list[Scope]:
    target = workspace.member(member)
    return [
        Scope(name=name, target=Target(workspace=workspace, members=(target,), sync=sync))
        for name, sync in syncs.items()
    ]


def test_a_bump_inside_a_group_selects_the_sessions_that_sync_the_group(
    workspace: Workspace,
) -> None:
    """tool's ``test`` group installs core, which needs beta: a beta bump selects the
    session that syncs ``test`` and not the one that does not."""
    old, new = lock_mapping(), lock_mapping()
    entry(new, "beta", "1.0")["version"] = "2.0"
    scopes = scopes_of(workspace, "tool", plain=Sync(), tests=Sync(groups=["test"]))
    result = plan(
        workspace, "uv.lock", old_lock=snapshot(old), new_lock=snapshot(new), scopes=scopes
    )
    assert result.affected == ("tests",)
    assert result.reasons["tests"] == ("uv.lock: beta 1.0 -> 2.0",)
    assert result.reasons["plain"][0] == "uv.lock changed, but not its locked closure"


def test_a_locked_path_source_outside_the_members_affects_who_installs_it(
    workspace: Workspace,
) -> None:
    vendored = {"name": "vendored", "version": "1.0", "source": {"directory": "vendor/x"}}
    data = lock_mapping(extra=[vendored])
    entry(data, "leaf", "0.1.0")["dependencies"].append({"name": "vendored"})
    result = plan(workspace, "vendor/x/setup.py", new_lock=snapshot(data))
    assert result.affected == ("leaf",)
    assert result.reasons["leaf"] == ("changed in locked path source vendor/x: vendor/x/setup.py",)
    assert result.outside == ()


@pytest.mark.parametrize("path", ["uv.toml", ".python-version"])
def test_root_uv_settings_affect_every_member(workspace: Workspace, path: str) -> None:
    result = plan(workspace, path, new_lock=LOCK)
    assert result.affected == workspace.names
    assert result.reasons["leaf"] == (f"global file changed: {path}",)


@pytest.mark.parametrize(
    ("before", "now", "affects"),
    [
        ({"tool.uv": '{"a": 1}'}, {"tool.uv": '{"a": 2}'}, True),
        ({}, {"tool.pytest": '{"ini_options": {}}'}, True),
        ({"tool.uv": '{"a": 1}'}, {"tool.uv": '{"a": 1}'}, False),  # [tool.ruff], say
    ],
)
def test_the_root_pyproject_counts_by_table(
    workspace: Workspace, before: dict[str, str], now: dict[str, str], affects: bool
) -> None:
    root = RootChange(before=before, now=now)
    result = plan(workspace, "pyproject.toml", new_lock=LOCK, root=root)
    assert (result.affected == workspace.names) is affects
    assert (result.outside == ("pyproject.toml",)) is not affects
    if affects:
        table = next(iter(now))
        assert result.reasons["leaf"] == (f"global file changed: pyproject.toml [{table}]",)


def test_root_tables_are_the_ones_uv_and_the_test_runner_read() -> None:
    data = {
        "project": {"name": "r"},
        "tool": {"uv": {"x": 1}, "ruff": {"y": 2}, "pytest": {"ini_options": {}}, "hatch": {}},
    }
    assert sorted(root_tables(data)) == ["project", "tool.pytest", "tool.uv"]
    assert sorted(root_tables(data, ["tool.hatch"])) == [
        "project",
        "tool.hatch",
        "tool.pytest",
        "tool.uv",
    ]


def test_files_a_member_reads_outside_its_folder_affect_it(tmp_path: Path) -> None:
    """``tests`` and ``paths`` are relative to the member; docs/ stays outside."""
    graph = member_toml(
        "graph",
        extra_toml="""
        [tool.nox-workspace]
        tests = ["../../tests/graph"]
        paths = ["../../fixtures/*.json"]
        """,
    )
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
            "packages/graph/pyproject.toml": graph,
            "packages/other/pyproject.toml": member_toml("other"),
        },
    )
    workspace = discover(tmp_path)
    result = plan(workspace, "tests/graph/test_utils.py", "fixtures/a.json", "docs/x.md")
    assert result.affected == ("graph",)
    assert result.reasons["graph"] == (
        "changed, and the session reads it: fixtures/a.json",
        "changed, and the session reads it: tests/graph/test_utils.py",
    )
    assert result.outside == ("docs/x.md",)


def test_an_extra_the_session_does_not_install_does_not_select_it(tmp_path: Path) -> None:
    """The core declares an extra per plugin; a plugin edit selects that plugin and the
    sessions whose closures install it (core with its extra), not its sibling plugins."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["plugins/*", "core"]\n',
            "core/pyproject.toml": member_toml("core", extras={"openai": ["plugin-openai"]}),
            "plugins/aws/pyproject.toml": member_toml("plugin-aws", dependencies=["core"]),
            "plugins/openai/pyproject.toml": member_toml("plugin-openai", dependencies=["core"]),
        },
    )
    workspace = discover(tmp_path)
    core = editable("core", "core")
    core["optional-dependencies"] = {"openai": [{"name": "plugin-openai"}]}
    data = {
        "version": 1,
        "revision": 3,
        "requires-python": ">=3.10",
        "manifest": {"members": ["core", "plugin-aws", "plugin-openai"]},
        "package": [
            core,
            editable("plugin-aws", "plugins/aws", ["core"]),
            editable("plugin-openai", "plugins/openai", ["core"]),
        ],
    }
    scopes = [
        *member_scopes(workspace),
        *scopes_of(workspace, "core", core_openai=Sync(extras=["openai"])),
    ]
    result = plan(workspace, "plugins/openai/x.py", new_lock=snapshot(data), scopes=scopes)
    assert result.affected == ("plugin-openai", "core_openai")


def test_explain_and_json_name_the_rules_that_fired(workspace: Workspace) -> None:
    result = plan(workspace, "packages/core/src/core/__init__.py", "ci/x.yml", new_lock=LOCK)
    lines = result.explain().splitlines()
    assert (
        "app: affected (rule 2: a file of what it installs changed; rule 4: a global file "
        "changed)" in lines
    )
    assert result.to_json()["rules"]["leaf"] == ["rule 4: a global file changed"]


def test_a_group_the_member_lacks_is_the_root_members_and_its_bumps_count(
    tmp_path: Path,
) -> None:
    """``--group dev`` of a member without ``dev`` installs the root member's ``dev``: a bump
    there affects that session, though the member itself cannot reach the package."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": member_toml(
                "app",
                groups={"dev": ["alpha"]},
                extra_toml='[tool.uv.workspace]\nmembers = ["libs/*"]\n',
            ),
            "libs/lib/pyproject.toml": member_toml("lib"),
        },
    )
    workspace = discover(tmp_path)

    def lock(alpha: str) -> LockSnapshot:
        return snapshot(
            {
                "version": 1,
                "revision": 3,
                "requires-python": ">=3.10",
                "manifest": {"members": ["app", "lib"]},
                "package": [
                    registry("alpha", alpha),
                    editable("app", ".", groups={"dev": ["alpha"]}),
                    editable("lib", "libs/lib"),
                ],
            }
        )

    scopes = scopes_of(workspace, "lib", plain=Sync(), dev=Sync(groups=["dev"]))
    result = plan(workspace, "uv.lock", old_lock=lock("1.0"), new_lock=lock("2.0"), scopes=scopes)
    assert result.affected == ("dev",)
    assert result.reasons["dev"] == ("uv.lock: alpha 1.0 -> 2.0",)
