"""Unit tests of ``check``'s pure parts: the comparison, the choices, and reading a venv's
legacy installs from files (no interpreter, no uv)."""

from __future__ import annotations

from pathlib import Path

from nox_workspace._check import (
    CheckReport,
    Leaked,
    Missing,
    compare,
    default_venv,
)
from nox_workspace._lock import LockedPackage
from nox_workspace._venv import Venv


def locked(*pairs: tuple[str, str | None]) -> tuple[LockedPackage, ...]:
    return tuple(LockedPackage(name, version, "registry") for name, version in pairs)


def test_compare_names_leaks_with_who_brings_them_and_what_is_missing() -> None:
    """Installed but unlocked is a leak (with its owners); locked but absent, or present at
    another version, is missing; seed packages are never leaks."""
    result = compare(
        "b",
        {"b": "0.1.0", "numpy": "2.1.0", "pip": "24.0", "stray": "1.0", "attrs": "22.1"},
        locked(("b", "0.1.0"), ("attrs", "23.1"), ("six", "1.16")),
        {"numpy": ("a",)},
    )
    assert result.leaked == (
        Leaked(name="numpy", version="2.1.0", brought_by=("a",)),
        Leaked(name="stray", version="1.0", brought_by=()),
    )
    assert result.missing == (
        Missing(name="attrs", version="23.1", installed="22.1"),
        Missing(name="six", version="1.16", installed=None),
    )


def test_compare_ignores_the_version_of_a_package_locked_without_one() -> None:
    """A member with a dynamic version is locked without one: any installed version fits."""
    result = compare("a", {"a": "0.3.dev1"}, locked(("a", None)), {})
    assert result.leaked == ()
    assert result.missing == ()


def test_report_groups_leaks_by_who_brings_them_and_fails_only_on_leaks() -> None:
    """The text groups packages by their owners and names the fix; the status is 1 only when
    something leaks (missing packages alone do not fail)."""
    leaky = compare(
        "a",
        {"numpy": "2.1.0", "scipy": "1.14.0", "stray": "1.0"},
        (),
        {"numpy": ("b",), "scipy": ("b",)},
    )
    report = CheckReport(venv=Path(".venv"), python="3.12.1", members=(leaky,))
    text = report.render()
    assert "  numpy 2.1.0, scipy 1.14.0 come from b\n" in text
    assert "stray 1.0 come from no member" in text
    assert "fix: declare what a's code or tests import" in text
    assert report.status == 1
    short = compare("a", {}, locked(("six", "1.16")), {})
    assert CheckReport(venv=Path(".venv"), python="3.12.1", members=(short,)).status == 0


def test_default_venv_is_the_project_environment_then_dot_venv_then_the_active_one(
    tmp_path: Path,
) -> None:
    """As uv: ``UV_PROJECT_ENVIRONMENT`` (relative to the root) first, then ``.venv``; an
    active venv only when the workspace has none."""
    active = {"VIRTUAL_ENV": "/elsewhere"}
    assert default_venv(tmp_path, {"UV_PROJECT_ENVIRONMENT": "env", **active}) == tmp_path / "env"
    assert default_venv(tmp_path, active) == Path("/elsewhere")
    (tmp_path / ".venv").mkdir()
    assert default_venv(tmp_path, active) == tmp_path / ".venv"


def test_venv_installed_counts_dist_info_egg_info_and_egg_links(tmp_path: Path) -> None:
    """What uv lists: wheels, ``NAME-VER-pyX.egg-info`` folders, bare ``NAME.egg-info`` files
    (version from their headers), and ``setup.py develop`` links (metadata in the source)."""
    site = tmp_path / "venv" / "lib" / "python3.12" / "site-packages"
    site.mkdir(parents=True)
    (site / "Foo_Bar-1.2.dist-info").mkdir()
    (site / "old_pkg-0.9-py3.12.egg-info").mkdir()
    (site / "bare.egg-info").write_text("Metadata-Version: 1.0\nName: bare\nVersion: 3.0\n")
    source = tmp_path / "src-checkout"
    (source / "dev_pkg.egg-info").mkdir(parents=True)
    (source / "dev_pkg.egg-info" / "PKG-INFO").write_text("Name: dev-pkg\nVersion: 0.5\n\n")
    (site / "dev-pkg.egg-link").write_text(f"{source}\n.\n")
    (site / "broken.egg-link").write_text(f"{tmp_path / 'gone'}\n")
    assert Venv(tmp_path / "venv").distributions() == {
        "foo-bar": "1.2",
        "old-pkg": "0.9",
        "bare": "3.0",
        "dev-pkg": "0.5",
    }
