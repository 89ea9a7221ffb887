"""The run-time half of a generated session: sync its venv from ``uv.lock``, report leaks.

Kept apart from registration (``_sessions``) so that listing sessions imports none of it:
no lock reader, no subprocess helpers.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import nox
from nox.command import CommandFailed

from nox_workspace._errors import ConfigError
from nox_workspace._reuse import (
    SyncState,
    clear_state,
    inputs_digest,
    load_state,
    mark_started,
    save_state,
    unmark_started,
    was_interrupted,
)
from nox_workspace._sync import Target
from nox_workspace._uv import check_uv, find_uv
from nox_workspace._venv import Venv

__all__ = ["prepare"]


def prepare(session: nox.Session, target: Target, *, strict: bool = False) -> None:
    """Sync the session's venv for ``target`` (unless nothing changed), then report leaks.

    After an exact sync with no tool groups, uv has removed everything the lock does not give
    the session, so there is nothing left to compare and the lock is not read again. After an
    inexact sync or a tool-group overlay the venv's distributions are compared with the
    target's locked closure.
    """
    location = getattr(session.virtualenv, "location", None)
    if not location:
        raise ConfigError(
            f"session {session.name!r} has no virtualenv to sync into (--no-venv or "
            "--force-venv-backend none)",
            hint="run it with a virtualenv backend",
        )
    venv = Venv(Path(location))
    command = target.uv_sync_args()
    digest = inputs_digest(target.workspace, venv, command)
    state = load_state(venv)
    if (
        target.sync.editable
        and state is not None
        and state.digest == digest
        and state.distributions == venv.distributions()
    ):
        session.log("nox-workspace: uv.lock, pyproject.toml files and venv unchanged; no sync")
        _report(session, state.leaks, strict=strict)
        return

    clear_state(venv)
    check_uv()
    uv = find_uv()
    env = {"UV_PROJECT_ENVIRONMENT": str(venv.location), "UV_PYTHON": str(venv.python)}
    if was_interrupted(venv):
        session.log("nox-workspace: the last sync was interrupted; emptying site-packages first")
        venv.clear_site_packages()
    mark_started(venv)
    session.log(f"nox-workspace: syncing {_scope(target)} ({target.sync.describe()})")
    try:
        ran = session.run_install(uv, *command, env=env, external=True)
    except CommandFailed:
        hint = (
            ""
            if target.sync.frozen
            else (
                "; if uv says the lockfile needs to be updated, run `uv lock` "
                "(or use Sync(frozen=True) to install uv.lock as it is)"
            )
        )
        session.error(f"nox-workspace: uv sync failed for {_scope(target)}{hint}")
    if ran is None:
        unmark_started(venv)
        session.log("nox-workspace: sync skipped (--no-install)")
        return
    if target.sync.tool_groups:
        _overlay_tool_groups(session, target, venv, uv, env)

    installed = venv.distributions()
    lines = () if target.sync.exact and not target.sync.tool_groups else _leaks(venv, target)
    save_state(venv, SyncState(digest=digest, distributions=installed, leaks=lines))
    _report(session, lines, strict=strict)


def _leaks(venv: Venv, target: Target) -> tuple[str, ...]:
    """One line per installed distribution the target's locked closure does not name."""
    from nox_workspace._leaks import find_leaks
    from nox_workspace._lock import read_lock

    lock = read_lock(target.workspace.lock_path)
    environment = venv.marker_environment()
    leaks = find_leaks(
        venv.distributions(), lock, target, environment, allow_seeds=not venv.made_by_uv
    )
    return tuple(leak.describe(target) for leak in leaks)


def _overlay_tool_groups(
    session: nox.Session, target: Target, venv: Venv, uv: str, env: Mapping[str, str]
) -> None:
    """Install the root's tool groups, as locked, on top of the member's closure."""
    exported = [
        session.run_install(uv, *args, env=dict(env), external=True, silent=True)
        for args in target.tool_group_export_args()
    ]
    requirements = "\n".join(text for text in exported if isinstance(text, str))
    if not requirements.strip():
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tool-groups.txt"
        path.write_text(requirements, encoding="utf-8")
        session.run_install(
            uv,
            "pip",
            "install",
            "--python",
            str(venv.python),
            "--no-deps",
            "-r",
            str(path),
            env=dict(env),
            external=True,
        )


def _scope(target: Target) -> str:
    return "every member" if target.all_packages else "member " + ", ".join(target.names)


def _report(session: nox.Session, leaks: Sequence[str], *, strict: bool) -> None:
    if not leaks:
        return
    header = f"nox-workspace: {len(leaks)} leaked package(s) the lock did not give this session:"
    text = "\n".join([header, *(f"  - {line}" for line in leaks)])
    if strict:
        session.error(text)
    session.warn(text)
