"""The documentation is executed: its examples run, its tables are measured, it builds.

What the docs say must be what the code does, so nothing in ``docs/`` is taken on trust:

* every ``python`` block that is a noxfile (and the README's) is loaded by the real
  ``nox -l``; one with a ``% run: SESSION ...`` comment above it also runs those
  sessions, on the demo workspace; other ``python`` blocks run as scripts;
* every ``console`` or ``bash`` block with a ``nox`` or ``python -m nox_workspace`` command
  runs, command by command, in a fresh copy of the demo workspace (a git repository with one
  commit); the output a block shows under a command must be the command's output, where a
  line ``...`` stands for any lines and ``...`` inside a line for any text;
* ``[tool.nox-workspace]`` TOML snippets are loaded into a member (``global`` into the root)
  and must load; every other TOML snippet must parse;
* the tables of the sync-semantics explanation are measured: the workspace the page shows is
  built, each command runs from each starting state, and the venv must hold what the cell says;
* the Mermaid member graph is the output of ``graph --format mermaid`` on the demo;
* the reference documents every public name, command-line option, setting and ``Sync`` flag;
* the site builds with Sphinx, warnings as errors.

A block that is not run says why, in a MyST comment right above it: ``% not-run: REASON``.
Nothing here writes into the repository: the demo is copied into ``tmp_path`` first.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomlkit

import nox_workspace
from nox_workspace import Sync, Target, discover
from nox_workspace._venv import Venv
from tests.functional.nox_project import NoxProject
from tests.support import (
    git_commit_all,
    offline_index,
    package_sources,
    run_uv,
    tool_env,
    uv_bin,
    write_tree,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
README = REPO / "README.md"
DEMO = REPO / "examples" / "demo"
SEMANTICS = DOCS / "explanation" / "sync-semantics.md"

#: Commands a console block may hold for the block to be run.
RUNNABLE = re.compile(r"^(nox(\s|$)|python -m nox_workspace(\s|$))")
#: Languages whose blocks must be checked, or say why not.
CHECKED = frozenset({"python", "console", "bash", "shell", "sh", "toml"})


# --------------------------------------------------------------------------------------------
# Reading the docs: fenced blocks, the MyST comments above them, and tables


@dataclass(frozen=True)
class Block:
    """A fenced block of a Markdown page, with the ``%`` comment lines right above it."""

    path: Path
    line: int
    info: str
    text: str
    notes: tuple[str, ...]

    @property
    def language(self) -> str:
        return self.info.split()[0] if self.info else ""

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"

    def note(self, key: str) -> str | None:
        """The value of a ``% KEY: value`` comment above the block, if there is one."""
        for note in self.notes:
            name, _, value = note.partition(":")
            if name.strip() == key:
                return value.strip()
        return None

    @property
    def is_noxfile(self) -> bool:
        return self.language == "python" and re.search(r"^import nox$", self.text, re.M) is not None


def pages() -> list[Path]:
    """Every Markdown page of the documentation, in a stable order."""
    return sorted(path for path in DOCS.rglob("*.md") if "_build" not in path.parts)


def read_blocks(path: Path) -> list[Block]:
    """The fenced blocks of ``path`` (``` or ~~~ fences, not nested)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = re.match(r"^(`{3,}|~{3,})\s*(.*)$", lines[index])
        if opening is None:
            index += 1
            continue
        fence, info = opening.groups()
        notes: list[str] = []
        above = index - 1
        while above >= 0 and lines[above].startswith("% "):
            notes.insert(0, lines[above][2:].strip())
            above -= 1
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != fence:
            end += 1
        text = "\n".join(lines[index + 1 : end])
        blocks.append(Block(path, index + 1, info.strip(), text + "\n", tuple(notes)))
        index = end + 1
    return blocks


DOC_BLOCKS = [block for page in pages() for block in read_blocks(page)]
README_BLOCKS = read_blocks(README)


def blocks(predicate: Callable[[Block], bool], *, readme: bool = False) -> list[Any]:
    """The doc blocks (and README blocks) that ``predicate`` keeps, as pytest parameters."""
    found = [b for b in (*DOC_BLOCKS, *(README_BLOCKS if readme else ())) if predicate(b)]
    return [pytest.param(block, id=block.where) for block in found]


def not_run(block: Block) -> bool:
    return block.note("not-run") is not None


@dataclass(frozen=True)
class Command:
    """A command of a console block, and the output the block shows under it."""

    line: str
    output: tuple[str, ...]


def commands(block: Block) -> list[Command]:
    """``$ command`` lines and their output (console); every line a command (bash, sh)."""
    found: list[Command] = []
    if block.language == "console":
        for line in block.text.splitlines():
            if line.startswith("$ "):
                found.append(Command(line[2:].strip(), ()))
            elif found:
                found[-1] = Command(found[-1].line, (*found[-1].output, line))
        return found
    for line in block.text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            found.append(Command(line.strip(), ()))
    return found


def is_runnable_console(block: Block) -> bool:
    return block.language in {"console", "bash", "shell", "sh"} and any(
        RUNNABLE.match(command.line) for command in commands(block)
    )


def noxfile_above(block: Block) -> Block | None:
    """For a block marked ``% noxfile: above``, the last noxfile before it on its page."""
    if block.note("noxfile") != "above":
        return None
    earlier = [b for b in read_blocks(block.path) if b.line < block.line and b.is_noxfile]
    return earlier[-1] if earlier else None


def output_pattern(lines: Sequence[str]) -> re.Pattern[str]:
    """A regular expression for shown output: a line ``...`` is any lines, ``...`` in a line
    is any text; everything else must match exactly, line by line."""
    parts = []
    for line in lines:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*".join(re.escape(piece) for piece in line.rstrip().split("...")))
            parts.append(r"[ \t]*\n")
    return re.compile("".join(parts))


@dataclass(frozen=True)
class Table:
    """A Markdown table: its header cells and its rows of cells."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def render(self, rows: Sequence[Sequence[str]]) -> str:
        """The table with other rows, as Markdown to paste into the page."""
        lines = ["| " + " | ".join(self.header) + " |", "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)


def table_under(path: Path, comment: str) -> Table:
    """The table right after the line ``% COMMENT`` in ``path``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"% {comment}")
    cells: list[tuple[str, ...]] = []
    for line in lines[start + 1 :]:
        if not line.startswith("|"):
            break
        cells.append(tuple(cell.strip() for cell in line.strip().strip("|").split("|")))
    assert len(cells) >= 3, f"{path}: no table under '% {comment}'"
    return Table(cells[0], tuple(cells[2:]))


def code_spans(text: str) -> list[str]:
    """The contents of the `code spans` in a piece of Markdown."""
    return re.findall(r"`([^`]+)`", text)


# --------------------------------------------------------------------------------------------
# Workspaces to run the examples in: copies of the demo


def clean_env(uv_cache: Path, bin_dir: Path) -> dict[str, str]:
    """uv and Nox offline; ``nox``, ``python`` and ``uv`` those of the tests; no CI outputs
    and no git configuration of the machine."""
    env = {
        key: value
        for key, value in tool_env(uv_cache).items()
        if not key.startswith(("GITHUB_", "FORCE_COLOR", "NO_COLOR", "COLUMNS"))
    }
    env["PATH"] = os.pathsep.join([str(bin_dir), env["PATH"]])
    env["COLUMNS"] = "100"
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return env


@pytest.fixture(scope="session")
def bin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``nox``, ``python`` and ``uv`` as the docs type them, for the interpreter of the tests."""
    folder = tmp_path_factory.mktemp("bin")
    scripts = {
        "python": f'exec "{sys.executable}" "$@"\n',
        "nox": f'exec "{sys.executable}" -m nox "$@"\n',
        "uv": f'exec "{uv_bin()}" "$@"\n',
    }
    for name, body in scripts.items():
        script = folder / name
        script.write_text("#!/bin/sh\n" + body)
        script.chmod(0o755)
    return folder


@pytest.fixture(scope="session")
def docs_env(uv_cache: Path, bin_dir: Path) -> dict[str, str]:
    return clean_env(uv_cache, bin_dir)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with its wheelhouse, as a git repository with one commit; copied per test."""
    root = tmp_path_factory.mktemp("demo-template") / "demo"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns("wheelhouse", ".nox", ".venv"))
    make = [sys.executable, str(root / "make_wheelhouse.py"), str(root / "wheelhouse")]
    subprocess.run(make, check=True, capture_output=True)
    (root / ".gitignore").write_text(".nox/\n.venv/\nwheelhouse/\n__pycache__/\n")
    git_commit_all(root, "the demo")
    return root


@pytest.fixture
def demo(tmp_path: Path, demo_template: Path) -> Path:
    """A fresh copy of the demo workspace, for one test."""
    root = tmp_path / "demo"
    shutil.copytree(demo_template, root, symlinks=True)
    return root


def merge_toml(path: Path, snippet: str) -> None:
    """Merge the tables of ``snippet`` into the TOML file ``path`` (snippet keys win)."""
    document = tomlkit.parse(path.read_text(encoding="utf-8"))

    def merge(into: Any, source: Mapping[str, Any]) -> None:
        for key, value in source.items():
            if isinstance(value, Mapping) and key in into and isinstance(into[key], Mapping):
                merge(into[key], value)
            else:
                into[key] = value

    merge(document, tomllib.loads(snippet))
    path.write_text(tomlkit.dumps(document), encoding="utf-8")


#: What the docs' noxfiles assume beyond the demo: a ``test`` group in every member and the
#: root's ``lint`` and ``types`` groups (the how-to pages show these groups). Only the
#: ``pyproject.toml`` files change: loading a noxfile (``nox -l``) reads no lock.
MEMBER_ADDITIONS = '[dependency-groups]\ntest = ["pytest>=8"]\n'
ROOT_ADDITIONS = '[dependency-groups]\nlint = ["ruff>=0.6"]\ntypes = ["mypy>=1.11"]\n'


@pytest.fixture
def docs_workspace(demo: Path) -> Path:
    """The demo with the groups the docs' noxfiles use."""
    merge_toml(demo / "pyproject.toml", ROOT_ADDITIONS)
    for member in discover(demo).members:
        merge_toml(member.pyproject, MEMBER_ADDITIONS)
    return demo


def run(
    argv: Sequence[str] | str, cwd: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run a command (a shell line when ``argv`` is a string), stdout and stderr together."""
    return subprocess.run(
        argv,
        cwd=cwd,
        env=dict(env),
        shell=isinstance(argv, str),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=600,
    )


def nox_sessions(root: Path, env: Mapping[str, str]) -> list[str]:
    """Every session ``nox -l`` lists, selected by default (``*``) or not (``-``)."""
    proc = run([sys.executable, "-m", "nox", "-l"], root, env)
    assert proc.returncode == 0, proc.stdout
    return re.findall(r"^[*-] (\S+)", proc.stdout, re.M)


# --------------------------------------------------------------------------------------------
# Every block is checked, or says why not


def test_every_block_is_checked_or_says_why_not() -> None:
    """A console block without a nox or nox_workspace command cannot be run against the demo,
    so it must say why in a ``% not-run:`` comment; such a comment needs a reason; ``% run:``
    stands above noxfiles only, and ``% noxfile: above`` below one."""
    problems = []
    for block in DOC_BLOCKS:
        reason = block.note("not-run")
        if reason == "":
            problems.append(f"{block.where}: '% not-run:' without a reason")
        console = block.language in {"console", "bash", "shell", "sh"}
        if console and reason is None and not is_runnable_console(block):
            problems.append(f"{block.where}: a console block that runs nothing")
        if block.note("run") is not None and not block.is_noxfile:
            problems.append(f"{block.where}: '% run:' above a block that is not a noxfile")
        if block.note("noxfile") is not None and noxfile_above(block) is None:
            problems.append(f"{block.where}: '% noxfile: above' but no noxfile above it")
    assert not problems, "\n".join(problems)
    assert sum(1 for b in DOC_BLOCKS if b.language in CHECKED and not not_run(b)) >= 30


# --------------------------------------------------------------------------------------------
# Python: noxfiles load (and some run); scripts run


@pytest.mark.functional
@pytest.mark.parametrize("block", blocks(lambda b: b.is_noxfile and not not_run(b), readme=True))
def test_noxfile_example_loads_in_nox(
    block: Block, docs_workspace: Path, docs_env: dict[str, str]
) -> None:
    """The noxfile is loaded by the real ``nox -l`` and registers sessions."""
    (docs_workspace / "noxfile.py").write_text(block.text, encoding="utf-8")
    assert nox_sessions(docs_workspace, docs_env), f"{block.where}: registers no session"


@pytest.mark.functional
@pytest.mark.parametrize("block", blocks(lambda b: b.note("run") is not None))
def test_noxfile_example_runs_on_the_demo(
    block: Block, demo: Path, docs_env: dict[str, str]
) -> None:
    """The noxfile's sessions named in ``% run:`` run on the demo workspace and pass."""
    sessions = (block.note("run") or "").split()
    (demo / "noxfile.py").write_text(block.text, encoding="utf-8")
    proc = run([sys.executable, "-m", "nox", "--non-interactive", "-s", *sessions], demo, docs_env)
    assert proc.returncode == 0, proc.stdout
    for session in sessions:
        assert f"Session {session} was successful" in proc.stdout, proc.stdout


@pytest.mark.functional
def test_the_demo_changes_folder_once_per_member(demo: Path, docs_env: dict[str, str]) -> None:
    """A member's session is already in the member's folder when the function runs, so the
    demo's noxfile changes folder only in the union: Nox logs one ``cd`` per folder entered."""
    proc = run(
        [sys.executable, "-m", "nox", "--non-interactive", "-s", "test-greet"], demo, docs_env
    )
    assert proc.returncode == 0, proc.stdout
    assert re.findall(r"^nox > cd (\S+)", proc.stdout, re.M) == [str(demo / "packages" / "greet")]
    proc = run([sys.executable, "-m", "nox", "--non-interactive", "-s", "all"], demo, docs_env)
    assert proc.returncode == 0, proc.stdout
    folders = re.findall(r"^nox > cd (\S+)", proc.stdout, re.M)
    assert sorted(folders[1:]) == [str(demo / "packages" / m) for m in ("cli", "greet", "stats")]


def test_tutorial_noxfile_is_the_demo_noxfile() -> None:
    """The noxfile the tutorial shows is the demo's, so the README's main command runs it."""
    (block,) = [b for b in read_blocks(DOCS / "tutorial.md") if b.is_noxfile]
    assert block.text == (DEMO / "noxfile.py").read_text(encoding="utf-8")
    assert block.note("run"), "the tutorial's noxfile must be run by the tests"


@pytest.mark.functional
@pytest.mark.parametrize(
    "block", blocks(lambda b: b.language == "python" and not b.is_noxfile and not not_run(b))
)
def test_python_example_runs(block: Block, demo: Path, docs_env: dict[str, str]) -> None:
    """A Python block that is not a noxfile runs as a script in the demo workspace."""
    script = demo / "example.py"
    script.write_text(block.text, encoding="utf-8")
    proc = run([sys.executable, str(script)], demo, docs_env)
    assert proc.returncode == 0, proc.stdout


# --------------------------------------------------------------------------------------------
# Console: commands run on the demo and print what the docs show


@pytest.mark.functional
@pytest.mark.parametrize("block", blocks(lambda b: is_runnable_console(b) and not not_run(b)))
def test_console_example_runs_on_the_demo(
    block: Block, demo: Path, docs_env: dict[str, str]
) -> None:
    """Each command of the block succeeds, in order, in one copy of the demo, and prints the
    output the block shows under it. ``% noxfile: above`` runs it with the page's noxfile."""
    noxfile = noxfile_above(block)
    if noxfile is not None:
        (demo / "noxfile.py").write_text(noxfile.text, encoding="utf-8")
    for command in commands(block):
        proc = run(command.line, demo, docs_env)
        assert proc.returncode == 0, f"{block.where}: `{command.line}` failed:\n{proc.stdout}"
        if command.output:
            pattern = output_pattern(command.output)
            assert pattern.fullmatch(proc.stdout), (
                f"{block.where}: `{command.line}` printed:\n{proc.stdout}\n"
                "which is not what the docs show:\n" + "\n".join(command.output)
            )


def test_output_pattern_reads_ellipses() -> None:
    """``...`` alone is any lines (also none); inside a line it is any text."""
    pattern = output_pattern(["a", "...", "c ... e"])
    assert pattern.fullmatch("a\nc d e\n")
    assert pattern.fullmatch("a\nb\nb\nc dd e\n")
    assert not pattern.fullmatch("a\nc d e\nf\n")
    assert not pattern.fullmatch("x\na\nc d e\n")


# --------------------------------------------------------------------------------------------
# TOML: settings snippets load into a member; the rest parses


def is_settings(block: Block) -> bool:
    return block.language == "toml" and "[tool.nox-workspace" in block.text


@pytest.mark.functional
@pytest.mark.parametrize("block", blocks(lambda b: is_settings(b) and not not_run(b)))
def test_settings_snippet_loads_into_a_member(
    block: Block, docs_workspace: Path, docs_env: dict[str, str]
) -> None:
    """A ``[tool.nox-workspace]`` snippet, merged into ``stats`` (``global``: into the root),
    is accepted when the noxfile loads and by the command line."""
    settings = tomllib.loads(block.text)["tool"]["nox-workspace"]
    if "global" in settings:
        merge_toml(docs_workspace / "pyproject.toml", block.text)
        proc = run(
            [sys.executable, "-m", "nox_workspace", "affected", "--since", "HEAD"],
            docs_workspace,
            docs_env,
        )
        assert proc.returncode == 0, proc.stdout
    else:
        merge_toml(docs_workspace / "packages" / "stats" / "pyproject.toml", block.text)
    assert nox_sessions(docs_workspace, docs_env)


@pytest.mark.parametrize("block", blocks(lambda b: b.language == "toml" and not is_settings(b)))
def test_toml_example_parses(block: Block) -> None:
    """Every other TOML snippet is valid TOML."""
    assert tomllib.loads(block.text) is not None


# --------------------------------------------------------------------------------------------
# The picture, and the reference against the code


def test_mermaid_graph_is_the_demo_graph() -> None:
    """The member graph drawn in the docs is ``graph --format mermaid`` of the demo, now."""
    drawn = [b for b in DOC_BLOCKS if b.info == "{mermaid}"]
    assert drawn, "no {mermaid} block in the docs"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nox_workspace",
            "graph",
            "--format",
            "mermaid",
            "--root",
            str(DEMO),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    for block in drawn:
        assert block.text == proc.stdout, f"{block.where} differs from the demo's graph"


def test_reference_documents_every_public_name() -> None:
    """``reference/api.md`` has an autodoc entry for each name in ``nox_workspace.__all__``."""
    text = (DOCS / "reference" / "api.md").read_text(encoding="utf-8")
    documented = re.findall(r"\.\. auto(?:function|class|exception):: nox_workspace\.(\w+)", text)
    assert sorted(documented) == sorted(nox_workspace.__all__)


def test_cli_reference_documents_every_command_and_option() -> None:
    """Each subcommand has a section in ``reference/cli.md`` and each option is named there."""
    import argparse

    from nox_workspace._cli import _parser

    text = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    parser = _parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    missing = []
    for name, command in subparsers.choices.items():
        if not re.search(rf"^## `{name}(\s|`)", text, re.M):
            missing.append(f"section for {name}")
        for action in command._actions:
            for option in action.option_strings:
                if not re.search(rf"`{re.escape(option)}(\s|`)", text):
                    missing.append(f"{name} {option}")
    assert not missing, "not in docs/reference/cli.md: " + ", ".join(missing)


def test_settings_reference_lists_every_key() -> None:
    """The keys in ``reference/settings.md`` are the keys the code accepts."""
    from nox_workspace._settings import _ROOT_KEYS, MEMBER_KEYS, SESSION_KEYS

    page = DOCS / "reference" / "settings.md"
    documented = {
        code_spans(row[0])[0]
        for comment in ("settings: member", "settings: root")
        for row in table_under(page, comment).rows
    }
    assert documented == MEMBER_KEYS | _ROOT_KEYS
    per_session = {code_spans(row[0])[0] for row in table_under(page, "settings: session").rows}
    assert per_session == SESSION_KEYS


def _without_reinstalls(args: list[str]) -> list[str]:
    """``args`` less ``--reinstall-package NAME`` pairs (the union reinstalls every member)."""
    kept: list[str] = []
    for arg in args:
        if kept and kept[-1] == "--reinstall-package":
            kept.pop()  # drop the flag and skip its name
        else:
            kept.append(arg)
    return kept


def test_sync_flags_table_is_what_sessions_pass_to_uv() -> None:
    """Each row's flags are what ``uv sync`` gets for a member's session with that ``Sync``,
    after ``sync --project ROOT --package MEMBER``; the union gets ``--all-packages`` there."""
    workspace = discover(DEMO)
    greet = workspace.member("greet")
    table = table_under(DOCS / "reference" / "sync-flags.md", "sync-flags")
    assert len(table.rows) >= 9
    for row in table.rows:
        (expression,) = code_spans(row[0])
        (flags,) = code_spans(row[1])
        sync = eval(expression, {"Sync": Sync})
        args = Target(workspace=workspace, members=(greet,), sync=sync).uv_sync_args()
        assert args[:5] == ["sync", "--project", str(workspace.root), "--package", "greet"]
        assert " ".join(args[5:]) == flags, row
        union = Target(
            workspace=workspace, members=workspace.members, sync=sync, all_packages=True
        ).uv_sync_args()
        assert _without_reinstalls(union[3:]) == ["--all-packages", *_without_reinstalls(args[5:])]
        for export in Target(
            workspace=workspace, members=(greet,), sync=sync
        ).tool_group_export_args():
            for flag in ("--frozen", "--only-group", "--no-emit-workspace"):
                assert flag in export
                assert flag in row[2]


# --------------------------------------------------------------------------------------------
# Claims of the prose, checked


@pytest.mark.functional
@pytest.mark.parametrize(
    ("package", "affected"), [("numberz", "stats"), ("tinycolor", "cli\ngreet")]
)
def test_a_lock_change_affects_the_members_whose_closure_changed(
    demo: Path, docs_env: dict[str, str], package: str, affected: str
) -> None:
    """explanation/affected.md: raising numberz in the demo's lock affects stats alone;
    raising tinycolor affects greet, and cli, whose closure holds greet."""
    lock = demo / "uv.lock"
    text = lock.read_text(encoding="utf-8")
    entry = re.search(rf'\[\[package\]\]\nname = "{package}"\nversion = "([^"]+)"', text)
    assert entry is not None
    bumped = entry.group(0).replace(entry.group(1), entry.group(1) + ".post1")
    lock.write_text(text.replace(entry.group(0), bumped), encoding="utf-8")
    proc = run(
        [sys.executable, "-m", "nox_workspace", "affected", "--since", "HEAD"], demo, docs_env
    )
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.strip() == affected
    assert package in (DOCS / "explanation" / "affected.md").read_text(encoding="utf-8")


@pytest.mark.functional
def test_built_wheel_sessions_see_source_edits(demo: Path, docs_env: dict[str, str]) -> None:
    """how-to/built-wheels.md: with ``Sync(editable=False)``, an edited source file reaches
    the venv on the next run, because the members' wheels are built again every time."""
    page = DOCS / "how-to" / "built-wheels.md"
    (noxfile,) = [b for b in read_blocks(page) if b.is_noxfile]
    (demo / "noxfile.py").write_text(noxfile.text, encoding="utf-8")
    session = [sys.executable, "-m", "nox", "--non-interactive", "-s", "wheel-greet"]
    assert run(session, demo, docs_env).returncode == 0
    source = demo / "packages" / "greet" / "src" / "greet" / "__init__.py"
    source.write_text(source.read_text().replace("Hello, {name}!", "Hi, {name}!"))
    fresh = run(session, demo, docs_env)
    assert fresh.returncode != 0, "the edit did not reach the venv"
    assert "Hi, Ada!" in fresh.stdout


# --------------------------------------------------------------------------------------------
# The site builds


def test_docs_build_without_warnings(tmp_path: Path) -> None:
    """``sphinx-build -W`` builds the site with no warning (skipped without Sphinx)."""
    for module in ("sphinx", "myst_parser", "sphinxcontrib.mermaid"):
        if importlib.util.find_spec(module.split(".")[0]) is None or (
            "." in module and importlib.util.find_spec(module) is None
        ):
            pytest.skip(f"{module} is not installed (it is in the 'docs' dependency group)")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "html" / "index.html").is_file()


# --------------------------------------------------------------------------------------------
# The sync-semantics page: the workspace it shows, built from its own TOML blocks


def page_files(path: Path, variant: str) -> dict[str, str]:
    """The files the page shows (``% file: PATH`` or ``% file: PATH, VARIANT``) for a variant.

    Files without a variant belong to every variant; a variant's own file replaces them.
    """
    files: dict[str, str] = {}
    overrides: dict[str, str] = {}
    for block in read_blocks(path):
        spec = block.note("file")
        if spec is None:
            continue
        name, _, for_variant = (part.strip() for part in spec.partition(","))
        if not for_variant:
            files[name] = block.text
        elif for_variant == variant:
            overrides[name] = block.text
    return {**files, **overrides}


def build_page_workspace(
    root: Path, wheelhouse: Path, env: Mapping[str, str], variant: str = "virtual-root"
) -> Path:
    """Write the page's workspace below ``root`` (offline, from ``wheelhouse``) and lock it."""
    files = page_files(SEMANTICS, variant)
    assert "pyproject.toml" in files, f"{SEMANTICS}: no '% file: pyproject.toml' block"
    files["pyproject.toml"] += "\n[tool.uv]\n" + offline_index(wheelhouse)
    write_tree(root, files)
    for name, text in files.items():
        data = tomllib.loads(text)
        if name != "pyproject.toml" and "build-system" in data:
            package_sources(root, str(Path(name).parent), data["project"]["name"])
    run_uv(["lock"], root, env)
    return root


def names_cell(names: Sequence[str]) -> str:
    return " ".join(f"`{name}`" for name in sorted(names)) or "*empty*"


def venv_cell(before: set[str], after: set[str], warned: Sequence[str] = ()) -> str:
    """How a cell says what a venv holds afterwards, what went, and what was warned about."""
    parts = [names_cell(sorted(after))]
    if before - after:
        parts.append("removes " + names_cell(sorted(before - after)))
    if warned:
        parts.append("warns about " + names_cell(warned))
    return "; ".join(parts)


def mismatches(table: Table, measured: Sequence[Sequence[str]], first: int) -> list[str]:
    """Cells that differ from what was measured: ``row | column: docs say X, measured Y``."""
    found = []
    for row, got in zip(table.rows, measured, strict=True):
        for column, (said, seen) in enumerate(zip(row, got, strict=True)):
            if column >= first and said != seen:
                head = " ".join(row[:first])
                found.append(f"{head} | {table.header[column]}:\n  docs: {said}\n  now:  {seen}")
    return found


# The starting states: a column header names one, and its code spans are what the venv holds.
Shaper = Callable[[Path, Path, Path, Mapping[str, str]], None]


def _into(venv: Path, env: Mapping[str, str]) -> dict[str, str]:
    return {**env, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON": str(venv / "bin" / "python")}


def _empty(root: Path, venv: Path, wheelhouse: Path, env: Mapping[str, str]) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    run_uv(["venv", "--quiet", str(venv)], root, env)


def _bar(root: Path, venv: Path, wheelhouse: Path, env: Mapping[str, str]) -> None:
    run_uv(["sync", "--exact", "--package", "bar"], root, _into(venv, env))


def _hand(root: Path, venv: Path, wheelhouse: Path, env: Mapping[str, str]) -> None:
    run_uv(["sync", "--exact", "--package", "foo"], root, _into(venv, env))
    gamma = str(max(wheelhouse.glob("gamma-*.whl")))
    python = str(venv / "bin" / "python")
    run_uv(["pip", "install", "--python", python, "--no-deps", gamma], root, env)


def shaper(header: str) -> Shaper:
    if "empty" in header:
        return _empty
    if "bar's closure" in header:
        return _bar
    if "by hand" in header:
        return _hand
    raise AssertionError(f"{SEMANTICS}: no starting state for the column {header!r}")


def held(venv: Path) -> set[str]:
    return set(Venv(venv).distributions())


def project_for(root: Path, tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> NoxProject:
    reports = tmp_path / "reports"
    reports.mkdir(exist_ok=True)
    return NoxProject(root=root, reports=reports, wheelhouse=wheelhouse, env=env)


LEAK_LINE = re.compile(r"^\s*-\s+(\S+) \S+ is installed but is not in the locked closure", re.M)


@pytest.mark.functional
@pytest.mark.parametrize("variant", ["virtual-root", "project-root"])
def test_uv_table_is_what_plain_uv_does(
    tmp_path: Path, wheelhouse: Path, env: dict[str, str], variant: str
) -> None:
    """Each cell of the plain-uv tables is measured: the starting state is made, the command
    runs from the row's folder into the shared ``.venv``, and the venv's contents and
    removals must be what the cell says."""
    root = build_page_workspace(tmp_path / "ws", wheelhouse, env, variant)
    venv = root / ".venv"
    table = table_under(SEMANTICS, f"measured: uv, {variant}")
    measured: list[list[str]] = []
    for row in table.rows:
        folder = root if row[0] == "root" else root / code_spans(row[0])[0]
        (command,) = code_spans(row[1])
        argv = shlex.split(command)
        assert argv[0] == "uv", f"{SEMANTICS}: {command!r} is not a uv command"
        cells = list(row[:2])
        for header in table.header[2:]:
            _empty(root, venv, wheelhouse, env)
            shaper(header)(root, venv, wheelhouse, env)
            before = held(venv)
            assert before == set(code_spans(header)), f"start state {header!r} holds {before}"
            run_uv(argv[1:], folder, env)
            cells.append(venv_cell(before, held(venv)))
        measured.append(cells)
    problems = mismatches(table, measured, first=2)
    assert not problems, "\n".join(problems) + "\n\nMeasured:\n" + table.render(measured)


@pytest.mark.functional
def test_session_table_is_what_generated_sessions_do(
    tmp_path: Path, wheelhouse: Path, env: dict[str, str]
) -> None:
    """Each cell of the sessions table is measured with the real nox: the session's own venv
    is put in the starting state, the session runs, and the venv's contents, removals and
    leaked-package warning must be what the cell says."""
    root = build_page_workspace(tmp_path / "ws", wheelhouse, env)
    project = project_for(root, tmp_path, wheelhouse, env)
    table = table_under(SEMANTICS, "measured: sessions")
    measured: list[list[str]] = []
    for row in table.rows:
        (session,) = code_spans(row[0])
        (sync,) = code_spans(row[1])
        member = session.removeprefix("test-")
        scope = 'union="all", members=[]' if session == "all" else f'members=["{member}"]'
        project.write_noxfile(f"{scope}, sync={sync}")
        venv = project.venv(session)
        shutil.rmtree(venv, ignore_errors=True)
        project.nox("-s", session)  # Nox makes the venv that the starting states reshape
        cells = list(row[:2])
        for header in table.header[2:]:
            shaper(header)(root, venv, wheelhouse, env)
            before = held(venv)
            assert before == set(code_spans(header)), f"start state {header!r} holds {before}"
            result = project.nox("-s", session)
            cells.append(venv_cell(before, held(venv), LEAK_LINE.findall(result.stderr)))
        measured.append(cells)
    problems = mismatches(table, measured, first=2)
    assert not problems, "\n".join(problems) + "\n\nMeasured:\n" + table.render(measured)


@pytest.mark.functional
def test_stale_lock_table_is_what_uv_and_sessions_do(
    tmp_path: Path, wheelhouse: Path, env: dict[str, str]
) -> None:
    """With a ``uv.lock`` older than foo's ``pyproject.toml`` (foo now also needs ``kappa``),
    each row runs from an empty venv; whether it succeeds, whether ``uv.lock`` was rewritten
    and what the venv holds must be what the row says."""
    root = build_page_workspace(tmp_path / "ws", wheelhouse, env)
    project = project_for(root, tmp_path, wheelhouse, env)
    foo = root / "packages" / "foo" / "pyproject.toml"
    foo.write_text(foo.read_text().replace('["alpha"]', '["alpha", "kappa"]'))
    stale = project.lock_bytes()
    table = table_under(SEMANTICS, "measured: stale lock")
    measured: list[list[str]] = []
    for row in table.rows:
        (root / "uv.lock").write_bytes(stale)
        spans = code_spans(row[0])
        if spans[0].startswith("nox -s "):
            session = spans[0].removeprefix("nox -s ")
            project.write_noxfile(f'members=["foo"], sync={spans[1]}')
            venv = project.venv(session)
            shutil.rmtree(venv, ignore_errors=True)
            ok = project.nox("-s", session, check=False).returncode == 0
        else:
            venv = root / ".venv"
            _empty(root, venv, wheelhouse, env)
            ok = run_uv(shlex.split(spans[0])[1:], foo.parent, env, check=False).returncode == 0
        contents = held(venv) if venv.exists() else set()
        measured.append(
            [
                row[0],
                "succeeds" if ok else "fails",
                "rewritten" if project.lock_bytes() != stale else "unchanged",
                names_cell(sorted(contents)),
            ]
        )
    problems = mismatches(table, measured, first=1)
    assert not problems, "\n".join(problems) + "\n\nMeasured:\n" + table.render(measured)
