"""The import guard under real pytest, in a real shared ``.venv`` that uv filled.

The test wheelhouse has no pytest. Rather than reach a package index, pytest, its
dependencies and nox-workspace are re-packed into wheels from the files installed beside
these tests (``tool_wheelhouse``) and installed into the workspace's venv with
``uv pip install --no-deps``: offline, and the venv holds no Nox, as in the issue. A
``--system-site-packages`` venv would let the tests' own packages leak in, which is the very
thing under test.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.shared_venv import (
    B_TEST,
    install_pytest_and_guard,
    leaky_workspace,
    tool_wheelhouse,
)
from tests.support import run_uv, uv_bin, write_tree

pytestmark = pytest.mark.functional

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "workspaces"
PYDANTIC_AI = SHARED / "pydantic-ai"


@pytest.fixture(scope="session")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tool_wheelhouse(tmp_path_factory.mktemp("tools"))


@pytest.fixture
def workspace(tmp_path: Path, wheelhouse: Path, env: dict[str, str], tools: Path) -> Path:
    """The #13749 workspace, its shared ``.venv`` synced with every member, plus pytest."""
    root = leaky_workspace(tmp_path / "ws", wheelhouse, env)
    install_pytest_and_guard(root / ".venv", tools, env)
    return root


def uv_run_pytest(
    root: Path, env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``uv run --package b pytest ARGS`` in the shared venv (``--frozen``: never writes)."""
    return subprocess.run(
        [
            uv_bin(),
            "run",
            "--package",
            "b",
            "--frozen",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *args,
        ],
        cwd=cwd or root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_b_passes_unguarded_fails_guarded_and_passes_once_it_declares_alpha(
    workspace: Path, env: dict[str, str]
) -> None:
    """The acceptance of the issue: in the shared venv ``b``'s test passes by accident; with
    the guard (the member found from the test path, as ``uv run`` would) it fails on
    ``import alpha`` with the message; after ``b`` declares ``alpha`` and ``uv lock``, it
    passes with the guard too. The venv has no Nox."""
    python = workspace / ".venv" / "bin" / "python"
    no_nox = subprocess.run([python, "-c", "import nox"], capture_output=True, check=False)
    assert no_nox.returncode != 0
    tests = "packages/b/tests"
    plain = uv_run_pytest(workspace, env, tests)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    guarded = uv_run_pytest(workspace, env, "-p", "nox_workspace.guard", tests)
    assert guarded.returncode != 0
    assert (
        "b's code imports alpha (distribution alpha 1.0), which b's locked closure does not "
        "install: a brings it here, and b's own session cannot import it; fix: add alpha to "
        "b's dependencies or test group, then run `uv lock`"
    ) in guarded.stdout
    pyproject = workspace / "packages" / "b" / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('["beta", "optlib"]', '["beta", "optlib", "alpha"]'))
    run_uv(["lock"], workspace, env)
    fixed = uv_run_pytest(workspace, env, "-p", "nox_workspace.guard", tests)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr


def test_configured_in_the_members_pytest_ini_and_optional_imports_of_libraries_pass(
    workspace: Path, env: dict[str, str]
) -> None:
    """Set in the member's own pytest configuration, the guard judges ``b``'s test; the
    library ``optlib`` that ``b`` locks imports ``alpha`` for itself, which is allowed and
    succeeds (alpha is installed), while ``b``'s direct ``import alpha`` fails."""
    member = workspace / "packages" / "b"
    write_tree(
        member,
        {
            "pytest.ini": "[pytest]\naddopts = -p nox_workspace.guard\nnw_member = b\n",
            "tests/test_optional.py": (
                "import optlib\n\n\ndef test_optlib_found_alpha():\n"
                "    assert optlib.alpha is not None\n"
            ),
        },
    )
    result = uv_run_pytest(
        workspace, env, "-v", "--continue-on-collection-errors", "tests", cwd=member
    )
    assert "1 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert "ERROR tests/test_b.py" in result.stdout
    assert "import guard: imports limited to the locked closure of b" in result.stdout


def test_the_member_is_named_by_option_or_environment_else_refused(
    workspace: Path, env: dict[str, str]
) -> None:
    """Tests kept outside any member (``checks/`` at the root) need the member named:
    ``--nw-member b`` or ``NOX_WORKSPACE_MEMBER=b`` judge them for ``b``; without a name the
    run stops with a usage error rather than guard nothing; an unknown member is named."""
    write_tree(workspace, {"checks/test_root.py": B_TEST})
    tests = "checks"
    option = uv_run_pytest(workspace, env, "-p", "nox_workspace.guard", "--nw-member", "b", tests)
    assert "b's code imports alpha" in option.stdout
    named = uv_run_pytest(
        workspace, {**env, "NOX_WORKSPACE_MEMBER": "b"}, "-p", "nox_workspace.guard", tests
    )
    assert "b's code imports alpha" in named.stdout
    unnamed = uv_run_pytest(workspace, env, "-p", "nox_workspace.guard", tests)
    assert unnamed.returncode == 4
    assert "no member named, and the test paths are not inside one member's folder" in (
        unnamed.stderr
    )
    unknown = uv_run_pytest(
        workspace, {**env, "NOX_WORKSPACE_MEMBER": "zz"}, "-p", "nox_workspace.guard", tests
    )
    assert unknown.returncode == 4
    assert "no workspace member named 'zz'" in unknown.stderr


@pytest.mark.shared
@pytest.mark.skipif(not PYDANTIC_AI.is_dir(), reason=f"no pydantic-ai workspace at {SHARED}")
def test_pydantic_graph_tests_cannot_import_pydantic_ai(tmp_path: Path) -> None:
    """On the real pydantic-ai lock: a test in ``tests/graph`` (pydantic-graph's tests live at
    the root) that imports ``pydantic_ai`` fails collection, because pydantic-graph's closure
    lacks pydantic-ai-slim. ``pydantic_ai`` is a stub in the member's folder, found on
    ``sys.path`` as an editable install would be; it is never run."""
    root = tmp_path / "pydantic-ai"
    shutil.copytree(PYDANTIC_AI, root, ignore=shutil.ignore_patterns(".git", ".venv"))
    write_tree(
        root,
        {
            "pydantic_ai_slim/pydantic_ai/__init__.py": "raise RuntimeError('a stub')\n",
            "tests/graph/test_stub.py": "import pydantic_ai\n",
            "empty.ini": "[pytest]\n",
        },
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            "empty.ini",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "nox_workspace.guard",
            "--nw-member",
            "pydantic-graph",
            "tests/graph",
        ],
        cwd=root,
        env={"PYTHONPATH": str(root / "pydantic_ai_slim"), "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert (
        "pydantic-graph's code imports pydantic_ai (distribution pydantic-ai-slim), which "
        "pydantic-graph's locked closure does not install"
    ) in result.stdout, result.stdout + result.stderr
    assert "RuntimeError" not in result.stdout
