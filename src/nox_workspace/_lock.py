"""Read ``uv.lock`` and compute the locked closure of workspace members the way uv does.

A closure is the set of locked packages that ``uv sync --package X`` would install (or, with
no marker environment, the union over every platform that ``uv export --package X`` prints).
nox-workspace needs it to build one environment per member, to tell which members a lock
change affects, and to name the packages an environment holds that the lock does not give it.

The walk follows uv's own (``Installable::to_resolution`` in ``uv-resolver``):

* start at the targets (their ``dependencies`` and requested extras) and the dependency
  groups the options select, follow ``dependencies``; an edge's ``extra = [...]`` also
  follows that package's ``optional-dependencies``;
* an edge is live when its marker holds. *Conflict markers* (``extra == 'extra-3-foo-x'``,
  ``extra == 'group-3-foo-dev'``) hold exactly when that extra or group of that package is
  active in this sync: the targets' extras and groups, and every extra some live edge asks
  for (found by a first pass, as uv does, before the real walk);
* with ``environment=None`` every PEP 508 environment marker is treated as satisfiable (the
  union across platforms, like ``uv export``); conflict markers are still evaluated.

Group selection follows what uv 0.13 does, checked against ``uv export``:

* one target: default groups come from the target's own ``[dependency-groups]`` only; an
  explicit group (``--group``, ``--only-group``, ``--all-groups``) the target lacks falls back
  to the workspace root's group of that name;
* several targets (repeated ``--package``, ``--all-packages``): each target contributes its
  own groups of the selected names, and a *virtual* root (no ``[project]``) contributes its
  ``[manifest.dependency-groups]`` of those names; a root that is a member contributes only
  when it is itself a target.

Performance matters because the lock of a large workspace is read on every ``nox -l``: the
lock is indexed once (packages by name, edges resolved to indices), markers are compiled once
per distinct string and only when a walk needs them, and in union mode a marker that mentions
no ``extra`` is never parsed at all.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

from packaging.specifiers import InvalidSpecifier, Specifier
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from nox_workspace._errors import LockError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "SUPPORTED_LOCK_VERSION",
    "Lock",
    "LockedPackage",
    "clear_lock_cache",
    "parse_lock",
    "read_lock",
]

#: The only ``uv.lock`` schema ``version`` this module reads; ``revision`` may be anything.
SUPPORTED_LOCK_VERSION: Final = 1

#: The source kinds a locked package can have, in uv's own order.
SOURCE_KINDS: Final = ("registry", "git", "url", "path", "directory", "editable", "virtual")

#: ``default_groups`` value that selects every group (uv's ``default-groups = "all"``).
ALL: Final = "all"

#: uv's built-in default groups when ``[tool.uv] default-groups`` is not set.
UV_DEFAULT_GROUPS: Final = ("dev",)

_RELOCK_HINT: Final = "run `uv lock` in the workspace root to rewrite it"


# --------------------------------------------------------------------------------------------
# Public value objects


@dataclass(frozen=True, slots=True)
class LockedPackage:
    """One package of a closure, as ``uv.lock`` pins it.

    ``name`` is normalized; ``version`` is ``None`` for packages whose lock entry has none
    (workspace members with a dynamic version); ``source`` is the kind of source, one of
    :data:`SOURCE_KINDS`.
    """

    name: str
    version: str | None
    source: str


# Internal shapes. Tuples rather than dataclasses where millions of accesses happen.
#: A dependency edge: (target package index, marker or None, extras, marker mentions extra).
_Edge: TypeAlias = tuple[int, str | None, tuple[str, ...], bool]


@dataclass(frozen=True, slots=True)
class _Requirement:
    """A requirement of the virtual root (``[manifest] requirements`` or its groups)."""

    name: str
    marker: str | None
    extras: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _ConflictItem:
    """One item of a ``[tool.uv] conflicts`` set: an extra, a group, or a whole project."""

    package: str
    kind: Literal["extra", "group", "project"]
    name: str

    @property
    def code(self) -> str:
        """The ``extra`` value uv's conflict markers use for this item."""
        if self.kind == "project":
            return f"project-{len(self.package)}-{self.package}"
        return _encode(self.kind, self.package, self.name)

    def __str__(self) -> str:
        if self.kind == "project":
            return f"project {self.package!r}"
        return f"{self.kind} {self.name!r} of {self.package!r}"


@dataclass(frozen=True, slots=True, eq=False)
class Lock:
    """A parsed ``uv.lock``, indexed for fast closures.

    Build it with :func:`read_lock` (cached per file) or :func:`parse_lock` (from a mapping).
    ``members`` are the workspace members named by ``[manifest] members`` (or the root project
    alone when the lock has no such list, as uv writes it for a single-project workspace).
    ``packages`` lists every locked package in file order; the remaining fields are the index
    the closure walk uses.
    """

    path: Path
    version: int
    revision: int
    requires_python: str | None
    members: tuple[str, ...]
    packages: tuple[LockedPackage, ...]
    root: str | None
    _root_index: int | None
    _by_name: Mapping[str, tuple[int, ...]]
    _member_index: Mapping[str, int]
    _deps: tuple[tuple[_Edge, ...], ...]
    _optional: tuple[Mapping[str, tuple[_Edge, ...]], ...]
    _groups: tuple[Mapping[str, tuple[_Edge, ...]], ...]
    _group_names: tuple[frozenset[str], ...]
    _extra_names: tuple[frozenset[str], ...]
    _fork_markers: tuple[tuple[str, ...], ...]
    _manifest_groups: Mapping[str, tuple[_Requirement, ...]]
    _requirements: tuple[_Requirement, ...]
    _conflicts: tuple[tuple[_ConflictItem, ...], ...]
    _memo: dict[tuple[int, ...], frozenset[str]]

    # ----------------------------------------------------------------------------------------
    # Queries

    def groups_of(self, member: str) -> frozenset[str]:
        """The dependency groups a member defines (empty ones included)."""
        return self._group_names[self._target(member)]

    def extras_of(self, member: str) -> frozenset[str]:
        """The extras (optional dependencies) a member defines."""
        return self._extra_names[self._target(member)]

    @property
    def root_groups(self) -> frozenset[str]:
        """The groups of the workspace root: its own if it is a member, else the manifest's."""
        if self._root_index is not None:
            return self._group_names[self._root_index]
        return frozenset(self._manifest_groups)

    @property
    def has_virtual_root(self) -> bool:
        """Whether the workspace root has no ``[project]`` (so it is not a member)."""
        return self._root_index is None

    def closure(
        self,
        members: str | Sequence[str],
        *,
        extras: Sequence[str] = (),
        all_extras: bool = False,
        groups: Sequence[str] = (),
        default_groups: Sequence[str] | Literal["all"] | None = None,
        all_groups: bool = False,
        only_groups: bool = False,
        environment: Mapping[str, str] | None = None,
        install_members: bool = True,
    ) -> tuple[LockedPackage, ...]:
        """The packages ``uv sync --package M [--package N ...]`` installs, sorted by name.

        ``members`` are the ``--package`` targets (one name or several). ``extras`` and
        ``all_extras`` are ``--extra`` and ``--all-extras`` (they apply to the targets).
        ``groups`` are explicit ``--group`` names: a single target that lacks one uses the
        workspace root's group of that name. ``default_groups`` are the names uv reads from
        ``[tool.uv] default-groups`` of the pyproject it treats as the project (the target's
        for one ``--package``; the current directory's project for several); they select only
        the targets' own groups, never the root's. ``None`` means uv's built-in default
        ``("dev",)``, ``()`` is ``--no-default-groups`` and ``"all"`` selects every group of
        each target. ``all_groups`` is ``--all-groups``. ``only_groups`` is ``--only-group``:
        the listed ``groups`` alone, without the targets or their dependencies, and without
        default groups.

        ``environment`` is a PEP 508 marker environment (the keys of
        ``packaging.markers.default_environment()``); ``None`` takes the union over all
        platforms and Pythons, as ``uv export`` does. Virtual packages (``package = false``)
        are never in the result, though their dependencies are. ``install_members=False``
        leaves out every workspace member (``--no-install-workspace``).

        Raises :class:`LockError` when a target is not a member of the lock, a requested
        extra or group exists nowhere, or the selection activates a declared conflict.
        """
        names = [members] if isinstance(members, str) else list(members)
        if not names:
            raise ValueError("closure() needs at least one member; use all_packages_closure()")
        targets = list(dict.fromkeys(self._target(name) for name in names))
        return self._closure(
            targets,
            single=len(targets) == 1,
            extras=extras,
            all_extras=all_extras,
            groups=groups,
            default_groups=default_groups,
            all_groups=all_groups,
            only_groups=only_groups,
            environment=environment,
            install_members=install_members,
        )

    def all_packages_closure(
        self,
        *,
        extras: Sequence[str] = (),
        all_extras: bool = False,
        groups: Sequence[str] = (),
        default_groups: Sequence[str] | Literal["all"] | None = None,
        all_groups: bool = False,
        only_groups: bool = False,
        environment: Mapping[str, str] | None = None,
        install_members: bool = True,
    ) -> tuple[LockedPackage, ...]:
        """The packages ``uv sync --all-packages`` installs: every member, as several targets.

        The options mean what they mean for :meth:`closure`; ``default_groups`` are the names
        of the workspace root's ``[tool.uv] default-groups`` (uv reads them once and applies
        them to every member). A virtual root's own groups of the selected names are included.
        """
        targets = [self._member_index[name] for name in self.members]
        return self._closure(
            targets,
            single=False,
            extras=extras,
            all_extras=all_extras,
            groups=groups,
            default_groups=default_groups,
            all_groups=all_groups,
            only_groups=only_groups,
            environment=environment,
            install_members=install_members,
        )

    # ----------------------------------------------------------------------------------------
    # The walk

    def _target(self, member: str) -> int:
        name = canonicalize_name(member)
        try:
            return self._member_index[name]
        except KeyError:
            known = ", ".join(self.members) or "none"
            raise LockError(
                f"{member!r} is not a workspace member in the lock (members: {known})",
                path=self.path,
                hint=_RELOCK_HINT,
            ) from None

    def _closure(self, targets: list[int], **options: Any) -> tuple[LockedPackage, ...]:
        try:
            return self._walk(targets, **options)
        except MarkerSyntaxError as error:
            raise LockError(str(error), path=self.path, hint=_RELOCK_HINT) from None

    def _walk(
        self,
        targets: list[int],
        *,
        single: bool,
        extras: Sequence[str],
        all_extras: bool,
        groups: Sequence[str],
        default_groups: Sequence[str] | Literal["all"] | None,
        all_groups: bool,
        only_groups: bool,
        environment: Mapping[str, str] | None,
        install_members: bool,
    ) -> tuple[LockedPackage, ...]:
        prod = not only_groups
        names = self.packages
        package_groups, manifest_groups = self._plan_groups(
            targets,
            single=single,
            explicit=[canonicalize_name(group) for group in groups],
            all_groups=all_groups,
            defaults=_normalize_defaults(default_groups) if not only_groups else (),
        )
        target_extras = self._plan_extras(targets, extras, all_extras) if prod else {}
        if self._conflicts:
            defaults = _normalize_defaults(default_groups) if not only_groups else ()
            self._precheck_conflicts(
                targets,
                prod=prod,
                extras=frozenset(canonicalize_name(extra) for extra in extras),
                all_extras=all_extras,
                groups=frozenset(
                    (*(canonicalize_name(group) for group in groups), *defaults)
                    if defaults != ALL
                    else (canonicalize_name(group) for group in groups)
                ),
                all_groups=all_groups or defaults == ALL,
            )

        # The encoded conflict items active in this sync; grows in the first pass.
        active: set[str] = set()
        if prod:
            active.update(f"project-{len(names[i].name)}-{names[i].name}" for i in targets)
        for index, extras_of_target in target_extras.items():
            active.update(_encode("extra", names[index].name, e) for e in extras_of_target)
        for owner, group in package_groups:
            active.add(_encode("group", names[owner].name, group))

        live = _Evaluator(environment)
        union = environment is None
        queue: deque[tuple[int, str | None]] = deque()
        seen: set[tuple[int, str | None]] = set()
        nodes: set[int] = set()
        # Union mode only: edges from the synthetic root (index -1) with the clauses under
        # which they are live, and the package-to-package edges the walk took.
        root_edges: list[tuple[int, _Dnf]] = []
        taken: list[tuple[int, int, str | None, bool]] = []

        def push(index: int, edge_extras: Iterable[str]) -> None:
            if (index, None) not in seen:
                seen.add((index, None))
                queue.append((index, None))
            for extra in edge_extras:
                if (index, extra) not in seen:
                    seen.add((index, extra))
                    queue.append((index, extra))

        if prod:
            for index in targets:
                nodes.add(index)
                root_edges.append((index, _TRUE))
                queue.append((index, None))
                queue.extend((index, extra) for extra in target_extras.get(index, ()))
        for owner, group in package_groups:
            for target, marker, edge_extras, has_extra in self._groups[owner].get(group, ()):
                if union:
                    dnf = live.dnf(marker, active)
                    if not dnf:
                        continue
                    root_edges.append((target, dnf))
                elif not live.edge(marker, has_extra, active):
                    continue
                nodes.add(target)
                push(target, edge_extras)
        root_requirements = list(self._requirements)
        for group in manifest_groups:
            root_requirements.extend(self._manifest_groups.get(group, ()))
        for requirement in root_requirements:
            for index, dnf in self._resolve_requirement(requirement, live):
                nodes.add(index)
                root_edges.append((index, dnf))
                push(index, requirement.extras)

        if self._conflicts:
            # First pass, as uv does: learn every extra that a live edge activates, since a
            # conflict marker met early in the walk may depend on an extra activated later.
            first_queue = deque(queue)
            first_seen = set(seen)
            while first_queue:
                index, extra = first_queue.popleft()
                edges = self._deps[index] if extra is None else self._optional[index].get(extra, ())
                for target, marker, edge_extras, has_extra in edges:
                    added = [
                        code
                        for code in (_encode("extra", names[target].name, e) for e in edge_extras)
                        if code not in active
                    ]
                    if added:
                        if not live.edge(marker, has_extra, active.union(added)):
                            continue
                        active.update(added)
                    elif not live.edge(marker, has_extra, active):
                        continue
                    for key in ((target, None), *((target, e) for e in edge_extras)):
                        if key not in first_seen:
                            first_seen.add(key)
                            first_queue.append(key)
            self._check_conflicts(active)

        while queue:
            index, extra = queue.popleft()
            edges = self._deps[index] if extra is None else self._optional[index].get(extra, ())
            for target, marker, edge_extras, has_extra in edges:
                if live.edge(marker, has_extra, active):
                    nodes.add(target)
                    if union and marker is not None:
                        taken.append((index, target, marker, has_extra))
                    else:
                        taken.append((index, target, None, False))
                    push(target, edge_extras)

        if union:
            nodes = _reachable(nodes, root_edges, taken, live, active)

        members = frozenset(self._member_index.values())
        result = [
            names[index]
            for index in nodes
            if names[index].source != "virtual" and (install_members or index not in members)
        ]
        result.sort(key=_sort_key)
        return tuple(result)

    def _plan_groups(
        self,
        targets: list[int],
        *,
        single: bool,
        explicit: list[str],
        all_groups: bool,
        defaults: tuple[str, ...] | Literal["all"],
    ) -> tuple[list[tuple[int, str]], list[str]]:
        """Which groups of which packages a sync activates, as uv 0.13 selects them.

        Returns the (package index, group) pairs and the virtual root's manifest groups.
        """
        chosen: dict[tuple[int, str], None] = {}
        manifest: dict[str, None] = {}
        for index in targets:
            own = self._group_names[index]
            selected = sorted(own) if defaults == ALL or all_groups else defaults
            for group in selected:
                if group in own:
                    chosen[index, group] = None
        if single:
            target = targets[0]
            own = self._group_names[target]
            requested = list(explicit)
            if all_groups:
                requested += sorted(self.root_groups)
            for group in requested:
                if group in own:
                    chosen[target, group] = None
                elif self._root_index is not None and group in self.root_groups:
                    chosen[self._root_index, group] = None
                elif self._root_index is None and group in self._manifest_groups:
                    manifest[group] = None
                else:
                    raise LockError(
                        f"group {group!r} is defined neither by {self.packages[target].name!r}"
                        " nor by the workspace root",
                        path=self.path,
                        hint="check the group name, or run `uv lock` if you just added it",
                    )
            return list(chosen), list(manifest)
        # Several targets: each contributes its own groups; a virtual root its manifest groups.
        for group in explicit:
            found = group in self._manifest_groups
            for index in targets:
                if group in self._group_names[index]:
                    chosen[index, group] = None
                    found = True
            if not found:
                raise LockError(
                    f"group {group!r} is defined by none of the selected members",
                    path=self.path,
                    hint="check the group name, or run `uv lock` if you just added it",
                )
        if defaults == ALL or all_groups:
            manifest.update(dict.fromkeys(sorted(self._manifest_groups)))
        else:
            manifest.update((g, None) for g in (*defaults, *explicit) if g in self._manifest_groups)
        return list(chosen), list(manifest)

    def _plan_extras(
        self, targets: list[int], extras: Sequence[str], all_extras: bool
    ) -> dict[int, tuple[str, ...]]:
        """The extras each target activates; an extra no target defines is an error."""
        plan: dict[int, tuple[str, ...]] = {}
        wanted = [canonicalize_name(extra) for extra in extras]
        for extra in wanted:
            if not any(extra in self._extra_names[index] for index in targets):
                raise LockError(
                    f"extra {extra!r} is defined by none of the selected members",
                    path=self.path,
                    hint="check the extra name, or run `uv lock` if you just added it",
                )
        for index in targets:
            own = self._extra_names[index]
            chosen = sorted(own) if all_extras else [e for e in wanted if e in own]
            if chosen:
                plan[index] = tuple(chosen)
        return plan

    def _check_conflicts(self, active: Set[str]) -> None:
        """Refuse a sync whose walk activates two conflicting extras.

        Like uv's install step, this compares extras with extras only: an extra activated
        through a dependency next to a conflicting group is not refused (uv does not either).
        """
        for conflict in self._conflicts:
            self._refuse([i for i in conflict if i.kind == "extra" and i.code in active])

    def _precheck_conflicts(
        self,
        targets: list[int],
        *,
        prod: bool,
        extras: frozenset[str],
        all_extras: bool,
        groups: frozenset[str],
        all_groups: bool,
    ) -> None:
        """Refuse a selection uv refuses before it walks anything.

        uv checks the requested extras and groups *by name* against every conflict item of a
        member the targets can reach through any edge (so ``--all-extras`` on a member that
        depends on a member with conflicting extras fails even if the walk would not
        activate them); a project item counts whenever the targets' own dependencies do.
        """
        reached = self._members_reached(targets)
        for conflict in self._conflicts:
            self._refuse(
                [
                    item
                    for item in conflict
                    if item.package in reached
                    and (
                        (item.kind == "project" and prod)
                        or (item.kind == "extra" and (all_extras or item.name in extras))
                        or (item.kind == "group" and (all_groups or item.name in groups))
                    )
                ]
            )

    def _refuse(self, clash: list[_ConflictItem]) -> None:
        if len(clash) > 1:
            raise LockError(
                f"{' and '.join(map(str, clash))} are declared as conflicting "
                "([tool.uv] conflicts)",
                path=self.path,
                hint="select only one of them",
            )

    def _members_reached(self, targets: list[int]) -> frozenset[str]:
        """The members reachable from the targets through any edge, markers ignored."""
        key = tuple(sorted(targets))
        known = self._memo.get(key)
        if known is not None:
            return known
        seen = set(targets)
        stack = list(targets)
        while stack:
            index = stack.pop()
            lists = [self._deps[index], *self._optional[index].values()]
            lists.extend(self._groups[index].values())
            for edges in lists:
                for target, _, _, _ in edges:
                    if target not in seen:
                        seen.add(target)
                        stack.append(target)
        members = frozenset(self._member_index)
        reached = frozenset(self.packages[i].name for i in seen) & members
        self._memo[key] = reached
        return reached

    def _resolve_requirement(
        self, requirement: _Requirement, live: _Evaluator
    ) -> list[tuple[int, _Dnf]]:
        """The locked packages a root requirement selects (one per fork it can reach).

        Each comes with the clauses under which it is reached (union mode; ``_TRUE`` else).
        """
        candidates = self._by_name.get(requirement.name, ())
        if not candidates:
            raise LockError(
                f"the workspace root requires {requirement.name!r}, which is not locked",
                path=self.path,
                hint=_RELOCK_HINT,
            )
        selected = []
        for index in candidates:
            dnf = live.requirement(requirement.marker, self._fork_markers[index])
            if dnf:
                selected.append((index, dnf))
        return selected


def _sort_key(package: LockedPackage) -> tuple[str, str, str]:
    return (package.name, package.version or "", package.source)


def _normalize_defaults(
    default_groups: Sequence[str] | Literal["all"] | None,
) -> tuple[str, ...] | Literal["all"]:
    if default_groups is None:
        return UV_DEFAULT_GROUPS
    if isinstance(default_groups, str):
        if default_groups != ALL:
            raise ValueError(
                f"default_groups must be a sequence of names or 'all', not {default_groups!r}"
            )
        return ALL
    return tuple(canonicalize_name(group) for group in default_groups)


def _encode(kind: str, package: str, item: str) -> str:
    """uv's encoding of an extra or group as a conflict-marker ``extra`` value."""
    return f"{kind}-{len(package)}-{package}-{item}"


# --------------------------------------------------------------------------------------------
# Markers: a small PEP 508 compiler to disjunctive normal form, cached per string.
#
# packaging's ``Marker.evaluate`` takes one ``extra`` value at a time and cannot answer "is
# this satisfiable on some platform", so markers are compiled here into clauses: each clause
# is a conjunction of ``extra`` literals (conflict items or plain extras) and environment
# atoms. A marker holds when one clause does.

#: A comparison: (variable, operator, literal, variable is on the left).
_Atom: TypeAlias = tuple[str, str, str, bool]
#: Union mode: the environment clauses under which something holds (a disjunction).
_Dnf: TypeAlias = tuple[frozenset[_Atom], ...]
#: The condition that always holds: one clause without atoms.
_TRUE: Final[_Dnf] = (frozenset(),)

_TOKEN: Final = re.compile(
    r"""\s*(?:
        (?P<paren>[()])
      | (?P<string>'[^']*'|"[^"]*")
      | (?P<op>===|==|!=|<=|>=|~=|<|>|not\s+in(?![\w.])|in(?![\w.]))
      | (?P<bool>and(?![\w.])|or(?![\w.]))
      | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)

_VARIABLES: Final = frozenset(
    {
        "implementation_name",
        "implementation_version",
        "os_name",
        "platform_machine",
        "platform_python_implementation",
        "platform_release",
        "platform_system",
        "platform_version",
        "python_full_version",
        "python_version",
        "sys_platform",
        "extra",
    }
)
_LEGACY_VARIABLES: Final = {
    "os.name": "os_name",
    "sys.platform": "sys_platform",
    "platform.version": "platform_version",
    "platform.machine": "platform_machine",
    "platform.python_implementation": "platform_python_implementation",
    "python_implementation": "platform_python_implementation",
}
_FLIPPED: Final = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


class MarkerSyntaxError(ValueError):
    """A marker string is not PEP 508."""


@dataclass(frozen=True, slots=True)
class _Clause:
    """One conjunction: ``extra`` literals (value, must be active) and environment atoms.

    ``possible`` is false when the ``extra`` literals contradict each other. ``consistent``
    says whether the environment atoms can hold together on some platform; union mode (no
    environment) checks it instead of evaluating them.
    """

    extras: tuple[tuple[str, bool], ...]
    atoms: frozenset[_Atom]
    possible: bool
    consistent: bool


@dataclass(frozen=True, slots=True)
class _Marker:
    """A compiled marker: the disjunction of its clauses."""

    clauses: tuple[_Clause, ...]


_MARKER_CACHE: dict[str, _Marker] = {}
_MARKER_CACHE_LOCK = threading.Lock()


def _compile(marker: str) -> _Marker:
    """Compile (once per process) a marker string into clauses."""
    compiled = _MARKER_CACHE.get(marker)
    if compiled is None:
        compiled = _Marker(tuple(_make_clause(raw) for raw in _parse_marker(marker)))
        with _MARKER_CACHE_LOCK:
            if len(_MARKER_CACHE) > 50_000:
                _MARKER_CACHE.clear()
            _MARKER_CACHE[marker] = compiled
    return compiled


def _parse_marker(text: str) -> list[list[_Atom]]:
    """Parse a marker into DNF: a list of clauses, each a list of comparisons."""
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise MarkerSyntaxError(f"cannot parse marker {text!r} at position {position}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    tokens.append(("end", ""))
    index = 0

    def peek() -> tuple[str, str]:
        return tokens[index]

    def take() -> tuple[str, str]:
        nonlocal index
        token = tokens[index]
        index += 1
        return token

    def parse_or() -> list[list[_Atom]]:
        clauses = parse_and()
        while peek() == ("bool", "or"):
            take()
            clauses = clauses + parse_and()
        return clauses

    def parse_and() -> list[list[_Atom]]:
        clauses = parse_atom()
        while peek() == ("bool", "and"):
            take()
            right = parse_atom()
            clauses = [left + other for left in clauses for other in right]
        return clauses

    def operand() -> tuple[str, str]:
        kind, value = take()
        if kind == "string":
            return ("string", value[1:-1])
        if kind == "name":
            name = _LEGACY_VARIABLES.get(value, value)
            if name not in _VARIABLES:
                raise MarkerSyntaxError(f"unknown marker variable {value!r} in {text!r}")
            return ("name", name)
        raise MarkerSyntaxError(f"expected a variable or a string in marker {text!r}")

    def parse_atom() -> list[list[_Atom]]:
        if peek() == ("paren", "("):
            take()
            clauses = parse_or()
            if take() != ("paren", ")"):
                raise MarkerSyntaxError(f"unbalanced parentheses in marker {text!r}")
            return clauses
        left = operand()
        kind, op = take()
        if kind != "op":
            raise MarkerSyntaxError(f"expected a comparison in marker {text!r}")
        op = " ".join(op.split())
        right = operand()
        return [[_literal(left, op, right, text)]]

    clauses = parse_or()
    if peek()[0] != "end":
        raise MarkerSyntaxError(f"unexpected {peek()[1]!r} in marker {text!r}")
    return clauses


def _literal(left: tuple[str, str], op: str, right: tuple[str, str], text: str) -> _Atom:
    """Turn one comparison into an atom, the variable first; ``extra`` values normalized."""
    if left[0] == "name" and right[0] == "string":
        variable, value, on_left = left[1], right[1], True
    elif left[0] == "string" and right[0] == "name":
        variable, value, on_left = right[1], left[1], False
    else:
        raise MarkerSyntaxError(f"a comparison needs one variable and one string in {text!r}")
    if variable == "extra":
        value = canonicalize_name(value)
    return (variable, op, value, on_left)


def _make_clause(raw: list[_Atom]) -> _Clause:
    extras: dict[str, bool] = {}
    atoms: list[_Atom] = []
    possible = True
    for atom in raw:
        variable, op, value, _ = atom
        if variable != "extra":
            atoms.append(atom)
        elif op in ("==", "!="):
            if extras.setdefault(value, op == "==") != (op == "=="):
                possible = False
        elif op != "not in":
            # uv evaluates `extra` only by equality; any other test of it never holds.
            possible = False
    unique = frozenset(atoms)
    return _Clause(
        extras=tuple(extras.items()),
        atoms=unique,
        possible=possible,
        consistent=_consistent(unique),
    )


def _python_specifiers(atom: _Atom) -> list[str] | None:
    """Express a ``python_version``/``python_full_version`` atom as full-version specifiers.

    ``python_version`` is ``X.Y``, so ``python_version > '3.11'`` means ``>= 3.12``; uv's
    marker algebra treats both variables as one, and so must a satisfiability check.
    Returns ``None`` when the atom is not a plain version comparison.
    """
    variable, op, value, on_left = atom
    if op in ("in", "not in", "~=", "==="):
        return None
    if not on_left:
        op = _FLIPPED[op]
    if variable == "python_version" and re.fullmatch(r"\d+\.\d+", value):
        major, minor = (int(part) for part in value.split("."))
        following = f"{major}.{minor + 1}"
        return {
            "==": [f"=={value}.*"],
            "!=": [f"!={value}.*"],
            "<": [f"<{value}"],
            "<=": [f"<{following}"],
            ">": [f">={following}"],
            ">=": [f">={value}"],
        }[op]
    return [f"{op}{value}"]


def _candidate_versions(specifiers: Iterable[str]) -> list[Version]:
    """Versions at and around every bound, enough to find a point inside any intersection."""
    candidates = {Version("0"), Version("99.99.99")}
    for spec in specifiers:
        digits = re.findall(r"\d+", spec.split(".*")[0])
        if not digits:
            continue
        release = [int(part) for part in digits[:3]] + [0] * (3 - min(3, len(digits)))
        major, minor, micro = release
        for candidate in (
            (major, minor, micro),
            (major, minor, micro + 1),
            (major, minor, max(micro - 1, 0)),
            (major, minor + 1, 0),
            (major, max(minor - 1, 0), 99),
            (major, minor, 99),
            (major + 1, 0, 0),
            (max(major - 1, 0), 99, 99),
        ):
            candidates.add(Version(".".join(map(str, candidate))))
    return sorted(candidates)


_CONSISTENT_CACHE: dict[frozenset[_Atom], bool] = {}


def _consistent(atoms: frozenset[_Atom]) -> bool:
    """Whether the atoms can all hold on one platform (a sound over-approximation).

    Python versions are checked exactly enough for the bounds uv writes; string variables by
    their ``==``/``!=`` values; anything else is assumed satisfiable. Cached per atom set.
    """
    if len(atoms) < 2:
        return True
    known = _CONSISTENT_CACHE.get(atoms)
    if known is None:
        if len(_CONSISTENT_CACHE) > 100_000:
            _CONSISTENT_CACHE.clear()
        known = _CONSISTENT_CACHE[atoms] = _check_consistent(atoms)
    return known


def _check_consistent(atoms: frozenset[_Atom]) -> bool:
    python: list[str] = []
    equal: dict[str, str] = {}
    unequal: dict[str, set[str]] = {}
    other: list[_Atom] = []
    for atom in atoms:
        variable, op, value, on_left = atom
        if variable in ("python_version", "python_full_version"):
            specs = _python_specifiers(atom)
            if specs is not None:
                python.extend(specs)
            continue
        if op == "==":
            if equal.setdefault(variable, value) != value:
                return False
        elif op == "!=":
            unequal.setdefault(variable, set()).add(value)
        else:
            other.append(atom)
    for variable, value in equal.items():
        if value in unequal.get(variable, ()):
            return False
    for variable, op, value, on_left in other:
        if variable in equal and op in ("in", "not in"):
            left, right = (equal[variable], value) if on_left else (value, equal[variable])
            if (left in right) != (op == "in"):
                return False
    if len(python) > 1:
        try:
            parsed = [Specifier(spec) for spec in python]
        except InvalidSpecifier:
            return True
        return any(
            all(spec.contains(version, prereleases=True) for spec in parsed)
            for version in _candidate_versions(python)
        )
    return True


_SPECIFIER_CACHE: dict[str, Specifier | None] = {}


def _atom_holds(atom: _Atom, environment: Mapping[str, str]) -> bool:
    """Evaluate one comparison against a marker environment, as ``packaging`` does."""
    variable, op, value, on_left = atom
    try:
        actual = environment[variable]
    except KeyError:
        raise ValueError(
            f"the marker environment has no {variable!r}; pass a complete environment "
            "(see packaging.markers.default_environment())"
        ) from None
    left, right = (actual, value) if on_left else (value, actual)
    if op == "in":
        return left in right
    if op == "not in":
        return left not in right
    key = op + right
    if key not in _SPECIFIER_CACHE:
        try:
            _SPECIFIER_CACHE[key] = Specifier(key)
        except InvalidSpecifier:
            _SPECIFIER_CACHE[key] = None
    spec = _SPECIFIER_CACHE[key]
    if spec is not None:
        try:
            return spec.contains(left, prereleases=True)
        except InvalidVersion:  # pragma: no cover - packaging returns False on new versions
            return False
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    if op == ">=":
        return left >= right
    return False


class _Evaluator:
    """Decides whether edges are live, for one walk (one environment or the union)."""

    __slots__ = ("_atoms", "_environment")

    def __init__(self, environment: Mapping[str, str] | None) -> None:
        self._environment = environment
        self._atoms: dict[_Atom, bool] = {}

    def _clause_holds(self, clause: _Clause, active: Set[str]) -> bool:
        if not clause.possible:
            return False
        for name, positive in clause.extras:
            if (name in active) is not positive:
                return False
        environment = self._environment
        if environment is None:
            return clause.consistent
        memo = self._atoms
        for atom in clause.atoms:
            holds = memo.get(atom)
            if holds is None:
                holds = memo[atom] = _atom_holds(atom, environment)
            if not holds:
                return False
        return True

    def marker(self, marker: str, active: Set[str]) -> bool:
        return any(self._clause_holds(clause, active) for clause in _compile(marker).clauses)

    def edge(self, marker: str | None, has_extra: bool, active: Set[str]) -> bool:
        """Whether an edge can be live (in union mode: on some platform)."""
        if marker is None:
            return True
        if self._environment is None and not has_extra:
            # uv never writes an environment marker that no platform satisfies.
            return True
        return self.marker(marker, active)

    def dnf(self, marker: str | None, active: Set[str]) -> _Dnf:
        """Union mode: the environment clauses under which an edge is live.

        ``_TRUE`` when it is live everywhere, ``()`` when nowhere; conflict and extra
        literals are decided by ``active``.
        """
        if marker is None:
            return _TRUE
        clauses = []
        for clause in _compile(marker).clauses:
            if not (clause.possible and clause.consistent):
                continue
            if all((name in active) is positive for name, positive in clause.extras):
                if not clause.atoms:
                    return _TRUE
                clauses.append(clause.atoms)
        return tuple(clauses)

    def requirement(self, marker: str | None, fork_markers: tuple[str, ...]) -> _Dnf:
        """Whether (and, in union mode, where) a root requirement reaches a locked package.

        A package that was forked is reached only where one of its fork markers holds too.
        Root requirements activate no extras, so every ``extra`` literal is false.
        """
        no_extras: frozenset[str] = frozenset()
        if self._environment is not None:
            if marker is not None and not self.marker(marker, no_extras):
                return ()
            if fork_markers and not any(self.marker(m, no_extras) for m in fork_markers):
                return ()
            return _TRUE
        own = self.dnf(marker, no_extras)
        if not fork_markers:
            return own
        clauses: list[frozenset[_Atom]] = []
        for fork in fork_markers:
            for right in self.dnf(fork, no_extras):
                for left in own:
                    combined = left | right
                    if not combined:
                        return _TRUE
                    if _consistent(combined):
                        clauses.append(combined)
        return tuple(clauses)


def _reachable(
    nodes: set[int],
    root_edges: list[tuple[int, _Dnf]],
    taken: list[tuple[int, int, str | None, bool]],
    live: _Evaluator,
    active: Set[str],
) -> set[int]:
    """The walked packages that some platform reaches, as ``uv export`` computes them.

    Every path to a package must hold on one platform: conditions conjoin along a path and
    disjoin across paths, so ``a -[python < '3.14']-> b -[python >= '3.14']-> c`` does not
    reach ``c``. Packages reached by unconditional paths are settled first by a plain search;
    only the rest carry sets of clauses (kept minimal by subsumption) to a fixed point.
    """
    adjacency: dict[int, list[tuple[int, str | None]]] = {}
    for parent, child, marker, _ in taken:
        adjacency.setdefault(parent, []).append((child, marker))
    always: set[int] = set()
    stack = [child for child, dnf in root_edges if dnf is _TRUE]
    while stack:
        node = stack.pop()
        if node in always:
            continue
        always.add(node)
        for child, marker in adjacency.get(node, ()):
            if child not in always and (marker is None or live.dnf(marker, active) is _TRUE):
                stack.append(child)
    if always >= nodes:
        return always

    reach: dict[int, list[frozenset[_Atom]]] = {}
    work: deque[tuple[int, frozenset[_Atom]]] = deque()

    def add(node: int, clause: frozenset[_Atom]) -> None:
        if node in always:
            return
        current = reach.setdefault(node, [])
        if any(known <= clause for known in current):
            return
        current[:] = [known for known in current if not clause <= known]
        current.append(clause)
        work.append((node, clause))

    for child, dnf in root_edges:
        if dnf is not _TRUE:
            for clause in dnf:
                add(child, clause)
    for node in always:
        for child, marker in adjacency.get(node, ()):
            if child not in always:
                for clause in live.dnf(marker, active):
                    add(child, clause)
    while work:
        node, clause = work.popleft()
        if clause not in reach[node]:
            continue  # subsumed by a weaker condition found later
        for child, marker in adjacency.get(node, ()):
            if child in always:
                continue
            for edge_clause in live.dnf(marker, active):
                combined = clause | edge_clause
                if _consistent(combined):
                    add(child, combined)
    return always | reach.keys()


# --------------------------------------------------------------------------------------------
# Parsing


def _source_kind(source: Mapping[str, Any]) -> str:
    for kind in SOURCE_KINDS:
        if kind in source:
            return kind
    return next(iter(source), "unknown")


def parse_lock(data: Mapping[str, Any], path: Path) -> Lock:
    """Build a :class:`Lock` from the mapping ``tomllib`` made of ``path``.

    Pure: reads nothing from disk. Unknown keys and any ``revision`` are accepted; a schema
    ``version`` other than :data:`SUPPORTED_LOCK_VERSION` or a malformed structure raises
    :class:`LockError` naming the file.
    """
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise LockError(
            "has no integer schema `version`; this is not a uv lock file",
            path=path,
            hint=_RELOCK_HINT,
        )
    if version != SUPPORTED_LOCK_VERSION:
        raise LockError(
            f"uses lock schema version {version}, but nox-workspace reads version "
            f"{SUPPORTED_LOCK_VERSION}",
            path=path,
            hint="upgrade nox-workspace, or lock with a uv release that writes version 1",
        )
    try:
        return _index(data, path, version)
    except LockError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise LockError(
            f"is malformed ({type(error).__name__}: {error})".replace("\n", " "),
            path=path,
            hint=_RELOCK_HINT,
        ) from error


def _index(data: Mapping[str, Any], path: Path, version: int) -> Lock:
    revision = data.get("revision", 0)
    requires_python = data.get("requires-python")
    raw_packages: list[Mapping[str, Any]] = data.get("package", [])
    if not isinstance(raw_packages, list):
        raise LockError("has a `package` key that is not an array of tables", path=path)

    names: dict[str, str] = {}

    def norm(name: str) -> str:
        normalized = names.get(name)
        if normalized is None:
            normalized = names[name] = canonicalize_name(name)
        return normalized

    packages: list[LockedPackage] = []
    sources: list[Mapping[str, Any]] = []
    by_name: dict[str, list[int]] = {}
    root_index: int | None = None
    for index, raw in enumerate(raw_packages):
        name = norm(raw["name"])
        source = raw.get("source", {})
        kind = _source_kind(source)
        package_version = raw.get("version")
        packages.append(
            LockedPackage(name, str(package_version) if package_version is not None else None, kind)
        )
        sources.append(source)
        by_name.setdefault(name, []).append(index)
        if source.get("editable") == "." or source.get("virtual") == ".":
            root_index = index

    def resolve(edge: Mapping[str, Any], owner: int) -> int:
        name = norm(edge["name"])
        candidates = by_name.get(name)
        if not candidates:
            raise LockError(
                f"{packages[owner].name!r} depends on {name!r}, which has no [[package]] entry",
                path=path,
                hint=_RELOCK_HINT,
            )
        if len(candidates) == 1:
            return candidates[0]
        edge_version = edge.get("version")
        edge_source = edge.get("source")
        matches = [
            index
            for index in candidates
            if (edge_version is None or packages[index].version == edge_version)
            and (edge_source is None or sources[index] == edge_source)
        ]
        if len(matches) != 1:
            raise LockError(
                f"{packages[owner].name!r} depends on {name!r}, which is locked "
                f"{len(candidates)} times, and the edge does not say which",
                path=path,
                hint=_RELOCK_HINT,
            )
        return matches[0]

    def edges(raw_edges: Sequence[Mapping[str, Any]], owner: int) -> tuple[_Edge, ...]:
        out: list[_Edge] = []
        for edge in raw_edges:
            marker = edge.get("marker")
            extras = edge.get("extra", ())
            out.append(
                (
                    resolve(edge, owner),
                    marker,
                    tuple(norm(extra) for extra in extras) if extras else (),
                    marker is not None and "extra" in marker,
                )
            )
        return tuple(out)

    empty: Mapping[str, tuple[_Edge, ...]] = {}
    deps: list[tuple[_Edge, ...]] = []
    optional: list[Mapping[str, tuple[_Edge, ...]]] = []
    groups: list[Mapping[str, tuple[_Edge, ...]]] = []
    group_names: list[frozenset[str]] = []
    extra_names: list[frozenset[str]] = []
    fork_markers: list[tuple[str, ...]] = []
    for index, raw in enumerate(raw_packages):
        deps.append(edges(raw.get("dependencies", ()), index))
        raw_optional = raw.get("optional-dependencies")
        raw_groups = raw.get("dev-dependencies")
        metadata = raw.get("metadata", {})
        if raw_optional:
            optional.append({norm(k): edges(v, index) for k, v in raw_optional.items()})
        else:
            optional.append(empty)
        if raw_groups:
            groups.append({norm(k): edges(v, index) for k, v in raw_groups.items()})
        else:
            groups.append(empty)
        declared_groups = metadata.get("requires-dev", {})
        group_names.append(frozenset(map(norm, (*groups[-1], *declared_groups))))
        extra_names.append(
            frozenset(map(norm, (*optional[-1], *metadata.get("provides-extras", ()))))
        )
        fork_markers.append(tuple(raw.get("resolution-markers", raw.get("fork-markers", ()))))

    manifest = data.get("manifest", {})
    members = tuple(norm(member) for member in manifest.get("members", ()))
    if not members and root_index is not None:
        members = (packages[root_index].name,)
    member_index: dict[str, int] = {}
    for member in members:
        candidates = by_name.get(member, [])
        if len(candidates) != 1:
            raise LockError(
                f"lists member {member!r} in [manifest] but locks it {len(candidates)} times",
                path=path,
                hint=_RELOCK_HINT,
            )
        member_index[member] = candidates[0]

    def requirement(raw: Mapping[str, Any]) -> _Requirement:
        return _Requirement(
            name=norm(raw["name"]),
            marker=raw.get("marker"),
            extras=tuple(norm(extra) for extra in raw.get("extras", ())),
        )

    manifest_groups = {
        norm(group): tuple(requirement(raw) for raw in reqs)
        for group, reqs in manifest.get("dependency-groups", {}).items()
    }
    requirements = tuple(requirement(raw) for raw in manifest.get("requirements", ()))
    conflicts = tuple(
        tuple(_conflict_item(item, norm) for item in conflict_set)
        for conflict_set in data.get("conflicts", ())
    )
    return Lock(
        path=path,
        version=version,
        revision=int(revision),
        requires_python=requires_python,
        members=members,
        packages=tuple(packages),
        root=packages[root_index].name if root_index is not None else None,
        _root_index=root_index,
        _by_name={name: tuple(indices) for name, indices in by_name.items()},
        _member_index=member_index,
        _deps=tuple(deps),
        _optional=tuple(optional),
        _groups=tuple(groups),
        _group_names=tuple(group_names),
        _extra_names=tuple(extra_names),
        _fork_markers=tuple(fork_markers),
        _manifest_groups=manifest_groups,
        _requirements=requirements,
        _conflicts=conflicts,
        _memo={},
    )


def _conflict_item(item: Mapping[str, Any], norm: Callable[[str], str]) -> _ConflictItem:
    package = norm(item.get("package", ""))
    if "extra" in item:
        return _ConflictItem(package, "extra", norm(item["extra"]))
    if "group" in item:
        return _ConflictItem(package, "group", norm(item["group"]))
    return _ConflictItem(package, "project", "")


# --------------------------------------------------------------------------------------------
# Reading, cached per file


_CACHE: dict[Path, tuple[int, int, Lock]] = {}
_CACHE_LOCK = threading.Lock()


def read_lock(path: Path | str) -> Lock:
    """Read and index ``uv.lock`` at ``path``, once per process per file state.

    The result is cached on the resolved path, the modification time (ns) and the size, so
    every caller in one process (noxfile loading, sessions, the CLI) shares one parse; a
    rewritten lock is read again. Errors are :class:`LockError` with a one-line message:
    a missing file, bytes that are not UTF-8, TOML that does not parse, or an unknown schema.
    """
    path = Path(path)
    key = path.resolve()
    try:
        with open(key, "rb") as handle:
            stat = os.fstat(handle.fileno())
            with _CACHE_LOCK:
                cached = _CACHE.get(key)
            if cached is not None and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
                return cached[2]
            raw = handle.read()
    except FileNotFoundError:
        raise LockError(
            "does not exist",
            path=path,
            hint="run `uv lock` in the workspace root to create it",
        ) from None
    except IsADirectoryError:
        raise LockError("is a directory, not a lock file", path=path) from None
    except OSError as error:
        raise LockError(f"cannot be read ({error.strerror})", path=path) from None
    lock = _load(raw, path)
    with _CACHE_LOCK:
        _CACHE[key] = (stat.st_mtime_ns, stat.st_size, lock)
    return lock


def _load(raw: bytes, path: Path) -> Lock:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise LockError(
            f"is not UTF-8 text (byte {error.start})",
            path=path,
            hint=_RELOCK_HINT,
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        detail = str(error).splitlines()[0] if str(error) else "invalid TOML"
        raise LockError(
            f"is not valid TOML ({detail})",
            path=path,
            hint="restore it from version control or run `uv lock` to rewrite it",
        ) from None
    return parse_lock(data, path)


def clear_lock_cache() -> None:
    """Forget every lock :func:`read_lock` has cached (for tests and long-lived processes)."""
    with _CACHE_LOCK:
        _CACHE.clear()
