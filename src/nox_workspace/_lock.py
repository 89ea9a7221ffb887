"""Read ``uv.lock`` into a :class:`Lock`: the model, its parsing, and one cached reader.

nox-workspace needs a lock's closures to build one environment per member, to tell which
members a lock change affects, and to name the packages an environment holds that the lock
does not give it. This module reads the file (through ``_toml``, once per file state), checks its
shape, and indexes it (``_index``); the closures themselves are the walk's (``_walk``), which
:class:`Lock` offers as methods.

A malformed lock is a :class:`LockError` that names the key path of each problem, e.g.
``uv.lock: package[12].dependencies[0] has no 'name'; run `uv lock` ...``: the shape is checked
only when indexing fails, so a well-formed lock pays nothing for it.

Performance matters because every session's leak check and every CI plan reads the lock
(listing sessions never does): ``tomllib`` parses a 1.5 MB lock in about 0.1 s, and indexing
plus the closures of every member add a few percent to that (``benchmarks/bench_lock.py``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from nox_workspace._errors import LockError
from nox_workspace._index import (
    RELOCK_HINT,
    SOURCE_KINDS,
    LockedPackage,
    LockIndex,
    index_lock,
)
from nox_workspace._markers import clear_caches
from nox_workspace._toml import loads_toml
from nox_workspace._walk import (
    ALL,
    UV_DEFAULT_GROUPS,
    Selection,
    frozen_environment,
    member_edges,
    member_number,
    walk,
)

__all__ = [
    "ALL",
    "SOURCE_KINDS",
    "SUPPORTED_LOCK_VERSION",
    "UV_DEFAULT_GROUPS",
    "Lock",
    "LockedPackage",
    "clear_lock_cache",
    "parse_lock",
    "read_lock",
]

#: The only ``uv.lock`` schema ``version`` this module reads; ``revision`` may be anything.
SUPPORTED_LOCK_VERSION: Final = 1

#: How many problems of a malformed lock one error names.
_MAX_PROBLEMS: Final = 3


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class Lock:
    """A parsed ``uv.lock``: what it pins, and the closures of its members.

    Build it with :func:`read_lock` (cached per file) or :func:`parse_lock` (from a mapping).
    ``members`` are the workspace members named by ``[manifest] members`` (or the root project
    alone when the lock has no such list, as uv writes it for a single-project workspace).
    ``packages`` lists every locked package in file order; ``root`` is the root project's
    name when the root is a member. ``index`` is the graph the walk reads.
    """

    path: Path
    version: int
    revision: int
    requires_python: str | None
    members: tuple[str, ...]
    packages: tuple[LockedPackage, ...]
    root: str | None
    index: LockIndex

    def groups_of(self, member: str) -> frozenset[str]:
        """The dependency groups a member defines (empty ones included)."""
        return self.index.group_names[member_number(self.index, member)]

    def extras_of(self, member: str) -> frozenset[str]:
        """The extras (optional dependencies) a member defines."""
        return self.index.extra_names[member_number(self.index, member)]

    @property
    def root_groups(self) -> frozenset[str]:
        """The groups of the workspace root: its own if it is a member, else the manifest's."""
        return self.index.root_groups

    def select(self, selection: Selection) -> tuple[LockedPackage, ...]:
        """The packages a sync of ``selection`` installs, sorted by name (see ``_walk``)."""
        return walk(self.index, selection)

    def closure(
        self,
        members: str | Sequence[str],
        *,
        extras: Sequence[str] = (),
        all_extras: bool = False,
        groups: Sequence[str] = (),
        default_groups: Sequence[str] | Literal["all"] | None = None,
        all_groups: bool = False,
        only_groups: bool = False,
        environment: Mapping[str, object] | None = None,
        install_members: bool = True,
    ) -> tuple[LockedPackage, ...]:
        """The packages ``uv sync --package M [--package N ...]`` installs, sorted by name.

        ``members`` are the ``--package`` targets (one name or several); the other options
        mean what the fields of :class:`~nox_workspace._walk.Selection` mean, and
        ``environment`` is a PEP 508 marker environment (``None``: every platform).

        Raises :class:`LockError` when a target is not a member of the lock, a requested
        extra or group exists nowhere, or the selection activates a declared conflict.
        """
        names = (members,) if isinstance(members, str) else tuple(members)
        if not names:
            raise ValueError("closure() needs at least one member; use all_packages_closure()")
        return self.select(
            Selection(
                members=names,
                extras=tuple(extras),
                all_extras=all_extras,
                groups=tuple(groups),
                default_groups=_defaults(default_groups),
                all_groups=all_groups,
                only_groups=only_groups,
                environment=frozen_environment(environment),
                install_members=install_members,
            )
        )

    def all_packages_closure(
        self,
        *,
        extras: Sequence[str] = (),
        all_extras: bool = False,
        groups: Sequence[str] = (),
        default_groups: Sequence[str] | Literal["all"] | None = None,
        all_groups: bool = False,
        only_groups: bool = False,
        environment: Mapping[str, object] | None = None,
        install_members: bool = True,
    ) -> tuple[LockedPackage, ...]:
        """The packages ``uv sync --all-packages`` installs: every member, as several targets.

        The options mean what they mean for :meth:`closure`; ``default_groups`` are the names
        of the workspace root's ``[tool.uv] default-groups`` (uv reads them once and applies
        them to every member). A virtual root's own groups of the selected names are included.
        """
        return self.select(
            Selection(
                all_packages=True,
                extras=tuple(extras),
                all_extras=all_extras,
                groups=tuple(groups),
                default_groups=_defaults(default_groups),
                all_groups=all_groups,
                only_groups=only_groups,
                environment=frozen_environment(environment),
                install_members=install_members,
            )
        )

    def root_groups_closure(
        self, groups: Sequence[str], *, environment: Mapping[str, object] | None = None
    ) -> tuple[LockedPackage, ...]:
        """The workspace root's dependency ``groups`` alone (``uv export --only-group``).

        For a root that is a member these are its own groups; for a virtual root, the groups
        of ``[manifest.dependency-groups]``. No member's group of the same name is used.
        """
        return self.select(
            Selection(
                groups=tuple(groups),
                default_groups=(),
                only_groups=True,
                environment=frozen_environment(environment),
            )
        )

    def member_edges(self) -> tuple[tuple[str, str, str, str | None], ...]:
        """Edges between workspace members as locked: ``(source, target, kind, via)``.

        ``kind`` is ``dependency``, ``extra`` (``via`` names the extra) or ``group``. The lock
        knows these even for a member whose ``pyproject.toml`` declares its dependencies
        ``dynamic`` (filled in by its build backend), where the file alone cannot tell.
        """
        return member_edges(self.index)


def _defaults(
    default_groups: Sequence[str] | Literal["all"] | None,
) -> tuple[str, ...] | Literal["all"] | None:
    """``default_groups`` as a :class:`Selection` holds it (a string is checked by the walk)."""
    if default_groups is None or isinstance(default_groups, str):
        return default_groups  # type: ignore[return-value]
    return tuple(default_groups)


# --------------------------------------------------------------------------------------------
# Parsing


def parse_lock(data: Mapping[str, Any], path: Path) -> Lock:
    """Build a :class:`Lock` from the mapping ``tomllib`` made of ``path``.

    Pure: reads nothing from disk. Unknown keys and any ``revision`` are accepted; a schema
    ``version`` other than :data:`SUPPORTED_LOCK_VERSION` or a malformed structure raises
    :class:`LockError` naming the file and the key path of each problem.
    """
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise LockError(
            "has no integer schema `version`; this is not a uv lock file",
            path=path,
            hint=RELOCK_HINT,
        )
    if version != SUPPORTED_LOCK_VERSION:
        raise LockError(
            f"uses lock schema version {version}, but nox-workspace reads version "
            f"{SUPPORTED_LOCK_VERSION}",
            path=path,
            hint="upgrade nox-workspace, or lock with a uv release that writes version 1",
        )
    try:
        index = index_lock(data, path)
        root = index.root_index
        return Lock(
            path=path,
            version=version,
            revision=int(data.get("revision", 0)),
            requires_python=data.get("requires-python"),
            members=index.members,
            packages=index.packages,
            root=index.packages[root].name if root is not None else None,
            index=index,
        )
    except LockError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as error:
        # The fast path trusts the shape uv writes; only when that fails is it described.
        problems = shape_problems(data) or ["has a value of an unexpected type"]
        shown = "; ".join(problems[:_MAX_PROBLEMS])
        if len(problems) > _MAX_PROBLEMS:
            shown += f" (and {len(problems) - _MAX_PROBLEMS} more)"
        raise LockError(shown, path=path, hint=RELOCK_HINT) from error


# --------------------------------------------------------------------------------------------
# Describing a malformed lock


def shape_problems(data: Mapping[str, Any]) -> list[str]:
    """Every place where ``data`` does not have the shape of a uv lock, as key paths.

    ``package[12].dependencies[0] has no 'name'``, ``manifest.members[1] is not a string``:
    one entry per problem, in file order. Empty for a lock of the right shape.
    """
    found: list[str] = []
    _integer(found, "revision", data.get("revision", 0))
    if data.get("requires-python") is not None:
        _string(found, "requires-python", data["requires-python"])
    for number, package in enumerate(_array(found, "package", data.get("package", []))):
        _package_problems(found, f"package[{number}]", package)
    manifest = _table(found, "manifest", data.get("manifest", {}))
    for position, member in enumerate(
        _array(found, "manifest.members", manifest.get("members", []))
    ):
        _string(found, f"manifest.members[{position}]", member)
    _requirements(found, "manifest.requirements", manifest.get("requirements", []))
    groups = _table(found, "manifest.dependency-groups", manifest.get("dependency-groups", {}))
    for group, requirements in groups.items():
        _requirements(found, f"manifest.dependency-groups.{group}", requirements)
    for number, conflict in enumerate(_array(found, "conflicts", data.get("conflicts", []))):
        for position, item in enumerate(_array(found, f"conflicts[{number}]", conflict)):
            where = f"conflicts[{number}][{position}]"
            _strings_at(found, where, _table(found, where, item), ("package", "extra", "group"))
    return found


def _package_problems(found: list[str], where: str, value: object) -> None:
    package = _table(found, where, value)
    if not package:
        return
    _edge(found, where, package, extras="")
    for position, edge in enumerate(
        _array(found, f"{where}.dependencies", package.get("dependencies", []))
    ):
        _edge(found, f"{where}.dependencies[{position}]", edge, extras="extra")
    for key in ("optional-dependencies", "dev-dependencies"):
        for name, edges in _table(found, f"{where}.{key}", package.get(key, {})).items():
            for position, edge in enumerate(_array(found, f"{where}.{key}.{name}", edges)):
                _edge(found, f"{where}.{key}.{name}[{position}]", edge, extras="extra")
    metadata = _table(found, f"{where}.metadata", package.get("metadata", {}))
    _table(found, f"{where}.metadata.requires-dev", metadata.get("requires-dev", {}))
    _strings(found, f"{where}.metadata.provides-extras", metadata.get("provides-extras", []))
    for key in ("resolution-markers", "fork-markers"):
        if key in package:
            _strings(found, f"{where}.{key}", package[key])


def _edge(found: list[str], where: str, value: object, *, extras: str) -> None:
    """A package, dependency edge or requirement: a table with a string ``name``."""
    edge = _table(found, where, value)
    if not isinstance(value, dict):
        return
    if "name" not in edge:
        found.append(f"{where} has no 'name'")
    _strings_at(found, where, edge, ("name", "marker", "version"))
    if "source" in edge:
        _table(found, f"{where}.source", edge["source"])
    if extras and extras in edge:
        _strings(found, f"{where}.{extras}", edge[extras])


def _requirements(found: list[str], where: str, value: object) -> None:
    for position, requirement in enumerate(_array(found, where, value)):
        _edge(found, f"{where}[{position}]", requirement, extras="extras")


def _table(found: list[str], where: str, value: object) -> Mapping[str, Any]:
    """``value`` if it is a table; else the problem is recorded and an empty table returned."""
    if isinstance(value, dict):
        return value
    found.append(f"{where} is not a table")
    return {}


def _array(found: list[str], where: str, value: object) -> list[Any]:
    """``value`` if it is an array; else the problem is recorded and an empty array returned."""
    if isinstance(value, list):
        return value
    found.append(f"{where} is not an array")
    return []


def _string(found: list[str], where: str, value: object) -> None:
    if not isinstance(value, str):
        found.append(f"{where} is not a string")


def _integer(found: list[str], where: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        found.append(f"{where} is not an integer")


def _strings(found: list[str], where: str, value: object) -> None:
    for position, item in enumerate(_array(found, where, value)):
        _string(found, f"{where}[{position}]", item)


def _strings_at(
    found: list[str], where: str, table: Mapping[str, Any], keys: Sequence[str]
) -> None:
    """The ``keys`` of ``table`` that are present hold strings."""
    for key in keys:
        if key in table:
            _string(found, f"{where}.{key}", table[key])


# --------------------------------------------------------------------------------------------
# Reading, cached per file


_CACHE: dict[Path, tuple[int, int, Lock]] = {}
_CACHE_LOCK = threading.Lock()


def read_lock(path: Path | str) -> Lock:
    """Read and index ``uv.lock`` at ``path``, once per process per file state.

    The result is cached on the resolved path, the modification time (ns) and the size, so
    every caller in one process (noxfile loading, sessions, the CLI) shares one parse; a
    rewritten lock is read again. Errors are :class:`LockError` with a one-line message:
    a missing file, bytes that are not UTF-8, TOML that does not parse, or an unknown schema.
    """
    path = Path(path)
    key = path.resolve()
    try:
        with open(key, "rb") as handle:
            stat = os.fstat(handle.fileno())
            with _CACHE_LOCK:
                cached = _CACHE.get(key)
            if cached is not None and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
                return cached[2]
            raw = handle.read()
    except FileNotFoundError:
        raise LockError(
            "does not exist",
            path=path,
            hint="run `uv lock` in the workspace root to create it",
        ) from None
    except IsADirectoryError:
        raise LockError("is a directory, not a lock file", path=path) from None
    except OSError as error:
        raise LockError(f"cannot be read ({error.strerror})", path=path) from None
    lock = _load(raw, path)
    with _CACHE_LOCK:
        _CACHE[key] = (stat.st_mtime_ns, stat.st_size, lock)
    return lock


def _load(raw: bytes, path: Path) -> Lock:
    data = loads_toml(raw, LockError, display=path, hint=RELOCK_HINT)
    return parse_lock(data, path)


def clear_lock_cache() -> None:
    """Forget every lock :func:`read_lock` cached, and every compiled marker.

    For tests, benchmarks that want a cold start, and long-lived processes.
    """
    with _CACHE_LOCK:
        _CACHE.clear()
    clear_caches()
