"""nox-workspace: Nox sessions per uv workspace member, synced from ``uv.lock``.

In a ``noxfile.py``::

    import nox
    import nox_workspace

    @nox_workspace.session(sync=nox_workspace.Sync(groups=["test"]), union="all")
    def test(session: nox.Session, target: nox_workspace.Target) -> None:
        session.run("pytest")

Where each rule lives (a layer imports only the layers before it; the ``lint`` session checks
this with import-linter):

- Leaves. ``_errors``: the exceptions and their one-line messages. ``_toml``: the only TOML
  reader (UTF-8, byte-order mark). ``_glob``: every path rule: uv's ``members`` and
  ``exclude`` globs, ``.gitignore``, the ``global`` globs, the one glob translator, and which
  member folder holds a path. ``_markers``: marker evaluation.
- Model (no Nox, argparse or subprocess). ``_settings``: ``[tool.nox-workspace]``, parsed and
  checked once. ``_pyproject``: one ``pyproject.toml``'s tables, checked as uv checks them.
  ``_workspace``: discovery, the member graph, ``select`` (``members=`` and ``--member``),
  ``owner_of``; names are normalized with ``canonicalize_name`` everywhere.
  ``_lock``, ``_walk``: reading ``uv.lock`` and walking a closure. ``_sync``: ``Sync`` and
  ``Target``, their checks and the ``uv sync`` argv. ``_closure``, ``_graph``.
- Edges. ``_git``: the only git caller. ``_uv``: the only uv caller. ``_venv``, ``_reuse``,
  ``_leaks``: what a venv holds, whether a sync can be skipped, leaked packages.
- Planners. ``_registry``: the registered sessions (``reset()``). ``_affected``: which members
  a change affects, and the lock diff. ``_matrix``: CI rows, keys and formats.
- Adapters. ``_sessions``: the decorator and the ``matrix`` session. ``_prepare``: a session at
  run time. ``_cli``: every option, noxfile loading and printing (``__main__`` calls it).
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
