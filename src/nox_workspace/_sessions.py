"""The Nox adapter: one session per member (and one for the union), synced from ``uv.lock``.

Registration happens when the noxfile loads and reads only ``pyproject.toml`` files: listing
sessions parses no lock and starts no process. Everything a session needs is checked then, so
a bad group, extra or Python version fails at load with one line, not halfway through a run.
When a session runs, it syncs its own venv (uv decides what, if anything, changes), reports
leaked packages, changes into the member's folder and calls the function.
"""

from __future__ import annotations

import functools
import inspect
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

import nox
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from nox_workspace import _registry
from nox_workspace._dist import installed_version
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
SessionFunc = Callable[..., None]
F = TypeVar("F", bound=SessionFunc)
PythonArg = str | Sequence[str] | bool | None
Chdir = Literal["member", "root"]

#: Keywords of ``nox.session`` in the installed Nox: passed through as they are, so a keyword
#: a later Nox adds works without a release of this plugin.
_NOX_KEYWORDS = frozenset(inspect.signature(nox.session).parameters) - {"func"}
#: Keywords this decorator reads itself before handing the rest to ``nox.session``.
_OWN_KEYWORDS = frozenset(
    {
        "name",
        "python",
        "sync",
        "union",
        "members",
        "tags",
        "strict",
        "reuse_venv",
        "venv_backend",
        "default",
        "root",
        "chdir",
        "requires",
    }
)
#: The oldest Nox whose session API (tags, default=, run_install, -l --json) this relies on,
#: and that finds a uv >= 0.8 (it asks ``uv self version``; older Nox asks ``uv version``,
#: which became the project's version, and then finds no uv backend at all).
MINIMUM_NOX = Version("2025.5.1")
_CANDIDATE_PYTHONS = tuple(f"3.{minor}" for minor in range(8, 16))


def _one_line_hook(previous: Callable[..., Any]) -> Callable[..., Any]:
    """An ``excepthook`` that prints our own error raised while a noxfile loads in one line.

    The decorator catches its own errors, but a ``Sync(...)`` written as its argument fails
    before the decorator runs, and Nox lets that exception through with a traceback.
    """

    def hook(kind: type[BaseException], error: BaseException, trace: Any) -> None:
        if isinstance(error, NoxWorkspaceError):
            print(f"nox > nox-workspace: {error}", file=sys.stderr)
            return
        previous(kind, error, trace)

    return hook


sys.excepthook = _one_line_hook(sys.excepthook)


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
    chdir: Chdir = "member",
    requires: Sequence[str] | None = None,
    **nox_options: Any,
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
    chdir: Chdir = "member",
    requires: Sequence[str] | None = None,
    **nox_options: Any,
) -> F | Callable[[F], F]:
    """Turn ``func(session, target)`` into a Nox session per workspace member.

    ``nox -s NAME-MEMBER`` syncs the session's own venv with exactly that member's locked
    closure (the :class:`Sync` chosen here), changes into the member's folder (or the
    workspace root with ``chdir="root"``) and calls ``func``. With ``union="all"`` a session
    ``all`` syncs every member into one venv and calls ``func`` once from the workspace root.
    Sessions are tagged with the member's name and with ``name``. ``members`` keeps only some
    members (names, globs, or a predicate); a member can skip a session, change its groups
    and extras, or say where its tests live (``target.tests``) under ``[tool.nox-workspace]``.
    ``members=[]`` with ``union=NAME`` registers the union session alone.
    ``strict=True`` turns the leaked-packages warning into a failure.

    Every other keyword of ``nox.session`` (``venv_params``, ``download_python``,
    ``allow_parallel``, ``py``, ...) is passed on to Nox; an unknown one fails at load.
    ``requires`` may name ``{member}`` as well as Nox's ``{python}``; in the union session
    ``{member}`` stands for each member it generated a session for. ``@nox.parametrize``
    works above or below this decorator: each parameter set becomes a session per member.
    Without
    ``venv_backend``, Nox's ``-db``/``nox.options.default_venv_backend`` applies when given,
    else uv.

    Generated sessions reuse their venv (an exact sync makes a reused venv equal to a fresh
    one); ``--reuse-venv=never`` still forces a fresh one.
    """

    # Long only by its keyword signature and docstring; the work is in _register.
    if reuse_venv is True and _fresh_venvs_requested(sys.argv):
        reuse_venv = None  # let Nox's explicit "no" recreate the venv

    def register(decorated: F) -> F:
        # Two decorators on one function: the inner one returned a _Registered.
        earlier = decorated._sessions if isinstance(decorated, _Registered) else ()
        function: Any = decorated._function if isinstance(decorated, _Registered) else decorated
        start = Path(root) if root is not None else Path(inspect.getfile(function)).parent
        try:
            _check_nox()
            options = _nox_options(nox_options, function.__name__)
            if "py" in options:
                if python is not None:
                    raise ConfigError("pass python= or its alias py=, not both")
                chosen_python: PythonArg = options.pop("py")
            else:
                chosen_python = python
            if chdir not in ("member", "root"):
                raise ConfigError(
                    f"session {name or function.__name__!r}: chdir={chdir!r} is not "
                    "'member' or 'root'"
                )
            registered = _register(
                function,
                workspace=_registry.discover_once(
                    start, function.__globals__, cache=_envdir(sys.argv)
                ),
                prefix=name or function.__name__,
                python=chosen_python,
                sync=sync if sync is not None else Sync(),
                union=union,
                selector=members,
                tags=tuple(tags),
                strict=strict,
                reuse_venv=reuse_venv,
                venv_backend=venv_backend or _default_backend(sys.argv, os.environ),
                default=default,
                chdir=chdir,
                requires=tuple(requires or ()),
                nox_options=options,
            )
        except NoxWorkspaceError as error:
            # A noxfile that fails to load should say why in one line, not a traceback.
            print(f"nox > nox-workspace: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        return _Registered.wrap(function, [*earlier, *registered])  # type: ignore[return-value]

    if func is not None:
        return register(func)
    return register


class _Registered:
    """What the decorator returns: the function, still callable, that forwards
    ``@nox.parametrize`` applied above the decorator to every session it generated."""

    _function: Callable[..., Any]
    _sessions: tuple[Any, ...]

    def __init__(self, function: Callable[..., Any], sessions: Sequence[Any]) -> None:
        object.__setattr__(self, "_function", function)
        object.__setattr__(self, "_sessions", tuple(sessions))

    @classmethod
    def wrap(cls, function: Callable[..., Any], sessions: Sequence[Any]) -> _Registered:
        """``function`` as the decorator returns it (its name, docstring and attributes)."""
        registered = cls(function, sessions)
        functools.update_wrapper(registered, function)
        return registered

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._function(*args, **kwargs)

    def __setattr__(self, key: str, value: Any) -> None:
        object.__setattr__(self, key, value)
        if key == "parametrize":
            for generated in self._sessions:
                generated.parametrize = value
            names = [generated.name for generated in self._sessions]
            _registry.set_params(names, _signatures(value))


def _nox_options(given: Mapping[str, Any], function: str) -> dict[str, Any]:
    """The keywords to hand to ``nox.session`` as they are; an unknown keyword is an error."""
    unknown = sorted(set(given) - _NOX_KEYWORDS)
    if unknown:
        known = sorted(_NOX_KEYWORDS | _OWN_KEYWORDS)
        raise ConfigError(
            f"session {function!r}: unknown keyword {unknown[0]!r} "
            "(neither nox-workspace's nor the installed Nox's)",
            hint="known keywords: " + ", ".join(known),
        )
    options = dict(given)
    if "allow_parallel" in _NOX_KEYWORDS:
        # Each generated session has its own venv, so they may run side by side (nox -j).
        options.setdefault("allow_parallel", True)
    return options


def _default_backend(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The backend when the decorator names none: ``None`` (Nox decides) when the user chose
    a default backend (``-db``, ``NOX_DEFAULT_VENV_BACKEND``, ``nox.options``), else uv."""
    if any(
        arg in ("-db", "--default-venv-backend") or arg.startswith("--default-venv-backend=")
        for arg in argv
    ) or environ.get("NOX_DEFAULT_VENV_BACKEND"):
        return None
    options = nox.options
    provenance = getattr(options, "provenance", None)
    if callable(provenance):
        try:
            source = provenance("default_venv_backend")
        except KeyError:
            source = None
        if source is not None:
            return None if getattr(source, "name", str(source)) != "DEFAULT" else "uv"
    chosen = getattr(options, "default_venv_backend", None)
    return None if chosen not in (None, "virtualenv") else "uv"


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
        found = Version(installed_version("nox", Path(nox.__file__).parent))
    except (metadata.PackageNotFoundError, InvalidVersion):
        return
    if found < MINIMUM_NOX:
        raise ConfigError(
            f"nox {found} is too old; nox-workspace needs nox >= {MINIMUM_NOX}",
            hint=f"upgrade it with `pip install -U 'nox>={MINIMUM_NOX}'`",
        )


def _envdir(argv: Sequence[str]) -> Path:
    """Nox's envdir for this run: ``--envdir`` of its command line (Nox passes it on to the
    processes of ``-j``), else ``.nox``; relative to the noxfile's folder, Nox's working
    directory while it loads the noxfile."""
    found = ".nox"
    for index, arg in enumerate(argv[1:], start=1):
        if arg == "--":
            break
        if arg == "--envdir" and index + 1 < len(argv):
            found = argv[index + 1]
        elif arg.startswith("--envdir="):
            found = arg.partition("=")[2]
    return Path(os.path.abspath(found))


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
    for which a ``pythonX.Y`` is on ``PATH``. The range is the intersection over *every*
    member, not the member's own: uv refuses an interpreter outside it for all members, so
    one member with ``requires-python = ">=3.11"`` rules out 3.10 for its siblings too.
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
    venv_backend: str | None,
    default: bool,
    chdir: Chdir,
    requires: tuple[str, ...],
    nox_options: Mapping[str, Any],
) -> list[Any]:
    """Add a session per chosen member (and the union); returns the Nox functions added."""
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
    _check_pythons(_versions(python), workspace, prefix)
    summary = (inspect.getdoc(func) or "").split("\n", 1)[0]
    common: dict[str, Any] = {
        "prefix": prefix,
        "python": python,
        "strict": strict,
        "reuse_venv": reuse_venv,
        "venv_backend": venv_backend,
        "default": default,
        "nox_options": nox_options,
    }
    added = []
    generated: list[str] = []
    for member in chosen:
        member_sync = sync.for_member(member, prefix)
        if member_sync is None:
            continue
        generated.append(member.name)
        target = Target(workspace=workspace, members=(member,), sync=member_sync, chdir=chdir)
        target.validate(prefix)
        target = replace(target, tests=target.declared_tests(prefix))
        added.append(
            _add(
                func,
                target,
                name=f"{prefix}-{member.name}",
                description=f"{summary} [{member.name}]".strip(),
                tags=(member.name, prefix, *tags),
                requires=tuple(item.replace("{member}", member.name) for item in requires),
                **common,
            )
        )
    if union is not None:
        target = Target(
            workspace=workspace, members=workspace.members, sync=sync, all_packages=True
        )
        target.validate(union)
        added.append(
            _add(
                func,
                target,
                name=union,
                description=f"{summary} [all members]".strip(),
                tags=(prefix, *tags),
                requires=_union_requires(requires, generated),
                **common,
            )
        )
    return added


def _union_requires(requires: Sequence[str], names: Sequence[str]) -> tuple[str, ...]:
    """The union's ``requires``: an entry naming ``{member}`` stands for each member this
    decorator generated a session for (those the union's venv is tested for, one by one)."""
    expanded: list[str] = []
    for item in requires:
        if "{member}" in item:
            expanded += [item.replace("{member}", name) for name in names]
        else:
            expanded.append(item)
    return tuple(dict.fromkeys(expanded))


def _signatures(parametrize: Iterable[object]) -> tuple[str, ...]:
    """Nox's session signatures (``flavor='a'``) of an ``@nox.parametrize`` list."""
    return tuple(str(param) for param in parametrize)


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


def _check_pythons(versions: Sequence[str], workspace: Workspace, name: str) -> None:
    """A Python outside the workspace's ``requires-python`` is an error at load.

    uv takes the workspace's range as the intersection over *every* member and refuses any
    interpreter outside it for every member, even for a member whose own range admits it; so
    the message names the member that narrows the range and lists the versions that work.
    """
    if not versions:
        return  # Nox's own choice of Python: nothing to check, and no range to compute
    bounds = SpecifierSet(workspace.requires_python or "")
    for version in versions:
        plain = version.removeprefix("python")
        if not plain[:1].isdigit() or _admits(bounds, plain):
            continue  # "pypy3.10" and other names: uv decides
        narrowing = next(
            (
                member
                for member in workspace.members
                if member.requires_python
                and not _admits(SpecifierSet(member.requires_python), plain)
            ),
            None,
        )
        why = (
            f"member {narrowing.name!r} requires-python {narrowing.requires_python!r}"
            if narrowing is not None
            else "the members' ranges do not overlap there"
        )
        working = [v for v in _CANDIDATE_PYTHONS if _admits(bounds, v)]
        raise ConfigError(
            f"session {name!r} runs Python {version}, outside the workspace's requires-python "
            f"{workspace.requires_python!r}: uv refuses it for every member, since {why}",
            path=narrowing.pyproject if narrowing is not None else workspace.pyproject,
            hint="use one of "
            + (", ".join(working) or "no known version")
            + ", or nox_workspace.pythons()",
        )


def _add(
    func: SessionFunc,
    target: Target,
    *,
    name: str,
    prefix: str,
    description: str,
    python: PythonArg,
    tags: tuple[str, ...],
    strict: bool,
    reuse_venv: bool | None,
    venv_backend: str | None,
    default: bool,
    requires: tuple[str, ...],
    nox_options: Mapping[str, Any],
) -> Any:
    parametrize = getattr(func, "parametrize", None)
    record = GeneratedSession(
        name=name,
        function=prefix,
        target=target,
        python=tuple(python)
        if isinstance(python, Sequence) and not isinstance(python, str)
        else python,
        tags=tuple(dict.fromkeys(tags)),
        strict=strict,
        params=_signatures(parametrize or ()),
        origin=func.__globals__,  # one load of one noxfile
    )
    _registry.add(record)

    def run(session: nox.Session, **params: Any) -> None:
        # Imported when a session runs: listing sessions needs none of it.
        from nox_workspace._prepare import prepare

        try:
            prepare(session, target, strict=strict)
        except NoxWorkspaceError as error:
            session.error(str(error))
        with session.chdir(target.directory):
            func(session, target, **params)

    run.__name__ = name.replace("-", "_")
    run.__qualname__ = run.__name__
    run.__doc__ = description
    if parametrize is not None:
        run.parametrize = parametrize  # type: ignore[attr-defined]
    options: dict[str, Any] = {
        **nox_options,
        "name": name,
        "python": python,
        "tags": list(record.tags),
        "reuse_venv": reuse_venv,
        "venv_backend": venv_backend,
        "default": default,
    }
    if requires:
        options["requires"] = list(requires)
    return nox.session(run, **options)
