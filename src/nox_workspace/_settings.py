"""``[tool.nox-workspace]``: parsed once, when the workspace is discovered, into frozen values.

A member's table changes that member's generated sessions (``skip``, ``groups``, ``extras``,
and the same per session under ``sessions.NAME``) and says what they read outside the
member's folder: ``tests`` (where its tests live, for example under the root's ``tests/``)
and ``paths`` (globs of other files its sessions read); both are relative to the member's
folder and feed the affected-session planner and the row keys. The root's table also holds
``global``, the globs of files that affect every member, and ``global-tables``, the tables of
the root ``pyproject.toml`` that count as global beyond the ones uv and the test runner read.
A virtual root is not a member, so its table holds those two only. Every key is checked
here, in members and in the root alike: an unknown key or a wrong type is a
:class:`~nox_workspace.ConfigError` naming the file, before any session is registered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from packaging.utils import canonicalize_name

from nox_workspace._errors import ConfigError

__all__ = ["Overrides", "Settings", "parse_settings"]

#: Keys of a member's ``[tool.nox-workspace]`` (``global`` only in the root).
MEMBER_KEYS = frozenset({"skip", "groups", "extras", "tests", "paths", "sessions"})
#: Keys of ``[tool.nox-workspace.sessions.NAME]``.
SESSION_KEYS = frozenset({"skip", "groups", "extras", "tests", "paths"})
#: Keys only the workspace root's ``[tool.nox-workspace]`` holds.
_ROOT_KEYS = frozenset({"global", "global-tables"})
_TABLE = "[tool.nox-workspace]"
_EMPTY: Mapping[str, Overrides] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class Overrides:
    """One layer of settings: the member-wide one, or one session's.

    ``skip`` is ``True`` (skip every session) or the names of the sessions to skip;
    ``groups`` and ``extras`` replace the decorator's when they are not ``None``. ``tests``
    (paths) and ``paths`` (globs), relative to the member's folder, replace the layer before
    when they are not ``None``.
    """

    skip: bool | tuple[str, ...] = False
    groups: tuple[str, ...] | None = None
    extras: tuple[str, ...] | None = None
    tests: tuple[str, ...] | None = None
    paths: tuple[str, ...] | None = None

    def skips(self, session: str) -> bool:
        """Whether this layer skips the session called ``session``."""
        return self.skip is True or (isinstance(self.skip, tuple) and session in self.skip)


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """A ``pyproject.toml``'s ``[tool.nox-workspace]``, checked; empty when there is none.

    ``member`` applies to every session of the member, ``sessions`` to one session each (after
    ``member``); ``global_globs`` and ``global_tables`` (dotted table names such as
    ``tool.hatch``) exist only in the workspace root.
    """

    member: Overrides = Overrides()
    sessions: Mapping[str, Overrides] = field(default_factory=lambda: _EMPTY, hash=False)
    global_globs: tuple[str, ...] = ()
    global_tables: tuple[str, ...] = ()

    def layers(self, session: str) -> tuple[Overrides, ...]:
        """The layers that apply to ``session``, in the order they apply."""
        layer = self.sessions.get(session)
        return (self.member,) if layer is None else (self.member, layer)

    def tests(self, session: str) -> tuple[str, ...]:
        """Where ``session``'s tests live, relative to the member's folder (the last layer
        that says so wins; none by default)."""
        found: tuple[str, ...] = ()
        for layer in self.layers(session):
            if layer.tests is not None:
                found = layer.tests
        return found

    def paths(self, session: str) -> tuple[str, ...]:
        """Globs of the other files ``session`` reads, relative to the member's folder."""
        found: tuple[str, ...] = ()
        for layer in self.layers(session):
            if layer.paths is not None:
                found = layer.paths
        return found


def parse_settings(
    data: Mapping[str, Any], source: Path, *, is_root: bool, is_member: bool
) -> Settings:
    """Check and parse the ``[tool.nox-workspace]`` table of the parsed ``pyproject.toml``.

    ``is_root``: the file is the workspace root's (which may hold ``global``); ``is_member``:
    it is a member's (which may hold the session settings). A virtual root is root only.
    """
    tool = data.get("tool")
    table = tool.get("nox-workspace") if isinstance(tool, Mapping) else None
    if table is None:
        return Settings()
    if not isinstance(table, Mapping):
        raise ConfigError(f"{_TABLE} must be a table", path=source, hint="fix its type")
    allowed = (MEMBER_KEYS if is_member else frozenset()) | (_ROOT_KEYS if is_root else frozenset())
    for key in table:
        if key in allowed:
            continue
        if key in _ROOT_KEYS:
            hint = "move it to the workspace root's pyproject.toml"
            raise ConfigError(
                f"{_TABLE} {key} belongs in the workspace root", path=source, hint=hint
            )
        if key in MEMBER_KEYS:
            raise ConfigError(
                f"{_TABLE} {key} is a member setting, but this virtual root is not a member",
                path=source,
                hint="put it in the members' pyproject.toml files",
            )
        raise ConfigError(
            f"{_TABLE} has unknown key {key!r}",
            path=source,
            hint="known keys: " + ", ".join(sorted(allowed)),
        )
    sessions = table.get("sessions", {})
    if not isinstance(sessions, Mapping):
        raise ConfigError(
            "[tool.nox-workspace.sessions] must be a table of session names",
            path=source,
            hint="write [tool.nox-workspace.sessions.NAME]",
        )
    per_session: dict[str, Overrides] = {}
    for name, layer in sessions.items():
        where = f"[tool.nox-workspace.sessions.{name}]"
        if not isinstance(layer, Mapping) or set(layer) - SESSION_KEYS:
            raise ConfigError(
                f"{where} takes only " + ", ".join(sorted(SESSION_KEYS)),
                path=source,
                hint="fix the table",
            )
        per_session[name] = _overrides(layer, source, where)
    return Settings(
        member=_overrides(table, source, _TABLE),
        sessions=MappingProxyType(per_session),
        global_globs=_globs(table.get("global", []), source),
        global_tables=_tables(table.get("global-tables", []), source),
    )


def _overrides(table: Mapping[str, Any], source: Path, where: str) -> Overrides:
    skip = table.get("skip", False)
    if isinstance(skip, list) and all(isinstance(item, str) for item in skip):
        skip = tuple(skip)
    elif not isinstance(skip, bool):
        raise ConfigError(
            f"{where} skip must be true, false or a list of session names",
            path=source,
            hint='e.g. skip = ["lint"]',
        )
    return Overrides(
        skip=skip,
        groups=_names(table.get("groups"), "groups", source, where),
        extras=_names(table.get("extras"), "extras", source, where),
        tests=_relative(table.get("tests"), "tests", source, where),
        paths=_relative(table.get("paths"), "paths", source, where),
    )


def _relative(value: object, key: str, source: Path, where: str) -> tuple[str, ...] | None:
    """Paths or globs relative to the member's folder, written with ``/``."""
    if value is None:
        return None
    example = f'e.g. {key} = ["../../tests/graph"]'
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ConfigError(
            f"{where} {key} must be a list of paths relative to the member",
            path=source,
            hint=example,
        )
    for item in value:
        if item.startswith("/") or "\\" in item or (len(item) > 1 and item[1] == ":"):
            raise ConfigError(
                f"{where} {key} holds {item!r}, which is not a relative path with /",
                path=source,
                hint=example,
            )
    return tuple(dict.fromkeys(value))


def _names(value: object, key: str, source: Path, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(
            f"{where} {key} must be a list of strings", path=source, hint=f'e.g. {key} = ["test"]'
        )
    return tuple(dict.fromkeys(canonicalize_name(item) for item in value))


def _globs(value: object, source: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(
            f"{_TABLE} global must be a list of path globs",
            path=source,
            hint='e.g. global = ["noxfile.py", ".github/workflows/**"]',
        )
    return tuple(value)


def _tables(value: object, source: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ConfigError(
            f"{_TABLE} global-tables must be a list of dotted table names",
            path=source,
            hint='e.g. global-tables = ["tool.hatch"]',
        )
    return tuple(dict.fromkeys(value))
