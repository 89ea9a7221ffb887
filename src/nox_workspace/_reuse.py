"""Reuse without lies: what a reused venv may skip, and the lock that keeps two runs apart.

``uv sync`` itself is never skipped (a no-op sync costs tens of milliseconds, and only uv
knows everything it reads: ``uv.toml``, path sources, ``cache-keys``, the interpreter, the
files really installed). What may be skipped is the plugin's own work around it: reading
``uv.lock`` and computing the leak report. That report is cached in a small state file in the
venv under a key that covers exactly its inputs (:func:`leak_key`).

Two runs of the same session (two terminals, two CI jobs on one runner) take a lock file
beside the venv (:func:`venv_lock`) from before anything in ``site-packages`` changes until
the state is written: the second run waits, then sees the first one's result.

A sync marks the venv as started (:data:`STARTED_FILE`) and drops the mark only when it
finished; a mark left behind says the last sync was interrupted.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from nox_workspace._errors import VenvError
from nox_workspace._sync import Target
from nox_workspace._venv import Venv

__all__ = [
    "LOCK_SUFFIX",
    "STARTED_FILE",
    "STATE_FILE",
    "SyncState",
    "leak_key",
    "load_state",
    "lock_path",
    "mark_started",
    "save_state",
    "unmark_started",
    "venv_lock",
    "was_interrupted",
]

STATE_FILE = ".nox-workspace-sync.json"
#: Present from the start of a sync until it finished: a sync that was killed (SIGINT,
#: SIGKILL, a lost machine) leaves it behind, and the next run knows the venv may hold a
#: package uv had half installed or half removed.
STARTED_FILE = ".nox-workspace-sync.started"
#: The lock file sits beside the venv (``.nox/test-foo.nox-workspace.lock``), never in it: Nox
#: may delete and recreate the venv folder, and never in the user's tree.
LOCK_SUFFIX = ".nox-workspace.lock"
_SCHEMA = 2
#: Errors of a full disk (no space, no inodes, a quota) and of a read-only folder.
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_HAS_FCNTL = os.name == "posix"


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncState:
    """The leak report of the last sync, and the key of everything it was computed from."""

    key: str
    leaks: tuple[str, ...] = ()


def leak_key(
    target: Target,
    installed: Mapping[str, str],
    environment: Mapping[str, str],
    *,
    allow_seeds: bool,
    overlay: Collection[str] = (),
) -> str:
    """A digest of every input of the leak report, and nothing else.

    The report is a function of ``uv.lock`` (its bytes), the target (members, ``Sync``, the
    uv command line), the members' default groups and names (every ``pyproject.toml`` of the
    workspace), the marker environment, the installed distributions with their versions
    (dist-info, egg-info and egg-link alike), whether seed packages are allowed, and what the
    session's requirements overlay installed.
    """
    workspace = target.workspace
    digest = hashlib.sha256()
    header = {
        "schema": _SCHEMA,
        "command": target.uv_sync_args(),
        "sync": repr(target.sync),
        "names": list(target.names),
        "all": target.all_packages,
        "environment": dict(sorted(environment.items())),
        "installed": dict(sorted(installed.items())),
        "seeds": allow_seeds,
        "overlay": sorted(overlay),
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    files = [workspace.lock_path, workspace.pyproject]
    files += [member.pyproject for member in workspace.members]
    for path in dict.fromkeys(files):
        digest.update(b"\0" + str(path).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<missing>")
    return digest.hexdigest()


def load_state(venv: Venv) -> SyncState | None:
    """The state the last sync left, or ``None`` (missing, unreadable, another schema)."""
    try:
        data = json.loads((venv.location / STATE_FILE).read_text(encoding="utf-8"))
        if data.get("schema") != _SCHEMA:
            return None
        return SyncState(
            key=str(data["key"]), leaks=tuple(str(line) for line in data.get("leaks", ()))
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def save_state(venv: Venv, state: SyncState) -> None:
    """Record the leak report atomically (a temporary file, then a rename).

    A full disk or a read-only folder raises :class:`VenvError` with one line, after removing
    the temporary file: the state is only a cache, so the caller may go on without it.
    """
    target = venv.location / STATE_FILE
    temporary = target.with_name(f"{STATE_FILE}.{os.getpid()}.tmp")
    payload = {"schema": _SCHEMA, "key": state.key, "leaks": list(state.leaks)}
    try:
        temporary.write_text(json.dumps(payload, indent=1), encoding="utf-8")
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise VenvError(
            f"cannot record the leak report ({_reason(exc)})",
            path=target,
            hint="free some space or make the folder writable; the next run computes it again",
        ) from None


def mark_started(venv: Venv) -> None:
    """Record that a sync is starting (see :data:`STARTED_FILE`)."""
    path = venv.location / STARTED_FILE
    try:
        path.write_text("", encoding="utf-8")
    except OSError as exc:
        raise VenvError(
            f"cannot write into the session's venv ({_reason(exc)})",
            path=path,
            hint="make the folder writable and free some space, or run with another --envdir",
        ) from None


def unmark_started(venv: Venv) -> None:
    """Drop the mark: the sync finished, or none ran after all (Nox's ``--no-install``)."""
    with contextlib.suppress(FileNotFoundError):
        (venv.location / STARTED_FILE).unlink()


def was_interrupted(venv: Venv) -> bool:
    """Whether the last sync into ``venv`` started and never finished."""
    return (venv.location / STARTED_FILE).exists()


def lock_path(venv: Venv) -> Path:
    """The lock file of a venv: beside it, in the same ``.nox`` folder."""
    return venv.location.with_name(venv.location.name + LOCK_SUFFIX)


@contextlib.contextmanager
def venv_lock(venv: Venv, *, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the venv's lock file for the block; wait while another run holds it.

    ``on_wait``, when given, is called once with a line to log before waiting. A lock that
    cannot be created (a read-only ``.nox``, a full disk) is one line of :class:`VenvError`.
    On POSIX the lock is ``flock`` on the file, straight from the standard library: importing
    the ``filelock`` package costs about as much as the no-op ``uv sync`` a rerun runs.
    Elsewhere ``filelock`` takes it.
    """
    path = lock_path(venv)
    waiting = f"nox-workspace: another run is syncing {venv.location.name}; waiting"
    try:
        held = _flock(path, waiting, on_wait) if _HAS_FCNTL else _filelock(path, waiting, on_wait)
    except OSError as exc:
        raise VenvError(
            f"cannot create the lock file of the session's venv ({_reason(exc)})",
            path=path,
            hint="make the folder writable and free some space, or run with another --envdir",
        ) from None
    try:
        yield
    finally:
        held()


def _flock(path: Path, waiting: str, on_wait: Callable[[str], None] | None) -> Callable[[], None]:
    """Take an exclusive ``flock`` on ``path``; the function that lets it go."""
    import fcntl

    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(waiting)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
    except BaseException:
        os.close(descriptor)
        raise

    def release() -> None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)

    return release


def _filelock(  # pragma: no cover - platforms without fcntl
    path: Path, waiting: str, on_wait: Callable[[str], None] | None
) -> Callable[[], None]:
    """Take the lock with the ``filelock`` package; the function that lets it go."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait is not None:
            on_wait(waiting)
        lock.acquire()
    return lambda: lock.release()


def _reason(exc: OSError) -> str:
    """``no space left on device``, ``read-only file system``: the OS's words, in lower case."""
    if exc.errno in _NO_ROOM:
        return "the disk is full: " + (exc.strerror or "no space").lower()
    return (exc.strerror or str(exc)).lower()
