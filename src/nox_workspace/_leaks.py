"""Leaked packages: what a venv holds that the lock did not give it.

After a sync, and before a session's commands, the venv's distributions are compared with the
locked closure the session asked for. Anything else (left by an inexact sync, a
``session.install``, a manual ``pip install``) is a leak: a test may pass only because of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nox_workspace._closure import target_closure
from nox_workspace._lock import Lock
from nox_workspace._sync import Sync, Target
from nox_workspace._workspace import Workspace

__all__ = ["Leak", "find_leaks"]

#: Packages a virtualenv or ``venv`` seeds into every environment; uv keeps them on exact sync.
SEED_PACKAGES = frozenset({"pip", "setuptools", "wheel", "distribute"})


@dataclass(frozen=True, slots=True)
class Leak:
    """An installed distribution the session's locked closure does not contain."""

    name: str
    version: str
    wanted_by: tuple[str, ...]

    def describe(self, target: Target) -> str:
        """One line: the package, and where it is (not) declared."""
        scope = (
            "the union of all members"
            if target.all_packages
            else "member " + ", ".join(repr(name) for name in target.names)
        )
        where = (
            "uv.lock has it for " + ", ".join(self.wanted_by)
            if self.wanted_by
            else "uv.lock does not have it at all (installed by hand?)"
        )
        return (
            f"{self.name} {self.version} is installed but is not in the locked closure of "
            f"{scope} ({target.sync.describe()}); {where}"
        )


def find_leaks(
    installed: Mapping[str, str],
    lock: Lock,
    target: Target,
    environment: Mapping[str, str],
    *,
    allow_seeds: bool,
) -> list[Leak]:
    """The installed distributions the target's locked closure does not name, by name."""
    expected = {package.name for package in target_closure(lock, target, environment)}
    extra = sorted(
        (name, version)
        for name, version in installed.items()
        if name not in expected and not (allow_seeds and name in SEED_PACKAGES)
    )
    if not extra:
        return []
    wanted_by = _wanted_by(lock, target.workspace, environment)
    return [Leak(name, version, wanted_by.get(name, ())) for name, version in extra]


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
