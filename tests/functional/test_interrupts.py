"""Interrupted syncs: a session killed before, during or after ``uv sync`` leaves no lie behind.

Faults are injected with a wrapper uv (``NOX_WORKSPACE_UV``): it runs the real uv, but stops
``uv sync`` at a chosen point and says so by writing a marker file; the test then kills the
whole nox process group, with SIGINT (Ctrl-C in a terminal) or SIGKILL (an OOM killer, a
cancelled CI job). The points:

* ``before``: uv has not started; the venv is as the previous run left it;
* ``installing``: uv is stopped (SIGSTOP) the moment a new entry appears in the venv's
  ``site-packages``, so the kill lands while it installs; the closure holds a package of
  2000 modules, so a package is half-copied;
* ``after``: uv finished, nox-workspace has not yet recorded the sync.

The next run, with the real uv, finds the mark of a started sync, empties ``site-packages``,
syncs again and must end with a venv that holds exactly the locked closure, every file of
every distribution as its RECORD says, and nothing else. Each history is tried: a fresh
venv; a venv synced by a successful run, then the lock changed before the interrupted run;
and the same, with the change undone before the rerun.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nox_workspace._reuse import STARTED_FILE, STATE_FILE
from tests.functional.nox_project import (
    NoxProject,
    build_project,
    check_venv_holds_closure,
    closure_problems,
)
from tests.support import make_bulky_wheel, member_toml, site_packages, uv_bin, wait_until

pytestmark = pytest.mark.functional

SESSION = "test-baz"
SYNCED = "nox-workspace: syncing"
REPAIRED = "nox-workspace: the last sync was interrupted"
BAZ_BEFORE = member_toml(
    "baz", dependencies=["foo", "delta", "bulky==1.0"], workspace_sources=["foo"]
)
BAZ_AFTER = member_toml(
    "baz", dependencies=["foo", "beta", "bulky==2.0"], workspace_sources=["foo"]
)

FAULT_UV = '''#!{python}
"""uv with a fault: stops `uv sync` at $FAULT_POINT, writes $FAULT_MARKER, waits to be killed."""
import glob, json, os, signal, subprocess, sys

real, point, marker = (os.environ[key] for key in ("FAULT_REAL_UV", "FAULT_POINT", "FAULT_MARKER"))
args = sys.argv[1:]
if args[:1] != ["sync"]:
    os.execv(real, [real, *args])
uv = None


def interrupted(signum, frame):
    if uv is not None and uv.poll() is None:
        os.kill(uv.pid, signal.SIGCONT)  # a stopped uv takes its own pending SIGINT now
        uv.wait()
    sys.exit(128 + signum)


def arrived(**facts):
    with open(marker + ".tmp", "w") as handle:
        json.dump({{"point": point, **facts}}, handle)
    os.replace(marker + ".tmp", marker)
    while True:
        signal.pause()


signal.signal(signal.SIGINT, interrupted)
signal.signal(signal.SIGTERM, interrupted)
if point == "before":
    arrived()
venv = os.environ["UV_PROJECT_ENVIRONMENT"]
site = glob.glob(os.path.join(venv, "lib", "python*", "site-packages"))[0]
start = now = set(os.listdir(site))
uv = subprocess.Popen([real, *args])
if point == "after":
    arrived(uv_exit=uv.wait())
while uv.poll() is None:
    now = set(os.listdir(site))
    if now - start:
        os.kill(uv.pid, signal.SIGSTOP)
        break
arrived(alive=uv.poll() is None, added=sorted(now - start))
'''


@pytest.fixture(scope="module")
def bulky_wheelhouse(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared wheelhouse plus ``bulky`` 1.0 and 2.0, 2000 modules each."""
    folder = tmp_path_factory.mktemp("bulky-wheelhouse")
    for wheel in wheelhouse.glob("*.whl"):
        shutil.copy(wheel, folder)
    make_bulky_wheel(folder, "bulky", "1.0")
    make_bulky_wheel(folder, "bulky", "2.0")
    return folder


@pytest.fixture
def project(tmp_path: Path, bulky_wheelhouse: Path, env: dict[str, str]) -> Iterator[NoxProject]:
    """foo/bar/baz, baz needing foo, delta and bulky 1.0; afterwards no user file changed."""
    built = build_project(tmp_path, bulky_wheelhouse, env)
    built.edit("packages/baz/pyproject.toml", BAZ_BEFORE)
    built.relock()
    built.write_noxfile('members=["baz"]')
    yield built
    assert built.unchanged_outside_nox(), "a session created, changed or deleted a user file"


def fault_uv(folder: Path) -> Path:
    script = folder / "fault-uv"
    script.write_text(FAULT_UV.format(python=sys.executable), encoding="utf-8")
    script.chmod(0o755)
    return script


def group_alive(group: int) -> bool:
    """Whether a process of the group is still running (zombies waiting for a reaper aside)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False


def run_interrupted(project: NoxProject, folder: Path, point: str, kill: int) -> dict[str, Any]:
    """Run the session with the faulty uv, kill nox's process group at ``point``; the facts
    the wrapper recorded there."""
    marker = folder / "fault.json"
    marker.unlink(missing_ok=True)
    env = {
        **project.env,
        "NOX_WORKSPACE_UV": str(fault_uv(folder)),
        "FAULT_REAL_UV": uv_bin(),
        "FAULT_POINT": point,
        "FAULT_MARKER": str(marker),
    }
    log = folder / "interrupted.log"
    with log.open("w", encoding="utf-8") as output:
        nox = subprocess.Popen(
            [sys.executable, "-m", "nox", "--non-interactive", "-s", SESSION],
            cwd=project.root,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until(lambda: marker.exists() or nox.poll() is not None, f"fault point {point}")
            assert marker.exists(), f"nox ended before the fault point:\n{log.read_text()}"
            os.killpg(nox.pid, kill)
            nox.wait(timeout=120)
        finally:
            if nox.poll() is None:
                os.killpg(nox.pid, signal.SIGKILL)
                nox.wait()
    wait_until(lambda: not group_alive(nox.pid), "every process of the interrupted run to end")
    assert nox.returncode != 0, log.read_text()
    facts: dict[str, Any] = json.loads(marker.read_text())
    return facts


RELOCKED_FILES = ("packages/baz/pyproject.toml", "uv.lock")
POINTS = ["before", "installing", "after"]
KILLS = {"SIGINT": signal.SIGINT, "SIGKILL": signal.SIGKILL}
HISTORIES = ["fresh", "relocked", "relocked-then-undone"]


@pytest.mark.parametrize("history", HISTORIES)
@pytest.mark.parametrize("kill", list(KILLS))
@pytest.mark.parametrize("point", POINTS)
def test_an_interrupted_sync_is_redone_and_leaves_exactly_the_locked_closure(
    project: NoxProject, tmp_path: Path, point: str, kill: str, history: str
) -> None:
    """After a kill at any point of ``uv sync``, the mark of a started sync stays and the next
    run repairs and syncs; its venv is exactly the locked closure, whole, and the run after
    that finds nothing to repair.

    uv's own next sync does not repair a package the kill left half-installed (the
    deterministic cases below pin down what it leaves); nox-workspace's mark of a started
    sync does: the next run empties ``site-packages`` before it syncs.
    """
    venv = project.venv(SESSION)
    original = {path: (project.root / path).read_text() for path in RELOCKED_FILES}
    if history != "fresh":
        assert SYNCED in project.nox("-s", SESSION).stderr
        check_venv_holds_closure(project, SESSION, "baz")
        assert not (venv / STARTED_FILE).exists()
        project.edit("packages/baz/pyproject.toml", BAZ_AFTER)
        project.relock()

    facts = run_interrupted(project, tmp_path, point, KILLS[kill])
    assert facts["point"] == point
    if point == "installing":
        assert facts["alive"], f"uv finished before it could be stopped: {facts}"
        assert facts["added"], facts
    if point == "after":
        assert facts["uv_exit"] == 0
    assert (venv / STARTED_FILE).exists(), "an interrupted sync left no mark"

    if history == "relocked-then-undone":
        for path, text in original.items():
            project.edit(path, text)

    rerun = project.nox("-s", SESSION, check=False)
    assert SYNCED in rerun.stderr
    assert REPAIRED in rerun.stderr
    if rerun.returncode != 0:
        lines = (rerun.stdout + rerun.stderr).splitlines()
        cause = [
            line
            for line in lines
            if line.startswith(("AttributeError", "TypeError", "Error", "nox > Session"))
        ] or lines[-1:]
        problems = ["the rerun failed: " + cause[-1].strip()]
    else:
        problems = closure_problems(project, SESSION, "baz")
    assert not problems, "\n".join(problems[:20])
    assert REPAIRED not in project.nox("-s", SESSION).stderr
    check_venv_holds_closure(project, SESSION, "baz")


# --------------------------------------------------------------------------------------------
# A kill inside a package: the states uv 0.13.9 leaves, made deterministically


def empty_package_folder(site: Path) -> None:
    """Removing delta: its files and its dist-info are gone, its folder is still there."""
    for path in [*site.glob("delta-*.dist-info/*"), *site.glob("delta/*")]:
        if path.is_dir():  # __pycache__, when Python writes bytecode
            shutil.rmtree(path)
        else:
            path.unlink()
    for info in site.glob("delta-*.dist-info"):
        info.rmdir()


def dist_info_without_record(site: Path) -> None:
    """Removing bulky 1.0: its METADATA and RECORD are gone, half of its modules are not."""
    for info in site.glob("bulky-1.0.dist-info"):
        (info / "METADATA").unlink()
        (info / "RECORD").unlink()
    for module in sorted(site.glob("bulky/m*.py"))[::2]:
        module.unlink()


def dist_info_before_its_files(site: Path) -> None:
    """Installing bulky 1.0: its dist-info is whole, half of the modules it lists are not
    there yet."""
    for module in sorted(site.glob("bulky/m*.py"))[1::2]:
        module.unlink()


#: What a kill inside a package leaves, and whether the lock changed first (uv was removing
#: or upgrading packages) or not (uv was installing them into a venv that had lost them).
LEFTOVERS = {
    "an empty package folder": (empty_package_folder, True),
    "a dist-info without METADATA and RECORD": (dist_info_without_record, True),
    "a dist-info whose files are missing": (dist_info_before_its_files, False),
}


@pytest.mark.parametrize("leftover", list(LEFTOVERS))
def test_what_a_kill_inside_a_package_leaves_is_gone_after_the_next_run(
    project: NoxProject, tmp_path: Path, leftover: str
) -> None:
    """The next run after a kill inside a package ends with the locked closure, whole.

    Stopping uv 0.13.9 the moment ``site-packages`` changes (see the wrapper above) leaves,
    depending on the instant: an empty ``delta/`` whose dist-info is gone (``import delta``
    then succeeds, as a namespace package); a ``bulky-1.0.dist-info`` without ``METADATA``
    and ``RECORD`` next to half of bulky 1.0's modules (``importlib.metadata`` then fails on
    it); or a whole ``bulky-1.0.dist-info`` whose modules are not all there (uv then counts
    bulky as installed). The instant cannot be hit reliably, so the test makes each state
    itself, after a real interrupted run (which left the mark of a started sync).
    """
    make, relock = LEFTOVERS[leftover]
    assert SYNCED in project.nox("-s", SESSION).stderr
    if relock:
        project.edit("packages/baz/pyproject.toml", BAZ_AFTER)
        project.relock()
    else:  # an input changes, the closure does not: the interrupted run syncs nonetheless
        bar = project.root / "packages/bar/pyproject.toml"
        project.edit("packages/bar/pyproject.toml", bar.read_text() + "# edited\n")
    run_interrupted(project, tmp_path, "before", signal.SIGKILL)
    make(site_packages(project.venv(SESSION)))

    rerun = project.nox("-s", SESSION, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert SYNCED in rerun.stderr
    assert REPAIRED in rerun.stderr
    check_venv_holds_closure(project, SESSION, "baz")


# --------------------------------------------------------------------------------------------
# A damaged state file (the cached leak report of an inexact session)


def _rewrite(change: Callable[[str], str]) -> Callable[[Path], None]:
    def apply(state: Path) -> None:
        state.write_text(change(state.read_text(encoding="utf-8")), encoding="utf-8")

    return apply


def _folder_instead(state: Path) -> None:
    state.unlink()
    state.mkdir()
    (state / "x").write_text("x")


def _claims_another_report(state: Path) -> None:
    data = json.loads(state.read_text(encoding="utf-8"))
    data["key"] = "0" * 64
    data["leaks"] = ["a report of other inputs"]
    state.write_text(json.dumps(data), encoding="utf-8")


DAMAGE = {
    "cut in half": _rewrite(lambda text: text[: len(text) // 2]),
    "not JSON": _rewrite(lambda text: "\x00\xff garbage"),
    "a JSON array": _rewrite(lambda text: "[1, 2, 3]"),
    "another schema": _rewrite(lambda text: text.replace('"schema": 2', '"schema": 99')),
    "leaks of the wrong type": _rewrite(lambda text: text.replace('"leaks": [', '"x": [')),
    "empty": _rewrite(lambda text: ""),
    "another key": _claims_another_report,
    "a folder in its place": _folder_instead,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_state_is_computed_again(project: NoxProject, damage: str) -> None:
    """A state file that is cut short, not JSON, of another shape or schema, that holds the
    report of other inputs, or a folder where the file should be: the next run syncs (no
    traceback), the venv is the locked closure, and no report of other inputs is shown."""
    project.write_noxfile('members=["baz"], sync=Sync(exact=False)')
    assert SYNCED in project.nox("-s", SESSION).stderr
    DAMAGE[damage](project.venv(SESSION) / STATE_FILE)
    rerun = project.nox("-s", SESSION, check=False)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "Traceback" not in rerun.stderr
    assert SYNCED in rerun.stderr
    assert "a report of other inputs" not in rerun.stderr
    check_venv_holds_closure(project, SESSION, "baz")
    assert REPAIRED not in project.nox("-s", SESSION).stderr
