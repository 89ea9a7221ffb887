"""Row keys: a digest of exactly what the affected rules read for a session.

``_scope`` names a session's inputs and ``_affected`` decides with them; here they are
hashed, so that a row's key is unchanged exactly when the row is not affected. The
workspace's part (member files, global files, the lock) is computed once per workspace
(:class:`KeyState`); the session's part (its closure, the members and path sources it
installs, the files it reads) once per row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from nox_workspace._affected import LOCK_FILE, read_snapshot, root_change
from nox_workspace._closure import complete_edges
from nox_workspace._errors import LockError
from nox_workspace._git import FileIndexer, file_blob
from nox_workspace._glob import PathMatcher, escape_glob
from nox_workspace._lock import LockedPackage
from nox_workspace._lockdiff import LockSnapshot
from nox_workspace._registry import GeneratedSession
from nox_workspace._scope import (
    GLOBAL_FILES,
    ROOT_PYPROJECT,
    Scope,
    installed_members,
    path_sources,
)
from nox_workspace._sync import Sync
from nox_workspace._workspace import Workspace

__all__ = ["KeyState", "key_state", "noxfile_global", "row_key"]

_KEY_SCHEMA: Final = 2
_KEY_LENGTH: Final = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyState:
    """What the keys of one workspace's rows are made of, computed once per workspace.

    ``files`` are the workspace's files (path -> blob id) that no global rule takes;
    digests of members, path sources and read globs are computed once each, on demand.
    """

    workspace: Workspace
    lock: LockSnapshot
    files: Mapping[str, str]
    member_digests: Mapping[str, str]
    global_digest: str
    _entry_digests: dict[LockedPackage, str] = field(default_factory=dict)
    _glob_digests: dict[tuple[str, ...], str] = field(default_factory=dict)

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

    def globs_digest(self, globs: tuple[str, ...]) -> str:
        """The files matching ``globs`` (path sources, what a session reads), as one digest."""
        if not globs:
            return ""
        digest = self._glob_digests.get(globs)
        if digest is None:
            matches = PathMatcher.of(globs, source=self.workspace.pyproject)
            parts = [f"{path}\0{blob}" for path, blob in self.files.items() if matches(path)]
            digest = _digest(parts)
            self._glob_digests[globs] = digest
        return digest


def _digest(parts: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def key_state(
    workspace: Workspace,
    extra_globals: Sequence[str],
    outside_files: Sequence[Path],
    files: FileIndexer,
) -> KeyState:
    lock = read_snapshot(workspace.lock_path)
    if lock is None:
        raise LockError(
            "does not exist", path=workspace.lock_path, hint="run `uv lock` in the workspace root"
        )
    is_global = PathMatcher.of(
        (*GLOBAL_FILES, *workspace.settings.global_globs, *extra_globals),
        source=workspace.pyproject,
    )
    owner_of = workspace.path_owner()
    per_member: dict[str, list[str]] = {member.name: [] for member in workspace.members}
    root = root_change(workspace, None, "").now or {}
    global_parts = [f"{ROOT_PYPROJECT} [{name}]\0{text}" for name, text in sorted(root.items())]
    rest: dict[str, str] = {}
    for path, blob in sorted(files(workspace.root).items()):
        if path in (LOCK_FILE, ROOT_PYPROJECT):
            continue
        if is_global(path):
            global_parts.append(f"{path}\0{blob}")
            continue
        rest[path] = blob
        holder = owner_of(path)
        if holder is not None:
            per_member[holder].append(f"{path}\0{blob}")
    for outside in outside_files:
        global_parts.append(f"{outside.as_posix()}\0{file_blob(outside)}")
    # The state's workspace has the edges only the lock shows (members with dynamic deps).
    return KeyState(
        workspace=complete_edges(workspace, lock.lock),
        lock=lock,
        files=rest,
        member_digests={name: _digest(parts) for name, parts in per_member.items()},
        global_digest=_digest(global_parts),
    )


def noxfile_global(workspace: Workspace, noxfile: Path | None) -> tuple[list[str], list[Path]]:
    """The noxfile as a global glob when it is inside the root, else as an outside file."""
    if noxfile is None:
        return [], []
    resolved = noxfile.resolve()
    try:
        relative = resolved.relative_to(workspace.root.resolve()).as_posix()
    except ValueError:
        return [], [resolved]
    return [escape_glob(relative)], []


def _sync_fields(sync: Sync) -> dict[str, Any]:
    return {item.name: getattr(sync, item.name) for item in dataclasses.fields(sync)}


def row_key(
    state: KeyState,
    session: GeneratedSession,
    nox_name: str,
    python: str | None,
    closure: Sequence[LockedPackage],
) -> str:
    """The key of one row: a digest of exactly the inputs the affected rules read."""
    target = session.target
    scope = Scope.of(session.name, target, session.function)
    names = sorted(installed_members(state.workspace, target, closure))
    sources = path_sources(state.workspace, closure, state.lock.entries)
    # One payload on purpose: what a key is made of is easiest to audit in one place.
    payload = {
        "schema": _KEY_SCHEMA,
        "session": nox_name,
        "function": session.function,
        "python": python,
        "tags": list(session.tags),
        "strict": session.strict,
        "union": target.all_packages,
        "sync": _sync_fields(target.sync),
        "global": state.global_digest,
        "members": [[name, state.member_digests.get(name, "")] for name in names],
        "sources": [sources, state.globs_digest(tuple(escape_glob(s) for s in sources))],
        "reads": [scope.reads, state.globs_digest(scope.reads)],
        "closure": state.closure_digest(closure),
    }
    text = json.dumps(payload, sort_keys=True, default=list)
    return hashlib.sha256(text.encode()).hexdigest()[:_KEY_LENGTH]
