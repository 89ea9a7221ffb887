"""The command line: ``python -m nox_workspace members|closure|graph|affected|matrix|check|init``.

Every argparse option, the loading of a noxfile and all printing live here; the planners take
plain values. Each subcommand prints a readable default and ``--json`` for scripts (the shapes
are in the reference docs). Exit status: 0 on success, 2 on a bad workspace or bad arguments,
with one line on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from nox_workspace._errors import ConfigError, NoxWorkspaceError
from nox_workspace._graph import FORMATS, render_graph
from nox_workspace._matrix import FORMATS as MATRIX_FORMATS
from nox_workspace._matrix import GITLAB_TEMPLATE_JOB, MatrixOptions, run_matrix
from nox_workspace._workspace import Workspace, discover

if TYPE_CHECKING:
    from nox_workspace._registry import GeneratedSession

# What only some commands need is imported by them: `members`, `graph`, `closure` and
# `affected` start no Nox, load no noxfile and read uv.lock only when they need it, so they
# cost little more than Python's start-up and discovery.

__all__ = ["load_noxfile", "main", "matrix_from_posargs"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _prog(argv0: str) -> str:
    """The command as it was invoked: ``nox-workspace`` (the console script) or
    ``python -m nox_workspace``, so usage lines and errors show what the user typed."""
    name = Path(argv0).name
    return "python -m nox_workspace" if name in ("__main__.py", "", "-c") else name


class _VersionAction(argparse.Action):
    """``--version``: the version is looked up only when asked for (a metadata search costs
    more than the rest of ``members``)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        print(f"{parser.prog} {_version()}")  # on stdout, as argparse's own version action
        parser.exit()


def _version() -> str:
    from importlib import metadata

    from nox_workspace._dist import installed_version

    try:
        return installed_version("nox-workspace", Path(__file__).parent)
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree without install
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=_prog(sys.argv[0]),
        description="Inspect a uv workspace as nox-workspace sees it, and plan CI jobs.",
        epilog="Exit status: 0 on success, 1 when check finds a leak, 2 on a bad workspace or "
        "bad arguments.",
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version")
    common = _Parser(add_help=False)
    common.add_argument(
        "--root",
        type=Path,
        default=None,
        help="a folder inside the workspace (default: the current directory)",
    )
    common.add_argument(
        "--verbose", "-v", action="store_true", help="say what was ignored, as uv does silently"
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    members = commands.add_parser("members", parents=[common], help="list the members")
    members.add_argument("--json", action="store_true", help="print JSON")

    closure = commands.add_parser(
        "closure", parents=[common], help="the locked packages a member's sync installs"
    )
    closure.add_argument("member")
    _add_selection_arguments(closure)
    closure.add_argument(
        "--all-platforms",
        action="store_true",
        help="the union over every platform and Python (what `uv export` lists)",
    )
    closure.add_argument("--json", action="store_true", help="print JSON")

    graph = commands.add_parser("graph", parents=[common], help="the member graph")
    graph.add_argument("--format", choices=FORMATS, default="text")

    affected = commands.add_parser(
        "affected", parents=[common], help="the members a change since a git revision affects"
    )
    add_change_arguments(affected, since_required=True)
    _add_selection_arguments(affected, all_groups=True)
    affected.add_argument("--json", action="store_true", help="print JSON")

    matrix = commands.add_parser(
        "matrix", parents=[common], help="the CI matrix of the noxfile's member sessions"
    )
    add_matrix_arguments(matrix)
    _add_check_and_init(commands, common)
    return parser


def _add_selection_arguments(parser: argparse.ArgumentParser, *, all_groups: bool = False) -> None:
    """What a member's sync installs, as uv's flags say it (``closure``, ``affected``)."""
    parser.add_argument(
        "--group", action="append", default=[], metavar="G", help="add dependency group G"
    )
    parser.add_argument(
        "--extra", action="append", default=[], metavar="E", help="add the member's extra E"
    )
    parser.add_argument(
        "--no-default-groups", action="store_true", help="leave out the default groups"
    )
    parser.add_argument("--all-extras", action="store_true", help="add every extra")
    if all_groups:
        parser.add_argument(
            "--all-groups",
            action="store_true",
            help="add every group the member or the root defines",
        )


def _add_check_and_init(
    commands: argparse._SubParsersAction[Any], common: argparse.ArgumentParser
) -> None:
    """The ``check`` and ``init`` subcommands."""
    check = commands.add_parser(
        "check",
        parents=[common],
        help="what a shared venv holds that each member's locked closure lacks",
        description="Compare a venv with each chosen member's locked closure. Exit status: 1 "
        "when something leaks for a chosen member, 0 otherwise, 2 on bad input.",
    )
    check.add_argument(
        "--venv",
        type=Path,
        default=None,
        help="the venv to check (default: UV_PROJECT_ENVIRONMENT, the workspace's .venv, "
        "or $VIRTUAL_ENV)",
    )
    chosen = check.add_mutually_exclusive_group()
    chosen.add_argument(
        "--member",
        action="extend",
        nargs="+",
        default=[],
        metavar="M",
        help="check member M (repeatable; default: the member of the current directory, "
        "else every member)",
    )
    chosen.add_argument("--all", action="store_true", help="check every member")
    check.add_argument(
        "--group", action="append", default=[], metavar="G", help="add dependency group G"
    )
    check.add_argument(
        "--extra", action="append", default=[], metavar="E", help="add extra E where it exists"
    )
    check.add_argument("--json", action="store_true", help="print JSON")

    init = commands.add_parser(
        "init",
        parents=[common],
        help="write a noxfile, a CI workflow and [tool.nox-workspace] for this workspace",
        description="Adopt nox-workspace: write noxfile.py, a CI workflow and a "
        "[tool.nox-workspace] table in the root pyproject.toml. Never overwrites a file.",
    )
    init.add_argument(
        "--ci",
        choices=("github", "gitlab", "none"),
        default="github",
        help="the CI workflow to write (default: github)",
    )
    init.add_argument(
        "--dry-run", action="store_true", help="print the changes as a diff; write nothing"
    )


def add_change_arguments(parser: argparse.ArgumentParser, *, since_required: bool) -> None:
    """The options that say which change to plan for: ``--since`` and what counts in it.

    Shared by ``affected`` (where ``--since`` is required) and ``matrix`` (where it narrows
    the rows, and the other options apply only with it).
    """
    if since_required:
        parser.add_argument("--since", required=True, metavar="REF", help="the git revision")
    else:
        parser.add_argument(
            "--since",
            metavar="REF",
            default=None,
            help="keep only the rows of sessions affected by the change from git REF",
        )
    scope = "" if since_required else "with --since: "
    parser.add_argument(
        "--no-untracked", action="store_true", help=f"{scope}ignore untracked files"
    )
    parser.add_argument(
        "--global",
        dest="globals",
        action="append",
        default=[],
        metavar="GLOB",
        help="a file that affects every member (added to [tool.nox-workspace] global)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help=f"{scope}say (on stderr, for the matrix) for each row the rule that fired, "
        "or why none did",
    )


def add_matrix_arguments(parser: argparse.ArgumentParser, *, noxfile: bool = True) -> None:
    """The ``matrix`` options; ``noxfile=False`` for the Nox session, which has its noxfile."""
    if noxfile:
        parser.add_argument(
            "--noxfile",
            type=Path,
            default=None,
            help="the noxfile to load (default: noxfile.py in --root or the current directory)",
        )
    parser.add_argument("--format", choices=MATRIX_FORMATS, default=None, help="output format")
    parser.add_argument("--json", action="store_true", help="same as --format json")
    parser.add_argument(
        "--session",
        action="append",
        default=[],
        metavar="NAME",
        help="keep sessions of this function (or this session name; globs allowed)",
    )
    parser.add_argument(
        "--member",
        action="append",
        default=[],
        metavar="NAME",
        help="keep rows of this member (name, folder or glob)",
    )
    parser.add_argument(
        "--tag", action="append", default=[], metavar="TAG", help="keep rows with this Nox tag"
    )
    parser.add_argument("--union", action="store_true", help="include the union sessions")
    add_change_arguments(parser, since_required=False)
    template = parser.add_mutually_exclusive_group()
    template.add_argument(
        "--gitlab-template",
        type=Path,
        default=None,
        metavar="FILE",
        help="a YAML file holding the hidden job the GitLab jobs extend (copied in)",
    )
    template.add_argument(
        "--gitlab-include",
        default=None,
        metavar="FILE",
        help="the repository's YAML file holding that hidden job, included (include: local)",
    )
    parser.add_argument(
        "--gitlab-job",
        default=GITLAB_TEMPLATE_JOB,
        metavar="NAME",
        help=f"the hidden job's name (default {GITLAB_TEMPLATE_JOB})",
    )


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    """Run with ``folder`` as the current directory and first on ``sys.path``, as Nox does."""
    before = Path.cwd()
    sys.path.insert(0, str(folder))
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))


def load_noxfile(path: Path) -> tuple[GeneratedSession, ...]:
    """Import the noxfile at ``path`` in this process; the member sessions it registered.

    The noxfile runs as Nox runs it (from its own folder), so its sessions register with Nox
    and with nox-workspace; no Nox process and no session runs.
    """
    noxfile = path.resolve()
    if not noxfile.is_file():
        raise ConfigError(
            "noxfile not found", path=path, hint="run from the workspace root or pass --noxfile"
        )
    import runpy

    from nox_workspace import _registry

    start = _registry.count()
    try:
        # The noxfile's own prints go to stderr: stdout carries the matrix, JSON or YAML.
        with _inside(noxfile.parent), contextlib.redirect_stdout(sys.stderr):
            runpy.run_path(str(noxfile), run_name="noxfile")
    except SystemExit as exit_:
        # nox-workspace's decorator has printed the one-line reason already.
        raise ConfigError(
            f"the noxfile did not load (exit status {exit_.code}); see the line above",
            path=path,
        ) from None
    except NoxWorkspaceError:
        raise
    except Exception as error:
        detail = str(error).splitlines()[0] if str(error) else ""
        raise ConfigError(
            f"the noxfile raised {type(error).__name__}{': ' + detail if detail else ''}",
            path=path,
            hint="run `nox -l` to see the traceback",
        ) from None
    return _registry.registered(start)


def matrix_options(args: argparse.Namespace) -> MatrixOptions:
    """The ``matrix`` options as plain values; reads ``--gitlab-template``'s file."""
    fmt = "json" if args.json else (args.format or "text")
    template = None
    if fmt == "gitlab" and args.gitlab_template is not None:
        try:
            template = Path(args.gitlab_template).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(
                f"cannot be read ({error.strerror})", path=args.gitlab_template
            ) from None
    return MatrixOptions(
        fmt=fmt,
        sessions=tuple(args.session),
        members=tuple(args.member),
        tags=tuple(args.tag),
        union=args.union,
        since=args.since,
        untracked=not args.no_untracked,
        globals=tuple(args.globals),
        explain=args.explain,
        gitlab_template=template,
        gitlab_template_path=str(args.gitlab_template or ""),
        gitlab_job=args.gitlab_job,
        gitlab_include=args.gitlab_include,
    )


class _SessionParser(argparse.ArgumentParser):
    """Options of the Nox session: a bad one raises instead of exiting the Nox process."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message} (see `python -m nox_workspace matrix --help`)")


def matrix_from_posargs(posargs: Sequence[str], name: str, noxfile: Path) -> str:
    """What the ready-made ``matrix`` Nox session prints: options come after ``--``."""
    parser = _SessionParser(prog=f"nox -s {name} --", add_help=False)
    add_matrix_arguments(parser, noxfile=False)
    args = parser.parse_args(list(posargs))
    from nox_workspace import _registry

    return run_matrix(matrix_options(args), _registry.registered(), noxfile=noxfile)


def _matrix(args: argparse.Namespace) -> str:
    base = Path(args.root) if args.root else Path.cwd()
    noxfile = Path(args.noxfile) if args.noxfile else base / "noxfile.py"
    options = matrix_options(args)
    return run_matrix(options, load_noxfile(noxfile), noxfile=noxfile)


def _members(workspace: Workspace, as_json: bool) -> str:
    rows: list[dict[str, Any]] = [
        {
            "name": member.name,
            "path": member.relpath,
            "virtual": member.virtual,
            "requires_python": member.requires_python,
            "depends_on": list(member.depends_on),
        }
        for member in workspace.members
    ]
    if as_json:
        return json.dumps(rows, indent=2)
    width = max((len(row["name"]) for row in rows), default=0)
    lines = []
    for row in rows:
        notes = [row["path"]]
        if row["virtual"]:
            notes.append("virtual")
        if row["depends_on"]:
            notes.append("needs " + ", ".join(row["depends_on"]))
        lines.append(f"{row['name']:<{width}}  " + "  ".join(notes))
    return "\n".join(lines)


def _closure(workspace: Workspace, args: argparse.Namespace) -> str:
    from nox_workspace._closure import closure_of

    member = workspace.member(args.member)
    packages = closure_of(
        workspace,
        member,
        groups=args.group,
        extras=args.extra,
        default_groups=not args.no_default_groups,
        all_extras=args.all_extras,
        environment=None if args.all_platforms else _here(),
    )
    if args.json:
        payload = {
            "member": member.name,
            "packages": [{"name": p.name, "version": p.version} for p in packages],
        }
        return json.dumps(payload, indent=2)
    return "\n".join(f"{p.name}=={p.version}" if p.version else p.name for p in packages)


def _here() -> dict[str, str]:
    """Marker values of the interpreter running this command."""
    from packaging.markers import default_environment

    return {key: str(value) for key, value in default_environment().items()}


def _affected(workspace: Workspace, args: argparse.Namespace) -> str:
    from nox_workspace._affected import affected_since
    from nox_workspace._scope import member_scopes

    scopes = member_scopes(
        workspace,
        groups=args.group,
        extras=args.extra,
        all_extras=args.all_extras,
        all_groups=args.all_groups,
        default_groups=not args.no_default_groups,
    )
    result = affected_since(
        workspace,
        args.since,
        untracked=not args.no_untracked,
        extra_globals=args.globals,
        scopes=scopes,
    )
    if args.json:
        return json.dumps(result.to_json(), indent=2)
    if args.explain:
        return result.explain()
    return "\n".join(result.affected)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            output, status = _check(args)
        elif args.command == "init":
            output, status = _init(args), 0
        else:
            output, status = _run(args), 0
    except NoxWorkspaceError as error:
        print(f"nox-workspace: error: {error}", file=sys.stderr)
        return 2
    if output:
        try:
            print(output, flush=True)
        except BrokenPipeError:
            # The reader stopped early (`| head`): not an error of ours.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return status


def _check(args: argparse.Namespace) -> tuple[str, int]:
    """``check``: the report and its exit status (1 when something leaks)."""
    from nox_workspace._check import check_venv

    report = check_venv(
        start=args.root,
        venv=args.venv,
        members=args.member,
        all_members=args.all,
        groups=args.group,
        extras=args.extra,
    )
    text = json.dumps(report.to_json(), indent=2) if args.json else report.render()
    return text, report.status


def _init(args: argparse.Namespace) -> str:
    """``init``: what was written, or the diff with ``--dry-run``."""
    from nox_workspace._init import run_init

    return run_init(args.root or Path.cwd(), ci=args.ci, dry_run=args.dry_run)


def _run(args: argparse.Namespace) -> str:
    """The output of the subcommand ``args`` names."""
    if args.command == "matrix":
        return _matrix(args)
    workspace = discover(args.root)
    if args.verbose:
        for skipped in workspace.skipped:
            print(f"ignored {skipped}", file=sys.stderr)
    if args.command in ("members", "graph") and workspace.dynamic_members:
        from nox_workspace._closure import complete_edges

        workspace = complete_edges(workspace)
    if args.command == "members":
        return _members(workspace, args.json)
    if args.command == "closure":
        return _closure(workspace, args)
    if args.command == "affected":
        return _affected(workspace, args)
    return render_graph(workspace, args.format)
