"""The Nox adapter: one session per member (and one for the union), synced from ``uv.lock``.

Registration happens when the noxfile loads and reads only ``pyproject.toml`` files: listing
sessions parses no lock and starts no process. Everything a session needs is checked then, so
a bad group, extra or Python version fails at load with one line, not halfway through a run.
When a session runs, it syncs its own venv (uv decides what, if anything, changes), reports
leaked packages, changes into the member's folder and calls the function.
"""

from __future__ import annotations

import inspect
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar, overload

import nox
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from nox_workspace import _registry
from nox_workspace._errors import ConfigError, NoxWorkspaceError
from nox_workspace._registry import GeneratedSession
from nox_workspace._sync import Sync, Target
from nox_workspace._workspace import Member, Workspace, discover

__all__ = [
    "MemberFilter",
    "matrix_session",
    "pythons",
    "session",
]

MemberFilter = Sequence[str] | Callable[[Member], bool]
SessionFunc = Callable[[nox.Session, Target], None]
F = TypeVar("F", bound=SessionFunc)
PythonArg = str | Sequence[str] | bool | None

_NOX_HAS_PARALLEL = "allow_parallel" in inspect.signature(nox.session).parameters
#: The oldest Nox whose session API (tags, default=, run_install, -l --json) this relies on.
MINIMUM_NOX = Version("2025.2.9")
_CANDIDATE_PYTHONS = tuple(f"3.{minor}" for minor in range(8, 16))


@overload
def session(func: F, /) -> F: ...


@overload
def session(
    func: None = None,
    /,
    *,
    name: str | None = None,
    python: PythonArg = None,
    sync: Sync | None = None,
    union: str | None = None,
    members: MemberFilter | None = None,
    tags: Sequence[str] = (),
    strict: bool = False,
    reuse_venv: bool | None = True,
    venv_backend: str | None = None,
    default: bool = True,
    root: str | Path | None = None,
) -> Callable[[F], F]: ...


def session(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    python: PythonArg = None,
    sync: Sync | None = None,
    union: str | None = None,
    members: MemberFilter | None = None,
    tags: Sequence[str] = (),
    strict: bool = False,
    reuse_venv: bool | None = True,
    venv_backend: str | None = None,
    default: bool = True,
    root: str | Path | None = None,
) -> F | Callable[[F], F]:
    """Turn ``func(session, target)`` into a Nox session per workspace member.

    ``nox -s NAME-MEMBER`` syncs the session's own venv with exactly that member's locked
    closure (the :class:`Sync` chosen here), changes into the member's folder and calls
    ``func``. With ``union="all"`` a session ``all`` syncs every member into one venv and calls
    ``func`` once from the workspace root. Sessions are tagged with the member's name and with
    ``name``. ``members`` keeps only some members (names, globs, or a predicate); a member can
    skip a session, or change its groups and extras, under ``[tool.nox-workspace]``.
    ``members=[]`` with ``union=NAME`` registers the union session alone.
    ``strict=True`` turns the leaked-packages warning into a failure.

    Generated sessions reuse their venv (an exact sync makes a reused venv equal to a fresh
    one); ``--reuse-venv=never`` still forces a fresh one.
    """

    # Long only by its keyword signature and docstring; the work is in _register.
    if reuse_venv is True and _fresh_venvs_requested(sys.argv):
        reuse_venv = None  # let Nox's explicit "no" recreate the venv

    def register(function: F) -> F:
        start = Path(root) if root is not None else Path(inspect.getfile(function)).parent
        try:
            _check_nox()
            _register(
                function,
                workspace=_registry.discover_once(start, function.__globals__),
                prefix=name or function.__name__,
                python=python,
                sync=sync if sync is not None else Sync(),
                union=union,
                selector=members,
                tags=tuple(tags),
                strict=strict,
                reuse_venv=reuse_venv,
                venv_backend=venv_backend or "uv",
                default=default,
            )
        except NoxWorkspaceError as error:
            # A noxfile that fails to load should say why in one line, not a traceback.
            print(f"nox > nox-workspace: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        return function

    if func is not None:
        return register(func)
    return register


def matrix_session(name: str = "matrix", *, default: bool = False) -> None:
    """Register a Nox session ``name`` that prints the CI matrix of this noxfile's sessions.

    It needs no virtualenv (``venv_backend="none"``) and takes the options of
    ``python -m nox_workspace matrix`` after ``--``::

        nox -s matrix -- --format github --since origin/main

    Call it in the noxfile, after the sessions (it lists every session registered when it
    runs). ``default=False`` keeps it out of a plain ``nox`` run.
    """
    noxfile = Path(sys._getframe(1).f_code.co_filename).resolve()

    def matrix(session: nox.Session) -> None:
        # Imported here: planning reads git and uv.lock, which listing sessions never needs.
        from nox_workspace._cli import matrix_from_posargs

        try:
            output = matrix_from_posargs(session.posargs, name, noxfile)
        except NoxWorkspaceError as error:
            session.error(f"nox-workspace: {error}")
        if output:
            print(output, flush=True)

    matrix.__doc__ = "Print the CI matrix of the member sessions (options after --)."
    nox.session(name=name, venv_backend="none", default=default)(matrix)


@cache
def _check_nox() -> None:
    """Fail with one line when the installed Nox is older than :data:`MINIMUM_NOX`."""
    try:
        found = Version(metadata.version("nox"))
    except (metadata.PackageNotFoundError, InvalidVersion):
        return
    if found < MINIMUM_NOX:
        raise ConfigError(
            f"nox {found} is too old; nox-workspace needs nox >= {MINIMUM_NOX}",
            hint=f"upgrade it with `pip install -U 'nox>={MINIMUM_NOX}'`",
        )


def _fresh_venvs_requested(argv: Sequence[str]) -> bool:
    """Whether Nox was told ``--reuse-venv=no`` (or ``-N``) explicitly on its command line.

    Nox's "no" is also its default, and by Nox's rules a session that asks for reuse is reused
    under it; generated sessions ask for reuse, so an explicit "no" is honoured here.
    """
    for index, arg in enumerate(argv):
        if arg in ("-N", "--no-reuse-existing-virtualenvs", "--reuse-venv=no"):
            return True
        if arg == "--reuse-venv" and argv[index + 1 : index + 2] == ["no"]:
            return True
    return False


def pythons(
    root: str | Path | None = None, candidates: Iterable[str] = _CANDIDATE_PYTHONS
) -> list[str]:
    """The Python versions the workspace supports and that are installed here.

    Takes the ``candidates`` (``3.8`` to ``3.15``) inside the workspace's ``requires-python``
    (the intersection over members) for which a ``pythonX.Y`` is on ``PATH``.
    """
    workspace = discover(root if root is not None else Path.cwd())
    bounds = SpecifierSet(workspace.requires_python or "")
    return [
        version
        for version in candidates
        if _admits(bounds, version) and shutil.which(f"python{version}") is not None
    ]


def _admits(bounds: SpecifierSet, version: str) -> bool:
    """Whether some release of ``version`` (``3.12`` means any ``3.12.x``) is in ``bounds``."""
    if version.count(".") >= 2:
        return bounds.contains(version, prereleases=True)
    return any(bounds.contains(f"{version}.{patch}", prereleases=True) for patch in range(40))


def _register(
    func: SessionFunc,
    *,
    workspace: Workspace,
    prefix: str,
    python: PythonArg,
    sync: Sync,
    union: str | None,
    selector: MemberFilter | None,
    tags: tuple[str, ...],
    strict: bool,
    reuse_venv: bool | None,
    venv_backend: str,
    default: bool,
) -> None:
    # Over 60 lines by the decorator's keywords it passes on to each session it adds.
    if python is False or venv_backend == "none":
        raise ConfigError(
            f"session {prefix!r} needs a virtualenv to sync into",
            hint="drop python=False / venv_backend='none'",
        )
    chosen = _select(workspace, selector, prefix)
    if not chosen and union is None:
        raise ConfigError(
            f"session {prefix!r} selects no member and has no union session",
            path=workspace.pyproject,
            hint="pass union=NAME, or members that exist",
        )
    versions = _versions(python)
    summary = (inspect.getdoc(func) or "").split("\n", 1)[0]
    for member in chosen:
        member_sync = sync.for_member(member, prefix)
        if member_sync is None:
            continue
        target = Target(workspace=workspace, members=(member,), sync=member_sync)
        target.validate(prefix)
        _check_pythons(versions, (member,), prefix)
        _add(
            func,
            target,
            name=f"{prefix}-{member.name}",
            prefix=prefix,
            description=f"{summary} [{member.name}]".strip(),
            python=python,
            tags=(member.name, prefix, *tags),
            strict=strict,
            reuse_venv=reuse_venv,
            venv_backend=venv_backend,
            default=default,
        )
    if union is not None:
        target = Target(
            workspace=workspace, members=workspace.members, sync=sync, all_packages=True
        )
        target.validate(union)
        _check_pythons(versions, workspace.members, union)
        _add(
            func,
            target,
            name=union,
            prefix=prefix,
            description=f"{summary} [all members]".strip(),
            python=python,
            tags=(prefix, *tags),
            strict=strict,
            reuse_venv=reuse_venv,
            venv_backend=venv_backend,
            default=default,
        )


def _select(workspace: Workspace, selector: MemberFilter | None, prefix: str) -> list[Member]:
    """The members the ``members=`` filter keeps; a pattern that matches none is an error."""
    if selector is None:
        return list(workspace.members)
    if callable(selector):
        return [member for member in workspace.members if selector(member)]
    patterns = [selector] if isinstance(selector, str) else list(selector)
    if not patterns:
        return []  # members=[]: only the union session
    try:
        return list(workspace.select(patterns))
    except NoxWorkspaceError as error:
        raise ConfigError(
            f"session {prefix!r}: members={patterns!r}: {error.problem}",
            path=workspace.pyproject,
            hint=error.hint,
        ) from None


def _versions(python: PythonArg) -> list[str]:
    if python is None or isinstance(python, bool):
        return []
    if isinstance(python, str):
        return [python]
    return [version for version in python if isinstance(version, str)]


def _check_pythons(versions: Sequence[str], members: Iterable[Member], name: str) -> None:
    """A Python outside a member's ``requires-python`` is an error at load, naming the member."""
    for version in versions:
        plain = version.removeprefix("python")
        if not plain[:1].isdigit():
            continue  # "pypy3.10" and other names: uv decides
        for member in members:
            if member.requires_python and not _admits(SpecifierSet(member.requires_python), plain):
                raise ConfigError(
                    f"session {name!r} runs Python {version}, but member {member.name!r} "
                    f"requires-python {member.requires_python!r}",
                    path=member.pyproject,
                    hint="drop that version from python=..., or use nox_workspace.pythons()",
                )


def _add(
    func: SessionFunc,
    target: Target,
    *,
    name: str,
    prefix: str | None = None,
    description: str,
    python: PythonArg,
    tags: tuple[str, ...],
    strict: bool,
    reuse_venv: bool | None,
    venv_backend: str,
    default: bool,
) -> None:
    record = GeneratedSession(
        name=name,
        function=func.__name__ if prefix is None else prefix,
        target=target,
        python=tuple(python)
        if isinstance(python, Sequence) and not isinstance(python, str)
        else python,
        tags=tuple(dict.fromkeys(tags)),
        strict=strict,
        origin=func.__globals__,  # one load of one noxfile
    )
    _registry.add(record)

    def run(session: nox.Session) -> None:
        # Imported when a session runs: listing sessions needs none of it.
        from nox_workspace._prepare import prepare

        try:
            prepare(session, target, strict=strict)
        except NoxWorkspaceError as error:
            session.error(str(error))
        with session.chdir(target.directory):
            func(session, target)

    run.__name__ = name.replace("-", "_")
    run.__qualname__ = run.__name__
    run.__doc__ = description
    options: dict[str, Any] = {
        "name": name,
        "python": python,
        "tags": list(record.tags),
        "reuse_venv": reuse_venv,
        "venv_backend": venv_backend,
        "default": default,
    }
    if _NOX_HAS_PARALLEL:
        # Each generated session has its own venv, so they may run side by side (nox -j).
        options["allow_parallel"] = True
    nox.session(run, **options)
