"""Finding uv, checking its version, and running it with the environment a sync must see.

The uv is the one Nox uses (``$UV``, the ``uv`` package next to Nox, then ``PATH``), so
the venv and its sync come from the same uv. The version check runs once, lazily, when a
session first syncs: listing sessions starts no process.

A session's ``Sync`` is the explicit semantics of its venv, so the caller's ``UV_*``
variables that change *which* packages a sync selects or *how* it installs them are cleared
for the sync (:data:`CLEARED`); the machine-level ones (indexes, find-links, offline, cache,
network, Python downloads) are honoured, and those that change where packages come from are
named in the session's log line (:data:`NAMED`). Both lists live here, and only here.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import IO

from packaging.version import Version

from nox_workspace._dist import installed_version
from nox_workspace._errors import UvError

__all__ = [
    "CLEARED",
    "MINIMUM_UV",
    "NAMED",
    "TIMEOUT_VARIABLE",
    "UvResult",
    "check_uv",
    "failure_hint",
    "find_uv",
    "run_uv",
    "sync_environment",
    "timeout_from",
]

#: ``UV_*`` variables cleared for every ``uv sync`` and overlay a session runs: each one
#: changes which packages are selected (groups, extras, dev, project, workspace, local),
#: how they are installed (editable, build or binary policy, seeding) or what is read
#: (project, working folder, lock checks, sources, resolution inputs), all of which the
#: session's ``Sync`` and ``uv.lock`` decide.
CLEARED: tuple[str, ...] = (
    "UV_BUILD_CONSTRAINT",
    "UV_CONSTRAINT",
    "UV_DEV",
    "UV_EXCLUDE",
    "UV_EXCLUDE_NEWER",
    "UV_FORK_STRATEGY",
    "UV_FROZEN",
    "UV_ISOLATED",
    "UV_LOCKED",
    "UV_NO_BINARY",
    "UV_NO_BINARY_PACKAGE",
    "UV_NO_BUILD",
    "UV_NO_BUILD_ISOLATION",
    "UV_NO_BUILD_PACKAGE",
    "UV_NO_DEFAULT_GROUPS",
    "UV_NO_DEV",
    "UV_NO_EDITABLE",
    "UV_NO_GROUP",
    "UV_NO_INSTALL_LOCAL",
    "UV_NO_INSTALL_PROJECT",
    "UV_NO_INSTALL_WORKSPACE",
    "UV_NO_SOURCES",
    "UV_NO_SOURCES_PACKAGE",
    "UV_NO_SYNC",
    "UV_OVERRIDE",
    "UV_PRERELEASE",
    "UV_PROJECT",
    "UV_RESOLUTION",
    "UV_VENV_CLEAR",
    "UV_VENV_SEED",
    "UV_WORKING_DIR",
)
#: Honoured machine-level variables that change where packages come from or which
#: configuration uv reads: when set, the session's log line names them (names only: values
#: may hold credentials). Every other ``UV_*`` variable is honoured without a mention: the
#: cache (``UV_CACHE_DIR``, ``UV_NO_CACHE``), the network (``UV_OFFLINE``,
#: ``UV_HTTP_TIMEOUT``, ``UV_NATIVE_TLS``), Python downloads, ``UV_LINK_MODE``, credentials
#: of named indexes: they decide whether a sync can run and how fast, not what it installs.
NAMED: tuple[str, ...] = (
    "UV_CONFIG_FILE",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_INDEX",
    "UV_INDEX_STRATEGY",
    "UV_INDEX_URL",
    "UV_INSECURE_HOST",
    "UV_KEYRING_PROVIDER",
    "UV_NO_CONFIG",
)
#: How long one uv call may take, in seconds; ``0`` waits for ever.
TIMEOUT_VARIABLE = "NOX_WORKSPACE_UV_TIMEOUT"
_DEFAULT_TIMEOUT = 1800.0

#: Repeatable ``--package`` arrived in 0.9.8; a member's ``--group`` falling back to the
#: root's group in 0.12.1; since 0.12.2 a selected member no longer gets the root's
#: ``default-groups`` (uv #20930). Closures are computed with 0.12.2's semantics, so an
#: older uv would install something else than the closures, the leak report and the
#: affected planner assume.
MINIMUM_UV = Version("0.12.2")


@cache
def _find() -> tuple[str, str | None]:
    """The uv executable and, when it is the ``uv`` package's own binary, that version.

    The lookup is Nox's own (so the sync runs the uv that made the venv): ``$UV`` (a name on
    ``PATH`` or a path), else the ``uv`` package installed next to Nox, else ``uv`` on
    ``PATH``. ``$NOX_WORKSPACE_UV`` overrides it for nox-workspace's calls alone.
    """
    override = os.environ.get("NOX_WORKSPACE_UV")
    if override:
        return override, None
    named = os.environ.get("UV")
    if named:
        found = shutil.which(named)
        if found is None:
            raise UvError(
                f"UV={named!r} names no executable uv",
                hint="point UV at a uv binary, or unset it to use the uv package",
            )
        return found, None
    try:
        import uv as package
    except ImportError:
        pass
    else:
        try:
            return package.find_uv_bin(), installed_version("uv", Path(package.__file__).parent)
        except (FileNotFoundError, metadata.PackageNotFoundError):
            pass
    found = shutil.which("uv")
    if found is None:
        raise UvError(
            "uv was not found",
            hint=f"install it with `pip install 'uv>={MINIMUM_UV}'`",
        )
    return found, None


def find_uv() -> str:
    """The path of the uv executable to run (see :func:`_find` for the lookup)."""
    return _find()[0]


@cache
def check_uv() -> Version:
    """Check once that uv is new enough; fail with one line when it is missing or too old.

    The ``uv`` package's binary has the package's version, read from its ``dist-info`` folder
    name; any other uv is asked with ``uv --version``.
    """
    uv, known = _find()
    if known is not None:
        return _new_enough(Version(known), uv)
    try:
        output = subprocess.run(
            [uv, "--version"], capture_output=True, text=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise UvError(
            f"cannot run {uv} --version ({exc})",
            hint=f"install uv with `pip install 'uv>={MINIMUM_UV}'`",
        ) from None
    match = re.search(r"uv (\d+\.\d+\.\d+)", output)
    if match is None:
        raise UvError(
            f"cannot read the version of {uv} from {output.strip()!r}",
            hint=f"install uv with `pip install 'uv>={MINIMUM_UV}'`, or point UV at a uv",
        )
    return _new_enough(Version(match.group(1)), uv)


def _new_enough(version: Version, uv: str) -> Version:
    """``version``, or a one-line error naming the minimum when it is older."""
    if version < MINIMUM_UV:
        raise UvError(
            f"uv {version} at {uv} is too old; nox-workspace needs uv >= {MINIMUM_UV}",
            hint=f"upgrade it with `pip install -U 'uv>={MINIMUM_UV}'`",
        )
    return version


def sync_environment(
    caller: Mapping[str, str], venv: Path, python: Path
) -> tuple[dict[str, str], tuple[str, ...]]:
    """The environment of a session's uv calls, and the honoured variables worth naming.

    ``caller`` is the process environment with the session's own ``session.env`` on top.
    Every variable of :data:`CLEARED` is dropped; ``UV_PROJECT_ENVIRONMENT`` and
    ``VIRTUAL_ENV`` point at the session's venv and ``UV_PYTHON`` at the interpreter behind
    it.
    """
    env = {key: value for key, value in caller.items() if key not in CLEARED}
    env["UV_PROJECT_ENVIRONMENT"] = str(venv)
    # uv warns when an active venv (the caller's) is not the project environment.
    env["VIRTUAL_ENV"] = str(venv)
    # The interpreter behind the venv's link, not the link: when uv must recreate the venv
    # (its interpreter was swapped), a link into the venv itself would point at nothing.
    env["UV_PYTHON"] = os.path.realpath(python) if python.exists() else str(python)
    named = tuple(name for name in NAMED if env.get(name))
    return env, named


def timeout_from(environ: Mapping[str, str]) -> float | None:
    """The limit for one uv call, from :data:`TIMEOUT_VARIABLE` (``None``: no limit)."""
    raw = environ.get(TIMEOUT_VARIABLE, "").strip()
    if not raw:
        return _DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise UvError(
            f"{TIMEOUT_VARIABLE}={raw!r} is not a number of seconds",
            hint="set it to a number such as 600, or to 0 for no limit",
        ) from None
    if value < 0:
        raise UvError(
            f"{TIMEOUT_VARIABLE}={raw!r} is negative",
            hint="set it to a number of seconds, or to 0 for no limit",
        )
    return value or None


@dataclass(frozen=True, slots=True, kw_only=True)
class UvResult:
    """What one uv call did: its exit code and its standard output (when captured), or the
    last lines it printed (when streamed), for a hint that fits a failure."""

    returncode: int
    stdout: str = ""


#: How many of a streamed call's last lines are kept for :func:`failure_hint`.
_TAIL_LINES = 400


def run_uv(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float | None,
    capture: bool = False,
    cwd: Path | None = None,
) -> UvResult:
    """Run uv with ``args``. Its output (stderr merged into stdout) is printed as it comes,
    and its last lines returned; with ``capture`` stdout is returned and stderr printed. A uv
    that runs past ``timeout`` is killed and reported in one line; a uv that cannot start
    is too."""
    uv = find_uv()
    try:
        proc = subprocess.Popen(
            [uv, *args],
            env=dict(env),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=None if capture else subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise UvError(
            f"cannot run {uv} ({exc.strerror or exc})",
            hint=f"install uv with `pip install 'uv>={MINIMUM_UV}'`, or point UV at a uv",
        ) from None
    kept: collections.deque[str] = collections.deque(maxlen=None if capture else _TAIL_LINES)
    assert proc.stdout is not None
    reader = threading.Thread(target=_pump, args=(proc.stdout, kept, not capture), daemon=True)
    reader.start()
    # A blocking wait with a timer that kills uv: Popen.wait(timeout=) polls with sleeps that
    # grow to 50 ms, which added ~18 ms to every no-op sync.
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        proc.kill()

    timer = threading.Timer(timeout, expire) if timeout else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        returncode = proc.wait()
    except BaseException:
        _stop(proc, reader)  # Ctrl-C: uv got the signal too; never leave it running
        raise
    finally:
        if timer is not None:
            timer.cancel()
    if expired.is_set():
        _stop(proc, reader)
        raise UvError(
            f"uv {args[0] if args else ''} did not finish within {timeout:g} s and was stopped",
            hint=f"check the network, the index and uv's cache, or raise {TIMEOUT_VARIABLE} "
            "(seconds; 0 waits for ever)",
        )
    # A process uv started may hold the pipe after uv exited: do not wait for it for ever.
    reader.join(timeout=10)
    proc.stdout.close()
    return UvResult(returncode=returncode, stdout="".join(kept))


def _stop(proc: subprocess.Popen[str], reader: threading.Thread) -> None:
    """Kill uv, let the reader drain what it printed, and close the pipe."""
    proc.kill()
    proc.wait()
    reader.join(timeout=2)
    if proc.stdout is not None:
        proc.stdout.close()


def _pump(stream: IO[str], kept: collections.deque[str], echo: bool) -> None:
    """Copy uv's output line by line: to our stdout when ``echo``, and into ``kept``.

    The pipe may be closed under it once uv was stopped: that ends the copy, quietly.
    """
    try:
        for line in stream:
            kept.append(line)
            if echo:
                sys.stdout.write(line)
                sys.stdout.flush()
    except (ValueError, OSError):
        return


#: uv's messages, and the hint each one calls for (first match wins). Matched case-insensitively
#: against the last lines a failed ``uv sync`` printed.
_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("needs to be updated", "lockfile at", "lock file at"),
        "uv.lock is out of date with the pyproject.toml files: run `uv lock` (or use "
        "Sync(frozen=True) to install uv.lock as it is)",
    ),
    (
        ("no interpreter found", "no python at", "no download found", "python downloads"),
        "the session's Python is not available to uv: install it, or allow uv to download "
        "it (UV_PYTHON_DOWNLOADS), or pick another with python=...",
    ),
    (
        (
            "network connectivity is disabled",
            "failed to fetch",
            "error sending request",
            "dns error",
            "connection refused",
            "timed out",
            "failed to download",
        ),
        "uv could not get a package from the index: check the network, the proxy and the "
        "index settings (uv.toml, [tool.uv], UV_INDEX*), or warm uv's cache and run offline",
    ),
    (
        ("failed to build", "build backend", "failed to prepare distributions"),
        "a package failed to build (uv's message above names it): check its build "
        "requirements and build backend, or lock a wheel for it",
    ),
    (
        ("permission denied", "read-only file system", "no space left"),
        "uv could not write its cache or the venv: check the free space and permissions of "
        "uv's cache (UV_CACHE_DIR) and of .nox/",
    ),
)


def failure_hint(output: str, *, frozen: bool) -> str:
    """The hint that fits uv's message in ``output`` (the end of a failed sync), or a plain
    pointer to that message. A stale-lock hint is never given to a frozen sync."""
    lowered = output.lower()
    for needles, hint in _HINTS:
        if frozen and "uv lock" in hint:
            continue
        if any(needle in lowered for needle in needles):
            return hint
    return "uv's message above says why"
