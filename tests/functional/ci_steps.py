"""Running the shell steps of the CI examples in ``docs/ci/`` here, offline.

The steps install their tools with ``uvx`` at the versions the examples pin. Tests never
reach the network, so a stand-in ``uvx`` takes its place: it records the tool and the
``--with`` requirements it was given (one JSON line per call, to ``$UVX_LOG``), then runs that
tool as installed beside the tests (``uvx --with uv==X nox-workspace@Y matrix`` runs
``nox-workspace matrix``). What the tests check of the pins is what the stand-in recorded.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / "docs" / "ci" / "github-actions.yml"
#: The folder of the tools installed beside the tests (nox, nox-workspace, uv).
BIN = Path(sys.executable).parent

_UVX = f"""#!{sys.executable}
import json, os, sys

args, requirements = sys.argv[1:], []
while args[0].startswith("-"):
    option = args.pop(0)
    if option != "--with":
        sys.exit(f"uvx stand-in: unexpected option {{option}}")
    requirements.append(args.pop(0))
tool = args.pop(0)
log = os.environ.get("UVX_LOG")
if log:
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({{"tool": tool, "with": requirements}}) + "\\n")
name = tool.partition("@")[0]
os.execv(os.path.join({str(BIN)!r}, name), [name, *args])
"""


def write_uvx_stand_in(folder: Path) -> Path:
    """Write the stand-in ``uvx`` into ``folder`` (to put first on ``PATH``); its path."""
    folder.mkdir(parents=True, exist_ok=True)
    uvx = folder / "uvx"
    uvx.write_text(_UVX, encoding="utf-8")
    uvx.chmod(0o755)
    return uvx


def ci_pins() -> dict[str, str]:
    """The tool pins, ``PINNED_*``, from the GitHub example's ``env:``."""
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    return {k: str(v) for k, v in workflow["env"].items() if k.startswith("PINNED_")}


def uvx_calls(env: Mapping[str, str]) -> list[dict[str, Any]]:
    """The tools the stand-in ``uvx`` ran under ``env``, with their ``--with`` requirements."""
    log = Path(env["UVX_LOG"])
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return [json.loads(line) for line in lines]
