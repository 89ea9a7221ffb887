"""The Nox adapter: one session per member (and one for the union), synced from ``uv.lock``.

Registration happens when the noxfile loads and reads only ``pyproject.toml`` files: listing
sessions parses no lock and starts no process. Everything a session needs is checked then, so
a bad group, extra or Python version fails at load with one line, not halfway through a run.
When a session runs, it syncs its own venv (or skips the sync when nothing changed), reports
leaked packages, changes into the member's folder and calls the function.
"""

from __future__ import annotations

import fnmatch
import inspect
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar, overload

import nox
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from nox_workspace._errors import ConfigError, NoxWorkspaceError
from nox_workspace._sync import Sync, Target
from nox_workspace._workspace import Member, Workspace, discover

__all__ = [
    "GENERATED",
    "GeneratedSession",
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
_SETTING_KEYS = frozenset({"skip", "groups", "extras", "sessions", "global"})
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

    if reuse_venv is True and _fresh_venvs_requested(sys.argv):
        reuse_venv = None  # let Nox's explicit "no" recreate the venv

    def register(function: F) -> F:
        start = Path(root) if root is not None else Path(inspect.getfile(function)).parent
        try:
            _check_nox()
            _register(
                function,
                workspace=_discover_once(start, function.__globals__),
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


@dataclass(frozen=True, slots=True)
class GeneratedSession:
    """A session this module registered with Nox, for the CI matrix and other planners.

    ``name`` is the name given to Nox; with a list of Pythons, Nox runs it as
    ``name-VERSION`` for each. ``function`` is the session function's name (the prefix of
    the member sessions), ``target`` what it syncs (``target.all_packages`` for the union).
    """

    name: str
    function: str
    target: Target
    python: PythonArg
    tags: Sequence[str]
    strict: bool
    origin: object = field(default=None, compare=False, repr=False)

    def nox_names(self) -> list[tuple[str, str | None]]:
        """``(session name as Nox runs it, Python version or None)`` pairs."""
        if isinstance(self.python, str):
            return [(self.name, self.python)]
        if self.python is None or isinstance(self.python, bool):
            return [(self.name, None)]
        return [(f"{self.name}-{version}", version) for version in self.python]


#: Every session registered by :func:`session` in this process, in registration order.
GENERATED: list[GeneratedSession] = []


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
        from nox_workspace._matrix import run_matrix_session

        run_matrix_session(session, name, noxfile)

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


_DISCOVERED: list[tuple[Path, dict[str, Any], Workspace]] = []


def _discover_once(start: Path, origin: dict[str, Any]) -> Workspace:
    """Discover the workspace once per load of a noxfile, however many decorators it has.

    ``origin`` is the noxfile's globals: one load of one noxfile.
    """
    folder = start.resolve()
    for known_folder, known_origin, workspace in _DISCOVERED:
        if known_origin is origin and known_folder == folder:
            return workspace
    workspace = discover(start)
    _DISCOVERED.append((folder, origin, workspace))
    return workspace


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
        member_sync = _member_sync(member, prefix, sync)
        if member_sync is None:
            continue
        target = Target(workspace, (member,), member_sync)
        member_sync.validate(workspace, target.members, prefix)
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
        target = Target(workspace, workspace.members, sync, all_packages=True)
        _validate_union(sync, workspace, union)
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
    """The members the ``members=`` filter keeps; a plain name that matches none is an error."""
    if selector is None:
        return list(workspace.members)
    if callable(selector):
        return [member for member in workspace.members if selector(member)]
    if isinstance(selector, str):
        selector = [selector]
    if not selector:
        return []  # members=[]: only the union session
    chosen: dict[str, Member] = {}
    for pattern in selector:
        if any(char in pattern for char in "*?["):
            for member in workspace.members:
                if fnmatch.fnmatchcase(member.name, pattern) or fnmatch.fnmatchcase(
                    member.relpath, pattern
                ):
                    chosen.setdefault(member.name, member)
        else:
            member = workspace.member(pattern)
            chosen.setdefault(member.name, member)
    if not chosen:
        raise ConfigError(
            f"session {prefix!r}: members={list(selector)!r} matches no member",
            path=workspace.pyproject,
            hint="members are: " + ", ".join(workspace.names),
        )
    return sorted(chosen.values(), key=lambda member: member.name)


def _strings(value: object, key: str, member: Member) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(
            f"[tool.nox-workspace] {key} must be a list of strings",
            path=member.pyproject,
            hint=f'e.g. {key} = ["test"]',
        )
    return tuple(value)


def _member_sync(member: Member, prefix: str, sync: Sync) -> Sync | None:
    """Apply a member's ``[tool.nox-workspace]`` settings; ``None`` means skip this session."""
    settings: Mapping[str, Any] = member.settings
    unknown = sorted(set(settings) - _SETTING_KEYS)
    if unknown:
        raise ConfigError(
            f"[tool.nox-workspace] has unknown key {unknown[0]!r}",
            path=member.pyproject,
            hint="known keys: " + ", ".join(sorted(_SETTING_KEYS)),
        )
    if "global" in settings and not member.is_root:
        raise ConfigError(
            "[tool.nox-workspace] global belongs in the workspace root's pyproject.toml",
            path=member.pyproject,
            hint="move it to the root",
        )
    layers: list[Mapping[str, Any]] = [settings]
    sessions = settings.get("sessions", {})
    if not isinstance(sessions, Mapping):
        raise ConfigError(
            "[tool.nox-workspace.sessions] must be a table of session names",
            path=member.pyproject,
        )
    if prefix in sessions:
        layer = sessions[prefix]
        if not isinstance(layer, Mapping) or set(layer) - {"skip", "groups", "extras"}:
            raise ConfigError(
                f"[tool.nox-workspace.sessions.{prefix}] takes only skip, groups and extras",
                path=member.pyproject,
            )
        layers.append(layer)
    result = sync
    for layer in layers:
        skip = layer.get("skip", False)
        if skip is True or (isinstance(skip, list) and prefix in skip):
            return None
        if not isinstance(skip, bool | list):
            raise ConfigError(
                "[tool.nox-workspace] skip must be true, false or a list of session names",
                path=member.pyproject,
            )
        if "groups" in layer:
            groups = _strings(layer["groups"], "groups", member)
            result = replace(result, groups=groups)
        if "extras" in layer:
            result = replace(result, extras=_strings(layer["extras"], "extras", member))
    return result


def _validate_union(sync: Sync, workspace: Workspace, union: str) -> None:
    for group in sync.groups:
        if group not in workspace.root_groups and not any(
            group in member.dependency_groups for member in workspace.members
        ):
            raise ConfigError(
                f"session {union!r} asks for group {group!r}, which no member defines",
                path=workspace.pyproject,
                hint="add the group or remove it from Sync(groups=...)",
            )
    sync.validate(workspace, (), union)


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
    origin = func.__globals__  # one load of one noxfile
    if any(g.name == name and g.origin is origin for g in GENERATED):
        raise ConfigError(
            f"two sessions are both named {name!r}",
            path=target.workspace.root / "noxfile.py",
            hint="give one of them another name= or union=",
        )

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
        "tags": list(dict.fromkeys(tags)),
        "reuse_venv": reuse_venv,
        "venv_backend": venv_backend,
        "default": default,
    }
    if _NOX_HAS_PARALLEL:
        # Each generated session has its own venv, so they may run side by side (nox -j).
        options["allow_parallel"] = True
    nox.session(run, **options)
    GENERATED.append(
        GeneratedSession(
            name=name,
            function=func.__name__ if prefix is None else prefix,
            target=target,
            python=python,
            tags=options["tags"],
            strict=strict,
            origin=origin,
        )
    )
