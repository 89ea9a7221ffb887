"""The CI matrix: rows from a loaded noxfile, their cache keys, filters and formats.

The noxfile is imported in this process, as ``matrix`` does; file contents come from a fake
file index (path -> blob id), so no git runs here.
"""

from __future__ import annotations

import json
import tempfile
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nox.registry
import pytest
import tomlkit
from hypothesis import given, settings
from hypothesis import strategies as st

from nox_workspace._affected import plan_affected, read_snapshot, root_change
from nox_workspace._cli import load_noxfile
from nox_workspace._errors import ConfigError, DiscoveryError
from nox_workspace._git import _blob_id, _walk_index
from nox_workspace._matrix import (
    ROW_FIELDS,
    MatrixOptions,
    Row,
    _template_block,
    build_rows,
    github_matrix,
    gitlab_pipeline,
    keep_affected,
    row_scopes,
    run_matrix,
    select_rows,
    write_github_outputs,
)
from nox_workspace._registry import GeneratedSession
from nox_workspace._workspace import discover
from tests.support import member_toml, write_tree

NOXFILE = """
import nox

import nox_workspace
from nox_workspace import Sync


@nox_workspace.session(union="all")
def test(session, target):
    '''Run the tests.'''


@nox_workspace.session(python=["3.11", "3.12"], sync=Sync(groups=["test"]), members=["tool"],
                       tags=["slow"])
def check(session, target):
    '''Check.'''
"""


def registry(name: str, version: str) -> dict[str, Any]:
    return {"name": name, "version": version, "source": {"registry": "https://pypi.org/simple"}}


def member(name: str, deps: list[str], groups: dict[str, list[str]] | None = None) -> Any:
    table: dict[str, Any] = {"name": name, "version": "0.1.0"}
    table["source"] = {"editable": f"packages/{name}"}
    table["dependencies"] = [{"name": dep} for dep in deps]
    if groups:
        table["dev-dependencies"] = {g: [{"name": d} for d in ds] for g, ds in groups.items()}
    return table


def write_lock(
    root: Path,
    gamma: str = "1.0",
    zeta: str = "1.0",
    *,
    app: tuple[str, ...] = ("core",),
    tool_test: tuple[str, ...] = ("zeta",),
) -> None:
    """app needs core; tool's ``test`` group needs zeta; bar needs gamma."""
    data = {
        "version": 1,
        "revision": 3,
        "requires-python": ">=3.10",
        "manifest": {"members": ["app", "bar", "core", "tool"]},
        "package": [
            registry("beta", "1.0"),
            registry("gamma", gamma),
            registry("zeta", zeta),
            member("app", list(app)),
            member("bar", ["gamma"]),
            member("core", ["beta"]),
            member("tool", [], {"test": list(tool_test)}),
        ],
    }
    (root / "uv.lock").write_text(tomlkit.dumps(data), encoding="utf-8")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
            "packages/core/pyproject.toml": member_toml("core", dependencies=["beta"]),
            "packages/app/pyproject.toml": member_toml(
                "app", dependencies=["core"], workspace_sources=["core"]
            ),
            "packages/bar/pyproject.toml": member_toml("bar", dependencies=["gamma"]),
            "packages/tool/pyproject.toml": member_toml("tool", groups={"test": ["zeta"]}),
            "noxfile.py": NOXFILE,
        },
    )
    write_lock(tmp_path)
    return tmp_path


FILES = {
    "pyproject.toml": "r1",
    "noxfile.py": "n1",
    "README.md": "m1",
    "uv.lock": "l1",
    "packages/core/src/core/__init__.py": "c1",
    "packages/app/src/app/__init__.py": "a1",
    "packages/bar/src/bar/__init__.py": "b1",
    "packages/tool/src/tool/__init__.py": "t1",
}


def load(root: Path) -> tuple[GeneratedSession, ...]:
    """Load the root's noxfile afresh: a test may load it more than once."""
    nox.registry.reset()
    return load_noxfile(root / "noxfile.py")


def keys(
    root: Path, files: Mapping[str, str] = FILES, *, noxfile: Path | None = None
) -> dict[str, str]:
    """Session name -> key, for every row (the union too)."""
    generated = load(root)
    rows = build_rows(
        generated, union=True, noxfile=noxfile or root / "noxfile.py", files=lambda _: files
    )
    return {row.session: row.key for row in rows}


def rows_of(root: Path, **kwargs: Any) -> list[Row]:
    return build_rows(load(root), files=lambda _: FILES, **kwargs)


# --------------------------------------------------------------------------------------------
# Rows


def test_rows_are_member_sessions_in_noxfile_order_one_per_python(root: Path) -> None:
    rows = rows_of(root)
    assert [(r.session, r.member, r.python) for r in rows] == [
        ("test-app", "app", None),
        ("test-bar", "bar", None),
        ("test-core", "core", None),
        ("test-tool", "tool", None),
        ("check-tool-3.11", "tool", "3.11"),
        ("check-tool-3.12", "tool", "3.12"),
    ]
    first = rows[0].as_dict()
    assert tuple(first) == ROW_FIELDS
    assert first["path"] == "packages/app"
    assert first["function"] == "test"
    assert first["tags"] == ["app", "test"]
    assert len(first["key"]) == 16
    assert rows[-1].tags == ("tool", "check", "slow")


def test_the_union_row_comes_only_when_asked(root: Path) -> None:
    union = [row for row in rows_of(root, union=True) if row.member == "*"]
    assert [(row.session, row.path, row.function) for row in union] == [("all", ".", "test")]
    assert all(row.member != "*" for row in rows_of(root))


# --------------------------------------------------------------------------------------------
# Keys


def test_a_member_file_changes_its_key_and_its_dependents_keys_only(root: Path) -> None:
    before = keys(root)
    after = keys(root, {**FILES, "packages/core/src/core/__init__.py": "c2"})
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"test-core", "test-app", "all"}


def test_a_new_untracked_file_in_a_member_changes_its_key(root: Path) -> None:
    before = keys(root)
    after = keys(root, {**FILES, "packages/bar/notes.txt": "x"})
    assert {n for n in before if before[n] != after[n]} == {"test-bar", "all"}


def test_files_outside_members_change_no_key(root: Path) -> None:
    assert keys(root) == keys(root, {**FILES, "README.md": "m2", "docs/x.md": "d"})


@pytest.mark.parametrize("path", ["noxfile.py", "uv.toml", ".python-version"])
def test_global_files_change_every_key(root: Path, path: str) -> None:
    before = keys(root)
    after = keys(root, {**FILES, path: "changed"})
    assert all(before[name] != after[name] for name in before), path


@pytest.mark.parametrize(
    ("table", "changes_keys"),
    [
        ("[tool.uv]\nno-build = true\n", True),
        ("[tool.pytest.ini_options]\naddopts = '-x'\n", True),
        ("[dependency-groups]\nlint = []\n", True),
        ("[tool.ruff]\nline-length = 80\n", False),
        ("[tool.mypy]\nstrict = true\n", False),
    ],
)
def test_the_root_pyproject_counts_by_table(root: Path, table: str, changes_keys: bool) -> None:
    """Tables uv or the sessions read change every key; a linter's table changes none."""
    before = keys(root)
    with (root / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write(table)
    after = keys(root, {**FILES, "pyproject.toml": "changed"})
    assert all((before[name] != after[name]) is changes_keys for name in before)


def test_a_lock_change_changes_only_the_keys_of_closures_it_touches(root: Path) -> None:
    before = keys(root, {**FILES})
    write_lock(root, gamma="2.0")
    after = keys(root, {**FILES, "uv.lock": "l2"})
    assert {n for n in before if before[n] != after[n]} == {"test-bar", "all"}


def test_the_sessions_options_are_in_the_key(root: Path) -> None:
    """Only the check sessions sync tool's group ``test`` (zeta): a zeta bump changes them
    alone, not test-tool nor the union (which takes default groups only)."""
    before = keys(root)
    write_lock(root, zeta="2.0")
    after = keys(root)
    assert {n for n in before if before[n] != after[n]} == {"check-tool-3.11", "check-tool-3.12"}
    assert before["check-tool-3.11"] != before["check-tool-3.12"]


def test_keys_do_not_depend_on_the_order_files_are_listed(root: Path) -> None:
    assert keys(root) == keys(root, dict(reversed(list(FILES.items()))))


def test_blob_ids_are_gits() -> None:
    """The well-known id of a file holding ``hello\\n`` (``git hash-object``)."""
    assert _blob_id(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_outside_git_the_walk_skips_venvs_caches_and_bytecode(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "a/x.py": "1",
            "a/__pycache__/x.cpython-311.pyc": "2",
            ".nox/s/bin/python": "3",
            ".venv/lib/y.py": "4",
            "b/.git/HEAD": "5",
            "b/y.pyc": "6",
        },
    )
    assert set(_walk_index(tmp_path)) == {"a/x.py"}


# --------------------------------------------------------------------------------------------
# Loading the noxfile


def test_a_missing_noxfile_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="noxfile not found"):
        load_noxfile(tmp_path / "noxfile.py")


def test_a_noxfile_that_raises_is_one_line(root: Path) -> None:
    (root / "noxfile.py").write_text("raise RuntimeError('boom\\nmore')\n")
    with pytest.raises(ConfigError) as info:
        load_noxfile(root / "noxfile.py")
    assert str(info.value).endswith(
        "the noxfile raised RuntimeError: boom; run `nox -l` to see the traceback"
    )


def test_a_noxfile_whose_session_is_invalid_is_a_config_error(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (root / "noxfile.py").write_text(
        textwrap.dedent(
            """
            import nox_workspace

            @nox_workspace.session(members=["nope"])
            def test(session, target):
                pass
            """
        )
    )
    with pytest.raises(ConfigError, match="did not load"):
        load_noxfile(root / "noxfile.py")
    assert "no workspace member named 'nope'" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Filters


def row(session: str, member: str, function: str = "test", tags: tuple[str, ...] = ()) -> Row:
    path = "." if member == "*" else f"packages/{member}"
    members = ("a", "b") if member == "*" else (member,)
    return Row(
        member=member,
        session=session,
        function=function,
        python=None,
        path=path,
        key="0" * 16,
        tags=tags,
        members=members,
        scope=session,
    )


ROWS = [
    row("test-a", "a", tags=("a", "test")),
    row("test-b", "b", tags=("b", "test", "slow")),
    row("lint-a", "a", function="lint", tags=("a", "lint")),
    row("all", "*", tags=("test",)),
]


@pytest.mark.parametrize(
    ("options", "sessions"),
    [
        ({"sessions": ["test"]}, ["test-a", "test-b", "all"]),
        ({"sessions": ["lint-*"]}, ["lint-a"]),
        ({"members": ["a"]}, ["test-a", "lint-a"]),
        ({"members": ["b"]}, ["test-b"]),
        ({"members": ["*"]}, ["all"]),
        ({"tags": ["slow"]}, ["test-b"]),
        ({"sessions": ["test"], "members": ["a", "b"]}, ["test-a", "test-b"]),
        ({}, ["test-a", "test-b", "lint-a", "all"]),
    ],
)
def test_rows_are_selected_by_function_member_and_tag(
    options: dict[str, list[str]], sessions: list[str]
) -> None:
    assert [r.session for r in select_rows(ROWS, **options)] == sessions


def test_affected_rows_are_the_rows_of_the_affected_sessions(root: Path) -> None:
    """A session's decision holds for each of its Pythons; the union is a session too."""
    generated = load(root)
    rows = build_rows(generated, union=True, files=lambda _: FILES)
    workspace = discover(root)
    scopes = row_scopes(generated, rows)
    names = ["test-app", "test-bar", "test-core", "test-tool", "all", "check-tool"]
    assert [scope.name for scope in scopes] == names
    lock = read_snapshot(root / "uv.lock")
    tool = plan_affected(workspace, ["packages/tool/x.py"], new_lock=lock, scopes=scopes)
    kept = [row.session for row in keep_affected(rows, tool)]
    assert kept == ["test-tool", "check-tool-3.11", "check-tool-3.12", "all"]
    nothing = plan_affected(workspace, ["README.md"], new_lock=lock, scopes=scopes)
    assert keep_affected(rows, nothing) == []


# --------------------------------------------------------------------------------------------
# Formats


def test_github_format_is_one_line_of_include(root: Path) -> None:
    text = github_matrix(ROWS[:2])
    assert "\n" not in text
    assert json.loads(text) == {"include": [ROWS[0].as_dict(), ROWS[1].as_dict()]}


def test_github_outputs_say_whether_any_job_runs(tmp_path: Path) -> None:
    output, summary = tmp_path / "out", tmp_path / "summary"
    environ = {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    write_github_outputs(ROWS[:1], total=4, affected=None, environ=environ)
    write_github_outputs([], total=4, affected=None, environ=environ)
    lines = output.read_text().splitlines()
    assert lines[0] == "matrix=" + github_matrix(ROWS[:1])
    assert lines[1:3] == ["any=true", "count=1"]
    assert lines[3:] == ['matrix={"include":[]}', "any=false", "count=0"]
    text = summary.read_text()
    assert "1 of 4 member sessions to run" in text
    assert "| test-a | a |" in text
    assert "No member session is affected" in text


def test_github_outputs_are_not_written_without_the_variables(tmp_path: Path) -> None:
    write_github_outputs(ROWS, total=4, affected=None, environ={})
    assert list(tmp_path.iterdir()) == []


def test_gitlab_jobs_extend_the_template_with_the_row_as_variables() -> None:
    text = gitlab_pipeline([ROWS[0], row("image", "b")])
    assert ".nox-workspace-member:\n" in text
    assert '"test-a":\n  extends: ".nox-workspace-member"\n  variables:\n' in text
    assert '    NW_SESSION: {value: "test-a", expand: false}\n' in text
    assert '    NW_TAGS: {value: "a,test", expand: false}\n' in text
    assert '    NW_PYTHON: {value: "", expand: false}\n' in text
    assert '"nox-image":' in text  # a session named like a GitLab keyword


def test_gitlab_include_names_the_template_file_instead_of_copying_it() -> None:
    text = gitlab_pipeline([ROWS[0]], include=".gitlab/member.yml")
    assert 'include:\n  - local: ".gitlab/member.yml"\n' in text
    assert ".nox-workspace-member:\n" not in text  # the default template is not written
    assert '  extends: ".nox-workspace-member"\n' in text


def test_gitlab_without_rows_is_one_job_that_says_so() -> None:
    text = gitlab_pipeline([])
    assert "nox-workspace-nothing-to-run:" in text
    assert "extends" not in text


def test_the_gitlab_template_is_the_named_top_level_block() -> None:
    text = textwrap.dedent(
        """
        stages: [plan]
        .nox-workspace-member:
          image: python:3.12

          # a comment inside
          script:
            - nox -s "$NW_SESSION"
        # a comment at the top level ends nothing
          after_script: []
        plan:
          script: [x]
        """
    )
    block = _template_block(text, ".nox-workspace-member", "ci.yml")
    assert block.splitlines()[0] == ".nox-workspace-member:"
    assert block.splitlines()[-1] == "  after_script: []"
    assert "plan:" not in block
    with pytest.raises(ConfigError, match=r"has no top-level job '\.other'"):
        _template_block(text, ".other", "ci.yml")


def test_member_filter_takes_any_spelling_of_a_name(root: Path) -> None:
    """``matrix --member CORE`` keeps core's rows, as ``closure CORE`` finds core."""
    options = MatrixOptions(fmt="json", members=("CORE",))
    generated = load(root)
    output = run_matrix(options, generated, noxfile=root / "noxfile.py", files=lambda _: FILES)
    rows = json.loads(output)
    assert {row["member"] for row in rows} == {"core"}


def test_member_filter_refuses_an_unknown_member(root: Path) -> None:
    generated = load(root)
    with pytest.raises(DiscoveryError, match="no workspace member named 'nope'"):
        run_matrix(MatrixOptions(members=("nope",)), generated, files=lambda _: FILES)


def test_noxfile_prints_stay_off_stdout(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What a noxfile prints while ``matrix`` loads it goes to stderr, not into the JSON."""
    noxfile = root / "noxfile.py"
    noxfile.write_text("print('hello from the noxfile')\n" + noxfile.read_text())
    load_noxfile(noxfile)
    captured = capsys.readouterr()
    assert "hello from the noxfile" in captured.err
    assert "hello from the noxfile" not in captured.out


# --------------------------------------------------------------------------------------------
# Keys and the affected rules read the same inputs

EDITS = {
    "core file": ("packages/core/src/core/__init__.py", None),
    "bar file": ("packages/bar/src/bar/__init__.py", None),
    "tool's tests at the root": ("tests/tool/test_tool.py", None),
    "docs": ("docs/index.md", None),
    "uv.toml": ("uv.toml", None),
    "noxfile": ("noxfile.py", None),
    "root [tool.ruff]": ("pyproject.toml", "[tool.ruff]\nline-length = 80\n"),
    "root [tool.uv]": ("pyproject.toml", "[tool.uv]\nno-build = true\n"),
    "root [tool.pytest]": ("pyproject.toml", '[tool.pytest.ini_options]\naddopts = "-q"\n'),
}
BUMPS = {"gamma": {"gamma": "2.0"}, "zeta": {"zeta": "2.0"}, "none": {}}


def equivalence_root(folder: Path, shape: Mapping[str, tuple[str, ...]]) -> Path:
    """The ``root`` fixture's workspace, with tool's tests kept at the root; ``shape`` says
    what app needs and what tool's ``test`` group holds (members among them)."""
    tool = member_toml(
        "tool",
        groups={"test": list(shape["tool_test"])},
        workspace_sources=[name for name in shape["tool_test"] if name == "core"],
        extra_toml='[tool.nox-workspace]\ntests = ["../../tests/tool"]\n',
    )
    write_tree(
        folder,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
            "packages/core/pyproject.toml": member_toml("core", dependencies=["beta"]),
            "packages/app/pyproject.toml": member_toml(
                "app", dependencies=list(shape["app"]), workspace_sources=["core"]
            ),
            "packages/bar/pyproject.toml": member_toml("bar", dependencies=["gamma"]),
            "packages/tool/pyproject.toml": tool,
            "tests/tool/test_tool.py": "",  # declared test folders must exist
            "noxfile.py": NOXFILE,
        },
    )
    write_lock(folder, app=shape["app"], tool_test=shape["tool_test"])
    return folder


@settings(max_examples=60, deadline=None)
@given(
    edits=st.sets(st.sampled_from(sorted(EDITS)), max_size=3),
    bump=st.sampled_from(sorted(BUMPS)),
    app=st.sampled_from([(), ("core",), ("core", "gamma")]),
    tool_test=st.sampled_from([("zeta",), ("zeta", "core"), ("core",)]),
)
def test_a_key_changes_exactly_when_its_session_is_affected(
    edits: set[str], bump: str, app: tuple[str, ...], tool_test: tuple[str, ...]
) -> None:
    """On generated workspaces (what app needs, what tool's group installs) and changes."""
    shape = {"app": app, "tool_test": tool_test}
    with tempfile.TemporaryDirectory() as folder:
        root = equivalence_root(Path(folder), shape)
        base_files = {**FILES, "tests/tool/test_tool.py": "t0"}
        generated = load(root)
        before = build_rows(
            generated, union=True, noxfile=root / "noxfile.py", files=lambda _: base_files
        )
        old_lock = read_snapshot(root / "uv.lock")
        old_pyproject = (root / "pyproject.toml").read_bytes()

        files, changed = dict(base_files), set()
        for name in sorted(edits):
            path, table = EDITS[name]
            changed.add(path)
            if table is None:
                files[path] = files.get(path, "") + "+"
            else:
                with (root / "pyproject.toml").open("a", encoding="utf-8") as handle:
                    handle.write(table)
        if BUMPS[bump]:
            write_lock(root, **BUMPS[bump], app=app, tool_test=tool_test)
            changed.add("uv.lock")
        generated = load(root)
        after = build_rows(
            generated, union=True, noxfile=root / "noxfile.py", files=lambda _: files
        )
        workspace = discover(root)
        result = plan_affected(
            workspace,
            changed,
            old_lock=old_lock,
            new_lock=read_snapshot(root / "uv.lock"),
            global_globs=("noxfile.py",),
            scopes=row_scopes(generated, after),
            root=root_change(workspace, old_pyproject, "base"),
        )
        keys_before = {row.session: row.key for row in before}
        moved = {row.scope for row in after if keys_before[row.session] != row.key}
        assert moved == set(result.affected), result.explain()
