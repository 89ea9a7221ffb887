"""``tests`` and ``paths`` in ``[tool.nox-workspace]``: parsed once, per member and per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from nox_workspace._errors import ConfigError
from nox_workspace._settings import parse_settings

SOURCE = Path("packages/graph/pyproject.toml")


def settings(table: dict[str, object]) -> object:
    return parse_settings({"tool": {"nox-workspace": table}}, SOURCE, is_root=False, is_member=True)


def test_tests_and_paths_default_to_nothing() -> None:
    parsed = parse_settings({}, SOURCE, is_root=False, is_member=True)
    assert parsed.tests("test") == ()
    assert parsed.paths("test") == ()


def test_a_session_layer_replaces_the_member_layer_for_that_session_only() -> None:
    parsed = parse_settings(
        {
            "tool": {
                "nox-workspace": {
                    "tests": ["../../tests/graph"],
                    "paths": ["../../tests/conftest.py"],
                    "sessions": {"slow": {"tests": ["../../tests/graph/slow"]}},
                }
            }
        },
        SOURCE,
        is_root=False,
        is_member=True,
    )
    assert parsed.tests("test") == ("../../tests/graph",)
    assert parsed.tests("slow") == ("../../tests/graph/slow",)
    assert parsed.paths("slow") == ("../../tests/conftest.py",)


@pytest.mark.parametrize(
    "value", ["tests/graph", [1], ["/abs/tests"], ["..\\tests"], ["C:/tests"], [""]]
)
def test_tests_must_be_relative_paths_written_with_slashes(value: object) -> None:
    with pytest.raises(ConfigError, match=r"tests .*relative") as caught:
        settings({"tests": value})
    assert str(SOURCE) in str(caught.value)


def test_a_virtual_root_may_not_declare_tests() -> None:
    with pytest.raises(ConfigError, match="member setting"):
        parse_settings(
            {"tool": {"nox-workspace": {"tests": ["tests"]}}}, SOURCE, is_root=True, is_member=False
        )


def test_the_root_may_declare_more_global_tables(tmp_path: Path) -> None:
    data = {"tool": {"nox-workspace": {"global-tables": ["tool.hatch", "tool.hatch"]}}}
    settings = parse_settings(data, tmp_path / "pyproject.toml", is_root=True, is_member=False)
    assert settings.global_tables == ("tool.hatch",)
    with pytest.raises(ConfigError, match="global-tables belongs in the workspace root"):
        parse_settings(data, tmp_path / "pyproject.toml", is_root=False, is_member=True)
    with pytest.raises(ConfigError, match="global-tables must be a list"):
        parse_settings(
            {"tool": {"nox-workspace": {"global-tables": "tool.hatch"}}},
            tmp_path / "pyproject.toml",
            is_root=True,
            is_member=False,
        )
