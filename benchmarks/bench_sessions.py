"""nox-workspace sessions vs hand-written peers, side by side on one generated workspace.

One run generates an offline workspace of N members (default 80), locks it, warms a private
uv cache, then measures, interleaving the two sides of every comparison and reporting
medians:

==========================  ============================  ===========================  ======
measurement                 ours                          peer                         target
==========================  ============================  ===========================  ======
list sessions               ``nox -l``, plugin noxfile    ``nox -l``, 80 sessions by   <= 1.05
                            (envdir exists: cached)       hand (plain ``nox.session``)
first run of one member     ``nox -s test-M``, no venv    nox-uv ``uv_packages=[M]``   <= 1.00
second run, default opts    venv reused, no-op sync       nox-uv (venv recreated)      <= 0.50
``nox -r``, nothing changed venv reused, no-op sync       nox-uv (no-op ``uv sync``)   <= 0.92
second run, default opts    venv reused, no-op sync       Nox's floor (``-R``) plus    <= 1.05
                                                          one no-op ``uv sync``
all members, 2 jobs, fresh  ``nox -j 2``                  tox-uv ``tox p -p 2``        <= 0.90
all members, second run     plain ``nox``, venvs reused   tox-uv ``tox r``, envs kept  <= 0.80
==========================  ============================  ===========================  ======

Every session body does the same thing on every side: ``python -c "import <member module>"``
from the member's folder, or with ``--body pytest`` pytest over the member's ``tests/`` (pytest
from the member's ``dev`` group). Both sides use nox's uv backend and ``uv sync --locked`` of
the one member.
tox runs on a copy of the workspace, because it writes a ``.venv`` redirect into the project
root that uv would follow.

Usage: ``python benchmarks/bench_sessions.py [--members N] [--repeat K] [--skip-tox]
[--body import|pytest]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BenchWorkspace,
    Row,
    download_pytest,
    interleave,
    load_note,
    make_workspace,
    median,
    module_name,
    print_table,
    run_checked,
    time_command,
    versions,
)

NOX = [sys.executable, "-m", "nox"]
TOX = [sys.executable, "-m", "tox"]
DOC = "Test the member in its own locked closure."
#: The pytest body's command, the same on every side (no cache folder written into members).
PYTEST = ("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests")


def body(module: str, pytest: bool) -> tuple[str, ...]:
    """A session's command: import the member's module, or run pytest over its tests."""
    return PYTEST if pytest else ("python", "-c", f"import {module}")


def plugin_noxfile(pytest: bool = False) -> str:
    """The noxfile a user of nox-workspace writes: one decorated function."""
    command = (
        repr(PYTEST)
        if pytest
        else '("python", "-c", "import " + target.member.name.replace("-", "_"))'
    )
    return textwrap.dedent(
        f'''\
        import nox

        import nox_workspace


        @nox_workspace.session
        def test(session: nox.Session, target: nox_workspace.Target) -> None:
            """{DOC}"""
            session.run(*{command})
        '''
    )


def static_noxfile(members: Sequence[str], pytest: bool = False) -> str:
    """The same sessions written out by hand with plain ``nox.session``: the floor of ``-l``."""
    parts = ["import nox\n"]
    for name in members:
        parts.append(
            textwrap.dedent(
                f'''

                @nox.session(
                    name="test-{name}",
                    venv_backend="uv",
                    reuse_venv=True,
                    tags=["{name}", "test"],
                    allow_parallel=True,
                )
                def test_{module_name(name)}(session: nox.Session) -> None:
                    """{DOC} [{name}]"""
                    session.run_install(
                        "uv", "sync", "--package", "{name}", "--locked", "--exact",
                        env={{"UV_PROJECT_ENVIRONMENT": session.virtualenv.location}},
                    )
                    with session.chdir("packages/{name}"):
                        session.run(*{body(module_name(name), pytest)!r})
                '''
            )
        )
    return "".join(parts)


def nox_uv_noxfile(members: Sequence[str], pytest: bool = False) -> str:
    """The same sessions written by hand with nox-uv (``uv sync --package M`` in the venv);
    nox-uv always passes ``--no-default-groups``, so the pytest body names the group."""
    groups = ', uv_groups=["dev"]' if pytest else ""
    parts = ["import nox\nfrom nox_uv import session\n"]
    for name in members:
        parts.append(
            textwrap.dedent(
                f'''

                @session(name="test-{name}", venv_backend="uv", uv_packages=["{name}"]{groups})
                def test_{module_name(name)}(s: nox.Session) -> None:
                    """{DOC} [{name}]"""
                    with s.chdir("packages/{name}"):
                        s.run(*{body(module_name(name), pytest)!r})
                '''
            )
        )
    return "".join(parts)


def tox_ini(members: Sequence[str], pytest: bool = False) -> str:
    """One tox-uv env per member: ``uv sync --locked --package M`` into the env, then import."""
    lines = [
        "[tox]",
        "env_list =",
        *(f"    {name}" for name in members),
        "",
        "[testenv]",
        "runner = uv-venv-lock-runner",
        f"base_python = {Path(sys.executable).as_posix()}",
        "",
    ]
    for name in members:
        lines += [
            f"[testenv:{name}]",
            f"uv_sync_flags = --package={name}",
            f"change_dir = {{tox_root}}/packages/{name}",
            *(
                ["dependency_groups = dev", "commands = " + " ".join(PYTEST)]
                if pytest
                else [f'commands = python -c "import {module_name(name)}"']
            ),
            "",
        ]
    return "\n".join(lines)


class Bench:
    """The generated workspace, its noxfiles, and one method per measurement."""

    def __init__(self, workspace: BenchWorkspace, scratch: Path, pytest: bool = False) -> None:
        self.ws = workspace
        self.root = workspace.root
        self.env = workspace.env
        self.envs = scratch / "envs"
        self.scratch = scratch
        self.member = workspace.pick_member()
        self.noop: list[float] = []  # no-op syncs of one member, filled by single()
        (self.root / "noxfile.py").write_text(plugin_noxfile(pytest), encoding="utf-8")
        (self.root / "noxfile_static.py").write_text(
            static_noxfile(workspace.members, pytest), encoding="utf-8"
        )
        (self.root / "noxfile_noxuv.py").write_text(
            nox_uv_noxfile(workspace.members, pytest), encoding="utf-8"
        )

    def nox(self, noxfile: str, envdir: str, *args: str) -> list[str]:
        return [*NOX, "-f", str(self.root / noxfile), "--envdir", str(self.envs / envdir), *args]

    def check_listing(self) -> None:
        """Both noxfiles list the same sessions (a benchmark of unequal work is worthless)."""
        listed = []
        for noxfile in ("noxfile.py", "noxfile_static.py", "noxfile_noxuv.py"):
            out = run_checked(self.nox(noxfile, "unused", "-l"), self.root, self.env).stdout
            listed.append(sorted(line.split()[1] for line in out.splitlines() if " test-" in line))
        if not listed[0] or any(names != listed[0] for names in listed[1:]):
            raise SystemExit(f"the noxfiles list different sessions: {[len(n) for n in listed]}")

    def listing(self, repeat: int) -> list[Row]:
        """``nox -l`` as after any earlier run (the envdir exists, so the discovery cache is
        there), and, as a reference, before any run (no envdir: every file parsed)."""
        (self.envs / "listing").mkdir(parents=True, exist_ok=True)

        def case(noxfile: str, envdir: str) -> Callable[[], float]:
            argv = self.nox(noxfile, envdir, "-l")
            return lambda: self.time(argv)

        cases = {
            "ours": case("noxfile.py", "listing"),
            "peer": case("noxfile_static.py", "listing"),
            "uncached": case("noxfile.py", "unused"),
        }
        results = interleave(cases, repeat, warmup=2)
        label = f"nox -l, {len(self.ws.members)} sessions (vs static noxfile)"
        return [
            Row(label, results["ours"], results["peer"], 1.05),
            Row(
                "  ref: the same before any run (no envdir, no cache)",
                results["uncached"],
                results["peer"],
                None,
            ),
        ]

    def single(self, repeat: int) -> list[Row]:
        """One member's session: first run (no venv), second run (defaults), then ``-r``.

        A third side, the static noxfile run with ``-R`` (reuse the venv, skip installs),
        is nox's own floor for this session: nox starting, loading a noxfile and running
        ``python -c``, with no sync at all. Beside it, one no-op ``uv sync`` of the member
        into our reused venv, timed alone: our rerun's budget is the two together.
        """
        from nox_workspace import Sync, Target, discover

        workspace = discover(self.root)
        member = workspace.member(self.member)
        sync_args = Target(workspace=workspace, members=(member,), sync=Sync()).uv_sync_args()
        noop: list[float] = []
        session = f"test-{self.member}"
        noxfiles = {"ours": "noxfile.py", "peer": "noxfile_noxuv.py", "floor": "noxfile_static.py"}
        times: dict[str, dict[str, list[float]]] = {
            side: {"first": [], "second": [], "reuse": []} for side in noxfiles
        }
        names = list(noxfiles)
        for round_ in range(repeat + 1):  # round 0 is a warm-up, thrown away
            for side in names if round_ % 2 == 0 else names[::-1]:
                envdir = f"single-{side}"
                shutil.rmtree(self.envs / envdir, ignore_errors=True)
                run = self.nox(noxfiles[side], envdir, "-s", session)
                if side == "floor":
                    run_checked(run, self.root, self.env)  # make the venv, untimed
                    laps = {"reuse": self.time([*run[:-2], "-R", *run[-2:]])}
                else:
                    laps = {"first": self.time(run)}
                    start = time.perf_counter()
                    second = run_checked(run, self.root, self.env)
                    laps["second"] = time.perf_counter() - start
                    laps["reuse"] = self.time([*run[:-2], "-r", *run[-2:]])
                    if side == "ours" and "Reusing existing" not in second.stderr:
                        print("warning: our second run did not reuse its venv")
                    if side == "ours":
                        venv = self.envs / envdir / session
                        uv_env = {**self.env, "UV_PROJECT_ENVIRONMENT": str(venv)}
                        uv_env["UV_PYTHON"] = str((venv / "bin" / "python").resolve())
                        seconds = time_command([self.ws.uv, *sync_args], self.root, uv_env)
                        if round_:
                            noop.append(seconds)
                if round_:
                    for lap, seconds in laps.items():
                        times[side][lap].append(seconds)
        self.noop = noop
        ours, peer, floor = times["ours"], times["peer"], times["floor"]
        budget = [f + u for f, u in zip(sorted(floor["reuse"]), sorted(noop), strict=True)]
        return [
            Row(
                f"nox -s {session}, second run (vs Nox's floor + one no-op uv sync)",
                ours["second"],
                budget,
                1.05,
            ),
            Row("  ref: one no-op uv sync, alone", noop, floor["reuse"], None),
            Row(f"nox -s {session}, first run (vs nox-uv)", ours["first"], peer["first"], 1.0),
            Row(f"nox -s {session}, second run (vs nox-uv)", ours["second"], peer["second"], 0.5),
            Row(f"nox -r -s {session}, no change (vs nox-uv)", ours["reuse"], peer["reuse"], 0.92),
            Row("  ref: nox-uv second run vs nox floor", peer["second"], floor["reuse"], None),
            Row("  ref: our second run vs nox floor", ours["second"], floor["reuse"], None),
            Row("  ref: our nox -r run vs nox floor", ours["reuse"], floor["reuse"], None),
        ]

    def parallel(self, repeat: int, tox_root: Path) -> list[Row]:
        """Every member's session, fresh, two at a time: ``nox -j 2`` vs ``tox p -p 2``.

        References: our sessions run one after the other (plain ``nox``), and the static
        noxfile's hand-written sessions under ``nox -j 2`` (nox's own cost of ``-j``).
        """

        def nox_all(noxfile: str, envdir: str, *args: str) -> Callable[[], float]:
            def case() -> float:
                shutil.rmtree(self.envs / envdir, ignore_errors=True)
                return self.time(self.nox(noxfile, envdir, *args))

            return case

        def tox() -> float:
            shutil.rmtree(tox_root / ".tox", ignore_errors=True)
            argv = [*TOX, "p", "-p", "2", "--parallel-no-spinner", "-q"]
            seconds = time_command(argv, tox_root, self.env)
            redirect = tox_root / ".venv"
            if redirect.is_file():
                redirect.unlink()  # tox's redirect file: never leave it for uv to follow
            return seconds

        cases = {
            "ours": nox_all("noxfile.py", "all-ours", "-j", "2"),
            "tox": tox,
            "serial": nox_all("noxfile.py", "all-serial"),
            "static": nox_all("noxfile_static.py", "all-static", "-j", "2"),
        }
        results = interleave(cases, repeat, warmup=1)  # a first round runs slow: drop it
        count = len(self.ws.members)
        return [
            Row(
                f"all {count} sessions, nox -j 2, fresh (vs tox-uv)",
                results["ours"],
                results["tox"],
                0.9,
            ),
            Row(
                "  ref: ours without -j (serial) vs tox-uv", results["serial"], results["tox"], None
            ),
            Row("  ref: static noxfile -j 2 vs tox-uv", results["static"], results["tox"], None),
            Row(
                "  ref: ours -j 2 vs static noxfile -j 2", results["ours"], results["static"], None
            ),
        ]

    def rerun(self, repeat: int, tox_root: Path) -> list[Row]:
        """Every member's session again, one after the other, nothing changed: plain ``nox``
        (our venvs reused, one no-op ``uv sync`` each) vs tox-uv's ``tox r`` on its kept envs.

        References: Nox's floor for the same 80 sessions (the static noxfile with ``-R``: no
        sync at all), and that floor plus one no-op ``uv sync`` per session (the median of
        the one-member no-op syncs times the number of members), the issue's budget.
        """
        workdir = self.scratch / "tox-rerun"
        tox = [*TOX, "r", "-q", "--workdir", str(workdir)]
        ours = self.nox("noxfile.py", "rerun-ours")
        floor = self.nox("noxfile_static.py", "rerun-static")
        for argv, where in ((ours, self.root), (floor, self.root), (tox, tox_root)):
            run_checked(argv, where, self.env)  # the first run, untimed
        self._drop_tox_redirect(tox_root)

        def tox_case() -> float:
            seconds = time_command(tox, tox_root, self.env)
            self._drop_tox_redirect(tox_root)
            return seconds

        cases = {
            "ours": lambda: self.time(ours),
            "tox": tox_case,
            "floor": lambda: self.time([*floor, "-R"]),
        }
        results = interleave(cases, repeat)
        count = len(self.ws.members)
        budget = [seconds + count * median(self.noop) for seconds in results["floor"]]
        return [
            Row(
                f"all {count} sessions, serial, second run (vs tox-uv second run)",
                results["ours"],
                results["tox"],
                0.8,
            ),
            Row(
                f"  ref: the same vs Nox's floor (-R) + {count} no-op uv syncs",
                results["ours"],
                budget,
                None,
            ),
            Row(
                "  ref: the same vs Nox's floor (static, -R)",
                results["ours"],
                results["floor"],
                None,
            ),
            Row(
                "  ref: Nox's floor (static, -R) vs tox-uv second run",
                results["floor"],
                results["tox"],
                None,
            ),
        ]

    @staticmethod
    def _drop_tox_redirect(tox_root: Path) -> None:
        redirect = tox_root / ".venv"
        if redirect.is_file():
            redirect.unlink()  # tox's redirect file: never leave it for uv to follow

    def time(self, argv: Sequence[str]) -> float:
        return time_command(argv, self.root, self.env)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--members", type=int, default=80, help="workspace size (default 80)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=9,
        help="repeats of the one-member runs (default 9); nox -l runs 3x as often, "
        "the all-members runs a third as often (at least 1, after one warm-up round)",
    )
    parser.add_argument(
        "--skip-tox", action="store_true", help="leave out the all-members run (nox -j 2 vs tox-uv)"
    )
    parser.add_argument(
        "--body",
        choices=("import", "pytest"),
        default="import",
        help="each session's work: import the member's module (default), or run pytest over "
        "its tests (pytest from a dev group; the first import compiles bytecode)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace")
    args = parser.parse_args(argv)
    if args.members < 1 or args.repeat < 1:
        parser.error("--members and --repeat must be at least 1")

    scratch = Path(tempfile.mkdtemp(prefix="nox-workspace-bench-"))
    try:
        started = time.perf_counter()
        pytest = args.body == "pytest"
        wheels = download_pytest(scratch / "pytest-wheels") if pytest else ()
        workspace = make_workspace(scratch, args.members, test_wheels=wheels)
        tox_root = scratch / "ws-tox"
        if not args.skip_tox:
            shutil.copytree(workspace.root, tox_root)
            (tox_root / "tox.ini").write_text(tox_ini(workspace.members, pytest), encoding="utf-8")
        workspace.warm()
        if not args.skip_tox:
            workspace.warm(tox_root)
        bench = Bench(workspace, scratch, pytest)
        bench.check_listing()
        print(versions(workspace.uv, ["nox", "nox-uv", "tox", "tox-uv", "nox-workspace"]))
        print(load_note())
        print(
            f"{args.members} members, body: {args.body}, warm uv cache, UV_OFFLINE=1; "
            "one-member runs use "
            f"{bench.member} (depends on "
            f"{', '.join(workspace.depends_on[bench.member]) or 'no other member'})"
        )
        rows = bench.listing(3 * args.repeat)
        print_table(rows)
        single = bench.single(args.repeat)
        rows += single
        print_table(single)
        if not args.skip_tox:
            parallel = bench.parallel(max(1, args.repeat // 3), tox_root)
            rows += parallel
            print_table(parallel)
            rerun = bench.rerun(max(1, args.repeat // 3), tox_root)
            rows += rerun
            print_table(rerun)
        print(f"\nall measurements (medians; {time.perf_counter() - started:.0f} s in all):")
        print(load_note())
        print_table(rows)
        for row in rows:
            print(
                f"  {row.measurement}: ours {_list(row.ours)}  peer {_list(row.peer)}",
                file=sys.stderr,
            )
        if args.keep:
            print(f"workspace kept in {scratch}")
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _list(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{value:.3f}" for value in values) + "]"


if __name__ == "__main__":
    raise SystemExit(main())
