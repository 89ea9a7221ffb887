"""Finding uv, checking its version, and running it with the environment a sync must see.

The ``uv`` package from PyPI is a dependency, so a plain install brings a working uv; a uv on
``PATH`` is the fallback. The version check runs once, lazily, when a session first syncs:
listing sessions starts no process.

A session's ``Sync`` is the explicit semantics of its venv, so the caller's ``UV_*``
variables that change *which* packages a sync selects or *how* it installs them are cleared
for the sync (:data:`CLEARED`); the machine-level ones (indexes, find-links, offline, cache,
network, Python downloads) are honoured, and those that change where packages come from are
named in the session's log line (:data:`NAMED`). Both lists live here, and only here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.version import Version

from nox_workspace._errors import UvError

__all__ = [
    "CLEARED",
    "MINIMUM_UV",
    "NAMED",
    "TIMEOUT_VARIABLE",
    "UvResult",
    "check_uv",
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
#: root's group in 0.12.1. Closures are computed with the latter's semantics.
MINIMUM_UV = Version("0.12.1")


@cache
def _find() -> tuple[str, str | None]:
    """The uv executable and, when it is the ``uv`` package's own binary, that version."""
    override = os.environ.get("NOX_WORKSPACE_UV")
    if override:
        return override, None
    try:
        from uv import find_uv_bin
    except ImportError:
        pass
    else:
        try:
            return find_uv_bin(), metadata.version("uv")
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
    """The path of the uv executable to run: ``$NOX_WORKSPACE_UV``, the ``uv`` package, PATH."""
    return _find()[0]


@cache
def check_uv() -> Version:
    """Check once that uv is new enough; fail with one line when it is missing or too old.

    The ``uv`` package's binary has the package's version, read from its metadata; any other
    uv is asked with ``uv --version``.
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
            hint=f"install uv with `pip install 'uv>={MINIMUM_UV}'`, or point "
            "NOX_WORKSPACE_UV at a uv",
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
    """What one uv call did: its exit code and, when captured, its standard output."""

    returncode: int
    stdout: str = ""


def run_uv(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float | None,
    capture: bool = False,
    cwd: Path | None = None,
) -> UvResult:
    """Run uv with ``args``; its output goes to this process's (stderr merged into stdout),
    or is returned when ``capture``. A uv that runs past ``timeout`` is killed and reported in
    one line; a uv that cannot start is too."""
    uv = find_uv()
    try:
        proc = subprocess.run(
            [uv, *args],
            env=dict(env),
            cwd=cwd,
            stdout=subprocess.PIPE if capture else None,
            stderr=None if capture else subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UvError(
            f"uv {args[0] if args else ''} did not finish within {timeout:g} s and was stopped",
            hint=f"check the network, the index and uv's cache, or raise {TIMEOUT_VARIABLE} "
            "(seconds; 0 waits for ever)",
        ) from None
    except OSError as exc:
        raise UvError(
            f"cannot run {uv} ({exc.strerror or exc})",
            hint=f"install uv with `pip install 'uv>={MINIMUM_UV}'`, or point NOX_WORKSPACE_UV "
            "at a uv",
        ) from None
    return UvResult(returncode=proc.returncode, stdout=proc.stdout or "")
