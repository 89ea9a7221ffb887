"""Shared fixtures: a wheelhouse of tiny third-party packages, a private uv cache, and a clean
slate of registries for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import nox.registry
import pytest

from nox_workspace import _registry
from nox_workspace._lock import clear_lock_cache
from tests.support import make_wheel, tool_env

# `pytest --cov` measures the Python subprocesses too (`[tool.coverage.run] patch`); they run in
# test workspaces, where no file may appear outside `.nox/`. Coverage hands them its data file
# as an absolute path, but a relative `COVERAGE_FILE` in their environment would win and land
# the data in the workspace: anchor it here, where it names the file the test process writes.
if not os.path.isabs(os.environ.get("COVERAGE_FILE", "/")):
    os.environ["COVERAGE_FILE"] = os.path.abspath(os.environ["COVERAGE_FILE"])

#: The third-party packages every test workspace can depend on, offline.
WHEELS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("alpha", "1.0", ()),
    ("beta", "1.0", ()),
    ("gamma", "1.0", ()),
    ("gamma", "2.0", ()),
    ("delta", "1.0", ("gamma",)),
    ("epsilon", "1.0", ("delta",)),
    ("zeta", "1.0", ()),
    ("eta", "1.0", ()),
    ("theta", "1.0", ()),
    ("winonly", "1.0", ()),
)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of tiny wheels; ``delta`` needs ``gamma``, ``epsilon`` needs ``delta``."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    for name, version, requires in WHEELS:
        make_wheel(folder, name, version, requires)
    make_wheel(folder, "kappa", "1.0", (), extras={"fast": ["theta"]})
    return folder


@pytest.fixture(scope="session")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A uv cache private to this test run, so tests never depend on the user's cache."""
    return tmp_path_factory.mktemp("uv-cache")


@pytest.fixture
def env(uv_cache: Path) -> dict[str, str]:
    """The environment for running uv and nox offline in a test."""
    return tool_env(uv_cache)


def _forget_everything() -> None:
    # nox.registry.reset() is recent; the oldest supported Nox has only the mapping.
    reset = getattr(nox.registry, "reset", None)
    if reset is not None:
        reset()
    else:
        nox.registry._REGISTRY.clear()
    _registry.reset()
    clear_lock_cache()


@pytest.fixture(autouse=True)
def fresh_registries() -> Iterator[None]:
    """Each test starts and ends with no Nox session, no nox-workspace session, no cached
    discovery and no cached lock, so that no test sees what another one registered or read."""
    _forget_everything()
    yield
    _forget_everything()
