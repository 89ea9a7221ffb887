"""``check`` vs ``uv pip list``: reporting leaks in a shared venv against merely listing it.

Target (issue): ``python -m nox_workspace check --all`` runs in well under a second on an
80-member workspace whose shared venv holds 300 distributions. The peer is
``uv pip list --format json`` on the same venv (what uv itself needs to list it); the script
prints both medians, their ratio, and the absolute time against the one-second budget.

The venv: ``uv sync --all-packages`` of the generated workspace (80 members and their wheels),
topped up to 300 distributions with hand-made ``*.dist-info`` folders (each one a leak for every
member, so the report names who brings nothing: the slowest path, with every owner lookup).

Usage: ``python benchmarks/bench_check.py [--members N] [--packages P] [--repeat K]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Row,
    interleave,
    load_note,
    make_workspace,
    median,
    print_table,
    run_checked,
    time_command,
    versions,
)

BUDGET = 1.0


def top_up(venv: Path, total: int) -> int:
    """Add ``*.dist-info`` folders until the venv holds ``total`` distributions; the count."""
    (site,) = sorted(venv.glob("lib/python*/site-packages"))
    present = len(list(site.glob("*.dist-info")))
    for index in range(max(0, total - present)):
        info = site / f"filler_{index:03d}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: filler-{index:03d}\nVersion: 1.0\n", encoding="utf-8"
        )
        (info / "RECORD").write_text(f"{info.name}/METADATA,,\n", encoding="utf-8")
    return len(list(site.glob("*.dist-info")))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--members", type=int, default=80, help="workspace size (default 80)")
    parser.add_argument("--packages", type=int, default=300, help="venv size (default 300)")
    parser.add_argument("--repeat", type=int, default=15, help="timed repeats (default 15)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="nox-workspace-bench-") as folder:
        workspace = make_workspace(Path(folder), args.members)
        root, env = workspace.root, workspace.env
        venv = root / ".venv"
        run_checked(
            [workspace.uv, "sync", "--all-packages", "--frozen", "--python", sys.executable],
            root,
            env,
        )
        held = top_up(venv, args.packages)
        ours = [sys.executable, "-m", "nox_workspace", "check", "--all", "--json"]
        peer = [workspace.uv, "pip", "list", "--format", "json", "--python", str(venv)]

        def run_ours() -> float:
            # check exits 1 here (everything leaks); time it without failing the benchmark.
            import subprocess
            import time

            start = time.perf_counter()
            proc = subprocess.run(ours, cwd=root, env=env, capture_output=True, check=False)
            seconds = time.perf_counter() - start
            if proc.returncode != 1:
                raise SystemExit(f"check failed ({proc.returncode}): {proc.stderr.decode()}")
            return seconds

        results = interleave(
            {"ours": run_ours, "peer": lambda: time_command(peer, root, env)},
            args.repeat,
            warmup=2,
        )
        print(versions(workspace.uv, ["nox-workspace"]))
        print(load_note())
        print(f"{args.members} members, {held} distributions in the venv, {args.repeat} repeats")
        print_table(
            [
                Row(
                    f"`check --all` vs `uv pip list`, {held} distributions",
                    results["ours"],
                    results["peer"],
                    None,
                )
            ],
            peer_label="uv pip list",
        )
        seconds = median(results["ours"])
        verdict = "OK" if seconds < BUDGET else "over"
        print(f"check --all: {seconds:.3f} s against a budget of {BUDGET:.1f} s: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
