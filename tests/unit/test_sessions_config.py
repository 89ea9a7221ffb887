"""Session configuration that is decided when the noxfile loads, without running Nox."""

from __future__ import annotations

from pathlib import Path

import pytest

import nox_workspace
from nox_workspace import ConfigError, Sync, Target, discover, pythons
from nox_workspace._sessions import _envdir, _fresh_venvs_requested
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


def test_sync_fields_are_keyword_only() -> None:
    """``Sync(False, True)`` would read as "inexact, frozen" by position: it is refused."""
    with pytest.raises(TypeError):
        Sync(False, True)  # type: ignore[call-arg]


def test_pythons_keeps_installed_versions_inside_requires_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pythons()`` keeps the installed candidates inside the workspace's requires-python."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for version in ("3.9", "3.10", "3.11", "3.12"):  # 3.13 is a candidate, not installed
        python = bin_dir / f"python{version}"
        python.write_text("#!/bin/sh\n")
        python.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["p/*"]\n',
            "p/a/pyproject.toml": member_toml("a", requires_python=">=3.11"),
            "p/b/pyproject.toml": member_toml("b", requires_python="<3.13"),
        },
    )
    found = pythons(tmp_path, candidates=["3.9", "3.10", "3.11", "3.12", "3.13"])
    assert found == ["3.11", "3.12"]


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


@pytest.mark.parametrize(
    ("argv", "envdir"),
    [
        (["nox", "-s", "x"], ".nox"),
        (["nox", "--envdir", "build/envs", "-s", "x"], "build/envs"),
        (["nox", "--envdir=/abs/envs"], "/abs/envs"),
        (["nox", "-s", "x", "--", "--envdir", "posarg"], ".nox"),
    ],
)
def test_the_discovery_cache_lives_in_noxs_envdir(
    argv: list[str], envdir: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The cache follows ``--envdir`` (forwarded to ``-j`` children), relative to the folder
    Nox loads the noxfile from; a session's own arguments after ``--`` are not Nox's."""
    monkeypatch.chdir(tmp_path)
    assert _envdir(argv) == tmp_path / envdir


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
    assert Sync().for_member(member, "lint") is None
    assert Sync().for_member(member, "test") == Sync(groups=["test"])
    assert Sync().for_member(member, "docs") == Sync(groups=["docs"])

    (tmp_path / "pyproject.toml").write_text(
        member_toml("solo", extra_toml="[tool.nox-workspace]\ngroup = ['test']\n")
    )
    with pytest.raises(ConfigError, match="unknown key 'group'"):
        discover(tmp_path)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("skipp = true", "unknown key 'skipp'"),
        ("skip = true", "skip is a member setting, but this virtual root is not a member"),
        ('global = "noxfile.py"', "global must be a list of path globs"),
    ],
)
def test_a_virtual_roots_settings_are_checked_like_a_members(
    tmp_path: Path, table: str, message: str
) -> None:
    """A virtual root's ``[tool.nox-workspace]`` refuses what it cannot mean, at discovery."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": (
                f'[tool.uv.workspace]\nmembers = ["a"]\n[tool.nox-workspace]\n{table}\n'
            ),
            "a/pyproject.toml": member_toml("a"),
        },
    )
    with pytest.raises(ConfigError, match=message):
        discover(tmp_path)


def test_global_belongs_in_the_root_only(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["a"]\n',
            "a/pyproject.toml": member_toml("a", extra_toml="[tool.nox-workspace]\nglobal = []\n"),
        },
    )
    with pytest.raises(ConfigError, match="global belongs in the workspace root"):
        discover(tmp_path)


def test_the_union_checks_extras_as_it_checks_groups(tmp_path: Path) -> None:
    """``--all-packages --extra X`` needs some member with extra X; an unknown one fails."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["a", "b"]\n',
            "a/pyproject.toml": member_toml("a", extras={"fast": ["alpha"]}),
            "b/pyproject.toml": member_toml("b"),
        },
    )
    workspace = discover(tmp_path)

    def union(sync: Sync) -> Target:
        return Target(workspace=workspace, members=workspace.members, sync=sync, all_packages=True)

    union(Sync(extras=["fast"])).validate("all")
    with pytest.raises(ConfigError, match="asks for extra 'nope', which no member defines"):
        union(Sync(extras=["nope"])).validate("all")


def test_a_union_session_with_an_unknown_extra_fails_when_the_noxfile_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The decorator refuses the union's unknown extra with one line, before any venv."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["a"]\n',
            "a/pyproject.toml": member_toml("a", extras={"fast": ["alpha"]}),
        },
    )

    def body(session: object, target: Target) -> None:
        raise AssertionError("never runs")

    decorate = nox_workspace.session(
        union="all", members=[], sync=Sync(extras=["nope"]), root=tmp_path
    )
    with pytest.raises(SystemExit):
        decorate(body)
    assert "asks for extra 'nope', which no member defines" in capsys.readouterr().err


def test_python_outside_the_workspace_range_names_the_member_or_the_gap(tmp_path: Path) -> None:
    """A Python one member excludes is refused for all, naming that member; when each member
    admits some release but no release is in every range, the message says the ranges do not
    overlap instead of failing."""
    from nox_workspace._sessions import _check_pythons

    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["p/*"]\n',
            "p/a/pyproject.toml": member_toml("a", requires_python=">=3.10.5"),
            "p/b/pyproject.toml": member_toml("b", requires_python="<3.10.3"),
            "p/c/pyproject.toml": member_toml("c", requires_python=">=3.9"),
        },
    )
    workspace = discover(tmp_path)
    with pytest.raises(ConfigError, match="ranges do not overlap there"):
        _check_pythons(["3.10"], workspace, "test")
    with pytest.raises(ConfigError, match=r"member 'b' requires-python '<3\.10\.3'"):
        _check_pythons(["3.12"], workspace, "test")
