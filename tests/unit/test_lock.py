"""Unit tests of ``uv.lock`` reading and closures, on small lock mappings built in memory.

The behaviours asserted here were first observed on real uv 0.13.9 (see the functional
conformance tests, which check the same rules against ``uv export`` and ``uv sync``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nox_workspace import _lock
from nox_workspace._errors import LockError
from nox_workspace._lock import Lock, LockedPackage, clear_lock_cache, parse_lock, read_lock
from nox_workspace._markers import compile_marker
from nox_workspace._walk import Selection, frozen_environment
from tests.support import LINUX_311

REGISTRY = {"registry": "https://pypi.org/simple"}
LOCK_PATH = Path("/ws/uv.lock")

WINDOWS_312 = {
    **LINUX_311,
    "os_name": "nt",
    "platform_machine": "AMD64",
    "platform_system": "Windows",
    "python_full_version": "3.12.1",
    "python_version": "3.12",
    "sys_platform": "win32",
}


# ---------------------------------------------------------------------------------------------
# Builders for lock mappings


def dep(name: str, marker: str | None = None, **extra: Any) -> dict[str, Any]:
    """A dependency edge as uv writes it."""
    edge: dict[str, Any] = {"name": name, **extra}
    if marker is not None:
        edge["marker"] = marker
    return edge


def pkg(
    name: str,
    version: str | None = "1.0",
    *,
    source: Mapping[str, str] = REGISTRY,
    deps: Sequence[Mapping[str, Any]] = (),
    optional: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    groups: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    declared_groups: Sequence[str] = (),
    resolution_markers: Sequence[str] = (),
) -> dict[str, Any]:
    """A ``[[package]]`` table."""
    table: dict[str, Any] = {"name": name, "source": dict(source)}
    if version is not None:
        table["version"] = version
    if deps:
        table["dependencies"] = list(deps)
    if optional:
        table["optional-dependencies"] = {k: list(v) for k, v in optional.items()}
    if groups:
        table["dev-dependencies"] = {k: list(v) for k, v in groups.items()}
    if declared_groups:
        table["metadata"] = {"requires-dev": {group: [] for group in declared_groups}}
    if resolution_markers:
        table["resolution-markers"] = list(resolution_markers)
    return table


def member(name: str, path: str, *, kind: str = "editable", **kwargs: Any) -> dict[str, Any]:
    """A workspace member's ``[[package]]`` table (versionless, like dynamic versions)."""
    return pkg(name, kwargs.pop("version", None), source={kind: path}, **kwargs)


def lock_data(
    packages: Sequence[Mapping[str, Any]],
    members: Sequence[str] | None = None,
    *,
    manifest_groups: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    conflicts: Sequence[Sequence[Mapping[str, str]]] = (),
    **top: Any,
) -> dict[str, Any]:
    """A whole lock mapping, as ``tomllib`` returns it."""
    data: dict[str, Any] = {"version": 1, "revision": 3, "requires-python": ">=3.10", **top}
    manifest: dict[str, Any] = {}
    if members is not None:
        manifest["members"] = list(members)
    if manifest_groups:
        manifest["dependency-groups"] = {k: list(v) for k, v in manifest_groups.items()}
    if manifest:
        data["manifest"] = manifest
    if conflicts:
        data["conflicts"] = [list(conflict) for conflict in conflicts]
    data["package"] = list(packages)
    return data


def build(*packages: Mapping[str, Any], **kwargs: Any) -> Lock:
    members = kwargs.pop("members", None)
    return parse_lock(lock_data(packages, members, **kwargs), LOCK_PATH)


def names(packages: Sequence[LockedPackage]) -> list[str]:
    return [package.name for package in packages]


def pinned(packages: Sequence[LockedPackage]) -> list[tuple[str, str | None]]:
    return [(package.name, package.version) for package in packages]


# ---------------------------------------------------------------------------------------------
# Schema and reading


def test_parse_reads_header_members_and_packages() -> None:
    lock = build(
        member("App_One", "app"),
        pkg("Requests", "2.0"),
        members=["App_One"],
    )
    assert (lock.version, lock.revision, lock.requires_python) == (1, 3, ">=3.10")
    assert lock.members == ("app-one",)
    assert lock.packages == (
        LockedPackage("app-one", None, "editable"),
        LockedPackage("requests", "2.0", "registry"),
    )


def test_unknown_keys_and_a_newer_revision_are_accepted() -> None:
    data = lock_data([member("app", "app")], ["app"], revision=99, shiny={"new": True})
    data["package"][0]["brand-new-key"] = [1, 2]
    lock = parse_lock(data, LOCK_PATH)
    assert lock.revision == 99


def test_a_lock_without_manifest_members_has_its_root_project_as_only_member() -> None:
    """uv writes no ``[manifest] members`` when the root project is the only member."""
    lock = build(member("solo", "."), pkg("alpha"))
    assert lock.members == ("solo",)
    assert lock.root == "solo"


@pytest.mark.parametrize("version", [0, 2, 7])
def test_an_unknown_schema_version_names_the_file_the_version_and_the_fix(version: int) -> None:
    data = lock_data([member("app", "app")], ["app"])
    data["version"] = version
    with pytest.raises(LockError) as caught:
        parse_lock(data, LOCK_PATH)
    message = str(caught.value)
    assert message.startswith(f"{LOCK_PATH}: ")
    assert f"version {version}" in message
    assert "upgrade nox-workspace" in message
    assert "\n" not in message


def test_a_missing_schema_version_is_a_lock_error() -> None:
    data = lock_data([member("app", "app")], ["app"])
    del data["version"]
    with pytest.raises(LockError, match="schema `version`"):
        parse_lock(data, LOCK_PATH)


def test_a_package_without_a_name_is_named_by_its_key_path() -> None:
    data = lock_data([{"version": "1.0"}], [])
    with pytest.raises(LockError) as caught:
        parse_lock(data, LOCK_PATH)
    assert str(caught.value) == (
        f"{LOCK_PATH}: package[0] has no 'name'; run `uv lock` in the workspace root to rewrite it"
    )


def damage(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``data`` with the value at a dotted ``path`` replaced (``DELETE``: removed)."""
    *parents, last = path.split(".")
    parent: Any = data
    for key in parents:
        parent = parent[int(key)] if isinstance(parent, list) else parent[key]
    key_or_index: Any = int(last) if isinstance(parent, list) else last
    if value is DELETE:
        del parent[key_or_index]
    else:
        parent[key_or_index] = value
    return data


DELETE = object()


def sound_lock_data() -> dict[str, Any]:
    """A lock with every table the parser reads, each of the right shape."""
    return lock_data(
        [
            member(
                "app",
                ".",
                deps=[dep("lib", extra=["fast"])],
                optional={"cli": [dep("click")]},
                groups={"dev": [dep("pytest")]},
                resolution_markers=["python_full_version >= '3.12'"],
            ),
            member("lib", "lib", optional={"fast": [dep("click")]}),
            pkg("click"),
            pkg("pytest"),
        ],
        ["app", "lib"],
        manifest_groups={"lint": [{"name": "click"}]},
        conflicts=[[{"package": "app", "extra": "cli"}, {"package": "app", "group": "dev"}]],
    )


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("package.1.name", DELETE, "package[1] has no 'name'"),
        ("package.1.name", 7, "package[1].name is not a string"),
        ("package.0.dependencies.0.name", DELETE, "package[0].dependencies[0] has no 'name'"),
        ("package.0.dependencies.0", "lib", "package[0].dependencies[0] is not a table"),
        ("package.0.dependencies", {"name": "lib"}, "package[0].dependencies is not an array"),
        ("package.0.dependencies.0.extra", "fast", "package[0].dependencies[0].extra is not an"),
        ("package.0.dependencies.0.extra", [1], "package[0].dependencies[0].extra[0] is not a"),
        ("package.0.dependencies.0.marker", 3, "package[0].dependencies[0].marker is not a"),
        ("package.0.optional-dependencies", [], "package[0].optional-dependencies is not a table"),
        (
            "package.0.optional-dependencies.cli.0",
            3,
            "package[0].optional-dependencies.cli[0] is not a table",
        ),
        ("package.0.dev-dependencies.dev", {}, "package[0].dev-dependencies.dev is not an array"),
        ("package.0.source", "pypi", "package[0].source is not a table"),
        ("package.0.metadata", "x", "package[0].metadata is not a table"),
        ("package.0.resolution-markers", [3], "package[0].resolution-markers[0] is not a string"),
        ("package", {"name": "app"}, "package is not an array"),
        ("package.2", "click", "package[2] is not a table"),
        ("manifest", [], "manifest is not a table"),
        ("manifest.members.1", 5, "manifest.members[1] is not a string"),
        ("manifest.dependency-groups.lint.0.name", DELETE, "lint[0] has no 'name'"),
        ("manifest.dependency-groups.lint.0.marker", 1, "lint[0].marker is not a string"),
        ("conflicts.0", {}, "conflicts[0] is not an array"),
        ("conflicts.0.1", "dev", "conflicts[0][1] is not a table"),
        ("conflicts.0.1.group", ["dev"], "conflicts[0][1].group is not a string"),
        ("revision", "three", "revision is not an integer"),
    ],
)
def test_a_malformed_lock_names_the_key_path_on_one_line_without_python_internals(
    path: str, value: Any, problem: str
) -> None:
    data = damage(sound_lock_data(), path, value)
    with pytest.raises(LockError) as caught:
        parse_lock(data, LOCK_PATH)
    message = str(caught.value)
    assert problem in message
    assert message.startswith(f"{LOCK_PATH}: ")
    assert message.endswith("; run `uv lock` in the workspace root to rewrite it")
    assert "\n" not in message
    for internal in ("Error", "object", "attribute", "Traceback"):
        assert internal not in message


def test_the_sound_lock_of_the_malformed_cases_parses() -> None:
    lock = parse_lock(sound_lock_data(), LOCK_PATH)
    assert names(lock.closure("app", extras=["cli"], default_groups=())) == ["app", "click", "lib"]


def test_several_problems_are_reported_together_and_the_rest_counted() -> None:
    data = sound_lock_data()
    for number in range(4):
        del data["package"][number]["name"]
    with pytest.raises(LockError) as caught:
        parse_lock(data, LOCK_PATH)
    message = str(caught.value)
    assert "package[0] has no 'name'; package[1] has no 'name'; package[2] has no 'name'" in (
        message
    )
    assert "package[3]" not in message
    assert "(and 1 more)" in message


def test_a_member_locked_twice_is_named_with_its_manifest_key() -> None:
    data = lock_data([member("app", "app"), member("app", "app2")], ["app"])
    with pytest.raises(LockError, match=r"manifest.members lists 'app', which is locked 2 times"):
        parse_lock(data, LOCK_PATH)


def test_an_edge_to_a_package_that_is_not_locked_is_a_lock_error() -> None:
    with pytest.raises(LockError, match="'ghost', which has no"):
        build(member("app", "app", deps=[dep("ghost")]), members=["app"])


def test_read_lock_without_a_file_says_to_run_uv_lock(tmp_path: Path) -> None:
    with pytest.raises(LockError) as caught:
        read_lock(tmp_path / "uv.lock")
    assert "does not exist" in str(caught.value)
    assert "uv lock" in str(caught.value)


def test_read_lock_reports_truncated_toml_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "uv.lock"
    path.write_text('version = 1\n[[package]]\nname = "alpha\n', encoding="utf-8")
    with pytest.raises(LockError, match="invalid TOML") as caught:
        read_lock(path)
    assert "\n" not in str(caught.value)
    assert str(path) in str(caught.value)
    assert "uv lock" in str(caught.value)  # the lock's own hint, not "fix the syntax"


def test_read_lock_reports_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "uv.lock"
    path.write_bytes(b"version = 1\n# caf\xe9\n")
    with pytest.raises(LockError, match="not valid UTF-8") as caught:
        read_lock(path)
    assert "uv lock" in str(caught.value)


def test_read_lock_reports_a_directory(tmp_path: Path) -> None:
    (tmp_path / "uv.lock").mkdir()
    with pytest.raises(LockError, match="directory"):
        read_lock(tmp_path / "uv.lock")


def write_lock(path: Path, body: str) -> None:
    path.write_text(
        f'version = 1\nrevision = 3\n[manifest]\nmembers = ["app"]\n{body}', encoding="utf-8"
    )


APP = '[[package]]\nname = "app"\nsource = { editable = "app" }\n'


def test_read_lock_parses_a_file_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_lock_cache()
    path = tmp_path / "uv.lock"
    write_lock(path, APP)
    calls: list[Path] = []
    real = _lock.parse_lock

    def counting(data: Mapping[str, Any], where: Path) -> Lock:
        calls.append(where)
        return real(data, where)

    monkeypatch.setattr(_lock, "parse_lock", counting)
    first = read_lock(path)
    assert read_lock(path) is first
    assert read_lock(str(tmp_path / "." / "uv.lock")) is first
    assert len(calls) == 1


def test_read_lock_reads_a_rewritten_file_again(tmp_path: Path) -> None:
    clear_lock_cache()
    path = tmp_path / "uv.lock"
    write_lock(path, APP)
    first = read_lock(path)
    write_lock(
        path, APP + '[[package]]\nname = "alpha"\nversion = "1.0"\nsource = { registry = "x" }\n'
    )
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = read_lock(path)
    assert second is not first
    assert "alpha" in names(second.packages)


def test_clear_lock_cache_forces_a_new_parse(tmp_path: Path) -> None:
    path = tmp_path / "uv.lock"
    write_lock(path, APP)
    first = read_lock(path)
    clear_lock_cache()
    assert read_lock(path) is not first


def test_markers_are_compiled_once_per_distinct_string() -> None:
    marker = "sys_platform == 'win32' and extra == 'group-3-app-dev'"
    assert compile_marker(marker) is compile_marker(marker)


# ---------------------------------------------------------------------------------------------
# The walk


def simple_workspace() -> Lock:
    return build(
        member("app", "app", deps=[dep("lib"), dep("requests")]),
        member("lib", "lib", deps=[dep("idna")]),
        member("tool", "tool", kind="virtual", deps=[dep("lib"), dep("click")]),
        pkg("requests", "2.0", deps=[dep("idna"), dep("colorama", "sys_platform == 'win32'")]),
        pkg("idna", "3.0"),
        pkg("click", "8.0"),
        pkg("colorama", "0.4"),
        members=["app", "lib", "tool"],
    )


def test_closure_holds_the_member_its_workspace_dependencies_and_their_closure_sorted() -> None:
    assert names(simple_workspace().closure("app")) == [
        "app",
        "colorama",
        "idna",
        "lib",
        "requests",
    ]


def test_closure_accepts_a_sequence_of_members_like_repeated_package() -> None:
    lock = simple_workspace()
    assert names(lock.closure(["lib", "app"])) == names(lock.closure("app"))


def test_a_virtual_member_is_not_installed_but_its_dependencies_are() -> None:
    assert names(simple_workspace().closure("tool")) == ["click", "idna", "lib"]


def test_install_members_false_leaves_out_every_member() -> None:
    assert names(simple_workspace().closure("app", install_members=False)) == [
        "colorama",
        "idna",
        "requests",
    ]


def test_a_name_that_is_not_a_member_is_a_lock_error_suggesting_uv_lock() -> None:
    with pytest.raises(LockError, match="not a workspace member") as caught:
        simple_workspace().closure("requests")
    assert "uv lock" in str(caught.value)


def test_a_selection_value_selects_what_the_keyword_methods_select() -> None:
    lock = simple_workspace()
    linux = frozen_environment(LINUX_311)
    assert lock.select(Selection(members=("app",), environment=linux)) == lock.closure(
        "app", environment=LINUX_311
    )
    assert lock.select(Selection(all_packages=True)) == lock.all_packages_closure()
    assert "colorama" not in names(lock.select(Selection(members=("app",), environment=linux)))


def test_a_selection_of_members_and_all_packages_at_once_is_refused() -> None:
    with pytest.raises(ValueError, match="members or all_packages"):
        Selection(members=("app",), all_packages=True)


def test_a_closure_of_no_member_points_to_the_union() -> None:
    with pytest.raises(ValueError, match="all_packages_closure"):
        simple_workspace().closure([])


def test_default_groups_as_a_string_must_be_all() -> None:
    with pytest.raises(ValueError, match="'all'"):
        simple_workspace().closure("app", default_groups="dev")


def test_groups_and_extras_of_a_name_that_is_not_a_member_are_a_lock_error() -> None:
    lock = simple_workspace()
    for query in (lock.groups_of, lock.extras_of):
        with pytest.raises(LockError, match="'nope' is not a workspace member"):
            query("nope")


def test_member_edges_name_each_kind_of_edge_between_members_once() -> None:
    lock = build(
        member("app", "app", deps=[dep("lib"), dep("lib")], optional={"x": [dep("cli")]}),
        member("lib", "lib", groups={"dev": [dep("app"), dep("lib"), dep("alpha")]}),
        member("cli", "cli"),
        pkg("alpha"),
        members=["app", "lib", "cli"],
    )
    assert lock.member_edges() == (
        ("app", "lib", "dependency", None),
        ("app", "cli", "extra", "x"),
        ("lib", "app", "group", "dev"),
    )


def test_member_names_are_normalized() -> None:
    assert names(simple_workspace().closure("App")) == names(simple_workspace().closure("app"))


def test_all_packages_closure_is_the_union_of_the_members() -> None:
    lock = simple_workspace()
    union = set(lock.closure("app")) | set(lock.closure("lib")) | set(lock.closure("tool"))
    assert set(lock.all_packages_closure()) == union


# ---------------------------------------------------------------------------------------------
# Forks: a name locked more than once


def forked_workspace() -> Lock:
    return build(
        member(
            "app",
            "app",
            deps=[
                dep("gamma", "python_full_version < '3.12'", version="1.0", source=REGISTRY),
                dep("gamma", "python_full_version >= '3.12'", version="2.0", source=REGISTRY),
            ],
        ),
        pkg("gamma", "1.0", resolution_markers=["python_full_version < '3.12'"]),
        pkg("gamma", "2.0", resolution_markers=["python_full_version >= '3.12'"]),
        members=["app"],
    )


def test_a_forked_package_appears_in_every_version_across_platforms() -> None:
    assert pinned(forked_workspace().closure("app")) == [
        ("app", None),
        ("gamma", "1.0"),
        ("gamma", "2.0"),
    ]


@pytest.mark.parametrize(("environment", "version"), [(LINUX_311, "1.0"), (WINDOWS_312, "2.0")])
def test_a_forked_package_resolves_to_one_version_in_an_environment(
    environment: Mapping[str, str], version: str
) -> None:
    assert pinned(forked_workspace().closure("app", environment=environment)) == [
        ("app", None),
        ("gamma", version),
    ]


def test_an_edge_that_does_not_say_which_fork_is_a_lock_error() -> None:
    with pytest.raises(LockError, match="locked 2 times"):
        build(
            member("app", "app", deps=[dep("gamma")]),
            pkg("gamma", "1.0"),
            pkg("gamma", "2.0"),
            members=["app"],
        )


# ---------------------------------------------------------------------------------------------
# Extras


def extras_workspace() -> Lock:
    return build(
        member(
            "app",
            "app",
            deps=[dep("kappa", extra=["fast"])],
            optional={"cli": [dep("click")], "docs": [dep("sphinx")]},
        ),
        member("lib", "lib", deps=[dep("app", extra=["cli"])]),
        pkg("kappa", optional={"fast": [dep("theta")], "slow": [dep("zeta")]}),
        pkg("theta"),
        pkg("zeta"),
        pkg("click"),
        pkg("sphinx"),
        members=["app", "lib"],
    )


def test_an_edge_extra_activates_that_packages_optional_dependencies() -> None:
    assert names(extras_workspace().closure("app")) == ["app", "kappa", "theta"]


def test_requested_extras_apply_to_the_target() -> None:
    lock = extras_workspace()
    assert "click" in names(lock.closure("app", extras=["cli"]))
    assert {"click", "sphinx"} <= set(names(lock.closure("app", all_extras=True)))


def test_a_member_extra_requested_by_a_dependent_member_is_followed() -> None:
    assert names(extras_workspace().closure("lib")) == ["app", "click", "kappa", "lib", "theta"]


def test_an_extra_no_target_defines_is_a_lock_error() -> None:
    with pytest.raises(LockError, match="extra 'nope'"):
        extras_workspace().closure("app", extras=["nope"])


# ---------------------------------------------------------------------------------------------
# Groups


def rooted_workspace() -> Lock:
    """A root that is a member, with groups; members with and without their own."""
    return build(
        member(
            "root",
            ".",
            deps=[dep("alpha")],
            groups={"dev": [dep("zeta")], "lint": [dep("eta")]},
        ),
        member("m1", "m/m1", deps=[dep("beta")], groups={"dev": [dep("theta")]}),
        member("m2", "m/m2", deps=[dep("m1")], declared_groups=["empty"]),
        *(pkg(name) for name in ("alpha", "beta", "eta", "theta", "zeta")),
        members=["m1", "m2", "root"],
    )


def test_default_groups_are_dev_and_only_the_targets_own() -> None:
    """uv 0.13: a member without ``dev`` gets no ``dev`` by default, not the root's."""
    lock = rooted_workspace()
    assert names(lock.closure("m1")) == ["beta", "m1", "theta"]
    assert names(lock.closure("m2")) == ["beta", "m1", "m2"]


def test_no_default_groups() -> None:
    assert names(rooted_workspace().closure("m1", default_groups=())) == ["beta", "m1"]


def test_default_groups_all_selects_every_own_group_only() -> None:
    lock = rooted_workspace()
    assert names(lock.closure("m1", default_groups="all")) == ["beta", "m1", "theta"]
    assert names(lock.closure("root", default_groups="all")) == ["alpha", "eta", "root", "zeta"]


def test_an_explicit_group_the_member_lacks_falls_back_to_the_root_member() -> None:
    lock = rooted_workspace()
    assert names(lock.closure("m2", groups=["lint"])) == ["beta", "eta", "m1", "m2"]
    assert names(lock.closure("m2", groups=["dev"])) == ["beta", "m1", "m2", "zeta"]


def test_an_explicit_group_the_member_has_does_not_add_the_roots() -> None:
    assert names(rooted_workspace().closure("m1", groups=["dev"])) == ["beta", "m1", "theta"]


def test_all_groups_takes_the_members_groups_and_the_roots_it_lacks() -> None:
    lock = rooted_workspace()
    assert names(lock.closure("m1", all_groups=True)) == ["beta", "eta", "m1", "theta"]


def test_an_empty_declared_group_is_known() -> None:
    assert names(rooted_workspace().closure("m2", groups=["empty"])) == ["beta", "m1", "m2"]


def test_a_group_defined_nowhere_is_a_lock_error() -> None:
    with pytest.raises(LockError, match="group 'docs'"):
        rooted_workspace().closure("m2", groups=["docs"])


def test_several_targets_do_not_fall_back_to_a_root_member() -> None:
    lock = rooted_workspace()
    with pytest.raises(LockError, match="none of the selected members"):
        lock.closure(["m1", "m2"], groups=["lint"])
    assert "eta" in names(lock.closure(["m2", "root"], groups=["lint"]))


def test_only_groups_installs_the_groups_without_the_target() -> None:
    lock = rooted_workspace()
    assert names(lock.closure("m1", groups=["dev"], only_groups=True)) == ["theta"]
    assert names(lock.closure("m2", groups=["lint"], only_groups=True)) == ["eta"]


def test_all_packages_applies_the_default_group_names_to_every_member() -> None:
    lock = rooted_workspace()
    assert names(lock.all_packages_closure()) == [
        "alpha",
        "beta",
        "m1",
        "m2",
        "root",
        "theta",
        "zeta",
    ]


def virtual_root_workspace() -> Lock:
    """A root without ``[project]``: its groups live in ``[manifest.dependency-groups]``."""
    return build(
        member("a", "packages/a", deps=[dep("delta")], groups={"dev": [dep("alpha")]}),
        member("b", "packages/b", deps=[dep("a")]),
        pkg("alpha"),
        pkg("delta"),
        pkg("zeta"),
        pkg("eta"),
        pkg("winonly"),
        pkg("gamma", "1.0", resolution_markers=["python_full_version < '3.12'"]),
        pkg("gamma", "2.0", resolution_markers=["python_full_version >= '3.12'"]),
        members=["a", "b"],
        manifest_groups={
            "dev": [dep("zeta")],
            "lint": [dep("eta"), dep("winonly", "sys_platform == 'win32'")],
            "pin": [dep("gamma", "python_full_version < '3.11'")],
        },
    )


def test_a_virtual_root_group_is_not_a_default_for_one_member() -> None:
    assert names(virtual_root_workspace().closure("b")) == ["a", "b", "delta"]


def test_an_explicit_group_falls_back_to_the_virtual_roots_requirements() -> None:
    lock = virtual_root_workspace()
    assert names(lock.closure("b", groups=["dev"])) == ["a", "b", "delta", "zeta"]
    assert names(lock.closure("a", groups=["lint"])) == ["a", "alpha", "delta", "eta", "winonly"]
    assert "winonly" not in names(lock.closure("a", groups=["lint"], environment=LINUX_311))


def test_several_targets_include_the_virtual_roots_groups_of_the_selected_names() -> None:
    lock = virtual_root_workspace()
    assert names(lock.closure(["a", "b"])) == ["a", "alpha", "b", "delta", "zeta"]
    assert "zeta" in names(lock.all_packages_closure())
    assert "zeta" not in names(lock.all_packages_closure(default_groups=()))


def test_a_virtual_root_requirement_reaches_only_the_forks_its_marker_allows() -> None:
    lock = virtual_root_workspace()
    assert pinned(lock.closure("b", groups=["pin"]))[-1] == ("gamma", "1.0")
    assert "gamma" not in names(lock.closure("b", groups=["pin"], environment=WINDOWS_312))


def test_fork_markers_are_read_without_their_extra_literals() -> None:
    """uv matches a root requirement to forks by their PEP 508 part only."""
    fork = "python_full_version < '3.12' and extra == 'group-1-a-dev'"
    lock = build(
        member("a", "packages/a"),
        pkg("gamma", "1.0", resolution_markers=[fork]),
        pkg("gamma", "2.0", resolution_markers=["python_full_version >= '3.12'"]),
        members=["a"],
        manifest_groups={"pin": [dep("gamma")]},
    )
    assert pinned(lock.closure("a", groups=["pin"]))[1:] == [("gamma", "1.0"), ("gamma", "2.0")]
    assert pinned(lock.closure("a", groups=["pin"], environment=LINUX_311))[1:] == [
        ("gamma", "1.0")
    ]


# ---------------------------------------------------------------------------------------------
# Conflict markers


def conflict_workspace() -> Lock:
    """Member ``a`` declares ``[[{extra = "x"}, {group = "y"}]]``; ``x`` and ``y`` pick
    different versions of ``fast``, as uv locks them with conflict markers."""
    x = "extra == 'extra-1-a-x'"
    y = "extra == 'group-1-a-y'"
    return build(
        member(
            "a",
            "packages/a",
            deps=[dep("slow", f"extra != 'extra-1-a-x' or {y}")],
            optional={"x": [dep("fast", x, version="2.0", source=REGISTRY)]},
            groups={"y": [dep("fast", y, version="1.0", source=REGISTRY)]},
        ),
        member("t", "packages/t", deps=[dep("a", x, extra=["x"])], declared_groups=["y"]),
        member("u", "packages/u", deps=[dep("a")]),
        member("v", "packages/v", declared_groups=["y"]),
        pkg("fast", "1.0"),
        pkg("fast", "2.0"),
        pkg("slow"),
        members=["a", "t", "u", "v"],
        conflicts=[[{"package": "a", "extra": "x"}, {"package": "a", "group": "y"}]],
    )


def test_a_conflict_marker_holds_when_its_group_is_active() -> None:
    lock = conflict_workspace()
    assert pinned(lock.closure("a", groups=["y"])) == [
        ("a", None),
        ("fast", "1.0"),
        ("slow", "1.0"),
    ]


def test_a_conflict_marker_holds_when_its_extra_is_active() -> None:
    lock = conflict_workspace()
    assert pinned(lock.closure("a", extras=["x"])) == [("a", None), ("fast", "2.0")]


def test_a_negated_conflict_marker_holds_when_its_item_is_inactive() -> None:
    assert names(conflict_workspace().closure("u")) == ["a", "slow", "u"]


def test_an_extra_activated_by_an_edge_counts_for_that_edges_own_marker() -> None:
    """uv >= 0.11 (astral-sh/uv#18852): ``a[x]`` activates ``x`` for ``a[x]``'s marker."""
    assert pinned(conflict_workspace().closure("t")) == [
        ("a", None),
        ("fast", "2.0"),
        ("t", None),
    ]


def test_selecting_both_sides_of_a_declared_conflict_is_a_lock_error() -> None:
    with pytest.raises(LockError, match="declared as conflicting"):
        conflict_workspace().closure("a", extras=["x"], groups=["y"])


def test_conflicts_are_checked_by_name_on_every_member_the_target_reaches() -> None:
    """As uv does: ``t`` reaches ``a``, so ``--all-extras --group y`` is refused for ``t``
    (whose own ``y`` is harmless); ``v`` reaches nothing and may."""
    lock = conflict_workspace()
    with pytest.raises(LockError, match="extra 'x' of 'a' and group 'y' of 'a'"):
        lock.closure("t", all_extras=True, groups=["y"])
    assert names(lock.closure("v", all_extras=True, groups=["y"])) == ["v"]


def test_project_conflict_items_are_active_for_targets() -> None:
    """``{package = "m"}`` conflicts are encoded ``extra == 'project-1-m'``."""
    marker = "extra == 'project-1-m' or extra != 'project-1-n'"
    lock = build(
        member("m", "m", deps=[dep("alpha", marker)]),
        member("n", "n", deps=[dep("beta", "extra == 'project-1-n'")]),
        member("o", "o", deps=[dep("m", "extra == 'project-1-o' or extra != 'project-1-n'")]),
        pkg("alpha"),
        pkg("beta"),
        members=["m", "n", "o"],
        conflicts=[[{"package": "m"}, {"package": "n"}]],
    )
    assert names(lock.closure("n")) == ["beta", "n"]
    assert names(lock.closure("o")) == ["alpha", "m", "o"]
    with pytest.raises(LockError, match="project 'm' and project 'n'"):
        lock.closure(["m", "n"])


def test_an_impossible_conflict_combination_never_holds() -> None:
    """uv writes ``... or (extra == A and extra == B)`` for items that cannot both be on."""
    marker = "python_full_version < '3.11' or (extra == 'extra-1-a-x' and extra == 'group-1-a-y')"
    lock = build(
        member("a", "a", deps=[dep("tomli", marker)], optional={"x": []}, groups={"y": []}),
        pkg("tomli"),
        members=["a"],
    )
    assert names(lock.closure("a")) == ["a", "tomli"]
    assert names(lock.closure("a", environment=WINDOWS_312)) == ["a"]


# ---------------------------------------------------------------------------------------------
# Environment markers


def marker_workspace(*markers: str) -> Lock:
    return build(
        member("app", "app", deps=[dep(f"p{i}", marker) for i, marker in enumerate(markers)]),
        *(pkg(f"p{i}") for i in range(len(markers))),
        members=["app"],
    )


@pytest.mark.parametrize(
    ("marker", "on_linux_311", "on_windows_312"),
    [
        ("sys_platform == 'win32'", False, True),
        ("sys_platform != 'win32'", True, False),
        ("python_version < '3.12'", True, False),
        ("python_full_version >= '3.11.7'", True, True),
        ("'3.12' <= python_version", False, True),
        ("platform_machine in 'x86_64 aarch64'", True, False),
        ("'Win' not in platform_system", True, False),
        ("os.name == 'nt'", False, True),
        (
            "(sys_platform == 'linux' or sys_platform == 'darwin') and python_version >= '3.11'",
            True,
            False,
        ),
        ('implementation_name == "cpython"', True, True),
        ("platform_release >= '6'", True, True),
    ],
)
def test_environment_markers_evaluate_like_pep_508(
    marker: str, on_linux_311: bool, on_windows_312: bool
) -> None:
    lock = marker_workspace(marker)
    assert ("p0" in names(lock.closure("app", environment=LINUX_311))) is on_linux_311
    assert ("p0" in names(lock.closure("app", environment=WINDOWS_312))) is on_windows_312
    assert "p0" in names(lock.closure("app"))


def test_an_environment_missing_a_variable_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="sys_platform"):
        marker_workspace("sys_platform == 'win32'").closure("app", environment={})


def test_a_marker_that_is_not_pep_508_is_a_lock_error() -> None:
    lock = marker_workspace("sys_platform === ")
    with pytest.raises(LockError, match="marker"):
        lock.closure("app", environment=LINUX_311)


def test_a_plain_extra_marker_holds_only_when_negated() -> None:
    """uv passes no plain extras when it evaluates a lock edge."""
    lock = marker_workspace("extra == 'cli'", "extra != 'cli'")
    assert names(lock.closure("app")) == ["app", "p1"]
    assert names(lock.closure("app", environment=LINUX_311)) == ["app", "p1"]


def test_union_drops_packages_reached_only_through_contradictory_paths() -> None:
    """``uv export`` conjoins markers along a path: py<3.14 then py>=3.14 reaches nothing."""
    lock = build(
        member(
            "app",
            "app",
            deps=[dep("st", "python_full_version < '3.14'"), dep("win", "sys_platform == 'win32'")],
        ),
        pkg(
            "st",
            deps=[
                dep("hub", "python_full_version >= '3.14'"),
                dep("np", "python_version < '3.12'"),
            ],
        ),
        pkg("hub", deps=[dep("typer")]),
        pkg("typer"),
        pkg("np"),
        pkg(
            "win",
            deps=[dep("lin", "sys_platform == 'linux'"), dep("hub2", "sys_platform == 'win32'")],
        ),
        pkg("lin"),
        pkg("hub2"),
        members=["app"],
    )
    assert names(lock.closure("app")) == ["app", "hub2", "np", "st", "win"]


def test_union_keeps_a_package_that_another_path_reaches() -> None:
    lock = build(
        member("app", "app", deps=[dep("st", "python_full_version < '3.14'"), dep("other")]),
        pkg("st", deps=[dep("hub", "python_full_version >= '3.14'")]),
        pkg("other", deps=[dep("hub", "sys_platform == 'linux'")]),
        pkg("hub"),
        members=["app"],
    )
    assert names(lock.closure("app")) == ["app", "hub", "other", "st"]


ENVIRONMENTS = st.fixed_dictionaries(
    {
        **{key: st.just(value) for key, value in LINUX_311.items()},
        "sys_platform": st.sampled_from(["linux", "win32", "darwin"]),
        "platform_machine": st.sampled_from(["x86_64", "aarch64", "AMD64"]),
        "python_version": st.sampled_from(["3.10", "3.11", "3.12", "3.13", "3.14"]),
    }
).map(lambda env: {**env, "python_full_version": env["python_version"] + ".2"})


@settings(max_examples=60, deadline=None)
@given(environment=ENVIRONMENTS)
def test_every_environment_closure_is_inside_the_union(environment: dict[str, str]) -> None:
    locks = [simple_workspace(), forked_workspace(), virtual_root_workspace(), conflict_workspace()]
    for lock in locks:
        for target in lock.members:
            inside = set(lock.closure(target, environment=environment))
            assert inside <= set(lock.closure(target)), (target, environment)


# ---------------------------------------------------------------------------------------------
# Random graphs against independent oracles: packaging's marker evaluation, path by path


MARKER_POOL = (
    None,
    None,
    None,
    "python_version < '3.12'",
    "python_version >= '3.11'",
    "python_full_version >= '3.13'",
    "python_full_version < '3.11'",
    "sys_platform == 'win32'",
    "sys_platform != 'win32'",
    "sys_platform == 'linux'",
    "sys_platform == 'darwin' and python_version < '3.11'",
    "sys_platform == 'linux' or python_version >= '3.12'",
)

#: One platform per region the pool's markers tell apart: the union over all of them is the
#: union over every platform.
GRID = [
    {
        **LINUX_311,
        "sys_platform": platform,
        "python_version": minor,
        "python_full_version": f"{minor}.5",
    }
    for platform in ("linux", "win32", "darwin", "freebsd")
    for minor in ("3.10", "3.11", "3.12", "3.13")
]


@st.composite
def random_graphs(draw: st.DrawFn) -> dict[str, Any]:
    """A member ``app`` and up to nine packages with random (possibly cyclic) edges."""
    count = draw(st.integers(min_value=1, max_value=9))
    names_ = [f"p{index}" for index in range(count)]

    def edges(minimum: int) -> list[dict[str, Any]]:
        targets = draw(
            st.lists(st.integers(0, count - 1), min_size=minimum, max_size=3, unique=True)
        )
        return [dep(names_[target], draw(st.sampled_from(MARKER_POOL))) for target in targets]

    packages = [member("app", "app", deps=edges(1))]
    packages += [pkg(name, deps=edges(0)) for name in names_]
    return lock_data(packages, ["app"])


def reference_closure(data: Mapping[str, Any], environment: Mapping[str, str]) -> set[str]:
    """A plain search that evaluates each marker with ``packaging``."""
    from packaging.markers import Marker

    tables = {package["name"]: package for package in data["package"]}
    seen = {"app"}
    stack = ["app"]
    while stack:
        for edge in tables[stack.pop()].get("dependencies", ()):
            marker = edge.get("marker")
            if (marker is None or Marker(marker).evaluate(dict(environment))) and edge[
                "name"
            ] not in seen:
                seen.add(edge["name"])
                stack.append(edge["name"])
    return seen


@settings(max_examples=150, deadline=None)
@given(data=random_graphs())
def test_environment_closures_match_a_plain_search(data: dict[str, Any]) -> None:
    lock = parse_lock(data, LOCK_PATH)
    for environment in GRID:
        assert set(names(lock.closure("app", environment=environment))) == reference_closure(
            data, environment
        )


@settings(max_examples=150, deadline=None)
@given(data=random_graphs())
def test_the_union_is_what_some_platform_reaches(data: dict[str, Any]) -> None:
    """Paths conjoin their markers: the union holds exactly what one platform reaches."""
    lock = parse_lock(data, LOCK_PATH)
    expected = set().union(*(reference_closure(data, environment) for environment in GRID))
    assert set(names(lock.closure("app"))) == expected
