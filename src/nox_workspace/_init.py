"""``init``: adopt nox-workspace in an existing uv workspace with one command.

It writes three things, suited to what the workspace declares: a ``noxfile.py`` with a
member test session and a union, a CI workflow copied from the documented example
(``docs/ci/``, shipped in the wheel), and a ``[tool.nox-workspace]`` table appended to the
root ``pyproject.toml``. It never overwrites: when a file it would write exists (or the table
does), it refuses with one line and writes nothing; ``--dry-run`` prints the diff instead.

The root ``pyproject.toml`` keeps every byte outside the new table: the table is rendered by
``tomlkit`` and appended with the file's own line endings (and byte-order mark), and the
result is parsed again to prove it holds the old data plus the table and nothing else.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nox_workspace._errors import ConfigError, NoxWorkspaceError
from nox_workspace._toml import tomllib
from nox_workspace._workspace import Member, Workspace, discover

__all__ = ["CI_CHOICES", "Planned", "plan_init", "render_noxfile", "run_init", "with_table"]

#: ``--ci`` values, and where each workflow goes in the workspace.
CI_CHOICES: Mapping[str, str | None] = {
    "github": ".github/workflows/ci.yml",
    "gitlab": ".gitlab-ci.yml",
    "none": None,
}
#: The documented example each ``--ci`` value copies.
_CI_EXAMPLES = {"github": "github-actions.yml", "gitlab": "gitlab-ci.yml"}
#: More files a ``--ci`` value needs: the GitLab child pipeline includes the member job's
#: template from the repository (``matrix --gitlab-include``).
_CI_EXTRAS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "gitlab": ((".gitlab/nox-workspace-member.yml", "gitlab-member.yml"),),
}
#: Group names that hold test tools by convention; ``dev`` is a default group already.
_TEST_GROUPS = ("test", "tests", "testing")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """A file ``init`` writes: its path, its content before (``None``: new) and after."""

    path: Path
    before: bytes | None
    after: bytes

    def diff(self, root: Path) -> str:
        """A unified diff of the change, with paths relative to ``root``."""
        name = self.path.relative_to(root).as_posix()
        old = (self.before or b"").decode("utf-8-sig").splitlines(keepends=True)
        new = self.after.decode("utf-8-sig").splitlines(keepends=True)
        source = "/dev/null" if self.before is None else f"a/{name}"
        return "".join(difflib.unified_diff(old, new, source, f"b/{name}"))


# --------------------------------------------------------------------------------------------
# What the workspace declares


def _requirement_names(requirements: Sequence[str]) -> set[str]:
    return {
        re.split(r"[\s\[<>=!~;@(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")
        for requirement in requirements
    }


def _has_tests(member: Member) -> bool:
    return (member.path / "tests").is_dir() or (member.path / "test").is_dir()


def _tested(workspace: Workspace) -> list[Member]:
    """The members that get a session: all but a root member without a tests folder."""
    return [m for m in workspace.members if not (m.is_root and not _has_tests(m))]


def _test_group(workspace: Workspace, members: Sequence[Member]) -> str | None:
    """The conventional test group every tested member can use (its own or the root's)."""
    for group in _TEST_GROUPS:
        if members and all(
            group in m.dependency_groups or group in workspace.root_groups for m in members
        ):
            return group
    return None


def _uses_pytest(workspace: Workspace, members: Sequence[Member], group: str | None) -> bool:
    """Whether the groups the sessions install (``dev`` and the test group) bring pytest."""
    names = ("dev", group) if group else ("dev",)
    requirements: list[str] = []
    for member in members:
        for name in names:
            requirements += member.dependency_groups.get(name, ())
            requirements += workspace.root_groups.get(name, ())
    return "pytest" in _requirement_names(requirements)


# --------------------------------------------------------------------------------------------
# The files


_NOXFILE = '''"""Nox sessions for this uv workspace, written by `python -m nox_workspace init`.

`nox -l` lists them: `test-MEMBER` tests one member in a venv holding exactly its locked
closure (`uv sync --package MEMBER --exact --locked`), `all` tests every member together.
One session per Python of `requires-python` that is installed here.
"""

import nox

import nox_workspace
from nox_workspace import Sync, Target

#: The workspace's Pythons (inside `requires-python`) installed on this machine.
PYTHONS = nox_workspace.pythons()


@nox_workspace.session(python=PYTHONS, sync={sync}, union="all")
def test(session: nox.Session, target: Target) -> None:
    """Run each member's tests; a member without a tests folder is imported instead."""
    for member in target.members:
        folders = [member.path / name for name in ("tests", "test")]
        tests = next((folder for folder in folders if folder.is_dir()), None)
        if tests is None:
            if not member.virtual:
                session.run("python", "-c", f"import {{member.name.replace('-', '_')}}")
            continue
        if len(target.members) == 1:
            session.run({command})  # a member's session runs in its folder already
            continue
        with session.chdir(member.path):
            session.run({command})
'''


def render_noxfile(workspace: Workspace) -> str:
    """The ``noxfile.py`` text for ``workspace``: its test group, its test runner."""
    members = _tested(workspace)
    group = _test_group(workspace, members)
    sync = f'Sync(groups=["{group}"])' if group else "Sync()"
    if _uses_pytest(workspace, members, group):
        command = '"python", "-m", "pytest", tests.name'
    else:
        command = '"python", "-m", "unittest", "discover", "-s", tests.name'
    return _NOXFILE.format(sync=sync, command=command)


def _settings_table(workspace: Workspace, ci_path: str | None) -> dict[str, Any]:
    table: dict[str, Any] = {"global": ["noxfile.py", *([ci_path] if ci_path else [])]}
    root = workspace.root_member
    if root is not None and not _has_tests(root):
        table["skip"] = True
    return table


def with_table(original: bytes, table: Mapping[str, Any], source: Path) -> bytes:
    """``original`` (a ``pyproject.toml``) with ``[tool.nox-workspace]`` appended.

    Every byte of ``original`` is kept: the table is rendered by ``tomlkit``, written with the
    file's line endings after its last line, and the whole is parsed again to prove it is
    the old data plus the table. Raises :class:`ConfigError` when the table exists already or
    cannot be added (``tool`` written as an inline table, say).
    """
    import tomlkit

    bom = _BOM if original.startswith(_BOM) else b""
    text = original[len(bom) :].decode("utf-8")
    data = tomlkit.parse(text).unwrap()
    tool = data.get("tool")
    if isinstance(tool, dict) and "nox-workspace" in tool:
        raise ConfigError(
            "already has a [tool.nox-workspace] table",
            path=source,
            hint="init adds it only once; edit it by hand",
        )
    newline = "\r\n" if "\r\n" in text else "\n"
    document = tomlkit.document()
    settings = tomlkit.table()
    settings.comment("written by `python -m nox_workspace init`; see the settings reference")
    for key, value in table.items():
        settings.add(key, value)
    document.add("tool", tomlkit.table(is_super_table=True))
    document["tool"].add("nox-workspace", settings)
    rendered = tomlkit.dumps(document).replace("\n", newline)
    separator = "" if not text or text.endswith(("\n", "\r")) else newline
    blank = newline if text.strip() else ""
    result = text + separator + blank + rendered
    try:
        merged = tomlkit.parse(result).unwrap()
        tomllib.loads(result)
    except Exception as error:  # tomlkit and tomllib raise several kinds
        raise ConfigError(
            f"cannot append a [tool.nox-workspace] table ({error})",
            path=source,
            hint="add it by hand",
        ) from None
    expected = {
        **data,
        "tool": {**(tool if isinstance(tool, dict) else {}), "nox-workspace": dict(table)},
    }
    if merged != expected:
        raise ConfigError(
            "appending a [tool.nox-workspace] table would change other data",
            path=source,
            hint="add it by hand",
        )
    return bom + result.encode("utf-8")


def _ci_example(name: str) -> bytes:
    """The documented CI example: shipped in the wheel, or read from a source checkout."""
    from importlib.resources import files

    shipped = files("nox_workspace").joinpath("_ci").joinpath(name)
    if shipped.is_file():
        return shipped.read_bytes()
    checkout = Path(__file__).resolve().parents[2] / "docs" / "ci" / name
    try:
        return checkout.read_bytes()
    except OSError:
        raise NoxWorkspaceError(
            f"the CI example {name} is not installed with nox-workspace",
            hint="reinstall nox-workspace, or pass --ci none",
        ) from None


def plan_init(workspace: Workspace, ci: str) -> list[Planned]:
    """The files ``init`` writes in ``workspace``; refuses (one line) when one exists."""
    if ci not in CI_CHOICES:
        raise ConfigError(f"unknown --ci value {ci!r}", hint="use github, gitlab or none")
    root = workspace.root
    ci_path = CI_CHOICES[ci]
    planned: list[Planned] = []
    new_files: list[tuple[Path, bytes]] = [
        (root / "noxfile.py", render_noxfile(workspace).encode("utf-8"))
    ]
    if ci_path is not None:
        new_files.append((root / ci_path, _ci_example(_CI_EXAMPLES[ci])))
        for extra, example in _CI_EXTRAS.get(ci, ()):
            new_files.append((root / extra, _ci_example(example)))
    for path, content in new_files:
        if path.exists():
            raise ConfigError(
                "exists already; init never overwrites a file",
                path=path,
                hint="move it away, or run with --dry-run to see what init would write",
            )
        planned.append(Planned(path=path, before=None, after=content))
    original = workspace.pyproject.read_bytes()
    updated = with_table(original, _settings_table(workspace, ci_path), workspace.pyproject)
    planned.append(Planned(path=workspace.pyproject, before=original, after=updated))
    return planned


def _hints(workspace: Workspace) -> list[str]:
    members = _tested(workspace)
    lines = []
    if _test_group(workspace, members) is None:
        partial = sorted({g for m in members for g in m.dependency_groups if g in _TEST_GROUPS})
        for group in partial:
            having = [m.name for m in members if group in m.dependency_groups]
            lines.append(
                f"note: only {', '.join(having)} declare group {group!r}; to install it in "
                f'their sessions, add `groups = ["{group}"]` under [tool.nox-workspace] in '
                "their pyproject.toml"
            )
    return lines


def run_init(start: Path, ci: str = "github", dry_run: bool = False) -> str:
    """Write (or with ``dry_run`` show) what ``init`` plans; the text to print."""
    workspace = discover(start)
    planned = plan_init(workspace, ci)
    root = workspace.root
    if dry_run:
        return "".join(item.diff(root) for item in planned).rstrip("\n")
    for item in planned:
        item.path.parent.mkdir(parents=True, exist_ok=True)
        with open(item.path, "xb" if item.before is None else "wb") as handle:
            handle.write(item.after)
    lines = [
        ("added [tool.nox-workspace] to " if item.before is not None else "wrote ")
        + item.path.relative_to(root).as_posix()
        for item in planned
    ]
    lines += _hints(workspace)
    lines.append("next: `nox -l` lists the sessions; `nox -s test-MEMBER` runs one")
    return "\n".join(lines)
