"""A workspace with a noxfile that uses nox-workspace, and a way to run the real nox on it.

The noxfile's session body records what its venv holds (distribution names and versions,
which modules import, where members are imported from) in a JSON report per session, so tests
assert on the venv's real contents rather than on words in nox's output.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import member_toml, offline_index, package_sources, run_uv, write_tree

PROBE = textwrap.dedent(
    """
    import importlib, importlib.metadata as md, json, os, sys
    names = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in md.distributions()}
    imports = {}
    for module in sys.argv[2].split(","):
        try:
            imported = importlib.import_module(module)
            imports[module] = getattr(imported, "__file__", None) or "namespace"
        except ImportError:
            imports[module] = None
    report = {"installed": names, "imports": imports, "cwd": os.getcwd()}
    with open(sys.argv[1], "w") as handle:
        json.dump(report, handle)
    """
)

NOXFILE = """
import os
import sys
from pathlib import Path

import nox

import nox_workspace
from nox_workspace import Sync

PROBE = {probe!r}
REPORTS = Path({reports!r})
MODULES = "alpha,beta,gamma,delta,zeta,eta,foo,bar,baz"


@nox_workspace.session({options})
def test(session: nox.Session, target: nox_workspace.Target) -> None:
    \"\"\"Record what the venv holds.\"\"\"
    extra = os.environ.get("INSTALL_EXTRA")
    if extra:
        session.install(extra)
    session.run("python", "-c", PROBE, str(REPORTS / (session.name + ".json")), MODULES)
"""


def snapshot(root: Path) -> dict[str, str]:
    """Every file below ``root``: relative path -> sha256.

    Left out: Nox's ``.nox/`` folder, and ``__pycache__`` folders, which Python itself writes
    when a session's commands import the members' code.
    """
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] == ".nox" or "__pycache__" in relative.parts or path.is_dir():
            continue
        files[relative.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


@dataclass
class NoxProject:
    """A workspace ``foo``/``bar``/``baz`` with a noxfile, built in a test's ``tmp_path``.

    ``expected`` is what the workspace's files should be: the helpers that change files on
    purpose (``edit``, ``relock``, ``write_noxfile``) update it, and the fixture checks after
    every test that nothing else outside ``.nox/`` was created, changed or deleted.
    """

    root: Path
    reports: Path
    wheelhouse: Path
    env: dict[str, str]
    expected: dict[str, str] = field(default_factory=dict)

    def accept(self) -> None:
        """Take the workspace's files as they are now as the expected state."""
        self.expected = snapshot(self.root)

    def edit(self, relative: str, text: str) -> None:
        """Change a workspace file on purpose."""
        (self.root / relative).write_text(text, encoding="utf-8")
        self.accept()

    def unchanged_outside_nox(self) -> bool:
        """Whether every file outside ``.nox/`` is as the test left it on purpose."""
        return snapshot(self.root) == self.expected

    def write_noxfile(self, options: str = 'union="all"', body: str | None = None) -> None:
        """Write the noxfile: ``options`` go into ``@nox_workspace.session(...)``."""
        text = body or NOXFILE.format(probe=PROBE, reports=str(self.reports), options=options)
        self.edit("noxfile.py", textwrap.dedent(text))

    def nox(
        self, *args: str, check: bool = True, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the real nox on the workspace; fail with its output when ``check`` and it fails."""
        env = {**self.env, **(extra_env or {})}
        proc = subprocess.run(
            [sys.executable, "-m", "nox", "--non-interactive", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"nox {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def report(self, session: str) -> dict[str, Any]:
        """What the session's venv held, as the probe recorded it."""
        data: dict[str, Any] = json.loads((self.reports / f"{session}.json").read_text())
        return data

    def installed(self, session: str) -> set[str]:
        """Third-party and member distributions in the session's venv."""
        return set(self.report(session)["installed"])

    def imports(self, session: str) -> dict[str, str | None]:
        """Module -> file it imported from, or ``None`` when it did not import."""
        result: dict[str, str | None] = self.report(session)["imports"]
        return result

    def lock_bytes(self) -> bytes:
        return (self.root / "uv.lock").read_bytes()

    def venv(self, session: str) -> Path:
        return self.root / ".nox" / session

    def relock(self) -> None:
        run_uv(["lock"], self.root, self.env)
        self.accept()


def build_project(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> NoxProject:
    """foo needs alpha; bar needs beta; baz needs foo (workspace) and delta (-> gamma).

    The virtual root has a ``lint`` group (eta); foo has a ``test`` group (zeta).
    """
    root = tmp_path / "ws"
    write_tree(
        root,
        {
            "pyproject.toml": (
                '[tool.uv.workspace]\nmembers = ["packages/*"]\n'
                "[tool.uv]\n" + offline_index(wheelhouse) + "[dependency-groups]\n"
                'lint = ["eta"]\n'
            ),
            "packages/foo/pyproject.toml": member_toml(
                "foo", dependencies=["alpha"], groups={"test": ["zeta"]}
            ),
            "packages/bar/pyproject.toml": member_toml("bar", dependencies=["beta"]),
            "packages/baz/pyproject.toml": member_toml(
                "baz", dependencies=["foo", "delta"], workspace_sources=["foo"]
            ),
        },
    )
    for name in ("foo", "bar", "baz"):
        package_sources(root, f"packages/{name}", name)
    run_uv(["lock"], root, env)
    reports = tmp_path / "reports"
    reports.mkdir()
    project = NoxProject(root=root, reports=reports, wheelhouse=wheelhouse, env=env)
    project.accept()
    return project


# --------------------------------------------------------------------------------------------
# Reliability helpers: what the lock promises a session, and whether its venv keeps it


def locked_closure(root: Path, member: str, env: dict[str, str]) -> dict[str, str]:
    """Name -> version of ``member``'s locked closure for this interpreter, from the CLI."""
    proc = subprocess.run(
        [sys.executable, "-m", "nox_workspace", "closure", member, "--json"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    payload: dict[str, Any] = json.loads(proc.stdout)
    return {package["name"]: package["version"] for package in payload["packages"]}


def closure_problems(
    project: NoxProject, session: str, member: str, venv: Path | None = None
) -> list[str]:
    """How the session's venv differs from ``member``'s locked closure: the distributions it
    holds, files missing, changed or owned by no distribution, and what the probe of its last
    run could import. Empty when the venv is exactly the closure. ``venv`` defaults to the
    session's venv in ``.nox/``."""
    from tests.support import venv_damage, venv_distributions

    expected = locked_closure(project.root, member, project.env)
    venv = venv or project.venv(session)
    installed = venv_distributions(venv)
    problems = [] if installed == expected else [f"holds {installed}, the lock gives {expected}"]
    problems += venv_damage(venv)
    imported = {module for module, where in project.imports(session).items() if where}
    wanted = set(project.imports(session)) & set(expected)
    if imported != wanted:
        problems.append(f"imported {sorted(imported)}, the closure has {sorted(wanted)}")
    return problems


def check_venv_holds_closure(
    project: NoxProject, session: str, member: str, venv: Path | None = None
) -> None:
    """The session's venv holds exactly ``member``'s locked closure, every file whole, and
    the probe of its last run imported exactly the probed modules the closure has."""
    problems = closure_problems(project, session, member, venv)
    assert not problems, f"the venv of {session} is not the locked closure:\n" + "\n".join(
        problems[:20]
    )
