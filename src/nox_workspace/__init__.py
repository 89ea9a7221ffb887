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
  member folder holds a path. ``_markers``: marker evaluation. ``_dist``: an installed
  distribution's version from its ``*.dist-info`` folder name (Nox's, uv's, a venv's).
- Model (no Nox, argparse or subprocess). ``_settings``: ``[tool.nox-workspace]``, parsed and
  checked once. ``_pyproject``: one ``pyproject.toml``'s tables, checked as uv checks them.
  ``_workspace``: discovery, the member graph, ``select`` (``members=`` and ``--member``),
  ``owner_of``; names are normalized with ``canonicalize_name`` everywhere.
  ``_lock``, ``_index``, ``_reach``, ``_walk``: reading ``uv.lock``, indexing it, and walking
  a closure for a ``Selection``. ``_sync``: ``Sync`` and
  ``Target``, their checks and the ``uv sync`` argv. ``_closure``, ``_graph``. ``_scope``:
  what one session syncs and reads (the affected rules' inputs). ``_lockdiff``: two locks
  and how a target's closure differs between them.
- Edges. ``_git``: the only git caller. ``_uv``: the only uv caller. ``_venv``, ``_reuse``,
  ``_leaks``: what a venv holds, whether a sync can be skipped, leaked packages.
- Planners. ``_registry``: the registered sessions (``reset()``). ``_affected``: which
  sessions (or members) a change affects. ``_keys``: the row keys, over the same inputs.
  ``_matrix``: CI rows and formats.
- Adapters. ``_sessions``: the decorator and the ``matrix`` session. ``_prepare``: a session at
  run time. ``_cli``: every option, noxfile loading and printing (``__main__`` calls it).
  ``guard``: the pytest import guard for a shared venv.

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
