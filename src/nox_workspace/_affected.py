"""Which workspace members a change can break: changed files and lock changes -> members.

A pull request should run only the member sessions it can break. The rules, in order:

* A changed file under a member's folder affects that member; when folders nest, the longest
  matching folder wins. A root that is a member owns every file no other member owns. A file
  that was under a member's folder at the base revision counts for that member too (the old
  folders come from the old ``uv.lock``), so a renamed member folder affects the member.
* A change to the root ``pyproject.toml``, or to a file matched by a glob the user declares
  global (``[tool.nox-workspace] global = [...]`` in the root ``pyproject.toml``, or
  ``--global``), affects every member.
* A change to ``uv.lock`` affects only the members whose locked closure changed: each
  member's closure (``uv sync --package M`` with its default groups, the union over every
  platform) is computed from the old and the new lock and compared as sets of (name, version,
  source), and the locked entries of the packages in it (dependencies, markers, files) are
  compared too. Peers select every member on any lock change; this is the point of the module.
* Every member that depends on an affected member, transitively, through a dependency, an
  extra or a dependency group, is affected.
* Any other changed file (a README at a virtual root, say) affects no member.

The core (:func:`plan_affected`) is pure: it takes the changed paths and the two locks as
data. :func:`affected_since` asks git (through ``_git``, the only git caller) what changed
and, only when ``uv.lock`` changed, for the lock at the base revision.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from nox_workspace._closure import complete_edges, target_closure
from nox_workspace._errors import LockError
from nox_workspace._git import changes_since, file_at
from nox_workspace._glob import PathMatcher, clean_relpath, member_folders, owner
from nox_workspace._lock import Lock, LockedPackage, parse_lock
from nox_workspace._sync import Sync, Target
from nox_workspace._toml import loads_toml
from nox_workspace._workspace import Edge, Member, Workspace

__all__ = ["LOCK_FILE", "Affected", "LockSnapshot", "affected_since", "plan_affected"]

LOCK_FILE = "uv.lock"
_MAX_FILES_LISTED = 5


# --------------------------------------------------------------------------------------------
# Locks as data


@dataclass(frozen=True, slots=True, kw_only=True)
class LockSnapshot:
    """A parsed lock and its raw ``[[package]]`` tables, so entries can be compared.

    ``header`` is everything but the packages and ``revision`` (``[manifest]``, conflicts,
    ``requires-python``...): when it differs between two locks, every closure is compared.
    """

    lock: Lock
    entries: Mapping[LockedPackage, Mapping[str, Any]] = field(hash=False)
    header: Mapping[str, Any] = field(hash=False)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], path: Path) -> LockSnapshot:
        """Index a lock mapping (what ``tomllib`` returns)."""
        lock = parse_lock(data, path)
        raw = data.get("package", [])
        header = {key: value for key, value in data.items() if key not in ("package", "revision")}
        return cls(lock=lock, entries=dict(zip(lock.packages, raw, strict=False)), header=header)

    @classmethod
    def from_bytes(cls, raw: bytes, path: Path | str) -> LockSnapshot:
        """Parse lock file bytes; a lock that does not parse is a :class:`LockError`."""
        return cls.from_mapping(loads_toml(raw, LockError, display=path), Path(path))

    def member_folders(self) -> dict[str, str]:
        """Member name -> its folder relative to the root, as this lock records it."""
        members = set(self.lock.members)
        folders: dict[str, str] = {}
        for package, entry in self.entries.items():
            if package.name in members and package.source in ("editable", "virtual", "directory"):
                folder = entry.get("source", {}).get(package.source)
                if isinstance(folder, str):
                    folders[package.name] = clean_relpath(folder)
        return folders


_Closure = frozenset[LockedPackage]


@dataclass(frozen=True, slots=True)
class _LockDiff:
    """Two locks and what differs between them, computed once for every member.

    ``changed`` are the packages of the new lock whose entry is new or differs. When the
    headers are equal and no virtual package changed (else ``exact``), the walk of a closure
    reads only the entries of the packages it returns, so:

    * a member that cannot reach a changed entry (``reaching``) has the same closure;
    * a closure that holds no changed entry is the same in both locks;
    * a closure that holds one is affected (it either holds a package the old one did not,
      or a package whose locked entry changed);
    * when every changed entry it holds is a ``bump`` (the only package of its name in both
      locks, with the same dependencies, markers and forks as before: only version, source or
      files differ), the old walk visits the same names, so the old closure is the new one
      with the old packages in place: no second walk is needed to name the differences.
    """

    old: LockSnapshot
    new: LockSnapshot
    changed: frozenset[LockedPackage]
    exact: bool
    reaching: frozenset[str]
    bumps: Mapping[LockedPackage, LockedPackage] = field(hash=False)

    @classmethod
    def of(cls, old: LockSnapshot, new: LockSnapshot, *, exact: bool = False) -> _LockDiff:
        """Compare two locks; ``exact=True`` turns the shortcuts off (for tests)."""
        changed = frozenset(
            package for package, entry in new.entries.items() if old.entries.get(package) != entry
        )
        removed_virtual = any(
            package.source == "virtual" and new.entries.get(package) != entry
            for package, entry in old.entries.items()
        )
        exact = (
            exact
            or old.header != new.header
            or removed_virtual
            or any(package.source == "virtual" for package in changed)
        )
        old_by_name: dict[str, list[LockedPackage]] = {}
        for package in old.entries:
            old_by_name.setdefault(package.name, []).append(package)
        new_count: dict[str, int] = {}
        for package in new.entries:
            new_count[package.name] = new_count.get(package.name, 0) + 1
        bumps: dict[LockedPackage, LockedPackage] = {}
        for package in changed:
            before = old_by_name.get(package.name, [])
            if len(before) == 1 and new_count[package.name] == 1:
                was = before[0]
                if _shape(old.entries[was]) == _shape(new.entries[package]):
                    bumps[package] = was
        reaching = _reaching(new, {package.name for package in changed})
        return cls(old, new, changed, exact, reaching, bumps)

    def may_differ(self, member: str) -> bool:
        """Whether the member's closure can differ at all: it can reach a changed entry."""
        return self.exact or member in self.reaching or member not in self.new.lock.members


_NOT_SHAPE = frozenset({"version", "source", "sdist", "wheels"})


def _shape(entry: Mapping[str, Any]) -> dict[str, Any]:
    """What of a locked entry a closure walk reads: all but version, source and files."""
    return {key: value for key, value in entry.items() if key not in _NOT_SHAPE}


def _reaching(snapshot: LockSnapshot, targets: set[str]) -> frozenset[str]:
    """Names of the packages from which one of ``targets`` can be reached through any edge.

    Markers, extras and groups are ignored, so this over-approximates every closure walk:
    a member outside it cannot have a changed package in its closure.
    """
    dependents: dict[str, list[str]] = {}
    for package, entry in snapshot.entries.items():
        lists: list[Any] = [entry.get("dependencies", ())]
        for table in ("optional-dependencies", "dev-dependencies"):
            lists.extend(entry.get(table, {}).values())
        for edges in lists:
            for edge in edges:
                dependents.setdefault(canonicalize_name(edge["name"]), []).append(package.name)
    seen = set(targets)
    stack = list(targets)
    while stack:
        for parent in dependents.get(stack.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return frozenset(seen)


def _closure(snapshot: LockSnapshot, workspace: Workspace, member: Member) -> _Closure | str:
    """The member's closure with its default groups (union over platforms), or why not."""
    try:
        target = Target(workspace=workspace, members=(member,), sync=Sync())
        return frozenset(target_closure(snapshot.lock, target, None))
    except LockError as error:
        return error.problem


def _show(package: LockedPackage) -> str:
    return f"{package.name} {package.version}" if package.version else package.name


def _moved(was: LockedPackage, now: LockedPackage) -> str:
    """``uv.lock: gamma 1.0 -> 2.0`` (with the source kinds when they differ)."""
    left, right = was.version or "", now.version or ""
    if was.source != now.source:
        left, right = f"{left} ({was.source})".strip(), f"{right} ({now.source})".strip()
    return f"uv.lock: {now.name} {left} -> {right}"


def _new_entry(package: LockedPackage) -> str:
    return f"uv.lock: {_show(package)} has a new locked entry (dependencies, markers or files)"


def _by_package(package: LockedPackage) -> tuple[str, str]:
    return (package.name, package.version or "")


def _lock_reasons(workspace: Workspace, member: Member, diff: _LockDiff) -> list[str]:
    """How the member's locked closure differs between two locks (empty: it does not)."""
    if not diff.may_differ(member.name):
        return []
    after = _closure(diff.new, workspace, member)
    if isinstance(after, str):
        return [f"uv.lock: its closure cannot be computed now ({after})"]
    hit = after & diff.changed
    if not diff.exact and not hit:
        return []
    if not diff.exact and all(package in diff.bumps for package in hit):
        ordered = sorted(hit, key=_by_package)
        moved = [_moved(diff.bumps[p], p) for p in ordered if diff.bumps[p] != p]
        return moved + [_new_entry(p) for p in ordered if diff.bumps[p] == p]
    before = _closure(diff.old, workspace, member)
    if isinstance(before, str):
        if member.name not in diff.old.lock.members:
            return ["uv.lock: the member was not in the lock at the base revision"]
        return [f"uv.lock: its closure could not be computed at the base revision ({before})"]
    reasons: list[str] = []
    old_by_name = {package.name: package for package in before - after}
    new_by_name = {package.name: package for package in after - before}
    for name in sorted(old_by_name.keys() | new_by_name.keys()):
        was, now = old_by_name.get(name), new_by_name.get(name)
        if was is not None and now is not None:
            reasons.append(_moved(was, now))
        elif now is not None:
            reasons.append(f"uv.lock: + {_show(now)}")
        elif was is not None:
            reasons.append(f"uv.lock: - {_show(was)}")
    reasons += [_new_entry(p) for p in sorted(after & before & diff.changed, key=_by_package)]
    return reasons


# --------------------------------------------------------------------------------------------
# The pure core


@dataclass(frozen=True, slots=True, kw_only=True)
class Affected:
    """Which members a change affects, and why each member is or is not affected.

    ``reasons`` has a line list for *every* member: for an affected one, what selected it
    (a file, a global file, a locked package, a dependency path); for the others, why not.
    ``outside`` are the changed paths that affect no member.
    """

    since: str
    members: tuple[str, ...]
    affected: tuple[str, ...]
    reasons: Mapping[str, tuple[str, ...]] = field(hash=False)
    changed: tuple[str, ...]
    outside: tuple[str, ...]

    def is_affected(self, name: str) -> bool:
        """Whether member ``name`` is affected."""
        return name in self.affected

    def to_json(self) -> dict[str, Any]:
        """``{"since", "affected", "reasons", "unaffected", "changed", "outside"}``."""
        chosen = set(self.affected)
        return {
            "since": self.since,
            "affected": list(self.affected),
            "reasons": {name: list(self.reasons[name]) for name in self.affected},
            "unaffected": {
                name: list(self.reasons[name]) for name in self.members if name not in chosen
            },
            "changed": list(self.changed),
            "outside": list(self.outside),
        }

    def explain(self) -> str:
        """For every member: ``name: affected`` or ``name: not affected``, then the reasons."""
        lines = []
        for name in self.members:
            lines.append(f"{name}: {'affected' if self.is_affected(name) else 'not affected'}")
            lines.extend(f"  - {reason}" for reason in self.reasons[name])
        if self.outside:
            shown = ", ".join(self.outside[:_MAX_FILES_LISTED])
            more = len(self.outside) - _MAX_FILES_LISTED
            suffix = f" and {more} more" if more > 0 else ""
            lines.append(f"changed outside every member (affect none): {shown}{suffix}")
        return "\n".join(lines)


def _listed(paths: Sequence[str], what: str) -> list[str]:
    lines = [f"{what}: {path}" for path in paths[:_MAX_FILES_LISTED]]
    if len(paths) > _MAX_FILES_LISTED:
        lines.append(f"{what}: and {len(paths) - _MAX_FILES_LISTED} more")
    return lines


def _hop(member: Member, target: str) -> str:
    """``member`` and how it needs ``target``: ``app (group 'test')``, or just ``app``."""
    edges = [edge for edge in member.edges if edge.target == target]
    order = {"dependency": 0, "extra": 1, "group": 2}
    edge: Edge = min(edges, key=lambda e: (order[e.kind], e.via or ""))
    return member.name if edge.kind == "dependency" else f"{member.name} ({edge.kind} {edge.via!r})"


def _dependency_path(
    graph: Mapping[str, Sequence[str]], start: str, direct: set[str]
) -> list[str] | None:
    """The shortest chain of members from ``start`` to a directly affected member, or None."""
    parent: dict[str, str] = {start: start}
    queue = deque([start])
    while queue:
        name = queue.popleft()
        for target in graph.get(name, ()):
            if target in parent:
                continue
            parent[target] = name
            if target in direct:
                chain = [target]
                while chain[-1] != start:
                    chain.append(parent[chain[-1]])
                return chain[::-1]
            queue.append(target)
    return None


def _file_reasons(
    workspace: Workspace,
    paths: Sequence[str],
    old_lock: LockSnapshot | None,
    global_globs: Sequence[str],
) -> tuple[dict[str, list[str]], list[str]]:
    """Each member's reasons from the changed files (its own, its old folder's, the global
    ones), and the changed paths no member holds. ``old_lock`` gives the old folders."""
    names = workspace.names
    members = {member.name: member for member in workspace.members}
    current = member_folders({member.name: member.relpath for member in workspace.members})
    old_folders: tuple[tuple[str, str], ...] = ()
    if old_lock is not None:
        previous = {
            name: folder
            for name, folder in old_lock.member_folders().items()
            if name in members and clean_relpath(folder) != members[name].relpath
        }
        old_folders = member_folders(previous)
    is_global = PathMatcher.of(("pyproject.toml", *global_globs), source=workspace.pyproject)

    owned: dict[str, list[str]] = {name: [] for name in names}
    owned_before: dict[str, list[str]] = {name: [] for name in names}
    global_hits: list[str] = []
    outside: list[str] = []
    for path in paths:
        if path == LOCK_FILE:
            continue
        if is_global(path):
            global_hits.append(path)
            continue
        holder = owner(path, current)
        if holder is not None:
            owned[holder].append(path)
            continue
        holder = owner(path, old_folders)
        if holder is not None:
            owned_before[holder].append(path)
        else:
            outside.append(path)

    reasons: dict[str, list[str]] = {name: [] for name in names}
    for name in names:
        reasons[name] += _listed(owned[name], "changed")
        reasons[name] += _listed(owned_before[name], "changed in its folder at the base revision")
        reasons[name] += _listed(global_hits, "global file changed")
    return reasons, outside


def _why_not(workspace: Workspace, member: Member, lock_note: str | None) -> list[str]:
    """The reasons a member is not affected, one per rule."""
    folder = "the workspace root" if member.relpath == "." else member.relpath
    upstream = [other for other in workspace.upstream([member.name]) if other != member.name]
    return [
        f"no changed file under {folder}",
        f"no member it depends on is affected ({', '.join(upstream)})"
        if upstream
        else "depends on no other member",
        lock_note or "uv.lock unchanged",
        "no global file changed",
    ]


def plan_affected(
    workspace: Workspace,
    changed: Iterable[str],
    *,
    since: str = "",
    old_lock: LockSnapshot | None = None,
    new_lock: LockSnapshot | None = None,
    global_globs: Sequence[str] = (),
) -> Affected:
    """Decide which members the changed paths affect (see the module docstring for the rules).

    ``changed`` are paths relative to the workspace root, ``/``-separated (deleted and
    renamed paths included). ``old_lock`` and ``new_lock`` are the lock at the base revision
    and now; ``None`` means absent. They are read only when ``uv.lock`` is among the changed
    paths. ``global_globs`` are added to the root ``pyproject.toml``, which is always global.
    """
    paths = tuple(sorted({clean_relpath(path) for path in changed}))
    names = workspace.names
    members = {member.name: member for member in workspace.members}
    lock_changed = LOCK_FILE in paths
    reasons, outside = _file_reasons(
        workspace, paths, old_lock if lock_changed else None, global_globs
    )
    lock_unchanged_note: dict[str, str] = {}
    if lock_changed:
        diff = _LockDiff.of(old_lock, new_lock) if old_lock and new_lock else None
        for member in workspace.members:
            if new_lock is None:
                reasons[member.name].append("uv.lock: removed")
            elif old_lock is None:
                reasons[member.name].append("uv.lock: absent at the base revision")
            elif diff is not None:
                found = _lock_reasons(workspace, member, diff)
                reasons[member.name] += found
                if not found:
                    lock_unchanged_note[member.name] = (
                        "uv.lock changed, but not this member's locked closure"
                    )
    direct = {name for name in names if reasons[name]}
    graph = workspace.dependencies()

    affected: list[str] = []
    why_not: dict[str, list[str]] = {}
    for member in workspace.members:
        name = member.name
        chain = _dependency_path(graph, name, direct)
        if chain is not None:
            hops = [_hop(members[a], b) for a, b in itertools.pairwise(chain)]
            reasons[name].append(
                f"depends on affected member {chain[-1]}: {' -> '.join([*hops, chain[-1]])}"
            )
        if reasons[name]:
            affected.append(name)
            continue
        why_not[name] = _why_not(workspace, member, lock_unchanged_note.get(name))

    final = {name: tuple(reasons[name] or why_not[name]) for name in names}
    return Affected(
        since=since,
        members=names,
        affected=tuple(affected),
        reasons=final,
        changed=paths,
        outside=tuple(outside),
    )


# --------------------------------------------------------------------------------------------
# With git


def affected_since(
    workspace: Workspace,
    since: str,
    *,
    untracked: bool = True,
    extra_globals: Sequence[str] = (),
) -> Affected:
    """The members affected by the change from git revision ``since`` to the working tree."""
    workspace = complete_edges(workspace)
    globs = (*workspace.settings.global_globs, *extra_globals)
    changes = changes_since(workspace.root, since, untracked=untracked)
    old: LockSnapshot | None = None
    new: LockSnapshot | None = None
    if LOCK_FILE in changes.paths:
        raw_old = file_at(workspace.root, changes, LOCK_FILE)
        if raw_old is not None:
            old = LockSnapshot.from_bytes(raw_old, f"{since}:{changes.prefix}{LOCK_FILE}")
        try:
            raw_new = workspace.lock_path.read_bytes()
        except FileNotFoundError:
            raw_new = None
        if raw_new is not None:
            new = LockSnapshot.from_bytes(raw_new, workspace.lock_path)
    return plan_affected(
        workspace, changes.paths, since=since, old_lock=old, new_lock=new, global_globs=globs
    )
