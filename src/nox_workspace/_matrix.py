"""The CI matrix: one row per member session the noxfile registers, in CI engines' formats.

``python -m nox_workspace matrix`` imports the noxfile in this process (which registers its
sessions, as Nox would, and records them in ``_registry``), then prints a row per session as
Nox runs it. A row has:

* ``member``: the member's name; ``"*"`` for a union session (it holds every member, and
  ``*`` can never be a package name);
* ``session``: the exact name to pass to ``nox -s`` (``test-foo``, or ``test-foo-3.12`` when
  the session has a list of Pythons);
* ``function``: the session function's name (the prefix of its member sessions);
* ``python``: the session's Python version, or ``null``;
* ``path``: the member's folder relative to the workspace root (``.`` for the root and the
  union);
* ``key``: a cache key (below);
* ``tags``: the session's Nox tags.

``key`` is the first 16 hex digits of a SHA-256 over, and only over, the inputs the affected
rules read (``_scope`` names them, ``_affected`` decides with them):

* the row's session: its name, function, Python, tags, strictness, whether it is the union,
  and every field of its :class:`~nox_workspace.Sync`;
* the global files: the root ``pyproject.toml``'s global tables, ``uv.toml``,
  ``.python-version``, the files matched by the declared global globs, and the noxfile that
  registered the session;
* the content of every file of the members the session's closure installs (all members for
  the union), of the locked path sources in it, and of the files it reads (``tests`` and
  ``paths``): files git tracks or would track (untracked but not ignored), as git blob ids
  of their working-tree content; outside a git repository, every file below the root except
  ``.git``, ``.nox``, ``.venv``, ``.tox``, ``__pycache__`` and tool caches. ``uv.lock`` is
  not among them:
* the session's locked closure instead (its ``Sync``, tool groups included, the union over
  every platform): the name, version and source of each package, and a digest of its
  locked entry (dependencies, markers, files and their hashes).

So ``key`` changes when something that can change the session's result changes, and stays the
same when a lock change leaves the member's closure alone. A CI job can keep a marker in a
cache under ``key`` once the session passed, and skip the session when the marker is there.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from nox_workspace._errors import ConfigError

if TYPE_CHECKING:
    from nox_workspace._affected import Affected
    from nox_workspace._git import FileIndexer
    from nox_workspace._keys import KeyState
    from nox_workspace._registry import GeneratedSession
    from nox_workspace._scope import Scope
    from nox_workspace._workspace import Workspace

# The planners (keys, closures, git, affected) are imported by the functions that plan: the
# command line builds its parser from this module's formats for every command, and
# `members` or `graph` must not pay for reading locks and git.

__all__ = [
    "FORMATS",
    "ROW_FIELDS",
    "MatrixOptions",
    "Row",
    "build_rows",
    "gitlab_pipeline",
    "run_matrix",
    "select_rows",
]

#: The fields of every row, in output order.
ROW_FIELDS: Final = ("member", "session", "function", "python", "path", "key", "tags")
#: Output formats of ``matrix``.
FORMATS: Final = ("text", "json", "github", "gitlab")
#: The member value of a union session's row.
UNION_MEMBER: Final = "*"
#: GitLab variable prefix: row field ``session`` is ``$NW_SESSION`` in a GitLab job.
GITLAB_PREFIX: Final = "NW_"
#: The hidden job the generated GitLab jobs extend.
GITLAB_TEMPLATE_JOB: Final = ".nox-workspace-member"
#: GitHub refuses a matrix of more than this many jobs.
GITHUB_MAX_JOBS: Final = 256

_GITLAB_RESERVED: Final = frozenset(
    {
        "after_script",
        "before_script",
        "cache",
        "default",
        "image",
        "include",
        "pages",
        "services",
        "stages",
        "variables",
        "workflow",
    }
)
_DEFAULT_GITLAB_TEMPLATE: Final = """\
.nox-workspace-member:
  image: python:3.12
  variables:
    PIP_DISABLE_PIP_VERSION_CHECK: "1"
  script:
    - python -m pip install nox nox-workspace
    - python -m nox -s "$NW_SESSION"
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One member session as CI runs it (see the module docstring for the fields)."""

    member: str
    session: str
    function: str
    python: str | None
    path: str
    key: str
    tags: tuple[str, ...]
    members: tuple[str, ...] = field(default=(), compare=False, repr=False)
    scope: str = field(default="", compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON: the fields of :data:`ROW_FIELDS`, in that order."""
        return {
            "member": self.member,
            "session": self.session,
            "function": self.function,
            "python": self.python,
            "path": self.path,
            "key": self.key,
            "tags": list(self.tags),
        }


def build_rows(
    generated: Sequence[GeneratedSession],
    *,
    union: bool = False,
    noxfile: Path | None = None,
    extra_globals: Sequence[str] = (),
    files: FileIndexer | None = None,
    states: dict[Path, KeyState] | None = None,
) -> list[Row]:
    """A row per session as Nox runs it (per Python), member sessions first in noxfile order.

    Union sessions are left out unless ``union``. ``noxfile`` is the file that registered
    the sessions: it counts among the global files of every key. ``files`` lists a
    workspace's files with their blob ids (default :func:`file_index`). ``states``, when
    given, receives each workspace's key state (its parsed lock, for the planner).
    """
    from nox_workspace._closure import target_closure
    from nox_workspace._git import file_index
    from nox_workspace._keys import key_state, noxfile_global, row_key

    states = {} if states is None else states
    rows: list[Row] = []
    ordered = [g for g in generated if not g.target.all_packages]
    if union:
        ordered += [g for g in generated if g.target.all_packages]
    for session in ordered:
        target = session.target
        workspace = target.workspace
        state = states.get(workspace.root)
        if state is None:
            globs, outside = noxfile_global(workspace, noxfile)
            state = key_state(workspace, [*extra_globals, *globs], outside, files or file_index)
            states[workspace.root] = state
        if target.all_packages:
            member, path = UNION_MEMBER, "."
        else:
            member, path = target.member.name, target.member.relpath
        closure = target_closure(state.lock.lock, target, None)
        for nox_name, python in session.nox_names():
            key = row_key(state, session, nox_name, python, closure)
            rows.append(
                Row(
                    member=member,
                    session=nox_name,
                    function=session.function,
                    python=python,
                    path=path,
                    key=key,
                    tags=tuple(session.tags),
                    members=target.names,
                    scope=session.name,
                )
            )
    return rows


def _matches(value: str, patterns: Sequence[str]) -> bool:
    return any(value == pattern or fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


def select_rows(
    rows: Sequence[Row],
    *,
    sessions: Sequence[str] = (),
    members: Collection[str] | None = None,
    tags: Sequence[str] = (),
) -> list[Row]:
    """The rows that pass every filter given (any of a filter's values).

    ``sessions`` (names or globs) match the session function or the full session name;
    ``members`` are member names, as :meth:`Workspace.select` chose them, and
    :data:`UNION_MEMBER` for the union rows; ``tags`` (names or globs) match any of the row's
    tags.
    """
    kept = []
    for row in rows:
        if sessions and not (_matches(row.function, sessions) or _matches(row.session, sessions)):
            continue
        if members is not None and row.member not in members:
            continue
        if tags and not any(_matches(tag, tags) for tag in row.tags):
            continue
        kept.append(row)
    return kept


def keep_affected(rows: Sequence[Row], affected: Affected) -> list[Row]:
    """The rows of the affected sessions (every Python of a session shares its decision)."""
    chosen = set(affected.affected)
    return [row for row in rows if row.scope in chosen]


def row_scopes(generated: Sequence[GeneratedSession], rows: Sequence[Row]) -> list[Scope]:
    """The scopes of the sessions behind ``rows``, for the affected planner."""
    from nox_workspace._scope import Scope

    wanted = {row.scope for row in rows}
    return [
        Scope.of(session.name, session.target, session.function)
        for session in generated
        if session.name in wanted
    ]


# --------------------------------------------------------------------------------------------
# Formats


def _text(rows: Sequence[Row]) -> str:
    if not rows:
        return "(no member session selected)"
    table = [("session", "member", "python", "path", "key")]
    table += [(r.session, r.member, r.python or "-", r.path, r.key) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in table
    )


def github_matrix(rows: Sequence[Row]) -> str:
    """``{"include": [...]}`` on one line, for ``strategy.matrix: ${{ fromJSON(...) }}``."""
    return json.dumps({"include": [row.as_dict() for row in rows]}, separators=(",", ":"))


def _github_summary(rows: Sequence[Row], total: int, affected: Affected | None) -> str:
    since = f" (changes since `{affected.since}`)" if affected is not None else ""
    lines = [f"### nox-workspace: {len(rows)} of {total} member sessions to run{since}", ""]
    if rows:
        lines += ["| session | member | python | key | why |", "| --- | --- | --- | --- | --- |"]
        for row in rows:
            why = "selected"
            if affected is not None:
                reasons = affected.reasons.get(row.scope, ())
                why = reasons[0] if reasons else why
            cells = [row.session, row.member, row.python or "", row.key, why]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    else:
        lines.append("No member session is affected: the member jobs are skipped.")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """A Markdown table cell: ``|`` escaped, a line break (a path can hold one) a space."""
    return " ".join(text.replace("|", "\\|").splitlines())


def _append(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


def write_github_outputs(
    rows: Sequence[Row],
    *,
    total: int,
    affected: Affected | None,
    environ: Mapping[str, str],
) -> None:
    """Write ``matrix``, ``any`` and ``count`` to ``$GITHUB_OUTPUT``, a summary to the summary.

    ``any=false`` lets a workflow skip the matrix job: GitHub fails a matrix whose
    ``include`` is empty.
    """
    output = environ.get("GITHUB_OUTPUT")
    if output:
        _append(
            output,
            f"matrix={github_matrix(rows)}\nany={'true' if rows else 'false'}\ncount={len(rows)}\n",
        )
    summary = environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        _append(summary, _github_summary(rows, total, affected))


#: What a YAML double-quoted scalar cannot hold as it is, beyond what JSON escapes: DEL and
#: the C1 controls, surrogates (a file name that is not UTF-8) and U+FFFE/U+FFFF (outside
#: YAML's printable set: parsers refuse them), and NEL, LS, PS and the byte-order mark (a
#: parser folds or drops them).
_YAML_UNSAFE: Final = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def _yaml(value: str) -> str:
    """A YAML double-quoted scalar that reads back as ``value`` (JSON's escapes are YAML's)."""
    text = json.dumps(value, ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda match: _yaml_escape(match.group()), text)


def _yaml_escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _template_block(text: str, job: str, source: str) -> str:
    """The top-level block ``job:`` of a YAML file, verbatim (up to the next top-level key)."""
    lines = text.splitlines()
    heads = (f"{job}:", f'"{job}":', f"'{job}':")
    for start, line in enumerate(lines):
        if line.rstrip().startswith(heads) and not line.startswith((" ", "\t")):
            end = start + 1
            while end < len(lines):
                nxt = lines[end]
                if nxt.strip() and not nxt.startswith((" ", "\t", "#")):
                    break
                end += 1
            block = lines[start:end]
            while block and not block[-1].strip():
                block.pop()
            return "\n".join(block) + "\n"
    raise ConfigError(
        f"has no top-level job {job!r} to use as the member job template",
        path=source,
        hint=f"define the hidden job {job}: (image, script...) or pass --gitlab-job",
    )


def gitlab_pipeline(
    rows: Sequence[Row],
    *,
    template: str | None = None,
    template_job: str = GITLAB_TEMPLATE_JOB,
    include: str | None = None,
) -> str:
    """A child-pipeline YAML: the template job, then one job per row that extends it.

    Each job gets the row's fields as variables ``NW_MEMBER``, ``NW_SESSION``, ... (tags
    joined by commas, a missing Python empty), each written ``{value: ..., expand: false}``
    so that GitLab passes a ``$`` in a member's path as it is. ``template`` is the hidden
    job's YAML; the default installs nox and nox-workspace with pip and runs
    ``nox -s "$NW_SESSION"``. ``include`` names a file of the repository that holds the
    hidden job instead (``include: local``), so the pipeline does not carry a copy of it. An
    empty selection gives one job that says so: GitLab refuses a pipeline without jobs.
    """
    out = [
        "# Generated by `python -m nox_workspace matrix --format gitlab`: one job per member",
        "# session. Run it as a child pipeline (trigger: include: artifact:).",
        "",
    ]
    if not rows:
        out += [
            "nox-workspace-nothing-to-run:",
            "  variables:",
            '    GIT_STRATEGY: "none"',
            "  script:",
            "    - " + _yaml('echo "nox-workspace: no member session is affected; nothing to run"'),
        ]
        return "\n".join(out) + "\n"
    if include is not None:
        out += ["include:", f"  - local: {_yaml(include)}"]
    else:
        out.append((template or _DEFAULT_GITLAB_TEMPLATE).rstrip("\n"))
    for row in rows:
        name = row.session if row.session not in _GITLAB_RESERVED else f"nox-{row.session}"
        out += ["", f"{_yaml(name)}:", f"  extends: {_yaml(template_job)}", "  variables:"]
        for key, value in row.as_dict().items():
            text = ",".join(value) if isinstance(value, list) else (value or "")
            out.append(
                f"    {GITLAB_PREFIX}{key.upper()}: {{value: {_yaml(str(text))}, expand: false}}"
            )
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# The command (shared by ``python -m nox_workspace matrix`` and the Nox session)


@dataclass(frozen=True, slots=True, kw_only=True)
class MatrixOptions:
    """What ``matrix`` was asked for (the command line's options, as plain values).

    ``fmt`` is one of :data:`FORMATS`; ``sessions``, ``members`` and ``tags`` filter the rows
    (``members`` through :meth:`Workspace.select`); ``since`` narrows them to the affected
    members; ``gitlab_template`` is the text of a YAML file holding ``gitlab_job``.
    """

    fmt: str = "text"
    sessions: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    union: bool = False
    since: str | None = None
    untracked: bool = True
    globals: tuple[str, ...] = ()
    explain: bool = False
    gitlab_template: str | None = None
    gitlab_template_path: str = ""
    gitlab_job: str = GITLAB_TEMPLATE_JOB
    gitlab_include: str | None = None


def _one_workspace(generated: Sequence[GeneratedSession], why: str) -> Workspace:
    workspaces = {g.target.workspace.root: g.target.workspace for g in generated}
    if len(workspaces) > 1:
        raise ConfigError(f"{why} needs the noxfile's sessions to share one workspace")
    return next(iter(workspaces.values()))


def run_matrix(
    options: MatrixOptions,
    generated: Sequence[GeneratedSession],
    *,
    noxfile: Path | None = None,
    environ: Mapping[str, str] | None = None,
    err: TextIO | None = None,
    files: FileIndexer | None = None,
) -> str:
    """Plan the matrix as ``options`` say and return what to print.

    ``generated`` are the sessions, ``noxfile`` their file. With the ``github`` format the
    GitHub output files named in ``environ`` are written; notes go to ``err``.
    """
    environ = os.environ if environ is None else environ
    err = sys.stderr if err is None else err
    template = None
    if options.fmt == "gitlab" and options.gitlab_template is not None:
        template = _template_block(
            options.gitlab_template, options.gitlab_job, options.gitlab_template_path
        )
    if not generated:
        raise ConfigError(
            "registers no nox-workspace session",
            path=noxfile,
            hint="decorate a session function with @nox_workspace.session",
        )

    states: dict[Path, KeyState] = {}
    rows = build_rows(
        generated,
        union=options.union,
        noxfile=noxfile,
        extra_globals=options.globals,
        files=files,
        states=states,
    )
    chosen = None
    if options.members:
        workspace = _one_workspace(generated, "--member")
        chosen = {member.name for member in workspace.select(options.members)}
        if _matches(UNION_MEMBER, options.members) or _matches(".", options.members):
            chosen.add(UNION_MEMBER)  # `--member '*'` keeps the union rows too
    rows = select_rows(rows, sessions=options.sessions, members=chosen, tags=options.tags)
    total = len(rows)
    affected: Affected | None = None
    if options.since is not None:
        affected = _plan_since(options.since, options, generated, rows, noxfile, states)
        rows = keep_affected(rows, affected)
        if options.explain:
            print(affected.explain(), file=err)
    elif options.explain:
        print("nox-workspace: --explain needs --since; every selected row is kept", file=err)
    return _render(options, rows, total, affected, template, environ, err)


def _plan_since(
    since: str,
    options: MatrixOptions,
    generated: Sequence[GeneratedSession],
    rows: Sequence[Row],
    noxfile: Path | None,
    states: Mapping[Path, KeyState],
) -> Affected:
    """Which of the selected rows' sessions the change since ``since`` affects.

    The lock the keys parsed is handed on, so it is read once.
    """
    from nox_workspace._affected import affected_since
    from nox_workspace._keys import noxfile_global

    workspace = _one_workspace(generated, "--since")
    globs, _ = noxfile_global(workspace, noxfile)
    state = states.get(workspace.root)
    return affected_since(
        workspace,
        since,
        untracked=options.untracked,
        extra_globals=[*options.globals, *globs],
        scopes=row_scopes(generated, rows),
        new_lock=state.lock if state is not None else None,
    )


def _render(
    options: MatrixOptions,
    rows: Sequence[Row],
    total: int,
    affected: Affected | None,
    template: str | None,
    environ: Mapping[str, str],
    err: TextIO,
) -> str:
    if options.fmt == "json":
        return json.dumps([row.as_dict() for row in rows], indent=2)
    if options.fmt == "github":
        if len(rows) > GITHUB_MAX_JOBS:
            print(
                f"nox-workspace: warning: {len(rows)} rows; GitHub runs at most "
                f"{GITHUB_MAX_JOBS} jobs per matrix (split with --session or --tag)",
                file=err,
            )
        write_github_outputs(rows, total=total, affected=affected, environ=environ)
        return github_matrix(rows)
    if options.fmt == "gitlab":
        return gitlab_pipeline(
            rows,
            template=template,
            template_job=options.gitlab_job,
            include=options.gitlab_include,
        )
    return _text(rows)
