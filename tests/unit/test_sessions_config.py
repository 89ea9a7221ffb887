"""Session configuration that is decided when the noxfile loads, without running Nox."""

from __future__ import annotations

from pathlib import Path

import pytest

from nox_workspace import ConfigError, Sync, discover, pythons
from nox_workspace._sessions import _fresh_venvs_requested, _member_sync
from tests.support import member_toml, write_tree


def test_sync_normalizes_names_and_rejects_strings() -> None:
    """Group and extra names are normalized; a bare string (not a list) is a clear error."""
    assert Sync(groups=["Test_Extra"]).groups == ("test-extra",)
    with pytest.raises(ConfigError, match="takes a list of names"):
        Sync(groups="test")
    with pytest.raises(ConfigError, match="exclude each other"):
        Sync(extras=["a"], all_extras=True)


def test_sync_describes_itself() -> None:
    """The summary in logs says exact/inexact and locked/frozen first."""
    assert Sync().describe() == "exact, locked"
    assert Sync(exact=False, frozen=True, groups=["t"]).describe() == "inexact, frozen, groups: t"


def test_pythons_keeps_installed_versions_inside_requires_python(tmp_path: Path) -> None:
    """``pythons()`` drops candidates outside the workspace's requires-python."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["p/*"]\n',
            "p/a/pyproject.toml": member_toml("a", requires_python=">=3.11"),
            "p/b/pyproject.toml": member_toml("b", requires_python="<3.13"),
        },
    )
    found = pythons(tmp_path, candidates=["3.9", "3.10", "3.11", "3.12", "3.13"])
    assert set(found) <= {"3.11", "3.12"}


@pytest.mark.parametrize(
    ("argv", "fresh"),
    [
        (["nox", "-s", "x"], False),
        (["nox", "-r"], False),
        (["nox", "--reuse-venv=no"], True),
        (["nox", "--reuse-venv", "no"], True),
        (["nox", "-N"], True),
    ],
)
def test_explicit_no_reuse_is_detected(argv: list[str], fresh: bool) -> None:
    """An explicit ``--reuse-venv=no`` / ``-N`` asks for fresh venvs; Nox's default does not."""
    assert _fresh_venvs_requested(argv) is fresh


def test_member_settings(tmp_path: Path) -> None:
    """``[tool.nox-workspace]`` skips sessions or replaces groups; unknown keys are errors."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": member_toml(
                "solo",
                groups={"test": ["x"], "docs": ["y"]},
                extra_toml=(
                    "[tool.nox-workspace]\nskip = ['lint']\ngroups = ['test']\n"
                    "[tool.nox-workspace.sessions.docs]\ngroups = ['docs']\n"
                ),
            )
        },
    )
    member = discover(tmp_path).member("solo")
    assert _member_sync(member, "lint", Sync()) is None
    assert _member_sync(member, "test", Sync()) == Sync(groups=["test"])
    assert _member_sync(member, "docs", Sync()) == Sync(groups=["docs"])

    (tmp_path / "pyproject.toml").write_text(
        member_toml("solo", extra_toml="[tool.nox-workspace]\ngroup = ['test']\n")
    )
    with pytest.raises(ConfigError, match="unknown key 'group'"):
        _member_sync(discover(tmp_path).member("solo"), "test", Sync())
