"""Discovery agrees with ``uv workspace list --paths`` on every rule uv applies.

Each case builds a workspace in ``tmp_path``; where uv accepts it, our members (as paths)
must equal uv's; where uv refuses it, we must refuse it too, with one line.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from nox_workspace import DiscoveryError
from nox_workspace._workspace import discover
from tests.support import run_uv, write_tree

pytestmark = pytest.mark.functional

ROOT = '[tool.uv.workspace]\nmembers = ["packages/*"]\n'


def project(name: str, extra: str = "") -> str:
    return f'[project]\nname = "{name}"\nversion = "0.1.0"\n{extra}'


def uv_members(root: Path, env: dict[str, str]) -> tuple[int, set[Path]]:
    proc = run_uv(["workspace", "list", "--paths"], root, env, check=False)
    paths = {Path(os.path.normpath(line)) for line in proc.stdout.splitlines() if line.strip()}
    return proc.returncode, paths


def assert_agrees(root: Path, env: dict[str, str]) -> None:
    code, expected = uv_members(root, env)
    assert code == 0, "uv refused a workspace the test expects it to accept"
    assert {member.path for member in discover(root).members} == expected


def assert_both_refuse(root: Path, env: dict[str, str], fragment: str) -> None:
    code, _ = uv_members(root, env)
    assert code != 0, "uv accepted a workspace the test expects it to refuse"
    with pytest.raises(DiscoveryError) as caught:
        discover(root)
    message = str(caught.value)
    assert "\n" not in message
    assert fragment in message


CASES_ACCEPTED: dict[str, dict[str, str | bytes]] = {
    "virtual root, two members": {
        "pyproject.toml": ROOT,
        "packages/a/pyproject.toml": project("a"),
        "packages/b/pyproject.toml": project("b"),
    },
    "root that is a member": {
        "pyproject.toml": project("root") + ROOT,
        "packages/a/pyproject.toml": project("a"),
    },
    "exclude, where * also crosses /": {
        "pyproject.toml": (
            '[tool.uv.workspace]\nmembers = ["p/*", "p/*/*", "q/*"]\nexclude = ["p/*"]\n'
        ),
        "p/a/pyproject.toml": project("a"),
        "p/a/b/pyproject.toml": project("b"),
        "q/c/pyproject.toml": project("c"),
    },
    "hidden directory with and without pyproject.toml": {
        "pyproject.toml": ROOT,
        "packages/.hidden/pyproject.toml": project("hidden"),
        "packages/.cache/x.txt": "x",
        "packages/a/pyproject.toml": project("a"),
    },
    "a file matched by a glob": {
        "pyproject.toml": ROOT,
        "packages/README.md": "hello",
        "packages/a/pyproject.toml": project("a"),
    },
    "a glob that matches nothing": {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["nothing/*"]\n',
    },
    "a member outside the root": {
        "root/pyproject.toml": '[tool.uv.workspace]\nmembers = ["../outside"]\n',
        "outside/pyproject.toml": project("outside"),
    },
    "byte-order mark and CRLF": {
        "pyproject.toml": b'\xef\xbb\xbf[tool.uv.workspace]\r\nmembers = ["packages/*"]\r\n',
        "packages/a/pyproject.toml": b'\xef\xbb\xbf[project]\r\nname = "a"\r\nversion = "1"\r\n',
    },
    "managed = false drops a member": {
        "pyproject.toml": ROOT,
        "packages/a/pyproject.toml": project("a"),
        "packages/b/pyproject.toml": project("b", "[tool.uv]\nmanaged = false\n"),
    },
    "a folder holding only empty folders": {
        "pyproject.toml": ROOT,
        "packages/a/pyproject.toml": project("a"),
        "packages/empty/sub/.keep/": "",
    },
    "recursive ** and character classes": {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["libs/**/pkg", "apps/[ab]*"]\n',
        "libs/pkg/pyproject.toml": project("top"),
        "libs/x/y/pkg/pyproject.toml": project("deep"),
        "apps/alpha/pyproject.toml": project("alpha"),
        "apps/cat/pyproject.toml": project("cat"),
    },
    "duplicate globs and ./ prefixes": {
        "pyproject.toml": project("r")
        + '[tool.uv.workspace]\nmembers = [".", "p/a/", "./p/a", "p/*"]\nexclude = ["./p/b"]\n',
        "p/a/pyproject.toml": project("a"),
        "p/b/pyproject.toml": project("b"),
    },
    "no members key": {
        "pyproject.toml": project("solo") + "[tool.uv.workspace]\n",
    },
}


@pytest.mark.parametrize("files", list(CASES_ACCEPTED.values()), ids=list(CASES_ACCEPTED))
def test_members_equal_uv_workspace_list(
    tmp_path: Path, env: dict[str, str], files: dict[str, str | bytes]
) -> None:
    """Where uv accepts a workspace, our member paths are exactly uv's."""
    write_tree(tmp_path, {k: v for k, v in files.items() if not k.endswith("/")})
    for key in files:
        if key.endswith("/"):
            (tmp_path / key).mkdir(parents=True, exist_ok=True)
    root = tmp_path / "root" if (tmp_path / "root").is_dir() else tmp_path
    assert_agrees(root, env)


def test_folder_of_git_ignored_files_is_skipped(tmp_path: Path, env: dict[str, str]) -> None:
    """A matched folder holding only git-ignored files is not a member, as in uv."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": ROOT,
            ".gitignore": "__pycache__/\n*.pyc\n",
            "packages/a/pyproject.toml": project("a"),
            "packages/old/__pycache__/mod.cpython-311.pyc": "x",
            "packages/old/stale.pyc": "x",
        },
    )
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    assert_agrees(tmp_path, env)


CASES_REFUSED: dict[str, tuple[dict[str, str | bytes], str]] = {
    "member folder without pyproject.toml": (
        {"pyproject.toml": ROOT, "packages/a/src/a.py": "x = 1\n"},
        "has no pyproject.toml",
    ),
    "pyproject.toml without [project]": (
        {"pyproject.toml": ROOT, "packages/a/pyproject.toml": "[tool.black]\n"},
        "no [project] table",
    ),
    "[project] without a name": (
        {"pyproject.toml": ROOT, "packages/a/pyproject.toml": '[project]\nversion = "1"\n'},
        "has no name",
    ),
    "names equal after normalization": (
        {
            "pyproject.toml": ROOT,
            "packages/a/pyproject.toml": project("Foo_Bar"),
            "packages/b/pyproject.toml": project("foo-bar"),
        },
        "both named 'foo-bar'",
    ),
    "nested workspace": (
        {
            "pyproject.toml": ROOT,
            "packages/a/pyproject.toml": project("a", "[tool.uv.workspace]\nmembers = []\n"),
        },
        "nested workspaces",
    ),
    "invalid TOML": (
        {"pyproject.toml": ROOT, "packages/a/pyproject.toml": "[project\nname = 'a'\n"},
        "invalid TOML",
    ),
    "not UTF-8": (
        {"pyproject.toml": ROOT, "packages/a/pyproject.toml": b'[project]\nname = "\xff"\n'},
        "not valid UTF-8",
    ),
}


@pytest.mark.parametrize(
    ("files", "fragment"), list(CASES_REFUSED.values()), ids=list(CASES_REFUSED)
)
def test_refused_where_uv_refuses(
    tmp_path: Path, env: dict[str, str], files: dict[str, str | bytes], fragment: str
) -> None:
    """Where uv refuses a workspace we refuse it too, with one line naming the problem."""
    write_tree(tmp_path, files)
    assert_both_refuse(tmp_path, env, fragment)


def test_symlink_loop_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    """A symbolic link back up the tree under ``**`` is an error, not an endless walk."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["p/**"]\n',
            "p/a/pyproject.toml": project("a"),
        },
    )
    (tmp_path / "p" / "a" / "loop").symlink_to("..")
    assert_both_refuse(tmp_path, env, "")


def globbed(members: str, exclude: str = "") -> dict[str, str | bytes]:
    """A virtual root with these ``members`` (and ``exclude``) globs, and member ``p/a``."""
    root = f"[tool.uv.workspace]\nmembers = [{json.dumps(members)}]\n"
    if exclude:
        root += f"exclude = [{json.dumps(exclude)}]\n"
    return {"pyproject.toml": root, "p/a/pyproject.toml": project("a")}


@pytest.mark.parametrize(
    ("members", "exclude", "fragment"),
    [
        ("p/[a", "", "invalid range pattern"),
        ("p/[]", "", "invalid range pattern"),
        ("p/[!]", "", "invalid range pattern"),
        ("p/***", "", "wildcards are either regular `*` or recursive `**`"),
        ("p/a**", "", "recursive wildcards must form a single path component"),
        ("p/**a", "", "recursive wildcards must form a single path component"),
        ("p/*", "p/[a", "tool.uv.workspace.exclude holds an invalid glob"),
        ("p/*", "p/a***", "wildcards are either regular `*` or recursive `**`"),
    ],
)
def test_a_glob_uv_cannot_parse_is_refused(
    tmp_path: Path, env: dict[str, str], members: str, exclude: str, fragment: str
) -> None:
    """uv's glob parser refuses these patterns; discovery refuses them with one line."""
    write_tree(tmp_path, globbed(members, exclude))
    assert_both_refuse(tmp_path, env, fragment)


@pytest.mark.parametrize(
    ("members", "exclude"),
    [
        ("p/[z-a]", ""),  # a reversed range matches nothing
        ("p/[]a]", ""),  # `]` first in a class is a character of it
        ("p/*", "p/[z-a]"),
        ("p/*", "p/[!z-a]"),
        ("p/[a-]", ""),
        ("p/[\\]", ""),
    ],
)
def test_odd_character_classes_agree_with_uv(
    tmp_path: Path, env: dict[str, str], members: str, exclude: str
) -> None:
    """Classes uv accepts give its members, without a regular-expression error."""
    write_tree(tmp_path, globbed(members, exclude))
    assert_agrees(tmp_path, env)


@pytest.mark.parametrize(
    ("members", "link", "target"),
    [
        ("p/*", "b", "missing"),  # dangling
        ("p/*", ".b", "missing"),  # hidden and dangling: refused before the hidden rule
        ("p/b", "b", "missing"),  # a literal path
        ("p/*", "b", "b"),  # a link to itself: a loop
    ],
)
def test_a_link_the_glob_matches_but_cannot_follow_is_refused(
    tmp_path: Path, env: dict[str, str], members: str, link: str, target: str
) -> None:
    write_tree(tmp_path, globbed(members))
    (tmp_path / "p" / link).symlink_to(target)
    assert_both_refuse(tmp_path, env, "a symbolic link that cannot be followed")


@pytest.mark.parametrize("members", ["p/a*", "p/**"])
def test_a_broken_link_the_glob_does_not_match_is_ignored(
    tmp_path: Path, env: dict[str, str], members: str
) -> None:
    """uv only stops at a broken link its glob matches; ``**`` matches folders only."""
    write_tree(tmp_path, globbed(members))
    (tmp_path / "p" / "b").symlink_to("missing")
    (tmp_path / "p" / "a" / "dl").symlink_to("missing")
    assert_agrees(tmp_path, env)


def test_project_outside_enclosing_workspace_stands_alone(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """A project the enclosing workspace does not include is a workspace of its own."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["p/a"]\n',
            "p/a/pyproject.toml": project("a"),
            "p/z/pyproject.toml": project("z"),
        },
    )
    assert_agrees(tmp_path / "p" / "z", env)
    assert discover(tmp_path / "p" / "z").names == ("z",)


def test_from_a_subfolder_finds_the_root(tmp_path: Path, env: dict[str, str]) -> None:
    """From a member or a plain folder below the root, discovery finds the same root as uv."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": ROOT,
            "packages/a/pyproject.toml": project("a"),
            "docs/guide/index.md": "x",
        },
    )
    for start in (tmp_path / "packages" / "a", tmp_path / "docs" / "guide"):
        assert_agrees(start, env)
        assert discover(start).root == tmp_path


def test_no_workspace_anywhere(tmp_path: Path) -> None:
    """A folder with no project above it gets one line that says what to do."""
    with pytest.raises(DiscoveryError, match="run from inside a uv workspace"):
        discover(tmp_path)
