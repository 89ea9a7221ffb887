"""Finding uv and checking that it is new enough for the flags nox-workspace passes.

The ``uv`` package from PyPI is a dependency, so a plain install brings a working uv; a uv on
``PATH`` is the fallback. The version check runs once, lazily, when a session first syncs:
listing sessions starts no process.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
from importlib import metadata

from packaging.version import Version

from nox_workspace._errors import UvError

__all__ = ["MINIMUM_UV", "check_uv", "find_uv"]

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
