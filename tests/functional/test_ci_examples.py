"""The CI examples in docs/ci/ work: they parse, their shell steps run, and linters pass them.

* Both pipelines are parsed; every ``matrix.X`` the GitHub workflow uses, and every ``$NW_X``
  the GitLab template uses, is a field of the rows ``matrix`` prints.
* The plan steps run, as written, in a real git repository, and what they write is what the
  other jobs read; the member steps run the real ``nox`` on it. Tests never reach the
  network, so ``pip install`` lines are left out and ``uvx`` is a stand-in that records the
  requirements it was given and runs the tool installed beside the tests (see
  ``tests/functional/ci_steps.py``).
* The GitHub aggregate job's step is run against each kind of result of the jobs it needs.
* Every action is pinned to a commit with its release tag in a comment, as the table in
  docs/reference/ci-actions.md says; the tools are pinned to the versions this project tests.
* Linters check the files: ``actionlint`` (with ``shellcheck``) and ``zizmor`` with its
  default policy for the workflow, ``check-jsonschema`` with its bundled GitHub and GitLab
  schemas, ``shellcheck`` for the GitLab scripts. They come with the ``test`` dependency
  group; a test that needs one is skipped, saying so, when it is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from nox_workspace._matrix import GITLAB_PREFIX, GITLAB_TEMPLATE_JOB, ROW_FIELDS
from tests.functional.ci_steps import BIN, ci_pins, uvx_calls
from tests.support import (
    git,
    git_commit_all,
    member_toml,
    offline_index,
    package_sources,
    run_uv,
    write_tree,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

yaml = pytest.importorskip("yaml")

pytestmark = pytest.mark.functional

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / "docs" / "ci" / "github-actions.yml"
GITLAB = REPO / "docs" / "ci" / "gitlab-ci.yml"
GITLAB_MEMBER = REPO / "docs" / "ci" / "gitlab-member.yml"
PINS_TABLE = REPO / "docs" / "reference" / "ci-actions.md"
#: Where the GitLab example expects its member job template in the user's repository.
MEMBER_FILE = ".gitlab/nox-workspace-member.yml"
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
#: ``uses: owner/repo[/folder]@<commit> # vX.Y.Z``, the only form the workflow may use.
PINNED_USES = re.compile(
    r"^\s*(?:- )?uses: (?P<repo>[\w.-]+/[\w.-]+)(?P<folder>/[\w./-]+)?"
    r"@(?P<commit>[0-9a-f]{40}) # (?P<tag>v\d+\.\d+\.\d+)$"
)
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
    found = shutil.which(name, path=os.pathsep.join([str(BIN), os.environ.get("PATH", "")]))
    if found is None:
        pytest.skip(f"{name} is not installed (it comes with the test dependency group)")
    return found


def run_script(
    script: str, cwd: Path, env: Mapping[str, str], **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run a CI step's script with bash, as both engines do, minus ``pip install`` lines."""
    kept = "\n".join(line for line in script.splitlines() if "pip install" not in line)
    return subprocess.run(
        ["bash", "-e", "-c", kept],
        cwd=cwd,
        env={**env, **extra},
        capture_output=True,
        text=True,
        check=False,
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
            MEMBER_FILE: GITLAB_MEMBER.read_text(encoding="utf-8"),
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
# Pins


def pinned_uses(path: Path) -> list[re.Match[str]]:
    """Every ``uses:`` line of the workflow, each matched against the pinned form."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if "uses:" in line]
    matches = [PINNED_USES.match(line) for line in lines]
    unpinned = [line.strip() for line, match in zip(lines, matches, strict=True) if not match]
    assert not unpinned, f"not `owner/repo@<commit> # vX.Y.Z`: {unpinned}"
    return [match for match in matches if match]


def pins_table() -> set[tuple[str, str, str]]:
    """The (action, tag, commit) rows of the table in docs/reference/ci-actions.md."""
    row = re.compile(r"^\| `([\w.-]+/[\w.-]+)` \| `(v[\d.]+)` \| `([0-9a-f]{40})` \|$", re.M)
    return set(row.findall(PINS_TABLE.read_text(encoding="utf-8")))


def test_every_action_is_pinned_to_a_commit_as_the_docs_table_says() -> None:
    uses = pinned_uses(GITHUB)
    parsed = [step["uses"] for step in steps(load(GITHUB)) if "uses" in step]
    assert len(uses) == len(parsed), "a `uses:` line the pin check did not see"
    used = {(m["repo"], m["tag"], m["commit"]) for m in uses}
    table = pins_table()
    assert used == table, f"workflow only: {used - table}; table only: {table - used}"
    # One pin per action: two commits of one repository (or one tag on two commits) is a slip.
    assert len({repo for repo, _, _ in used}) == len(used)


def test_the_pinned_majors_pass_actionlint_which_knows_their_runtime_and_inputs(
    tmp_path: Path,
) -> None:
    """actionlint knows the runtime and inputs of popular actions by major version, not by
    commit: the workflow with each pin written as its tag's major (``actions/checkout@v7``)
    must pass too, so no pinned release runs on a deprecated Node and every input exists."""
    actionlint = tool("actionlint")
    text = GITHUB.read_text(encoding="utf-8")
    by_major = re.sub(r"@[0-9a-f]{40} # (v\d+)\.\d+\.\d+$", r"@\1", text, flags=re.M)
    assert by_major.count("@v") == len(pinned_uses(GITHUB))
    workflow = tmp_path / "ci.yml"
    workflow.write_text(by_major, encoding="utf-8")
    result = subprocess.run(
        [actionlint, "-no-color", str(workflow)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_tools_are_pinned_to_what_this_project_tests_and_documents() -> None:
    """uv and nox: the versions of this repository's uv.lock; nox-workspace: the release
    these docs describe (the package's version without a ``.dev`` suffix). Both examples
    use the same pins."""
    lock = tomllib.loads((REPO / "uv.lock").read_text(encoding="utf-8"))
    locked = {package["name"]: package["version"] for package in lock["package"]}
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert ci_pins() == {
        "PINNED_UV": locked["uv"],
        "PINNED_NOX": locked["nox"],
        "PINNED_NOX_WORKSPACE": Version(project["project"]["version"]).base_version,
    }
    gitlab = {k: v for k, v in load(GITLAB)["variables"].items() if k.startswith("PINNED_")}
    assert gitlab == ci_pins()
    table = PINS_TABLE.read_text(encoding="utf-8")
    for name, version in ci_pins().items():
        assert re.search(rf"^\| `{name}` \|.*\| `{re.escape(version)}` \|$", table, re.M), name


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
    result = run_script(step["run"], tmp_path, os.environ, RESULTS=results)
    assert result.returncode == status, result.stdout + result.stderr


def step_named(job: str, name: str) -> dict[str, Any]:
    jobs = load(GITHUB)["jobs"]
    return next(s for s in jobs[job]["steps"] if s.get("id") == name or s.get("name") == name)


def matrix_tool_call(env: Mapping[str, str]) -> dict[str, Any]:
    """The one ``uvx`` call a plan step made; it must name the pinned tools."""
    (call,) = uvx_calls(env)
    assert call == {
        "tool": f"nox-workspace@{env['PINNED_NOX_WORKSPACE']}",
        "with": [f"nox=={env['PINNED_NOX']}", f"uv=={env['PINNED_UV']}"],
    }
    return call


def test_github_plan_step_on_a_pull_request_plans_the_affected_members(
    workspace: Path, tmp_path: Path, ci_env: dict[str, str]
) -> None:
    output, summary = tmp_path / "output", tmp_path / "summary"
    result = run_script(
        step_named("plan", "plan")["run"],
        workspace,
        ci_env,
        EVENT="pull_request",
        BASE_REF="main",
        GITHUB_OUTPUT=str(output),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    assert result.returncode == 0, result.stderr
    matrix_tool_call(ci_env)
    values = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert values["any"] == "true"
    include = json.loads(values["matrix"])["include"]
    assert [row["session"] for row in include] == ["test-app", "test-lib"]
    assert all(set(row) == set(ROW_FIELDS) for row in include)
    assert "lib: affected" in result.stderr  # --explain
    assert "2 of 3 member sessions to run" in summary.read_text()


def test_github_plan_step_on_a_push_plans_every_member(
    workspace: Path, tmp_path: Path, ci_env: dict[str, str]
) -> None:
    output = tmp_path / "output"
    result = run_script(
        step_named("plan", "plan")["run"],
        workspace,
        ci_env,
        EVENT="push",
        BASE_REF="",
        GITHUB_OUTPUT=str(output),
    )
    assert result.returncode == 0, result.stderr
    matrix_tool_call(ci_env)
    values = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert len(json.loads(values["matrix"])["include"]) == 3


def test_github_member_step_runs_the_session_with_the_pinned_tools(
    workspace: Path, ci_env: dict[str, str]
) -> None:
    step = step_named("member", "Run the member session")
    result = run_script(
        step["run"], workspace, ci_env, SESSION="test-lib", MEMBER_PATH="packages/lib"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Session test-lib was successful" in result.stderr
    assert uvx_calls(ci_env) == [
        {
            "tool": f"nox@{ci_env['PINNED_NOX']}",
            "with": [
                f"nox-workspace=={ci_env['PINNED_NOX_WORKSPACE']}",
                f"uv=={ci_env['PINNED_UV']}",
            ],
        }
    ]


def test_github_workflow_passes_the_schema_check() -> None:
    checker = tool("check-jsonschema")
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.github-workflows", str(GITHUB)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_workflow_passes_actionlint_with_shellcheck() -> None:
    """actionlint checks the workflow's structure, expressions and, through shellcheck,
    every ``run:`` script."""
    actionlint, shellcheck = tool("actionlint"), tool("shellcheck")
    result = subprocess.run(
        [actionlint, "-no-color", f"-shellcheck={shellcheck}", str(GITHUB)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_github_workflow_passes_zizmor_with_its_default_policy() -> None:
    """zizmor's offline audits (unpinned actions, template injection, credentials left in
    the checkout, permissions...) find nothing, with no configuration and no ignore
    comments honoured."""
    zizmor = tool("zizmor")
    result = subprocess.run(
        [zizmor, "--offline", "--no-config", "--no-ignores", str(GITHUB)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# GitLab CI

#: A reference to a variable in a GitLab variable's value: ``$$`` is a literal ``$``.
GITLAB_REFERENCE = re.compile(r"\$\$|\$\{(\w+)\}|\$(\w+)")


def gitlab_sees(variables: Mapping[str, Any]) -> dict[str, str]:
    """What a GitLab job's script sees for the job's ``variables:``, by GitLab's documented
    rules: in a value, ``$NAME`` and ``${NAME}`` become that variable's value (empty when it
    is not defined) and ``$$`` a literal ``$``, unless the variable is given as
    ``{value: ..., expand: false}``, which is passed as it is."""
    raw: dict[str, str] = {}
    expand: dict[str, bool] = {}
    for name, spec in variables.items():
        if isinstance(spec, dict):
            raw[name], expand[name] = str(spec["value"]), spec.get("expand", True) is not False
        else:
            raw[name], expand[name] = str(spec), True

    def replace(match: re.Match[str]) -> str:
        if match.group() == "$$":
            return "$"
        return raw.get(match.group(1) or match.group(2), "")

    return {
        name: GITLAB_REFERENCE.sub(replace, value) if expand[name] else value
        for name, value in raw.items()
    }


def test_gitlab_pipeline_plans_then_triggers_the_child_pipeline_and_mirrors_it() -> None:
    jobs = load(GITLAB)
    plan, members = jobs["plan"], jobs["members"]
    assert plan["variables"]["GIT_DEPTH"] == "0"
    assert plan["artifacts"]["paths"] == ["member-jobs.yml"]
    assert any(MEMBER_FILE in line for line in plan["script"])
    assert members["needs"] == ["plan"]
    assert members["trigger"] == {
        "include": [{"artifact": "member-jobs.yml", "job": "plan"}],
        "strategy": "depend",
    }
    assert list(load(GITLAB_MEMBER)) == [GITLAB_TEMPLATE_JOB]


def gitlab_variables(text: str) -> set[str]:
    return set(re.findall(rf"\$\{{?({GITLAB_PREFIX}[A-Z_]+)", text))


def test_gitlab_template_uses_only_variables_that_rows_have() -> None:
    template = yaml.safe_dump(load(GITLAB_MEMBER)[GITLAB_TEMPLATE_JOB])
    used = gitlab_variables(template)
    assert used, "the template uses no row variable"
    assert used <= {GITLAB_PREFIX + field.upper() for field in ROW_FIELDS}


def child_pipeline(
    workspace: Path, env: Mapping[str, str], **variables: str
) -> tuple[dict[str, Any], str]:
    """Run the plan job's script as GitLab would; the child pipeline it wrote, and stderr."""
    script = "\n".join(load(GITLAB)["plan"]["script"])
    result = run_script(script, workspace, env, **variables)
    assert result.returncode == 0, result.stderr
    return load(workspace / "member-jobs.yml"), result.stderr


def member_jobs(child: Mapping[str, Any]) -> dict[str, Any]:
    """The jobs of a child pipeline: not hidden, not a global keyword."""
    return {
        name: job
        for name, job in child.items()
        if not name.startswith(".") and name not in {"include", "variables", "stages"}
    }


def test_gitlab_plan_script_writes_a_child_pipeline_of_the_affected_members(
    workspace: Path, ci_env: dict[str, str]
) -> None:
    base = git(workspace, "rev-parse", "origin/main").strip()
    child, stderr = child_pipeline(workspace, ci_env, CI_MERGE_REQUEST_DIFF_BASE_SHA=base)
    matrix_tool_call(ci_env)
    # The template job reaches the child pipeline: copied, or included from the repository.
    template = load(GITLAB_MEMBER)[GITLAB_TEMPLATE_JOB]
    assert child.get(GITLAB_TEMPLATE_JOB) == template or child.get("include") == [
        {"local": MEMBER_FILE}
    ]
    jobs = member_jobs(child)
    assert sorted(jobs) == ["test-app", "test-lib"]
    for name, job in jobs.items():
        assert job["extends"] == GITLAB_TEMPLATE_JOB
        assert set(job["variables"]) == {GITLAB_PREFIX + f.upper() for f in ROW_FIELDS}
        assert gitlab_sees(job["variables"])["NW_SESSION"] == name
    assert "solo: not affected" in stderr


def test_gitlab_plan_script_on_the_default_branch_plans_every_member(
    workspace: Path, ci_env: dict[str, str]
) -> None:
    child, _ = child_pipeline(workspace, ci_env)
    assert sorted(member_jobs(child)) == ["test-app", "test-lib", "test-solo"]


def test_gitlab_child_pipeline_without_affected_members_still_has_a_job(
    workspace: Path, ci_env: dict[str, str]
) -> None:
    head = git(workspace, "rev-parse", "HEAD").strip()
    child, _ = child_pipeline(workspace, ci_env, CI_MERGE_REQUEST_DIFF_BASE_SHA=head)
    assert list(child) == ["nox-workspace-nothing-to-run"]


def test_gitlab_member_job_runs_the_session_then_skips_it_at_the_same_key(
    workspace: Path, ci_env: dict[str, str]
) -> None:
    """The template's script, run twice in one folder as GitLab would with the job's cache
    restored: the first run runs the session with the pinned tools and leaves the marker,
    the second finds it and runs nothing."""
    child, _ = child_pipeline(workspace, ci_env)
    seen = gitlab_sees(child["test-lib"]["variables"])
    script = "\n".join(load(GITLAB_MEMBER)[GITLAB_TEMPLATE_JOB]["script"])
    first = run_script(script, workspace, ci_env, **seen)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Session test-lib was successful" in first.stderr
    assert (workspace / ".nox-green" / "key").read_text().strip() == seen["NW_KEY"]
    second = run_script(script, workspace, ci_env, **seen)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "test-lib already passed at key" in second.stdout
    tools = [call["tool"] for call in uvx_calls(ci_env)]
    assert tools == [
        f"nox-workspace@{ci_env['PINNED_NOX_WORKSPACE']}",
        f"nox@{ci_env['PINNED_NOX']}",
    ]


def test_gitlab_scripts_pass_shellcheck(tmp_path: Path) -> None:
    shellcheck = tool("shellcheck")
    scripts = {
        "plan": load(GITLAB)["plan"]["script"],
        "member": load(GITLAB_MEMBER)[GITLAB_TEMPLATE_JOB]["script"],
    }
    for name, lines in scripts.items():
        path = tmp_path / f"{name}.sh"
        path.write_text("#!/bin/bash\n" + "\n".join(lines) + "\n", encoding="utf-8")
        result = subprocess.run(
            [shellcheck, "--shell=bash", str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_gitlab_files_pass_the_schema_check(workspace: Path, ci_env: dict[str, str]) -> None:
    checker = tool("check-jsonschema")
    base = git(workspace, "rev-parse", "origin/main").strip()
    child_pipeline(workspace, ci_env, CI_MERGE_REQUEST_DIFF_BASE_SHA=base)
    shutil.copy(workspace / "member-jobs.yml", workspace / "affected-jobs.yml")
    head = git(workspace, "rev-parse", "HEAD").strip()
    child_pipeline(workspace, ci_env, CI_MERGE_REQUEST_DIFF_BASE_SHA=head)
    files = [GITLAB, GITLAB_MEMBER, workspace / "affected-jobs.yml", workspace / "member-jobs.yml"]
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.gitlab-ci", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# GitLab: a member path with a dollar, and the template included from the repository


@pytest.fixture
def dollar_workspace(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> Path:
    """A git repository whose one member lives in the folder ``packages/$NAME``."""
    root = tmp_path / "dollar"
    write_tree(
        root,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n[tool.uv]\n'
            + offline_index(wheelhouse),
            "noxfile.py": NOXFILE,
            "packages/$NAME/pyproject.toml": member_toml("dollar", dependencies=["alpha"]),
            MEMBER_FILE: GITLAB_MEMBER.read_text(encoding="utf-8"),
            ".gitignore": ".nox/\n",
        },
    )
    package_sources(root, "packages/$NAME", "dollar")
    run_uv(["lock"], root, env)
    git_commit_all(root, "base")
    return root


def test_gitlab_jobs_see_a_member_path_with_a_dollar_as_it_is(
    dollar_workspace: Path, ci_env: dict[str, str]
) -> None:
    child, _ = child_pipeline(dollar_workspace, ci_env)
    (job,) = member_jobs(child).values()
    assert gitlab_sees(job["variables"])["NW_PATH"] == "packages/$NAME"


def test_gitlab_child_pipeline_can_include_the_template_file(
    workspace: Path, ci_env: dict[str, str]
) -> None:
    result = subprocess.run(
        [
            str(BIN / "nox-workspace"),
            "matrix",
            "--format",
            "gitlab",
            "--gitlab-include",
            MEMBER_FILE,
        ],
        cwd=workspace,
        env=ci_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    child = yaml.safe_load(result.stdout)
    assert child["include"] == [{"local": MEMBER_FILE}]
    assert GITLAB_TEMPLATE_JOB not in child
    jobs = member_jobs(child)
    assert sorted(jobs) == ["test-app", "test-lib", "test-solo"]
    assert all(job["extends"] == GITLAB_TEMPLATE_JOB for job in jobs.values())
