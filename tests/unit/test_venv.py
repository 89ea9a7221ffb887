"""What a venv holds, read from its files: every kind of distribution uv sees."""

from __future__ import annotations

from pathlib import Path

from nox_workspace._venv import SEED_PACKAGES, Venv
from tests.support import write_tree
from tests.unit.reuse_fixtures import venv


def test_dist_info_egg_info_and_egg_link_all_count(tmp_path: Path) -> None:
    location = venv(tmp_path, {"Alpha_Pkg": "1.0"})
    site = location / "lib" / "python3.11" / "site-packages"
    develop = tmp_path / "develop"
    write_tree(
        site,
        {
            "old-2.1-py3.11.egg-info/PKG-INFO": "Name: old\nVersion: 2.1\n",
            "bare.egg-info/PKG-INFO": "Metadata-Version: 1.0\nName: bare\nVersion: 3.0\n",
            "single-4.0-py3.11.egg-info": "Name: single\nVersion: 4.0\n",
            "linked.egg-link": f"{develop}\n.",
            "broken.egg-link": "",
            "alpha/__init__.py": "",
        },
    )
    write_tree(develop, {"linked.egg-info/PKG-INFO": "Name: linked\nVersion: 5.0\n"})
    assert Venv(location).distributions() == {
        "alpha-pkg": "1.0",
        "old": "2.1",
        "bare": "3.0",
        "single": "4.0",
        "linked": "5.0",
    }  # an egg link that points nowhere is not listed: `uv pip list` drops it too


def test_a_venv_without_site_packages_holds_nothing(tmp_path: Path) -> None:
    assert Venv(tmp_path / "missing").distributions() == {}


def test_clearing_keeps_the_seeds_of_a_non_uv_venv_only(tmp_path: Path) -> None:
    """One list of seed packages: what clearing keeps is what the leak report allows."""
    location = venv(tmp_path, {"pip": "24.0", "alpha": "1.0", "setuptools": "70.0"}, uv=False)
    site = location / "lib" / "python3.11" / "site-packages"
    write_tree(site, {"_virtualenv.py": "", "distutils-precedence.pth": "", "alpha/x.py": ""})
    Venv(location).clear_site_packages()
    left = sorted(entry.name for entry in site.iterdir())
    assert left == [
        "_virtualenv.py",
        "distutils-precedence.pth",
        "pip-24.0.dist-info",
        "setuptools-70.0.dist-info",
    ]
    assert {"pip", "setuptools", "wheel"} <= SEED_PACKAGES


def test_clearing_a_uv_venv_keeps_no_seed(tmp_path: Path) -> None:
    location = venv(tmp_path, {"pip": "24.0", "alpha": "1.0"}, uv=True)
    Venv(location).clear_site_packages()
    assert Venv(location).distributions() == {}
