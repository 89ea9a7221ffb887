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

from nox_workspace._dist import split_dist_info

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
        """Every distribution uv counts as installed: normalized name -> version.

        Beyond ``*.dist-info`` (wheels, and editable installs by PEP 660), uv also counts
        legacy installs: ``*.egg-info`` folders or files (``setup.py install``, old pip) and
        ``*.egg-link`` files (``setup.py develop``), whose metadata sits in the linked source
        folder. A version that neither the entry's name nor its metadata gives is
        ``"unknown"``: the distribution is still there, and still counts. An ``*.egg-link``
        that points nowhere readable is not an installed distribution (uv lists none).
        Nothing is imported and no interpreter starts: the listing is a directory scan, plus
        one small file read per legacy entry without a version in its name.
        """
        found: dict[str, str] = {}
        legacy: list[tuple[str, str]] = []
        for folder in self.site_packages():
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                name = entry.name
                wheel = split_dist_info(name)
                if wheel is not None:
                    found[wheel[0]] = wheel[1]
                elif name.endswith((".egg-info", ".egg-link")):
                    legacy.append((name, entry.path))
        for name, path in legacy:
            dist, version = _legacy_distribution(name, Path(path))
            if dist:
                found.setdefault(canonicalize_name(dist), version)
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


def _legacy_distribution(name: str, path: Path) -> tuple[str, str]:
    """(name, version) of an ``*.egg-info`` entry or an ``*.egg-link`` file; ``("", "")`` when
    an ``*.egg-link`` points nowhere readable.

    ``NAME-VERSION-pyX.Y.egg-info`` carries both in its name; ``NAME.egg-info`` (and every
    egg link) needs its ``PKG-INFO`` read. Egg names escape ``-`` as ``_``, which
    normalization undoes.
    """
    stem, _, suffix = name.rpartition(".")
    parts = stem.split("-")
    if suffix == "egg-info" and len(parts) >= 2:
        return parts[0], parts[1]
    if suffix == "egg-info":
        info = path / "PKG-INFO" if path.is_dir() else path
        return parts[0], _pkg_info_version(info)
    try:
        target = Path(path.read_text(encoding="utf-8").splitlines()[0].strip())
    except (OSError, IndexError, UnicodeDecodeError):
        return "", ""
    if not target.is_absolute():
        target = path.parent / target
    # A link is named after the project as it is (``my-pkg.egg-link``); its egg-info folder
    # escapes ``-`` (``my_pkg.egg-info``).
    wanted = canonicalize_name(stem)
    for info in sorted(target.glob("*.egg-info")):
        if canonicalize_name(info.name[: -len(".egg-info")].split("-")[0]) == wanted:
            return stem, _pkg_info_version(info / "PKG-INFO" if info.is_dir() else info)
    return "", ""


def _pkg_info_version(path: Path) -> str:
    """The ``Version:`` header of a ``PKG-INFO`` file, or ``"unknown"``."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("Version:"):
                    return line.partition(":")[2].strip() or "unknown"
                if not line.strip():
                    break
    except OSError:
        pass
    return "unknown"
