"""Fixtures of the functional tests that run the CI examples' shell steps."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.functional.ci_steps import BIN, ci_pins, write_uvx_stand_in


@pytest.fixture(scope="session")
def uvx_stand_in(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the stand-in ``uvx`` (see ``tests/functional/ci_steps.py``)."""
    return write_uvx_stand_in(tmp_path_factory.mktemp("ci-shims")).parent


@pytest.fixture
def ci_env(env: dict[str, str], uvx_stand_in: Path, tmp_path: Path) -> dict[str, str]:
    """What a CI shell step gets here: the offline uv environment, the examples' pins as
    variables, the stand-in ``uvx`` first on ``PATH`` and the tools beside the tests next."""
    return {
        **env,
        **ci_pins(),
        "PATH": os.pathsep.join([str(uvx_stand_in), str(BIN), env["PATH"]]),
        "UVX_LOG": str(tmp_path / "uvx.log"),
    }
