"""Which sessions a change can break: changed files and lock changes -> affected rows.

A pull request should run only the sessions it can break. The planner decides per *scope*
(:class:`~nox_workspace._scope.Scope`: one session, or one member's ``uv sync --package``),
from what it syncs and reads. A scope is affected when:

1. its locked closure changed: the closure of its ``Sync`` (union over every platform, tool
   groups included) in the old and the new lock differs as sets of (name, version, source),
   or a locked entry in it (dependencies, markers, files) changed. Scopes with equal syncs
   share this work;
2. a file of a member its closure installs changed (``Workspace.path_owner`` says whose a file
   is; a file in a member's folder at the base revision, from the old lock, counts too), or
   a file of a locked path source in it;
3. a file it reads changed (``tests`` and ``paths`` of ``[tool.nox-workspace]``);
4. a global file changed: ``uv.toml``, ``.python-version``, the declared ``global`` globs
   (the noxfile among them, for the matrix), and the root ``pyproject.toml`` when one of its
   global tables changed (:data:`~nox_workspace._scope.GLOBAL_TABLES`).

Any other changed file affects nothing. The row keys of ``_matrix`` hash the same inputs.
The core (:func:`plan_affected`) is pure: it takes the changed paths, both locks and the
root's tables as data. :func:`affected_since` asks git (through ``_git``, the only git
caller) what changed and, when ``uv.lock`` or the root ``pyproject.toml`` changed, for that
file at the base revision.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nox_workspace._closure import complete_edges
from nox_workspace._errors import ConfigError
from nox_workspace._git import changes_since, file_at
from nox_workspace._glob import PathMatcher, clean_relpath, member_folders, owner
from nox_workspace._lockdiff import (
    Closure,
    LockDiff,
    LockSnapshot,
    closure_in,
    lock_reasons,
    read_snapshot,
)
from nox_workspace._scope import (
    GLOBAL_FILES,
    ROOT_PYPROJECT,
    Scope,
    installed_members,
    member_scopes,
    path_sources,
    root_tables,
)
from nox_workspace._toml import loads_toml
from nox_workspace._workspace import Workspace

__all__ = [
    "LOCK_FILE",
    "Affected",
    "LockSnapshot",
    "RootChange",
    "affected_since",
    "plan_affected",
    "read_snapshot",
]

LOCK_FILE = "uv.lock"
_MAX_FILES_LISTED = 5
#: The rules, in the order ``explain`` and the docs name them.
RULES = (
    "rule 1: its locked closure changed",
    "rule 2: a file of what it installs changed",
    "rule 3: a file it reads changed",
    "rule 4: a global file changed",
)


# --------------------------------------------------------------------------------------------
# The pure core


@dataclass(frozen=True, slots=True, kw_only=True)
class Affected:
    """Which sessions (or members) a change affects, and why each is or is not affected.

    ``members`` names every scope planned: session names for the matrix, member names for
    ``affected`` without a noxfile. ``reasons`` has a line list for *every* one: for an
    affected one, the rule that fired and what made it fire (a file, a global file, a locked
    package); for the others, why not. ``outside`` are the changed paths that affect none.
    """

    since: str
    members: tuple[str, ...]
    affected: tuple[str, ...]
    reasons: Mapping[str, tuple[str, ...]] = field(hash=False)
    changed: tuple[str, ...]
    outside: tuple[str, ...]
    rules: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def is_affected(self, name: str) -> bool:
        """Whether the scope (session or member) ``name`` is affected."""
        return name in self.affected

    def to_json(self) -> dict[str, Any]:
        """``{"since", "affected", "reasons", "rules", "unaffected", "changed", "outside"}``."""
        chosen = set(self.affected)
        return {
            "since": self.since,
            "affected": list(self.affected),
            "reasons": {name: list(self.reasons[name]) for name in self.affected},
            "rules": {name: list(self.rules.get(name, ())) for name in self.affected},
            "unaffected": {
                name: list(self.reasons[name]) for name in self.members if name not in chosen
            },
            "changed": list(self.changed),
            "outside": list(self.outside),
        }

    def explain(self) -> str:
        """For every scope: ``name: affected (rule ...)`` or ``name: not affected``, then the
        reasons."""
        lines = []
        for name in self.members:
            if self.is_affected(name):
                fired = self.rules.get(name, ())
                lines.append(f"{name}: affected" + (f" ({'; '.join(fired)})" if fired else ""))
            else:
                lines.append(f"{name}: not affected")
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


@dataclass(frozen=True, slots=True, kw_only=True)
class RootChange:
    """The global tables of the root ``pyproject.toml`` at the base revision and now.

    ``None`` on a side: the file is absent or unreadable there (the whole file counts).
    """

    before: Mapping[str, str] | None
    now: Mapping[str, str] | None

    def changed_tables(self) -> tuple[str, ...] | None:
        """The global tables that differ; ``None``: compare the whole file."""
        if self.before is None or self.now is None:
            return None
        names = sorted(self.before.keys() | self.now.keys())
        return tuple(n for n in names if self.before.get(n) != self.now.get(n))


#: Paths that no file rule reads: the lock has rule 1, the root pyproject.toml its tables.
_NOT_LOCAL = frozenset({LOCK_FILE, ROOT_PYPROJECT})


@dataclass(frozen=True, slots=True, kw_only=True)
class _Changes:
    """The changed paths sorted by the rule that reads them, computed once for all scopes.

    ``local`` are the changed paths that no global rule takes (what ``tests``/``paths`` and
    path sources may match); ``unowned`` those of them outside every member's folder.
    """

    paths: tuple[str, ...]
    owned: Mapping[str, list[str]]
    owned_before: Mapping[str, list[str]]
    global_reasons: tuple[str, ...]
    unowned: tuple[str, ...]
    local: tuple[str, ...]
    lock_changed: bool


def _sort_changes(
    workspace: Workspace,
    paths: tuple[str, ...],
    old_lock: LockSnapshot | None,
    global_globs: Sequence[str],
    root: RootChange | None,
) -> _Changes:
    """Global files, each member's files (its folder now and at the base), and the rest."""
    members = {member.name: member for member in workspace.members}
    current = workspace.path_owner()
    old_folders: tuple[tuple[str, str], ...] = ()
    if old_lock is not None:
        previous = {
            name: folder
            for name, folder in old_lock.member_folders().items()
            if name in members and clean_relpath(folder) != members[name].relpath
        }
        old_folders = member_folders(previous)
    is_global = PathMatcher.of((*GLOBAL_FILES, *global_globs), source=workspace.pyproject)
    owned: dict[str, list[str]] = {name: [] for name in workspace.names}
    owned_before: dict[str, list[str]] = {name: [] for name in workspace.names}
    global_hits: list[str] = []
    global_paths: set[str] = set()
    unowned: list[str] = []
    for path in paths:
        if path == LOCK_FILE:
            continue
        if path == ROOT_PYPROJECT:
            tables = root.changed_tables() if root is not None else None
            if tables is None:
                global_hits.append(path)
            elif tables:
                global_hits.append(f"{path} [{', '.join(tables)}]")
            else:
                unowned.append(path)  # only tables neither uv nor the sessions read
            continue
        if is_global(path):
            global_hits.append(path)
            global_paths.add(path)
            continue
        holder = current(path)
        if holder is not None:
            owned[holder].append(path)
        elif (holder := owner(path, old_folders)) is not None:
            owned_before[holder].append(path)
        else:
            unowned.append(path)
    return _Changes(
        paths=paths,
        owned=owned,
        owned_before=owned_before,
        global_reasons=tuple(_listed(global_hits, "global file changed")),
        unowned=tuple(unowned),
        local=tuple(p for p in paths if p not in global_paths and p not in _NOT_LOCAL),
        lock_changed=LOCK_FILE in paths,
    )


@dataclass(slots=True)
class _Planner:
    """Decides scope by scope; closures and lock reasons are shared by equal syncs."""

    workspace: Workspace
    changes: _Changes
    old_lock: LockSnapshot | None
    new_lock: LockSnapshot | None
    diff: LockDiff | None
    closures: dict[Hashable, Closure | None] = field(default_factory=dict)
    lock_notes: dict[Hashable, list[str]] = field(default_factory=dict)
    matchers: dict[tuple[str, ...], PathMatcher] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def closure(self, scope: Scope) -> Closure | None:
        key = scope.closure_key
        if key not in self.closures:
            found = closure_in(self.new_lock, scope.target) if self.new_lock else None
            self.closures[key] = None if isinstance(found, str) else found
        return self.closures[key]

    def lock_reasons(self, scope: Scope) -> list[str]:
        """Rule 1: the session's locked closure differs between the two locks."""
        if not self.changes.lock_changed:
            return []
        if self.new_lock is None:
            return ["uv.lock: removed"]
        if self.old_lock is None or self.diff is None:
            return ["uv.lock: absent at the base revision"]
        key = scope.closure_key
        if key not in self.lock_notes:
            after = self.closure(scope)
            self.lock_notes[key] = lock_reasons(scope.target, self.diff, after)
        return self.lock_notes[key]

    def installed_reasons(self, scope: Scope) -> list[str]:
        """Rule 2: files of the members and the locked path sources its closure installs."""
        closure = self.closure(scope)
        target = scope.target
        own = set(self.workspace.names if target.all_packages else target.names)
        reasons: list[str] = []
        for name in installed_members(self.workspace, target, closure):
            label = "changed" if name in own else f"changed in member {name}, which it installs"
            reasons += _listed(self.changes.owned[name], label)
            reasons += _listed(
                self.changes.owned_before[name],
                ("changed" if name in own else label) + " in its folder at the base revision",
            )
            self.used.update(self.changes.owned[name], self.changes.owned_before[name])
        if closure is not None and self.new_lock is not None:
            for source in path_sources(self.workspace, closure, self.new_lock.entries):
                hits = [p for p in self.changes.local if p == source or p.startswith(source + "/")]
                reasons += _listed(hits, f"changed in locked path source {source}")
                self.used.update(hits)
        return reasons

    def read_reasons(self, scope: Scope) -> list[str]:
        """Rule 3: files the session declares it reads (``tests``, ``paths``)."""
        if not scope.reads:
            return []
        reads = self.matchers.get(scope.reads)
        if reads is None:
            reads = PathMatcher.of(scope.reads, source=self.workspace.pyproject)
            self.matchers[scope.reads] = reads
        hits = [path for path in self.changes.local if reads(path)]
        self.used.update(hits)
        return _listed(hits, "changed, and the session reads it")


def _why_not(planner: _Planner, scope: Scope, lock_note: bool) -> list[str]:
    """The reasons a scope is not affected, one per rule."""
    installed = installed_members(planner.workspace, scope.target, planner.closure(scope))
    lines = [
        "uv.lock changed, but not its locked closure" if lock_note else "uv.lock unchanged",
        "no changed file in the members it installs (" + ", ".join(installed) + ")",
    ]
    if scope.reads:
        lines.append("no changed file it reads (" + ", ".join(scope.reads) + ")")
    lines.append("no global file changed")
    return lines


def plan_affected(
    workspace: Workspace,
    changed: Iterable[str],
    *,
    since: str = "",
    old_lock: LockSnapshot | None = None,
    new_lock: LockSnapshot | None = None,
    global_globs: Sequence[str] = (),
    scopes: Sequence[Scope] | None = None,
    root: RootChange | None = None,
) -> Affected:
    """Decide which scopes the changed paths affect (see the module docstring for the rules).

    ``changed`` are paths relative to the workspace root, ``/``-separated (deleted and
    renamed paths included). ``old_lock`` and ``new_lock`` are the lock at the base revision
    and now; ``None`` means absent. ``new_lock`` gives each session's closure (which members
    and path sources it installs); the old one is read only when ``uv.lock`` changed.
    ``scopes`` default to one per member, as ``uv sync --package M`` installs it. ``root``
    holds the root ``pyproject.toml``'s global tables on both sides; without it, any change
    to that file is global.
    """
    paths = tuple(sorted({clean_relpath(path) for path in changed}))
    scopes = member_scopes(workspace) if scopes is None else scopes
    lock_changed = LOCK_FILE in paths
    changes = _sort_changes(
        workspace, paths, old_lock if lock_changed else None, global_globs, root
    )
    diff = None
    if lock_changed and old_lock is not None and new_lock is not None:
        root_member = workspace.root_member
        diff = LockDiff.of(old_lock, new_lock, root=root_member.name if root_member else None)
    planner = _Planner(workspace, changes, old_lock, new_lock, diff)
    affected: list[str] = []
    reasons: dict[str, tuple[str, ...]] = {}
    rules: dict[str, tuple[str, ...]] = {}
    for scope in scopes:
        by_rule = {
            RULES[0]: planner.lock_reasons(scope),
            RULES[1]: planner.installed_reasons(scope),
            RULES[2]: planner.read_reasons(scope),
            RULES[3]: list(changes.global_reasons),
        }
        found = [reason for lines in by_rule.values() for reason in lines]
        if found:
            affected.append(scope.name)
            reasons[scope.name] = tuple(found)
            rules[scope.name] = tuple(rule for rule, lines in by_rule.items() if lines)
        else:
            reasons[scope.name] = tuple(_why_not(planner, scope, lock_changed))
    outside = tuple(path for path in changes.unowned if path not in planner.used)
    return Affected(
        since=since,
        members=tuple(scope.name for scope in scopes),
        affected=tuple(affected),
        reasons=reasons,
        rules=rules,
        changed=paths,
        outside=outside,
    )


# --------------------------------------------------------------------------------------------
# With git


def root_change(workspace: Workspace, before: bytes | None, since: str) -> RootChange:
    """The root ``pyproject.toml``'s global tables at the base (``before``) and now."""
    extra = workspace.settings.global_tables
    now = loads_toml(workspace.pyproject.read_bytes(), ConfigError, display=workspace.pyproject)
    old: Mapping[str, str] | None = None
    if before is not None:
        try:
            old = root_tables(loads_toml(before, ConfigError, display=since), extra)
        except ConfigError:
            old = None
    return RootChange(before=old, now=root_tables(now, extra))


def affected_since(
    workspace: Workspace,
    since: str,
    *,
    untracked: bool = True,
    extra_globals: Sequence[str] = (),
    scopes: Sequence[Scope] | None = None,
    new_lock: LockSnapshot | None = None,
) -> Affected:
    """The scopes (default: the members) affected by the change from ``since`` to now.

    ``new_lock`` is the lock as it is now when the caller parsed it already.
    """
    workspace = complete_edges(workspace)
    globs = (*workspace.settings.global_globs, *extra_globals)
    changes = changes_since(workspace.root, since, untracked=untracked)
    old: LockSnapshot | None = None
    new = new_lock if new_lock is not None else read_snapshot(workspace.lock_path)
    if LOCK_FILE in changes.paths:
        raw_old = file_at(workspace.root, changes, LOCK_FILE)
        if raw_old is not None:
            old = LockSnapshot.from_bytes(raw_old, f"{since}:{changes.prefix}{LOCK_FILE}")
    root = None
    if ROOT_PYPROJECT in changes.paths:
        before = file_at(workspace.root, changes, ROOT_PYPROJECT)
        root = root_change(workspace, before, f"{since}:{changes.prefix}{ROOT_PYPROJECT}")
    return plan_affected(
        workspace,
        changes.paths,
        since=since,
        old_lock=old,
        new_lock=new,
        global_globs=globs,
        scopes=scopes,
        root=root,
    )
