"""The distributions we would publish: built by uv, checked by twine and check-wheel-contents.

A release must carry its license and metadata that PyPI accepts; these checks run the same
tools a release job would, on a wheel and an sdist built from this checkout into ``tmp_path``
(the checkout itself stays untouched).
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.support import tool_env, uv_bin

pytestmark = pytest.mark.functional

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel and an sdist of this checkout, built offline with the installed hatchling."""
    out = tmp_path_factory.mktemp("dist")
    env = tool_env(tmp_path_factory.mktemp("uv-cache"))
    subprocess.run(
        [
            *(uv_bin(), "build", "--no-build-isolation", "--python", sys.executable),
            *("--out-dir", str(out), str(REPO)),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    return out


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {folder}, found {found}"
    return found[0]


def test_twine_accepts_the_wheel_and_the_sdist_in_strict_mode(dist: Path) -> None:
    files = [str(_one(dist, "*.whl")), str(_one(dist, "*.tar.gz"))]
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_wheel_holds_only_the_package_and_passes_check_wheel_contents(dist: Path) -> None:
    wheel = _one(dist, "*.whl")
    result = subprocess.run(
        [sys.executable, "-m", "check_wheel_contents", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    assert tops == {"nox_workspace", "nox_workspace-0.1.0.dev0.dist-info"}


def test_both_distributions_ship_the_license(dist: Path) -> None:
    with zipfile.ZipFile(_one(dist, "*.whl")) as archive:
        licenses = [name for name in archive.namelist() if name.endswith("/LICENSE")]
        metadata = archive.read("nox_workspace-0.1.0.dev0.dist-info/METADATA").decode()
    assert licenses == ["nox_workspace-0.1.0.dev0.dist-info/licenses/LICENSE"]
    assert "License-File: LICENSE" in metadata
    assert "Classifier: Topic :: Software Development :: Testing" in metadata
    with tarfile.open(_one(dist, "*.tar.gz")) as archive:
        names = archive.getnames()
    assert "nox_workspace-0.1.0.dev0/LICENSE" in names
