"""Path globs with the semantics uv uses for ``members``, ``exclude`` and ``.gitignore``.

uv expands ``members`` with Rust's ``glob`` crate: ``*`` and ``?`` match within one path
component and also match names that start with a dot, ``[...]`` is a class, ``**`` matches any
number of directories (at the end: every directory below), symbolic links are followed.
``exclude`` patterns are matched against a member's whole path, where ``*`` also crosses
``/``. A directory a glob matches that has no ``pyproject.toml`` is skipped when it is hidden
or holds only git-ignored files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from nox_workspace._errors import ConfigError, DiscoveryError, NoxWorkspaceError

__all__ = [
    "PathMatcher",
    "clean_relpath",
    "compile_globs",
    "escape_glob",
    "exclude_matcher",
    "expand_members",
    "glob_regex",
    "holds_only_ignored_files",
    "member_folders",
    "normalize",
    "owner",
]

_MAGIC = re.compile(r"[*?\[]")


def normalize(path: Path | str) -> Path:
    """Make ``path`` absolute and remove ``.`` and ``..`` textually, as uv does (no symlinks)."""
    return Path(os.path.normpath(os.path.abspath(path)))


def clean_relpath(path: str) -> str:
    """A ``/``-separated relative path without ``./`` or a trailing ``/`` (``.``: the root).

    A backslash is a separator only on Windows: elsewhere it is part of a file name, which
    git reports as it is.
    """
    text = path.replace("\\", "/") if os.sep == "\\" else path
    while text.startswith("./"):
        text = text[2:]
    text = text.rstrip("/")
    return text or "."


def member_folders(folders: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """(folder, member) pairs from member -> folder, longest folder first, the root last.

    The order :func:`owner` needs: the first folder that holds a path is the longest.
    """
    pairs = [(clean_relpath(folder), name) for name, folder in folders.items()]
    return tuple(sorted(pairs, key=lambda pair: (pair[0] == ".", -len(pair[0]), pair[0])))


def owner(path: str, folders: tuple[tuple[str, str], ...]) -> str | None:
    """The member whose folder holds ``path``, from :func:`member_folders`' pairs.

    A root member (folder ``.``) holds every path inside the root, not one outside (``../``).
    """
    for folder, name in folders:
        if folder == ".":
            if not path.startswith("../"):
                return name
        elif path == folder or path.startswith(folder + "/"):
            return name
    return None


def uv_glob_error(pattern: str) -> str | None:
    """Why uv refuses ``pattern`` as a ``members`` or ``exclude`` glob, or ``None``.

    uv parses them with Rust's ``glob`` crate, which refuses three stars in a row, a ``**``
    that is not a whole path component (``a**``, ``**b``), and a ``[`` without a class and
    its ``]`` (``[a``, ``[]``, ``[!]``); checked with uv 0.13.9.
    """
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            start = i
            while i < len(pattern) and pattern[i] == "*":
                i += 1
            if i - start > 2:
                return "wildcards are either regular `*` or recursive `**`"
            if i - start == 2:
                before = start == 0 or pattern[start - 1] == "/"
                after = i == len(pattern) or pattern[i] == "/"
                if not (before and after):
                    return "recursive wildcards must form a single path component"
            continue
        if char == "[":
            # The first character of a class (after `!`) may be `]` itself.
            first = i + 2 if pattern.startswith("!", i + 1) else i + 1
            end = pattern.find("]", first + 1)
            if first >= len(pattern) or end == -1:
                return "invalid range pattern"
            i = end + 1
            continue
        i += 1
    return None


def _refuse_invalid_glob(pattern: str, key: str, source: Path) -> None:
    """One line naming ``key`` of ``source`` when uv refuses ``pattern`` as a glob."""
    problem = uv_glob_error(pattern)
    if problem is not None:
        raise DiscoveryError(
            f"{key} holds an invalid glob {pattern!r} ({problem})",
            path=source,
            hint="fix the pattern",
        )


def expand_members(root: Path, pattern: str, source: Path) -> list[Path]:
    """Return the directories below ``root`` that the ``members`` glob ``pattern`` matches.

    Files are left out: uv ignores a file a glob matches. ``source`` names the
    ``pyproject.toml`` the pattern came from, for error messages. A pattern uv refuses, or a
    symbolic link it matches that cannot be followed (dangling, or a loop), is an error, as
    in uv.
    """
    _refuse_invalid_glob(pattern, "tool.uv.workspace.members", source)
    parts = [part for part in pattern.replace("\\", "/").split("/") if part not in ("", ".")]
    base = normalize(root)
    if not parts:
        return [base]
    found: dict[Path, None] = {}
    for path in _walk(base, parts, 0, (), pattern, source, known_dir=True):
        # Children of a normalized folder are normalized already; only ".." needs the work.
        found.setdefault(normalize(path) if ".." in parts else path, None)
    return list(found)


def _walk(
    base: Path,
    parts: list[str],
    index: int,
    seen: tuple[str, ...],
    pattern: str,
    source: Path,
    *,
    known_dir: bool,
) -> Iterator[Path]:
    if index == len(parts):
        if known_dir or base.is_dir():
            yield base
        else:
            _refuse_broken_link(base, pattern, source)
        return
    part = parts[index]
    if part == "**":
        last = index + 1 == len(parts)
        if not last:
            yield from _walk(base, parts, index + 1, seen, pattern, source, known_dir=known_dir)
        for child in _subdirs(base, seen, pattern, source):
            if last:
                yield child
            child_seen = (*seen, _real(child))
            yield from _walk(child, parts, index, child_seen, pattern, source, known_dir=True)
        return
    if part == ".." or not _MAGIC.search(part):
        yield from _walk(base / part, parts, index + 1, seen, pattern, source, known_dir=False)
        return
    regex = _component_regex(part)
    broken: list[Path] = []
    for child in _subdirs(base, seen, pattern, source, broken=broken):
        # uv's glob matches a pattern against a name only when the name is valid UTF-8;
        # ``**`` walks into any folder (checked with uv 0.13.9).
        if _is_utf8(child.name) and regex.fullmatch(child.name):
            yield from _walk(child, parts, index + 1, seen, pattern, source, known_dir=True)
    if index + 1 == len(parts):
        for link in broken:
            if _is_utf8(link.name) and regex.fullmatch(link.name):
                _refuse_broken_link(link, pattern, source)


@cache
def _component_regex(part: str) -> re.Pattern[str]:
    return re.compile(glob_regex(part, cross_separators=False, strict_ranges=False), re.DOTALL)


def _refuse_broken_link(path: Path, pattern: str, source: Path) -> None:
    """uv stops at a symbolic link its glob matched but cannot follow; so does discovery."""
    if not path.is_symlink():
        return
    try:
        path.stat()
    except OSError as error:
        raise DiscoveryError(
            f"the glob {pattern!r} matches {path}, a symbolic link that cannot be followed "
            f"({error.strerror})",
            path=source,
            hint="remove the link, fix its target, or narrow the glob",
        ) from None


def _is_utf8(name: str) -> bool:
    """Whether a file name was valid UTF-8 (else Python holds its bytes as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _real(path: Path) -> str:
    return os.path.realpath(path)


def _subdirs(
    base: Path,
    seen: tuple[str, ...],
    pattern: str,
    source: Path,
    *,
    broken: list[Path] | None = None,
) -> list[Path]:
    """The directories in ``base`` (following links), sorted; a link back up is an error.

    The symbolic links that cannot be followed are added to ``broken`` when it is given.
    """
    try:
        entries = sorted(os.scandir(base), key=lambda entry: entry.name)
    except OSError:
        return []
    children = []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if not is_dir:
            if broken is not None and entry.is_symlink() and not os.path.exists(entry.path):
                broken.append(Path(entry.path))
            continue
        child = Path(entry.path)
        if entry.is_symlink() and _real(child) in (*seen, _real(base)):
            raise DiscoveryError(
                f"the glob {pattern!r} runs into a symbolic link loop at {child}",
                path=source,
                hint="remove the link or narrow the glob",
            )
        children.append(child)
    return children


@cache
def glob_regex(pattern: str, *, cross_separators: bool, strict_ranges: bool = True) -> str:
    """The one glob -> regular expression translator, for every path glob of this package.

    ``*`` and ``?`` stay in one folder, unless ``cross_separators`` (uv's ``exclude``, which
    matches a whole path). ``**/`` matches any number of folders, ``**`` anything.
    ``[...]`` is a character class (``[!...]`` negated) whose characters are taken
    literally, ranges (``a-z``) aside; a ``[`` without its ``]`` is a plain ``[``. A range
    from a higher to a lower character (``z-a``) matches nothing, as in uv, unless
    ``strict_ranges``: then it is left for :func:`compile_globs` to refuse.
    """
    out: list[str] = []
    i = 0
    star = ".*" if cross_separators else "[^/]*"
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            if not cross_separators and pattern.startswith("/", i):
                out[-1] = "(?:.*/)?"
                i += 1
            continue
        if char == "*":
            out.append(star)
        elif char == "?":
            out.append("." if cross_separators else "[^/]")
        elif char == "[" and (end := pattern.find("]", i + 2)) != -1:
            out.append(_char_class(pattern[i + 1 : end], strict_ranges=strict_ranges))
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _char_class(body: str, *, strict_ranges: bool) -> str:
    """A glob's ``[...]`` body as a regex class: ``!`` negates, ``-`` makes ranges."""
    negated = body.startswith("!")
    if negated:
        body = body[1:]
    items: list[str] = []
    index = 0
    while index < len(body):
        if index + 2 < len(body) and body[index + 1] == "-":
            low, high = body[index], body[index + 2]
            if low <= high or strict_ranges:
                items.append(f"{re.escape(low)}-{re.escape(high)}")
            index += 3
        else:
            items.append(re.escape(body[index]))
            index += 1
    if not items:
        return "[^/]" if negated else "(?!)"
    return "[" + ("^" if negated else "") + "".join(items) + "]"


def compile_globs(
    patterns: Iterable[str],
    *,
    cross_separators: bool,
    what: str,
    source: Path | None,
    error: type[NoxWorkspaceError] = DiscoveryError,
    strict_ranges: bool = True,
) -> re.Pattern[str] | None:
    """One regular expression for ``patterns`` (``None`` for none); a bad one is one line.

    ``what`` names the setting and ``source`` its file, for the error: a character class
    such as ``[z-a]`` has no valid translation.
    """
    kept = list(patterns)
    if not kept:
        return None
    body = "|".join(
        f"(?:{glob_regex(pattern, cross_separators=cross_separators, strict_ranges=strict_ranges)})"
        for pattern in kept
    )
    try:
        return re.compile(body, re.DOTALL)
    except re.error as problem:
        raise error(
            f"{what} holds an invalid glob ({problem.msg}) in {kept!r}",
            path=source,
            hint="fix the character class: a range goes from the lower character to the higher",
        ) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class PathMatcher:
    """Globs over ``/``-separated paths relative to the workspace root (``global``, ``paths``).

    ``*`` and ``?`` match within one folder, ``**`` across folders; a pattern that names a
    folder covers everything below it (``docs`` matches ``docs/index.md``). A path outside
    the root starts with ``../``.
    """

    patterns: tuple[str, ...]
    regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, patterns: Iterable[str], *, source: Path | None = None) -> PathMatcher:
        """Compile ``patterns`` once into one regular expression."""
        kept = tuple(dict.fromkeys(p for p in patterns if p.strip()))
        cleaned = [_strip(pattern) for pattern in kept]
        folders = [f"{pattern}/**" for pattern in cleaned]
        regex = compile_globs(
            (*cleaned, *folders),
            cross_separators=False,
            what="[tool.nox-workspace] global",
            source=source,
            error=ConfigError,
        )
        return cls(patterns=kept, regex=regex)

    def __call__(self, path: str) -> bool:
        return self.regex is not None and self.regex.fullmatch(path) is not None


def _strip(pattern: str) -> str:
    text = pattern.replace("\\", "/").strip()
    while text.startswith("./"):
        text = text[2:]
    return text.lstrip("/").rstrip("/")


def escape_glob(path: str) -> str:
    """``path`` as a glob that matches exactly that path."""
    return re.sub(r"([*?\[])", r"[\1]", path)


def exclude_matcher(root: Path, patterns: list[str], source: Path) -> re.Pattern[str] | None:
    """One regular expression matching the absolute paths that ``exclude`` removes."""
    for pattern in patterns:
        _refuse_invalid_glob(pattern, "tool.uv.workspace.exclude", source)
    return compile_globs(
        (normalize(root / pattern).as_posix() for pattern in patterns),
        cross_separators=True,
        what="tool.uv.workspace.exclude",
        source=source,
        strict_ranges=False,
    )


def holds_only_ignored_files(directory: Path) -> bool:
    """True when ``directory`` holds no file, or only files git ignores (uv skips those)."""
    repo = _git_root(directory)
    for dirpath, _dirnames, filenames in os.walk(directory):
        for filename in filenames:
            file = Path(dirpath) / filename
            if repo is None or not _ignored(file, repo):
                return False
    return True


def _git_root(path: Path) -> Path | None:
    for candidate in (path, *path.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


@cache
def _ignore_rules(directory: Path) -> tuple[tuple[bool, bool, bool, re.Pattern[str]], ...]:
    """Rules of one ``.gitignore``: (negated, directory only, anchored, regex)."""
    rules: list[tuple[bool, bool, bool, re.Pattern[str]]] = []
    sources = [directory / ".gitignore"]
    if (directory / ".git").is_dir():
        sources.append(directory / ".git" / "info" / "exclude")
    for source in sources:
        try:
            lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for raw in lines:
            line = raw.rstrip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            line = line[1:] if negated else line
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            anchored = "/" in line
            line = line.lstrip("/")
            regex = compile_globs(
                [line], cross_separators=False, what="a .gitignore rule", source=source
            )
            if regex is not None:
                rules.append((negated, dir_only, anchored, regex))
    return tuple(rules)


def _ignored(file: Path, repo: Path) -> bool:
    """Whether git ignores ``file`` by the ``.gitignore`` files from ``repo`` down to it."""
    parts = file.relative_to(repo).parts
    for depth in range(1, len(parts) + 1):
        is_dir = depth < len(parts)
        ignored = False
        for level in range(depth):
            rules = _ignore_rules(repo.joinpath(*parts[:level]))
            relative = "/".join(parts[level:depth])
            for negated, dir_only, anchored, regex in rules:
                if dir_only and not is_dir:
                    continue
                target = relative if anchored else parts[depth - 1]
                if regex.fullmatch(target):
                    ignored = not negated
        if ignored:
            return True
    return False
