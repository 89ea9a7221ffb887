"""Installed distributions by their ``*.dist-info`` folder names: the one home of that rule.

A wheel installs ``<name>-<version>.dist-info`` beside its packages, with the name escaped
(``-`` and ``.`` become ``_``), so the folder name alone gives both. Reading it is one folder
listing; ``importlib.metadata`` searches every entry of ``sys.path`` and parses the metadata
file (2.5 ms, 12 ms when it is the process's first lookup), which every Nox process of a
session would pay for the versions of Nox and uv.
"""

from __future__ import annotations

import os
from pathlib import Path

from packaging.utils import canonicalize_name

__all__ = ["installed_version", "split_dist_info"]

_SUFFIX = ".dist-info"


def split_dist_info(folder: str) -> tuple[str, str] | None:
    """``(normalized name, version)`` of a ``*.dist-info`` folder name, else ``None``."""
    if not folder.endswith(_SUFFIX):
        return None
    stem, dash, version = folder[: -len(_SUFFIX)].partition("-")
    if not dash or not stem or not version:
        return None
    return canonicalize_name(stem), version


def installed_version(name: str, package: Path) -> str:
    """The version of distribution ``name`` whose import package is the folder ``package``.

    Read from the ``*.dist-info`` folder beside the package; when there is none (an editable
    or unusual install), from ``importlib.metadata``, which raises
    ``importlib.metadata.PackageNotFoundError`` when the distribution is not installed.
    """
    wanted = canonicalize_name(name)
    try:
        with os.scandir(package.parent) as entries:
            for entry in entries:
                found = split_dist_info(entry.name)
                if found is not None and found[0] == wanted:
                    return found[1]
    except OSError:
        pass
    from importlib import metadata

    return metadata.version(name)
