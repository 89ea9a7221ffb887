"""``init``'s pure parts: the table appended to the root ``pyproject.toml`` keeps every other
byte, and the generated noxfile follows what the workspace declares."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomlkit

from nox_workspace._errors import ConfigError
from nox_workspace._init import render_noxfile, with_table
from nox_workspace._workspace import discover
from tests.support import member_toml, write_tree

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "workspaces"
PYDANTIC_AI = SHARED / "pydantic-ai" / "pyproject.toml"
TABLE = {"global": ["noxfile.py", ".github/workflows/ci.yml"], "skip": True}


def appended(original: bytes) -> bytes:
    """The table ``with_table`` appends, checked to leave ``original`` as its prefix."""
    result = with_table(original, TABLE, Path("pyproject.toml"))
    assert result.startswith(original)
    return result[len(original) :]


def test_a_real_pyproject_keeps_every_byte_and_gains_the_table() -> None:
    """On pydantic-ai's root ``pyproject.toml`` (comments, arrays, many tables): the old bytes
    are a prefix of the new file, and the new file holds the old data plus the table."""
    if not PYDANTIC_AI.is_file():
        pytest.skip(f"no pydantic-ai workspace at {SHARED}")
    original = PYDANTIC_AI.read_bytes()
    added = appended(original)
    assert added.startswith(b"\n[tool.nox-workspace]")
    before = tomlkit.parse(original.decode()).unwrap()
    after = tomlkit.parse((original + added).decode()).unwrap()
    assert after["tool"].pop("nox-workspace") == TABLE
    assert after == before


def test_crlf_line_endings_are_kept_in_the_new_table() -> None:
    """A CRLF file stays CRLF throughout: no bare LF is introduced."""
    original = b'[project]\r\nname = "x"  # keep me\r\n\r\n[tool.uv]\r\npackage = false\r\n'
    result = original + appended(original)
    assert b"\n" not in result.replace(b"\r\n", b"")
    assert b'\r\nglobal = ["noxfile.py", ".github/workflows/ci.yml"]\r\nskip = true\r\n' in result


def test_a_byte_order_mark_and_a_missing_last_newline_are_handled() -> None:
    """The BOM stays first; a last line without a newline gets one before the table."""
    original = b'\xef\xbb\xbf[project]\nname = "x"'
    added = appended(original)
    assert added.startswith(b"\n\n[tool.nox-workspace]")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (b"[tool.nox-workspace]\nskip = false\n", "already has a [tool.nox-workspace] table"),
        (b"tool = { uv = { package = false } }\n", "cannot append a [tool.nox-workspace] table"),
    ],
)
def test_refuses_when_the_table_exists_or_cannot_be_appended(text: bytes, words: str) -> None:
    with pytest.raises(ConfigError, match=r"^pyproject\.toml: ") as raised:
        with_table(text, TABLE, Path("pyproject.toml"))
    assert words in str(raised.value)


def test_noxfile_uses_the_test_group_every_member_has_and_pytest_when_it_is_there(
    tmp_path: Path,
) -> None:
    """Members that all declare ``test`` with pytest: ``Sync(groups=["test"])`` and pytest.
    Without such a group: the default groups, and unittest."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["p/*"]\n',
            "p/a/pyproject.toml": member_toml("a", groups={"test": ["pytest>=8"]}),
            "p/b/pyproject.toml": member_toml("b", groups={"test": ["pytest", "alpha"]}),
        },
    )
    text = render_noxfile(discover(tmp_path))
    assert 'sync=Sync(groups=["test"])' in text
    assert 'session.run("python", "-m", "pytest", tests.name)' in text
    compile(text, "noxfile.py", "exec")
    (tmp_path / "p/b/pyproject.toml").write_text(member_toml("b"))
    text = render_noxfile(discover(tmp_path))
    assert "sync=Sync()" in text
    assert '"unittest", "discover"' in text
