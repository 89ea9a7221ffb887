"""nox-workspace: Nox sessions per uv workspace member, synced from ``uv.lock``.

In a ``noxfile.py``::

    import nox
    import nox_workspace

    @nox_workspace.session(sync=nox_workspace.Sync(groups=["test"]), union="all")
    def test(session: nox.Session, target: nox_workspace.Target) -> None:
        session.run("pytest")

The decorators import Nox; they are loaded on first use (PEP 562), so that the command line
(``members``, ``closure``, ``check``) and the pytest import guard work in a venv without Nox
and do not pay Nox's import at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nox_workspace._errors import (
    ConfigError,
    DiscoveryError,
    GitError,
    LockError,
    NoxWorkspaceError,
    UvError,
)
from nox_workspace._sync import Sync, Target
from nox_workspace._workspace import Edge, Member, Workspace, discover

if TYPE_CHECKING:
    from nox_workspace._sessions import matrix_session, pythons, session

__all__ = [
    "ConfigError",
    "DiscoveryError",
    "Edge",
    "GitError",
    "LockError",
    "Member",
    "NoxWorkspaceError",
    "Sync",
    "Target",
    "UvError",
    "Workspace",
    "discover",
    "matrix_session",
    "pythons",
    "session",
]

#: Public names that live in a module importing Nox, loaded when first asked for.
_NOX_NAMES = frozenset({"matrix_session", "pythons", "session"})


def __getattr__(name: str) -> Any:
    """Load the Nox-facing names on first access (``nox_workspace.session``)."""
    if name in _NOX_NAMES:
        from nox_workspace import _sessions

        value = getattr(_sessions, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nox_workspace' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _NOX_NAMES)
