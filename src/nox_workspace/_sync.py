"""Sync semantics as a value: what a session's venv should hold, and the uv call that makes it.

A :class:`Sync` is chosen explicitly in the noxfile and validated when the noxfile loads, so a
typo in a group name fails before any venv is built, not halfway through a session. A
:class:`Target` translates it twice, in one place: into ``uv sync`` arguments, and into the
:class:`~nox_workspace._walk.Selection` whose locked closure that sync installs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True, slots=True)
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

    def validate(self, workspace: Workspace, members: Sequence[Member], session: str) -> None:
        """Fail with one line when a group or extra does not exist where uv would look."""
        for member in members:
            for group in self.groups:
                if group not in member.dependency_groups and group not in workspace.root_groups:
                    raise ConfigError(
                        f"session {session!r} asks for group {group!r}, which neither member "
                        f"{member.name!r} nor the workspace root defines",
                        path=member.pyproject,
                        hint="add the group, or change the groups for this member under "
                        "[tool.nox-workspace]",
                    )
            for extra in self.extras:
                if extra not in member.optional_dependencies:
                    raise ConfigError(
                        f"session {session!r} asks for extra {extra!r}, which member "
                        f"{member.name!r} does not define",
                        path=member.pyproject,
                        hint="add it under [project.optional-dependencies] or change the extras "
                        "for this member under [tool.nox-workspace]",
                    )
        for group in self.tool_groups:
            _anchor(workspace, group)
            if group not in workspace.root_groups:
                raise ConfigError(
                    f"session {session!r} overlays tool group {group!r}, which the workspace "
                    "root does not define",
                    path=workspace.pyproject,
                    hint="add it under [dependency-groups] in the root pyproject.toml",
                )


@dataclass(frozen=True, slots=True)
class Target:
    """What one session syncs and tests: one member, or every member (the union).

    A generated session hands its function a ``Target``: ``target.member`` in a member's
    session, ``target.members`` in both kinds, and the ``Sync`` the venv was synced with.
    """

    workspace: Workspace
    members: tuple[Member, ...]
    sync: Sync
    all_packages: bool = False

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
        """Where the session's commands run: the member's folder, or the workspace root."""
        if self.all_packages or len(self.members) != 1:
            return self.workspace.root
        return self.members[0].path

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
        if self.all_packages:
            defaults = self.workspace.root_default_groups
            members: tuple[str, ...] = ()
        else:
            member = self.member
            defaults = member.default_groups
            members = (member.name,)
        return Selection(
            members=members,
            all_packages=self.all_packages,
            extras=tuple(sync.extras),
            all_extras=sync.all_extras,
            groups=tuple(sync.groups),
            default_groups=defaults if sync.default_groups else (),
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
