"""Two locks and how a sync target's locked closure differs between them.

The affected planner's rule 1. :class:`LockDiff` compares two locks once; then
:func:`lock_reasons` says, for one sync target, which locked packages of its closure came,
went, or changed (version, source, or the locked entry: dependencies, markers, files), with
shortcuts that skip a walk of the old lock when the answer is already known.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from nox_workspace._closure import target_closure
from nox_workspace._errors import LockError
from nox_workspace._glob import clean_relpath
from nox_workspace._lock import Lock, LockedPackage, parse_lock
from nox_workspace._sync import Target
from nox_workspace._toml import loads_toml

__all__ = ["Closure", "LockDiff", "LockSnapshot", "closure_in", "lock_reasons", "read_snapshot"]


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


Closure = frozenset[LockedPackage]


@dataclass(frozen=True, slots=True)
class LockDiff:
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
    root: str | None = None

    @classmethod
    def of(
        cls, old: LockSnapshot, new: LockSnapshot, *, exact: bool = False, root: str | None = None
    ) -> LockDiff:
        """Compare two locks; ``exact=True`` turns the shortcuts off (for tests). ``root``
        names a root member, whose groups any member's ``--group`` may fall back to."""
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
        return cls(old, new, changed, exact, reaching, bumps, root)

    def may_differ(self, target: Target) -> bool:
        """Whether the target's closure can differ at all: it can reach a changed entry.

        Tool groups and the root's groups hang off the root, which a member need not reach:
        a member's ``--group G`` that the member lacks is the root's ``G`` (as uv looks it
        up), so the root's reach counts for it.
        """
        names = list(target.workspace.names if target.all_packages else target.names)
        defaults = target.default_groups
        wanted = [*target.sync.groups, *(defaults if isinstance(defaults, tuple) else ())]
        if self.root is not None and any(
            group not in member.dependency_groups for member in target.members for group in wanted
        ):
            names.append(self.root)
        return (
            self.exact
            or bool(target.sync.tool_groups)
            or self.root_changed
            or any(name in self.reaching or name not in self.new.lock.members for name in names)
        )

    @property
    def root_changed(self) -> bool:
        """Whether the entry of a root member changed (its groups serve every member)."""
        return any(
            package.source == "virtual" or package.name == self.root for package in self.changed
        )


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


def closure_in(snapshot: LockSnapshot, target: Target) -> Closure | str:
    """The target's closure with its tool groups (union over platforms), or why not."""
    try:
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


def lock_reasons(target: Target, diff: LockDiff, after: Closure | str | None = None) -> list[str]:
    """How the target's locked closure differs between two locks (empty: it does not).

    ``after`` is its closure in the new lock when the caller has it already.
    """
    if not diff.may_differ(target):
        return []
    after = closure_in(diff.new, target) if after is None else after
    if isinstance(after, str):
        return [f"uv.lock: its closure cannot be computed now ({after})"]
    hit = after & diff.changed
    shortcut = not diff.exact and not diff.root_changed and not target.sync.tool_groups
    if shortcut and not hit:
        return []
    if shortcut and all(package in diff.bumps for package in hit):
        ordered = sorted(hit, key=_by_package)
        moved = [_moved(diff.bumps[p], p) for p in ordered if diff.bumps[p] != p]
        return moved + [_new_entry(p) for p in ordered if diff.bumps[p] == p]
    before = closure_in(diff.old, target)
    if isinstance(before, str):
        if any(name not in diff.old.lock.members for name in target.names):
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


def read_snapshot(path: Path) -> LockSnapshot | None:
    """The lock at ``path`` now, or ``None`` when there is none."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    return LockSnapshot.from_bytes(raw, path)
