"""The locked closure of a :class:`Selection`: what ``uv sync`` with those options installs.

A closure is the set of locked packages that ``uv sync --package X`` would install for one
marker environment, or, with no environment, the union over every platform and Python that
``uv export --package X`` lists. Every rule below was checked against uv 0.13.9 (see
``tests/functional/test_lock_conformance.py``).

The walk (uv's ``Installable::to_resolution`` and ``ExportableRequirements::from_lock``):

* start at the targets (their ``dependencies`` and requested extras), the dependency groups
  the selection selects, and the virtual root's requirements; follow ``dependencies``; an
  edge's ``extra = [...]`` also follows that package's ``optional-dependencies``;
* an edge is live when its marker holds. *Conflict markers* (``extra == 'extra-3-foo-x'``,
  ``extra == 'group-3-foo-dev'``, ``extra == 'project-3-foo'``) hold exactly when that item
  is active in this sync: the targets' extras, groups and projects, and every extra a live
  edge activates (uv's first pass; an edge's own extras count for its own marker);
* with an environment, each marker is evaluated against it (PEP 508); without one, see
  ``_reach`` for the union over platforms.

Group selection (uv 0.13):

* one target: default groups select only the target's own ``[dependency-groups]``; an
  explicit group (``--group``, ``--only-group``, ``--all-groups``) the target lacks falls back
  to the workspace root's group of that name (the root member's, or a virtual root's
  ``[manifest.dependency-groups]``);
* several targets (repeated ``--package``, ``--all-packages``): each target contributes its
  own groups of the selected names, and a *virtual* root contributes its groups of those
  names; a root that is a member contributes only when it is itself a target.

This module plans the start of a walk (targets, groups, extras, conflict checks) and reads the
answer back into packages; ``_reach`` solves the graph.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Final, Literal

from packaging.utils import canonicalize_name

from nox_workspace._errors import LockError
from nox_workspace._index import RELOCK_HINT, ConflictItem, LockedPackage, LockIndex, Requirement
from nox_workspace._markers import TRUE, Dnf, Evaluator, MarkerSyntaxError, item_code
from nox_workspace._reach import BYTE_BITS, Node, Reach

__all__ = [
    "ALL",
    "UV_DEFAULT_GROUPS",
    "Environment",
    "Selection",
    "frozen_environment",
    "member_edges",
    "member_number",
    "walk",
]

#: ``default_groups`` value that selects every group (uv's ``default-groups = "all"``).
ALL: Final = "all"

#: uv's built-in default groups when ``[tool.uv] default-groups`` is not set.
UV_DEFAULT_GROUPS: Final = ("dev",)

#: A marker environment as a hashable value: sorted ``(variable, value)`` pairs.
Environment = tuple[tuple[str, str], ...]

#: How many environments' reachability one lock keeps at most.
_MAX_CONTEXTS: Final = 32


def frozen_environment(environment: Mapping[str, object] | None) -> Environment | None:
    """A PEP 508 marker environment (``packaging.markers.default_environment()``) as a value."""
    if environment is None:
        return None
    return tuple(sorted((key, str(value)) for key, value in environment.items()))


@dataclass(frozen=True, kw_only=True, slots=True)
class Selection:
    """What one ``uv sync`` selects from a lock: targets, extras, groups, platform.

    The targets are ``members`` (``--package``, one or several), or every member with
    ``all_packages`` (``--all-packages``), or, with neither, the workspace root alone (the
    root member, or nothing but a virtual root's groups), which only ``only_groups`` makes
    sense of. ``extras`` and ``all_extras`` are ``--extra`` and ``--all-extras`` (they apply
    to the targets). ``groups`` are explicit ``--group`` names: a single target that lacks one
    uses the workspace root's group of that name. ``default_groups`` are the names uv reads
    from ``[tool.uv] default-groups`` of the pyproject it treats as the project (the
    target's for one ``--package``; the root's otherwise); they select the targets' own
    groups (and, for several targets, a virtual root's), never a root member's. ``None``
    means uv's built-in default ``("dev",)``, ``()`` is ``--no-default-groups`` and ``"all"``
    selects every group of each target. ``all_groups`` is ``--all-groups``. ``only_groups``
    is ``--only-group``: the listed ``groups`` alone, without the targets or their
    dependencies, and without default groups. ``install_members=False`` leaves out every
    workspace member (``--no-install-workspace``); ``install_project=False`` leaves out the
    targets themselves, not their dependencies (``--no-install-project``).

    ``environment`` is a marker environment made by :func:`frozen_environment`; ``None``
    takes the union over all platforms and Pythons, as ``uv export`` does.
    """

    members: tuple[str, ...] = ()
    all_packages: bool = False
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()
    default_groups: tuple[str, ...] | Literal["all"] | None = None
    all_groups: bool = False
    only_groups: bool = False
    install_members: bool = True
    install_project: bool = True
    environment: Environment | None = None

    def __post_init__(self) -> None:
        if self.members and self.all_packages:
            raise ValueError("a Selection takes members or all_packages, not both")


def walk(index: LockIndex, selection: Selection) -> tuple[LockedPackage, ...]:
    """The packages a sync of ``selection`` installs, sorted by name (virtual ones left out).

    Raises :class:`LockError` when a target is not a member of the lock, a requested extra or
    group exists nowhere, the selection activates a declared conflict, or a marker of the
    lock is not PEP 508.
    """
    if selection.members:
        targets = list(dict.fromkeys(member_number(index, name) for name in selection.members))
        single = len(targets) == 1
    elif selection.all_packages:
        targets = [index.member_index[name] for name in index.members]
        single = False
    else:
        targets = [] if index.root_index is None else [index.root_index]
        single = bool(targets)
    try:
        return _walk(index, targets, single, selection)
    except MarkerSyntaxError as error:
        raise LockError(str(error), path=index.path, hint=RELOCK_HINT) from None


def _walk(
    index: LockIndex, targets: list[int], single: bool, selection: Selection
) -> tuple[LockedPackage, ...]:
    prod = not selection.only_groups
    names = index.packages
    defaults = _normalize_defaults(selection.default_groups) if prod else ()
    package_groups, manifest_groups = _plan_groups(
        index,
        targets,
        single=single,
        explicit=[canonicalize_name(group) for group in selection.groups],
        all_groups=selection.all_groups,
        defaults=defaults,
    )
    target_extras = _plan_extras(index, targets, selection) if prod else {}
    if index.conflicts:
        _precheck_conflicts(index, targets, selection, defaults)

    # The conflict items (encoded as in uv's markers) the targets activate. Only items of
    # declared conflicts can appear in markers, so only those are tracked.
    initial: set[str] = set()
    if prod:
        initial.update(f"project-{len(names[i].name)}-{names[i].name}" for i in targets)
    for number, extras_of_target in target_extras.items():
        initial.update(item_code("extra", names[number].name, e) for e in extras_of_target)
    for owner, group in package_groups:
        initial.add(item_code("group", names[owner].name, group))
    start_active = frozenset(initial & index.relevant)

    requirements = list(index.requirements)
    for group in manifest_groups:
        requirements.extend(index.manifest_groups.get(group, ()))

    context = _context(index, selection.environment)
    starts = _starts(
        index, context, targets, prod, target_extras, package_groups, requirements, start_active
    )
    bits, active = context.combine(starts, start_active)
    if index.conflicts:
        _check_conflicts(index, active)

    if not selection.install_members:
        bits &= ~index.member_mask
    if not selection.install_project:
        for target in targets:
            bits &= ~index.bits[target]
    return _unpack(index, bits & ~index.virtual_mask)


def member_number(index: LockIndex, member: str) -> int:
    """The index number of workspace member ``member``; a one-line error for a non-member."""
    name = canonicalize_name(member)
    try:
        return index.member_index[name]
    except KeyError:
        known = ", ".join(index.members) or "none"
        raise LockError(
            f"{member!r} is not a workspace member in the lock (members: {known})",
            path=index.path,
            hint=RELOCK_HINT,
        ) from None


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


def _context(index: LockIndex, environment: Environment | None) -> Reach:
    """The memoized reachability for one environment (``None``: the union)."""
    contexts: dict[Environment | None, Reach] = index.memo.setdefault("contexts", {})
    context = contexts.get(environment)
    if context is None:
        if len(contexts) > _MAX_CONTEXTS:
            contexts.clear()
        live = Evaluator(None if environment is None else dict(environment))
        context = contexts[environment] = Reach(index, live)
    return context


def _starts(
    index: LockIndex,
    context: Reach,
    targets: list[int],
    prod: bool,
    target_extras: Mapping[int, tuple[str, ...]],
    package_groups: list[tuple[int, str]],
    requirements: list[Requirement],
    start_active: frozenset[str],
) -> list[tuple[Node, Dnf | None]]:
    """The edges of the synthetic root: targets, their extras, groups, root requirements."""
    starts: list[tuple[Node, Dnf | None]] = []
    if prod:
        for number in targets:
            starts.append(((number, None), None))
            starts.extend(((number, extra), None) for extra in target_extras.get(number, ()))
    for owner, group in package_groups:
        for edge in index.groups[owner].get(group, ()):
            # uv evaluates group edges with the targets' own items only (before its
            # first pass), so later activations do not apply here.
            condition = context.condition(edge, active=start_active)
            if condition != ():
                starts.append(((edge[0], None), condition))
                starts.extend(((edge[0], extra), condition) for extra in edge[2])
    for requirement in requirements:
        for number, dnf in _resolve_requirement(index, requirement, context.live):
            condition = None if dnf is TRUE else dnf
            starts.append(((number, None), condition))
            starts.extend(((number, extra), condition) for extra in requirement.extras)
    return starts


def _unpack(index: LockIndex, bits: int) -> tuple[LockedPackage, ...]:
    """The packages whose bits are set, in sorted order (bits are assigned sorted)."""
    chunks: list[dict[int, tuple[LockedPackage, ...]]] | None = index.memo.get("chunks")
    if chunks is None:
        # Per byte of a package bitset, the packages of each byte value (filled lazily).
        chunks = index.memo["chunks"] = [{} for _ in range((len(index.packages) + 7) // 8)]
    found: list[LockedPackage] = []
    for position, byte in enumerate(bits.to_bytes((bits.bit_length() + 7) // 8, "little")):
        if byte:
            table = chunks[position]
            chunk = table.get(byte)
            if chunk is None:
                base = 8 * position
                ordered = index.ordered
                chunk = table[byte] = tuple(ordered[base + i] for i in BYTE_BITS[byte])
            found.extend(chunk)
    return tuple(found)


def _plan_groups(
    index: LockIndex,
    targets: list[int],
    *,
    single: bool,
    explicit: list[str],
    all_groups: bool,
    defaults: tuple[str, ...] | Literal["all"],
) -> tuple[list[tuple[int, str]], list[str]]:
    """Which groups of which packages a sync activates, as uv 0.13 selects them.

    Returns the (package number, group) pairs and the virtual root's manifest groups.
    """
    chosen: dict[tuple[int, str], None] = {}
    for number in targets:
        own = index.group_names[number]
        selected = sorted(own) if defaults == ALL or all_groups else defaults
        for group in selected:
            if group in own:
                chosen[number, group] = None
    if single:
        return _plan_single_target_groups(index, targets[0], chosen, explicit, all_groups)
    # Several targets: each contributes its own groups; a virtual root its manifest groups.
    manifest: dict[str, None] = {}
    for group in explicit:
        found = group in index.manifest_groups
        for number in targets:
            if group in index.group_names[number]:
                chosen[number, group] = None
                found = True
        if not found:
            raise LockError(
                f"group {group!r} is defined by none of the selected members",
                path=index.path,
                hint="check the group name, or run `uv lock` if you just added it",
            )
    if defaults == ALL or all_groups:
        manifest.update(dict.fromkeys(sorted(index.manifest_groups)))
    else:
        manifest.update((g, None) for g in (*defaults, *explicit) if g in index.manifest_groups)
    return list(chosen), list(manifest)


def _plan_single_target_groups(
    index: LockIndex,
    target: int,
    chosen: dict[tuple[int, str], None],
    explicit: list[str],
    all_groups: bool,
) -> tuple[list[tuple[int, str]], list[str]]:
    """One target: an explicit group it lacks comes from the workspace root."""
    manifest: dict[str, None] = {}
    own = index.group_names[target]
    root_groups = index.root_groups
    requested = list(explicit)
    if all_groups:
        requested += sorted(root_groups)
    for group in requested:
        if group in own:
            chosen[target, group] = None
        elif index.root_index is not None and group in root_groups:
            chosen[index.root_index, group] = None
        elif index.root_index is None and group in index.manifest_groups:
            manifest[group] = None
        else:
            raise LockError(
                f"group {group!r} is defined neither by {index.packages[target].name!r}"
                " nor by the workspace root",
                path=index.path,
                hint="check the group name, or run `uv lock` if you just added it",
            )
    return list(chosen), list(manifest)


def _plan_extras(
    index: LockIndex, targets: list[int], selection: Selection
) -> dict[int, tuple[str, ...]]:
    """The extras each target activates; an extra no target defines is an error."""
    plan: dict[int, tuple[str, ...]] = {}
    wanted = [canonicalize_name(extra) for extra in selection.extras]
    for extra in wanted:
        if not any(extra in index.extra_names[number] for number in targets):
            raise LockError(
                f"extra {extra!r} is defined by none of the selected members",
                path=index.path,
                hint="check the extra name, or run `uv lock` if you just added it",
            )
    for number in targets:
        own = index.extra_names[number]
        chosen = sorted(own) if selection.all_extras else [e for e in wanted if e in own]
        if chosen:
            plan[number] = tuple(chosen)
    return plan


def _check_conflicts(index: LockIndex, active: Set[str]) -> None:
    """Refuse a sync whose walk activates two conflicting extras.

    Like uv's install step, this compares extras with extras only: an extra activated
    through a dependency next to a conflicting group is not refused (uv does not either).
    """
    for conflict in index.conflicts:
        _refuse(index, [i for i in conflict if i.kind == "extra" and i.code in active])


def _precheck_conflicts(
    index: LockIndex,
    targets: list[int],
    selection: Selection,
    defaults: tuple[str, ...] | Literal["all"],
) -> None:
    """Refuse a selection uv refuses before it walks anything.

    uv checks the requested extras and groups *by name* against every conflict item of a
    member the targets can reach through any edge (so ``--all-extras`` on a member that
    depends on a member with conflicting extras fails even if the walk would not
    activate them); a project item counts whenever the targets' own dependencies do.
    """
    prod = not selection.only_groups
    extras = frozenset(canonicalize_name(extra) for extra in selection.extras)
    explicit = [canonicalize_name(group) for group in selection.groups]
    groups = frozenset(explicit if defaults == ALL else (*explicit, *defaults))
    all_groups = selection.all_groups or defaults == ALL
    all_extras = selection.all_extras
    reached = _members_reached(index, targets)
    for conflict in index.conflicts:
        _refuse(
            index,
            [
                item
                for item in conflict
                if item.package in reached
                and (
                    (item.kind == "project" and prod)
                    or (item.kind == "extra" and (all_extras or item.name in extras))
                    or (item.kind == "group" and (all_groups or item.name in groups))
                )
            ],
        )


def _refuse(index: LockIndex, clash: list[ConflictItem]) -> None:
    if len(clash) > 1:
        raise LockError(
            f"{' and '.join(map(str, clash))} are declared as conflicting ([tool.uv] conflicts)",
            path=index.path,
            hint="select only one of them",
        )


def _members_reached(index: LockIndex, targets: list[int]) -> frozenset[str]:
    """The members reachable from the targets through any edge, markers ignored.

    Only members' own edges are followed: third-party packages do not depend on
    workspace members.
    """
    graph: dict[int, tuple[int, ...]] | None = index.memo.get("member-graph")
    if graph is None:
        graph = index.memo["member-graph"] = _member_graph(index)
    seen = set(targets)
    stack = list(targets)
    while stack:
        for child in graph[stack.pop()]:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return frozenset(index.packages[number].name for number in seen)


def _member_graph(index: LockIndex) -> dict[int, tuple[int, ...]]:
    """Per member, the members its dependencies, extras and groups name directly."""
    members = set(index.member_index.values())
    graph: dict[int, tuple[int, ...]] = {}
    for number in members:
        found = [edge[0] for _, _, edges in index.edge_tables(number) for edge in edges]
        graph[number] = tuple(dict.fromkeys(child for child in found if child in members))
    return graph


def _resolve_requirement(
    index: LockIndex, requirement: Requirement, live: Evaluator
) -> list[tuple[int, Dnf]]:
    """The locked packages a root requirement selects (one per fork it can reach).

    Each comes with the clauses under which it is reached (union mode; ``TRUE`` else).
    """
    candidates = index.by_name.get(requirement.name, ())
    if not candidates:
        raise LockError(
            f"the workspace root requires {requirement.name!r}, which is not locked",
            path=index.path,
            hint=RELOCK_HINT,
        )
    selected = []
    for number in candidates:
        dnf = live.requirement(requirement.marker, index.fork_markers[number])
        if dnf:
            selected.append((number, dnf))
    return selected


def member_edges(index: LockIndex) -> tuple[tuple[str, str, str, str | None], ...]:
    """Edges between workspace members as locked: ``(source, target, kind, via)``.

    ``kind`` is ``dependency``, ``extra`` (``via`` names the extra) or ``group``.
    """
    members = {number: name for name, number in index.member_index.items()}
    found: dict[tuple[str, str, str, str | None], None] = {}
    for number, source in members.items():
        for kind, via, edges in index.edge_tables(number):
            for edge in edges:
                target = members.get(edge[0])
                if target is not None and target != source:
                    found[source, target, kind, via] = None
    return tuple(found)
