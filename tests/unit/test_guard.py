"""The import guard's decisions, in this process and without pytest's plugin machinery.

The guard is called the way Python calls ``builtins.__import__``; where the real import
statement matters (a module already in ``sys.modules``), the guard is installed around a
piece of code compiled as if it lived in the member's folder.
"""

from __future__ import annotations

import builtins
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

import pytest

from nox_workspace.guard import GuardedImportError, ImportGuard, top_level_distributions


def make_guard(
    tmp_path: Path,
    *,
    allowed: Sequence[str] = ("b", "beta"),
    distributions: Mapping[str, Sequence[str]] | None = None,
    members: Mapping[str, str] | None = None,
) -> tuple[ImportGuard, list[str]]:
    """A guard for member ``b`` whose folder is ``tmp_path / "b"``; the imports it let
    through are recorded instead of made."""
    made: list[str] = []

    def record(name: str, *args: Any) -> str:
        made.append(name)
        return name

    guard = ImportGuard(
        member="b",
        allowed=frozenset(allowed),
        judged=(os.path.join(tmp_path / "b", ""),),
        distributions=lambda: distributions or {"alpha": ["Alpha"], "beta": ["beta"]},
        members=members or {},
        brought_by=lambda dist: ("a",) if dist == "alpha" else (),
    )
    guard._original = record
    return guard, made


def from_file(path: Path) -> dict[str, Any]:
    return {"__file__": str(path), "__name__": "m"}


def test_member_code_cannot_import_a_distribution_outside_its_closure(tmp_path: Path) -> None:
    """From the member's folder, ``import alpha.sub`` fails as a missing module would, and
    the message names the distribution, who brings it and the fix."""
    guard, made = make_guard(tmp_path)
    test_file = tmp_path / "b" / "tests" / "test_b.py"
    with pytest.raises(GuardedImportError) as raised:
        guard("alpha.sub", from_file(test_file))
    assert isinstance(raised.value, ModuleNotFoundError)
    message = str(raised.value)
    assert message.startswith(f"{test_file}: b's code imports alpha (distribution alpha")
    assert "a brings it here" in message
    assert "fix: add alpha to b's dependencies or test group, then run `uv lock`" in message
    assert made == []


def test_what_the_closure_the_stdlib_and_the_runner_hold_passes(tmp_path: Path) -> None:
    """Allowed: a locked distribution, the standard library, pytest, relative imports."""
    guard, made = make_guard(tmp_path, distributions={"beta": ["beta"], "_pytest": ["pytest"]})
    globals_ = from_file(tmp_path / "b" / "src" / "b" / "__init__.py")
    for name in ("beta", "json", "_pytest.assertion"):
        guard(name, globals_)
    guard("sibling", globals_, None, (), 1)
    assert made == ["beta", "json", "_pytest.assertion", "sibling"]


def test_imports_by_other_code_are_not_judged(tmp_path: Path) -> None:
    """A library's own ``try: import alpha`` is not the member's import: it passes, as do
    imports without a file (the interactive prompt, ``exec``)."""
    guard, made = make_guard(tmp_path)
    guard("alpha", from_file(tmp_path / "site-packages" / "optlib" / "__init__.py"))
    guard("alpha", {"__name__": "__main__"})
    guard("alpha", None)
    assert made == ["alpha", "alpha", "alpha"]


def test_collected_test_files_outside_the_member_are_judged(tmp_path: Path) -> None:
    """Tests kept at the workspace root (``tests/b``) are the member's once pytest collects
    them for it."""
    guard, _ = make_guard(tmp_path)
    test_file = tmp_path / "tests" / "b" / "test_x.py"
    guard.test_files.add(str(test_file))
    with pytest.raises(GuardedImportError):
        guard("alpha", from_file(test_file))


def test_a_sibling_member_installed_editable_is_found_by_its_folder(tmp_path: Path) -> None:
    """An editable member's files are listed in no RECORD: its module is traced to the
    member folder it lives in, without being imported."""
    source = tmp_path / "a" / "src"
    (source / "a_mod").mkdir(parents=True)
    (source / "a_mod" / "__init__.py").write_text("raise RuntimeError('must not run')\n")
    guard, _ = make_guard(tmp_path, members={os.path.join(tmp_path / "a", ""): "a"})
    sys.path.insert(0, str(source))
    try:
        with pytest.raises(GuardedImportError, match="imports a_mod \\(distribution a\\)"):
            guard("a_mod", from_file(tmp_path / "b" / "tests" / "test_b.py"))
        guard("not_anywhere", from_file(tmp_path / "b" / "tests" / "test_b.py"))
    finally:
        sys.path.remove(str(source))


def test_installed_guard_sees_modules_already_imported_elsewhere(tmp_path: Path) -> None:
    """``packaging`` is in ``sys.modules`` already (imported by other code); an ``import``
    statement in the member's file still fails, and the guard goes away on uninstall."""
    assert "packaging" in sys.modules
    guard = ImportGuard(
        member="b",
        allowed=frozenset({"b"}),
        judged=(os.path.join(tmp_path / "b", ""),),
        distributions=lambda: {"packaging": ["packaging"]},
        members={},
        brought_by=lambda dist: (),
    )
    code = compile("import packaging", str(tmp_path / "b" / "m.py"), "exec")
    original = builtins.__import__
    guard.install()
    try:
        with pytest.raises(GuardedImportError, match=r"nothing in uv\.lock brings it"):
            exec(code, from_file(tmp_path / "b" / "m.py"))
    finally:
        guard.uninstall()
    assert builtins.__import__ is original
    exec(code, from_file(tmp_path / "b" / "m.py"))


def test_top_level_map_is_what_importlib_metadata_answers() -> None:
    """The fast reading agrees with ``packages_distributions()`` on this very environment
    (names normalized; each distribution counted once); it may add top-level modules that
    are compiled extensions only."""
    from importlib.metadata import packages_distributions

    from packaging.utils import canonicalize_name

    expected = {
        top: sorted({canonicalize_name(name) for name in names})
        for top, names in packages_distributions().items()
    }
    ours = {top: sorted(set(names)) for top, names in top_level_distributions().items()}
    assert {top: ours.get(top) for top in expected} == expected
    for top in ours.keys() - expected.keys():
        spec = importlib.util.find_spec(top)
        assert spec is not None
        assert spec.origin is not None
        assert spec.origin.endswith(tuple(EXTENSION_SUFFIXES)), top
