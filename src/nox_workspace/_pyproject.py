"""Reading the tables of one ``pyproject.toml`` as uv reads them, into plain values.

Discovery (``_workspace``) calls these for the root and each member: each checks a table's
type and names (as uv does) and raises a one-line :class:`~nox_workspace.DiscoveryError`
naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from nox_workspace._errors import DiscoveryError

__all__ = [
    "REQUIREMENT_NAME",
    "check_name",
    "default_groups",
    "dependency_groups",
    "get_table",
    "optional_dependencies",
    "project_name",
    "requires_python",
    "string_list",
    "uv_sources",
    "valid_specifier",
]

#: The distribution name at the start of a PEP 508 requirement.
REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


def get_table(data: Mapping[str, Any], *keys: str, source: Path) -> Mapping[str, Any] | None:
    """The nested table at ``keys``, ``None`` when absent; an error when it is not a table."""
    current: Any = data
    for depth, key in enumerate(keys):
        current = current.get(key)
        if current is None:
            return None
        if type(current) is not dict and not isinstance(current, Mapping):
            dotted = ".".join(keys[: depth + 1])
            raise DiscoveryError(f"[{dotted}] must be a table", path=source, hint="fix its type")
    table: Mapping[str, Any] = current
    return table


def string_list(value: Any, what: str, source: Path) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DiscoveryError(f"{what} must be a list of strings", path=source, hint="fix its type")
    return list(value)


def project_name(data: Mapping[str, Any], source: Path) -> str:
    """The normalized ``project.name``; uv refuses a project without a valid name or a
    version (``project.version``, or ``version`` in ``project.dynamic``)."""
    project = get_table(data, "project", source=source) or {}
    name = project.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DiscoveryError(
            "[project] has no name", path=source, hint='add name = "..." under [project]'
        )
    check_name(name, "project.name", source)
    dynamic = project.get("dynamic")
    if "version" not in project and not (isinstance(dynamic, list) and "version" in dynamic):
        raise DiscoveryError(
            "[project] has no version and does not list it in project.dynamic",
            path=source,
            hint='add version = "0.1.0" under [project]',
        )
    return canonicalize_name(name)


#: A valid package, extra or group name (PEP 508), as uv checks it.
_VALID_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


def check_name(name: str, what: str, source: Path) -> None:
    if not _VALID_NAME.fullmatch(name):
        raise DiscoveryError(
            f"{what} {name!r} is not a valid name",
            path=source,
            hint="a name starts and ends with a letter or digit and holds only letters, "
            "digits, '-', '_' and '.'",
        )


def uv_sources(data: Mapping[str, Any], source: Path) -> dict[str, bool]:
    """``tool.uv.sources``: normalized name -> whether it is ``{ workspace = true }``."""
    table = get_table(data, "tool", "uv", "sources", source=source) or {}
    result: dict[str, bool] = {}
    for name, value in table.items():
        entries = value if isinstance(value, list) else [value]
        result[canonicalize_name(name)] = any(
            isinstance(entry, Mapping) and entry.get("workspace") is True for entry in entries
        )
    return result


def dependency_groups(data: Mapping[str, Any], source: Path) -> dict[str, tuple[str, ...]]:
    """``[dependency-groups]`` (with ``include-group`` expanded) plus legacy dev-dependencies."""
    table = get_table(data, "dependency-groups", source=source) or {}
    for name in table:
        check_name(name, "dependency group", source)
    raw: dict[str, Any] = {canonicalize_name(name): value for name, value in table.items()}
    uv_table = get_table(data, "tool", "uv", source=source) or {}
    legacy = string_list(uv_table.get("dev-dependencies"), "tool.uv.dev-dependencies", source)
    if legacy:
        raw["dev"] = [*legacy, *(raw.get("dev") or [])]

    def expand(group: str, trail: tuple[str, ...]) -> list[str]:
        if group in trail:
            chain = " -> ".join((*trail, group))
            raise DiscoveryError(
                f"dependency groups include each other in a cycle: {chain}",
                path=source,
                hint="remove one include-group",
            )
        entries = raw.get(group)
        if not isinstance(entries, list):
            raise DiscoveryError(
                f"dependency group {group!r} is missing or not a list",
                path=source,
                hint="define it as a list of requirements",
            )
        out: list[str] = []
        for entry in entries:
            if isinstance(entry, str):
                out.append(entry)
            elif isinstance(entry, Mapping) and isinstance(entry.get("include-group"), str):
                out.extend(expand(canonicalize_name(entry["include-group"]), (*trail, group)))
            else:
                raise DiscoveryError(
                    f"dependency group {group!r} has an entry that is neither a requirement "
                    "nor {include-group = ...}",
                    path=source,
                    hint="fix the entry",
                )
        return out

    return {group: tuple(expand(group, ())) for group in raw}


@cache
def valid_specifier(text: str) -> bool:
    """Whether ``text`` is a valid version specifier (members usually share one)."""
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        return False
    return True


def default_groups(uv_table: Mapping[str, Any], source: Path) -> tuple[str, ...] | Literal["all"]:
    """``[tool.uv] default-groups``: uv's default is ``["dev"]``."""
    raw = uv_table.get("default-groups")
    if raw is None:
        return ("dev",)
    if raw == "all":
        return "all"
    return tuple(
        canonicalize_name(group) for group in string_list(raw, "tool.uv.default-groups", source)
    )


def requires_python(project: Mapping[str, Any], source: Path) -> str | None:
    """``project.requires-python``, checked: a string that is a valid specifier, or absent."""
    value = project.get("requires-python")
    if value is None:
        return None
    if not isinstance(value, str):
        raise DiscoveryError(
            "project.requires-python must be a string", path=source, hint='e.g. ">=3.10"'
        )
    if not valid_specifier(value):
        raise DiscoveryError(
            f"project.requires-python {value!r} is not a valid specifier",
            path=source,
            hint='write it like ">=3.10"',
        )
    return value


def optional_dependencies(data: Mapping[str, Any], source: Path) -> dict[str, tuple[str, ...]]:
    """``[project.optional-dependencies]``: normalized extra name -> its requirements."""
    table = get_table(data, "project", "optional-dependencies", source=source) or {}
    for extra in table:
        check_name(extra, "extra", source)
    return {
        canonicalize_name(extra): tuple(
            string_list(reqs, f"project.optional-dependencies.{extra}", source)
        )
        for extra, reqs in table.items()
    }
