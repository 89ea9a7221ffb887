"""The CI matrix: one row per member session the noxfile registers, in CI engines' formats.

``python -m nox_workspace matrix`` imports the noxfile in this process (which registers its
sessions, as Nox would, and records them in ``_sessions.GENERATED``), then prints a row per
session as Nox runs it. A row has:

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

``key`` is the first 16 hex digits of a SHA-256 over, and only over:

* the row's session: its name, function, Python, tags, strictness, whether it is the union,
  and every field of its :class:`~nox_workspace.Sync`;
* the global files: the root ``pyproject.toml``, the files matched by the declared global
  globs, and the noxfile that registered the session;
* the content of every file under the member's folder and under the folder of every member
  it depends on, transitively (all members for the union): files git tracks or would track
  (untracked but not ignored), as git blob ids of their working-tree content; outside a git
  repository, every file below the root except ``.git``, ``.nox``, ``.venv``, ``.tox``,
  ``__pycache__`` and tool caches. ``uv.lock`` is not among them:
* the member's locked closure instead (``uv sync --package`` with the session's options, the
  union over every platform): the name, version and source of each package, and a digest of
  its locked entry (dependencies, markers, files and their hashes).

So ``key`` changes when something that can change the session's result changes, and stays the
same when a lock change leaves the member's closure alone. A CI job can keep a marker in a
cache under ``key`` once the session passed, and skip the session when the marker is there.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fnmatch
import hashlib
import json
import os
import re
import runpy
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn, TextIO

from nox_workspace._affected import (
    LOCK_FILE,
    Affected,
    LockSnapshot,
    PathMatcher,
    add_change_arguments,
    affected_since,
    escape_glob,
    global_patterns,
    run_git,
)
from nox_workspace._closure import complete_edges, target_closure
from nox_workspace._errors import ConfigError, GitError, LockError, NoxWorkspaceError
from nox_workspace._lock import LockedPackage
from nox_workspace._workspace import Workspace

if TYPE_CHECKING:  # the Nox adapter imports Nox: only load it when a noxfile is involved
    from nox_workspace._sessions import GeneratedSession

__all__ = [
    "FORMATS",
    "ROW_FIELDS",
    "Row",
    "add_matrix_arguments",
    "build_rows",
    "file_index",
    "gitlab_pipeline",
    "load_noxfile",
    "run_matrix",
    "run_matrix_session",
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

_KEY_SCHEMA: Final = 1
_KEY_LENGTH: Final = 16
_SKIPPED_DIRS: Final = frozenset(
    {
        ".git",
        ".hg",
        ".nox",
        ".tox",
        ".venv",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        "node_modules",
    }
)
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


@dataclass(frozen=True, slots=True)
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


# --------------------------------------------------------------------------------------------
# Loading the noxfile


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
    from nox_workspace._sessions import GENERATED

    noxfile = path.resolve()
    if not noxfile.is_file():
        raise ConfigError(
            "noxfile not found", path=path, hint="run from the workspace root or pass --noxfile"
        )
    start = len(GENERATED)
    try:
        with _inside(noxfile.parent):
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
    return tuple(GENERATED[start:])


# --------------------------------------------------------------------------------------------
# Files and their digests


def _blob_id(data: bytes) -> str:
    """The id git gives a file with this content (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _file_blob(path: Path) -> str | None:
    """The blob id of a working-tree file (a symbolic link: of its target), None if gone."""
    try:
        if path.is_symlink():
            return _blob_id(os.readlink(path).encode("utf-8", "surrogateescape"))
        if path.is_dir():
            return None
        return _blob_id(path.read_bytes())
    except (FileNotFoundError, NotADirectoryError):
        return None


def _split(raw: bytes) -> list[str]:
    return [item for item in raw.decode("utf-8", "surrogateescape").split("\0") if item]


def file_index(root: Path) -> dict[str, str]:
    """Root-relative path -> git blob id of its working-tree content, for every file below.

    In a git repository: the files git tracks (their index blob ids, in one call), with the
    ones modified in the working tree and the untracked, not ignored ones hashed from disk.
    Elsewhere: every file below ``root``, skipping VCS folders, virtualenvs and caches.
    """
    try:
        staged = run_git(["ls-files", "-s", "-z"], root)
    except GitError:
        return _walk_index(root)
    index: dict[str, str] = {}
    for record in _split(staged):
        meta, _, path = record.partition("\t")
        parts = meta.split()
        if len(parts) >= 2:
            index[path] = parts[1]
    modified = _split(run_git(["diff", "--name-only", "--no-renames", "--relative", "-z"], root))
    others = _split(run_git(["ls-files", "--others", "--exclude-standard", "-z"], root))
    for path in (*modified, *others):
        if (root / path).is_dir():
            continue  # a submodule: its commit, as the index records it, stands for it
        blob = _file_blob(root / path)
        if blob is None:
            index.pop(path, None)
        else:
            index[path] = blob
    return index


#: Lists the files below a workspace root: root-relative path -> blob id.
FileIndexer = Callable[[Path], Mapping[str, str]]


def _walk_index(root: Path) -> dict[str, str]:
    index: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        base = Path(folder)
        for name in files:
            if name.endswith((".pyc", ".pyo")):
                continue
            blob = _file_blob(base / name)
            if blob is not None:
                index[(base / name).relative_to(root).as_posix()] = blob
    return index


@dataclass(frozen=True, slots=True)
class _WorkspaceState:
    """What the keys of one workspace's rows are made of, computed once per workspace."""

    workspace: Workspace
    lock: LockSnapshot
    member_digests: Mapping[str, str]
    global_digest: str
    _entry_digests: dict[LockedPackage, str] = field(default_factory=dict)

    def closure_digest(self, packages: Sequence[LockedPackage]) -> list[list[str | None]]:
        rows: list[list[str | None]] = []
        for package in packages:
            digest = self._entry_digests.get(package)
            if digest is None:
                entry = self.lock.entries.get(package, {})
                text = json.dumps(entry, sort_keys=True, default=str)
                digest = hashlib.sha256(text.encode()).hexdigest()
                self._entry_digests[package] = digest
            rows.append([package.name, package.version, package.source, digest])
        return rows


def _owner_pairs(workspace: Workspace) -> list[tuple[str, str]]:
    pairs = [(member.relpath, member.name) for member in workspace.members]
    return sorted(pairs, key=lambda pair: (pair[0] == ".", -len(pair[0]), pair[0]))


def _state(
    workspace: Workspace,
    extra_globals: Sequence[str],
    outside_files: Sequence[Path],
    files: FileIndexer,
) -> _WorkspaceState:
    try:
        raw = workspace.lock_path.read_bytes()
    except FileNotFoundError:
        raise LockError(
            "does not exist", path=workspace.lock_path, hint="run `uv lock` in the workspace root"
        ) from None
    lock = LockSnapshot.from_bytes(raw, workspace.lock_path)
    is_global = PathMatcher.of(("pyproject.toml", *global_patterns(workspace), *extra_globals))
    owners = _owner_pairs(workspace)
    per_member: dict[str, list[str]] = {member.name: [] for member in workspace.members}
    global_parts: list[str] = []
    for path, blob in sorted(files(workspace.root).items()):
        if path == LOCK_FILE:
            continue
        if is_global(path):
            global_parts.append(f"{path}\0{blob}")
            continue
        for folder, name in owners:
            if folder == "." or path == folder or path.startswith(folder + "/"):
                per_member[name].append(f"{path}\0{blob}")
                break
    for outside in outside_files:
        global_parts.append(f"{outside.as_posix()}\0{_file_blob(outside)}")
    digests = {
        name: hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()
        for name, parts in per_member.items()
    }
    global_digest = hashlib.sha256(
        "\n".join(global_parts).encode("utf-8", "surrogateescape")
    ).hexdigest()
    # The state's workspace has the edges only the lock shows (members with dynamic deps).
    return _WorkspaceState(complete_edges(workspace, lock.lock), lock, digests, global_digest)


def _noxfile_global(workspace: Workspace, noxfile: Path | None) -> tuple[list[str], list[Path]]:
    """The noxfile as a global glob when it is inside the root, else as an outside file."""
    if noxfile is None:
        return [], []
    resolved = noxfile.resolve()
    try:
        relative = resolved.relative_to(workspace.root.resolve()).as_posix()
    except ValueError:
        return [], [resolved]
    return [escape_glob(relative)], []


# --------------------------------------------------------------------------------------------
# Rows


def _sync_fields(session: GeneratedSession) -> dict[str, Any]:
    sync = session.target.sync
    return {item.name: getattr(sync, item.name) for item in dataclasses.fields(sync)}


def build_rows(
    generated: Sequence[GeneratedSession],
    *,
    union: bool = False,
    noxfile: Path | None = None,
    extra_globals: Sequence[str] = (),
    files: FileIndexer | None = None,
) -> list[Row]:
    """A row per session as Nox runs it (per Python), member sessions first in noxfile order.

    Union sessions are left out unless ``union``. ``noxfile`` is the file that registered
    the sessions: it counts among the global files of every key. ``files`` lists a
    workspace's files with their blob ids (default :func:`file_index`).
    """
    states: dict[Path, _WorkspaceState] = {}
    rows: list[Row] = []
    ordered = [g for g in generated if not g.target.all_packages]
    if union:
        ordered += [g for g in generated if g.target.all_packages]
    for session in ordered:
        target = session.target
        workspace = target.workspace
        state = states.get(workspace.root)
        if state is None:
            globs, outside = _noxfile_global(workspace, noxfile)
            state = _state(workspace, [*extra_globals, *globs], outside, files or file_index)
            states[workspace.root] = state
        if target.all_packages:
            member, path, names = UNION_MEMBER, ".", workspace.names
        else:
            member, path = target.member.name, target.member.relpath
            names = state.workspace.upstream([member])
        closure = target_closure(state.lock.lock, target, None)
        for nox_name, python in session.nox_names():
            payload = {
                "schema": _KEY_SCHEMA,
                "session": nox_name,
                "function": session.function,
                "python": python,
                "tags": list(session.tags),
                "strict": session.strict,
                "union": target.all_packages,
                "sync": _sync_fields(session),
                "global": state.global_digest,
                "members": [[name, state.member_digests.get(name, "")] for name in names],
                "closure": state.closure_digest(closure),
            }
            text = json.dumps(payload, sort_keys=True, default=list)
            key = hashlib.sha256(text.encode()).hexdigest()[:_KEY_LENGTH]
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
                )
            )
    return rows


def _matches(value: str, patterns: Sequence[str]) -> bool:
    return any(value == pattern or fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


def select_rows(
    rows: Sequence[Row],
    *,
    sessions: Sequence[str] = (),
    members: Sequence[str] = (),
    tags: Sequence[str] = (),
) -> list[Row]:
    """The rows that pass every filter given (names or globs; any of a filter's values).

    ``sessions`` match the session function or the full session name, ``members`` the member
    name or its folder, ``tags`` any of the row's tags.
    """
    kept = []
    for row in rows:
        if sessions and not (_matches(row.function, sessions) or _matches(row.session, sessions)):
            continue
        if members and not (_matches(row.member, members) or _matches(row.path, members)):
            continue
        if tags and not any(_matches(tag, tags) for tag in row.tags):
            continue
        kept.append(row)
    return kept


def keep_affected(rows: Sequence[Row], affected: Affected) -> list[Row]:
    """Rows of affected members; a union row when any member it holds is affected."""
    chosen = set(affected.affected)
    return [row for row in rows if chosen.intersection(row.members)]


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
                reasons = [r for name in row.members for r in affected.reasons.get(name, ())[:1]]
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
    rows: Sequence[Row], *, template: str | None = None, template_job: str = GITLAB_TEMPLATE_JOB
) -> str:
    """A child-pipeline YAML: the template job, then one job per row that extends it.

    Each job gets the row's fields as variables ``NW_MEMBER``, ``NW_SESSION``, ... (tags
    joined by commas, a missing Python empty). ``template`` is the hidden job's YAML; the
    default installs nox and nox-workspace with pip and runs ``nox -s "$NW_SESSION"``. An
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
    out.append((template or _DEFAULT_GITLAB_TEMPLATE).rstrip("\n"))
    for row in rows:
        name = row.session if row.session not in _GITLAB_RESERVED else f"nox-{row.session}"
        out += ["", f"{_yaml(name)}:", f"  extends: {_yaml(template_job)}", "  variables:"]
        for key, value in row.as_dict().items():
            text = ",".join(value) if isinstance(value, list) else (value or "")
            out.append(f"    {GITLAB_PREFIX}{key.upper()}: {_yaml(str(text))}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# The command (shared by ``python -m nox_workspace matrix`` and the Nox session)


def add_matrix_arguments(parser: argparse.ArgumentParser, *, noxfile: bool = True) -> None:
    """The ``matrix`` options; ``noxfile=False`` for the Nox session, which has its noxfile."""
    if noxfile:
        parser.add_argument(
            "--noxfile",
            type=Path,
            default=None,
            help="the noxfile to load (default: noxfile.py in --root or the current directory)",
        )
    parser.add_argument("--format", choices=FORMATS, default=None, help="output format")
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
    parser.add_argument(
        "--gitlab-template",
        type=Path,
        default=None,
        metavar="FILE",
        help="a YAML file holding the hidden job the GitLab jobs extend",
    )
    parser.add_argument(
        "--gitlab-job",
        default=GITLAB_TEMPLATE_JOB,
        metavar="NAME",
        help=f"the hidden job's name in --gitlab-template (default {GITLAB_TEMPLATE_JOB})",
    )


def run_matrix(
    args: argparse.Namespace,
    *,
    generated: Sequence[GeneratedSession] | None = None,
    noxfile: Path | None = None,
    environ: Mapping[str, str] | None = None,
    err: TextIO | None = None,
) -> str:
    """Plan the matrix as the options say and return what to print.

    ``generated`` are the sessions (default: load ``args.noxfile``); ``noxfile`` is their
    file. With ``--format github`` the GitHub output files named in ``environ`` are written.
    """
    environ = os.environ if environ is None else environ
    err = sys.stderr if err is None else err
    fmt = "json" if args.json else (args.format or "text")
    if generated is None:
        base = Path(args.root) if getattr(args, "root", None) else Path.cwd()
        noxfile = Path(args.noxfile) if getattr(args, "noxfile", None) else base / "noxfile.py"
        generated = load_noxfile(noxfile)
    template = None
    if fmt == "gitlab" and args.gitlab_template is not None:
        try:
            text = Path(args.gitlab_template).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(
                f"cannot be read ({error.strerror})", path=args.gitlab_template
            ) from None
        template = _template_block(text, args.gitlab_job, str(args.gitlab_template))
    if not generated:
        raise ConfigError(
            "registers no nox-workspace session",
            path=noxfile,
            hint="decorate a session function with @nox_workspace.session",
        )

    rows = build_rows(generated, union=args.union, noxfile=noxfile, extra_globals=args.globals)
    rows = select_rows(rows, sessions=args.session, members=args.member, tags=args.tag)
    total = len(rows)
    affected: Affected | None = None
    if args.since is not None:
        workspaces = {g.target.workspace.root: g.target.workspace for g in generated}
        if len(workspaces) > 1:
            raise ConfigError("--since needs the noxfile's sessions to share one workspace")
        workspace = next(iter(workspaces.values()))
        globs, _ = _noxfile_global(workspace, noxfile)
        affected = affected_since(
            workspace,
            args.since,
            untracked=not args.no_untracked,
            extra_globals=[*args.globals, *globs],
        )
        rows = keep_affected(rows, affected)
        if args.explain:
            print(affected.explain(), file=err)
    elif args.explain:
        print("nox-workspace: --explain needs --since; every selected row is kept", file=err)

    if fmt == "json":
        return json.dumps([row.as_dict() for row in rows], indent=2)
    if fmt == "github":
        if len(rows) > GITHUB_MAX_JOBS:
            print(
                f"nox-workspace: warning: {len(rows)} rows; GitHub runs at most "
                f"{GITHUB_MAX_JOBS} jobs per matrix (split with --session or --tag)",
                file=err,
            )
        write_github_outputs(rows, total=total, affected=affected, environ=environ)
        return github_matrix(rows)
    if fmt == "gitlab":
        return gitlab_pipeline(rows, template=template, template_job=args.gitlab_job)
    return _text(rows)


class _SessionParser(argparse.ArgumentParser):
    """Options of the Nox session: a bad one raises instead of exiting the Nox process."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message} (see `python -m nox_workspace matrix --help`)")


def run_matrix_session(session: Any, name: str, noxfile: Path) -> None:
    """The body of the ready-made ``matrix`` Nox session: options come after ``--``."""
    from nox_workspace._sessions import GENERATED

    parser = _SessionParser(prog=f"nox -s {name} --", add_help=False)
    add_matrix_arguments(parser, noxfile=False)
    try:
        args = parser.parse_args(list(session.posargs))
        output = run_matrix(args, generated=list(GENERATED), noxfile=noxfile)
    except NoxWorkspaceError as error:
        session.error(f"nox-workspace: {error}")
    if output:
        print(output, flush=True)
