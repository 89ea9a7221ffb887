"""Reading TOML files the way uv does: UTF-8, an optional byte-order mark, CRLF line endings.

``tomllib`` alone rejects a leading byte-order mark, which uv accepts; every error becomes
one line that names the file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from nox_workspace._errors import NoxWorkspaceError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["load_toml", "load_toml_if_present", "loads_toml", "tomllib"]


def load_toml(
    path: Path, error: type[NoxWorkspaceError], *, display: Path | str | None = None
) -> dict[str, Any]:
    """Parse ``path`` as TOML, raising ``error`` with a one-line message when it cannot.

    ``display`` is how the message names the file (defaults to ``path``).
    """
    data = load_toml_if_present(path, error, display=display)
    if data is None:
        shown = display if display is not None else path
        raise error("file not found", path=shown, hint="create it or fix the path")
    return data


def load_toml_if_present(
    path: Path, error: type[NoxWorkspaceError], *, display: Path | str | None = None
) -> dict[str, Any] | None:
    """Like :func:`load_toml`, but ``None`` when the file does not exist (one call, no stat)."""
    shown = display if display is not None else path
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise error(f"cannot read the file ({exc.strerror})", path=shown) from None
    return loads_toml(raw, error, display=shown)


def loads_toml(
    raw: bytes,
    error: type[NoxWorkspaceError],
    *,
    display: Path | str,
    hint: str | None = None,
) -> dict[str, Any]:
    """Parse TOML bytes (a file at a git revision, say); ``display`` names them in errors.

    ``hint`` replaces the default fix in both errors, for files the user does not edit by hand
    (``uv.lock``: rewrite it with ``uv lock``).
    """
    shown = display
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"not valid UTF-8 (byte {exc.start})",
            path=shown,
            hint=hint or "save the file as UTF-8",
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "unreadable"
        raise error(f"invalid TOML: {reason}", path=shown, hint=hint or "fix the syntax") from None
    return data
