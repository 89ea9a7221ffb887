"""Path globs: the one translator, uv's glob syntax, the ``global`` matcher and path owners."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nox_workspace import ConfigError, DiscoveryError
from nox_workspace._glob import (
    PathMatcher,
    clean_relpath,
    compile_globs,
    escape_glob,
    glob_regex,
    member_folders,
    owner,
    uv_glob_error,
)


@pytest.mark.parametrize(
    ("pattern", "path", "cross", "matches"),
    [
        ("a/*", "a/b", False, True),
        ("a/*", "a/b/c", False, False),
        ("a/*", "a/b/c", True, True),  # exclude: `*` crosses `/`
        ("a/?", "a/b", False, True),
        ("**/x", "x", False, True),
        ("**/x", "a/b/x", False, True),
        ("a/[bc]", "a/c", False, True),
        ("a/[!bc]", "a/c", False, False),
        ("a/[!bc]", "a/d", False, True),
        ("a/[b-d]", "a/c", False, True),
        ("a/[.]", "a/.", False, True),  # class characters are literal
        ("a/[.]", "a/x", False, False),
        ("a/[\\]", "a/\\", False, True),  # a backslash in a class is a backslash
        ("a/[]]", "a/]", False, True),  # `]` first in a class is a character of it
        ("a/[b", "a/[b", False, True),  # no `]`: a plain `[`
        ("a.b", "aXb", False, False),  # `.` is literal
    ],
)
def test_one_translator(pattern: str, path: str, cross: bool, matches: bool) -> None:
    regex = re.compile(glob_regex(pattern, cross_separators=cross))
    assert (regex.fullmatch(path) is not None) is matches


def test_a_reversed_range_matches_nothing_as_in_uv() -> None:
    lenient = re.compile(glob_regex("a/[z-a]", cross_separators=False, strict_ranges=False))
    assert lenient.fullmatch("a/m") is None
    negated = re.compile(glob_regex("a/[!z-a]", cross_separators=False, strict_ranges=False))
    assert negated.fullmatch("a/m") is not None


def test_a_reversed_range_is_one_line_where_it_is_strict(tmp_path: Path) -> None:
    """``.gitignore`` and ``global`` keep ranges strict: a bad one names the file, no re.error."""
    with pytest.raises(DiscoveryError) as caught:
        compile_globs(["[z-a]"], cross_separators=False, what="a .gitignore rule", source=tmp_path)
    assert str(caught.value).startswith(f"{tmp_path}: a .gitignore rule holds an invalid glob")
    with pytest.raises(ConfigError, match="global holds an invalid glob"):
        PathMatcher.of(["ci/[z-a]"])


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("p/*", None),
        ("p/**", None),
        ("**/p", None),
        ("p/**/q", None),
        ("p/[]]", None),
        ("p/[!]]", None),
        ("p/[z-a]", None),
        ("p/***", "wildcards are either regular `*` or recursive `**`"),
        ("p/a**", "recursive wildcards must form a single path component"),
        ("p/**a", "recursive wildcards must form a single path component"),
        ("p/[a", "invalid range pattern"),
        ("p/[]", "invalid range pattern"),
        ("p/[!]", "invalid range pattern"),
    ],
)
def test_uv_glob_syntax(pattern: str, problem: str | None) -> None:
    """The patterns uv 0.13.9 refuses in ``members``/``exclude`` (see the conformance test)."""
    assert uv_glob_error(pattern) == problem


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("noxfile.py", "noxfile.py", True),
        ("noxfile.py", "packages/a/noxfile.py", False),
        ("*.txt", "constraints.txt", True),
        ("*.txt", "ci/constraints.txt", False),
        ("**/*.txt", "ci/deep/constraints.txt", True),
        (".github", ".github/workflows/ci.yml", True),
        ("ci/", "ci/run.sh", True),
        ("./ci/*.sh", "ci/run.sh", True),
        ("req[!0-9].txt", "req1.txt", False),
        ("../shared/**", "../shared/x", True),
    ],
)
def test_global_globs(pattern: str, path: str, matches: bool) -> None:
    assert PathMatcher.of([pattern])(path) is matches


def test_escape_glob_matches_exactly_that_path() -> None:
    name = "odd[1]*?.py"
    assert PathMatcher.of([escape_glob(name)])(name)
    assert not PathMatcher.of([escape_glob(name)])("odd1x.py")


@pytest.mark.parametrize(
    ("path", "holder"),
    [
        ("libs/a/x.py", "a"),
        ("libs/a/inner/x.py", "inner"),  # the longest folder wins
        ("libs/ab/x.py", "root"),  # a prefix of a name is not a folder
        ("README.md", "root"),
        ("../outside.py", None),  # the root member holds nothing outside the root
    ],
)
def test_owner_is_the_longest_folder(path: str, holder: str | None) -> None:
    folders = member_folders({"a": "libs/a", "inner": "./libs/a/inner/", "root": "."})
    assert owner(path, folders) == holder


def test_clean_relpath() -> None:
    assert clean_relpath("./a/b/") == "a/b"
    assert clean_relpath("./") == "."
