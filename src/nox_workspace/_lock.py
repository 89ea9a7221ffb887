"""Read ``uv.lock`` and compute the locked closure of workspace members the way uv does.

A closure is the set of locked packages that ``uv sync --package X`` would install for one
marker environment, or, with no environment, the union over every platform and Python that
``uv export --package X`` lists. nox-workspace needs it to build one environment per member,
to tell which members a lock change affects, and to name the packages an environment holds
that the lock does not give it. Every rule below was checked against uv 0.13.9 (see
``tests/functional/test_lock_conformance.py``).

The walk (uv's ``Installable::to_resolution`` and ``ExportableRequirements::from_lock``):

* start at the targets (their ``dependencies`` and requested extras), the dependency groups
  the options select, and the virtual root's requirements; follow ``dependencies``; an
  edge's ``extra = [...]`` also follows that package's ``optional-dependencies``;
* an edge is live when its marker holds. *Conflict markers* (``extra == 'extra-3-foo-x'``,
  ``extra == 'group-3-foo-dev'``, ``extra == 'project-3-foo'``) hold exactly when that item
  is active in this sync: the targets' extras, groups and projects, and every extra a live
  edge activates (uv's first pass; an edge's own extras count for its own marker);
* with an environment, each marker is evaluated against it (PEP 508). Without one, markers
  conjoin along a path and disjoin across paths, and a package is in the union when some
  path to it holds on some platform: ``a -[python < '3.14']-> b -[python >= '3.14']-> c``
  does not reach ``c`` (``uv export`` drops it too).

Group selection (uv 0.13):

* one target: default groups select only the target's own ``[dependency-groups]``; an
  explicit group (``--group``, ``--only-group``, ``--all-groups``) the target lacks falls back
  to the workspace root's group of that name (the root member's, or a virtual root's
  ``[manifest.dependency-groups]``);
* several targets (repeated ``--package``, ``--all-packages``): each target contributes its
  own groups of the selected names, and a *virtual* root contributes its groups of those
  names; a root that is a member contributes only when it is itself a target.

Performance matters because every session's leak check and every CI plan reads the lock
(listing sessions never does). The lock is
indexed once; markers are compiled once per distinct string into disjunctive normal form;
and for each environment (or the union) every node of the graph (a package, or one extra of
it) is solved once, bottom-up over strongly connected components, into bitsets: the packages
it reaches everywhere, and the packages it reaches only under a condition. A member's
closure is then a few bitwise ORs, so the closures of all members share the work.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import (
    Callable,
    Container,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
    Set,
)
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, TypeVar

from packaging.specifiers import InvalidSpecifier, Specifier
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion

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
    _relevant: frozenset[str]
    _codes: tuple[str, ...]
    _code_bits: Mapping[str, int]
    _exclusive: Mapping[str, frozenset[str]]
    _package_mask: int
    _bits: tuple[int, ...]
    _ordered: tuple[LockedPackage, ...]
    _virtual_mask: int
    _member_mask: int
    _cache: dict[str, Any]
    #: Per byte of a package bitset, the packages of each byte value (filled lazily).
    _chunks: tuple[dict[int, tuple[LockedPackage, ...]], ...]

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
        environment: Mapping[str, object] | None = None,
        install_members: bool = True,
    ) -> tuple[LockedPackage, ...]:
        """The packages ``uv sync --package M [--package N ...]`` installs, sorted by name.

        ``members`` are the ``--package`` targets (one name or several). ``extras`` and
        ``all_extras`` are ``--extra`` and ``--all-extras`` (they apply to the targets).
        ``groups`` are explicit ``--group`` names: a single target that lacks one uses the
        workspace root's group of that name. ``default_groups`` are the names uv reads from
        ``[tool.uv] default-groups`` of the pyproject it treats as the project (the target's
        for one ``--package``; the current directory's project for several); they select the
        targets' own groups (and, for several targets, a virtual root's), never a root
        member's. ``None`` means uv's built-in default ``("dev",)``, ``()`` is
        ``--no-default-groups`` and ``"all"`` selects every group of each target.
        ``all_groups`` is ``--all-groups``. ``only_groups`` is ``--only-group``: the listed
        ``groups`` alone, without the targets or their dependencies, and without default
        groups.

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
        environment: Mapping[str, object] | None = None,
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

    def member_edges(self) -> tuple[tuple[str, str, str, str | None], ...]:
        """Edges between workspace members as locked: ``(source, target, kind, via)``.

        ``kind`` is ``dependency``, ``extra`` (``via`` names the extra) or ``group``. The lock
        knows these even for a member whose ``pyproject.toml`` declares its dependencies
        ``dynamic`` (filled in by its build backend), where the file alone cannot tell.
        """
        members = {index: name for name, index in self._member_index.items()}
        found: dict[tuple[str, str, str, str | None], None] = {}
        for index, source in members.items():
            tables: list[tuple[str, str | None, tuple[_Edge, ...]]] = [
                ("dependency", None, self._deps[index])
            ]
            tables += [("extra", extra, edges) for extra, edges in self._optional[index].items()]
            tables += [("group", group, edges) for group, edges in self._groups[index].items()]
            for kind, via, edges in tables:
                for edge in edges:
                    target = members.get(edge[0])
                    if target is not None and target != source:
                        found[source, target, kind, via] = None
        return tuple(found)

    def root_groups_closure(
        self, groups: Sequence[str], *, environment: Mapping[str, object] | None = None
    ) -> tuple[LockedPackage, ...]:
        """The workspace root's dependency ``groups`` alone (``uv export --only-group``).

        For a root that is a member these are its own groups; for a virtual root, the groups
        of ``[manifest.dependency-groups]``. No member's group of the same name is used.
        """
        targets = [] if self._root_index is None else [self._root_index]
        return self._closure(
            targets,
            single=bool(targets),
            extras=(),
            all_extras=False,
            groups=groups,
            default_groups=(),
            all_groups=False,
            only_groups=True,
            environment=environment,
            install_members=True,
        )

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
        environment: Mapping[str, object] | None,
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

        # The conflict items (encoded as in uv's markers) the targets activate. Only items of
        # declared conflicts can appear in markers, so only those are tracked.
        initial: set[str] = set()
        if prod:
            initial.update(f"project-{len(names[i].name)}-{names[i].name}" for i in targets)
        for index, extras_of_target in target_extras.items():
            initial.update(_encode("extra", names[index].name, e) for e in extras_of_target)
        for owner, group in package_groups:
            initial.add(_encode("group", names[owner].name, group))
        start_active = frozenset(initial & self._relevant)

        env_key = (
            None
            if environment is None
            else tuple(sorted((key, str(value)) for key, value in environment.items()))
        )
        requirements = list(self._requirements)
        for group in manifest_groups:
            requirements.extend(self._manifest_groups.get(group, ()))

        context = self._context(env_key, environment)
        starts = self._starts(
            context, targets, prod, target_extras, package_groups, requirements, start_active
        )
        bits, active = context.combine(starts, start_active)
        if self._conflicts:
            self._check_conflicts(active)

        if not install_members:
            bits &= ~self._member_mask
        return self._unpack(bits & ~self._virtual_mask)

    def _context(
        self, env_key: tuple[tuple[str, str], ...] | None, environment: Mapping[str, object] | None
    ) -> _Context:
        """The memoized reachability for one environment (``None``: the union)."""
        contexts: dict[Any, _Context] = self._cache.setdefault("contexts", {})
        context = contexts.get(env_key)
        if context is None:
            if len(contexts) > 32:
                contexts.clear()
            context = contexts[env_key] = _Context(self, _Evaluator(environment))
        return context

    def _node_bits(self, node: _Node) -> int:
        """A node's own bits: its package, and its conflict item if it is one."""
        index, extra = node
        if extra is None or not self._relevant:
            return self._bits[index]
        code = _encode("extra", self.packages[index].name, extra)
        return self._bits[index] | self._code_bits.get(code, 0)

    def _codes_of(self, bits: int) -> frozenset[str]:
        """The conflict items whose bits are set."""
        high = bits >> len(self.packages)
        if not high:
            return _NO_CODES
        data = high.to_bytes((high.bit_length() + 7) // 8, "little")
        codes = self._codes
        return frozenset(
            codes[8 * position + offset]
            for position, byte in enumerate(data)
            if byte
            for offset in _BYTE_BITS[byte]
        )

    def _starts(
        self,
        context: _Context,
        targets: list[int],
        prod: bool,
        target_extras: Mapping[int, tuple[str, ...]],
        package_groups: list[tuple[int, str]],
        requirements: list[_Requirement],
        start_active: frozenset[str],
    ) -> list[tuple[_Node, _Dnf | None]]:
        """The edges of the synthetic root: targets, their extras, groups, root requirements."""
        starts: list[tuple[_Node, _Dnf | None]] = []
        if prod:
            for index in targets:
                starts.append(((index, None), None))
                starts.extend(((index, extra), None) for extra in target_extras.get(index, ()))
        for owner, group in package_groups:
            for edge in self._groups[owner].get(group, ()):
                # uv evaluates group edges with the targets' own items only (before its
                # first pass), so later activations do not apply here.
                condition = context.condition(edge, active=start_active)
                if condition != ():
                    starts.append(((edge[0], None), condition))
                    starts.extend(((edge[0], extra), condition) for extra in edge[2])
        for requirement in requirements:
            for index, dnf in self._resolve_requirement(requirement, context.live):
                condition = None if dnf is _TRUE else dnf
                starts.append(((index, None), condition))
                starts.extend(((index, extra), condition) for extra in requirement.extras)
        return starts

    def _unpack(self, bits: int) -> tuple[LockedPackage, ...]:
        """The packages whose bits are set, in sorted order (bits are assigned sorted)."""
        chunks = self._chunks
        found: list[LockedPackage] = []
        for position, byte in enumerate(bits.to_bytes((bits.bit_length() + 7) // 8, "little")):
            if byte:
                table = chunks[position]
                chunk = table.get(byte)
                if chunk is None:
                    base = 8 * position
                    ordered = self._ordered
                    chunk = table[byte] = tuple(ordered[base + i] for i in _BYTE_BITS[byte])
                found.extend(chunk)
        return tuple(found)

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
        """The members reachable from the targets through any edge, markers ignored.

        Only members' own edges are followed: third-party packages do not depend on
        workspace members.
        """
        graph: dict[int, tuple[int, ...]] | None = self._cache.get("member-graph")
        if graph is None:
            graph = self._cache["member-graph"] = self._member_graph()
        seen = set(targets)
        stack = list(targets)
        while stack:
            for child in graph[stack.pop()]:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return frozenset(self.packages[index].name for index in seen)

    def _harmless_atoms(self) -> frozenset[_Atom]:
        """Environment atoms that no other atom of the lock contradicts.

        Inconsistency among string comparisons is always between two atoms of one variable,
        so an atom consistent with every other atom of its variable in the lock can never
        make a conjunction false; union mode leaves it out of path conditions, which keeps
        them few. Python version atoms are always kept (ranges clash in threes).
        """
        known: frozenset[_Atom] | None = self._cache.get("harmless")
        if known is not None:
            return known
        edge_lists: list[tuple[_Edge, ...]] = list(self._deps)
        for tables in (self._optional, self._groups):
            for table in tables:
                edge_lists.extend(table.values())
        markers: set[str] = set()
        for edges in edge_lists:
            markers.update(edge[1] for edge in edges if edge[1] is not None)
        if self._requirements or self._manifest_groups:
            # Fork markers meet path conditions only through the virtual root's requirements.
            for forks in self._fork_markers:
                markers.update(forks)
        by_variable: dict[str, set[_Atom]] = {}
        for marker in markers:
            for clause in _compile(marker).clauses:
                for atom in clause.atoms:
                    by_variable.setdefault(atom[0], set()).add(atom)
        harmless = {
            atom
            for variable, atoms in by_variable.items()
            if variable not in ("python_version", "python_full_version")
            for atom in atoms
            if all(_consistent(frozenset((atom, other))) for other in atoms)
        }
        self._cache["harmless"] = frozen = frozenset(harmless)
        return frozen

    def _member_graph(self) -> dict[int, tuple[int, ...]]:
        """Per member, the members its dependencies, extras and groups name directly."""
        members = set(self._member_index.values())
        graph: dict[int, tuple[int, ...]] = {}
        for index in members:
            found = [edge[0] for edge in self._deps[index]]
            for table in (self._optional[index], self._groups[index]):
                for edges in table.values():
                    found.extend(edge[0] for edge in edges)
            graph[index] = tuple(dict.fromkeys(child for child in found if child in members))
        return graph

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

_OPERAND = r"[A-Za-z_][\w.]*|'[^']*'|" + r'"[^"]*"'
_OPERATOR = r"===|==|!=|<=|>=|~=|<|>|not\s+in(?![\w.])|in(?![\w.])"
#: A comparison (one token, for speed), a parenthesis, or a boolean operator.
_TOKEN: Final = re.compile(
    rf"\s*(?:(?P<cmp>(?:{_OPERAND})\s*(?:{_OPERATOR})\s*(?:{_OPERAND}))"
    r"|(?P<paren>[()])|(?P<bool>and|or)(?![\w.]))"
)
_COMPARISON: Final = re.compile(rf"({_OPERAND})\s*({_OPERATOR})\s*({_OPERAND})")
_ATOM_CACHE: dict[str, _Atom] = {}

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
    text = text.strip()
    tokens: list[tuple[str, _Atom | None]] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() != position:
            break
        position = match.end()
        comparison = match["cmp"]
        if comparison is not None:
            atom = _ATOM_CACHE.get(comparison)
            if atom is None:
                atom = _ATOM_CACHE[comparison] = _atom(comparison, text)
            tokens.append(("cmp", atom))
        else:
            tokens.append((match["paren"] or match["bool"], None))
    if position != len(text) or not tokens:
        raise MarkerSyntaxError(f"cannot parse marker {text!r} at position {position}")
    tokens.append(("end", None))
    index = 0

    def parse_or() -> list[list[_Atom]]:
        nonlocal index
        clauses = parse_and()
        while tokens[index][0] == "or":
            index += 1
            clauses = clauses + parse_and()
        return clauses

    def parse_and() -> list[list[_Atom]]:
        nonlocal index
        clauses = parse_atom()
        while tokens[index][0] == "and":
            index += 1
            right = parse_atom()
            if len(right) == 1:
                only = right[0]
                clauses = [left + only for left in clauses]
            else:
                clauses = [left + other for left in clauses for other in right]
        return clauses

    def parse_atom() -> list[list[_Atom]]:
        nonlocal index
        kind, atom = tokens[index]
        index += 1
        if kind == "(":
            clauses = parse_or()
            if tokens[index][0] != ")":
                raise MarkerSyntaxError(f"unbalanced parentheses in marker {text!r}")
            index += 1
            return clauses
        if atom is None:
            raise MarkerSyntaxError(f"expected a comparison in marker {text!r}")
        return [[atom]]

    clauses = parse_or()
    if tokens[index][0] != "end":
        raise MarkerSyntaxError(f"unexpected {tokens[index][0]!r} in marker {text!r}")
    return clauses


def _atom(comparison: str, text: str) -> _Atom:
    """One comparison as an atom, the variable first; ``extra`` values normalized."""
    match = _COMPARISON.fullmatch(comparison)
    assert match is not None  # the tokenizer matched the same pattern
    left, op, right = match.groups()
    op = " ".join(op.split())
    left_is_string = left[0] in "'\""
    if left_is_string == (right[0] in "'\""):
        raise MarkerSyntaxError(f"a comparison needs one variable and one string in {text!r}")
    if left_is_string:
        name, value, on_left = right, left[1:-1], False
    else:
        name, value, on_left = left, right[1:-1], True
    variable = _LEGACY_VARIABLES.get(name, name)
    if variable not in _VARIABLES:
        raise MarkerSyntaxError(f"unknown marker variable {name!r} in {text!r}")
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


_Release: TypeAlias = tuple[int, int, int]
#: A Python version range: (lowest, lowest included, highest, highest included).
_Range: TypeAlias = tuple[_Release, bool, _Release, bool]
_LOWEST: Final[_Release] = (0, 0, 0)
_HIGHEST: Final[_Release] = (999, 0, 0)
_RELEASE = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?(\.\*)?")


def _python_range(atom: _Atom) -> tuple[_Range, bool] | None:
    """A ``python_version``/``python_full_version`` atom as a range of ``X.Y.Z`` releases.

    Returns the range and whether the atom *excludes* it (``!=``), or ``None`` when the atom
    is not a plain comparison (then it is assumed satisfiable). ``python_version`` is
    ``X.Y``, so ``python_version > '3.11'`` means ``>= 3.12``: uv's marker algebra treats
    both variables as one, and so must a satisfiability check.
    """
    variable, op, value, on_left = atom
    if op in ("in", "not in", "~=", "==="):
        return None
    if not on_left:
        op = _FLIPPED[op]
    match = _RELEASE.fullmatch(value)
    if match is None:
        return None
    major = int(match[1])
    minor = int(match[2] or 0)
    micro = int(match[3] or 0)
    version = (major, minor, micro)
    wildcard = match[4] is not None
    if variable == "python_version" and match[3] is None and not wildcard:
        # X.Y stands for the whole X.Y.* series.
        following = (major, minor + 1, 0)
        if op in ("==", "!="):
            return ((version, True, following, False), op == "!=")
        return {
            "<": ((_LOWEST, True, version, False), False),
            "<=": ((_LOWEST, True, following, False), False),
            ">": ((following, True, _HIGHEST, True), False),
            ">=": ((version, True, _HIGHEST, True), False),
        }[op]
    if wildcard:
        if op not in ("==", "!="):
            return None
        following = (major, minor + 1, 0) if match[2] is not None else (major + 1, 0, 0)
        return ((version, True, following, False), op == "!=")
    return {
        "==": ((version, True, version, True), False),
        "!=": ((version, True, version, True), True),
        "<": ((_LOWEST, True, version, False), False),
        "<=": ((_LOWEST, True, version, True), False),
        ">": ((version, False, _HIGHEST, True), False),
        ">=": ((version, True, _HIGHEST, True), False),
    }[op]


def _python_satisfiable(ranges: list[tuple[_Range, bool]]) -> bool:
    """Whether some Python release lies in every included range and no excluded one."""
    low, low_in, high, high_in = _LOWEST, True, _HIGHEST, True
    excluded: list[_Range] = []
    for (start, start_in, end, end_in), exclude in ranges:
        if exclude:
            excluded.append((start, start_in, end, end_in))
            continue
        if start > low or (start == low and not start_in):
            low, low_in = start, start_in
        if end < high or (end == high and not end_in):
            high, high_in = end, end_in
    # Push the lower bound past every excluded range that covers it.
    moved = True
    while moved:
        moved = False
        for start, start_in, end, end_in in excluded:
            covers_low = (start < low or (start == low and (start_in or not low_in))) and (
                low < end or (low == end and end_in and low_in)
            )
            if covers_low:
                low, low_in = end, not end_in
                moved = True
    return low < high or (low == high and low_in and high_in)


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
    python: list[tuple[_Range, bool]] = []
    equal: dict[str, str] = {}
    unequal: dict[str, set[str]] = {}
    other: list[_Atom] = []
    for atom in atoms:
        variable, op, value, on_left = atom
        if variable == "extra":
            # Extras are a set: several may be active; only `== v` with `!= v` clashes.
            if (variable, "!=" if op == "==" else "==", value, on_left) in atoms:
                return False
            continue
        if variable in ("python_version", "python_full_version"):
            found = _python_range(atom)
            if found is not None:
                python.append(found)
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
    return len(python) < 2 or _python_satisfiable(python)


_SPECIFIER_CACHE: dict[str, Specifier | None] = {}


def _atom_holds(atom: _Atom, environment: Mapping[str, object]) -> bool:
    """Evaluate one comparison against a marker environment, as ``packaging`` does."""
    variable, op, value, on_left = atom
    try:
        actual = str(environment[variable])
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
    """Evaluates compiled markers for one marker environment, or for the union (``None``).

    With an environment, atoms are evaluated as ``packaging`` does and memoized; for the
    union, a clause holds when its atoms are consistent (some platform satisfies them).
    """

    __slots__ = ("_atoms", "_environment", "_plain_dnf", "_plain_holds", "union")

    def __init__(self, environment: Mapping[str, object] | None) -> None:
        self._environment = environment
        self.union = environment is None
        self._atoms: dict[_Atom, bool] = {}
        self._plain_holds: dict[str, bool] = {}
        self._plain_dnf: dict[str, _Dnf] = {}

    def atoms_hold(self, atoms: Iterable[_Atom]) -> bool:
        """Whether environment atoms all hold in this walk's (concrete) environment."""
        environment = self._environment
        assert environment is not None
        memo = self._atoms
        for atom in atoms:
            holds = memo.get(atom)
            if holds is None:
                holds = memo[atom] = _atom_holds(atom, environment)
            if not holds:
                return False
        return True

    def _clause_holds(self, clause: _Clause, active: Set[str]) -> bool:
        if not clause.possible:
            return False
        for name, positive in clause.extras:
            if (name in active) is not positive:
                return False
        if self._environment is None:
            return clause.consistent
        return self.atoms_hold(clause.atoms)

    def marker(self, marker: str, active: Set[str]) -> bool:
        """Whether a marker holds (in union mode: on some platform) given the active items."""
        if not active:
            known: bool | None = self._plain_holds.get(marker)
            if known is None:
                known = self._plain_holds[marker] = any(
                    self._clause_holds(clause, active) for clause in _compile(marker).clauses
                )
            return known
        return any(self._clause_holds(clause, active) for clause in _compile(marker).clauses)

    def dnf(self, marker: str | None, active: Set[str]) -> _Dnf:
        """Union mode: the environment clauses under which an edge is live.

        ``_TRUE`` when it is live everywhere, ``()`` when nowhere; conflict and extra
        literals are decided by ``active``.
        """
        if marker is None:
            return _TRUE
        if not active:
            known: _Dnf | None = self._plain_dnf.get(marker)
            if known is None:
                known = self._plain_dnf[marker] = self._dnf(marker, active)
            return known
        return self._dnf(marker, active)

    def _dnf(self, marker: str, active: Set[str]) -> _Dnf:
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
        Root requirements activate no extras, so their ``extra`` literals are false; fork
        markers are read without their ``extra`` literals, as uv reads them (``pep508()``).
        """
        no_extras: frozenset[str] = frozenset()
        if self._environment is not None:
            if marker is not None and not self.marker(marker, no_extras):
                return ()
            if fork_markers and not any(
                clause.possible and self.atoms_hold(clause.atoms)
                for fork in fork_markers
                for clause in _compile(fork).clauses
            ):
                return ()
            return _TRUE
        own = self.dnf(marker, no_extras)
        if not fork_markers:
            return own
        clauses: list[frozenset[_Atom]] = []
        for fork in fork_markers:
            for right in _compile(fork).clauses:
                if not (right.possible and right.consistent):
                    continue
                for left in own:
                    combined = left | right.atoms
                    if not combined:
                        return _TRUE
                    if _consistent(combined):
                        clauses.append(combined)
        return tuple(clauses)


_Node: TypeAlias = tuple[int, str | None]
#: Union mode: packages (bits) reached only where a clause holds.
_Entries: TypeAlias = tuple[tuple[frozenset[_Atom], int], ...]
_NO_CODES: Final[frozenset[str]] = frozenset()
_NO_ATOMS: Final[frozenset[_Atom]] = frozenset()
#: A fact that waits for the active items: (``extra`` literals, bits reached if they hold).
_Pending: TypeAlias = tuple[tuple[tuple[str, bool], ...], int]
#: For each byte value, the positions of its set bits (to list a bitset's members fast).
_BYTE_BITS: Final = tuple(tuple(i for i in range(8) if value >> i & 1) for value in range(256))

_N = TypeVar("_N", bound=Hashable)


def _components(
    starts: Iterable[_N], successors: Callable[[_N], Iterable[_N]], done: Container[_N]
) -> Iterator[list[_N]]:
    """Tarjan's strongly connected components, without recursion, successors first.

    Nodes in ``done`` count as finished and are not entered. Each component is yielded only
    after every component it reaches, so a caller can fold values bottom-up (and add the
    component's nodes to ``done`` before the next one is yielded).
    """
    number: dict[_N, int] = {}
    low: dict[_N, int] = {}
    stack: list[_N] = []
    on_stack: set[_N] = set()
    for start in starts:
        if start in done or start in number:
            continue
        number[start] = low[start] = len(number)
        stack.append(start)
        on_stack.add(start)
        work = [(start, iter(successors(start)))]
        while work:
            node, children = work[-1]
            for child in children:
                if child in done:
                    continue
                if child not in number:
                    number[child] = low[child] = len(number)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors(child))))
                    break
                if child in on_stack and number[child] < low[node]:
                    low[node] = number[child]
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    if low[node] < low[parent]:
                        low[parent] = low[node]
                if low[node] == number[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    yield component


def _normalize(reach: int, gathered: Mapping[frozenset[_Atom], int]) -> _Entries:
    """Keep the conditional facts small: drop what is reached anyway (``reach``)."""
    if not gathered:
        return ()
    return tuple((clause, bits & ~reach) for clause, bits in gathered.items() if bits & ~reach)


class _Context:
    """What every node of the lock graph reaches, for one environment (or the union).

    A node is a package without an extra (its ``dependencies``) or with one (that extra's
    ``optional-dependencies``). Per node, ``reach`` holds what is reached wherever the node
    is, and ``entries`` what is reached only under a condition, as (clause, bits) pairs. A
    clause conjoins the ``extra`` literals of conflict markers (decided only at the end, by
    the sync's active items) and, in union mode, environment atoms that some platform
    satisfies together. Bits are packages, plus one bit per declared conflict item so that
    a closure also tells which extras it activates. Each node is solved once per context, so
    the closures of all members share the work.
    """

    __slots__ = ("conditions", "entries", "literals", "live", "lock", "ok", "reach", "splits")

    def __init__(self, lock: Lock, live: _Evaluator) -> None:
        self.lock = lock
        self.live = live
        self.reach: dict[_Node, int] = {}
        self.entries: dict[_Node, _Entries] = {}
        self.conditions: dict[_Edge, _Dnf | None] = {}
        self.literals: dict[frozenset[_Atom], tuple[tuple[str, bool], ...]] = {}
        self.ok: dict[frozenset[_Atom], bool] = {}
        self.splits: dict[_Node, tuple[int, tuple[_Pending, ...]]] = {}

    def absorb(
        self,
        reach: int,
        entries: dict[frozenset[_Atom], int],
        child_reach: int,
        child_entries: _Entries,
        condition: _Dnf | None,
    ) -> int:
        """Fold a child's reachability into a parent's, through an edge's condition.

        ``None`` is an edge that always holds: the child's facts pass unchanged. Otherwise
        each clause of the condition guards everything the child reaches, conjoined with the
        child's own clauses; conjunctions no platform satisfies (or that need two items of
        one declared conflict) are dropped, as ``uv export`` conjoins markers along a path
        and drops what comes out false. Returns the new ``reach``.
        """
        get = entries.get
        if condition is None:
            for clause, bits in child_entries:
                entries[clause] = get(clause, 0) | bits
            return reach | child_reach
        ok = self.ok
        exclusive = self.lock._exclusive
        for clause in condition:
            if child_reach & ~reach:
                entries[clause] = get(clause, 0) | child_reach
            for inner, bits in child_entries:
                if not bits & ~reach:
                    continue
                joined = clause | inner
                good = ok.get(joined)
                if good is None:
                    good = ok[joined] = _consistent(joined) and (
                        not exclusive or _compatible(joined, exclusive)
                    )
                if good:
                    entries[joined] = get(joined, 0) | bits
        return reach

    def condition(self, edge: _Edge, active: frozenset[str] | None = None) -> _Dnf | None:
        """When an edge is live: ``None`` always, ``()`` never, else the clauses.

        The edge's own extras count as active for its own marker (uv >= 0.11 does this);
        with ``active``, every ``extra`` literal is decided now instead of at the end.
        """
        marker = edge[1]
        if marker is None:
            return None
        if active is None and edge in self.conditions:
            return self.conditions[edge]
        target, _, edge_extras, has_extra = edge
        own: frozenset[str] = _NO_CODES
        if has_extra and edge_extras:
            name = self.lock.packages[target].name
            own = frozenset(_encode("extra", name, extra) for extra in edge_extras)
        if active is not None:
            return self._condition(marker, own | active, decide=True)
        known = self.conditions[edge] = self._condition(marker, own, decide=False)
        return known

    def _condition(self, marker: str, known: frozenset[str], *, decide: bool) -> _Dnf | None:
        live = self.lock._exclusive
        clauses: list[frozenset[_Atom]] = []
        union = self.live.union
        harmless = self.lock._harmless_atoms() if union else _NO_ATOMS
        for clause in _compile(marker).clauses:
            if not clause.possible or (union and not clause.consistent):
                continue
            if not union and clause.atoms and not self.live.atoms_hold(clause.atoms):
                continue
            literals: list[_Atom] = []
            for value, positive in clause.extras:
                if decide or value in known:
                    if (value in known) is not positive:
                        break
                elif value in self.lock._relevant:
                    literals.append(("extra", "==" if positive else "!=", value, True))
                elif positive:
                    break  # only declared conflict items are ever active
            else:
                atoms = frozenset(literals)
                if union:
                    # An atom nothing in the lock contradicts cannot make a path false.
                    atoms = atoms.union(clause.atoms - harmless if harmless else clause.atoms)
                if not atoms:
                    return None
                if live and not _compatible(atoms, live):
                    continue
                clauses.append(atoms)
        return tuple(clauses)

    def kids(self, node: _Node) -> list[tuple[_Node, _Dnf | None]]:
        """The nodes a node's live edges lead to, with the edges' conditions."""
        index, extra = node
        lock = self.lock
        edges = lock._deps[index] if extra is None else lock._optional[index].get(extra, ())
        found: list[tuple[_Node, _Dnf | None]] = []
        for edge in edges:
            condition = self.condition(edge)
            if condition == ():
                continue
            found.append(((edge[0], None), condition))
            found.extend(((edge[0], name), condition) for name in edge[2])
        return found

    def combine(
        self, starts: Sequence[tuple[_Node, _Dnf | None]], active: frozenset[str]
    ) -> tuple[int, frozenset[str]]:
        """The packages reached from the root edges ``starts``, and the final active items.

        Extras that live edges activate join ``active`` until nothing more is activated
        (uv's first pass); conditional facts are then decided with the final set.
        """
        kids: dict[_Node, list[tuple[_Node, _Dnf | None]]] = {}

        def successors(node: _Node) -> list[_Node]:
            found = kids.get(node)
            if found is None:
                found = kids[node] = self.kids(node)
            return [child for child, _ in found]

        for component in _components((node for node, _ in starts), successors, self.reach):
            self._finish(component, kids)
        lock = self.lock
        reach = 0
        pending: list[_Pending] = []
        gathered: dict[frozenset[_Atom], int] = {}
        for node, condition in starts:
            if condition is None:
                node_reach, node_pending = self._split(node)
                reach |= node_reach
                pending.extend(node_pending)
            else:
                self.absorb(0, gathered, self.reach[node], self.entries[node], condition)
        if gathered:
            plain, more = self._partition(gathered.items())
            reach |= plain
            pending.extend(more)
        while True:
            bits = reach
            for literals, covered in pending:
                if covered & ~bits and all((v in active) is want for v, want in literals):
                    bits |= covered
            codes = lock._codes_of(bits)
            if codes <= active:
                return bits & lock._package_mask, active
            active = active | codes

    def _split(self, node: _Node) -> tuple[int, tuple[_Pending, ...]]:
        """A solved node's facts as: bits reached on some platform whatever the active
        items, and (``extra`` literals, bits) facts that depend on them. Cached per node."""
        known = self.splits.get(node)
        if known is None:
            plain, pending = self._partition(self.entries[node])
            known = self.splits[node] = (self.reach[node] | plain, tuple(pending))
        return known

    def _partition(
        self, entries: Iterable[tuple[frozenset[_Atom], int]]
    ) -> tuple[int, list[_Pending]]:
        plain = 0
        pending: list[_Pending] = []
        literals_of = self.literals
        for clause, covered in entries:
            literals = literals_of.get(clause)
            if literals is None:
                literals = literals_of[clause] = tuple(
                    (value, op == "==") for variable, op, value, _ in clause if variable == "extra"
                )
            if literals:
                pending.append((literals, covered))
            else:
                plain |= covered
        return plain, pending

    def _finish(
        self, component: list[_Node], kids: Mapping[_Node, list[tuple[_Node, _Dnf | None]]]
    ) -> None:
        """Solve one strongly connected component, all of whose successors are solved."""
        lock = self.lock
        inside = set(component)
        base: dict[_Node, tuple[int, dict[frozenset[_Atom], int]]] = {}
        for node in component:
            reach = lock._node_bits(node)
            gathered: dict[frozenset[_Atom], int] = {}
            get = gathered.get
            found = kids[node]
            # Unconditional edges first: what they reach need not be tracked under conditions.
            for child, condition in found:
                if condition is None and child not in inside:
                    reach |= self.reach[child]
                    for clause, bits in self.entries[child]:
                        gathered[clause] = get(clause, 0) | bits
            for child, condition in found:
                if condition is not None and child not in inside:
                    reach = self.absorb(
                        reach, gathered, self.reach[child], self.entries[child], condition
                    )
            base[node] = (reach, gathered)
        if len(component) == 1:
            node = component[0]
            reach, gathered = base[node]
            # Entries before reach: a node found in ``reach`` is complete (other threads).
            self.entries[node] = _normalize(reach, gathered)
            self.reach[node] = reach
            return
        # A cycle: iterate its inner edges to a fixed point (cycles are rare and small).
        current = {node: (reach, _normalize(reach, got)) for node, (reach, got) in base.items()}
        for _ in range(4 * len(component) + 8):
            changed = False
            for node in component:
                reach, gathered = base[node][0], dict(base[node][1])
                for child, condition in kids[node]:
                    if child in inside and child != node:
                        child_reach, child_entries = current[child]
                        reach = self.absorb(reach, gathered, child_reach, child_entries, condition)
                value = (reach, _normalize(reach, gathered))
                if value != current[node]:
                    current[node] = value
                    changed = True
            if not changed:
                break
        for node, (reach, entries) in current.items():
            self.entries[node] = entries
            self.reach[node] = reach


def _compatible(atoms: frozenset[_Atom], exclusive: Mapping[str, frozenset[str]]) -> bool:
    """Whether a clause's positive ``extra`` literals may be active together.

    uv refuses to activate two items of one declared conflict set, so a clause that needs
    both never holds (uv writes such clauses as ``... or (extra == A and extra == B)``).
    """
    positive = [value for variable, op, value, _ in atoms if variable == "extra" and op == "=="]
    if len(positive) < 2:
        return True
    for index, value in enumerate(positive):
        rivals = exclusive.get(value)
        if rivals and not rivals.isdisjoint(positive[index + 1 :]):
            return False
    return True


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
            # uv writes normalized names; checking that is cheaper than normalizing.
            if name == name.lower() and "_" not in name and "." not in name and "--" not in name:
                normalized = names[name] = name
            else:
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
            name = edge["name"]
            candidates = by_name.get(names.get(name) or norm(name))
            target = candidates[0] if candidates and len(candidates) == 1 else resolve(edge, owner)
            marker = edge.get("marker")
            extras = edge.get("extra")
            if not isinstance(marker, str | None) or not isinstance(extras, list | None):
                raise LockError(
                    f"{packages[owner].name!r} has an edge to {name!r} whose marker is not a "
                    "string or whose extras are not an array",
                    path=path,
                    hint=_RELOCK_HINT,
                )
            out.append(
                (
                    target,
                    marker,
                    tuple(map(norm, extras)) if extras else (),
                    marker is not None and "extra" in marker,
                )
            )
        return tuple(out)

    empty: Mapping[str, tuple[_Edge, ...]] = {}
    nothing: frozenset[str] = frozenset()
    deps: list[tuple[_Edge, ...]] = []
    optional: list[Mapping[str, tuple[_Edge, ...]]] = []
    groups: list[Mapping[str, tuple[_Edge, ...]]] = []
    group_names: list[frozenset[str]] = []
    extra_names: list[frozenset[str]] = []
    fork_markers: list[tuple[str, ...]] = []
    for index, raw in enumerate(raw_packages):
        raw_deps = raw.get("dependencies")
        deps.append(edges(raw_deps, index) if raw_deps else ())
        raw_optional = raw.get("optional-dependencies")
        raw_groups = raw.get("dev-dependencies")
        metadata = raw.get("metadata")
        for key, value in (
            ("dependencies", raw_deps),
            ("optional-dependencies", raw_optional),
            ("dev-dependencies", raw_groups),
            ("metadata", metadata),
        ):
            if value is not None and not isinstance(value, list if key == "dependencies" else dict):
                kind = "an array" if key == "dependencies" else "a table"
                raise LockError(
                    f"{packages[index].name!r} has `{key}` that is not {kind}",
                    path=path,
                    hint=_RELOCK_HINT,
                )
        if raw_optional:
            optional.append({norm(k): edges(v, index) for k, v in raw_optional.items()})
        else:
            optional.append(empty)
        if raw_groups:
            groups.append({norm(k): edges(v, index) for k, v in raw_groups.items()})
        else:
            groups.append(empty)
        if metadata or raw_optional or raw_groups:
            metadata = metadata or {}
            declared_groups = metadata.get("requires-dev", {})
            group_names.append(frozenset(map(norm, (*groups[-1], *declared_groups))))
            declared_extras = metadata.get("provides-extras", ())
            extra_names.append(frozenset(map(norm, (*optional[-1], *declared_extras))))
        else:
            group_names.append(nothing)
            extra_names.append(nothing)
        forks = raw.get("resolution-markers") or raw.get("fork-markers")
        if forks and (not isinstance(forks, list) or not all(isinstance(f, str) for f in forks)):
            raise LockError(
                f"{packages[index].name!r} has resolution markers that are not strings",
                path=path,
                hint=_RELOCK_HINT,
            )
        fork_markers.append(tuple(forks) if forks else ())

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
        if not isinstance(raw.get("marker"), str | None):
            raise LockError(
                "has a [manifest] requirement whose marker is not a string",
                path=path,
                hint=_RELOCK_HINT,
            )
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
    codes = tuple(sorted({item.code for conflict in conflicts for item in conflict}))
    # One bit per package, assigned in sorted order, so a bitset lists packages sorted.
    order = sorted(range(len(packages)), key=lambda index: _sort_key(packages[index]))
    bits = [0] * len(packages)
    for position, index in enumerate(order):
        bits[index] = 1 << position
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
        _relevant=frozenset(codes),
        _codes=codes,
        _code_bits={code: 1 << (len(packages) + k) for k, code in enumerate(codes)},
        _exclusive={
            code: frozenset(
                other.code for c in conflicts if code in {i.code for i in c} for other in c
            )
            - {code}
            for code in codes
        },
        _package_mask=(1 << len(packages)) - 1,
        _bits=tuple(bits),
        _ordered=tuple(packages[index] for index in order),
        _virtual_mask=sum(
            bits[i] for i, package in enumerate(packages) if package.source == "virtual"
        ),
        _member_mask=sum(bits[index] for index in member_index.values()),
        _cache={},
        _chunks=tuple({} for _ in range((len(packages) + 7) // 8)),
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
    """Forget every lock :func:`read_lock` cached, and every compiled marker.

    For tests, benchmarks that want a cold start, and long-lived processes.
    """
    with _CACHE_LOCK:
        _CACHE.clear()
    with _MARKER_CACHE_LOCK:
        _MARKER_CACHE.clear()
        _ATOM_CACHE.clear()
    _CONSISTENT_CACHE.clear()
    _SPECIFIER_CACHE.clear()
