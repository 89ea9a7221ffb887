"""The project's own sessions: tests, lint, types, docs and the uv conformance run.

The repo uses itself: each session is nox-workspace's union session of this one-project
workspace (``members=[]`` asks for no per-member sessions), synced exactly from ``uv.lock``.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

import nox_workspace
from nox_workspace import Sync, Target
from nox_workspace._sessions import MINIMUM_NOX
from nox_workspace._uv import MINIMUM_UV

nox.options.default_venv_backend = "uv"

SHARED_WORKSPACES = Path(__file__).resolve().parent.parent / "shared" / "workspaces"


@nox_workspace.session(union="tests", members=[], sync=Sync(groups=["test"], default_groups=False))
def tests(session: nox.Session, target: Target) -> None:
    """Run the test suite."""
    session.run("python", "-m", "pytest", *session.posargs)


@nox_workspace.session(union="lint", members=[], sync=Sync(groups=["lint"], default_groups=False))
def lint(session: nox.Session, target: Target) -> None:
    """Check formatting and lint rules with ruff, and the package's layers with import-linter."""
    session.run("ruff", "format", "--check", ".")
    session.run("ruff", "check", ".")
    session.run("lint-imports")


@nox_workspace.session(union="types", members=[], sync=Sync(groups=["types"], default_groups=False))
def types(session: nox.Session, target: Target) -> None:
    """Type-check the package, the tests and this noxfile with mypy --strict."""
    session.run("mypy")


@nox_workspace.session(union="docs", members=[], sync=Sync(groups=["docs"], default_groups=False))
def docs(session: nox.Session, target: Target) -> None:
    """Build the documentation with warnings as errors."""
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


@nox_workspace.session(
    union="conformance", members=[], sync=Sync(groups=["test"], default_groups=False)
)
def conformance(session: nox.Session, target: Target) -> None:
    """Compare the model with uv on the real workspaces in ../shared/workspaces/."""
    if not SHARED_WORKSPACES.is_dir():
        session.skip(f"{SHARED_WORKSPACES} does not exist: no real workspaces to compare with")
    session.run("python", "-m", "pytest", "-m", "shared", "-v", "-rs", *session.posargs)


@nox_workspace.session(
    union="package", members=[], sync=Sync(groups=["package"], default_groups=False)
)
def package(session: nox.Session, target: Target) -> None:
    """Build the wheel and sdist with uv, then check them with twine and check-wheel-contents."""
    out = Path(session.create_tmp()) / "dist"
    session.run("uv", "build", "--out-dir", str(out), external=True)
    wheels = sorted(str(path) for path in out.glob("*.whl"))
    sdists = sorted(str(path) for path in out.glob("*.tar.gz"))
    session.run("twine", "check", "--strict", *wheels, *sdists)
    session.run("check-wheel-contents", *wheels)


@nox_workspace.session(
    union="differential",
    members=[],
    sync=Sync(groups=["test"], default_groups=False),
    default=False,  # minutes long: run it on purpose, `nox -s differential`
)
def differential(session: nox.Session, target: Target) -> None:
    """Thousands of random mutations: every reused venv must be what uv makes it."""
    env = {"DIFFERENTIAL_MUTATIONS": os.environ.get("DIFFERENTIAL_MUTATIONS", "5000")}
    test = "tests/functional/test_differential.py"
    session.run("python", "-m", "pytest", test, "-q", "-s", *session.posargs, env=env)


@nox_workspace.session(
    union="minimums",
    members=[],
    sync=Sync(
        groups=["test"],
        default_groups=False,
        requirements=[f"nox=={MINIMUM_NOX}", f"uv=={MINIMUM_UV}"],
    ),
    default=False,  # it resolves old releases from the index: run it on purpose
)
def minimums(session: nox.Session, target: Target) -> None:
    """Run the session tests with the oldest Nox and uv the package supports."""
    session.run(
        "python",
        "-m",
        "pytest",
        "tests/functional/test_sessions.py",
        "tests/functional/test_nox_parity.py",
        "tests/functional/test_requirements_overlay.py",
        "-q",
        *session.posargs,
    )
