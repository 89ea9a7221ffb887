"""Discovery: find a uv workspace's root and members exactly as uv does.

Discovery reads ``pyproject.toml`` files and nothing else: no subprocess, no ``uv.lock``. It is
what runs when a noxfile loads, so it must be cheap and must fail early, with one line, where
uv would refuse the workspace.
"""

from __future__ import annotations

import contextlib
import fnmatch
import marshal
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from nox_workspace import _pyproject
from nox_workspace._errors import DiscoveryError
from nox_workspace._glob import (
    clean_relpath,
    exclude_matcher,
    expand_members,
    holds_only_ignored_files,
    member_folders,
    normalize,
    owner,
)
from nox_workspace._settings import Settings, parse_settings
from nox_workspace._toml import load_toml, load_toml_if_present

__all__ = [
    "CACHE_NAME",
    "ROOT_PYPROJECT",
    "Edge",
    "EdgeKind",
    "Member",
    "Skipped",
    "Workspace",
    "discover",
    "load_workspace",
]

EdgeKind = Literal["dependency", "extra", "group"]
#: The root's ``pyproject.toml``: global by table, never a member's file.
ROOT_PYPROJECT: Final = "pyproject.toml"
#: How discovery reads one ``pyproject.toml``: its table, or ``None`` when there is no file.
_Read = Callable[[Path], "dict[str, Any] | None"]
#: The parse cache's file name inside its folder (Nox's ``.nox/``).
CACHE_NAME = "nox-workspace-discovery.cache"


@dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    """``source`` depends on the workspace member ``target``.

    ``kind`` says where the requirement stands: ``dependency`` (``project.dependencies``),
    ``extra`` (``project.optional-dependencies``, ``via`` names the extra) or ``group``
    (``[dependency-groups]``, ``via`` names the group).
    """

    source: str
    target: str
    kind: EdgeKind
    via: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    """One workspace member, as its ``pyproject.toml`` declares it.

    ``virtual`` members are not packaged (``[tool.uv] package = false``, or no build
    system): uv installs their dependencies but not the member itself.
    """

    name: str
    path: Path
    relpath: str
    pyproject: Path
    virtual: bool
    is_root: bool
    requires_python: str | None
    dependencies: tuple[str, ...]
    optional_dependencies: Mapping[str, tuple[str, ...]] = field(hash=False)
    dependency_groups: Mapping[str, tuple[str, ...]] = field(hash=False)
    default_groups: tuple[str, ...] | Literal["all"]
    edges: tuple[Edge, ...]
    settings: Settings = field(default=Settings(), hash=False)
    dynamic: tuple[str, ...] = ()

    @property
    def dynamic_dependencies(self) -> bool:
        """Whether a build backend fills in the dependencies (``project.dynamic``), so that the
        file alone does not show every edge; the lock does."""
        return "dependencies" in self.dynamic or "optional-dependencies" in self.dynamic

    @property
    def depends_on(self) -> tuple[str, ...]:
        """Names of the members this one depends on, through any kind of edge, sorted."""
        return tuple(sorted({edge.target for edge in self.edges if edge.target != self.name}))

    @property
    def extras(self) -> tuple[str, ...]:
        """Names of the member's extras, sorted."""
        return tuple(sorted(self.optional_dependencies))

    @property
    def groups(self) -> tuple[str, ...]:
        """Names of the member's dependency groups, sorted."""
        return tuple(sorted(self.dependency_groups))

    def resolved_default_groups(self) -> tuple[str, ...]:
        """The groups ``uv sync --package`` turns on by default for this member."""
        if self.default_groups == "all":
            return self.groups
        return self.default_groups


@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    """A folder a ``members`` glob matched that is not a member, and why (uv is silent)."""

    relpath: str
    reason: str

    def __str__(self) -> str:
        return f"{self.relpath}: {self.reason}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Workspace:
    """A uv workspace: its root, its members (sorted by name) and the root's groups.

    A *virtual root* (a root ``pyproject.toml`` without ``[project]``) is not a member, but
    its ``[dependency-groups]`` still exist (``root_groups``), and so does its
    ``[tool.nox-workspace]`` (``settings``, which holds ``global`` there). ``skipped`` are the
    folders the globs matched that uv leaves out silently.
    """

    root: Path
    pyproject: Path
    members: tuple[Member, ...]
    root_groups: Mapping[str, tuple[str, ...]] = field(hash=False)
    root_default_groups: tuple[str, ...] | Literal["all"]
    skipped: tuple[Skipped, ...] = ()
    settings: Settings = field(default=Settings(), hash=False)

    @property
    def lock_path(self) -> Path:
        """Where uv keeps the workspace's lock file."""
        return self.root / "uv.lock"

    @property
    def names(self) -> tuple[str, ...]:
        """Member names, sorted."""
        return tuple(member.name for member in self.members)

    @property
    def dynamic_members(self) -> frozenset[str]:
        """Members whose build backend fills in their dependencies: only ``uv.lock`` shows
        all of their edges (see ``Member.dynamic_dependencies``)."""
        return frozenset(member.name for member in self.members if member.dynamic_dependencies)

    @property
    def root_member(self) -> Member | None:
        """The root, when it is a member itself (it has a ``[project]`` table)."""
        return next((member for member in self.members if member.is_root), None)

    @property
    def requires_python(self) -> str | None:
        """The intersection of the members' ``requires-python``, as uv computes it."""
        # Members usually share one range: each distinct one is parsed once.
        specifiers = dict.fromkeys(m.requires_python for m in self.members if m.requires_python)
        if not specifiers:
            return None
        combined = SpecifierSet(",".join(specifiers))
        return str(combined) or None

    def member(self, name: str) -> Member:
        """The member called ``name`` (any spelling that normalizes to it)."""
        wanted = canonicalize_name(name)
        for member in self.members:
            if member.name == wanted:
                return member
        raise DiscoveryError(
            f"no workspace member named {name!r}",
            path=self.pyproject,
            hint=f"members are: {', '.join(self.names) or '(none)'}",
        )

    def select(self, patterns: Iterable[str]) -> tuple[Member, ...]:
        """The members ``patterns`` name, sorted: one rule for ``members=`` and ``--member``.

        A pattern is a member name in any spelling that normalizes to it (``GREET`` is
        ``greet``), a member's folder relative to the root, or a glob (``*``, ``?``,
        ``[...]``) over the normalized names and the folders. A plain pattern that names no
        member, or patterns that select nothing, are a :class:`DiscoveryError`.
        """
        wanted = list(patterns)
        chosen: dict[str, Member] = {}
        for pattern in wanted:
            if any(char in pattern for char in "*?["):
                name_glob = canonicalize_name(pattern)
                folder_glob = clean_relpath(pattern)
                for member in self.members:
                    if fnmatch.fnmatchcase(member.name, name_glob) or fnmatch.fnmatchcase(
                        member.relpath, folder_glob
                    ):
                        chosen.setdefault(member.name, member)
                continue
            folder = clean_relpath(pattern)
            by_folder = [member for member in self.members if member.relpath == folder]
            member = by_folder[0] if by_folder else self.member(pattern)
            chosen.setdefault(member.name, member)
        if not chosen:
            raise DiscoveryError(
                f"{wanted!r} matches no member",
                path=self.pyproject,
                hint="members are: " + (", ".join(self.names) or "(none)"),
            )
        return tuple(sorted(chosen.values(), key=lambda member: member.name))

    def owner_of(self, path: str) -> Member | None:
        """The member whose folder holds ``path`` (root-relative, ``/``-separated); the rule
        is :meth:`path_owner`'s."""
        name = self.path_owner()(path)
        return None if name is None else self.member(name)

    def path_owner(self) -> Callable[[str], str | None]:
        """Which member a root-relative path belongs to, or ``None``: the one rule, prepared
        once for many paths (the affected planner and the row keys ask it for every file).

        The deepest member folder that holds the path wins. A root member's own files are the
        files directly at the root and its package folders as build backends find them by
        default (``src/`` and ``<import name>/``); other root folders (``tests/``, ``docs/``)
        belong to no member until a session says it reads them or the root declares them
        global. The root ``pyproject.toml`` belongs to no member: it counts by table.
        """
        root = self.root_member
        folders = member_folders(
            {member.name: member.relpath for member in self.members if member is not root}
        )
        package_dirs = ("src", root.name.replace("-", "_")) if root is not None else ()

        def owner_of(path: str) -> str | None:
            if path == ROOT_PYPROJECT:
                return None
            holder = owner(path, folders)
            if holder is not None or root is None or path.startswith("../"):
                return holder
            first, slash, _ = path.partition("/")
            return root.name if not slash or first in package_dirs else None

        return owner_of

    def with_edges(self, edges: Iterable[Edge]) -> Workspace:
        """A copy whose members also have ``edges`` (each on its source member)."""
        extra: dict[str, list[Edge]] = {}
        for edge in edges:
            extra.setdefault(edge.source, []).append(edge)
        if not extra:
            return self
        members = tuple(
            replace(m, edges=tuple(dict.fromkeys((*m.edges, *extra.get(m.name, ())))))
            for m in self.members
        )
        return replace(self, members=members)

    def dependencies(self) -> Mapping[str, tuple[str, ...]]:
        """Member name -> names of the members it depends on (the member graph)."""
        return {member.name: member.depends_on for member in self.members}

    def dependents(self) -> Mapping[str, tuple[str, ...]]:
        """Member name -> names of the members that depend on it (the reverse graph)."""
        reverse: dict[str, set[str]] = {name: set() for name in self.names}
        for member in self.members:
            for target in member.depends_on:
                reverse.setdefault(target, set()).add(member.name)
        return {name: tuple(sorted(sources)) for name, sources in reverse.items()}

    def topological_order(self) -> tuple[str, ...]:
        """Members with every dependency before its dependents; cycles keep name order."""
        graph = self.dependencies()
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(name: str) -> None:
            if state.get(name):
                return
            state[name] = 1
            for target in graph.get(name, ()):
                visit(target)
            state[name] = 2
            order.append(name)

        for name in self.names:
            visit(name)
        return tuple(order)

    def upstream(self, names: Iterable[str]) -> tuple[str, ...]:
        """``names`` and every member they depend on, transitively, sorted."""
        return _reach(self.dependencies(), names)

    def downstream(self, names: Iterable[str]) -> tuple[str, ...]:
        """``names`` and every member that depends on them, transitively, sorted."""
        return _reach(self.dependents(), names)


def _reach(graph: Mapping[str, Sequence[str]], start: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    stack = list(start)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(graph.get(name, ()))
    return tuple(sorted(seen))


def discover(start: Path | str | None = None, *, cache: Path | None = None) -> Workspace:
    """Find the workspace that contains ``start`` (default: the current directory).

    Walks up from ``start`` as uv does: the first ``pyproject.toml`` with
    ``[tool.uv.workspace]`` is the root. A project that is not a member of the workspace
    above it, or that has none, is a workspace of its own with itself as the only member.

    ``cache`` is a folder (Nox's ``.nox/``) that may hold the parsed tables of the files read
    last time (see :class:`_ParseCache`): the globs are still expanded and every file is still
    looked at, only the parsing of an unchanged file is saved. A folder that does not exist,
    or cannot be written, means no cache.
    """
    reader = _ParseCache(cache)
    try:
        return _discover(normalize(start if start is not None else Path.cwd()), reader.read)
    finally:
        reader.save()


def _discover(begin: Path, read: _Read) -> Workspace:
    project: Path | None = None
    for directory in (begin, *begin.parents):
        candidate = directory / "pyproject.toml"
        if not candidate.is_file():
            continue
        data = _must(read(candidate), candidate)
        if _pyproject.get_table(data, "tool", "uv", "workspace", source=candidate) is not None:
            workspace = _build(directory, candidate, data, read)
            if project is None or any(m.path == project for m in workspace.members):
                return workspace
            break
        if project is None and "project" in data:
            project = directory
    if project is not None:
        pyproject = project / "pyproject.toml"
        return _build(project, pyproject, _must(read(pyproject), pyproject), read)
    raise DiscoveryError(
        "no pyproject.toml with [tool.uv.workspace] or [project] here or in any parent",
        path=begin,
        hint="run from inside a uv workspace or pass --root",
    )


def load_workspace(root: Path | str) -> Workspace:
    """Load the workspace whose root is exactly ``root`` (no walking up)."""
    root_path = normalize(root)
    pyproject = root_path / "pyproject.toml"
    if not pyproject.is_file():
        raise DiscoveryError(
            "no pyproject.toml at the workspace root", path=root_path, hint="pass the root folder"
        )
    return _build(root_path, pyproject, load_toml(pyproject, DiscoveryError))


def _must(data: dict[str, Any] | None, path: Path) -> dict[str, Any]:
    """``data``, or the one-line "file not found" error of a file that vanished meanwhile."""
    if data is None:
        raise DiscoveryError("file not found", path=path, hint="create it or fix the path")
    return data


def _build(
    root: Path, pyproject: Path, data: Mapping[str, Any], read: _Read | None = None
) -> Workspace:
    """Expand the globs under ``root`` and read every member's ``pyproject.toml``."""
    config = _pyproject.get_table(data, "tool", "uv", "workspace", source=pyproject) or {}
    patterns = _pyproject.string_list(config.get("members"), "tool.uv.workspace.members", pyproject)
    excluded = exclude_matcher(
        root,
        _pyproject.string_list(config.get("exclude"), "tool.uv.workspace.exclude", pyproject),
        pyproject,
    )
    root_sources = _pyproject.uv_sources(data, pyproject)

    found, skipped = _matched(root, pyproject, data, patterns, excluded, read or _read_toml)
    names: dict[str, Path] = {}
    for path, (source, project_data) in found.items():
        name = _pyproject.project_name(project_data, source)
        if name in names:
            raise DiscoveryError(
                f"two workspace members are both named {name!r}: "
                f"{_rel(root, names[name])} and {_rel(root, path)}",
                path=pyproject,
                hint="rename one of them or exclude it",
            )
        names[name] = path

    member_names = set(names)
    members = tuple(
        _member(root, path, name, *found[path], member_names, root_sources)
        for name, path in sorted(names.items())
    )
    root_member = next((member for member in members if member.is_root), None)
    # A root member's table came with the member; a virtual root's is read here.
    root_settings = (
        root_member.settings
        if root_member is not None
        else parse_settings(data, pyproject, is_root=True, is_member=False)
    )
    root_groups: Mapping[str, tuple[str, ...]] = (
        next(m.dependency_groups for m in members if m.is_root)
        if "project" in data
        else _pyproject.dependency_groups(data, pyproject)
    )
    return Workspace(
        root=root,
        pyproject=pyproject,
        members=members,
        root_groups=MappingProxyType(dict(root_groups)),
        root_default_groups=_pyproject.default_groups(
            _pyproject.get_table(data, "tool", "uv", source=pyproject) or {}, pyproject
        ),
        skipped=tuple(skipped),
        settings=root_settings,
    )


def _matched(
    root: Path,
    pyproject: Path,
    data: Mapping[str, Any],
    patterns: list[str],
    excluded: re.Pattern[str] | None,
    read: _Read,
) -> tuple[dict[Path, tuple[Path, Mapping[str, Any]]], list[Skipped]]:
    """The member folders the globs give (folder -> its pyproject.toml and table), and the
    folders uv leaves out silently; a folder uv refuses is a :class:`DiscoveryError`."""
    found: dict[Path, tuple[Path, Mapping[str, Any]]] = {}
    skipped: list[Skipped] = []
    if "project" in data:
        found[root] = (pyproject, data)
    for pattern in patterns:
        for path in expand_members(root, pattern, pyproject):
            if path in found:
                continue
            if excluded is not None and excluded.fullmatch(path.as_posix()):
                skipped.append(Skipped(relpath=_rel(root, path), reason="excluded"))
                continue
            member_toml = path / "pyproject.toml"
            member_data = read(member_toml)
            if member_data is None:
                if path.name.startswith(".") or holds_only_ignored_files(path):
                    skipped.append(
                        Skipped(
                            relpath=_rel(root, path), reason="no pyproject.toml (hidden or ignored)"
                        )
                    )
                    continue
                raise DiscoveryError(
                    f"workspace member {_rel(root, path)} (matched by {pattern!r}) "
                    "has no pyproject.toml",
                    path=pyproject,
                    hint="add one, or leave the folder out with tool.uv.workspace.exclude",
                )
            if (
                _pyproject.get_table(member_data, "tool", "uv", "workspace", source=member_toml)
                is not None
            ):
                raise DiscoveryError(
                    "nested workspaces are not supported, but this member has [tool.uv.workspace]",
                    path=member_toml,
                    hint="remove the table or exclude the member",
                )
            if "project" not in member_data:
                raise DiscoveryError(
                    "workspace member has no [project] table",
                    path=member_toml,
                    hint="add [project] with a name, or exclude the folder",
                )
            uv_table = _pyproject.get_table(member_data, "tool", "uv", source=member_toml) or {}
            if uv_table.get("managed") is False:
                skipped.append(Skipped(relpath=_rel(root, path), reason="tool.uv.managed = false"))
                continue
            found[path] = (member_toml, member_data)
    return found, skipped


def _rel(root: Path, path: Path) -> str:
    """``path`` relative to ``root``, ``/``-separated; ``.`` for the root itself."""
    if path == root:
        return "."
    text, prefix = str(path), str(root).rstrip(os.sep) + os.sep
    if text.startswith(prefix):
        return text[len(prefix) :].replace(os.sep, "/")
    return Path(os.path.relpath(path, root)).as_posix()


def _member(
    root: Path,
    path: Path,
    name: str,
    source: Path,
    data: Mapping[str, Any],
    member_names: set[str],
    root_sources: Mapping[str, bool],
) -> Member:
    project = _pyproject.get_table(data, "project", source=source) or {}
    uv_table = _pyproject.get_table(data, "tool", "uv", source=source) or {}

    requires_python = _pyproject.requires_python(project, source)

    dependencies = tuple(
        _pyproject.string_list(project.get("dependencies"), "project.dependencies", source)
    )
    optional = _pyproject.optional_dependencies(data, source)
    groups = _pyproject.dependency_groups(data, source)

    package = uv_table.get("package")
    packaged = package if isinstance(package, bool) else "build-system" in data

    # The members this one may depend on: those its (or the root's) sources mark workspace.
    sources = {**root_sources, **_pyproject.uv_sources(data, source)}
    reachable = {target for target, workspace in sources.items() if workspace} & member_names
    edges: list[Edge] = []

    def add_edges(requirements: Iterable[str], kind: EdgeKind, via: str | None) -> None:
        # Only the name matters here; like `uv workspace list`, discovery does not reject a
        # malformed requirement (uv does, at lock and sync time).
        for text in requirements:
            match = _pyproject.REQUIREMENT_NAME.match(text)
            if match is not None and (target := canonicalize_name(match.group(1))) in reachable:
                edges.append(Edge(source=name, target=target, kind=kind, via=via))

    if reachable:
        add_edges(dependencies, "dependency", None)
        for extra, requirements in optional.items():
            add_edges(requirements, "extra", extra)
        for group, requirements in groups.items():
            add_edges(requirements, "group", group)

    is_root = path == root
    return Member(
        name=name,
        path=path,
        relpath=_rel(root, path),
        pyproject=source,
        virtual=not packaged,
        is_root=is_root,
        requires_python=requires_python,
        dependencies=dependencies,
        optional_dependencies=MappingProxyType(optional),
        dependency_groups=MappingProxyType(groups),
        default_groups=_pyproject.default_groups(uv_table, source),
        edges=tuple(dict.fromkeys(edges)),
        settings=parse_settings(data, source, is_root=is_root, is_member=True),
        dynamic=tuple(str(key) for key in project.get("dynamic") or ()),
    )


def _read_toml(path: Path) -> dict[str, Any] | None:
    return load_toml_if_present(path, DiscoveryError)


#: What a cached table is valid for: the file's size, mtime_ns, ctime_ns, inode and device.
_Stamp = tuple[int, int, int, int, int]
#: A file changed this close to (or after) the cache's own write is never served from it: a
#: timestamp's granularity (coarse on some file systems) could hide a same-size edit.
_RACY_NS = 2_000_000_000
#: How far in the future the cache may be dated before the clock is taken to have gone back.
_CLOCK_SLACK_NS = 60_000_000_000
#: The cache's format, and the Python that parsed it (``tomllib`` may change between them).
_CACHE_FORMAT = ("nox-workspace-discovery", 1, sys.version)


class _ParseCache:
    """The parsed ``pyproject.toml`` tables of the last discovery, in ``.nox/``.

    Nox loads the noxfile again in each process it starts for ``nox -j``; reading and parsing
    every member's file is most of what discovery costs there. A table is served from the cache
    only when the file's size, mtime_ns, ctime_ns (any write or ``utime`` changes it), inode
    and device are those recorded, and the file last changed more than :data:`_RACY_NS`
    before the cache was written; anything else (a missing, foreign, damaged or older-format
    cache too) is read from the file. Globs, folders and every rule of discovery run each
    time: only parsing is saved, so a member folder added or removed is always seen. The cache
    is written (atomically, only into an existing folder, errors ignored) when a table came
    from a file, and holds the files this discovery read, no others.
    """

    def __init__(self, folder: Path | None) -> None:
        self._folder = folder if folder is not None and folder.is_dir() else None
        self._known: dict[str, tuple[_Stamp, dict[str, Any]]] = {}
        self._used: dict[str, tuple[_Stamp, dict[str, Any]]] = {}
        self._trusted_before = 0
        self._missed = False
        if self._folder is not None:
            self._load(self._folder / CACHE_NAME)

    def _load(self, path: Path) -> None:
        try:
            with path.open("rb") as handle:
                written = os.fstat(handle.fileno()).st_mtime_ns
                content = marshal.loads(handle.read())
        except (OSError, EOFError, ValueError, TypeError):
            return
        if written > time.time_ns() + _CLOCK_SLACK_NS:
            return  # written "in the future": the clock went back, times prove nothing now
        if not (
            isinstance(content, tuple)
            and len(content) == 2
            and content[0] == _CACHE_FORMAT
            and isinstance(content[1], dict)
        ):
            return
        for key, value in content[1].items():
            if (
                isinstance(key, str)
                and isinstance(value, tuple)
                and len(value) == 2
                and isinstance(value[0], tuple)
                and len(value[0]) == 5
                and all(type(part) is int for part in value[0])
                and isinstance(value[1], dict)
            ):
                self._known[key] = value
        self._trusted_before = written - _RACY_NS

    def read(self, path: Path) -> dict[str, Any] | None:
        """The table of ``path`` (``None`` when it does not exist), from the cache if valid."""
        if self._folder is None:
            return _read_toml(path)
        key = str(path)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return None
        except OSError:
            return _read_toml(path)  # the same answer, or one-line error, as without a cache
        stamp = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)
        known = self._known.get(key)
        if (
            known is not None
            and known[0] == stamp
            and max(info.st_mtime_ns, info.st_ctime_ns) < self._trusted_before
        ):
            self._used[key] = known
            return known[1]
        self._missed = True
        data = _read_toml(path)
        if data is not None:
            self._used[key] = (stamp, data)
        return data

    def save(self) -> None:
        """Write the tables this discovery used, when one of them came from its file."""
        if self._folder is None or not (self._missed or self._used.keys() != self._known.keys()):
            return
        entries = {}
        for key, entry in self._used.items():
            try:
                marshal.dumps(entry[1])
            except ValueError:
                continue  # a TOML date or time: marshal cannot hold it, so read it each time
            entries[key] = entry
        import tempfile  # only here: the command line and the guard never write the cache

        try:
            handle, temporary = tempfile.mkstemp(prefix=f".{CACHE_NAME}.", dir=self._folder)
        except OSError:
            return  # read-only: no cache
        try:
            with os.fdopen(handle, "wb") as output:
                marshal.dump((_CACHE_FORMAT, entries), output)
            os.replace(temporary, self._folder / CACHE_NAME)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
