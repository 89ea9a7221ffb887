"""Conformance of ``Lock.closure`` with real uv: ``uv export`` (union) and ``uv sync`` (one env).

Each workspace is built in a temporary folder from the tiny offline wheelhouse and locked
with the real uv. For every member and every selection (default groups, none, each group,
each extra, all of them, ``--only-group``, ``--no-emit-workspace``), the closure must list
exactly the packages ``uv export --frozen`` lists, and uv must refuse exactly the selections
the closure refuses. With a marker environment, the closure must be what
``uv sync --frozen --dry-run`` would install for that interpreter. No command may touch
``uv.lock``.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any, Literal

import pytest
from packaging.markers import default_environment

from nox_workspace._errors import LockError
from nox_workspace._lock import Lock, LockedPackage, clear_lock_cache, read_lock
from tests.support import (
    member_toml,
    offline_index,
    package_sources,
    run_uv,
    tool_env,
    uv_export_packages,
    uv_sync_dry_run_packages,
    write_tree,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

pytestmark = pytest.mark.functional

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "workspaces"
PYDANTIC_AI = SHARED / "pydantic-ai"

DefaultGroups = Sequence[str] | Literal["all"] | None


# ---------------------------------------------------------------------------------------------
# Workspaces


@dataclass(frozen=True)
class Workspace:
    """A locked workspace, with what the tests need to know about its pyproject files."""

    root: Path
    env: Mapping[str, str]
    #: Each member's own ``[tool.uv] default-groups`` (None: not set, so uv's ``dev``).
    member_defaults: Mapping[str, DefaultGroups]
    #: The root pyproject's ``[tool.uv] default-groups``: used for --all-packages and for
    #: several --package run from the root.
    root_defaults: DefaultGroups
    lock_bytes: bytes = field(repr=False)

    @property
    def lock(self) -> Lock:
        return read_lock(self.root / "uv.lock")


def _default_groups(pyproject: Path) -> DefaultGroups:
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    value = data.get("tool", {}).get("uv", {}).get("default-groups")
    if value is None or value == "all":
        return value  # type: ignore[no-any-return]
    return tuple(value)


def _member_dirs(root: Path) -> dict[str, Path]:
    """Member name -> folder, from the lock's ``editable``/``virtual`` sources."""
    data = tomllib.loads((root / "uv.lock").read_text(encoding="utf-8"))
    members = set(data.get("manifest", {}).get("members", ()))
    folders = {}
    for package in data["package"]:
        source = package["source"]
        local = source.get("editable", source.get("virtual"))
        if local is not None and (package["name"] in members or local == "."):
            folders[package["name"]] = root / local
    return folders


def open_workspace(root: Path, env: Mapping[str, str]) -> Workspace:
    """Describe a locked workspace (reading default groups with tomllib, as uv would)."""
    folders = _member_dirs(root)
    return Workspace(
        root=root,
        env=env,
        member_defaults={
            name: _default_groups(folder / "pyproject.toml") for name, folder in folders.items()
        },
        root_defaults=_default_groups(root / "pyproject.toml"),
        lock_bytes=(root / "uv.lock").read_bytes(),
    )


def build_workspace(
    root: Path, wheelhouse: Path, env: Mapping[str, str], files: Mapping[str, str]
) -> Workspace:
    write_tree(root, files)
    for path in files:
        if path.endswith("pyproject.toml") and "[build-system]" in files[path]:
            folder = Path(path).parent
            name = tomllib.loads(files[path])["project"]["name"]
            package_sources(root, str(folder), name)
    run_uv(["lock"], root, env)
    return open_workspace(root, env)


def virtual_root_files(wheelhouse: Path) -> dict[str, str]:
    """A root without [project], with groups; members covering markers, extras, forks,
    a non-packaged member, and a conflict between an extra and a group."""
    return {
        "pyproject.toml": f"""
            [tool.uv.workspace]
            members = ["packages/*"]

            [tool.uv]
            {offline_index(wheelhouse)}
            [dependency-groups]
            dev = ["zeta"]
            lint = ["eta", "winonly; sys_platform == 'win32'"]
            nothing = []
            """.replace("            ", ""),
        "packages/a/pyproject.toml": member_toml(
            "a",
            dependencies=["delta", "winonly; sys_platform == 'win32'"],
            extras={"x": ["kappa[fast]"]},
            groups={"dev": ["alpha"], "y": ["beta"]},
            extra_toml='[tool.uv]\nconflicts = [[{extra = "x"}, {group = "y"}]]\n',
        ),
        "packages/b/pyproject.toml": member_toml("b", dependencies=["a"], workspace_sources=["a"]),
        "packages/c/pyproject.toml": member_toml(
            "c", dependencies=["beta", "b"], workspace_sources=["b"], packaged=False
        ),
        "packages/f/pyproject.toml": member_toml(
            "f",
            dependencies=["gamma<2; python_version < '3.12'", "gamma>=2; python_version >= '3.12'"],
            groups={"lint": ["theta"]},
        ),
        "packages/s/pyproject.toml": member_toml(
            "s", extras={"opt": ["a"]}, groups={"y": ["eta"]}, workspace_sources=["a"]
        ),
        "packages/t/pyproject.toml": member_toml(
            "t", dependencies=["a[x]"], groups={"y": ["epsilon"]}, workspace_sources=["a"]
        ),
    }


def rooted_files(wheelhouse: Path) -> dict[str, str]:
    """A root that is itself a member; members with their own default-groups settings."""
    return {
        "pyproject.toml": member_toml(
            "root",
            dependencies=["alpha"],
            groups={"dev": ["zeta"], "lint": ["eta"], "docs": ["kappa[fast]"]},
            extras={"cli": ["beta"]},
            extra_toml=(
                f'[tool.uv.workspace]\nmembers = ["m/*"]\n[tool.uv]\n{offline_index(wheelhouse)}'
            ),
        ),
        "m/m1/pyproject.toml": member_toml("m1", dependencies=["beta"], groups={"dev": ["theta"]}),
        "m/m2/pyproject.toml": member_toml("m2", dependencies=["m1"], workspace_sources=["m1"]),
        "m/m3/pyproject.toml": member_toml(
            "m3", groups={"lint": ["winonly"]}, extra_toml='[tool.uv]\ndefault-groups = ["lint"]\n'
        ),
        "m/m4/pyproject.toml": member_toml(
            "m4",
            dependencies=["root"],
            groups={"g1": ["epsilon"]},
            workspace_sources=["root"],
            extra_toml='[tool.uv]\ndefault-groups = "all"\n',
        ),
    }


def package_conflict_files(wheelhouse: Path) -> dict[str, str]:
    """Members declared as conflicting as whole projects (``{package = ...}``)."""
    return {
        "pyproject.toml": f"""
            [tool.uv.workspace]
            members = ["packages/*"]

            [tool.uv]
            {offline_index(wheelhouse)}
            conflicts = [
                [{{package = "m"}}, {{package = "n"}}],
                [{{package = "o"}}, {{package = "n"}}],
            ]
            """.replace("            ", ""),
        "packages/m/pyproject.toml": member_toml("m", dependencies=["gamma<2", "alpha"]),
        "packages/n/pyproject.toml": member_toml("n", dependencies=["gamma>=2"]),
        "packages/o/pyproject.toml": member_toml("o", dependencies=["m"], workspace_sources=["m"]),
    }


BUILDERS: dict[str, Callable[[Path], dict[str, str]]] = {
    "virtual-root": virtual_root_files,
    "rooted": rooted_files,
    "package-conflicts": package_conflict_files,
}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def workspace(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    wheelhouse: Path,
    uv_cache: Path,
) -> Iterator[Workspace]:
    """Each small workspace, locked once per module."""
    name: str = request.param
    env = tool_env(uv_cache)
    root = tmp_path_factory.mktemp(name)
    built = build_workspace(root, wheelhouse, env, BUILDERS[name](wheelhouse))
    yield built
    assert (root / "uv.lock").read_bytes() == built.lock_bytes, "uv.lock changed"


@pytest.fixture(scope="module")
def pydantic_ai(tmp_path_factory: pytest.TempPathFactory, uv_cache: Path) -> Workspace:
    """A copy of the real pydantic-ai workspace (six members, conflict markers, forks)."""
    if not (PYDANTIC_AI / "uv.lock").is_file():
        pytest.skip(f"the real workspace {PYDANTIC_AI} is absent; nothing to compare with")
    root = tmp_path_factory.mktemp("real") / "pydantic-ai"
    shutil.copytree(PYDANTIC_AI, root)
    for folder, _, files in os.walk(root):
        os.chmod(folder, stat.S_IRWXU)
        for file in files:
            os.chmod(Path(folder) / file, stat.S_IRUSR | stat.S_IWUSR)
    return open_workspace(root, tool_env(uv_cache))


# ---------------------------------------------------------------------------------------------
# Comparing


@dataclass(frozen=True)
class Case:
    """One selection: uv's arguments and the same selection as ``Lock`` options."""

    args: tuple[str, ...]
    options: Mapping[str, Any]

    def run(self, lock: Lock) -> tuple[LockedPackage, ...]:
        options = dict(self.options)
        targets = options.pop("members", None)
        if targets is None:
            return lock.all_packages_closure(**options)
        return lock.closure(targets, **options)


Outcome = frozenset[tuple[str, str | None]] | str


def _as_uv_lists(packages: Sequence[LockedPackage], listed: Outcome) -> Outcome:
    """Our closure keyed like uv's list: packages uv lists without a version lose theirs."""
    unversioned = (
        {name for name, version in listed if version is None}
        if not isinstance(listed, str)
        else set()
    )
    return frozenset((p.name, None if p.name in unversioned else p.version) for p in packages)


def mismatches(
    workspace: Workspace,
    cases: Sequence[Case],
    oracle: Callable[[Case], Outcome],
) -> list[str]:
    """Every case where the closure and uv disagree, described on one line each."""
    clear_lock_cache()
    lock = workspace.lock
    problems = []
    lock_file = workspace.root / "uv.lock"
    for case in cases:
        expected = oracle(case)
        assert lock_file.read_bytes() == workspace.lock_bytes, f"uv {case.args} changed uv.lock"
        try:
            got: Outcome = _as_uv_lists(case.run(lock), expected)
        except LockError as error:
            got = f"LockError: {error}"
        if isinstance(expected, str) or isinstance(got, str):
            if isinstance(expected, str) != isinstance(got, str):
                problems.append(f"{' '.join(case.args)}: uv says {expected!r}, we say {got!r}")
            continue
        if expected != got:
            problems.append(
                f"{' '.join(case.args)}: only uv has {sorted(expected - got)}, "
                f"only we have {sorted(got - expected)}"
            )
    return problems


def export_oracle(workspace: Workspace) -> Callable[[Case], Outcome]:
    def oracle(case: Case) -> Outcome:
        return uv_export_packages(workspace.root, case.args, workspace.env)

    return oracle


def package_case(
    workspace: Workspace, member: str, *args: str, defaults: bool = True, **options: Any
) -> Case:
    """``--package member ARGS`` with the member's own default groups (unless disabled)."""
    if defaults:
        options.setdefault("default_groups", workspace.member_defaults.get(member))
    return Case(("--package", member, *args), {"members": member, **options})


def cases(workspace: Workspace, kind: str) -> list[Case]:
    """The selections of one kind, for every member of ``workspace``."""
    lock = workspace.lock
    found: list[Case] = []
    for member in lock.members:
        groups = sorted(lock.groups_of(member) | lock.root_groups)
        if kind == "default":
            found.append(package_case(workspace, member))
        elif kind == "no-default-groups":
            found.append(package_case(workspace, member, "--no-default-groups", default_groups=()))
        elif kind == "all-extras":
            found.append(package_case(workspace, member, "--all-extras", all_extras=True))
        elif kind == "each-extra":
            found += [
                package_case(workspace, member, "--extra", extra, extras=[extra])
                for extra in sorted(lock.extras_of(member))
            ]
        elif kind == "each-group":
            found += [
                package_case(workspace, member, "--group", group, groups=[group])
                for group in groups
            ]
        elif kind == "each-only-group":
            found += [
                package_case(
                    workspace,
                    member,
                    "--only-group",
                    group,
                    defaults=False,
                    groups=[group],
                    only_groups=True,
                )
                for group in groups
            ]
        elif kind == "all-groups":
            found.append(package_case(workspace, member, "--all-groups", all_groups=True))
        elif kind == "no-emit-workspace":
            found.append(
                package_case(workspace, member, "--no-emit-workspace", install_members=False)
            )
    return found


KINDS = (
    "default",
    "no-default-groups",
    "all-extras",
    "each-extra",
    "each-group",
    "each-only-group",
    "all-groups",
    "no-emit-workspace",
)


def all_packages_cases(workspace: Workspace) -> list[Case]:
    defaults = workspace.root_defaults
    lock = workspace.lock
    found = [
        Case(("--all-packages",), {"default_groups": defaults}),
        Case(("--all-packages", "--no-default-groups"), {"default_groups": ()}),
        Case(("--all-packages", "--all-groups"), {"default_groups": defaults, "all_groups": True}),
        Case(("--all-packages", "--all-extras"), {"default_groups": defaults, "all_extras": True}),
    ]
    everywhere = set(lock.root_groups).union(*(lock.groups_of(m) for m in lock.members))
    found += [
        Case(("--all-packages", "--group", g), {"default_groups": defaults, "groups": [g]})
        for g in sorted(everywhere)
    ]
    return found


def several_packages_cases(workspace: Workspace) -> list[Case]:
    """Every pair of members as repeated ``--package`` (default groups: the root's)."""
    found = []
    for first, second in combinations(workspace.lock.members, 2):
        for args, options in (((), {}), (("--all-groups",), {"all_groups": True})):
            found.append(
                Case(
                    ("--package", first, "--package", second, *args),
                    {
                        "members": [first, second],
                        "default_groups": workspace.root_defaults,
                        **options,
                    },
                )
            )
    return found


# ---------------------------------------------------------------------------------------------
# Small workspaces against uv export


@pytest.mark.parametrize("kind", KINDS)
def test_every_member_closure_matches_uv_export(workspace: Workspace, kind: str) -> None:
    """For every member, each kind of selection lists what ``uv export --package`` lists."""
    assert mismatches(workspace, cases(workspace, kind), export_oracle(workspace)) == []


def test_all_packages_closure_matches_uv_export(workspace: Workspace) -> None:
    """``all_packages_closure`` is ``uv export --all-packages``, with each selection."""
    found = mismatches(workspace, all_packages_cases(workspace), export_oracle(workspace))
    assert found == []


def test_repeated_package_closure_matches_uv_export(workspace: Workspace) -> None:
    """Several targets (``--package A --package B``) follow uv's multi-target group rules."""
    found = mismatches(workspace, several_packages_cases(workspace), export_oracle(workspace))
    assert found == []


# ---------------------------------------------------------------------------------------------
# Behaviours worth naming (each also covered by the sweeps above)


@pytest.fixture(scope="module")
def virtual_root(
    tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path, uv_cache: Path
) -> Workspace:
    root = tmp_path_factory.mktemp("virtual")
    return build_workspace(root, wheelhouse, tool_env(uv_cache), virtual_root_files(wheelhouse))


def exported_names(workspace: Workspace, *args: str) -> list[str]:
    listed = uv_export_packages(workspace.root, args, workspace.env)
    assert not isinstance(listed, str), listed
    return sorted(name for name, _ in listed)


def test_a_virtual_roots_group_is_not_a_default_of_one_member(virtual_root: Workspace) -> None:
    """uv 0.13: ``b`` has no ``dev``; the virtual root's ``dev`` (zeta) stays out."""
    lock = virtual_root.lock
    assert "zeta" not in exported_names(virtual_root, "--package", "b")
    assert "zeta" not in [p.name for p in lock.closure("b")]


def test_an_explicit_group_falls_back_to_the_virtual_root(virtual_root: Workspace) -> None:
    """``--group dev`` on ``b`` (which lacks it) takes the root's; on ``a`` it takes a's."""
    lock = virtual_root.lock
    assert "zeta" in exported_names(virtual_root, "--package", "b", "--group", "dev")
    assert "zeta" in [p.name for p in lock.closure("b", groups=["dev"])]
    assert "zeta" not in exported_names(virtual_root, "--package", "a", "--group", "dev")
    assert "zeta" not in [p.name for p in lock.closure("a", groups=["dev"])]


def test_a_non_packaged_member_is_absent_but_its_dependencies_are_there(
    virtual_root: Workspace, tmp_path: Path
) -> None:
    """``c`` (``package = false``) is neither exported nor installed; ``b`` and beta are."""
    lock = virtual_root.lock
    assert "c" not in exported_names(virtual_root, "--package", "c")
    synced = uv_sync_dry_run_packages(
        virtual_root.root, ["--package", "c"], virtual_root.env, tmp_path / "venv"
    )
    assert not isinstance(synced, str), synced
    assert "c" not in {name for name, _ in synced}
    assert {"a", "b", "beta"} <= {name for name, _ in synced}
    names = [p.name for p in lock.closure("c")]
    assert "c" not in names
    assert {"a", "b", "beta"} <= set(names)


def test_a_platform_marker_is_in_the_union_only(virtual_root: Workspace) -> None:
    lock = virtual_root.lock
    assert "winonly" in exported_names(virtual_root, "--package", "a")
    assert "winonly" in [p.name for p in lock.closure("a")]
    linux = {**default_environment(), "sys_platform": "linux"}
    assert "winonly" not in [p.name for p in lock.closure("a", environment=linux)]


def test_both_forks_are_in_the_union(virtual_root: Workspace) -> None:
    lock = virtual_root.lock
    gammas = [(p.name, p.version) for p in lock.closure("f") if p.name == "gamma"]
    assert gammas == [("gamma", "1.0"), ("gamma", "2.0")]


def test_an_extra_and_a_group_in_conflict_are_refused_like_uv(virtual_root: Workspace) -> None:
    refused = uv_export_packages(
        virtual_root.root, ["--package", "a", "--extra", "x", "--group", "y"], virtual_root.env
    )
    assert isinstance(refused, str)
    assert "incompatible" in refused
    with pytest.raises(LockError, match="declared as conflicting"):
        virtual_root.lock.closure("a", extras=["x"], groups=["y"])


def test_the_lock_holds_conflict_markers(virtual_root: Workspace) -> None:
    """The workspace really exercises conflict markers (guards the sweep's relevance)."""
    text = (virtual_root.root / "uv.lock").read_text(encoding="utf-8")
    assert "extra == 'extra-1-a-x'" in text


# ---------------------------------------------------------------------------------------------
# One environment against uv sync --dry-run

ENVIRONMENT_SNIPPET = """
import json, os, platform, sys
def version(info):
    text = f"{info.major}.{info.minor}.{info.micro}"
    return text if info.releaselevel == "final" else text + info.releaselevel[0] + str(info.serial)
print(json.dumps({
    "implementation_name": sys.implementation.name,
    "implementation_version": version(sys.implementation.version),
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}))
"""


def interpreters() -> list[str]:
    """Real interpreters of several minor versions (>= 3.10) found beside the tests."""
    found = {f"{sys.version_info.major}.{sys.version_info.minor}": sys.executable}
    versions = Path.home() / ".pyenv" / "versions"
    if versions.is_dir():
        for folder in sorted(versions.iterdir()):
            minor = ".".join(folder.name.split(".")[:2])
            python = folder / "bin" / "python3"
            if minor in {"3.10", "3.11", "3.12", "3.13", "3.14"} and python.is_file():
                found.setdefault(minor, str(python))
    return [found[key] for key in sorted(found)]


def marker_environment(python: str) -> dict[str, str]:
    out = subprocess.run(
        [python, "-c", ENVIRONMENT_SNIPPET], capture_output=True, text=True, check=True
    )
    environment: dict[str, str] = json.loads(out.stdout)
    return environment


def sync_oracle(workspace: Workspace, python: str, venv: Path) -> Callable[[Case], Outcome]:
    env = {**workspace.env, "UV_PYTHON": python}

    def oracle(case: Case) -> Outcome:
        return uv_sync_dry_run_packages(workspace.root, case.args, env, venv)

    return oracle


def with_environment(found: Sequence[Case], environment: Mapping[str, object]) -> list[Case]:
    return [Case(case.args, {**case.options, "environment": environment}) for case in found]


@pytest.mark.parametrize("python", interpreters())
def test_every_member_closure_in_an_environment_matches_uv_sync(
    workspace: Workspace, python: str, tmp_path: Path
) -> None:
    """With the marker environment of an interpreter, a closure is what ``uv sync`` installs.

    Interpreters of several minor versions pick different forks (``gamma`` 1.0 below 3.12).
    """
    environment = marker_environment(python)
    found = with_environment(
        [c for kind in ("default", "all-extras", "all-groups") for c in cases(workspace, kind)]
        + all_packages_cases(workspace)[:1],
        environment,
    )
    oracle = sync_oracle(workspace, python, tmp_path / "venv")
    assert mismatches(workspace, found, oracle) == []


# ---------------------------------------------------------------------------------------------
# The real pydantic-ai workspace


def real_cases(workspace: Workspace, kind: str) -> list[Case]:
    if kind == "all-packages":
        return all_packages_cases(workspace)
    return cases(workspace, kind)


@pytest.mark.shared
@pytest.mark.parametrize(
    "kind",
    [
        "default",
        "no-default-groups",
        "all-extras",
        "each-extra",
        "each-group",
        "each-only-group",
        "all-groups",
        "all-packages",
    ],
)
def test_pydantic_ai_closures_match_uv_export(pydantic_ai: Workspace, kind: str) -> None:
    """Every member of the real pydantic-ai lock (conflict markers, forks, default-groups)
    has the closure ``uv export --frozen --package`` lists, for each kind of selection."""
    found = mismatches(pydantic_ai, real_cases(pydantic_ai, kind), export_oracle(pydantic_ai))
    assert found == []


@pytest.mark.shared
def test_pydantic_ai_closures_in_this_environment_match_uv_sync(
    pydantic_ai: Workspace, tmp_path: Path
) -> None:
    """In this interpreter's environment, every member's closure is what uv would install."""
    found = with_environment(
        cases(pydantic_ai, "default") + cases(pydantic_ai, "all-groups"), default_environment()
    )
    oracle = sync_oracle(pydantic_ai, sys.executable, tmp_path / "venv")
    assert mismatches(pydantic_ai, found, oracle) == []
