"""Names from the outside: member folders no shell, YAML file or JSON reader should choke on.

The workspace's own folder and its members' folders hold spaces, quotes, ``$( )`` and
backticks, non-ASCII letters, a newline, and characters YAML refuses or folds (DEL, a C1
control, NEL, the line separator). Project names stay valid PEP 508 names (``my-pkg``,
``its``, ``naive``...): names are normalized, paths are not. Through sessions, the matrix in
every format, and the shell steps of the CI examples in ``docs/ci/``, each path must arrive
exactly as it is on disk, and no command hidden in a name may run.
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

from nox_workspace._workspace import discover
from tests.functional.nox_project import NOXFILE, PROBE, locked_closure
from tests.support import (
    cli,
    git,
    git_commit_all,
    member_toml,
    offline_index,
    package_sources,
    run_uv,
    tool_env,
    uv_bin,
    venv_distributions,
    write_tree,
)

yaml = pytest.importorskip("yaml")

pytestmark = pytest.mark.functional

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / "docs" / "ci" / "github-actions.yml"
GITLAB = REPO / "docs" / "ci" / "gitlab-ci.yml"
GITLAB_MEMBER = REPO / "docs" / "ci" / "gitlab-member.yml"

#: The workspace's folder (inside tmp_path).
ROOT_NAME = 'it\'s a "wörk" $(touch PWNED) `touch PWNED` space'
#: Member name -> its folder, relative to the root.
MEMBERS = {
    "my-pkg": "packages/my pkg",
    "its": "packages/it's",
    "naive": "packages/naïve",
    "pwned": "packages/$(touch PWNED)`touch PWNED`;touch PWNED",
    "quoted": 'packages/say "hi" \\ bye',
    "newline": "packages/new\nline",
    "controls": "packages/del\x7f c1\x9b nel\x85 ls\u2028 end",
}
EXPRESSION = re.compile(r"\$\{\{\s*matrix\.(\w+)\s*\}\}")


@pytest.fixture
def root(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> Iterator[Path]:
    """The odd workspace, locked, committed (base ``origin/main``), with a noxfile whose
    session records what its venv holds and where it ran; afterwards, no command hidden in a
    name ran anywhere."""
    root = tmp_path / ROOT_NAME
    files: dict[str, str | bytes] = {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n[tool.uv]\n'
        + offline_index(wheelhouse),
        "noxfile.py": NOXFILE.format(
            probe=PROBE, reports=str(tmp_path / "reports"), options='union="all"'
        ),
        ".gitignore": ".nox/\n",
    }
    for name, folder in MEMBERS.items():
        needs = ["my-pkg"] if name == "naive" else []
        files[f"{folder}/pyproject.toml"] = member_toml(
            name, dependencies=[*needs, "alpha"], workspace_sources=needs
        )
    write_tree(root, files)
    for name, folder in MEMBERS.items():
        package_sources(root, folder, name)
    (tmp_path / "reports").mkdir()
    run_uv(["lock"], root, env)
    base = git_commit_all(root, "base")
    git(root, "update-ref", "refs/remotes/origin/main", base)
    yield root
    planted = list(tmp_path.rglob("PWNED*")) + list(Path.cwd().glob("PWNED*"))
    assert planted == [], "a command hidden in a folder name ran"


def shell_env(env: dict[str, str], **values: str) -> dict[str, str]:
    """A CI step's environment: ``env`` (the ``ci_env`` fixture) and the step's variables."""
    return {**env, **values}


def cli_ok(
    root: Path, env: dict[str, str], *args: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    """``python -m nox_workspace ARGS`` in ``root``, which must succeed."""
    result = cli(*args, cwd=root, env={**env, **extra})
    assert result.returncode == 0, result.stderr
    return result


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A CI step's script, as both engines run it (``bash -e``), minus ``pip install`` lines."""
    kept = "\n".join(line for line in script.splitlines() if "pip install" not in line)
    return subprocess.run(
        ["bash", "-e", "-c", kept], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_discovery_and_uv_agree_on_the_odd_folders(root: Path, env: dict[str, str]) -> None:
    """uv and nox-workspace find the same members, each at its folder exactly.

    (uv's ``--paths`` output leaves DEL out of what it prints, so names are compared with uv,
    and paths with the folders on disk.)
    """
    listed = run_uv(["workspace", "list"], root, env).stdout.split()
    workspace = discover(root)
    assert sorted(listed) == sorted(workspace.names) == sorted(MEMBERS)
    assert {member.name: member.relpath for member in workspace.members} == MEMBERS
    assert all(member.path == root / MEMBERS[member.name] for member in workspace.members)


def test_sessions_run_in_the_odd_folders(root: Path, env: dict[str, str]) -> None:
    """Every member session syncs its closure and runs in its folder, the union too."""
    sessions = [f"test-{name}" for name in MEMBERS]
    result = subprocess.run(
        [sys.executable, "-m", "nox", "--non-interactive", "-s", *sessions, "all"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    reports = root.parent / "reports"
    for name, folder in MEMBERS.items():
        report = json.loads((reports / f"test-{name}.json").read_text(encoding="utf-8"))
        assert report["cwd"] == str(root / folder)
        venv = root / ".nox" / f"test-{name}"
        assert venv_distributions(venv) == locked_closure(root, name, env)
    assert json.loads((reports / "all.json").read_text(encoding="utf-8"))["cwd"] == str(root)


def test_members_json_and_matrix_json_carry_the_paths_exactly(
    root: Path, env: dict[str, str]
) -> None:
    members = json.loads(cli_ok(root, env, "members", "--json").stdout)
    assert {row["name"]: row["path"] for row in members} == MEMBERS
    rows = json.loads(cli_ok(root, env, "matrix", "--format", "json").stdout)
    assert {row["member"]: row["path"] for row in rows} == MEMBERS
    for fmt in ("text", "mermaid", "dot"):
        assert cli_ok(root, env, "graph", "--format", fmt).stdout


def test_github_outputs_parse_and_carry_the_paths_exactly(
    root: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """``$GITHUB_OUTPUT`` stays one ``key=value`` per line; its matrix is the JSON rows."""
    output = tmp_path / "output"
    printed = cli_ok(root, env, "matrix", "--format", "github", GITHUB_OUTPUT=str(output)).stdout
    lines = output.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""
    values = dict(line.split("=", 1) for line in lines[:-1])
    assert set(values) == {"matrix", "any", "count"}
    include = json.loads(values["matrix"])["include"]
    assert include == json.loads(printed)["include"]
    assert {row["member"]: row["path"] for row in include} == MEMBERS


def github_member_steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    return [step for step in workflow["jobs"]["member"]["steps"] if "run" in step]


def step_env(step: dict[str, Any], row: dict[str, Any]) -> dict[str, str]:
    """The step's ``env:``, with ``${{ matrix.FIELD }}`` taken from the row."""
    values = {}
    for key, expression in step.get("env", {}).items():
        match = EXPRESSION.fullmatch(expression)
        assert match is not None, f"an expression this test cannot evaluate: {expression}"
        values[key] = str(row[match.group(1)])
    return values


def test_github_member_job_steps_run_with_the_odd_values(
    root: Path, env: dict[str, str], ci_env: dict[str, str]
) -> None:
    """Each ``run:`` step of the member job, with its ``env:`` from the row, runs as
    written: it echoes the exact folder, runs the session and records the exact key."""
    rows = json.loads(cli_ok(root, env, "matrix", "--format", "json").stdout)
    for row in rows:
        for step in github_member_steps():
            result = bash(step["run"], root, shell_env(ci_env, **step_env(step, row)))
            assert result.returncode == 0, f"{step['name']}: {result.stdout}{result.stderr}"
            if "MEMBER_PATH" in step.get("env", {}):
                assert f"member folder: {row['path']}\n" in result.stdout
                assert f"Session {row['session']} was successful" in result.stderr
        assert (root / ".nox-green" / "key").read_text(encoding="utf-8") == row["key"] + "\n"
        shutil.rmtree(root / ".nox-green")


def test_github_plan_step_on_a_pull_request_writes_a_clean_summary(
    root: Path, ci_env: dict[str, str], tmp_path: Path
) -> None:
    """The plan step, with a change in every odd folder: its outputs parse, each row of the
    step summary's table stays on one line, and a changed path is named as it is (a
    backslash in a file name is not a folder separator)."""
    for folder in MEMBERS.values():
        (root / folder / "CHANGED").write_text("x\n", encoding="utf-8")
    workflow = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    plan = next(step for step in workflow["jobs"]["plan"]["steps"] if step.get("id") == "plan")
    output, summary = tmp_path / "output", tmp_path / "summary"
    values = {
        "EVENT": "pull_request",
        "BASE_REF": "main",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    result = bash(plan["run"], root, shell_env(ci_env, **values))
    assert result.returncode == 0, result.stderr
    lines = output.read_text(encoding="utf-8").split("\n")
    include = json.loads(dict(line.split("=", 1) for line in lines if line)["matrix"])["include"]
    assert {row["member"]: row["path"] for row in include} == MEMBERS
    text = summary.read_text(encoding="utf-8")
    table = [line for line in text.split("\n") if "|" in line]
    assert len(table) == 2 + len(MEMBERS), "\n".join(table)
    assert all(line.startswith("| ") and line.endswith(" |") for line in table)
    assert 'changed: packages/say "hi" \\ bye/CHANGED' in text


def test_gitlab_child_pipeline_parses_and_its_jobs_run_with_the_odd_values(
    root: Path, env: dict[str, str], ci_env: dict[str, str]
) -> None:
    """The child pipeline (with the docs' template) is valid YAML whose variables are the
    exact paths; each job's script, with its variables as the environment, runs as written."""
    text = cli_ok(
        root, env, "matrix", "--format", "gitlab", "--gitlab-template", str(GITLAB_MEMBER)
    ).stdout
    pipeline = yaml.safe_load(text)
    template = pipeline.pop(".nox-workspace-member")
    assert all(
        variable["expand"] is False
        for job in pipeline.values()
        for variable in job["variables"].values()
    )
    assert {
        job["variables"]["NW_MEMBER"]["value"]: job["variables"]["NW_PATH"]["value"]
        for job in pipeline.values()
    } == MEMBERS
    script = "\n".join(script_line(item) for item in template["script"])
    for name, job in pipeline.items():
        variables = {key: str(value["value"]) for key, value in job["variables"].items()}
        result = bash(script, root, shell_env(ci_env, **variables))
        assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"
        assert f"member folder: {variables['NW_PATH']}\n" in result.stdout
        assert (root / ".nox-green" / "key").read_text(encoding="utf-8").strip() == variables[
            "NW_KEY"
        ]
        shutil.rmtree(root / ".nox-green")


def script_line(item: str | dict[str, str]) -> str:
    """A GitLab script item; one that YAML read as a mapping (see the test below) as the
    line its author wrote."""
    if isinstance(item, dict):
        ((key, value),) = item.items()
        return f"{key}: {value}"
    return item


@pytest.mark.parametrize("path", [GITLAB, GITLAB_MEMBER], ids=lambda path: path.name)
def test_gitlab_template_script_items_are_strings(path: Path) -> None:
    """Every ``script`` item of every job in the GitLab example is a string, as GitLab needs."""
    pipeline = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert any("script" in job for job in pipeline.values() if isinstance(job, dict))
    for name, job in pipeline.items():
        if isinstance(job, dict) and "script" in job:
            assert all(isinstance(item, str) for item in job["script"]), name


@pytest.mark.parametrize(
    "pattern",
    ["libs/*", "libs/*/pkg", "libs/caf?", "libs/[c]*", "libs/**", "libs/**/*", "libs/**/pkg"],
)
def test_a_folder_name_that_is_not_utf8_is_matched_as_uv_matches_it(
    tmp_path: Path, pattern: str
) -> None:
    """A folder whose name is not UTF-8 (``caf\\xe9``, Latin-1) never matches ``*``, ``?`` or
    ``[...]``, but ``**`` walks into it and takes it: uv's glob does exactly that."""
    (tmp_path / "pyproject.toml").write_text(f'[tool.uv.workspace]\nmembers = ["{pattern}"]\n')
    base = os.fsencode(tmp_path)
    for folder, name in ((b"libs/caf\xe9", "a"), (b"libs/caf\xe9/pkg", "b"), (b"libs/ok", "c")):
        os.makedirs(os.path.join(base, folder))
        with open(os.path.join(base, folder, b"pyproject.toml"), "w", encoding="utf-8") as file:
            file.write(f'[project]\nname = "{name}"\nversion = "0.1.0"\n')
    listed = subprocess.run(
        [uv_bin(), "workspace", "list", "--paths"],
        cwd=tmp_path,
        env=tool_env(),
        capture_output=True,
        check=True,
    )
    theirs = sorted(line.decode("utf-8", "replace") for line in listed.stdout.splitlines())
    ours = sorted(
        os.fsencode(member.path).decode("utf-8", "replace") for member in discover(tmp_path).members
    )
    assert ours == theirs
