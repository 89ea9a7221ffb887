"""What one session row syncs and reads: the inputs that decide whether a change affects it.

The affected planner (``_affected``) and the row keys (``_matrix``) both read a session's
inputs from here, so that a row's key is unchanged exactly when the row is not affected:

* its locked closure (what its ``Sync`` installs, tool groups included);
* the files of the workspace members that closure installs, and of the locked path sources
  in it (``{ path = "vendor/x" }``) that are not members;
* the files it reads: ``tests`` and ``paths`` of the member's ``[tool.nox-workspace]`` (per
  member and per session), relative to the member's folder;
* the global files: the root ``pyproject.toml`` compared by table (:data:`GLOBAL_TABLES`,
  plus the root's ``global-tables``), ``uv.toml``, ``.python-version``, the noxfile and the
  declared ``global`` globs.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from nox_workspace._glob import clean_relpath, escape_glob
from nox_workspace._lock import LockedPackage
from nox_workspace._sync import Sync, Target
from nox_workspace._workspace import ROOT_PYPROJECT, Member, Workspace

__all__ = [
    "GLOBAL_FILES",
    "GLOBAL_TABLES",
    "ROOT_PYPROJECT",
    "Scope",
    "installed_members",
    "member_scopes",
    "path_sources",
    "root_tables",
]

#: Files at the workspace root that change what uv does for every session.
GLOBAL_FILES: Final = ("uv.toml", ".python-version")
#: Tables of the root ``pyproject.toml`` that uv or the sessions read (prefixes of dotted
#: names: ``tool.pytest`` covers ``[tool.pytest.ini_options]``). A change elsewhere
#: (``[tool.ruff]``, ``[tool.mypy]``) is not global.
GLOBAL_TABLES: Final = (
    "project",
    "build-system",
    "dependency-groups",
    "tool.uv",
    "tool.nox-workspace",
    "tool.pytest",
    "tool.coverage",
)
#: Locked source kinds that are folders or files of the repository.
_LOCAL_SOURCES: Final = frozenset({"editable", "directory", "path", "virtual"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """One session as the planner sees it: what it syncs and which other files it reads.

    ``name`` names the row group (a session's name, or a member's in ``affected`` without
    a noxfile); ``reads`` are globs relative to the workspace root.
    """

    name: str
    target: Target
    reads: tuple[str, ...] = ()

    @property
    def closure_key(self) -> Hashable:
        """What decides the session's closure: sessions that share it share the lock work."""
        target = self.target
        return (target.names, target.all_packages, target.selection(None), target.sync.tool_groups)

    @classmethod
    def of(cls, name: str, target: Target, session: str) -> Scope:
        """The scope of a session called ``session`` in the settings (its function name)."""
        members = target.workspace.members if target.all_packages else target.members
        reads = tuple(dict.fromkeys(glob for m in members for glob in reads_of(m, session)))
        return cls(name=name, target=target, reads=reads)


def reads_of(member: Member, session: str) -> tuple[str, ...]:
    """Root-relative globs of what ``session`` of ``member`` reads (``tests``, ``paths``)."""
    settings = member.settings
    found = [_join(member.relpath, escape_glob(path)) for path in settings.tests(session)]
    found += [_join(member.relpath, glob) for glob in settings.paths(session)]
    return tuple(dict.fromkeys(found))


def _join(folder: str, relative: str) -> str:
    joined = posixpath.normpath(posixpath.join(folder, relative))
    return "" if joined == "." else joined


def member_scopes(
    workspace: Workspace,
    *,
    groups: Sequence[str] = (),
    extras: Sequence[str] = (),
    all_extras: bool = False,
    all_groups: bool = False,
    default_groups: bool = True,
) -> tuple[Scope, ...]:
    """One scope per member: what ``uv sync --package M`` with these flags installs.

    Across members, a group or extra applies where it exists (a group: the member's or the
    root's, as uv looks it up), as ``check`` does; ``all_groups`` adds every group the
    member or the root defines (what ``uv sync --package M --all-groups`` installs). The
    member-wide ``tests`` and ``paths`` are what it reads.
    """
    scopes = []
    for member in workspace.members:
        found = set(member.dependency_groups) | set(workspace.root_groups)
        chosen = [group for group in Sync(groups=groups).groups if group in found]
        chosen += sorted(found) if all_groups else []
        kept = [extra for extra in Sync(extras=extras).extras if extra in member.extras]
        sync = Sync(
            groups=tuple(dict.fromkeys(chosen)),
            extras=kept,
            all_extras=all_extras,
            default_groups=default_groups,
        )
        target = Target(workspace=workspace, members=(member,), sync=sync)
        scopes.append(Scope(name=member.name, target=target, reads=reads_of(member, "")))
    return tuple(scopes)


def installed_members(
    workspace: Workspace, target: Target, closure: Iterable[LockedPackage] | None
) -> tuple[str, ...]:
    """The workspace members a session installs: its own and those in its closure.

    Without a closure (no lock), every member the target needs through any edge.
    """
    own = workspace.names if target.all_packages else target.names
    if closure is None:
        return workspace.upstream(own)
    names = set(workspace.names)
    return tuple(dict.fromkeys((*own, *(p.name for p in closure if p.name in names))))


def path_sources(
    workspace: Workspace,
    closure: Iterable[LockedPackage],
    entries: Mapping[LockedPackage, Mapping[str, Any]],
) -> tuple[str, ...]:
    """Root-relative folders (or files) of the closure's locked local sources that are not
    workspace members: what the lock installs from the repository besides the members."""
    members = set(workspace.names)
    found = []
    for package in closure:
        if package.name in members or package.source not in _LOCAL_SOURCES:
            continue
        source = entries.get(package, {}).get("source")
        where = source.get(package.source) if isinstance(source, Mapping) else None
        if isinstance(where, str):
            found.append(clean_relpath(where))
    return tuple(sorted(set(found)))


def root_tables(data: Mapping[str, Any], extra: Sequence[str] = ()) -> dict[str, str]:
    """The global tables of the root ``pyproject.toml`` as canonical JSON, by dotted name.

    Tables absent from ``data`` are left out, so two files compare equal exactly when every
    global table is the same.
    """
    found: dict[str, str] = {}
    for name in (*GLOBAL_TABLES, *extra):
        value: Any = data
        for part in name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is not None:
            found[name] = json.dumps(value, sort_keys=True, default=str)
    return found
