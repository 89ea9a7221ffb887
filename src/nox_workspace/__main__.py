"""The command line: ``python -m nox_workspace members|closure|graph|affected|matrix|check|init``.

Each subcommand prints a readable default and ``--json`` for scripts (the shapes are in the
reference docs). Exit status: 0 on success, 2 on a bad workspace or bad arguments, with one
line on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from nox_workspace._errors import NoxWorkspaceError
from nox_workspace._graph import FORMATS, render_graph
from nox_workspace._workspace import Workspace, discover

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m nox_workspace",
        description="Inspect a uv workspace as nox-workspace sees it, and plan CI jobs.",
        epilog="Exit status: 0 on success, 2 on a bad workspace or bad arguments.",
    )
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
    closure.add_argument(
        "--group", action="append", default=[], metavar="G", help="add dependency group G"
    )
    closure.add_argument(
        "--extra", action="append", default=[], metavar="E", help="add the member's extra E"
    )
    closure.add_argument(
        "--no-default-groups", action="store_true", help="leave out the default groups"
    )
    closure.add_argument("--all-extras", action="store_true", help="add every extra")
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
    from nox_workspace._affected import add_change_arguments

    add_change_arguments(affected, since_required=True)
    affected.add_argument("--json", action="store_true", help="print JSON")

    from nox_workspace._matrix import add_matrix_arguments

    matrix = commands.add_parser(
        "matrix", parents=[common], help="the CI matrix of the noxfile's member sessions"
    )
    add_matrix_arguments(matrix)
    _add_check_and_init(commands, common)
    return parser


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

    result = affected_since(
        workspace, args.since, untracked=not args.no_untracked, extra_globals=args.globals
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
        ran = _run_check_or_init(args)
        if ran is not None:
            output, status = ran
            _print(output)
            return status
        output = _run(args)
    except NoxWorkspaceError as error:
        print(f"nox-workspace: error: {error}", file=sys.stderr)
        return 2
    _print(output)
    return 0


def _print(output: str) -> None:
    """Print the output of a subcommand, if any."""
    if output:
        try:
            print(output, flush=True)
        except BrokenPipeError:
            # The reader stopped early (`| head`): not an error of ours.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _run(args: argparse.Namespace) -> str:
    """The output of the subcommand ``args`` names."""
    if args.command == "matrix":
        from nox_workspace._matrix import run_matrix

        return run_matrix(args)
    workspace = discover(args.root)
    if args.verbose:
        for line in workspace.skipped:
            print(f"ignored {line}", file=sys.stderr)
    if args.command in ("members", "graph"):
        from nox_workspace._closure import complete_edges

        workspace = complete_edges(workspace)
    if args.command == "members":
        return _members(workspace, args.json)
    if args.command == "closure":
        return _closure(workspace, args)
    if args.command == "affected":
        return _affected(workspace, args)
    return render_graph(workspace, args.format)


# --------------------------------------------------------------------------------------------
# `check` and `init`: the subparsers, and their dispatch to plain functions of _check / _init.


def _add_check_and_init(
    commands: argparse._SubParsersAction[Any],
    common: argparse.ArgumentParser,
) -> None:
    """Add the ``check`` and ``init`` subcommands."""
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


def _run_check_or_init(args: argparse.Namespace) -> tuple[str, int] | None:
    """The output and exit status of ``check`` or ``init``; ``None`` for other commands."""
    if args.command == "check":
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
    if args.command == "init":
        from nox_workspace._init import run_init

        return run_init(args.root or Path.cwd(), ci=args.ci, dry_run=args.dry_run), 0
    return None


if __name__ == "__main__":
    raise SystemExit(main())
