"""What works on ``@nox.session`` works on ``@nox_workspace.session``: real nox, real uv, offline.

The workspace is ``nox_project.build_project`` (foo needs alpha, bar needs beta, baz needs foo
and delta); each noxfile here records what its session saw in a JSON report per session.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.nox_project import NoxProject, build_project
from tests.support import cli, member_toml, nox_has, nox_records_option_sources, run_uv

pytestmark = pytest.mark.functional

#: The top of every noxfile here: ``record(session, **values)`` writes the session's report.
HEADER = """
import json
import os
from pathlib import Path

import nox
import nox_workspace

REPORTS = Path({reports!r})


def record(session, target, **values):
    values.update(cwd=os.getcwd(), tests=list(target.tests))
    (REPORTS / (session.name + ".json")).write_text(json.dumps(values))
"""


@pytest.fixture
def project(tmp_path: Path, wheelhouse: Path, env: dict[str, str]) -> Iterator[NoxProject]:
    """The workspace; afterwards nothing outside ``.nox/`` differs from what the test changed."""
    built = build_project(tmp_path, wheelhouse, env)
    yield built
    assert built.unchanged_outside_nox(), "a session created, changed or deleted a user file"


def noxfile(project: NoxProject, sessions: str) -> None:
    """Write a noxfile: :data:`HEADER`, then ``sessions``."""
    header = HEADER.format(reports=str(project.reports))
    project.write_noxfile(body=header + "\n" + sessions)


def load_error(project: NoxProject) -> str:
    """Load the noxfile with ``nox -l``; it must fail in one line of ours, with no traceback."""
    result = project.nox("-l", check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "nox-workspace:" in line]
    assert len(lines) == 1, result.stderr
    assert not (project.root / ".nox").exists()
    return lines[0]


def registry_dump(project: NoxProject) -> dict[str, dict[str, Any]]:
    """What Nox itself registered for each session when it loaded the noxfile."""
    script = (
        "import json, runpy, sys\n"
        "import nox.registry\n"
        "runpy.run_path('noxfile.py')\n"
        "print(json.dumps({n: {'venv_params': list(f.venv_params),"
        " 'download_python': f.download_python, 'allow_parallel': f.allow_parallel,"
        " 'venv_backend': f.venv_backend, 'requires': list(f._requires),"
        " 'default': f.default} for n, f in nox.registry.get().items()}))\n"
    )
    result = cli_python(project, script)
    data: dict[str, dict[str, Any]] = json.loads(result)
    return data


def cli_python(project: NoxProject, script: str) -> str:
    """Run ``script`` with this interpreter in the workspace root; its standard output."""
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


@pytest.mark.skipif(
    not nox_has("download_python", "allow_parallel"),
    reason="this Nox has no download_python / allow_parallel keywords",
)
def test_every_nox_keyword_reaches_nox(project: NoxProject) -> None:
    """venv_params, download_python, allow_parallel and default are handed to Nox as given;
    allow_parallel defaults to on, and a backend-less decorator gets uv."""
    noxfile(
        project,
        """
@nox_workspace.session(members=["foo"], venv_params=["--prompt", "probe"], download_python="never",
                       allow_parallel=False, default=False)
def test(session, target):
    record(session, target)


@nox_workspace.session(members=["bar"])
def plain(session, target):
    record(session, target)
""",
    )
    registered = registry_dump(project)
    assert registered["test-foo"] == {
        "venv_params": ["--prompt", "probe"],
        "download_python": "never",
        "allow_parallel": False,
        "venv_backend": "uv",
        "requires": [],
        "default": False,
    }
    assert registered["plain-bar"]["allow_parallel"] is True
    assert registered["plain-bar"]["download_python"] is None
    project.nox("-s", "test-foo")
    config = (project.venv("test-foo") / "pyvenv.cfg").read_text()
    assert re.search(r"^prompt = probe$", config, re.M), config


def test_py_is_python_and_an_unknown_keyword_fails_at_load(project: NoxProject) -> None:
    """``py=`` is Nox's alias of ``python=``; a misspelt keyword is one line at load."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    noxfile(
        project,
        f"""
@nox_workspace.session(members=["foo"], py=["{version}"])
def test(session, target):
    record(session, target)
""",
    )
    listed = [row["session"] for row in json.loads(project.nox("-l", "--json").stdout)]
    assert listed == [f"test-foo-{version}"]
    noxfile(
        project,
        """
@nox_workspace.session(members=["foo"], venv_parms=["--seed"])
def test(session, target):
    record(session, target)
""",
    )
    line = load_error(project)
    assert "unknown keyword 'venv_parms'" in line
    assert "venv_params" in line  # the known keywords are listed


@pytest.mark.parametrize(
    ("setting", "args", "backend"),
    [
        ("", (), "uv"),
        pytest.param(
            'nox.options.default_venv_backend = "virtualenv"',
            (),
            "virtualenv",
            marks=pytest.mark.skipif(
                not nox_records_option_sources(),
                reason="this Nox cannot tell a noxfile's virtualenv from its own default",
            ),
        ),
        ("", ("-db", "virtualenv"), "virtualenv"),
        ('nox.options.default_venv_backend = "virtualenv"', ("-db", "uv"), "uv"),
    ],
)
def test_default_backend_is_honoured_and_uv_otherwise(
    project: NoxProject, setting: str, args: tuple[str, ...], backend: str
) -> None:
    """Without venv_backend=, Nox's default backend (noxfile or -db) makes the venv; with no
    default chosen anywhere, uv does."""
    noxfile(
        project,
        setting
        + """
@nox_workspace.session(members=["bar"])
def test(session, target):
    record(session, target)
""",
    )
    project.nox(*args, "-s", "test-bar")
    config = (project.venv("test-bar") / "pyvenv.cfg").read_text()
    made_by = "virtualenv" if re.search(r"^virtualenv\s*=", config, re.M) else "uv"
    assert made_by == backend, config
    report = json.loads((project.reports / "test-bar.json").read_text())
    assert Path(report["cwd"]) == project.root / "packages" / "bar"


@pytest.mark.parametrize("above", [True, False])
def test_parametrize_makes_a_session_per_member_and_parameter(
    project: NoxProject, above: bool
) -> None:
    """``@nox.parametrize`` above or below the decorator: each parameter set is a session per
    member, named as Nox names it, the function receives the value, and the CI matrix has a
    row per session."""
    parametrize = '@nox.parametrize("flavor", ["a", "b"])\n'
    decorator = '@nox_workspace.session(members=["foo", "bar"])\n'
    stacked = parametrize + decorator if above else decorator + parametrize
    noxfile(
        project,
        stacked
        + """def test(session, target, flavor):
    record(session, target, flavor=flavor)
""",
    )
    listed = {row["session"] for row in json.loads(project.nox("-l", "--json").stdout)}
    expected = {f"test-{m}(flavor='{f}')" for m in ("foo", "bar") for f in ("a", "b")}
    assert listed == expected
    project.nox("-s", "test-foo(flavor='b')")
    report = json.loads((project.reports / "test-foo(flavor='b').json").read_text())
    assert report["flavor"] == "b"
    matrix = cli("matrix", "--json", cwd=project.root, env=project.env)
    assert matrix.returncode == 0, matrix.stderr
    assert {row["session"] for row in json.loads(matrix.stdout)} == expected


def test_requires_expands_member_and_python(project: NoxProject) -> None:
    """``requires=["lint-{member}"]`` runs the member's own lint session first; the union's
    ``{member}`` stands for every member; a plain name works as in Nox."""
    noxfile(
        project,
        """
@nox_workspace.session(members=["foo", "bar"])
def lint(session, target):
    record(session, target)


@nox_workspace.session(members=["foo", "bar"], union="all", requires=["lint-{member}"])
def test(session, target):
    record(session, target)


@nox_workspace.session(members=["bar"], requires=["all"])
def after(session, target):
    record(session, target)
""",
    )
    result = project.nox("-s", "test-foo")
    ran = re.findall(r"Running session (\S+)", result.stderr)
    assert ran == ["lint-foo", "test-foo"]
    ran = re.findall(r"Running session (\S+)", project.nox("-s", "all").stderr)
    assert ran[-1] == "all"
    assert set(ran[:-1]) == {"lint-foo", "lint-bar"}
    ran = re.findall(r"Running session (\S+)", project.nox("-s", "after-bar").stderr)
    assert ran[-1] == "after-bar"
    assert "all" in ran


def test_tests_at_the_root_and_chdir_root(project: NoxProject) -> None:
    """A member declares its tests under the root's ``tests/``; with ``chdir="root"`` the
    session runs at the root and ``target.tests`` is that path relative to it; from the member
    folder it is relative to the member; a member that declares none gets no paths."""
    project.edit(
        "packages/foo/pyproject.toml",
        member_toml(
            "foo",
            dependencies=["alpha"],
            groups={"test": ["zeta"]},
            extra_toml='[tool.nox-workspace]\ntests = ["../../tests/foo"]\n',
        ),
    )
    (project.root / "tests" / "foo").mkdir(parents=True)
    project.edit("tests/foo/test_foo.py", "")
    noxfile(
        project,
        """
@nox_workspace.session(members=["foo", "bar"], chdir="root")
def test(session, target):
    record(session, target)


@nox_workspace.session(members=["foo"])
def here(session, target):
    record(session, target)
""",
    )
    project.nox("-s", "test-foo", "test-bar", "here-foo")
    foo = json.loads((project.reports / "test-foo.json").read_text())
    assert (Path(foo["cwd"]), foo["tests"]) == (project.root, ["tests/foo"])
    bar = json.loads((project.reports / "test-bar.json").read_text())
    assert (Path(bar["cwd"]), bar["tests"]) == (project.root, [])
    here = json.loads((project.reports / "here-foo.json").read_text())
    assert (Path(here["cwd"]), here["tests"]) == (
        project.root / "packages" / "foo",
        ["../../tests/foo"],
    )


def test_a_declared_test_path_that_does_not_exist_fails_at_load(project: NoxProject) -> None:
    """``tests = ["../../tests/nope"]`` is one line at load, naming the member and the path."""
    project.edit(
        "packages/bar/pyproject.toml",
        member_toml(
            "bar", dependencies=["beta"], extra_toml='[tool.nox-workspace]\ntests = ["tests"]\n'
        ),
    )
    noxfile(
        project,
        """
@nox_workspace.session(chdir="root")
def test(session, target):
    record(session, target)
""",
    )
    line = load_error(project)
    assert "tests of member 'bar' names 'tests', which does not exist" in line


def test_a_python_outside_the_workspace_range_names_the_narrowing_member(
    project: NoxProject,
) -> None:
    """uv refuses a Python outside the intersection for every member: the message says so,
    names the member that narrows the range, and lists the versions that work."""
    project.edit(
        "packages/baz/pyproject.toml",
        member_toml(
            "baz",
            dependencies=["foo", "delta"],
            workspace_sources=["foo"],
            requires_python=">=3.11",
        ),
    )
    project.relock()
    noxfile(
        project,
        """
@nox_workspace.session(members=["foo"], python=["3.10", "3.11"])
def test(session, target):
    record(session, target)
""",
    )
    line = load_error(project)
    assert "runs Python 3.10, outside the workspace's requires-python" in line
    assert "member 'baz' requires-python '>=3.11'" in line
    assert "uv refuses it for every member" in line
    assert "use one of 3.11, 3.12, 3.13, 3.14, 3.15" in line


def test_the_root_as_a_member_is_explained_with_its_fix(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """In a fresh ``uv init`` workspace the root has ``[project]``, so it is a member and gets a
    session; a group only the other members have says so and shows the one-line fix, which
    then works."""
    root = tmp_path / "own-root"
    root.mkdir()
    run_uv(["init", "--lib", "--name", "own-root", "--vcs", "none", str(root)], tmp_path, env)
    run_uv(["init", "--lib", "--name", "app", "--vcs", "none", "packages/app"], root, env)
    pyproject = root / "packages" / "app" / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[dependency-groups]\ntest = []\n")
    assert "packages/app" in (root / "pyproject.toml").read_text()  # uv added the member
    (root / "noxfile.py").write_text(
        "import nox_workspace\nfrom nox_workspace import Sync\n\n\n"
        '@nox_workspace.session(sync=Sync(groups=["test"]))\n'
        "def test(session, target):\n    pass\n"
    )
    project = NoxProject(root=root, reports=tmp_path, wheelhouse=tmp_path, env=env)
    line = load_error(project)
    assert "the root is itself a member ('own-root')" in line
    assert "skip = true" in line
    top = root / "pyproject.toml"
    top.write_text(top.read_text() + "\n[tool.nox-workspace]\nskip = true\n")
    listed = [row["session"] for row in json.loads(project.nox("-l", "--json").stdout)]
    assert listed == ["test-app"]


def test_two_decorators_on_one_function_both_get_the_parameters(project: NoxProject) -> None:
    """Stacked session decorators each register their sessions; ``@nox.parametrize`` above
    both reaches every one of them."""
    noxfile(
        project,
        """
@nox.parametrize("flavor", ["a"])
@nox_workspace.session(name="lint", members=["bar"])
@nox_workspace.session(name="test", members=["bar"])
def check(session, target, flavor):
    record(session, target, flavor=flavor)
""",
    )
    listed = {row["session"] for row in json.loads(project.nox("-l", "--json").stdout)}
    assert listed == {"lint-bar(flavor='a')", "test-bar(flavor='a')"}


def test_requires_with_member_and_python_runs_the_matching_session(project: NoxProject) -> None:
    """``requires=["lint-{member}-{python}"]``: Nox expands ``{python}``, we expand
    ``{member}``, and the member's lint session of that Python runs first."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    noxfile(
        project,
        f"""
@nox_workspace.session(members=["bar"], python=["{version}"])
def lint(session, target):
    record(session, target)


@nox_workspace.session(
    members=["bar"], python=["{version}"], requires=["lint-{{member}}-{{python}}"]
)
def test(session, target):
    record(session, target)
""",
    )
    result = project.nox("-s", f"test-bar-{version}")
    ran = re.findall(r"Running session (\S+)", result.stderr)
    assert ran == [f"lint-bar-{version}", f"test-bar-{version}"]
