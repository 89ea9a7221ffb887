"""The exceptions nox-workspace raises on bad input.

Every error carries one line that names the file, what is wrong and how to fix it, so the
command line and the noxfile loader can print it as it is, without a traceback.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ConfigError",
    "DiscoveryError",
    "GitError",
    "LockError",
    "NoxWorkspaceError",
    "UvError",
    "VenvError",
]


class NoxWorkspaceError(Exception):
    """Base of every error nox-workspace raises on purpose.

    ``str(error)`` is a single line: ``<file>: <what is wrong>; <how to fix it>``.
    """

    def __init__(self, message: str, *, path: Path | str | None = None, hint: str = "") -> None:
        self.path = Path(path) if path is not None else None
        self.problem = message
        self.hint = hint
        parts = [f"{self.path}: {message}" if self.path is not None else message]
        if hint:
            parts.append(hint)
        super().__init__("; ".join(parts))


class DiscoveryError(NoxWorkspaceError):
    """The workspace's ``pyproject.toml`` files do not describe a workspace uv accepts."""


class LockError(NoxWorkspaceError):
    """``uv.lock`` is missing, unreadable or of a schema this version does not know."""


class ConfigError(NoxWorkspaceError):
    """A noxfile or ``[tool.nox-workspace]`` setting is invalid."""


class UvError(NoxWorkspaceError):
    """uv is missing, too old, or failed."""


class GitError(NoxWorkspaceError):
    """git is missing, the folder is not in a git repository, or a revision is unknown."""


class VenvError(NoxWorkspaceError):
    """A session's venv, its lock or its state file cannot be read or written (a read-only
    ``.nox``, a full disk)."""
