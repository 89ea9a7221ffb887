"""What loading a noxfile and running the command line pull in, with the real Nox.

Each process of ``nox -j`` loads the noxfile again, and the command line runs in CI steps:
what they import and read is their cost. Listing imports no lock reader, planner or run-time
module; the command line's commands that load no noxfile import no Nox; and the parsed
``pyproject.toml`` files are cached in Nox's envdir, never anywhere else, and never served
once a file changed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from nox_workspace._workspace import CACHE_NAME
from tests.functional.nox_project import NoxProject, build_project
from tests.support import git_commit_all

#: Modules a session needs only when it runs, or that only planners and the lock use.
NOT_AT_LOAD = {
    "_affected",
    "_check",
    "_git",
    "_index",
    "_keys",
    "_leaks",
    "_lock",
    "_lockdiff",
    "_markers",
    "_matrix",
    "_prepare",
    "_reach",
    "_reuse",
    "_uv",
    "_venv",
    "_walk",
}

NOXFILE = """
import sys

import nox

import nox_workspace


@nox_workspace.session
def test(session: nox.Session, target: nox_workspace.Target) -> None:
    session.run("python", "-c", "pass")


loaded = sorted(name.split(".")[1] for name in sys.modules if name.startswith("nox_workspace."))
print("loaded:", " ".join(loaded), file=sys.stderr)
"""


@pytest.fixture
def project(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> Iterator[NoxProject]:
    built = build_project(tmp_path, wheelhouse, env)
    built.write_noxfile(body=NOXFILE)
    yield built
    assert built.unchanged_outside_nox(), "a run created, changed or deleted a user file"


def loaded_modules(stderr: str) -> set[str]:
    line = next(line for line in stderr.splitlines() if line.startswith("loaded:"))
    return set(line.split()[1:])


def run_cli(project: NoxProject, command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the command line's ``command`` in a fresh Python in ``project``; its stderr ends
    with whether Nox was imported and which of the package's modules were (``loaded:``)."""
    code = textwrap.dedent(
        f"""
        import sys
        from nox_workspace._cli import main
        status = main({command!r})
        print("nox imported:", "nox" in sys.modules, file=sys.stderr)
        loaded = sorted(n.split(".")[1] for n in sys.modules if n.startswith("nox_workspace."))
        print("loaded:", " ".join(loaded), file=sys.stderr)
        sys.exit(status)
        """
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        check=False,
    )


def listed(project: NoxProject) -> list[str]:
    out = project.nox("-l").stdout
    return sorted(line.split()[1] for line in out.splitlines() if " test-" in line)


def test_loading_the_noxfile_imports_no_lock_planner_or_run_time_module(
    project: NoxProject,
) -> None:
    loaded = loaded_modules(project.nox("-l").stderr)
    assert "_sessions" in loaded
    assert loaded & NOT_AT_LOAD == set()


def test_listing_writes_no_cache_where_nox_has_no_envdir_yet(project: NoxProject) -> None:
    assert listed(project) == ["test-bar", "test-baz", "test-foo"]
    assert not (project.root / ".nox").exists()


def test_the_processes_of_nox_j_share_a_cache_that_an_edit_invalidates(
    project: NoxProject,
) -> None:
    """Once Nox has made its envdir, a parallel run leaves the cache in ``.nox/``; an edit of
    the same size (a member renamed ``bar`` -> ``baq``) shows at once in the next listing.

    (A first ``-j`` run may start every process before Nox creates ``.nox/``: then none of
    them writes a cache, so ``.nox/`` is made first here.)
    """
    project.nox("-s", "test-foo")
    assert not (project.root / ".nox" / CACHE_NAME).exists()
    project.nox("-j", "2", "-s", "test-foo", "test-bar")
    assert (project.root / ".nox" / CACHE_NAME).is_file()
    assert listed(project) == ["test-bar", "test-baz", "test-foo"]
    toml = project.root / "packages/bar/pyproject.toml"
    text = toml.read_text()
    project.edit("packages/bar/pyproject.toml", text.replace('name = "bar"', 'name = "baq"'))
    assert toml.stat().st_size == len(text.encode())
    assert listed(project) == ["test-baq", "test-baz", "test-foo"]


def test_the_cache_follows_envdir(project: NoxProject, tmp_path: Path) -> None:
    """Nox creates its envdir after loading the noxfile: the second load writes the cache."""
    envdir = tmp_path / "envs"
    project.nox("--envdir", str(envdir), "-s", "test-foo")
    assert not (envdir / CACHE_NAME).exists()
    project.nox("--envdir", str(envdir), "-l")
    assert (envdir / CACHE_NAME).is_file()
    assert not (project.root / ".nox").exists()


@pytest.mark.parametrize(
    "command", [["members"], ["graph"], ["closure", "baz"], ["affected", "--since", "HEAD"]]
)
def test_commands_that_load_no_noxfile_import_no_nox(
    project: NoxProject, command: list[str]
) -> None:
    git_commit_all(project.root)
    project.accept()
    proc = run_cli(project, command)
    assert proc.returncode == 0, proc.stderr
    assert "nox imported: False" in proc.stderr


#: What listing or drawing the members needs none of (no dynamic dependencies to complete
#: from the lock): the lock reader, git, sessions and planners.
NOT_FOR_MEMBERS = {
    "_affected",
    "_closure",
    "_git",
    "_index",
    "_keys",
    "_lock",
    "_lockdiff",
    "_markers",
    "_reach",
    "_registry",
    "_scope",
    "_sync",
    "_walk",
}


@pytest.mark.parametrize("command", [["members"], ["graph"], ["members", "--json"]])
def test_members_and_graph_import_no_lock_reader_git_or_planner(
    project: NoxProject, command: list[str]
) -> None:
    """``members`` and ``graph`` cost Python's start-up and discovery, little more: the
    parser no longer pulls in the matrix planner's imports, nor a package-metadata search
    for ``--version``."""
    proc = run_cli(project, command)
    assert proc.returncode == 0, proc.stderr
    assert "foo" in proc.stdout
    loaded = loaded_modules(proc.stderr)
    assert "_workspace" in loaded
    assert loaded & NOT_FOR_MEMBERS == set()
