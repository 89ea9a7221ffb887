"""nox-workspace: Nox sessions per uv workspace member, synced from ``uv.lock``.

In a ``noxfile.py``::

    import nox
    import nox_workspace

    @nox_workspace.session(sync=nox_workspace.Sync(groups=["test"]), union="all")
    def test(session: nox.Session, target: nox_workspace.Target) -> None:
        session.run("pytest")

The public names are loaded on first use (PEP 562): the decorators import Nox, and the model
imports TOML and marker parsers. So the command line (``members``, ``closure``, ``check``)
and the pytest import guard work in a venv without Nox, and the guard, which usually needs
none of the model, adds next to nothing to a test run's start-up.
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

if TYPE_CHECKING:
    from nox_workspace._sessions import matrix_session, pythons, session
    from nox_workspace._sync import Sync, Target
    from nox_workspace._workspace import Edge, Member, Workspace, discover

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

#: Public names loaded when first asked for, and the module each one lives in.
_LAZY = {
    "matrix_session": "_sessions",
    "pythons": "_sessions",
    "session": "_sessions",
    "Sync": "_sync",
    "Target": "_sync",
    "Edge": "_workspace",
    "Member": "_workspace",
    "Workspace": "_workspace",
    "discover": "_workspace",
}


def __getattr__(name: str) -> Any:
    """Load a public name on first access (``nox_workspace.session``, ``nox_workspace.Sync``)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nox_workspace' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"nox_workspace.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY.keys())
