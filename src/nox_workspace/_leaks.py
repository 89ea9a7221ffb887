"""Leaked packages: what a venv holds that the lock did not give it.

After a sync, and before a session's commands, the venv's distributions (every
``*.dist-info``, ``*.egg-info`` and ``*.egg-link`` uv would see) are compared with the locked
closure the session asked for. Anything else (left by an inexact sync, a ``session.install``,
a manual ``pip install``, an old ``setup.py develop``) is a leak: a test may pass only because
of it. So is a package of the closure installed at another version than the lock pins.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from nox_workspace._closure import target_closure
from nox_workspace._lock import Lock
from nox_workspace._sync import Sync, Target
from nox_workspace._venv import SEED_PACKAGES
from nox_workspace._workspace import Workspace

__all__ = ["Leak", "find_leaks", "name_some"]

#: How many members a leak line names before it says "and N more".
NAMED_MEMBERS = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Leak:
    """An installed distribution the session's locked closure does not give it.

    ``in_lock`` says whether ``uv.lock`` has a package of that name at all, and
    ``locked_versions`` are the versions it pins for it; ``wanted_by`` the members whose
    default closure holds it; ``in_closure`` says the closure has the name, at another version.
    """

    name: str
    version: str
    in_lock: bool = False
    locked_versions: tuple[str, ...] = ()
    wanted_by: tuple[str, ...] = ()
    in_closure: bool = False

    def describe(self, target: Target) -> str:
        """One line: the package, what the lock has instead, and who the lock gives it to."""
        scope = (
            "the union of all members"
            if target.all_packages
            else "member " + name_some([repr(name) for name in target.names])
        )
        if self.in_closure:
            return (
                f"{self.name} {self.version} is installed, the lock has "
                f"{_versions(self.locked_versions)} for {scope} ({target.sync.describe()})"
            )
        head = (
            f"{self.name} {self.version} is installed but is not in the locked closure of "
            f"{scope} ({target.sync.describe()})"
        )
        if not self.in_lock:
            return f"{head}; uv.lock does not have it at all (installed by hand?)"
        parts = []
        if self.locked_versions and self.version not in self.locked_versions:
            parts.append(
                f"installed {self.version}, the lock has {_versions(self.locked_versions)}"
            )
        if self.wanted_by:
            parts.append("uv.lock has it for " + name_some(self.wanted_by))
        else:
            parts.append("uv.lock has it, for no member's default closure")
        return f"{head}; " + "; ".join(parts)


def name_some(names: Sequence[str], limit: int = NAMED_MEMBERS) -> str:
    """``a, b, c and 57 more``: a list that stays one readable line on large workspaces."""
    if len(names) <= limit + 1:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def _versions(versions: Sequence[str]) -> str:
    return " or ".join(versions) if versions else "no version"


def find_leaks(
    installed: Mapping[str, str],
    lock: Lock,
    target: Target,
    environment: Mapping[str, str],
    *,
    allow_seeds: bool,
    overlay: Collection[str] = (),
) -> list[Leak]:
    """The installed distributions the target's locked closure does not give it: names it
    lacks, and names it pins at another version (members, whose lock entries may carry no
    version, are compared by name only). ``overlay`` names what the session's
    ``Sync(requirements=...)`` installed on purpose: not a leak, unless it replaced a locked
    package of the closure with another version."""
    closure = {package.name: package for package in target_closure(lock, target, environment)}
    members = set(target.workspace.names)
    locked: dict[str, list[str]] = {}
    for package in lock.packages:
        versions = locked.setdefault(package.name, [])
        if package.version is not None and package.version not in versions:
            versions.append(package.version)
    extra: list[tuple[str, str]] = []
    wrong: list[Leak] = []
    for name, version in sorted(installed.items()):
        wanted = closure.get(name)
        if wanted is None:
            if not (allow_seeds and name in SEED_PACKAGES) and name not in overlay:
                extra.append((name, version))
        elif (
            name not in members
            and wanted.version is not None
            and wanted.version != version
            and version != "unknown"
        ):
            wrong.append(
                Leak(
                    name=name,
                    version=version,
                    in_lock=True,
                    locked_versions=(wanted.version,),
                    in_closure=True,
                )
            )
    if not extra:
        return wrong
    wanted_by = _wanted_by(lock, target.workspace, environment)
    leaks = [
        Leak(
            name=name,
            version=version,
            in_lock=name in locked,
            locked_versions=tuple(locked.get(name, ())),
            wanted_by=wanted_by.get(name, ()),
        )
        for name, version in extra
    ]
    return sorted([*leaks, *wrong], key=lambda leak: leak.name)


def _wanted_by(
    lock: Lock, workspace: Workspace, environment: Mapping[str, str]
) -> dict[str, tuple[str, ...]]:
    """Package name -> the members whose default closure holds it (only when leaks exist)."""
    owners: dict[str, list[str]] = {}
    for member in workspace.members:
        target = Target(workspace=workspace, members=(member,), sync=Sync())
        for package in target_closure(lock, target, environment):
            owners.setdefault(package.name, []).append(member.name)
    return {name: tuple(members) for name, members in owners.items()}
