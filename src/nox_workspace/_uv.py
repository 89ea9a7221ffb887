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

from packaging.version import Version

from nox_workspace._errors import UvError

__all__ = ["MINIMUM_UV", "check_uv", "find_uv"]

#: Repeatable ``--package`` arrived in 0.9.8; a member's ``--group`` falling back to the
#: root's group in 0.12.1. Closures are computed with the latter's semantics.
MINIMUM_UV = Version("0.12.1")


@cache
def find_uv() -> str:
    """The path of the uv executable to run: ``$NOX_WORKSPACE_UV``, the ``uv`` package, PATH."""
    override = os.environ.get("NOX_WORKSPACE_UV")
    if override:
        return override
    try:
        from uv import find_uv_bin
    except ImportError:
        pass
    else:
        try:
            return find_uv_bin()
        except FileNotFoundError:
            pass
    found = shutil.which("uv")
    if found is None:
        raise UvError(
            "uv was not found",
            hint=f"install it with `pip install 'uv>={MINIMUM_UV}'`",
        )
    return found


@cache
def check_uv() -> Version:
    """Run ``uv --version`` once and fail with one line when uv is missing or too old."""
    uv = find_uv()
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
        raise UvError(f"cannot read the version of {uv} from {output.strip()!r}")
    version = Version(match.group(1))
    if version < MINIMUM_UV:
        raise UvError(
            f"uv {version} at {uv} is too old; nox-workspace needs uv >= {MINIMUM_UV}",
            hint=f"upgrade it with `pip install -U 'uv>={MINIMUM_UV}'`",
        )
    return version
