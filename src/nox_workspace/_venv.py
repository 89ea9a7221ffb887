"""What a virtual environment holds, read from its files without starting its interpreter.

Reading the names in ``site-packages`` and ``pyvenv.cfg`` costs a directory listing; starting
the venv's Python costs tens of milliseconds. The leak report and its cache key need only
names and versions, so they read files: every ``*.dist-info``, ``*.egg-info`` and
``*.egg-link`` entry, as uv sees them.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import default_environment
from packaging.utils import canonicalize_name

__all__ = ["SEED_PACKAGES", "Venv"]

#: Distributions virtualenv and ``venv`` seed into every environment; uv keeps them on exact
#: sync. The one home of this list: the leak report allows them, clearing keeps them.
SEED_PACKAGES = frozenset({"pip", "setuptools", "wheel", "distribute"})
#: Files a venv tool writes into ``site-packages`` for the venv itself.
_VENV_FILES = ("_virtualenv.", "__pycache__")
#: What the seed packages put into ``site-packages`` beside their own folders: helper modules
#: and ``.pth`` files (their ``*.dist-info`` folders start with the package names).
_SEED_FILES = (
    *sorted(SEED_PACKAGES),
    "_distutils_hack",
    "pkg_resources",
    "distutils-precedence.pth",
)
#: The suffixes of installed-distribution metadata that uv reads (and removes on exact sync).
_METADATA_SUFFIXES = (".dist-info", ".egg-info", ".egg-link")


@dataclass(frozen=True, slots=True)
class Venv:
    """A virtual environment at ``location``."""

    location: Path

    @property
    def config(self) -> Mapping[str, str]:
        """``pyvenv.cfg`` as a mapping (empty when missing)."""
        try:
            text = (self.location / "pyvenv.cfg").read_text(encoding="utf-8")
        except OSError:
            return {}
        pairs = (line.partition("=") for line in text.splitlines() if "=" in line)
        return {key.strip(): value.strip() for key, _, value in pairs}

    @property
    def python_version(self) -> str:
        """The interpreter's full version, from ``pyvenv.cfg`` (``version_info`` or ``version``)."""
        config = self.config
        return config.get("version_info") or config.get("version") or platform.python_version()

    @property
    def made_by_uv(self) -> bool:
        """Whether uv created the venv (its ``pyvenv.cfg`` says ``uv = ...``)."""
        return "uv" in self.config

    @property
    def python(self) -> Path:
        """The venv's interpreter."""
        if os.name == "nt":  # pragma: no cover - the project is tested on POSIX
            return self.location / "Scripts" / "python.exe"
        return self.location / "bin" / "python"

    def site_packages(self) -> list[Path]:
        """The venv's ``site-packages`` folders (usually one)."""
        if os.name == "nt":  # pragma: no cover
            return [self.location / "Lib" / "site-packages"]
        lib = self.location / "lib"
        try:
            return sorted(
                entry / "site-packages"
                for entry in lib.iterdir()
                if entry.name.startswith(("python", "pypy")) and (entry / "site-packages").is_dir()
            )
        except OSError:
            return []

    def distributions(self) -> dict[str, str]:
        """Installed distributions: normalized name -> version, as uv sees them.

        ``*.dist-info`` and ``*.egg-info`` names carry the version
        (``name-1.0.dist-info``, ``name-1.0-py3.12.egg-info``); an ``*.egg-info`` without one
        and an ``*.egg-link`` (a ``setup.py develop`` install) have it in their ``PKG-INFO``,
        read only then. A version that cannot be read is ``"unknown"``: the distribution is
        still there, and still counts.
        """
        found: dict[str, str] = {}
        for folder in self.site_packages():
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                suffix = next((s for s in _METADATA_SUFFIXES if entry.name.endswith(s)), None)
                if suffix is None:
                    continue
                name, version = _name_and_version(Path(entry.path), suffix)
                if name:
                    found.setdefault(canonicalize_name(name), version)
        return found

    def clear_site_packages(self) -> None:
        """Remove every installed package but the venv's own machinery and seed packages.

        After an interrupted sync a package may be half installed or half removed (a module
        folder without its ``.dist-info``, or the reverse), which uv does not repair; starting
        from an empty ``site-packages`` lets the next sync install everything whole. What the
        venv tool itself put there (``_virtualenv.*``, and for non-uv venvs the seed packages
        pip, setuptools and wheel) stays, so the venv works as before.
        """
        keep = _VENV_FILES if self.made_by_uv else _VENV_FILES + _SEED_FILES
        for folder in self.site_packages():
            for entry in folder.iterdir():
                if entry.name.lower().startswith(keep):
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker values for the venv's interpreter on this machine."""
        environment = {key: str(value) for key, value in default_environment().items()}
        version = self.python_version
        environment["python_full_version"] = version
        environment["python_version"] = ".".join(version.split(".")[:2])
        environment["implementation_version"] = version
        if sys.implementation.name != "cpython":  # pragma: no cover
            environment["implementation_name"] = sys.implementation.name
        return environment


def _name_and_version(path: Path, suffix: str) -> tuple[str, str]:
    """The distribution name and version one metadata entry of ``site-packages`` names."""
    stem = path.name[: -len(suffix)]
    name, _, rest = stem.partition("-")
    version = rest.partition("-")[0]
    if version:
        return name, version
    if suffix == ".egg-link":
        # The first line is the project folder, which holds ``<name>.egg-info``.
        try:
            project = Path(path.read_text(encoding="utf-8").splitlines()[0].strip())
        except (OSError, IndexError, UnicodeDecodeError):
            return name, "unknown"
        infos = sorted(project.glob("*.egg-info")) if project.is_dir() else []
        return name, _pkg_info_version(infos[0]) if infos else "unknown"
    return name, _pkg_info_version(path)


def _pkg_info_version(info: Path) -> str:
    """The ``Version:`` of an ``*.egg-info`` folder's ``PKG-INFO`` (or of the file itself)."""
    source = info / "PKG-INFO" if info.is_dir() else info
    try:
        with source.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("Version:"):
                    return line.partition(":")[2].strip() or "unknown"
                if not line.strip():
                    break
    except OSError:
        pass
    return "unknown"
