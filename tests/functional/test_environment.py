"""The environment around us: each missing or outdated tool is one clear line, with what to do.

Covered elsewhere, not repeated here: uv missing and uv too old
(``test_sessions.py::test_uv_missing_or_too_old_is_one_clear_line``), no ``git`` on ``PATH``,
a folder outside any repository and an unknown revision for ``--since``
(``test_affected_git.py``). Here: a uv that fails or talks nonsense, an old nox, a Python the
session asks for that is not installed, and ``--since`` in a shallow clone that lacks the
revision.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.nox_project import NOXFILE, PROBE, NoxProject, build_project
from tests.support import git, git_commit_all, one_line

pytestmark = pytest.mark.functional

SYNCED = "nox-workspace: syncing"


@pytest.fixture
def project(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> Iterator[NoxProject]:
    """foo/bar/baz; afterwards no user file changed."""
    built = build_project(tmp_path, wheelhouse, env)
    yield built
    assert built.unchanged_outside_nox(), "a run created, changed or deleted a user file"


# --------------------------------------------------------------------------------------------
# uv that fails


FAKE_UVS = {
    "exits with an error": ("#!/bin/sh\necho 'uv: broken' >&2\nexit 1\n", 0o755, "cannot run"),
    "is not executable": ("#!/bin/sh\necho 'uv 0.13.9'\n", 0o644, "cannot run"),
    "is a folder": (None, 0o755, "cannot run"),
}


@pytest.mark.parametrize("case", list(FAKE_UVS))
def test_a_uv_that_cannot_say_its_version_is_one_clear_line(
    project: NoxProject, tmp_path: Path, case: str
) -> None:
    """A uv that exits with an error, cannot be executed, or is a folder fails the session
    with one line that says how to install uv; no venv is synced."""
    script, mode, fragment = FAKE_UVS[case]
    fake = tmp_path / "fake-uv"
    if script is None:
        fake.mkdir()
    else:
        fake.write_text(script)
        fake.chmod(mode)
    project.write_noxfile('members=["foo"]')
    result = project.nox("-s", "test-foo", check=False, extra_env={"NOX_WORKSPACE_UV": str(fake)})
    assert result.returncode != 0
    line = one_line(result.stderr, fragment)
    assert "pip install" in line
    assert SYNCED not in result.stderr


def test_a_uv_that_prints_no_version_says_what_to_do(project: NoxProject, tmp_path: Path) -> None:
    """A program that answers ``--version`` with something else (another tool named uv, a
    wrapper printing a banner) fails the session with one line that says what to do."""
    fake = tmp_path / "fake-uv"
    fake.write_text("#!/bin/sh\necho 'Ultraviolet light meter 2.0'\n")
    fake.chmod(0o755)
    project.write_noxfile('members=["foo"]')
    result = project.nox("-s", "test-foo", check=False, extra_env={"NOX_WORKSPACE_UV": str(fake)})
    assert result.returncode != 0
    line = one_line(result.stderr, "cannot read the version")
    assert "pip install" in line or "NOX_WORKSPACE_UV" in line


# --------------------------------------------------------------------------------------------
# An old nox

#: The public surface of nox 2022.11.21 that a noxfile meets at load time: its decorator
#: takes no ``default`` (a later addition) and no ``allow_parallel``.
OLD_NOX = '''
"""A stand-in for nox 2022.11.21: what a noxfile sees when it is imported."""
import functools


class Session:
    pass


class _Options:
    pass


options = _Options()


def session(
    func=None, python=None, py=None, reuse_venv=None, name=None, venv_backend=None,
    venv_params=None, tags=None,
):
    if func is None:
        return functools.partial(
            session, python=python, py=py, reuse_venv=reuse_venv, name=name,
            venv_backend=venv_backend, venv_params=venv_params, tags=tags,
        )
    return func
'''


@pytest.fixture
def old_nox(tmp_path: Path) -> Path:
    """A folder to put first on ``PYTHONPATH``: a ``nox`` 2022.11.21 package and its
    metadata, so ``importlib.metadata.version("nox")`` says 2022.11.21 too."""
    folder = tmp_path / "old-nox"
    (folder / "nox").mkdir(parents=True)
    (folder / "nox" / "__init__.py").write_text(textwrap.dedent(OLD_NOX))
    info = folder / "nox-2022.11.21.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nox\nVersion: 2022.11.21\n")
    return folder


def old_nox_env(project: NoxProject, old_nox: Path) -> dict[str, str]:
    """The stand-in first on the path, then everything this interpreter has."""
    return {**project.env, "PYTHONPATH": os.pathsep.join([str(old_nox), *sys.path[1:]])}


LOADERS = {
    "noxfile load": ["-c", "import runpy; runpy.run_path('noxfile.py', run_name='noxfile')"],
    "matrix command": ["-m", "nox_workspace", "matrix"],
}


@pytest.mark.parametrize("loader", list(LOADERS))
def test_an_old_nox_is_one_clear_line(project: NoxProject, old_nox: Path, loader: str) -> None:
    """Under nox older than the declared minimum (``nox>=2025.5.1``), loading the noxfile
    fails with one line naming the version found and how to upgrade, not a traceback."""
    project.write_noxfile()
    result = subprocess.run(
        [sys.executable, *LOADERS[loader]],
        cwd=project.root,
        env=old_nox_env(project, old_nox),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    line = one_line(result.stderr, "nox 2022.11.21")
    assert "pip install" in line


def test_the_stand_in_is_what_the_old_nox_check_sees(project: NoxProject, old_nox: Path) -> None:
    """The stand-in really is taken for nox 2022.11.21 (so the test above tests the check)."""
    probe = "import importlib.metadata as m, nox; print(m.version('nox'), nox.__file__)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=old_nox_env(project, old_nox),
        capture_output=True,
        text=True,
        check=True,
    )
    version, where = result.stdout.split()
    assert version == "2022.11.21"
    assert Path(where).is_relative_to(old_nox)


# --------------------------------------------------------------------------------------------
# A Python that is not installed


def test_a_python_that_is_not_installed_is_skipped_locally_and_fails_on_ci(
    project: NoxProject,
) -> None:
    """``python=["3.99"]``: Nox says in one line that the interpreter was not found; it skips
    the session on a developer's machine and fails it on CI (Nox's own rule), and
    nox-workspace syncs nothing."""
    noxfile = NOXFILE.format(probe=PROBE, reports=str(project.reports), options='python=["3.99"]')
    project.write_noxfile(body=noxfile)
    local_env = {key: value for key, value in project.env.items() if key != "CI"}
    project.env = local_env
    local = project.nox("-s", "test-foo-3.99", check=False)
    assert local.returncode == 0, local.stderr
    assert "Session test-foo-3.99 skipped: Python interpreter 3.99 not found" in local.stderr
    ci = project.nox("-s", "test-foo-3.99", check=False, extra_env={"CI": "true"})
    assert ci.returncode != 0
    assert "Session test-foo-3.99 failed: Python interpreter 3.99 not found" in ci.stderr
    for result in (local, ci):
        assert SYNCED not in result.stderr
        assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------------------------
# A shallow clone


@pytest.fixture
def shallow(project: NoxProject, tmp_path: Path) -> Path:
    """A ``git clone --depth 1`` of the workspace after four commits."""
    project.write_noxfile()
    (project.root / ".gitignore").write_text(".nox/\n", encoding="utf-8")
    git_commit_all(project.root, "base")
    for number in range(3):
        bar = project.root / "packages/bar/pyproject.toml"
        project.edit("packages/bar/pyproject.toml", bar.read_text() + f"# {number}\n")
        git_commit_all(project.root, f"change {number}")
    project.accept()
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", project.root.as_uri(), str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository").strip() == "true"
    return clone


@pytest.mark.parametrize("command", ["affected", "matrix"])
@pytest.mark.parametrize("since", ["HEAD~3", "origin/feature"])
def test_since_a_revision_a_shallow_clone_lacks_is_one_clear_line(
    shallow: Path, command: str, since: str
) -> None:
    """``--since HEAD~3`` (history cut off) or a branch that was not fetched, in a
    ``--depth 1`` clone: one line naming the revision and how to fetch the history."""
    args = [command, "--since", since] + (["--format", "json"] if command == "matrix" else [])
    result = subprocess.run(
        [sys.executable, "-m", "nox_workspace", *args],
        cwd=shallow,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert f"unknown git revision {since!r}" in result.stderr
    assert "fetch-depth: 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_since_head_works_in_a_shallow_clone(shallow: Path) -> None:
    """The one revision a ``--depth 1`` clone has is enough for ``--since HEAD``."""
    result = subprocess.run(
        [sys.executable, "-m", "nox_workspace", "affected", "--since", "HEAD"],
        cwd=shallow,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
