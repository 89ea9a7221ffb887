"""Discovery vs the floor: ``discover(root)`` against reading and parsing the same TOML files.

Target (issue): discovering an N-member workspace (default 80) costs at most 1.5x the time of
reading every ``pyproject.toml`` of the workspace and parsing it with ``tomllib``, nothing
else. Both run in this process, interleaved, on the same files; the script prints the medians
and the ratio, and with ``--profile`` the hot spots of ``discover`` under cProfile.

It also times the command line as a user starts it: ``python -m nox_workspace members``
against a Python that only imports discovery and discovers the same workspace (Python's
start-up plus discovery, the floor of any command), each in a fresh process. Target: at most
1.20 times that floor (the issue asks for "little more"; ``python -m`` itself adds ``runpy``
and any command line ``argparse``, about 9 ms together).

Usage: ``python benchmarks/bench_discovery.py [--members N] [--repeat K] [--cli-repeat K]
[--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Row, interleave, load_note, make_workspace, median, print_table, versions

from nox_workspace._workspace import discover

TARGET = 1.5
CLI_TARGET = 1.20


def parse_only(files: Sequence[Path]) -> int:
    """The floor: read each file and parse it with ``tomllib``; nothing else."""
    count = 0
    for path in files:
        count += len(tomllib.loads(path.read_bytes().decode("utf-8")))
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--members", type=int, default=80, help="workspace size (default 80)")
    parser.add_argument("--repeat", type=int, default=300, help="timed repeats (default 300)")
    parser.add_argument(
        "--cli-repeat", type=int, default=21, help="timed repeats of the command line (default 21)"
    )
    parser.add_argument("--profile", action="store_true", help="also print cProfile hot spots")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="nox-workspace-bench-") as folder:
        workspace = make_workspace(Path(folder), args.members, lock=False)
        root = workspace.root
        files = workspace.pyprojects()
        found = discover(root)
        if found.names != workspace.members:
            raise SystemExit(f"discover() found {len(found.names)} members, not {args.members}")

        def time_discover() -> float:
            start = time.perf_counter()
            discover(root)
            return time.perf_counter() - start

        def time_parse() -> float:
            start = time.perf_counter()
            parse_only(files)
            return time.perf_counter() - start

        # The cache as a -j process finds it: written by an earlier load, files unchanged for
        # longer than the cache's racy window (the files' times are set back to make it so).
        cache = root / ".nox"
        cache.mkdir()
        past = time.time() - 60
        for path in files:
            os.utime(path, (past, past))
        time.sleep(2.1)  # the files' ctime is now: let it age past the racy window
        discover(root, cache=cache)

        def time_cached() -> float:
            start = time.perf_counter()
            discover(root, cache=cache)
            return time.perf_counter() - start

        results = interleave(
            {"discover": time_discover, "tomllib": time_parse, "cached": time_cached},
            args.repeat,
            warmup=10,
        )
        print(versions(workspace.uv, ["nox-workspace"]))
        print(load_note())
        print(
            f"{args.members} members, {len(files)} pyproject.toml files, "
            f"{args.repeat} interleaved repeats, medians:"
        )
        row = Row(
            f"discover() vs read+tomllib ({args.members} members)",
            results["discover"],
            results["tomllib"],
            TARGET,
        )
        cached = Row(
            "  ref: discover() from the .nox/ cache vs read+tomllib",
            results["cached"],
            results["tomllib"],
            None,
        )
        print_table([row, cached], peer_label="tomllib")
        print_table([cli_row(root, args.cli_repeat)], peer_label="floor")
        floor = median(results["tomllib"])
        print(
            f"discover() spends {median(results['discover']) - floor:.4f} s beyond parsing "
            f"({(median(results['discover']) - floor) / args.members * 1e6:.0f} us per member)"
        )
        if args.profile or row.status == "over":
            print_profile(root)
    return 0


def cli_row(root: Path, repeat: int) -> Row:
    """``members`` as a user runs it, against Python's start-up plus discovery alone."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    floor = f"from nox_workspace._workspace import discover; discover({str(root)!r})"

    def run(argv: Sequence[str]) -> float:
        start = time.perf_counter()
        subprocess.run(argv, cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start

    results = interleave(
        {
            "members": lambda: run([sys.executable, "-m", "nox_workspace", "members"]),
            "floor": lambda: run([sys.executable, "-c", floor]),
        },
        repeat,
        warmup=2,
    )
    return Row(
        "python -m nox_workspace members vs start-up + discover()",
        results["members"],
        results["floor"],
        CLI_TARGET,
    )


def print_profile(root: Path, rounds: int = 50) -> None:
    """Profile ``discover(root)`` and print where its time goes, by own and cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(rounds):
        discover(root)
    profiler.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order)
        stats.print_stats(18)
        print(f"\n--- cProfile of {rounds} x discover(), by {order} ---")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])


if __name__ == "__main__":
    raise SystemExit(main())
