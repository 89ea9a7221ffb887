"""What a shared venv hides: per member, what is installed that its locked closure lacks.

In a uv workspace, every member's tests usually run in one ``.venv``. A member's tests then
import whatever a sibling brought (uv #13749) and pass here, and fail in the member's own
session or in CI. ``check`` compares a venv with each chosen member's locked closure, for
the venv's own interpreter, and names, for every package the member does not lock, the
members (or root groups) whose closures bring it.

The venv is read from its files (:meth:`Venv.installed`): no interpreter starts, nothing is
written, and legacy ``egg-info`` and ``egg-link`` installs count as uv counts them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nox_workspace._closure import target_closure
from nox_workspace._errors import LockError, NoxWorkspaceError
from nox_workspace._lock import Lock, LockedPackage, read_lock
from nox_workspace._sync import Sync, Target
from nox_workspace._venv import SEED_PACKAGES, Venv
from nox_workspace._workspace import Member, Workspace, discover

__all__ = [
    "CheckReport",
    "Leaked",
    "MemberCheck",
    "Missing",
    "check_venv",
    "choose_members",
    "compare",
    "default_venv",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Leaked:
    """An installed distribution outside a member's locked closure, and who brings it.

    ``brought_by`` names the members whose default closure holds it (``"b"``), else the
    groups or extras that do (``"b (group test)"``, ``"root (group dev)"``); empty when
    nothing in ``uv.lock`` brings it (installed by hand).
    """

    name: str
    version: str
    brought_by: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Missing:
    """A package of a member's locked closure that the venv lacks or holds at another version.

    ``installed`` is the version found (``None`` when absent).
    """

    name: str
    version: str | None
    installed: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberCheck:
    """One member's comparison with the venv."""

    member: str
    leaked: tuple[Leaked, ...]
    missing: tuple[Missing, ...]

    def to_json(self) -> dict[str, Any]:
        """The member's entry: leaked names (details under the report's ``packages``)."""
        return {
            "member": self.member,
            "leaked": [leak.name for leak in self.leaked],
            "missing": [
                {"name": item.name, "version": item.version, "installed": item.installed}
                for item in self.missing
            ],
        }

    def render(self) -> list[str]:
        """Readable lines: the leaks grouped by who brings them, then what is missing."""
        name = self.member
        if not self.leaked and not self.missing:
            return [f"{name}: nothing leaks; the venv holds its locked closure"]
        lines: list[str] = []
        if self.leaked:
            lines.append(
                f"{name}: {_count(len(self.leaked), 'installed package')} outside its locked "
                f"closure; {name}'s tests can import them here but not in its own session:"
            )
            groups: dict[tuple[str, ...], list[Leaked]] = {}
            for leak in self.leaked:
                groups.setdefault(leak.brought_by, []).append(leak)
            for brought_by, leaks in sorted(groups.items(), key=lambda item: item[0] or ("~",)):
                packages = ", ".join(f"{leak.name} {leak.version}".rstrip() for leak in leaks)
                source = (
                    "come from " + ", ".join(brought_by)
                    if brought_by
                    else "come from no member (uv.lock does not have them: installed by hand?)"
                )
                lines.append(f"  {packages} {source}")
            lines.append(
                f"  fix: declare what {name}'s code or tests import in its dependencies or "
                "test group, then `uv lock`"
            )
        if self.missing:
            if not self.leaked:
                lines.append(f"{name}: nothing leaks")
            items = ", ".join(
                f"{item.name} {item.version or ''}".rstrip()
                + (f" (has {item.installed})" if item.installed is not None else "")
                for item in self.missing
            )
            lines.append(f"  the venv lacks (or holds another version of) {items}")
        return lines


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckReport:
    """The comparison of ``venv`` with each chosen member's locked closure."""

    venv: Path
    python: str
    members: tuple[MemberCheck, ...]

    @property
    def leaks(self) -> bool:
        """Whether any chosen member can import something its closure does not install."""
        return any(member.leaked for member in self.members)

    @property
    def status(self) -> int:
        """The exit status: 1 when something leaks, else 0."""
        return 1 if self.leaks else 0

    def to_json(self) -> dict[str, Any]:
        """The report as JSON: each leaked package once under ``packages`` (its version and
        who brings it), and per member the names that leak into it."""
        packages = {
            leak.name: {"version": leak.version, "brought_by": list(leak.brought_by)}
            for member in self.members
            for leak in member.leaked
        }
        return {
            "venv": str(self.venv),
            "python": self.python,
            "leaks": self.leaks,
            "packages": dict(sorted(packages.items())),
            "members": [member.to_json() for member in self.members],
        }

    def render(self) -> str:
        lines = [f"venv {self.venv} (Python {self.python})"]
        for member in self.members:
            lines += member.render()
        return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


# --------------------------------------------------------------------------------------------
# Pure comparison


def compare(
    member: str,
    installed: Mapping[str, str],
    closure: Iterable[LockedPackage],
    owners: Mapping[str, tuple[str, ...]],
) -> MemberCheck:
    """Compare what a venv holds with one member's locked closure.

    ``installed`` maps normalized names to versions; ``owners`` maps a package name to who
    brings it (see :class:`Leaked`). Seed packages (pip, setuptools, wheel) are never leaks:
    venv tools put them there and uv keeps them on an exact sync.
    """
    locked = {package.name: package for package in closure}
    leaked = tuple(
        Leaked(name=name, version=version, brought_by=owners.get(name, ()))
        for name, version in sorted(installed.items())
        if name not in locked and name not in SEED_PACKAGES
    )
    missing = tuple(
        Missing(name=name, version=package.version, installed=installed.get(name))
        for name, package in sorted(locked.items())
        if name not in installed
        or (package.version is not None and installed[name] not in ("", package.version))
    )
    return MemberCheck(member=member, leaked=leaked, missing=missing)


# --------------------------------------------------------------------------------------------
# Choices: the venv and the members


def default_venv(root: Path, environ: Mapping[str, str]) -> Path:
    """The venv uv would use for the workspace: ``UV_PROJECT_ENVIRONMENT`` (relative to the
    root), else the root's ``.venv``, else the active ``$VIRTUAL_ENV``."""
    project = environ.get("UV_PROJECT_ENVIRONMENT")
    if project:
        return root / project
    local = root / ".venv"
    active = environ.get("VIRTUAL_ENV")
    if not local.exists() and active:
        return Path(active)
    return local


def choose_members(
    workspace: Workspace, names: Sequence[str], all_members: bool, cwd: Path
) -> tuple[Member, ...]:
    """The members to check: those named, or all, or else the member the current directory
    is in (the one ``uv run`` would pick), or all when it is in none."""
    if names:
        return tuple(dict.fromkeys(workspace.member(name) for name in names))
    if all_members:
        return workspace.members
    here = cwd.resolve()
    holding = [
        member
        for member in workspace.members
        if here == member.path.resolve() or member.path.resolve() in here.parents
    ]
    if holding:
        return (max(holding, key=lambda member: len(member.path.resolve().parts)),)
    return workspace.members


def _sync_for(
    member: Member, workspace: Workspace, groups: Sequence[str], extras: Sequence[str]
) -> Sync:
    """The sync options of one member: the requested groups and extras it (or the root) has."""
    return Sync(
        groups=[g for g in groups if g in member.dependency_groups or g in workspace.root_groups],
        extras=[e for e in extras if e in member.optional_dependencies],
    )


def _refuse_unknown(
    members: Sequence[Member], workspace: Workspace, groups: Sequence[str], extras: Sequence[str]
) -> None:
    """One line when a requested group or extra exists for none of the chosen members."""
    syncs = [_sync_for(member, workspace, groups, extras) for member in members]
    for group in Sync(groups=groups).groups:
        if not any(group in sync.groups for sync in syncs):
            raise NoxWorkspaceError(
                f"no chosen member and not the workspace root defines group {group!r}",
                path=workspace.pyproject,
                hint="name a group under [dependency-groups] of a member or the root",
            )
    for extra in Sync(extras=extras).extras:
        if not any(extra in sync.extras for sync in syncs):
            raise NoxWorkspaceError(
                f"no chosen member defines extra {extra!r}",
                path=workspace.pyproject,
                hint="name an extra under [project.optional-dependencies] of a chosen member",
            )


# --------------------------------------------------------------------------------------------
# Who brings a package


def owners(
    lock: Lock,
    workspace: Workspace,
    wanted: Iterable[str],
    environment: Mapping[str, str],
) -> dict[str, tuple[str, ...]]:
    """Package name -> who brings it, for the names in ``wanted`` only.

    First the members' default closures (what ``uv sync --package M`` installs); names none
    of them holds are looked up in each member's groups and extras, one at a time, then in
    the root's groups. The later passes run only when names are left over.
    """
    left = set(wanted)
    found: dict[str, list[str]] = {}

    def record(label: str, packages: Iterable[LockedPackage]) -> None:
        for package in packages:
            if package.name in left:
                found.setdefault(package.name, []).append(label)

    for member in workspace.members:
        record(
            member.name,
            target_closure(
                lock, Target(workspace=workspace, members=(member,), sync=Sync()), environment
            ),
        )
    left -= found.keys()
    if left:
        for member in workspace.members:
            options: list[tuple[str, Sync]] = [
                (f"{member.name} (group {group})", Sync(groups=[group], default_groups=False))
                for group in sorted(member.dependency_groups)
            ]
            options += [
                (f"{member.name} (extra {extra})", Sync(extras=[extra], default_groups=False))
                for extra in sorted(member.optional_dependencies)
            ]
            for label, sync in options:
                try:
                    packages = target_closure(
                        lock, Target(workspace=workspace, members=(member,), sync=sync), environment
                    )
                except LockError:
                    continue
                record(label, packages)
        for group in sorted(workspace.root_groups):
            try:
                record(
                    f"root (group {group})",
                    lock.root_groups_closure([group], environment=environment),
                )
            except LockError:
                continue
    return {name: tuple(labels) for name, labels in found.items()}


# --------------------------------------------------------------------------------------------
# The command


def check_venv(
    *,
    start: Path | None = None,
    venv: Path | None = None,
    members: Sequence[str] = (),
    all_members: bool = False,
    groups: Sequence[str] = (),
    extras: Sequence[str] = (),
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> CheckReport:
    """Compare a venv with the locked closure of each chosen member.

    ``start`` is a folder inside the workspace (default: ``cwd``); ``venv`` defaults to
    :func:`default_venv`. Raises :class:`NoxWorkspaceError` (one line) on a bad workspace, a
    missing venv, an unknown member, group or extra.
    """
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    workspace = discover(start if start is not None else cwd)
    location = (cwd / venv) if venv is not None else default_venv(workspace.root, environ)
    target = Venv(location)
    if not (location / "pyvenv.cfg").is_file():
        raise NoxWorkspaceError(
            "is not a virtual environment (no pyvenv.cfg)",
            path=location,
            hint="create it with `uv sync`, or name another one with --venv",
        )
    chosen = choose_members(workspace, members, all_members, cwd)
    _refuse_unknown(chosen, workspace, groups, extras)
    lock = read_lock(workspace.lock_path)
    environment = target.marker_environment()
    installed = target.distributions()
    closures = {
        member.name: target_closure(
            lock,
            Target(
                workspace=workspace,
                members=(member,),
                sync=_sync_for(member, workspace, groups, extras),
            ),
            environment,
        )
        for member in chosen
    }
    leaked = {
        name
        for packages in closures.values()
        for name in installed.keys() - {package.name for package in packages}
    }
    who = owners(lock, workspace, leaked - SEED_PACKAGES, environment) if leaked else {}
    return CheckReport(
        venv=location,
        python=target.python_version,
        members=tuple(
            compare(member.name, installed, closures[member.name], who) for member in chosen
        ),
    )
