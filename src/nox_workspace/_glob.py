"""Path globs with the semantics uv uses for ``members``, ``exclude`` and ``.gitignore``.

uv expands ``members`` with Rust's ``glob`` crate: ``*`` and ``?`` match within one path
component and also match names that start with a dot, ``[...]`` is a class, ``**`` matches any
number of directories (at the end: every directory below), symbolic links are followed.
``exclude`` patterns are matched against a member's whole path, where ``*`` also crosses
``/``. A directory a glob matches that has no ``pyproject.toml`` is skipped when it is hidden
or holds only git-ignored files.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from nox_workspace._errors import DiscoveryError

__all__ = ["exclude_matcher", "expand_members", "holds_only_ignored_files", "normalize"]

_MAGIC = re.compile(r"[*?\[]")


def normalize(path: Path | str) -> Path:
    """Make ``path`` absolute and remove ``.`` and ``..`` textually, as uv does (no symlinks)."""
    return Path(os.path.normpath(os.path.abspath(path)))


def expand_members(root: Path, pattern: str, source: Path) -> list[Path]:
    """Return the directories below ``root`` that the ``members`` glob ``pattern`` matches.

    Files are left out: uv ignores a file a glob matches. ``source`` names the
    ``pyproject.toml`` the pattern came from, for error messages.
    """
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
    for child in _subdirs(base, seen, pattern, source):
        # uv's glob matches a pattern against a name only when the name is valid UTF-8;
        # ``**`` walks into any folder (checked with uv 0.13.9).
        if _is_utf8(child.name) and (part == "*" or fnmatch.fnmatchcase(child.name, part)):
            yield from _walk(child, parts, index + 1, seen, pattern, source, known_dir=True)


def _is_utf8(name: str) -> bool:
    """Whether a file name was valid UTF-8 (else Python holds its bytes as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _real(path: Path) -> str:
    return os.path.realpath(path)


def _subdirs(base: Path, seen: tuple[str, ...], pattern: str, source: Path) -> list[Path]:
    """The directories in ``base`` (following links), sorted; a link back up is an error."""
    try:
        entries = sorted(os.scandir(base), key=lambda entry: entry.name)
    except OSError:
        return []
    children = []
    for entry in entries:
        try:
            if not entry.is_dir():
                continue
        except OSError:
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
def _glob_regex(pattern: str, *, cross_separators: bool) -> re.Pattern[str]:
    """Translate a glob to a regular expression; ``*`` crosses ``/`` when asked (uv's exclude)."""
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
        elif char == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))


def exclude_matcher(root: Path, patterns: list[str]) -> re.Pattern[str] | None:
    """One regular expression matching the absolute paths that ``exclude`` removes."""
    if not patterns:
        return None
    regexes = [
        _glob_regex(normalize(root / pattern).as_posix(), cross_separators=True).pattern
        for pattern in patterns
    ]
    return re.compile("|".join(f"(?:{regex})" for regex in regexes))


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
            rules.append((negated, dir_only, anchored, _glob_regex(line, cross_separators=False)))
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
