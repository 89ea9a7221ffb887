"""The run-time half of a generated session: sync its venv from ``uv.lock``, report leaks.

Kept apart from registration (``_sessions``) so that listing sessions imports none of it:
no lock reader, no subprocess helpers.

:func:`prepare` is the Nox adapter; :func:`sync_venv` does the work with plain data (a venv
folder, an environment, a log function), so tests can drive it without Nox. ``uv sync`` runs
on every run, reused venv or not: uv alone knows everything a sync reads, and a no-op sync
costs tens of milliseconds. Only the leak report is cached (see ``_reuse``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import nox
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from nox_workspace._errors import ConfigError, NoxWorkspaceError, UvError
from nox_workspace._reuse import (
    SyncState,
    leak_key,
    load_state,
    mark_started,
    save_state,
    unmark_started,
    venv_lock,
    was_interrupted,
)
from nox_workspace._sync import Target
from nox_workspace._uv import (
    UvResult,
    check_uv,
    failure_hint,
    find_uv,
    run_uv,
    sync_environment,
    timeout_from,
)
from nox_workspace._venv import Venv

__all__ = ["Prepared", "prepare", "sync_venv"]

Log = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """What :func:`sync_venv` did: the leak lines, and whether they came from the cache."""

    leaks: tuple[str, ...]
    leaks_cached: bool
    honoured: tuple[str, ...]


def prepare(session: nox.Session, target: Target, *, strict: bool = False) -> None:
    """Sync the session's venv for ``target``, then report leaks (Nox adapter).

    With Nox's ``--no-install`` on a reused venv nothing is synced (Nox's own promise).
    """
    location = getattr(session.virtualenv, "location", None)
    if not location:
        raise ConfigError(
            f"session {session.name!r} has no virtualenv to sync into (--no-venv or "
            "--force-venv-backend none)",
            hint="run it with a virtualenv backend",
        )
    check_uv()
    # Nox answers "--no-install on a reused venv?" only through run_install's None; asking
    # costs a process, so it is asked only when the command line may say --no-install.
    if _may_skip_installs(sys.argv) and (
        session.run_install(find_uv(), "--version", silent=True, log=False, external=True) is None
    ):
        session.log("nox-workspace: sync skipped (--no-install)")
        return
    caller = {**os.environ}
    for key, value in session.env.items():
        if value is None:
            caller.pop(key, None)
        else:
            caller[key] = value
    prepared = sync_venv(target, Venv(Path(location)), environ=caller, log=session.log)
    _report(session, prepared.leaks, strict=strict)


def _may_skip_installs(argv: Sequence[str]) -> bool:
    """Whether Nox's command line may hold ``--no-install`` (or ``-R``, which implies it).

    Errs towards yes: any abbreviation of ``--no-install``, and any cluster of short options
    with an ``R``, before ``--``. Nox forwards the option to the processes of ``-j`` on their
    command lines, and has no environment variable or noxfile option for it.
    """
    for arg in argv[1:]:
        if arg == "--":
            break
        if arg.startswith("--no-i") or (arg[:1] == "-" and arg[1:2] != "-" and "R" in arg):
            return True
    return False


def sync_venv(target: Target, venv: Venv, *, environ: Mapping[str, str], log: Log) -> Prepared:
    """Sync ``venv`` for ``target`` with uv, overlay tool groups, compute (or reuse) leaks.

    Everything from the first change to ``site-packages`` until the state is written happens
    under the venv's lock. Failures are one-line :class:`NoxWorkspaceError` s.
    """
    env, honoured = sync_environment(environ, venv.location, venv.python)
    timeout = timeout_from(environ)
    with venv_lock(venv, on_wait=log):
        if was_interrupted(venv):
            log("nox-workspace: the last sync was interrupted; emptying site-packages first")
            venv.clear_site_packages()
        mark_started(venv)
        honouring = f"; honouring {', '.join(honoured)}" if honoured else ""
        # The next line logs the uv command with the binary's path: which uv ran.
        log(f"nox-workspace: syncing {_scope(target)} ({target.sync.describe()}{honouring})")
        note = root_default_groups_note(target)
        if note:
            log(f"nox-workspace: note: {note}")
        root = target.workspace.root
        result = _run(target.uv_sync_args(), env, timeout, root, log)
        if result.returncode != 0:
            hint = failure_hint(result.stdout, frozen=target.sync.frozen)
            raise UvError(
                f"nox-workspace: uv sync failed for {_scope(target)} (exit "
                f"{result.returncode}): {hint}"
            )
        if target.sync.tool_groups:
            _overlay_tool_groups(target, venv, env, timeout, log)
        overlay: tuple[str, ...] = ()
        if target.sync.requirements:
            overlay = _overlay_requirements(target, venv, env, timeout, log)
        leaks, cached = _leaks(target, venv, log, overlay)
        unmark_started(venv)
    return Prepared(leaks=leaks, leaks_cached=cached, honoured=honoured)


def _leaks(
    target: Target, venv: Venv, log: Log, overlay: tuple[str, ...] = ()
) -> tuple[tuple[str, ...], bool]:
    """The leak lines, and whether they came from the state file.

    After an exact sync with no overlay uv has removed everything the lock does not give the
    session, so there is nothing to compare and the lock is not read. Otherwise the report
    is taken from the state file when its key (every input of the report) matches.
    """
    sync = target.sync
    if sync.exact and not sync.tool_groups and not sync.requirements:
        return (), False
    installed = venv.distributions()
    environment = venv.marker_environment()
    allow_seeds = not venv.made_by_uv
    key = leak_key(target, installed, environment, allow_seeds=allow_seeds, overlay=overlay)
    state = load_state(venv)
    if state is not None and state.key == key:
        return state.leaks, True
    lines = compute_leaks(target, installed, environment, allow_seeds=allow_seeds, overlay=overlay)
    try:
        save_state(venv, SyncState(key=key, leaks=lines))
    except NoxWorkspaceError as error:
        log(f"nox-workspace: warning: {error}")
    return lines, False


def compute_leaks(
    target: Target,
    installed: Mapping[str, str],
    environment: Mapping[str, str],
    *,
    allow_seeds: bool,
    overlay: Collection[str] = (),
) -> tuple[str, ...]:
    """One line per installed distribution the target's locked closure does not give it
    (what the requirements ``overlay`` installed on purpose is not a leak)."""
    from nox_workspace._leaks import find_leaks
    from nox_workspace._lock import read_lock

    lock = read_lock(target.workspace.lock_path)
    leaks = find_leaks(
        installed, lock, target, environment, allow_seeds=allow_seeds, overlay=overlay
    )
    return tuple(leak.describe(target) for leak in leaks)


def _run(
    args: Sequence[str],
    env: Mapping[str, str],
    timeout: float | None,
    root: Path,
    log: Log,
    *,
    capture: bool = False,
) -> UvResult:
    """Log the uv command line (as Nox logs the commands it runs), then run it in ``root``."""
    log(" ".join([find_uv(), *args]))
    return run_uv(args, env=env, timeout=timeout, capture=capture, cwd=root)


def _overlay_tool_groups(
    target: Target, venv: Venv, env: Mapping[str, str], timeout: float | None, log: Log
) -> None:
    """Install the root's tool groups, as locked, on top of the member's closure.

    uv runs in the workspace root, so ``uv pip install`` reads the same configuration
    (``uv.toml``, ``[tool.uv]``) as the sync, wherever the noxfile is.
    """
    root = target.workspace.root
    exported = []
    for args in target.tool_group_export_args():
        result = _run(args, env, timeout, root, log, capture=True)
        if result.returncode != 0:
            raise UvError(f"nox-workspace: uv export failed for tool groups of {_scope(target)}")
        exported.append(result.stdout)
    requirements = "\n".join(exported)
    if not requirements.strip():
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tool-groups.txt"
        path.write_text(requirements, encoding="utf-8")
        args = ["pip", "install", "--python", str(venv.python), "--no-deps", "-r", str(path)]
        if _run(args, env, timeout, root, log).returncode != 0:
            raise UvError(f"nox-workspace: installing the tool groups of {_scope(target)} failed")


def root_default_groups_note(target: Target) -> str:
    """Why a member session lacks the root's ``default-groups`` (uv >= 0.12.2), or ``""``.

    A root that sets ``default-groups = ["dev", ...]`` gives them to ``uv sync`` run at the
    root, but not to a selected member: such a session has no pytest unless it asks.
    """
    if target.all_packages or not target.sync.default_groups:
        return ""
    root = target.workspace.root_default_groups
    if root == "all" or not root:
        return ""
    missing = [
        group
        for group in root
        if group not in target.sync.groups
        and (target.default_groups == "all" or group not in target.default_groups)
    ]
    if not missing:
        return ""
    shown = ", ".join(missing)
    return (
        f"the workspace root's default-groups ({shown}) do not apply to a member session "
        f"(uv >= 0.12.2); ask for them with Sync(groups=[...]) if the session needs them"
    )


def _overlay_requirements(
    target: Target, venv: Venv, env: Mapping[str, str], timeout: float | None, log: Log
) -> tuple[str, ...]:
    """Install ``Sync(requirements=...)`` after the sync; the names of what it installed.

    These are test tools the lock does not hold (never written into ``uv.lock``: ``uv pip
    install`` only installs). ``-r FILE`` is relative to the member's folder (the root's for
    the union). An exact sync removes them again on the next run, so they are reinstalled
    from uv's cache each run; what they install is logged as the overlay, kept out of the
    leak report, and part of its cache key. Names come from comparing the venv before and
    after, plus the requirements' own names (with ``exact=False`` a dependency an earlier
    run installed is already there and shows as a leak: the conservative side).
    """
    base = target.workspace.root if target.all_packages else target.member.path
    args = ["pip", "install", "--python", str(venv.python)]
    for entry in target.sync.requirements:
        if entry.startswith("-r"):
            args += ["-r", str(base / entry[2:].strip())]
        else:
            args.append(entry)
    before = venv.distributions()
    if _run(args, env, timeout, target.workspace.root, log).returncode != 0:
        raise UvError(
            f"nox-workspace: installing Sync(requirements=...) for {_scope(target)} failed "
            "(uv's message is above)"
        )
    after = venv.distributions()
    named = {
        canonicalize_name(Requirement(entry).name)
        for entry in target.sync.requirements
        if not entry.startswith("-r")
    }
    overlay = sorted(
        name for name, version in after.items() if before.get(name) != version or name in named
    )
    shown = ", ".join(f"{name} {after[name]}" for name in overlay)
    log(f"nox-workspace: overlay (not from uv.lock): {shown or 'nothing new'}")
    return tuple(overlay)


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
