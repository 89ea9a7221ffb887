"""Random and hostile workspaces: the model agrees with uv, or refuses in one line of its own.

Hypothesis generates workspaces: 1 to 5 members (plus, at times, the root as a member) in
folders under ``packages/``, ``libs/`` and ``more/deep/`` whose names hold spaces, quotes and
non-ASCII letters; project names spelled with any case and separator; member globs (exact
paths, ``*``, ``*/*``), an ``exclude``, hidden folders and stray files; dependencies between
members in any graph, cycles included, some under markers or with extras; third-party
dependencies with markers, extras and version forks; extras and dependency groups (with
``include-group``) on members and on the root; ``default-groups`` and non-packaged members.

Properties:

* **discovery**, on every generated workspace and on one hostile change of it (a folder
  without ``pyproject.toml``, a member without ``[project]``, name or version, an invalid
  or duplicate name, broken TOML, a nested workspace, wrong types, include-group cycles...):
  ``discover`` returns exactly the members ``uv workspace list`` lists, or raises
  :class:`NoxWorkspaceError` with a one-line message where uv refuses too; never anything
  else;
* **closures**, on locked workspaces (no declared conflicts), for one marker environment
  and for the union over all platforms: without groups or extras, a member's closure holds
  the closure of each member it depends on unconditionally; the union's closure holds every
  member's; adding a group or an extra never removes a package name; and ``affected`` of an
  empty change, or of a ``uv.lock`` rewritten identically, is empty;
* **agreement with uv**, on a small sample: every member's closure (no groups, default
  groups, each group, each extra) and the union's are what ``uv export --frozen`` lists,
  and uv refuses exactly the selections the model refuses.
"""

from __future__ import annotations

import functools
import json
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from packaging.markers import default_environment
from packaging.utils import canonicalize_name

from nox_workspace._affected import LockSnapshot, plan_affected
from nox_workspace._errors import NoxWorkspaceError
from nox_workspace._lock import Lock, LockedPackage, parse_lock
from nox_workspace._workspace import Workspace, discover
from tests.support import offline_index, run_uv, tool_env, uv_export_packages, write_tree

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

pytestmark = pytest.mark.functional

HERE = {key: str(value) for key, value in default_environment().items()}
BASES = ("core", "app", "tool", "util", "web", "data", "api", "shell")
PARENTS = ("packages", "libs", "more/deep")
FOLDER_WORDS = ("pkg", "my pkg", "naïve", "it's", "x_y", "Zed")
GROUPS = ("dev", "test", "lint", "docs")
EXTRAS = ("fast", "cli", "all")
MARKERS = (
    "sys_platform == 'win32'",
    "sys_platform != 'win32'",
    "python_version < '3.12'",
    "python_version >= '3.12'",
    "platform_machine == 'x86_64'",
    "implementation_name == 'pypy'",
    "sys_platform == 'linux' and python_version >= '3.11'",
    "sys_platform == 'darwin' or python_version < '3.11'",
)
#: Third-party requirements the shared wheelhouse satisfies together (gamma forks).
THIRD_PARTY = (
    "alpha",
    "beta",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "kappa[fast]",
    "winonly; sys_platform == 'win32'",
    "gamma<2; python_version < '3.12'",
    "gamma>=2; python_version >= '3.12'",
)


# --------------------------------------------------------------------------------------------
# Generated workspaces


@dataclass(frozen=True)
class Requirement:
    """A requirement on a member (``member`` is its normalized name) or a third party."""

    text: str
    member: str | None = None
    extras: tuple[str, ...] = ()
    marker: str | None = None

    def render(self, spelling: Mapping[str, str]) -> str:
        if self.member is None:
            return self.text
        text = spelling[self.member]
        if self.extras:
            text += "[" + ",".join(self.extras) + "]"
        return text + (f"; {self.marker}" if self.marker else "")


@dataclass(frozen=True)
class Member:
    name: str
    spelling: str
    folder: str
    dependencies: tuple[Requirement, ...] = ()
    extras: Mapping[str, tuple[Requirement, ...]] = field(default_factory=dict)
    groups: Mapping[str, tuple[Requirement | str, ...]] = field(default_factory=dict)
    packaged: bool = True
    default_groups: tuple[str, ...] | str | None = None

    def targets(self) -> set[str]:
        """The members this one names anywhere (they need a workspace source)."""
        requirements = [*self.dependencies, *(r for rs in self.extras.values() for r in rs)]
        requirements += [r for rs in self.groups.values() for r in rs if isinstance(r, Requirement)]
        return {r.member for r in requirements if r.member is not None}


@dataclass(frozen=True)
class Spec:
    members: tuple[Member, ...]
    patterns: tuple[str, ...]
    root_member: Member | None = None
    root_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sources_at_root: bool = False
    decoys: bool = False

    @property
    def all_members(self) -> tuple[Member, ...]:
        return (*self.members, *([self.root_member] if self.root_member else []))


def toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(toml_string(item) for item in items) + "]"


def member_tables(member: Member, spelling: Mapping[str, str]) -> list[str]:
    """``[project]``, its extras and the dependency groups."""
    lines = [
        "[project]",
        f"name = {toml_string(member.spelling)}",
        'version = "0.1.0"',
        'requires-python = ">=3.10"',
        f"dependencies = {toml_list([r.render(spelling) for r in member.dependencies])}",
    ]
    if member.extras:
        lines.append("[project.optional-dependencies]")
        for extra, requirements in member.extras.items():
            lines.append(f"{extra} = {toml_list([r.render(spelling) for r in requirements])}")
    if member.groups:
        lines.append("[dependency-groups]")
        for group, entries in member.groups.items():
            items = [
                toml_string(e.render(spelling))
                if isinstance(e, Requirement)
                else "{include-group = " + toml_string(e) + "}"
                for e in entries
            ]
            lines.append(f"{group} = [{', '.join(items)}]")
    return lines


def uv_settings(member: Member) -> list[str]:
    """The member's lines of ``[tool.uv]``."""
    settings: list[str] = []
    if not member.packaged:
        settings.append("package = false")
    if member.default_groups == "all":
        settings.append('default-groups = "all"')
    elif isinstance(member.default_groups, tuple):
        settings.append(f"default-groups = {toml_list(member.default_groups)}")
    return settings


def sources(targets: set[str], spelling: Mapping[str, str]) -> list[str]:
    if not targets:
        return []
    lines = ["[tool.uv.sources]"]
    lines += [f"{toml_string(spelling[t])} = {{ workspace = true }}" for t in sorted(targets)]
    return lines


BUILD = ["[build-system]", 'requires = ["uv_build>=0.8,<0.20"]', 'build-backend = "uv_build"']


def render(spec: Spec, wheelhouse: Path) -> dict[str, str | bytes]:
    """The workspace's files: relative path -> content."""
    spelling = {member.name: member.spelling for member in spec.all_members}
    at_root = {t for member in spec.all_members for t in member.targets()}
    root: list[str] = []
    settings: list[str] = []
    if spec.root_member is not None:
        root += member_tables(spec.root_member, spelling)
        settings = uv_settings(spec.root_member)
        at_root = at_root if spec.sources_at_root else spec.root_member.targets()
    else:
        at_root = at_root if spec.sources_at_root else set()
        if spec.root_groups:
            root.append("[dependency-groups]")
            root += [f"{group} = {toml_list(items)}" for group, items in spec.root_groups.items()]
    root += ["[tool.uv.workspace]", f"members = {toml_list(spec.patterns)}"]
    if spec.decoys:
        root.append('exclude = ["packages/zz-*"]')
    root += ["[tool.uv]", offline_index(wheelhouse).strip(), *settings]
    root += sources(at_root, spelling)
    if spec.root_member is not None and spec.root_member.packaged:
        root += BUILD
    files: dict[str, str | bytes] = {"pyproject.toml": "\n".join(root) + "\n"}
    for member in spec.members:
        lines = member_tables(member, spelling)
        settings = uv_settings(member)
        lines += ["[tool.uv]", *settings] if settings else []
        lines += [] if spec.sources_at_root else sources(member.targets(), spelling)
        lines += BUILD if member.packaged else []
        files[f"{member.folder}/pyproject.toml"] = "\n".join(lines) + "\n"
    if spec.decoys:
        files["packages/.cache/notes.txt"] = "not a member\n"
        files["packages/README.md"] = "a file the glob matches\n"
        files["packages/zz-old/pyproject.toml"] = '[project]\nname = "zz-old"\nversion = "1"\n'
    return files


def spell(name: str, draw: Callable[[Any], Any]) -> str:
    """``name`` as a user may write it: any case, ``-`` as ``_`` or ``.``, normalized alike."""
    separator = draw(st.sampled_from(["-", "_", "."]))
    text = name.replace("-", separator)
    return "".join(draw(st.sampled_from([c.lower(), c.upper()])) for c in text)


@st.composite
def specs(draw: Callable[[Any], Any]) -> Spec:
    count = draw(st.integers(1, 5))
    bases = draw(st.lists(st.sampled_from(BASES), min_size=count, max_size=count, unique=True))
    suffixed = [base + draw(st.sampled_from(["", "-lib", "-x2"])) for base in bases]
    root_is_member = draw(st.booleans())
    names = [*suffixed, *(["root-project"] if root_is_member else [])]
    own_groups = {name: draw(st.lists(st.sampled_from(GROUPS), unique=True)) for name in names}
    own_extras = {
        name: draw(st.lists(st.sampled_from(EXTRAS), unique=True, max_size=2)) for name in names
    }

    def requirement(source: str) -> Requirement:
        if draw(st.integers(0, 2)) == 0:
            return Requirement(draw(st.sampled_from(THIRD_PARTY)))
        target = draw(st.sampled_from(names))
        extras = tuple(draw(st.lists(st.sampled_from(own_extras[target] or ["none"]), unique=True)))
        extras = tuple(extra for extra in extras if extra != "none")
        marker = draw(st.none() | st.none() | st.sampled_from(MARKERS))
        if target == source and not extras:
            return Requirement(draw(st.sampled_from(THIRD_PARTY)))
        return Requirement("", target, extras, marker)

    members: list[Member] = []
    used: set[str] = set()
    for index, name in enumerate(names):
        if name == "root-project":
            folder = "."
        else:
            parent = draw(st.sampled_from(PARENTS))
            folder = f"{parent}/{draw(st.sampled_from(FOLDER_WORDS))} {index}"
        dependencies = tuple(requirement(name) for _ in range(draw(st.integers(0, 3))))
        extras = {
            extra: tuple(requirement(name) for _ in range(draw(st.integers(1, 2))))
            for extra in own_extras[name]
        }
        groups: dict[str, tuple[Requirement | str, ...]] = {}
        for group in own_groups[name]:
            entries: list[Requirement | str] = [
                requirement(name) for _ in range(draw(st.integers(0, 2)))
            ]
            if groups and draw(st.booleans()):
                entries.append(draw(st.sampled_from(sorted(groups))))
            groups[group] = tuple(entries)
        default_groups = draw(
            st.sampled_from([None, "all", ()])
            | st.lists(st.sampled_from(own_groups[name] or ["dev"]), unique=True).map(tuple)
        )
        if isinstance(default_groups, tuple) and not set(default_groups) <= set(groups):
            default_groups = None
        used.add(name)
        members.append(
            Member(
                name=name,
                spelling=spell(name, draw),
                folder=folder,
                dependencies=dependencies,
                extras=extras,
                groups=groups,
                packaged=draw(st.booleans()) or draw(st.booleans()),
                default_groups=default_groups,
            )
        )
    root_member = members.pop() if root_is_member else None
    patterns: list[str] = []
    for parent in PARENTS:
        inside = [member.folder for member in members if member.folder.startswith(parent + "/")]
        if not inside:
            continue
        style = draw(st.sampled_from(["exact", "star", "star-star"]))
        if style == "exact":
            patterns += inside
        elif style == "star" or parent != "more/deep":
            patterns.append(f"{parent}/*")
        else:
            patterns.append("more/*/*")
    decoys = "packages/*" in patterns and draw(st.booleans())
    root_groups = {}
    if root_member is None:
        root_groups = {
            group: tuple(draw(st.lists(st.sampled_from(THIRD_PARTY[:6]), max_size=2)))
            for group in draw(st.lists(st.sampled_from(["dev", "lint"]), unique=True))
        }
    return Spec(
        members=tuple(members),
        patterns=tuple(draw(st.permutations(patterns))),
        root_member=root_member,
        root_groups=root_groups,
        sources_at_root=draw(st.booleans()),
        decoys=decoys,
    )


# --------------------------------------------------------------------------------------------
# Hostile changes


def _first_member_file(files: dict[str, str | bytes]) -> str:
    return _member_files(files)[0]


def _member_files(files: Mapping[str, str | bytes]) -> list[str]:
    return sorted(path for path in files if path.endswith("/pyproject.toml") and "zz-" not in path)


def _edit(files: dict[str, str | bytes], path: str, old: str, new: str) -> None:
    text = files[path]
    assert isinstance(text, str)
    files[path] = text.replace(old, new, 1)


def _first_line(path: str, extra: str) -> Callable[[dict[str, str | bytes]], None]:
    return lambda files: _edit(files, path, "[project]\n", f"[project]\n{extra}")


def _mutations(
    files: dict[str, str | bytes],
) -> dict[str, Callable[[dict[str, str | bytes]], None]]:
    member = _first_member_file(files)
    text = files[member]
    assert isinstance(text, str)
    name_line = next(line for line in text.splitlines() if line.startswith("name = "))
    others = [path for path in _member_files(files) if path != member]
    parent = member.rsplit("/", 2)[0] if member.count("/") >= 2 else "."

    def replace_line(old: str, new: str) -> Callable[[dict[str, str | bytes]], None]:
        return lambda f: _edit(f, member, old, new)

    def set_file(path: str, content: str | bytes) -> Callable[[dict[str, str | bytes]], None]:
        def apply(f: dict[str, str | bytes]) -> None:
            f[path] = content

        return apply

    found: dict[str, Callable[[dict[str, str | bytes]], None]] = {
        "a matched folder without pyproject.toml": set_file(f"{parent}/orphan/README.md", "x\n")
        if parent != "."
        else set_file("packages/orphan/README.md", "x\n"),
        "a hidden folder without pyproject.toml": set_file(f"{parent}/.hidden/x.txt", "x\n"),
        "no [project] table": set_file(member, "[tool.black]\nline-length = 99\n"),
        "no name": replace_line(name_line + "\n", ""),
        "a name with a space": replace_line(name_line, 'name = "my pkg"'),
        "a name ending in a dash": replace_line(name_line, 'name = "bad-"'),
        "a name that is not a string": replace_line(name_line, "name = 3"),
        "no version": replace_line('version = "0.1.0"\n', ""),
        "a dynamic version": replace_line('version = "0.1.0"\n', 'dynamic = ["version"]\n'),
        "broken TOML": set_file(member, "[project\nname = \n"),
        "bytes that are not UTF-8": set_file(member, b'\xff\xfe[project]\nname = "a"\n'),
        "a nested workspace": replace_line(
            "[project]\n", "[tool.uv.workspace]\nmembers = []\n[project]\n"
        ),
        "members is a string": lambda f: _edit(
            f, "pyproject.toml", "members = [", 'members = "packages/*"\nignored = ['
        ),
        "tool.uv is a number": replace_line("[project]\n", "tool = { uv = 1 }\n[project]\n"),
        "dependencies is a string": replace_line(
            "dependencies = [", 'dependencies = "alpha"\nx = ['
        ),
        "requires-python is not a specifier": replace_line('">=3.10"', '"banana"'),
        "a group including itself": replace_line(
            "[project]\n", "[dependency-groups]\nloop = [{include-group = 'loop'}]\n[project]\n"
        ),
        "a group including an unknown group": replace_line(
            "[project]\n", "[dependency-groups]\nx = [{include-group = 'nowhere'}]\n[project]\n"
        ),
        "an invalid group name": replace_line(
            "[project]\n", "[dependency-groups]\n'a b' = []\n[project]\n"
        ),
        "an invalid extra name": replace_line(
            "[project]\n", "[project.optional-dependencies]\n'a b' = []\n[project]\n"
        ),
        "managed = false": replace_line(
            "[project]\n", "tool = { uv = { managed = false } }\n[project]\n"
        ),
    }
    if others:
        other = others[0]
        found["a duplicate name"] = lambda f: _edit(
            f,
            other,
            next(x for x in str(f[other]).splitlines() if x.startswith("name = ")),
            name_line.upper(),
        )
    return found


MUTATIONS = (
    "none",
    "a matched folder without pyproject.toml",
    "a hidden folder without pyproject.toml",
    "no [project] table",
    "no name",
    "a name with a space",
    "a name ending in a dash",
    "a name that is not a string",
    "no version",
    "a dynamic version",
    "broken TOML",
    "bytes that are not UTF-8",
    "a nested workspace",
    "members is a string",
    "tool.uv is a number",
    "dependencies is a string",
    "requires-python is not a specifier",
    "a group including itself",
    "a group including an unknown group",
    "an invalid group name",
    "an invalid extra name",
    "managed = false",
    "a duplicate name",
)


# --------------------------------------------------------------------------------------------
# Helpers


def materialize(files: Mapping[str, str | bytes], folder: Path) -> Path:
    root = folder / "ws root"
    text = {k: v for k, v in files.items() if isinstance(v, str)}
    write_tree(root, dict(text))
    for path, content in files.items():
        if isinstance(content, bytes):
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(content)
    return root


def model(call: Callable[[], Any]) -> Any:
    """Run the model: its answer, or its own error, which must be one line. Any other
    exception propagates and fails the test."""
    try:
        return call()
    except NoxWorkspaceError as error:
        caught = error
    assert "\n" not in str(caught), f"a multi-line error: {caught}"
    return caught


def names(packages: Sequence[LockedPackage]) -> set[str]:
    return {package.name for package in packages}


def lock_workspace(spec: Spec, wheelhouse: Path, env: dict[str, str], folder: Path) -> Path:
    root = materialize(render(spec, wheelhouse), folder)
    locked = run_uv(["lock"], root, env, check=False)
    assume(locked.returncode == 0)
    return root


def select(lock: Lock, target: str | None, options: dict[str, Any]) -> tuple[LockedPackage, ...]:
    """One member's closure, or the union's (``target`` None)."""
    if target is None:
        return lock.all_packages_closure(**options)
    return lock.closure(target, **options)


def unconditional_member_edges(member: Member) -> list[str]:
    return [
        r.member
        for r in member.dependencies
        if r.member is not None and r.marker is None and r.member != member.name
    ]


# --------------------------------------------------------------------------------------------
# Properties


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spec=specs(), mutation=st.sampled_from(MUTATIONS))
def test_discovery_lists_what_uv_lists_or_refuses_in_one_line(
    spec: Spec, mutation: str, wheelhouse: Path, uv_cache: Path
) -> None:
    """``discover`` finds exactly ``uv workspace list``'s members, or, where uv refuses,
    raises its own one-line error; it never raises anything else. Refusing more than
    ``uv workspace list`` is allowed only where ``uv lock`` refuses too."""
    env = tool_env(uv_cache)
    files = render(spec, wheelhouse)
    change = _mutations(files).get(mutation)
    assume(mutation == "none" or change is not None)
    if change is not None:
        change(files)
    with tempfile.TemporaryDirectory() as folder:
        root = materialize(files, Path(folder))
        ours = model(lambda: discover(root))
        listed = run_uv(["workspace", "list"], root, env, check=False)
        if listed.returncode == 0:
            if isinstance(ours, NoxWorkspaceError):
                locked = run_uv(["lock", "--dry-run"], root, env, check=False)
                assert locked.returncode != 0, f"uv accepts what we refuse: {ours}"
            else:
                assert sorted(ours.names) == sorted(
                    canonicalize_name(n) for n in listed.stdout.split()
                )
        else:
            assert isinstance(ours, NoxWorkspaceError), (
                f"uv refuses ({listed.stderr.strip().splitlines()[-1]}), we list {ours.names}"
            )


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(spec=specs())
def test_closures_grow_with_what_is_asked_and_an_empty_change_affects_nothing(
    spec: Spec, wheelhouse: Path, uv_cache: Path
) -> None:
    """On a locked workspace, for this machine's markers and for every platform at once:
    a member's closure (no groups, no extras) holds the closure of each member it depends on
    without a marker; the union's holds every member's; a group or an extra only adds; and
    an empty change, or a ``uv.lock`` rewritten as it was, affects no member."""
    env = tool_env(uv_cache)
    with tempfile.TemporaryDirectory() as folder:
        root = lock_workspace(spec, wheelhouse, env, Path(folder))
        workspace = discover(root)
        raw = (root / "uv.lock").read_bytes()
        lock = parse_lock(tomllib.loads(raw.decode()), root / "uv.lock")
        by_name = {member.name: member for member in spec.all_members}
        for environment in (HERE, None):
            check_closure_properties(workspace, lock, by_name, environment)
        assert plan_affected(workspace, []).affected == ()
        snapshot = LockSnapshot.from_bytes(raw, root / "uv.lock")
        same = plan_affected(workspace, ["uv.lock"], old_lock=snapshot, new_lock=snapshot)
        assert same.affected == ()


def check_closure_properties(
    workspace: Workspace,
    lock: Lock,
    by_name: Mapping[str, Member],
    environment: Mapping[str, str] | None,
) -> None:
    def closure(member: str, **options: Any) -> set[str] | NoxWorkspaceError:
        found = model(lambda: lock.closure(member, environment=environment, **options))
        return found if isinstance(found, NoxWorkspaceError) else names(found)

    bare = {name: closure(name, default_groups=()) for name in workspace.names}
    for packages in bare.values():
        assert not isinstance(packages, NoxWorkspaceError), packages
    union = model(lambda: lock.all_packages_closure(default_groups=(), environment=environment))
    assert not isinstance(union, NoxWorkspaceError), union
    for name in workspace.names:
        mine = bare[name]
        assert isinstance(mine, set)
        assert mine <= names(union), f"the union lacks {sorted(mine - names(union))} of {name}"
        for target in unconditional_member_edges(by_name[name]):
            theirs = bare[target]
            assert isinstance(theirs, set)
            assert theirs <= mine, f"{name} needs {target} but lacks {sorted(theirs - mine)}"
        member = workspace.member(name)
        for group in sorted({*member.dependency_groups, *workspace.root_groups}):
            more = closure(name, default_groups=(), groups=[group])
            if not isinstance(more, NoxWorkspaceError):
                assert mine <= more, f"group {group} of {name} removes {sorted(mine - more)}"
        for extra in member.optional_dependencies:
            more = closure(name, default_groups=(), extras=[extra])
            assert isinstance(more, set), more
            assert mine <= more, f"extra {extra} of {name} removes {sorted(mine - more)}"
        with_defaults = closure(name, default_groups=member.default_groups)
        if not isinstance(with_defaults, NoxWorkspaceError):
            assert mine <= with_defaults


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(spec=specs())
def test_closures_are_what_uv_export_lists(spec: Spec, wheelhouse: Path, uv_cache: Path) -> None:
    """Every member's closure, with no groups, its default groups, each group and each
    extra, and the union's, are what ``uv export --frozen`` lists; where uv refuses the
    selection, the model refuses it with a one-line error of its own."""
    env = tool_env(uv_cache)
    with tempfile.TemporaryDirectory() as folder:
        root = lock_workspace(spec, wheelhouse, env, Path(folder))
        workspace = discover(root)
        lock = parse_lock(tomllib.loads((root / "uv.lock").read_text("utf-8")), root / "uv.lock")
        cases: list[tuple[list[str], str | None, dict[str, Any]]] = [
            (["--all-packages", "--no-default-groups"], None, {"default_groups": ()})
        ]
        for member in workspace.members:
            name, none = member.name, "--no-default-groups"
            cases.append((["--package", name, none], name, {"default_groups": ()}))
            defaults = {"default_groups": member.default_groups}
            cases.append((["--package", name], name, defaults))
            for group in sorted({*member.dependency_groups, *workspace.root_groups}):
                options = {"default_groups": (), "groups": [group]}
                cases.append((["--package", name, none, "--group", group], name, options))
            for extra in sorted(member.optional_dependencies):
                options = {"default_groups": (), "extras": [extra]}
                cases.append((["--package", name, none, "--extra", extra], name, options))
        problems = []
        for args, target, options in cases:
            listed = uv_export_packages(root, args, env)
            got = model(functools.partial(select, lock, target, options))
            if isinstance(listed, str) or isinstance(got, NoxWorkspaceError):
                if isinstance(listed, str) != isinstance(got, NoxWorkspaceError):
                    problems.append(f"{args}: uv says {listed!r}, we say {got!r}")
                continue
            unversioned = {n for n, version in listed if version is None}
            keyed = {(p.name, None if p.name in unversioned else p.version) for p in got}
            if keyed != listed:
                problems.append(
                    f"{args}: only uv lists {sorted(listed - keyed, key=str)}, "
                    f"only we list {sorted(keyed - listed, key=str)}"
                )
        assert problems == []


# --------------------------------------------------------------------------------------------
# A hostile uv.lock

#: A workspace with a bit of everything a lock can hold: a cycle, extras on edges, forks,
#: markers, groups of members and of a virtual root, a non-packaged member.
RICH = Spec(
    members=(
        Member(
            name="a",
            spelling="A",
            folder="packages/a",
            dependencies=(
                Requirement("", "b", ("x",)),
                Requirement("gamma<2; python_version < '3.12'"),
                Requirement("gamma>=2; python_version >= '3.12'"),
            ),
            groups={"dev": (Requirement("zeta"),), "test": ("dev", Requirement("", "c"))},
        ),
        Member(
            name="b",
            spelling="b",
            folder="packages/b",
            dependencies=(Requirement("", "a", (), "sys_platform != 'win32'"),),
            extras={
                "x": (Requirement("kappa[fast]"), Requirement("winonly; sys_platform == 'win32'"))
            },
        ),
        Member(
            name="c",
            spelling="c",
            folder="libs/c",
            dependencies=(Requirement("epsilon"),),
            packaged=False,
        ),
    ),
    patterns=("packages/*", "libs/c"),
    root_groups={"lint": ("eta",)},
)

TOML_VALUES = st.recursive(
    st.booleans() | st.integers(-3, 3) | st.text(max_size=12) | st.sampled_from(["a", "b", "1.0"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path, uv_cache: Path) -> Path:
    root = materialize(render(RICH, wheelhouse), tmp_path_factory.mktemp("rich"))
    run_uv(["lock"], root, tool_env(uv_cache))
    return root


def value_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The key path of every value below ``node`` (tables and arrays included)."""
    found = [prefix] if prefix else []
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        found += value_paths(child, (*prefix, key))
    return found


@st.composite
def damaged(draw: Callable[[Any], Any], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` after one to three changes: a value deleted or replaced by another."""
    copy: dict[str, Any] = json.loads(json.dumps(data))
    for _ in range(draw(st.integers(1, 3))):
        paths = value_paths(copy)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = copy
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(TOML_VALUES)
    return copy


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_damaged_lock_gives_an_answer_or_one_line_of_ours(
    rich: Path, data: st.DataObject
) -> None:
    """A ``uv.lock`` with values deleted or replaced (wrong types, unknown names, broken
    tables) is read, its closures computed for every member and the union (this machine and
    every platform) and compared with the original by ``affected``: each step answers or
    raises the model's own one-line error, never any other exception."""
    path = rich / "uv.lock"
    original = tomllib.loads(path.read_text("utf-8"))
    broken = data.draw(damaged(original))
    workspace = discover(rich)
    lock = model(lambda: parse_lock(broken, path))
    if isinstance(lock, Lock):
        for environment in (HERE, None):
            for member in lock.members:
                model(functools.partial(lock.closure, member, environment=environment))
            model(functools.partial(lock.all_packages_closure, environment=environment))
    new = model(lambda: LockSnapshot.from_mapping(broken, path))
    if isinstance(new, LockSnapshot):
        old = LockSnapshot.from_mapping(original, path)
        model(lambda: plan_affected(workspace, ["uv.lock"], old_lock=old, new_lock=new))
