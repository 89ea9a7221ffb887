"""A pytest plugin: run a member's tests in the shared ``.venv``, importing only its closure.

``pytest -p nox_workspace.guard --nw-member M`` (or ``nw_member = M`` in the pytest
configuration, or ``NOX_WORKSPACE_MEMBER=M``, or else the member whose folder holds the test
paths) fails every import *made from member M's own
code or from the test modules pytest collects* of a module whose distribution is not in M's
locked closure (for the running interpreter). The failure is a ``ModuleNotFoundError``, as
in M's own session, whose message names the distribution, the members that bring it and the
fix. Imports made by other code (a library's ``try: import optional``) are not judged: the
importer's file decides, not the imported name.

How: ``builtins.__import__`` is wrapped, so every ``import`` statement is seen, also of a
module another importer loaded first; the importer's file comes from the globals Python
passes along. Module -> distribution comes from
``importlib.metadata.packages_distributions()`` (read faster, by
:func:`top_level_distributions`), and for editable workspace members (whose
files no ``RECORD`` lists) from the folder the module lives in. Decisions are cached per
importer file and per top-level module, so a repeated import costs two dictionary look-ups.

Limits (see the how-to): ``importlib.import_module`` and ``__import__`` called through
another name bypass the wrapper; a C extension importing at load is not seen; a namespace
package shared by several distributions is allowed when any of them is in the closure;
conftest files outside the member's folder are not judged. The member's own session is
still the proof.

Nox is not imported: the plugin works in a venv holding ``nox-workspace`` installed without
its dependencies next to pytest.
"""

from __future__ import annotations

import builtins
import os
import re
import sys
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest

__all__ = [
    "ENV_MEMBER",
    "GuardPlan",
    "GuardedImportError",
    "ImportGuard",
    "build_guard",
    "infer_member",
    "plan_guard",
    "top_level_distributions",
]

#: The environment variable naming the member when no option or ini value does.
ENV_MEMBER = "NOX_WORKSPACE_MEMBER"
_SEPARATORS = re.compile(r"[-_.]+")
#: Distributions of the test runner itself: pytest imports them into every test module.
_RUNNER = frozenset({"pytest", "pluggy", "iniconfig", "py"})


class GuardedImportError(ModuleNotFoundError):
    """An import the member's own session could not make: its distribution is not locked."""


@dataclass(slots=True, kw_only=True)
class ImportGuard:
    """Decides, per ``import`` statement, whether the member's locked closure allows it.

    ``allowed`` are the normalized distribution names of the closure; ``judged`` are path
    prefixes (the member's folder) whose files are judged, ``test_files`` the test modules
    pytest collected; ``distributions`` maps a top-level module to its distributions;
    ``members`` maps a member's folder (a path prefix) to its name; ``brought_by`` names who
    brings a distribution (called only on a failure).
    """

    member: str
    allowed: frozenset[str]
    judged: tuple[str, ...]
    distributions: Callable[[], Mapping[str, Sequence[str]]]
    members: Mapping[str, str]
    brought_by: Callable[[str], Sequence[str]]
    test_files: set[str] = field(default_factory=set)
    _files: dict[str, bool] = field(default_factory=dict)
    _verdicts: dict[str, str | None] = field(default_factory=dict)
    _original: Callable[..., Any] | None = None

    def judges(self, filename: str) -> bool:
        """Whether imports made from ``filename`` are the member's (cached per file)."""
        verdict = self._files.get(filename)
        if verdict is None:
            verdict = filename in self.test_files or filename.startswith(self.judged)
            self._files[filename] = verdict
        return verdict

    def verdict(self, top: str) -> str | None:
        """``None`` when the member may import top-level module ``top``, else the reason."""
        if top in self._verdicts:
            return self._verdicts[top]
        reason = self._decide(top)
        self._verdicts[top] = reason
        return reason

    def _decide(self, top: str) -> str | None:
        if top in sys.stdlib_module_names or top in sys.builtin_module_names:
            return None
        found: list[str] = [canonicalize_name(name) for name in self.distributions().get(top, ())]
        if not found:
            owner = self._member_folder_of(top)
            if owner is None:
                return None  # local helper, stdlib extension, or nothing at all
            found = [owner]
        if any(name in self.allowed or name in _RUNNER for name in found):
            return None
        dist = found[0]
        version = _version(dist)
        bringers = self.brought_by(dist)
        where = (
            ", ".join(bringers) + (" brings" if len(bringers) == 1 else " bring") + " it here"
            if bringers
            else "nothing in uv.lock brings it here (installed by hand?)"
        )
        return (
            f"{self.member}'s code imports {top} (distribution {dist}"
            f"{' ' + version if version else ''}), which {self.member}'s locked closure does not "
            f"install: {where}, and {self.member}'s own session cannot import it; fix: add "
            f"{dist} to {self.member}'s dependencies or test group, then run `uv lock`"
        )

    def _member_folder_of(self, top: str) -> str | None:
        """The workspace member whose folder holds module ``top`` (an editable install)."""
        import importlib.util

        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        places = [spec.origin] if spec.origin else []
        places += list(spec.submodule_search_locations or ())
        for place in places:
            for folder, name in self.members.items():
                if place and os.path.abspath(place).startswith(folder):
                    return name
        return None

    def hook(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """A ``builtins.__import__`` that refuses what the member's closure does not install
        and hands everything else to ``original``.

        Every ``import`` statement of the process runs through it, so the common case (an
        importer whose file was seen before and is not judged) costs one dictionary look-up.
        """
        files = self._files
        verdicts = self._verdicts
        judges = self.judges
        verdict = self.verdict

        def guarded_import(
            name: str,
            globals: Mapping[str, Any] | None = None,
            locals: Mapping[str, Any] | None = None,
            fromlist: Sequence[str] | None = (),
            level: int = 0,
        ) -> Any:
            __tracebackhide__ = True
            if level == 0 and globals:
                filename = globals.get("__file__")
                if filename is not None and (files.get(filename) or judges(filename)):
                    top = name.partition(".")[0]
                    reason = verdicts[top] if top in verdicts else verdict(top)
                    if reason is not None:
                        raise GuardedImportError(f"{filename}: {reason}", name=name)
            return original(name, globals, locals, fromlist, level)

        return guarded_import

    def __call__(
        self,
        name: str,
        globals: Mapping[str, Any] | None = None,
        locals: Mapping[str, Any] | None = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> Any:
        """One guarded import through the import function the guard wraps."""
        assert self._original is not None
        return self.hook(self._original)(name, globals, locals, fromlist, level)

    def install(self) -> None:
        """Wrap ``builtins.__import__``."""
        if self._original is None:
            self._original = builtins.__import__
            builtins.__import__ = self.hook(self._original)

    def uninstall(self) -> None:
        """Restore ``builtins.__import__``."""
        if self._original is not None:
            builtins.__import__ = self._original
            self._original = None


def top_level_distributions(paths: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Top-level module -> the normalized names of the distributions that install it.

    What ``importlib.metadata.packages_distributions()`` answers (``top_level.txt``, else the
    first part of each module path in ``RECORD``; compiled extension modules count too, which
    that function leaves out on some Pythons), read several times faster: it takes a distribution's
    name from its ``*.dist-info`` folder instead of parsing its ``METADATA``, and reads
    ``RECORD`` as text. The rare ``*.egg-info`` install is asked of ``importlib.metadata``.
    """
    import csv
    from importlib.machinery import EXTENSION_SUFFIXES
    from importlib.metadata import PathDistribution

    modules = (".py", *EXTENSION_SUFFIXES)
    found: dict[str, list[str]] = {}

    def add(tops: Iterable[str], dist: str) -> None:
        for top in tops:
            if top and "." not in top:
                found.setdefault(top, []).append(dist)

    for folder in sys.path if paths is None else paths:
        try:
            entries = list(os.scandir(folder or "."))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.endswith(".dist-info") and "-" in name:
                dist = canonicalize_name(name.partition("-")[0])
                try:
                    with open(os.path.join(entry.path, "top_level.txt"), encoding="utf-8") as fh:
                        add(fh.read().split(), dist)
                        continue
                except OSError:
                    pass
                try:
                    with open(os.path.join(entry.path, "RECORD"), encoding="utf-8") as fh:
                        rows = [row[0] for row in csv.reader(fh) if row]
                except OSError:
                    continue
                add({_top_of(path) for path in rows if path.endswith(modules)}, dist)
            elif name.endswith(".egg-info"):
                legacy = PathDistribution(Path(entry.path))
                dist = canonicalize_name(legacy.metadata["Name"] or name.partition("-")[0])
                declared = (legacy.read_text("top_level.txt") or "").split()
                files = legacy.files or ()
                inferred = {_top_of(f.as_posix()) for f in files if f.name.endswith(modules)}
                add(declared or inferred, dist)
    return found


def canonicalize_name(name: str) -> str:
    """A distribution name normalized as PEP 503 says (``packaging.utils`` does the same,
    but importing it costs a guarded test run more than the rest of the guard)."""
    return _SEPARATORS.sub("-", name).lower()


def _top_of(path: str) -> str:
    """The top-level module a file installs: its first folder, or its module name."""
    if "/" in path:
        return path.partition("/")[0]
    return path.partition(".")[0]


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return ""


def _prefix(path: Path) -> str:
    """A path as a prefix that matches only files inside it."""
    return os.path.join(os.path.abspath(path), "")


class Cache(Protocol):
    """Where plans are kept between runs: pytest's ``config.cache`` has this shape."""

    def get(self, key: str, default: Any) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardPlan:
    """What a guard needs from the workspace, and the files it was read from.

    ``files`` maps each file read (``uv.lock``, the ``pyproject.toml`` files) to its
    ``[mtime_ns, size]``: a plan whose files are unchanged is reused without reading them.
    """

    member: str
    allowed: tuple[str, ...]
    judged: tuple[str, ...]
    members: Mapping[str, str]
    files: Mapping[str, tuple[int, int]]

    def fresh(self) -> bool:
        """Whether every file the plan was read from is as it was."""
        return all(_stat(path) == tuple(stat) for path, stat in self.files.items())

    def to_json(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "allowed": list(self.allowed),
            "judged": list(self.judged),
            "members": dict(self.members),
            "files": {path: list(stat) for path, stat in self.files.items()},
        }

    @classmethod
    def from_json(cls, data: Any) -> GuardPlan | None:
        """The plan a cache held, or ``None`` when it is not one."""
        try:
            return cls(
                member=str(data["member"]),
                allowed=tuple(map(str, data["allowed"])),
                judged=tuple(map(str, data["judged"])),
                members={str(k): str(v) for k, v in data["members"].items()},
                files={str(k): (int(v[0]), int(v[1])) for k, v in data["files"].items()},
            )
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return None


def _stat(path: str) -> tuple[int, int]:
    try:
        info = os.stat(path)
    except OSError:
        return (-1, -1)
    return (info.st_mtime_ns, info.st_size)


def _environment() -> dict[str, str]:
    from packaging.markers import default_environment

    return {key: str(value) for key, value in default_environment().items()}


def plan_guard(
    member: str, start: Path, groups: Sequence[str] = (), extras: Sequence[str] = ()
) -> GuardPlan:
    """The plan for ``member`` of the workspace holding ``start``, for this interpreter.

    The closure is what ``uv sync --package MEMBER`` installs with these groups and extras
    (and the member's default groups), read from ``uv.lock``. Raises
    :class:`~nox_workspace.NoxWorkspaceError` on a bad workspace, member, group or extra.
    """
    from nox_workspace._closure import target_closure
    from nox_workspace._lock import read_lock
    from nox_workspace._sync import Sync, Target
    from nox_workspace._workspace import discover

    workspace = discover(start)
    chosen = workspace.member(member)
    sync = Sync(groups=list(groups), extras=list(extras))
    files = [workspace.pyproject, workspace.lock_path, *(m.pyproject for m in workspace.members)]
    stats = {str(path): _stat(str(path)) for path in files}
    lock = read_lock(workspace.lock_path)
    target = Target(workspace=workspace, members=(chosen,), sync=sync)
    target.validate("the import guard")
    closure = target_closure(lock, target, _environment())
    return GuardPlan(
        member=chosen.name,
        allowed=tuple(sorted({package.name for package in closure} | {chosen.name})),
        judged=() if chosen.is_root else (_prefix(chosen.path),),
        members={
            _prefix(item.path): item.name
            for item in sorted(workspace.members, key=lambda item: -len(item.path.parts))
            if not item.is_root
        },
        files=stats,
    )


def _brought_by(start: Path, dist: str) -> Sequence[str]:
    """Who brings ``dist`` (read again: this runs only when an import fails)."""
    from nox_workspace._check import owners
    from nox_workspace._lock import read_lock
    from nox_workspace._workspace import discover

    workspace = discover(start)
    lock = read_lock(workspace.lock_path)
    return owners(lock, workspace, [dist], _environment()).get(dist, ())


def _key(*parts: object) -> str:
    import hashlib

    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:20]
    return f"nox-workspace/guard-{digest}"


def _cached_distributions(cache: Cache | None) -> Callable[[], Mapping[str, Sequence[str]]]:
    """:func:`top_level_distributions`, computed once, and reused from ``cache`` while no
    folder of ``sys.path`` has gained or lost an entry (installing, removing or upgrading a
    distribution changes its folder's modification time)."""
    from functools import cache as once

    @once
    def load() -> Mapping[str, Sequence[str]]:
        paths = list(sys.path)
        stamps = [_stat(path or ".")[0] for path in paths]
        key = _key("modules", paths)
        if cache is not None:
            entry = cache.get(key, None)
            if isinstance(entry, dict) and entry.get("stamps") == stamps:
                modules = entry.get("modules")
                if isinstance(modules, dict):
                    return modules
        found = top_level_distributions(paths)
        if cache is not None:
            cache.set(key, {"stamps": stamps, "modules": found})
        return found

    return load


def build_guard(
    member: str,
    start: Path,
    groups: Sequence[str] = (),
    extras: Sequence[str] = (),
    cache: Cache | None = None,
) -> ImportGuard:
    """The guard for ``member`` of the workspace holding ``start`` (see :func:`plan_guard`).

    With a ``cache`` (pytest's), the plan and the module map of the last run are reused while
    the files they were read from are unchanged, so a guarded run reads no TOML at all.
    """
    key = _key("plan", str(start), member, list(groups), list(extras), sys.version, sys.prefix)
    plan = GuardPlan.from_json(cache.get(key, None)) if cache is not None else None
    if plan is None or not plan.fresh():
        plan = plan_guard(member, start, groups, extras)
        if cache is not None:
            cache.set(key, plan.to_json())
    return ImportGuard(
        member=plan.member,
        allowed=frozenset(plan.allowed),
        judged=plan.judged,
        distributions=_cached_distributions(cache),
        members=plan.members,
        brought_by=lambda dist: _brought_by(start, dist),
    )


# --------------------------------------------------------------------------------------------
# The pytest plugin


_STASH = pytest.StashKey["ImportGuard"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--nw-member``, ``--nw-group``, ``--nw-extra`` and their ini values."""
    group = parser.getgroup("nox-workspace", "nox-workspace import guard")
    group.addoption(
        "--nw-member",
        default=None,
        metavar="M",
        help=f"fail imports outside member M's locked closure (also ini nw_member, {ENV_MEMBER})",
    )
    group.addoption(
        "--nw-group",
        action="append",
        default=[],
        metavar="G",
        help="add dependency group G to the member's closure (also ini nw_groups)",
    )
    group.addoption(
        "--nw-extra",
        action="append",
        default=[],
        metavar="E",
        help="add the member's extra E to its closure (also ini nw_extras)",
    )
    parser.addini("nw_member", "the member whose locked closure the import guard enforces")
    parser.addini("nw_groups", "dependency groups added to the member's closure", type="linelist")
    parser.addini("nw_extras", "extras added to the member's closure", type="linelist")


def infer_member(start: Path, args: Sequence[str]) -> str | None:
    """The member whose tests these are, as ``uv run`` reads folders: the project of the
    nearest ``pyproject.toml`` above every test path (or above ``start`` without paths), when
    they all agree and it is not the workspace root; else ``None``."""
    from nox_workspace._errors import NoxWorkspaceError
    from nox_workspace._toml import load_toml_if_present

    places = [start / arg.split("::")[0] for arg in args if not arg.startswith("-")] or [start]
    names: set[str | None] = set()
    for place in places:
        name = None
        folder = place.resolve()
        for candidate in [folder, *folder.parents]:
            try:
                data = load_toml_if_present(candidate / "pyproject.toml", NoxWorkspaceError)
            except NoxWorkspaceError:
                break
            if data is None:
                continue
            is_root = "workspace" in data.get("tool", {}).get("uv", {})
            project = data.get("project", {})
            if not is_root and isinstance(project, dict) and isinstance(project.get("name"), str):
                name = project["name"]
            break
        names.add(name)
    if len(names) == 1:
        return names.pop()
    return None


def pytest_configure(config: pytest.Config) -> None:
    """Install the guard for the member named (option, ini value, environment), else for the
    member whose folder holds the test paths."""
    from nox_workspace._errors import NoxWorkspaceError

    member = (
        config.getoption("nw_member")
        or config.getini("nw_member")
        or os.environ.get(ENV_MEMBER)
        or infer_member(config.invocation_params.dir, config.args)
    )
    if not member:
        raise pytest.UsageError(
            "nox-workspace import guard: no member named, and the test paths are not inside "
            f"one member's folder; pass --nw-member M, set nw_member, or set {ENV_MEMBER}"
        )
    groups = config.getoption("nw_group") or config.getini("nw_groups")
    extras = config.getoption("nw_extra") or config.getini("nw_extras")
    try:
        guard = build_guard(
            member,
            config.invocation_params.dir,
            groups,
            extras,
            cache=getattr(config, "cache", None),
        )
    except NoxWorkspaceError as error:
        raise pytest.UsageError(f"nox-workspace import guard: {error}") from None
    config.stash[_STASH] = guard
    guard.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Restore ``builtins.__import__``."""
    guard = config.stash.get(_STASH, None)
    if guard is not None:
        guard.uninstall()


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say in pytest's header that the guard is on, and for which member."""
    guard = config.stash.get(_STASH, None)
    if guard is None:
        return None
    return f"nox-workspace import guard: imports limited to the locked closure of {guard.member}"


@pytest.hookimpl(hookwrapper=True)
def pytest_pycollect_makemodule(module_path: Path, parent: Any) -> Generator[None, None, None]:
    """Judge the imports of every test module pytest collects, wherever it lives."""
    guard = parent.config.stash.get(_STASH, None)
    if guard is not None:
        guard.test_files.add(str(module_path))
    yield
