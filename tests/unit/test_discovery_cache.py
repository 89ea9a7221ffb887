"""The parse cache of discovery in ``.nox/``: it saves parsing, and never serves a stale table.

Each test compares a discovery through the cache with one without it; what counts as "read
from the file" is observed by wrapping the module's one file reader.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from nox_workspace import DiscoveryError, _workspace
from nox_workspace._workspace import CACHE_NAME, discover
from tests.support import member_toml, write_tree


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": """
                [tool.uv.workspace]
                members = ["packages/*"]
            """,
            "packages/alpha/pyproject.toml": member_toml("alpha", requires_python=">=3.10"),
            "packages/beta/pyproject.toml": member_toml("beta"),
        },
    )
    (tmp_path / ".nox").mkdir()
    return tmp_path


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files discovery parses from disk (not from the cache), in order."""
    seen: list[Path] = []
    original = _workspace._read_toml

    def spy(path: Path) -> dict[str, Any] | None:
        seen.append(path)
        return original(path)

    monkeypatch.setattr(_workspace, "_read_toml", spy)
    return seen


def age_cache(root: Path) -> None:
    """Date the cache 3 s after the newest change of any file it holds, as if the files had
    been left alone for a while before it was written (the racy window is 2 s)."""
    newest = max(
        max(info.st_mtime_ns, info.st_ctime_ns)
        for info in (path.stat() for path in root.rglob("pyproject.toml"))
    )
    later = newest + 3_000_000_000
    os.utime(root / ".nox" / CACHE_NAME, ns=(later, later))


def cached(root: Path) -> _workspace.Workspace:
    return discover(root, cache=root / ".nox")


def test_unchanged_files_are_not_parsed_again(root: Path, reads: list[Path]) -> None:
    """The second discovery parses no file and finds the same workspace as without a cache."""
    first = cached(root)
    assert len(reads) == 3
    age_cache(root)
    reads.clear()
    assert cached(root) == first
    assert reads == [], "the cache was not used"
    assert discover(root) == first
    assert reads == [root / "pyproject.toml", *sorted(root.glob("packages/*/pyproject.toml"))]


def test_same_size_edit_with_the_old_mtime_is_seen(root: Path, reads: list[Path]) -> None:
    """An edit that keeps the size and puts the old mtime_ns back still changes the ctime."""
    cached(root)
    member = root / "packages/alpha/pyproject.toml"
    before = member.stat()
    text = member.read_text()
    edited = text.replace(">=3.10", ">=3.12")
    assert len(edited) == len(text)
    assert edited != text
    member.write_text(edited)
    os.utime(member, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert member.stat().st_size == before.st_size
    assert member.stat().st_mtime_ns == before.st_mtime_ns
    age_cache(root)
    reads.clear()
    assert cached(root).member("alpha").requires_python == ">=3.12"
    assert reads == [member]


def test_a_file_changed_just_before_the_cache_was_written_is_read_again(
    root: Path, reads: list[Path]
) -> None:
    """Within 2 s of the cache's own write, a timestamp cannot rule out a same-size edit."""
    cached(root)
    reads.clear()
    cached(root)
    assert len(reads) == 3


def test_a_cache_dated_in_the_future_is_not_trusted(root: Path, reads: list[Path]) -> None:
    """After the clock went back, file times cannot prove that a file is unchanged."""
    cached(root)
    future = time.time_ns() + 3600 * 1_000_000_000
    os.utime(root / ".nox" / CACHE_NAME, ns=(future, future))
    reads.clear()
    cached(root)
    assert len(reads) == 3


def test_a_member_folder_added_or_removed_is_seen(root: Path) -> None:
    cached(root)
    age_cache(root)
    write_tree(root, {"packages/gamma/pyproject.toml": member_toml("gamma")})
    assert cached(root).names == ("alpha", "beta", "gamma") == discover(root).names
    age_cache(root)
    for path in sorted((root / "packages/beta").iterdir(), reverse=True):
        path.unlink()
    (root / "packages/beta").rmdir()
    assert cached(root).names == ("alpha", "gamma") == discover(root).names


def test_a_pyproject_removed_from_a_member_folder_is_still_an_error(root: Path) -> None:
    cached(root)
    age_cache(root)
    (root / "packages/beta/pyproject.toml").unlink()
    (root / "packages/beta/README.md").write_text("no project here\n")
    with pytest.raises(DiscoveryError, match=r"has no pyproject\.toml"):
        cached(root)


@pytest.mark.parametrize(
    "content", [b"", b"garbage", b"\xe3\x02\x00\x00\x00", b"\xa9\x02\xda\x01a\xda\x01b"]
)
def test_a_damaged_cache_is_ignored_and_replaced(
    root: Path, reads: list[Path], content: bytes
) -> None:
    (root / ".nox" / CACHE_NAME).write_bytes(content)
    assert cached(root) == discover(root)
    assert len(reads) == 6
    assert (root / ".nox" / CACHE_NAME).read_bytes() != content


def test_no_cache_folder_means_no_file_written(tmp_path: Path, root: Path) -> None:
    """The cache goes only into a folder that exists (Nox creates ``.nox/``), nowhere else."""
    (root / ".nox").rmdir()
    before = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*"))
    assert cached(root) == discover(root)
    assert sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*")) == before


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only folders"
)
def test_a_read_only_cache_folder_is_left_alone(root: Path) -> None:
    folder = root / ".nox"
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert cached(root) == discover(root)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(stat.S_IRWXU)


def test_only_the_files_of_this_workspace_are_kept(root: Path, tmp_path_factory: Any) -> None:
    """A cache shared by two workspaces keeps the last one's files (it never grows)."""
    other = tmp_path_factory.mktemp("other")
    write_tree(
        other,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["m"]\n',
            "m/pyproject.toml": member_toml("m"),
        },
    )
    cached(root)
    size = (root / ".nox" / CACHE_NAME).stat().st_size
    discover(other, cache=root / ".nox")
    assert (root / ".nox" / CACHE_NAME).stat().st_size < size
