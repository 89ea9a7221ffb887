"""A real workspace adopts nox-workspace with a short noxfile (``../shared/workspaces``).

pydantic-ai keeps each member's tests under the root's ``tests/`` (``tests/graph`` for
pydantic-graph, ``tests/evals`` for pydantic-evals) and sets the root's ``default-groups``.
Each member says where its tests live in its own ``[tool.nox-workspace]``, so the noxfile
needs no member-to-path table. The workspace is copied to ``tmp_path`` with its test folders
added as empty files; without the shared folder the test is skipped.
"""

from __future__ import annotations

import json
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nox_workspace import _registry
from tests.functional.test_shared_workspaces import SHARED

PYDANTIC_AI = SHARED / "pydantic-ai"

pytestmark = [
    pytest.mark.functional,
    pytest.mark.shared,
    pytest.mark.skipif(
        not (PYDANTIC_AI / "pyproject.toml").is_file(),
        reason=f"no pydantic-ai workspace at {PYDANTIC_AI}; nothing to adopt",
    ),
]

#: Where each member's tests live in pydantic-ai, relative to the member's folder.
TESTS = {
    ".": "tests",  # the root member, pydantic-ai, runs the whole root suite
    "pydantic_ai_slim": "../tests/models",
    "pydantic_graph": "../tests/graph",
    "pydantic_evals": "../tests/evals",
    "clai": "../clai/tests",
    "examples": "../tests/test_examples.py",
}

#: The whole noxfile: one session per member from the root, on its own tests, plus the union.
NOXFILE = '''\
"""pydantic-ai's tests: one session per member, from the root, plus the union."""

import nox

import nox_workspace
from nox_workspace import Sync, Target

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox_workspace.session(
    python=PYTHONS,
    chdir="root",
    union="all",
    # the root's default-groups do not reach a member's sync (uv >= 0.12.2): ask for dev
    sync=Sync(groups=["dev"]),
)
def test(session: nox.Session, target: Target) -> None:
    """Run the member's tests (the union runs them all)."""
    session.run("pytest", *target.tests, *session.posargs)
'''


def test_pydantic_ai_lists_a_session_per_member_on_its_tests(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """``nox -l --json`` lists a test session per member and Python plus the union; each
    member's session runs from the root on that member's test folder."""
    assert len(NOXFILE.splitlines()) <= 25
    root = tmp_path / "pydantic-ai"
    shutil.copytree(PYDANTIC_AI, root)
    for folder, relative in TESTS.items():
        path = (root / folder / relative).resolve()
        target = path / "__init__.py" if not path.suffix else path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()
        pyproject = root / folder / "pyproject.toml"
        pyproject.write_text(
            pyproject.read_text() + f'\n[tool.nox-workspace]\ntests = ["{relative}"]\n'
        )
    (root / "noxfile.py").write_text(NOXFILE)
    proc = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "--json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    listed = {row["session"]: row for row in json.loads(proc.stdout)}
    members = ["pydantic-ai", "pydantic-ai-slim", "pydantic-graph", "pydantic-evals", "clai"]
    members.append("pydantic-ai-examples")
    pythons = ("3.10", "3.11", "3.12", "3.13")
    expected = {f"test-{m}-{p}" for m in members for p in pythons}
    expected |= {f"all-{p}" for p in pythons}
    assert set(listed) == expected
    assert {row["python"] for row in listed.values()} == set(pythons)
    assert listed["test-pydantic-graph-3.12"]["python"] == "3.12"

    # What each session would run: target.tests, relative to the root it runs from.
    runpy.run_path(str(root / "noxfile.py"))
    tests = {record.name: record.target.tests for record in _registry.registered()}
    dirs = {record.name: record.target.directory for record in _registry.registered()}
    assert tests["test-pydantic-graph"] == ("tests/graph",)
    assert tests["test-pydantic-evals"] == ("tests/evals",)
    assert tests["test-pydantic-ai"] == ("tests",)
    assert tests["all"] == ()
    assert set(dirs.values()) == {root.resolve()}
