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
from typing import TYPE_CHECKING, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from nox_workspace._errors import ConfigError
from nox_workspace._workspace import Member, Workspace

if TYPE_CHECKING:
    # The lock walker (markers, lock index) is imported by selection() alone: loading a
    # noxfile builds Targets but never walks a lock, and the import cost every Nox process.
    from nox_workspace._walk import Selection

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


#: ``uv sync`` flags a ``Sync`` decides itself, or that would break its promises: flag ->
#: why, and what to write instead. A flag is matched with or without ``=VALUE``.
_REFUSED_FLAGS: Mapping[str, str] = {
    "--frozen": "use Sync(frozen=True)",
    "--locked": "Sync() syncs --locked already",
    "--package": "the decorator chooses the members (members=...)",
    "--all-packages": "the decorator's union=NAME syncs every member",
    "--project": "the workspace root is found from the noxfile",
    "--directory": "the workspace root is found from the noxfile",
    "--upgrade": "it writes uv.lock; run `uv lock --upgrade` yourself",
    "-U": "it writes uv.lock; run `uv lock --upgrade` yourself",
    "--upgrade-package": "it writes uv.lock; run `uv lock --upgrade-package` yourself",
    "-P": "it writes uv.lock; run `uv lock --upgrade-package` yourself",
    "--refresh-package": "it may write uv.lock",
    "--no-sources": "it resolves anew and may write uv.lock",
    "--script": "a session syncs a workspace member, not a script",
    "--dry-run": "a session must sync",
    "--check": "a session must sync",
    "--group": "use Sync(groups=...)",
    "--only-group": "use Sync(only_groups=...)",
    "--no-group": "use Sync(groups=...) with the groups you want",
    "--all-groups": "use Sync(all_groups=True)",
    "--no-default-groups": "use Sync(default_groups=False)",
    "--dev": "use Sync(groups=...)",
    "--no-dev": "use Sync(default_groups=False)",
    "--only-dev": "use Sync(only_groups=['dev'])",
    "--extra": "use Sync(extras=...)",
    "--all-extras": "use Sync(all_extras=True)",
    "--no-extra": "use Sync(extras=...) with the extras you want",
    "--no-editable": "use Sync(editable=False)",
    "--no-install-project": "use Sync(install_project=False)",
    "--no-install-workspace": "it leaves the members out of the closure the session checks",
    "--no-install-package": "it leaves packages out of the closure the session checks",
    "--no-install-local": "it leaves packages out of the closure the session checks",
    "--only-install-project": "it leaves packages out of the closure the session checks",
    "--only-install-workspace": "it leaves packages out of the closure the session checks",
    "--only-install-package": "it leaves packages out of the closure the session checks",
    "--only-install-local": "it leaves packages out of the closure the session checks",
    "--python": "Nox chooses the interpreter (python=...)",
    "-p": "Nox chooses the interpreter (python=...)",
    "--active": "the session's own venv is the target",
    "--no-active": "the session's own venv is the target",
}


def _sync_flags(values: Iterable[str] | str, exact: bool) -> tuple[str, ...]:
    """More ``uv sync`` flags, checked: none of them may contradict or bypass the ``Sync``."""
    if isinstance(values, str):
        raise ConfigError(
            f"Sync(uv_sync_flags=...) takes a list of flags, not the string {values!r}"
        )
    flags = tuple(values)
    for flag in flags:
        if not isinstance(flag, str) or not flag.startswith("-"):
            raise ConfigError(
                f"Sync(uv_sync_flags=...) takes flags such as '--compile-bytecode', got {flag!r}",
                hint="write a flag and its value as one item: '--link-mode=copy'",
            )
        name = flag.split("=", 1)[0]
        if name == ("--inexact" if exact else "--exact"):
            raise ConfigError(
                f"Sync(uv_sync_flags=...) holds {flag!r}, which contradicts Sync(exact={exact})",
                hint="use Sync(exact=...) alone",
            )
        if name in _REFUSED_FLAGS:
            raise ConfigError(
                f"Sync(uv_sync_flags=...) holds {flag!r}, which a session must not pass",
                hint=_REFUSED_FLAGS[name],
            )
    return flags


def _requirements(values: Iterable[str] | str) -> tuple[str, ...]:
    """Requirement strings or ``-r FILE`` entries, checked as PEP 508 where they are one."""
    if isinstance(values, str):
        raise ConfigError(
            f"Sync(requirements=...) takes a list, not the string {values!r}",
            hint=f"write requirements=[{values!r}]",
        )
    found = []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"Sync(requirements=...) takes strings, got {value!r}")
        text = value.strip()
        if text.startswith("-r"):
            if not text[2:].strip():
                raise ConfigError("Sync(requirements=...) holds '-r' without a file name")
        else:
            try:
                Requirement(text)
            except InvalidRequirement as error:
                raise ConfigError(
                    f"Sync(requirements=...) holds {text!r}, which is not a requirement: {error}",
                    hint="write a PEP 508 requirement such as 'pytest-xdist>=3', or '-r FILE'",
                ) from None
        found.append(text)
    return tuple(found)


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
    - ``only_groups`` installs those groups alone (``--only-group``): not the member, not its
      dependencies, no default groups. ``all_groups`` adds every group (``--all-groups``).
      ``install_project=False`` installs the member's dependencies but not the member
      itself (``--no-install-project``).
    - ``uv_sync_flags`` are more ``uv sync`` flags, passed as they are (``--compile-bytecode``,
      ``--link-mode=copy``); flags that change what is installed, or that this ``Sync``
      already decides, are refused: use the field that says it.
    - ``requirements`` are requirement strings (``"pytest-xdist>=3"``) or ``"-r FILE"``
      (relative to the member), installed after the exact sync: test tools the lock lacks.
    """

    exact: bool = True
    frozen: bool = False
    groups: Sequence[str] = ()
    extras: Sequence[str] = ()
    all_extras: bool = False
    default_groups: bool = True
    editable: bool = True
    tool_groups: Sequence[str] = ()
    only_groups: Sequence[str] = ()
    all_groups: bool = False
    install_project: bool = True
    uv_sync_flags: Sequence[str] = ()
    requirements: Sequence[str] = ()

    def __post_init__(self) -> None:
        flags = ("exact", "frozen", "all_extras", "default_groups", "editable", "all_groups")
        for flag in (*flags, "install_project"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(f"Sync({flag}=...) must be True or False")
        object.__setattr__(self, "groups", _names(self.groups, "groups"))
        object.__setattr__(self, "extras", _names(self.extras, "extras"))
        object.__setattr__(self, "tool_groups", _names(self.tool_groups, "tool_groups"))
        object.__setattr__(self, "only_groups", _names(self.only_groups, "only_groups"))
        object.__setattr__(self, "uv_sync_flags", _sync_flags(self.uv_sync_flags, self.exact))
        object.__setattr__(self, "requirements", _requirements(self.requirements))
        if self.all_extras and self.extras:
            raise ConfigError("Sync(all_extras=True) and Sync(extras=...) exclude each other")
        if self.only_groups and (self.groups or self.all_groups or self.extras or self.all_extras):
            raise ConfigError(
                "Sync(only_groups=...) installs those groups alone; it excludes groups, "
                "all_groups, extras and all_extras"
            )
        if self.all_groups and self.groups:
            raise ConfigError("Sync(all_groups=True) and Sync(groups=...) exclude each other")

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
        if self.only_groups:
            parts.append("only groups: " + ", ".join(self.only_groups))
        if self.all_groups:
            parts.append("all groups")
        if not self.install_project:
            parts.append("no project")
        if self.uv_sync_flags:
            parts.append("uv sync " + " ".join(self.uv_sync_flags))
        if self.requirements:
            parts.append("then: " + ", ".join(self.requirements))
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
            try:
                if layer.groups is not None:
                    result = replace(result, groups=layer.groups)
                if layer.extras is not None:
                    result = replace(result, extras=layer.extras)
            except ConfigError as error:
                # e.g. the member's groups with the decorator's only_groups or all_groups
                raise ConfigError(
                    f"[tool.nox-workspace] of member {member.name!r} for session "
                    f"{session!r}: {error.problem}",
                    path=member.pyproject,
                    hint="change the member's groups or extras, or the decorator's Sync",
                ) from None
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
        if not self.sync.default_groups or self.sync.only_groups:
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
        if self.all_packages and not self.sync.install_project:
            raise ConfigError(
                f"session {session!r}: Sync(install_project=False) leaves out one member, but "
                "the union session installs them all",
                hint="use it on member sessions (members=..., union=None)",
            )
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
        for group in sync.only_groups:
            args += ["--only-group", group]
        if sync.all_groups:
            args.append("--all-groups")
        if not sync.default_groups and not sync.only_groups:
            args.append("--no-default-groups")
        if not sync.install_project:
            args.append("--no-install-project")
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
        args += sync.uv_sync_flags
        return args

    def selection(self, environment: Mapping[str, str] | None) -> Selection:
        """The lock walk's twin of :meth:`uv_sync_args`, for one marker environment.

        uv reads default groups from ``pyproject.toml`` (the member's for one ``--package``,
        the root's for ``--all-packages``), not from ``uv.lock``, so they come from the
        workspace here. Tool groups are not part of it: uv cannot express them in one sync.
        """
        from nox_workspace._walk import Selection, frozen_environment

        sync = self.sync
        members = () if self.all_packages else (self.member.name,)
        return Selection(
            members=members,
            all_packages=self.all_packages,
            extras=tuple(sync.extras),
            all_extras=sync.all_extras,
            groups=tuple(sync.only_groups or sync.groups),
            default_groups=self.default_groups,
            all_groups=sync.all_groups,
            only_groups=bool(sync.only_groups),
            install_project=sync.install_project,
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
    for entry in sync.requirements:
        if entry.startswith("-r") and not (member.path / entry[2:].strip()).is_file():
            raise ConfigError(
                f"session {session!r} installs {entry!r}, but member {member.name!r} has no "
                "such file",
                path=member.pyproject,
                hint="the file is relative to the member's folder",
            )
    for group in (*sync.groups, *sync.only_groups):
        if group in member.dependency_groups or group in workspace.root_groups:
            continue
        if member.is_root:
            # A fresh `uv init` workspace: the root has [project], so it is a member too.
            raise ConfigError(
                f"session {session!r} asks for group {group!r}, which the workspace root "
                f"does not define; the root is itself a member ({member.name!r}), so it gets "
                "a session too",
                path=member.pyproject,
                hint="add `skip = true` under [tool.nox-workspace] in the root pyproject.toml, "
                "or pass members=[...] to the decorator",
            )
        raise ConfigError(
            f"session {session!r} asks for group {group!r}, which neither member "
            f"{member.name!r} nor the workspace root defines",
            path=member.pyproject,
            hint="add the group, or change the groups for this member under [tool.nox-workspace]",
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
    for group in (*sync.groups, *sync.only_groups):
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
