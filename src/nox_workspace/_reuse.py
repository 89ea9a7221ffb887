"""Reuse without churn: skip ``uv sync`` when nothing it reads has changed.

After a successful sync, the venv gets a small state file: a digest of everything the sync
read (``uv.lock``, every ``pyproject.toml`` of the workspace, the interpreter, the uv command
line) and the distributions the venv held right after it. The next run skips the sync only
when the digest is the same and the venv still holds exactly those distributions, so a
package installed by hand since then is noticed. The file is removed before a sync starts and
written (atomically) only after it succeeded: an interrupted sync never leaves a state that
claims success.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nox_workspace._venv import Venv
from nox_workspace._workspace import Workspace

__all__ = [
    "STARTED_FILE",
    "STATE_FILE",
    "SyncState",
    "clear_state",
    "inputs_digest",
    "load_state",
    "mark_started",
    "save_state",
    "unmark_started",
    "was_interrupted",
]

STATE_FILE = ".nox-workspace-sync.json"
#: Present from the start of a sync until its state is saved: a sync that was killed (SIGINT,
#: SIGKILL, a lost machine) leaves it behind, and the next run knows the venv may hold a
#: package uv had half installed or half removed.
STARTED_FILE = ".nox-workspace-sync.started"
_SCHEMA = 1


@dataclass(frozen=True, slots=True)
class SyncState:
    """What the last successful sync read (``digest``) and left (``distributions``)."""

    digest: str
    distributions: Mapping[str, str]
    leaks: tuple[str, ...] = ()


def inputs_digest(workspace: Workspace, venv: Venv, command: Sequence[str]) -> str:
    """A digest of everything a sync reads; it changes when any of it changes."""
    digest = hashlib.sha256()
    digest.update(json.dumps([_SCHEMA, list(command)]).encode())
    files = [workspace.lock_path, workspace.pyproject]
    files += [member.pyproject for member in workspace.members]
    for path in dict.fromkeys(files):
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<missing>")
    try:
        digest.update((venv.location / "pyvenv.cfg").read_bytes())
    except OSError:
        digest.update(b"<no pyvenv.cfg>")
    return digest.hexdigest()


def load_state(venv: Venv) -> SyncState | None:
    """The state the last successful sync left, or ``None`` (missing or unreadable)."""
    try:
        data = json.loads((venv.location / STATE_FILE).read_text(encoding="utf-8"))
        if data.get("schema") != _SCHEMA:
            return None
        return SyncState(
            digest=str(data["digest"]),
            distributions={str(k): str(v) for k, v in data["distributions"].items()},
            leaks=tuple(str(line) for line in data.get("leaks", ())),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def clear_state(venv: Venv) -> None:
    """Forget the last sync; called before a sync starts (whatever stands in its place)."""
    path = venv.location / STATE_FILE
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def mark_started(venv: Venv) -> None:
    """Record that a sync is starting (see :data:`STARTED_FILE`)."""
    (venv.location / STARTED_FILE).write_text("", encoding="utf-8")


def unmark_started(venv: Venv) -> None:
    """Drop the mark when no sync ran after all (Nox's ``--no-install``)."""
    with contextlib.suppress(FileNotFoundError):
        (venv.location / STARTED_FILE).unlink()


def was_interrupted(venv: Venv) -> bool:
    """Whether the last sync into ``venv`` started and never finished."""
    return (venv.location / STARTED_FILE).exists()


def save_state(venv: Venv, state: SyncState) -> None:
    """Record a successful sync, atomically (write a temporary file, then rename it), and
    drop the mark that a sync was under way."""
    target = venv.location / STATE_FILE
    temporary = target.with_name(f"{STATE_FILE}.{os.getpid()}.tmp")
    payload = {
        "schema": _SCHEMA,
        "digest": state.digest,
        "distributions": dict(sorted(state.distributions.items())),
        "leaks": list(state.leaks),
    }
    temporary.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    os.replace(temporary, target)
    unmark_started(venv)
