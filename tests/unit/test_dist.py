"""Versions read from ``*.dist-info`` folder names agree with ``importlib.metadata``."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import nox
import packaging
import pytest

import nox_workspace
from nox_workspace._dist import installed_version, split_dist_info


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("nox-2026.10.20.dist-info", ("nox", "2026.10.20")),
        ("tox_uv-1.37.1.dist-info", ("tox-uv", "1.37.1")),
        ("Foo.Bar-1.0+local.dist-info", ("foo-bar", "1.0+local")),
        ("nodash.dist-info", None),
        ("-1.0.dist-info", None),
        ("name-.dist-info", None),
        ("foo-1.0.egg-info", None),
        ("foo-1.0.dist-info.bak", None),
    ],
)
def test_split_dist_info(folder: str, expected: tuple[str, str] | None) -> None:
    """The name is normalized and the version is everything after the first dash."""
    assert split_dist_info(folder) == expected


@pytest.mark.parametrize("module", [nox, packaging, pytest], ids=lambda m: m.__name__)
def test_installed_version_agrees_with_importlib_metadata(module: object) -> None:
    """For wheels installed in this venv, one folder listing gives metadata's answer."""
    name = module.__name__  # type: ignore[attr-defined]
    package = Path(module.__file__).parent  # type: ignore[attr-defined]
    assert installed_version(name, package) == metadata.version(name)


def test_installed_version_reads_the_folder_not_metadata(tmp_path: Path) -> None:
    """The folder name decides: a dist-info folder beside the package is enough."""
    (tmp_path / "thing").mkdir()
    (tmp_path / "Thing-3.1.dist-info").mkdir()
    assert installed_version("thing", tmp_path / "thing") == "3.1"


def test_installed_version_falls_back_to_metadata(tmp_path: Path) -> None:
    """Without a dist-info folder beside the package (an editable install), metadata answers;
    a distribution that is not installed at all (its folder gone too) raises metadata's own
    error."""
    source = Path(nox_workspace.__file__).parent
    assert installed_version("nox-workspace", source) == metadata.version("nox-workspace")
    with pytest.raises(metadata.PackageNotFoundError):
        installed_version("surely-not-installed-anywhere", tmp_path / "gone" / "pkg")
