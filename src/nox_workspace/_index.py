"""The dependency graph of a ``uv.lock`` as plain typed data, and how it is built from the file.

:class:`LockIndex` is the one interface between the lock model (``_lock``, which parses the file
and builds it) and the closure walk (``_reach`` and ``_walk``, which read it): public, typed,
frozen fields instead of private attributes two modules reach into. Packages are numbered in
file order; every table below is indexed by that number.

:func:`index_lock` builds it in one pass over the mapping ``tomllib`` made of the file. Edges
are tuples rather than dataclasses because a closure over a large lock reads them
millions of times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

from packaging.utils import canonicalize_name

from nox_workspace._errors import LockError
from nox_workspace._markers import item_code

__all__ = [
    "RELOCK_HINT",
    "SOURCE_KINDS",
    "ConflictItem",
    "Edge",
    "LockIndex",
    "LockedPackage",
    "Requirement",
    "build_index",
    "index_lock",
]

#: The fix for a lock that is malformed or does not match what it claims.
RELOCK_HINT: Final = "run `uv lock` in the workspace root to rewrite it"

#: The source kinds a locked package can have, in uv's own order.
SOURCE_KINDS: Final = ("registry", "git", "url", "path", "directory", "editable", "virtual")

#: A dependency edge: (target package number, marker or None, extras, marker mentions extra).
Edge: TypeAlias = tuple[int, str | None, tuple[str, ...], bool]


@dataclass(frozen=True, slots=True)
class LockedPackage:
    """One package of a closure, as ``uv.lock`` pins it.

    ``name`` is normalized; ``version`` is ``None`` for packages whose lock entry has none
    (workspace members with a dynamic version); ``source`` is the kind of source, one of
    :data:`SOURCE_KINDS`. Positional fields, because other modules and users build and
    compare them as ``LockedPackage(name, version, source)``.
    """

    name: str
    version: str | None
    source: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Requirement:
    """A requirement of the virtual root (``[manifest] requirements`` or its groups)."""

    name: str
    marker: str | None
    extras: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class ConflictItem:
    """One item of a ``[tool.uv] conflicts`` set: an extra, a group, or a whole project."""

    package: str
    kind: Literal["extra", "group", "project"]
    name: str

    @property
    def code(self) -> str:
        """The ``extra`` value uv's conflict markers use for this item."""
        if self.kind == "project":
            return f"project-{len(self.package)}-{self.package}"
        return item_code(self.kind, self.package, self.name)

    def __str__(self) -> str:
        if self.kind == "project":
            return f"project {self.package!r}"
        return f"{self.kind} {self.name!r} of {self.package!r}"


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class LockIndex:
    """A lock's graph and the bit layout the walk computes closures with.

    The graph, per package number: ``dependencies`` (edges), ``optional`` (edges per extra),
    ``groups`` (edges per dependency group), the names of the groups and extras it declares
    (``group_names``, ``extra_names``, empty ones included) and its ``fork_markers``. For the
    workspace: ``members`` and their numbers (``member_index``), the root's number if it is a
    member (``root_index``), a virtual root's ``requirements`` and ``manifest_groups``, and
    the declared ``conflicts``.

    The bit layout: one bit per package, assigned in sorted order (``bits``, ``ordered``), so a
    bitset lists packages sorted; then one bit per declared conflict item (``codes``,
    ``code_bits``). ``relevant`` are those items' codes, ``exclusive`` maps each to the items
    it conflicts with. ``memo`` is scratch space the walk owns (per-environment reachability,
    derived tables); it never changes what a closure is, only how fast it comes.
    """

    path: Path
    packages: tuple[LockedPackage, ...]
    members: tuple[str, ...]
    root_index: int | None
    by_name: Mapping[str, tuple[int, ...]]
    member_index: Mapping[str, int]
    dependencies: tuple[tuple[Edge, ...], ...]
    optional: tuple[Mapping[str, tuple[Edge, ...]], ...]
    groups: tuple[Mapping[str, tuple[Edge, ...]], ...]
    group_names: tuple[frozenset[str], ...]
    extra_names: tuple[frozenset[str], ...]
    fork_markers: tuple[tuple[str, ...], ...]
    manifest_groups: Mapping[str, tuple[Requirement, ...]]
    requirements: tuple[Requirement, ...]
    conflicts: tuple[tuple[ConflictItem, ...], ...]
    relevant: frozenset[str]
    codes: tuple[str, ...]
    code_bits: Mapping[str, int]
    exclusive: Mapping[str, frozenset[str]]
    package_mask: int
    bits: tuple[int, ...]
    ordered: tuple[LockedPackage, ...]
    virtual_mask: int
    member_mask: int
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def root_groups(self) -> frozenset[str]:
        """The groups of the workspace root: its own if it is a member, else the manifest's."""
        if self.root_index is not None:
            return self.group_names[self.root_index]
        return frozenset(self.manifest_groups)

    def edge_tables(self, index: int) -> list[tuple[str, str | None, tuple[Edge, ...]]]:
        """A package's edges, table by table: ``(kind, extra or group, edges)``.

        ``kind`` is ``dependency`` (no name), ``extra`` or ``group``.
        """
        tables: list[tuple[str, str | None, tuple[Edge, ...]]] = [
            ("dependency", None, self.dependencies[index])
        ]
        tables += [("extra", extra, edges) for extra, edges in self.optional[index].items()]
        tables += [("group", group, edges) for group, edges in self.groups[index].items()]
        return tables


def build_index(
    *,
    path: Path,
    packages: list[LockedPackage],
    members: tuple[str, ...],
    root_index: int | None,
    by_name: Mapping[str, list[int]],
    member_index: Mapping[str, int],
    dependencies: list[tuple[Edge, ...]],
    optional: list[Mapping[str, tuple[Edge, ...]]],
    groups: list[Mapping[str, tuple[Edge, ...]]],
    group_names: list[frozenset[str]],
    extra_names: list[frozenset[str]],
    fork_markers: list[tuple[str, ...]],
    manifest_groups: Mapping[str, tuple[Requirement, ...]],
    requirements: tuple[Requirement, ...],
    conflicts: tuple[tuple[ConflictItem, ...], ...],
) -> LockIndex:
    """The index of a parsed graph: the graph as tuples, plus its bit layout.

    Long only because the constructor names every field of :class:`LockIndex`.
    """
    codes = tuple(sorted({item.code for conflict in conflicts for item in conflict}))
    # One bit per package, assigned in sorted order, so a bitset lists packages sorted.
    order = sorted(
        range(len(packages)),
        key=lambda index: (
            packages[index].name,
            packages[index].version or "",
            packages[index].source,
        ),
    )
    bits = [0] * len(packages)
    for position, index in enumerate(order):
        bits[index] = 1 << position
    return LockIndex(
        path=path,
        packages=tuple(packages),
        members=members,
        root_index=root_index,
        by_name={name: tuple(indices) for name, indices in by_name.items()},
        member_index=member_index,
        dependencies=tuple(dependencies),
        optional=tuple(optional),
        groups=tuple(groups),
        group_names=tuple(group_names),
        extra_names=tuple(extra_names),
        fork_markers=tuple(fork_markers),
        manifest_groups=manifest_groups,
        requirements=requirements,
        conflicts=conflicts,
        relevant=frozenset(codes),
        codes=codes,
        code_bits={code: 1 << (len(packages) + k) for k, code in enumerate(codes)},
        exclusive={
            code: frozenset(
                other.code for c in conflicts if code in {i.code for i in c} for other in c
            )
            - {code}
            for code in codes
        },
        package_mask=(1 << len(packages)) - 1,
        bits=tuple(bits),
        ordered=tuple(packages[index] for index in order),
        virtual_mask=sum(
            bits[i] for i, package in enumerate(packages) if package.source == "virtual"
        ),
        member_mask=sum(bits[index] for index in member_index.values()),
    )


def index_lock(data: Mapping[str, Any], path: Path) -> LockIndex:
    """Index the mapping ``tomllib`` made of a uv lock at ``path`` (its schema version checked).

    Trusts the shape uv writes: a value of another type raises a plain ``TypeError``,
    ``KeyError`` or the like, which the caller turns into a description of the file
    (``_lock.shape_problems``). Problems of meaning (an edge to a package that is not locked)
    are :class:`LockError` naming the key path.
    """
    return _Parser(data, path).index()


class _Parser:
    """One pass over a lock mapping that uv wrote, into a :class:`LockIndex`.

    Checks only what the walk relies on and what costs nothing to check; anything else that
    goes wrong is described by ``_lock.shape_problems``.
    """

    def __init__(self, data: Mapping[str, Any], path: Path) -> None:
        self.data = data
        self.path = path
        self.names: dict[str, str] = {}
        self.packages: list[LockedPackage] = []
        self.sources: list[Mapping[str, Any]] = []
        self.by_name: dict[str, list[int]] = {}
        self.root_index: int | None = None

    def norm(self, name: str) -> str:
        """A normalized package, extra or group name (memoized; uv writes them normalized)."""
        normalized = self.names.get(name)
        if normalized is None:
            if name == name.lower() and "_" not in name and "." not in name and "--" not in name:
                normalized = self.names[name] = name
            else:
                normalized = self.names[name] = canonicalize_name(name)
        return normalized

    def index(self) -> LockIndex:
        """Packages first (edges name them), then members, edges and the manifest."""
        raw_packages = self.data.get("package", [])
        if not isinstance(raw_packages, list):
            raise TypeError("package")  # described by shape_problems
        for number, raw in enumerate(raw_packages):
            self.package(number, raw)
        members, member_index = self.members()
        tables = _Tables()
        for number, raw in enumerate(raw_packages):
            self.tables(number, raw, tables)
        manifest = self.data.get("manifest", {})
        return build_index(
            path=self.path,
            packages=self.packages,
            members=members,
            root_index=self.root_index,
            by_name=self.by_name,
            member_index=member_index,
            dependencies=tables.dependencies,
            optional=tables.optional,
            groups=tables.groups,
            group_names=tables.group_names,
            extra_names=tables.extra_names,
            fork_markers=tables.fork_markers,
            manifest_groups={
                self.norm(group): tuple(self.requirement(raw) for raw in reqs)
                for group, reqs in manifest.get("dependency-groups", {}).items()
            },
            requirements=tuple(self.requirement(raw) for raw in manifest.get("requirements", ())),
            conflicts=tuple(
                tuple(self.conflict_item(item) for item in _array(conflict_set))
                for conflict_set in self.data.get("conflicts", ())
            ),
        )

    def package(self, number: int, raw: Mapping[str, Any]) -> None:
        """Record one ``[[package]]``: its name, version and kind of source."""
        name = self.norm(raw["name"])
        source = raw.get("source", {})
        kind = _source_kind(source)
        version = raw.get("version")
        self.packages.append(
            LockedPackage(name, str(version) if version is not None else None, kind)
        )
        self.sources.append(source)
        self.by_name.setdefault(name, []).append(number)
        if source.get("editable") == "." or source.get("virtual") == ".":
            self.root_index = number

    def members(self) -> tuple[tuple[str, ...], dict[str, int]]:
        """The members and their package numbers; each must be locked exactly once."""
        manifest = self.data.get("manifest", {})
        members = tuple(self.norm(member) for member in manifest.get("members", ()))
        if not members and self.root_index is not None:
            members = (self.packages[self.root_index].name,)
        member_index: dict[str, int] = {}
        for member in members:
            candidates = self.by_name.get(member, [])
            if len(candidates) != 1:
                raise LockError(
                    f"manifest.members lists {member!r}, which is locked {len(candidates)} times",
                    path=self.path,
                    hint=RELOCK_HINT,
                )
            member_index[member] = candidates[0]
        return members, member_index

    def tables(self, number: int, raw: Mapping[str, Any], out: _Tables) -> None:
        """Add one package's edges, extras and groups, and fork markers to ``out``."""
        raw_deps = raw.get("dependencies")
        raw_optional = raw.get("optional-dependencies")
        raw_groups = raw.get("dev-dependencies")
        metadata = raw.get("metadata")
        if not (
            (raw_deps is None or isinstance(raw_deps, list))
            and (raw_optional is None or isinstance(raw_optional, dict))
            and (raw_groups is None or isinstance(raw_groups, dict))
            and (metadata is None or isinstance(metadata, dict))
        ):
            raise TypeError("a package table")  # described by shape_problems
        deps = self.edges(raw_deps, number, "dependencies") if raw_deps else ()
        optional: Mapping[str, tuple[Edge, ...]] = _EMPTY
        if raw_optional:
            optional = {
                self.norm(k): self.edges(v, number, f"optional-dependencies.{k}")
                for k, v in raw_optional.items()
            }
        groups: Mapping[str, tuple[Edge, ...]] = _EMPTY
        if raw_groups:
            groups = {
                self.norm(k): self.edges(v, number, f"dev-dependencies.{k}")
                for k, v in raw_groups.items()
            }
        group_names = extra_names = _NOTHING
        if metadata or raw_optional or raw_groups:
            metadata = metadata or {}
            declared_groups = metadata.get("requires-dev", {})
            group_names = frozenset(map(self.norm, (*groups, *declared_groups)))
            declared_extras = metadata.get("provides-extras", ())
            extra_names = frozenset(map(self.norm, (*optional, *declared_extras)))
        forks = raw.get("resolution-markers") or raw.get("fork-markers")
        if forks and (not isinstance(forks, list) or not all(isinstance(f, str) for f in forks)):
            raise TypeError("resolution markers")  # described by shape_problems
        out.dependencies.append(deps)
        out.optional.append(optional)
        out.groups.append(groups)
        out.group_names.append(group_names)
        out.extra_names.append(extra_names)
        out.fork_markers.append(tuple(forks) if forks else ())

    def edges(
        self, raw_edges: Sequence[Mapping[str, Any]], owner: int, table: str
    ) -> tuple[Edge, ...]:
        """The edges of one table; ``table`` names it in errors (``dependencies``...)."""
        if not isinstance(raw_edges, list):
            raise TypeError("edges")  # described by shape_problems
        out: list[Edge] = []
        by_name = self.by_name
        names = self.names
        for position, edge in enumerate(raw_edges):
            name = edge["name"]
            candidates = by_name.get(names.get(name) or self.norm(name))
            if candidates and len(candidates) == 1:
                target = candidates[0]
            else:
                target = self.resolve(edge, owner, f"package[{owner}].{table}[{position}]")
            marker = edge.get("marker")
            extras = edge.get("extra")
            if not isinstance(marker, str | None) or not isinstance(extras, list | None):
                raise TypeError("an edge's marker or extras")  # described by shape_problems
            out.append(
                (
                    target,
                    marker,
                    tuple(map(self.norm, extras)) if extras else (),
                    marker is not None and "extra" in marker,
                )
            )
        return tuple(out)

    def resolve(self, edge: Mapping[str, Any], owner: int, where: str) -> int:
        """The package an edge names when its name alone does not say (or names nothing)."""
        name = self.norm(edge["name"])
        owner_name = self.packages[owner].name
        candidates = self.by_name.get(name)
        if not candidates:
            raise LockError(
                f"{where}: {owner_name!r} depends on {name!r}, which has no [[package]] entry",
                path=self.path,
                hint=RELOCK_HINT,
            )
        edge_version = edge.get("version")
        edge_source = edge.get("source")
        matches = [
            number
            for number in candidates
            if (edge_version is None or self.packages[number].version == edge_version)
            and (edge_source is None or self.sources[number] == edge_source)
        ]
        if len(matches) != 1:
            raise LockError(
                f"{where}: {owner_name!r} depends on {name!r}, which is locked "
                f"{len(candidates)} times, and the edge does not say which",
                path=self.path,
                hint=RELOCK_HINT,
            )
        return matches[0]

    def requirement(self, raw: Mapping[str, Any]) -> Requirement:
        """A virtual root's requirement (``[manifest] requirements`` or one of its groups)."""
        marker = raw.get("marker")
        if not isinstance(marker, str | None):
            raise TypeError("a requirement's marker")  # described by shape_problems
        return Requirement(
            name=self.norm(raw["name"]),
            marker=marker,
            extras=tuple(self.norm(extra) for extra in raw.get("extras", ())),
        )

    def conflict_item(self, item: Mapping[str, Any]) -> ConflictItem:
        """One item of a ``conflicts`` set: an extra, a group, or (neither) the project."""
        package = self.norm(item.get("package", ""))
        if "extra" in item:
            return ConflictItem(package=package, kind="extra", name=self.norm(item["extra"]))
        if "group" in item:
            return ConflictItem(package=package, kind="group", name=self.norm(item["group"]))
        return ConflictItem(package=package, kind="project", name="")


class _Tables:
    """The per-package tables of the index, filled in package order."""

    __slots__ = (
        "dependencies",
        "extra_names",
        "fork_markers",
        "group_names",
        "groups",
        "optional",
    )

    def __init__(self) -> None:
        self.dependencies: list[tuple[Edge, ...]] = []
        self.optional: list[Mapping[str, tuple[Edge, ...]]] = []
        self.groups: list[Mapping[str, tuple[Edge, ...]]] = []
        self.group_names: list[frozenset[str]] = []
        self.extra_names: list[frozenset[str]] = []
        self.fork_markers: list[tuple[str, ...]] = []


_EMPTY: Final[Mapping[str, tuple[Edge, ...]]] = {}
_NOTHING: Final[frozenset[str]] = frozenset()


def _array(value: Any) -> list[Any]:
    """``value``, which must be an array (the caller describes the file if not)."""
    if not isinstance(value, list):
        raise TypeError("an array")  # described by shape_problems
    return value


def _source_kind(source: Mapping[str, Any]) -> str:
    for kind in SOURCE_KINDS:
        if kind in source:
            return kind
    return next(iter(source), "unknown")
