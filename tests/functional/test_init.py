"""``python -m nox_workspace init`` on real workspaces, then the real ``nox`` on its output.

The acceptance of the issue: on the demo (without its own noxfile) and on a workspace made by
``uv init`` with two members, ``nox -l`` lists the sessions and one member's session passes,
with no edit after ``init``. ``uv.lock`` is never touched, an existing file is never
overwritten, and ``--dry-run`` writes nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import run_uv, tree_changes, tree_state

pytestmark = pytest.mark.functional

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "demo"


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """The demo with its wheelhouse, without its noxfile."""
    root = tmp_path / "demo"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns("wheelhouse", ".nox", ".venv"))
    (root / "noxfile.py").unlink()
    make = [sys.executable, str(root / "make_wheelhouse.py"), str(root / "wheelhouse")]
    subprocess.run(make, check=True, capture_output=True)
    return root


def test_init_on_the_demo_then_nox_runs_a_member(demo: Path, env: dict[str, str]) -> None:
    """After ``init``: the files are there (the CI workflow byte for byte the documented
    one), ``nox -l`` lists a session per member and Python and the union, and
    ``nox -s test-greet`` passes; ``uv.lock`` is unchanged."""
    lock = (demo / "uv.lock").read_bytes()
    pyproject = (demo / "pyproject.toml").read_bytes()
    result = run(["-m", "nox_workspace", "init"], demo, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:3] == [
        "wrote noxfile.py",
        "wrote .github/workflows/ci.yml",
        "added [tool.nox-workspace] to pyproject.toml",
    ]
    workflow = (demo / ".github" / "workflows" / "ci.yml").read_bytes()
    assert workflow == (REPO / "docs" / "ci" / "github-actions.yml").read_bytes()
    assert (demo / "pyproject.toml").read_bytes().startswith(pyproject)
    listed = run(["-m", "nox", "-l"], demo, env)
    assert listed.returncode == 0, listed.stderr
    for session in ("test-greet", "test-cli", "test-stats", "all"):
        assert f"* {session}-" in listed.stdout
    ran = run(["-m", "nox", "-s", "test-greet"], demo, env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "test-greet-" in ran.stderr
    assert "failed" not in ran.stderr
    # Each member session (one per Python) changes into the member's folder once, not twice.
    assert ran.stderr.count("nox > cd ") == ran.stderr.count("nox > Running session")
    assert (demo / "uv.lock").read_bytes() == lock


def test_init_on_a_fresh_uv_init_workspace(tmp_path: Path, env: dict[str, str]) -> None:
    """``uv init`` a project and two library members: ``init`` skips the root member, which
    has no tests, and ``nox -s test-a`` passes (it imports ``a``: there are no tests)."""
    run_uv(["init", "-q", "--app", "ws"], tmp_path, env)
    root = tmp_path / "ws"
    run_uv(["init", "-q", "--lib", "a"], root, env)
    run_uv(["init", "-q", "--lib", "b"], root, env)
    run_uv(["lock", "-q"], root, env)
    result = run(["-m", "nox_workspace", "init", "--ci", "gitlab"], root, env)
    assert result.returncode == 0, result.stderr
    example = (REPO / "docs" / "ci" / "gitlab-ci.yml").read_bytes()
    assert (root / ".gitlab-ci.yml").read_bytes() == example
    # The child pipeline includes the member job from the repository (--gitlab-include).
    member_job = (REPO / "docs" / "ci" / "gitlab-member.yml").read_bytes()
    assert (root / ".gitlab" / "nox-workspace-member.yml").read_bytes() == member_job
    assert "skip = true" in (root / "pyproject.toml").read_text()
    listed = run(["-m", "nox", "-l"], root, env)
    assert "* test-a-" in listed.stdout
    assert "test-ws" not in listed.stdout
    ran = run(["-m", "nox", "-s", "test-a"], root, env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "nox > python -c 'import a'" in ran.stderr


def test_an_existing_file_is_refused_and_nothing_is_written(
    demo: Path, env: dict[str, str]
) -> None:
    """A workflow already there: one line naming it, status 2, no file written or changed."""
    (demo / ".gitlab-ci.yml").write_text("stages: [test]\n")
    before = tree_state(demo)
    result = run(["-m", "nox_workspace", "init", "--ci", "gitlab"], demo, env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"nox-workspace: error: {demo / '.gitlab-ci.yml'}: exists already; init never "
        "overwrites a file; move it away, or run with --dry-run to see what init would write"
    ]
    assert tree_changes(before, tree_state(demo)) == []


def test_dry_run_prints_the_diff_and_writes_nothing(demo: Path, env: dict[str, str]) -> None:
    """``--dry-run``: the new files and the root's new table as a unified diff, no write."""
    before = tree_state(demo)
    result = run(["-m", "nox_workspace", "init", "--ci", "none", "--dry-run"], demo, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("--- /dev/null\n+++ b/noxfile.py\n")
    assert "--- a/pyproject.toml\n+++ b/pyproject.toml\n" in result.stdout
    assert '+global = ["noxfile.py"]\n' in result.stdout
    assert ".github" not in result.stdout
    assert tree_changes(before, tree_state(demo)) == []
