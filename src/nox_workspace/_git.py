"""The git edge: the only module that runs git.

Two questions need git: what changed since a revision (``affected``, ``matrix --since``) and
which files a workspace holds with their content ids (the matrix's cache keys). Each is a
handful of plumbing calls with ``GIT_OPTIONAL_LOCKS=0`` and ``LC_ALL=C``: ``rev-parse`` (is
this a repository, does REF exist), ``diff --name-only REF`` (committed, staged and unstaged
changes against the working tree), ``ls-files --others`` (untracked files), ``ls-files -s``
(the index's blob ids) and ``show REF:PATH`` (a file at the base revision).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from nox_workspace._errors import GitError

__all__ = [
    "FileIndexer",
    "GitChanges",
    "changes_since",
    "file_at",
    "file_blob",
    "file_index",
    "run_git",
    "split_nul",
]

_SHALLOW_HINT = (
    "fetch it first (git fetch origin BRANCH); in a shallow clone fetch the history too "
    "(actions/checkout with fetch-depth: 0, GIT_DEPTH: 0 on GitLab)"
)
#: Folders a workspace outside git leaves out of its file index: VCS, venvs, caches.
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


def run_git(args: Sequence[str], cwd: Path) -> bytes:
    """Run ``git ARGS`` in ``cwd``; its stdout, or a :class:`GitError` with git's own line."""
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except FileNotFoundError:
        raise GitError(
            "git is not installed or not on PATH",
            hint="install git; --since needs the repository's history",
        ) from None
    if proc.returncode != 0:
        message = _first_line(proc.stderr) or f"git {args[0]} exited {proc.returncode}"
        if "not a git repository" in message:
            raise GitError(
                "is not inside a git repository",
                path=cwd,
                hint="--since compares with a git revision; run from a clone",
            )
        raise GitError(f"git {' '.join(args[:2])} failed: {message}", path=cwd)
    return proc.stdout


def _first_line(raw: bytes) -> str:
    for line in raw.decode("utf-8", "replace").splitlines():
        text = line.strip()
        if text:
            return text.removeprefix("fatal: ").removeprefix("error: ")
    return ""


def split_nul(raw: bytes) -> list[str]:
    """The items of git's ``-z`` output (NUL-separated; file names may not be UTF-8)."""
    return [item for item in raw.decode("utf-8", "surrogateescape").split("\0") if item]


@dataclass(frozen=True, slots=True, kw_only=True)
class GitChanges:
    """What changed from ``since`` (resolved to ``commit``) to the working tree.

    ``paths`` are relative to the workspace root (``../x`` for a file outside it); ``prefix``
    is the root's folder inside the repository (``""`` at the top).
    """

    since: str
    commit: str
    prefix: str
    paths: tuple[str, ...]


def changes_since(root: Path, since: str, *, untracked: bool = True) -> GitChanges:
    """Ask git what changed from revision ``since`` to the working tree below ``root``.

    Committed, staged and unstaged changes (deletions, and both sides of a rename) and,
    unless ``untracked=False``, untracked files that are not ignored.
    """
    if not since or since.startswith("-"):
        raise GitError(
            f"{since!r} is not a git revision", hint="pass --since REF, e.g. origin/main"
        )
    try:
        out = run_git(["rev-parse", "--show-prefix", "--verify", f"{since}^{{commit}}"], root)
    except GitError as error:
        if "Needed a single revision" in error.problem or "unknown revision" in error.problem:
            raise GitError(
                f"unknown git revision {since!r}", path=root, hint=_SHALLOW_HINT
            ) from None
        raise
    # Two lines: the root's folder in the repository (empty at the top), then the commit.
    lines = out.decode("utf-8", "surrogateescape").split("\n")
    if len(lines) < 2 or not lines[1].strip():
        raise GitError(f"git rev-parse gave no commit for {since!r}", path=root)
    prefix, commit = lines[0].strip(), lines[1].strip()

    top_paths = split_nul(
        run_git(["diff", "--name-only", "--no-renames", "--no-ext-diff", "-z", commit, "--"], root)
    )
    if untracked:
        top_paths += split_nul(
            run_git(["ls-files", "--others", "--exclude-standard", "--full-name", "-z"], root)
        )
    return GitChanges(
        since=since,
        commit=commit,
        prefix=prefix,
        paths=tuple(sorted({_relative(path, prefix) for path in top_paths})),
    )


def _relative(path: str, prefix: str) -> str:
    """A repository path (``prefix`` is the root's folder in it) relative to the root."""
    if not prefix:
        return path
    if path.startswith(prefix):
        return path[len(prefix) :]
    depth = prefix.rstrip("/").count("/") + 1
    return "../" * depth + path


def file_at(root: Path, changes: GitChanges, name: str) -> bytes | None:
    """The root's file ``name`` at the base revision, or ``None`` when it did not exist there."""
    try:
        return run_git(["show", f"{changes.commit}:{changes.prefix}{name}"], root)
    except GitError as error:
        if "does not exist" in error.problem or "exists on disk, but not in" in error.problem:
            return None
        raise


def _blob_id(data: bytes) -> str:
    """The id git gives a file with this content (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def file_blob(path: Path) -> str | None:
    """The blob id of a working-tree file (a symbolic link: of its target), None if gone."""
    try:
        if path.is_symlink():
            return _blob_id(os.readlink(path).encode("utf-8", "surrogateescape"))
        if path.is_dir():
            return None
        return _blob_id(path.read_bytes())
    except (FileNotFoundError, NotADirectoryError):
        return None


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
    for record in split_nul(staged):
        meta, _, path = record.partition("\t")
        parts = meta.split()
        if len(parts) >= 2:
            index[path] = parts[1]
    modified = split_nul(run_git(["diff", "--name-only", "--no-renames", "--relative", "-z"], root))
    others = split_nul(run_git(["ls-files", "--others", "--exclude-standard", "-z"], root))
    for path in (*modified, *others):
        if (root / path).is_dir():
            continue  # a submodule: its commit, as the index records it, stands for it
        blob = file_blob(root / path)
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
            blob = file_blob(base / name)
            if blob is not None:
                index[(base / name).relative_to(root).as_posix()] = blob
    return index
