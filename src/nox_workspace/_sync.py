"""Sync semantics as a value: what a session's venv should hold, and the uv call that makes it.

A :class:`Sync` is chosen explicitly in the noxfile and validated when the noxfile loads, so a
typo in a group name fails before any venv is built, not halfway through a session. A
:class:`Target` translates it twice, in one place: into ``uv sync`` arguments, and into the
:class:`~nox_workspace._walk.Selection` whose locked closure that sync installs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from packaging.utils import canonicalize_name

from nox_workspace._errors import ConfigError
from nox_workspace._walk import Selection, frozen_environment
from nox_workspace._workspace import Member, Workspace

__all__ = ["Sync", "Target"]


def _names(values: Iterable[str] | str, what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ConfigError(f"Sync({what}=...) takes a list of names, not the string {values!r}")
    names = []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"Sync({what}=...) takes names, got {value!r}")
        names.append(canonicalize_name(value))
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True, slots=True, kw_only=True)
class Sync:
    """How a session's venv is synced from ``uv.lock``.

    - ``exact`` (default): the venv holds the locked closure and nothing else; anything else
      is removed (``uv sync --exact``). ``exact=False`` only adds (``--inexact``).
    - ``frozen=False`` (default) syncs ``--locked``: a ``uv.lock`` that no longer matches the
      ``pyproject.toml`` files fails, and says to run ``uv lock``. ``frozen=True`` installs the
      lock as it is (``--frozen``). Neither ever writes ``uv.lock``.
    - ``groups`` and ``extras`` are added to each member's closure; ``default_groups=False``
      leaves out the members' default groups (``dev`` unless ``[tool.uv] default-groups``).
      A group a member lacks comes from the workspace root, as in uv.
    - ``editable=False`` installs members as built wheels (``--no-editable``), to test what
      users install.
    - ``tool_groups`` are the root's dependency groups (a ``lint`` group, say) installed from
      the lock on top of a member's exact closure: uv cannot express that in one sync.
    """

    exact: bool = True
    frozen: bool = False
    groups: Sequence[str] = ()
    extras: Sequence[str] = ()
    all_extras: bool = False
    default_groups: bool = True
    editable: bool = True
    tool_groups: Sequence[str] = ()

    def __post_init__(self) -> None:
        for flag in ("exact", "frozen", "all_extras", "default_groups", "editable"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(f"Sync({flag}=...) must be True or False")
        object.__setattr__(self, "groups", _names(self.groups, "groups"))
        object.__setattr__(self, "extras", _names(self.extras, "extras"))
        object.__setattr__(self, "tool_groups", _names(self.tool_groups, "tool_groups"))
        if self.all_extras and self.extras:
            raise ConfigError("Sync(all_extras=True) and Sync(extras=...) exclude each other")

    def describe(self) -> str:
        """A short human summary, for logs: ``exact, locked, groups: test``."""
        parts = ["exact" if self.exact else "inexact", "frozen" if self.frozen else "locked"]
        if self.groups:
            parts.append("groups: " + ", ".join(self.groups))
        if not self.default_groups:
            parts.append("no default groups")
        if self.all_extras:
            parts.append("all extras")
        elif self.extras:
            parts.append("extras: " + ", ".join(self.extras))
        if not self.editable:
            parts.append("built wheels")
        if self.tool_groups:
            parts.append("tool groups: " + ", ".join(self.tool_groups))
        return ", ".join(parts)

    def for_member(self, member: Member, session: str) -> Sync | None:
        """This sync with the member's ``[tool.nox-workspace]`` applied; ``None``: skip it.

        The member-wide layer applies first, then ``sessions.SESSION``; ``groups`` and
        ``extras`` there replace the decorator's.
        """
        result = self
        for layer in member.settings.layers(session):
            if layer.skips(session):
                return None
            if layer.groups is not None:
                result = replace(result, groups=layer.groups)
            if layer.extras is not None:
                result = replace(result, extras=layer.extras)
        return result


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """What one session syncs and tests: one member, or every member (the union).

    A generated session hands its function a ``Target``: ``target.member`` in a member's
    session, ``target.members`` in both kinds, and the ``Sync`` the venv was synced with.
    """

    workspace: Workspace
    members: tuple[Member, ...]
    sync: Sync
    all_packages: bool = False
    #: Where the session runs: ``"member"`` (the member's folder; the union runs at the root
    #: anyway) or ``"root"`` (the workspace root).
    chdir: Literal["member", "root"] = "member"
    #: Where the tests live, relative to :attr:`directory` (``[tool.nox-workspace] tests``);
    #: empty: nothing declared, so the test runner discovers its own tests.
    tests: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """The member names this target installs."""
        return tuple(member.name for member in self.members)

    @property
    def member(self) -> Member:
        """The member of a member's session; the union session has no single member."""
        if self.all_packages or len(self.members) != 1:
            raise ConfigError(
                "the union session holds every member; use target.members instead of target.member"
            )
        return self.members[0]

    @property
    def directory(self) -> Path:
        """Where the session's commands run: the member's folder, or the workspace root
        (the union, or ``chdir="root"``)."""
        if self.all_packages or len(self.members) != 1 or self.chdir == "root":
            return self.workspace.root
        return self.members[0].path

    @property
    def default_groups(self) -> tuple[str, ...] | Literal["all"]:
        """The default groups uv turns on for this target: the one home of that rule.

        One ``--package``: the member's ``[tool.uv] default-groups`` (since uv 0.12.2, not the
        root's); ``--all-packages``: the root's; none with ``Sync(default_groups=False)``.
        """
        if not self.sync.default_groups:
            return ()
        if self.all_packages:
            return self.workspace.root_default_groups
        return self.member.default_groups

    def declared_tests(self, session: str) -> tuple[str, ...]:
        """The member's declared test paths for ``session``, relative to :attr:`directory`.

        A path that does not exist is an error now, at load, rather than a test runner that
        silently collects nothing. The union declares none: it runs the runner's discovery.
        """
        if self.all_packages or len(self.members) != 1:
            return ()
        member = self.member
        found = []
        for relative in member.settings.tests(session):
            path = member.path / relative
            if not path.exists():
                raise ConfigError(
                    f"[tool.nox-workspace] tests of member {member.name!r} names {relative!r}, "
                    "which does not exist",
                    path=member.pyproject,
                    hint="fix the path; it is relative to the member's folder",
                )
            found.append(Path(os.path.relpath(path, self.directory)).as_posix())
        return tuple(found)

    def validate(self, session: str) -> None:
        """Fail with one line when a group or extra does not exist where uv would look.

        A member's session: each group is the member's or the root's, each extra the
        member's. The union (``--all-packages``): each group and each extra is some
        member's (or, for a group, the root's). Tool groups are the root's.
        """
        workspace = self.workspace
        if self.all_packages:
            _validate_union(self.sync, workspace, session)
        else:
            for member in self.members:
                _validate_member(self.sync, workspace, member, session)
        for group in self.sync.tool_groups:
            _anchor(workspace, group)
            if group not in workspace.root_groups:
                raise ConfigError(
                    f"session {session!r} overlays tool group {group!r}, which the workspace "
                    "root does not define",
                    path=workspace.pyproject,
                    hint="add it under [dependency-groups] in the root pyproject.toml",
                )

    def uv_sync_args(self) -> list[str]:
        """The ``uv sync`` arguments, after ``uv``: one place that maps semantics to flags."""
        sync = self.sync
        args = ["sync", "--project", str(self.workspace.root)]
        if self.all_packages:
            args.append("--all-packages")
        else:
            for name in self.names:
                args += ["--package", name]
        args.append("--exact" if sync.exact else "--inexact")
        args.append("--frozen" if sync.frozen else "--locked")
        for group in sync.groups:
            args += ["--group", group]
        if not sync.default_groups:
            args.append("--no-default-groups")
        if sync.all_extras:
            args.append("--all-extras")
        for extra in sync.extras:
            args += ["--extra", extra]
        if not sync.editable:
            # uv reuses a member's cached wheel until its pyproject.toml changes; a session
            # that tests built wheels must build them from the sources as they are now.
            args.append("--no-editable")
            members = (
                self.workspace.names if self.all_packages else self.workspace.upstream(self.names)
            )
            for name in members:
                args += ["--reinstall-package", name]
        return args

    def selection(self, environment: Mapping[str, str] | None) -> Selection:
        """The lock walk's twin of :meth:`uv_sync_args`, for one marker environment.

        uv reads default groups from ``pyproject.toml`` (the member's for one ``--package``,
        the root's for ``--all-packages``), not from ``uv.lock``, so they come from the
        workspace here. Tool groups are not part of it: uv cannot express them in one sync.
        """
        sync = self.sync
        members = () if self.all_packages else (self.member.name,)
        return Selection(
            members=members,
            all_packages=self.all_packages,
            extras=tuple(sync.extras),
            all_extras=sync.all_extras,
            groups=tuple(sync.groups),
            default_groups=self.default_groups,
            environment=frozen_environment(environment),
        )

    def tool_group_export_args(self) -> list[list[str]]:
        """``uv export`` calls that list the root's tool groups alone, from the lock.

        uv exports a group of the root only through a ``--package`` that lacks a group of that
        name (without ``--package`` it takes every member's group too), so each group gets an
        anchor: the root member, or a member without such a group.
        """
        calls = []
        for group in self.sync.tool_groups:
            args = ["export", "--project", str(self.workspace.root), "--frozen", "--no-hashes"]
            args += ["--no-header", "--no-annotate", "--no-emit-workspace"]
            args += ["--package", _anchor(self.workspace, group), "--only-group", group]
            calls.append(args)
        return calls


def _validate_member(sync: Sync, workspace: Workspace, member: Member, session: str) -> None:
    for group in sync.groups:
        if group not in member.dependency_groups and group not in workspace.root_groups:
            raise ConfigError(
                f"session {session!r} asks for group {group!r}, which neither member "
                f"{member.name!r} nor the workspace root defines",
                path=member.pyproject,
                hint="add the group, or change the groups for this member under "
                "[tool.nox-workspace]",
            )
    for extra in sync.extras:
        if extra not in member.optional_dependencies:
            raise ConfigError(
                f"session {session!r} asks for extra {extra!r}, which member "
                f"{member.name!r} does not define",
                path=member.pyproject,
                hint="add it under [project.optional-dependencies] or change the extras "
                "for this member under [tool.nox-workspace]",
            )


def _validate_union(sync: Sync, workspace: Workspace, session: str) -> None:
    for group in sync.groups:
        if group not in workspace.root_groups and not any(
            group in member.dependency_groups for member in workspace.members
        ):
            raise ConfigError(
                f"session {session!r} asks for group {group!r}, which no member defines",
                path=workspace.pyproject,
                hint="add the group or remove it from Sync(groups=...)",
            )
    for extra in sync.extras:
        if not any(extra in member.optional_dependencies for member in workspace.members):
            raise ConfigError(
                f"session {session!r} asks for extra {extra!r}, which no member defines",
                path=workspace.pyproject,
                hint="add it under [project.optional-dependencies] of a member or remove it "
                "from Sync(extras=...)",
            )


def _anchor(workspace: Workspace, group: str) -> str:
    """A member through which ``uv export --only-group`` reaches the root's ``group``."""
    if workspace.root_member is not None:
        return workspace.root_member.name
    for member in workspace.members:
        if group not in member.dependency_groups:
            return member.name
    raise ConfigError(
        f"every member defines its own group {group!r}, so uv cannot install the root's "
        f"{group!r} alone",
        path=workspace.pyproject,
        hint="rename the root's group or the members' groups",
    )
