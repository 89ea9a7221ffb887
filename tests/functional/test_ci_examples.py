"""The CI examples in docs/ci/ work: they parse, their shell steps run, and linters pass them.

* Both files are parsed; every ``matrix.X`` the GitHub workflow uses, and every ``$NW_X`` the
  GitLab template uses, is a field of the rows ``matrix`` prints.
* The plan steps run, as written, in a real git repository (the install lines aside: tests
  never reach the network), and what they write is what the other jobs read.
* The GitHub aggregate job's step is run against each kind of result of the jobs it needs.
* Workflow linters from PyPI check the files when they are installed (``check-jsonschema``
  with its bundled GitHub and GitLab schemas, ``zizmor`` for GitHub Actions); the tests that
  need one are skipped when it is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nox_workspace._matrix import GITLAB_PREFIX, GITLAB_TEMPLATE_JOB, ROW_FIELDS
from tests.support import (
    git,
    git_commit_all,
    member_toml,
    offline_index,
    package_sources,
    run_uv,
    write_tree,
)

yaml = pytest.importorskip("yaml")

pytestmark = pytest.mark.functional

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / "docs" / "ci" / "github-actions.yml"
GITLAB = REPO / "docs" / "ci" / "gitlab-ci.yml"
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
NOXFILE = """
import nox

import nox_workspace


@nox_workspace.session(union="all")
def test(session: nox.Session, target: nox_workspace.Target) -> None:
    '''Run the tests.'''
"""


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def strings(node: Any) -> Iterator[str]:
    """Every string in a parsed YAML document (keys too)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def steps(workflow: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


def tool(name: str) -> str:
    """A linter installed next to this interpreter or on PATH; skip the test without it."""
    found = shutil.which(
        name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    if found is None:
        pytest.skip(f"{name} is not installed (pip install {name})")
    return found


def shell_env(**values: str) -> dict[str, str]:
    """The environment a CI shell step gets: ``python`` is this interpreter."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, **values}


def run_script(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a CI step's script with bash, as both engines do, minus ``pip install`` lines."""
    kept = "\n".join(line for line in script.splitlines() if "pip install" not in line)
    return subprocess.run(
        ["bash", "-e", "-c", kept], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture
def workspace(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> Path:
    """A git repository: members ``lib`` (alpha) and ``app`` (needs lib); base on ``main``."""
    root = tmp_path / "ws"
    write_tree(
        root,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n[tool.uv]\n'
            + offline_index(wheelhouse),
            "noxfile.py": NOXFILE,
            "packages/lib/pyproject.toml": member_toml("lib", dependencies=["alpha"]),
            "packages/app/pyproject.toml": member_toml(
                "app", dependencies=["lib"], workspace_sources=["lib"]
            ),
            "packages/solo/pyproject.toml": member_toml("solo", dependencies=["beta"]),
            ".gitlab-ci.yml": GITLAB.read_text(encoding="utf-8"),
            ".gitignore": ".nox/\n",
        },
    )
    for name in ("lib", "app", "solo"):
        package_sources(root, f"packages/{name}", name)
    run_uv(["lock"], root, env)
    base = git_commit_all(root, "base")
    git(root, "update-ref", "refs/remotes/origin/main", base)
    with (root / "packages/lib/src/lib/__init__.py").open("a") as handle:
        handle.write("CHANGED = True\n")
    git_commit_all(root, "change lib")
    return root


# --------------------------------------------------------------------------------------------
# GitHub Actions


def test_github_workflow_uses_only_matrix_fields_that_rows_have() -> None:
    used = {
        field
        for text in strings(load(GITHUB))
        for expression in EXPRESSION.findall(text)
        for field in re.findall(r"\bmatrix\.([A-Za-z_][\w-]*)", expression)
    }
    assert used, "the workflow uses no matrix field"
    assert used <= set(ROW_FIELDS), f"not row fields: {sorted(used - set(ROW_FIELDS))}"


def test_github_shell_steps_take_values_through_env_only() -> None:
    for step in steps(load(GITHUB)):
        if "run" in step:
            assert "${{" not in step["run"], f"an expression in a shell step: {step['run']!r}"


def test_github_workflow_has_plan_member_matrix_and_one_aggregate_job() -> None:
    jobs = load(GITHUB)["jobs"]
    plan, member, aggregate = jobs["plan"], jobs["member"], jobs["ci-ok"]
    assert plan["outputs"] == {
        "matrix": "${{ steps.plan.outputs.matrix }}",
        "any": "${{ steps.plan.outputs.any }}",
    }
    checkout = next(s for s in plan["steps"] if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    assert member["needs"] == "plan"
    assert member["if"] == "needs.plan.outputs.any == 'true'"
    assert member["strategy"] == {
        "fail-fast": False,
        "matrix": "${{ fromJSON(needs.plan.outputs.matrix) }}",
    }
    assert set(aggregate["needs"]) == set(jobs) - {"ci-ok"}
    assert aggregate["if"] == "always()"


@pytest.mark.parametrize(
    ("results", "status"),
    [
        ("success success", 0),
        ("success skipped", 0),
        ("failure skipped", 1),
        ("success failure", 1),
        ("success cancelled", 1),
    ],
)
def test_the_aggregate_job_fails_exactly_when_a_needed_job_failed_or_was_cancelled(
    tmp_path: Path, results: str, status: int
) -> None:
    (step,) = load(GITHUB)["jobs"]["ci-ok"]["steps"]
    result = run_script(step["run"], tmp_path, shell_env(RESULTS=results))
    assert result.returncode == status, result.stdout + result.stderr


def plan_step() -> dict[str, Any]:
    return next(s for s in load(GITHUB)["jobs"]["plan"]["steps"] if s.get("id") == "plan")


def test_github_plan_step_on_a_pull_request_plans_the_affected_members(
    workspace: Path, tmp_path: Path
) -> None:
    output, summary = tmp_path / "output", tmp_path / "summary"
    env = shell_env(
        EVENT="pull_request",
        BASE_REF="main",
        GITHUB_OUTPUT=str(output),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    result = run_script(plan_step()["run"], workspace, env)
    assert result.returncode == 0, result.stderr
    values = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert values["any"] == "true"
    include = json.loads(values["matrix"])["include"]
    assert [row["session"] for row in include] == ["test-app", "test-lib"]
    assert all(set(row) == set(ROW_FIELDS) for row in include)
    assert "lib: affected" in result.stderr  # --explain
    assert "2 of 3 member sessions to run" in summary.read_text()


def test_github_plan_step_on_a_push_plans_every_member(workspace: Path, tmp_path: Path) -> None:
    output = tmp_path / "output"
    env = shell_env(EVENT="push", BASE_REF="", GITHUB_OUTPUT=str(output))
    result = run_script(plan_step()["run"], workspace, env)
    assert result.returncode == 0, result.stderr
    values = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert len(json.loads(values["matrix"])["include"]) == 3


def test_github_workflow_passes_the_schema_check() -> None:
    checker = tool("check-jsonschema")
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.github-workflows", str(GITHUB)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_workflow_passes_zizmor(tmp_path: Path) -> None:
    """zizmor's audits (template injection, credentials left in the checkout, permissions...)
    find nothing. The example names GitHub's own actions by tag for readability, which
    zizmor's default policy flags; the policy here accepts tags for ``actions/*`` only."""
    zizmor = tool("zizmor")
    config = tmp_path / "zizmor.yml"
    config.write_text(
        "rules:\n  unpinned-uses:\n    config:\n      policies:\n        'actions/*': ref-pin\n"
    )
    result = subprocess.run(
        [zizmor, "--offline", "--config", str(config), str(GITHUB)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# GitLab CI


def test_gitlab_pipeline_plans_then_triggers_the_child_pipeline_and_mirrors_it() -> None:
    jobs = load(GITLAB)
    plan, members = jobs["plan"], jobs["members"]
    assert plan["variables"]["GIT_DEPTH"] == "0"
    assert plan["artifacts"]["paths"] == ["member-jobs.yml"]
    assert members["needs"] == ["plan"]
    assert members["trigger"] == {
        "include": [{"artifact": "member-jobs.yml", "job": "plan"}],
        "strategy": "depend",
    }
    assert GITLAB_TEMPLATE_JOB in jobs


def gitlab_variables(text: str) -> set[str]:
    return set(re.findall(rf"\$\{{?({GITLAB_PREFIX}[A-Z_]+)", text))


def test_gitlab_template_uses_only_variables_that_rows_have() -> None:
    template = yaml.safe_dump(load(GITLAB)[GITLAB_TEMPLATE_JOB])
    used = gitlab_variables(template)
    assert used, "the template uses no row variable"
    assert used <= {GITLAB_PREFIX + field.upper() for field in ROW_FIELDS}


def child_pipeline(workspace: Path, **variables: str) -> tuple[dict[str, Any], str]:
    """Run the plan job's script as GitLab would; the child pipeline it wrote, and stderr."""
    script = "\n".join(load(GITLAB)["plan"]["script"])
    result = run_script(script, workspace, shell_env(**variables))
    assert result.returncode == 0, result.stderr
    return load(workspace / "member-jobs.yml"), result.stderr


def test_gitlab_plan_script_writes_a_child_pipeline_of_the_affected_members(
    workspace: Path,
) -> None:
    base = git(workspace, "rev-parse", "origin/main").strip()
    child, stderr = child_pipeline(workspace, CI_MERGE_REQUEST_DIFF_BASE_SHA=base)
    assert child[GITLAB_TEMPLATE_JOB] == load(GITLAB)[GITLAB_TEMPLATE_JOB]
    jobs = {name: job for name, job in child.items() if not name.startswith(".")}
    assert sorted(jobs) == ["test-app", "test-lib"]
    for name, job in jobs.items():
        assert job["extends"] == GITLAB_TEMPLATE_JOB
        assert set(job["variables"]) == {GITLAB_PREFIX + f.upper() for f in ROW_FIELDS}
        assert job["variables"]["NW_SESSION"] == name
    assert "solo: not affected" in stderr


def test_gitlab_plan_script_on_the_default_branch_plans_every_member(workspace: Path) -> None:
    child, _ = child_pipeline(workspace)
    assert sorted(name for name in child if not name.startswith(".")) == [
        "test-app",
        "test-lib",
        "test-solo",
    ]


def test_gitlab_child_pipeline_without_affected_members_still_has_a_job(
    workspace: Path,
) -> None:
    head = git(workspace, "rev-parse", "HEAD").strip()
    child, _ = child_pipeline(workspace, CI_MERGE_REQUEST_DIFF_BASE_SHA=head)
    assert list(child) == ["nox-workspace-nothing-to-run"]


def test_gitlab_files_pass_the_schema_check(workspace: Path) -> None:
    checker = tool("check-jsonschema")
    base = git(workspace, "rev-parse", "origin/main").strip()
    child_pipeline(workspace, CI_MERGE_REQUEST_DIFF_BASE_SHA=base)
    shutil.copy(workspace / "member-jobs.yml", workspace / "affected-jobs.yml")
    head = git(workspace, "rev-parse", "HEAD").strip()
    child_pipeline(workspace, CI_MERGE_REQUEST_DIFF_BASE_SHA=head)
    files = [GITLAB, workspace / "affected-jobs.yml", workspace / "member-jobs.yml"]
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.gitlab-ci", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
