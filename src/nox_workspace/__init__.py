"""nox-workspace: Nox sessions per uv workspace member, synced from ``uv.lock``.

In a ``noxfile.py``::

    import nox
    import nox_workspace

    @nox_workspace.session(sync=nox_workspace.Sync(groups=["test"]), union="all")
    def test(session: nox.Session, target: nox_workspace.Target) -> None:
        session.run("pytest")
"""

from nox_workspace._errors import (
    ConfigError,
    DiscoveryError,
    GitError,
    LockError,
    NoxWorkspaceError,
    UvError,
)
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
