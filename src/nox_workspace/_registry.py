"""The sessions this process registered, as immutable records, and the per-load discovery cache.

The Nox adapter (``_sessions``) adds a record for every session it gives Nox; the planners
(``_matrix``) read them. Keeping them here, below both, is what lets the matrix import no
adapter. :func:`reset` forgets everything, for tests and for a second load of a noxfile.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from nox_workspace._errors import ConfigError
from nox_workspace._sync import Target
from nox_workspace._workspace import Workspace, discover

__all__ = [
    "GeneratedSession",
    "Python",
    "add",
    "count",
    "discover_once",
    "registered",
    "reset",
    "set_params",
]

#: A session's ``python=``: one version, several, or Nox's own choice (``None``, a bool).
Python = str | tuple[str, ...] | bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneratedSession:
    """A session nox-workspace registered with Nox, for the CI matrix and other planners.

    ``name`` is the name given to Nox; with a list of Pythons, Nox runs it as
    ``name-VERSION`` for each. ``function`` is the session function's name (the prefix of
    the member sessions), ``target`` what it syncs (``target.all_packages`` for the union).
    ``params`` are the session signatures of ``@nox.parametrize`` (``flavor='a'``), one
    Nox session each, as Nox names them: ``name(flavor='a')``, ``name-3.12(flavor='a')``.
    ``origin`` identifies one load of one noxfile (its globals).
    """

    name: str
    function: str
    target: Target
    python: Python
    tags: tuple[str, ...]
    strict: bool
    params: tuple[str, ...] = ()
    origin: object = field(default=None, compare=False, repr=False)

    def nox_names(self) -> list[tuple[str, str | None]]:
        """``(session name as Nox runs it, Python version or None)`` pairs."""
        names: list[tuple[str, str | None]]
        if isinstance(self.python, str):
            names = [(self.name, self.python)]
        elif self.python is None or isinstance(self.python, bool):
            names = [(self.name, None)]
        else:
            names = [(f"{self.name}-{version}", version) for version in self.python]
        if not self.params:
            return names
        return [(f"{name}({params})", python) for name, python in names for params in self.params]


_SESSIONS: list[GeneratedSession] = []
#: The names taken, per noxfile load (by the identity of its globals, which the records in
#: :data:`_SESSIONS` keep alive): a set lookup, where a scan of every session registered so
#: far made registering N sessions cost N squared comparisons.
_NAMES: set[tuple[int, str]] = set()
_DISCOVERED: list[tuple[Path, object, Workspace]] = []


def add(session: GeneratedSession) -> None:
    """Record ``session``; a second session of the same name from one noxfile load is an error."""
    key = (id(session.origin), session.name)
    if key in _NAMES:
        raise ConfigError(
            f"two sessions are both named {session.name!r}",
            path=session.target.workspace.root / "noxfile.py",
            hint="give one of them another name= or union=",
        )
    _SESSIONS.append(session)
    _NAMES.add(key)


def set_params(names: Iterable[str], params: tuple[str, ...]) -> None:
    """Give the latest sessions called ``names`` the ``@nox.parametrize`` signatures that a
    decorator above the session decorator applied after they were registered."""
    wanted = set(names)
    for index in range(len(_SESSIONS) - 1, -1, -1):
        if _SESSIONS[index].name in wanted:
            wanted.discard(_SESSIONS[index].name)
            _SESSIONS[index] = replace(_SESSIONS[index], params=params)


def registered(start: int = 0) -> tuple[GeneratedSession, ...]:
    """The sessions registered so far, in order; from the ``start``-th on."""
    return tuple(_SESSIONS[start:])


def discover_once(start: Path, origin: object, cache: Path | None = None) -> Workspace:
    """Discover the workspace once per load of a noxfile, however many decorators it has.

    ``origin`` is the noxfile's globals: one load of one noxfile. ``cache`` is Nox's envdir:
    when that folder exists, the parsed files are cached there, checked file by file on the
    next load (each process of ``nox -j`` loads the noxfile again).
    """
    folder = start.resolve()
    for known_folder, known_origin, workspace in _DISCOVERED:
        if known_origin is origin and known_folder == folder:
            return workspace
    workspace = discover(start, cache=cache)
    _DISCOVERED.append((folder, origin, workspace))
    return workspace


def reset() -> None:
    """Forget every registered session and every cached discovery."""
    _SESSIONS.clear()
    _NAMES.clear()
    _DISCOVERED.clear()


def count() -> int:
    """How many sessions are registered (a mark for :func:`registered`)."""
    return len(_SESSIONS)
