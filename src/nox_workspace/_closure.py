"""Closures of sync targets: the workspace model (default groups) meets the lock.

uv reads default groups from ``pyproject.toml`` (the target member's for one ``--package``,
the root's for ``--all-packages``), not from ``uv.lock``; ``Target.selection`` takes them from
the workspace, so that a closure is what ``uv sync`` with the same options installs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from nox_workspace._errors import LockError
from nox_workspace._lock import Lock, LockedPackage, read_lock
from nox_workspace._sync import Sync, Target
from nox_workspace._workspace import Edge, Member, Workspace

__all__ = ["closure_of", "complete_edges", "target_closure"]


def target_closure(
    lock: Lock, target: Target, environment: Mapping[str, str] | None
) -> tuple[LockedPackage, ...]:
    """What a session's sync installs: the target's closure plus its tool groups, by name."""
    packages = lock.select(target.selection(environment))
    sync = target.sync
    if not sync.tool_groups:
        return packages
    found = {package.name: package for package in packages}
    for package in lock.root_groups_closure(sync.tool_groups, environment=environment):
        found.setdefault(package.name, package)
    return tuple(sorted(found.values(), key=lambda package: package.name))


def closure_of(
    workspace: Workspace,
    member: Member,
    *,
    groups: Sequence[str] = (),
    extras: Sequence[str] = (),
    default_groups: bool = True,
    all_extras: bool = False,
    environment: Mapping[str, str] | None = None,
) -> tuple[LockedPackage, ...]:
    """The locked packages ``uv sync --package MEMBER`` with these options installs."""
    sync = Sync(
        groups=tuple(groups),
        extras=tuple(extras),
        default_groups=default_groups,
        all_extras=all_extras,
    )
    lock = read_lock(workspace.lock_path)
    return target_closure(
        lock, Target(workspace=workspace, members=(member,), sync=sync), environment
    )


def complete_edges(workspace: Workspace, lock: Lock | None = None) -> Workspace:
    """The workspace with the member edges ``uv.lock`` knows and the files do not show.

    A member whose dependencies are ``dynamic`` (filled in by its build backend) lists none in
    its ``pyproject.toml``; the lock has them. Without such members nothing is read. Without
    a readable lock the workspace is returned as it is.
    """
    dynamic = workspace.dynamic_members
    if not dynamic:
        return workspace
    if lock is None:
        try:
            lock = read_lock(workspace.lock_path)
        except LockError:
            return workspace
    edges = [
        Edge(source=source, target=target, kind=kind, via=via)  # type: ignore[arg-type]
        for source, target, kind, via in lock.member_edges()
        if source in dynamic and kind != "group" and target in workspace.names
    ]
    return workspace.with_edges(edges)
