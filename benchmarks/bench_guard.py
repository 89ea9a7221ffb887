"""The import guard's overhead: a pytest run importing 200 modules, with and without it.

Target (issue): ``pytest -p nox_workspace.guard --nw-member app`` costs at most 1.05 times the
same ``pytest`` run without the guard. The workspace has one member, ``app``, that depends on
200 tiny wheels; its test folder holds 20 test modules that each import all 200 modules (the
first import loads them, the other 3,980 find them in ``sys.modules`` and still pass through
the guard) and run one test. Both runs use the same venv, synced by uv, with pytest and this
package re-packed from the running interpreter's installs (offline, no Nox in the venv).

pytest's cache is on, as by default: the guard keeps its plan (the closure) and its module map
there and reuses them while ``uv.lock``, the ``pyproject.toml`` files and the ``sys.path``
folders are unchanged. A reference line shows both sides with ``-p no:cacheprovider``, where
every run discovers the workspace, reads the lock and maps the modules again.

Usage: ``python benchmarks/bench_guard.py [--modules N] [--repeat K]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import (
    REPO,
    Row,
    bench_env,
    find_uv,
    interleave,
    load_make_wheel,
    load_note,
    print_table,
    run_checked,
    time_command,
    versions,
)
from tests.functional.shared_venv import install_pytest_and_guard, tool_wheelhouse

TARGET = 1.05


def build(parent: Path, modules: int, test_files: int) -> tuple[Path, dict[str, str], str]:
    """The workspace, its synced ``.venv`` with pytest, the environment and uv."""
    make_wheel = load_make_wheel()
    wheelhouse = parent / "wheelhouse"
    names = [f"bench_mod_{index:03d}" for index in range(modules)]
    for name in names:
        make_wheel(wheelhouse, name, "1.0")
    root = parent / "ws"
    member = root / "packages" / "app"
    (member / "src" / "app").mkdir(parents=True)
    (member / "src" / "app" / "__init__.py").write_text("", encoding="utf-8")
    (root / "pyproject.toml").write_text(
        '[tool.uv.workspace]\nmembers = ["packages/*"]\n[tool.uv]\nno-index = true\n'
        f'find-links = ["{wheelhouse.as_posix()}"]\n',
        encoding="utf-8",
    )
    deps = ", ".join(f'"{name}"' for name in names)
    (member / "pyproject.toml").write_text(
        f'[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        f"dependencies = [{deps}]\n"
        '[build-system]\nrequires = ["uv_build>=0.8,<0.20"]\nbuild-backend = "uv_build"\n',
        encoding="utf-8",
    )
    imports = "".join(f"import {name}\n" for name in names)
    for index in range(test_files):
        (member / "tests").mkdir(exist_ok=True)
        (member / "tests" / f"test_{index:02d}.py").write_text(
            f"{imports}\n\ndef test_{index:02d}():\n    assert {names[-1]}.__version__\n",
            encoding="utf-8",
        )
    env = bench_env(parent / "uv-cache")
    uv = find_uv()
    run_checked([uv, "lock", "--python", sys.executable], root, env)
    run_checked([uv, "sync", "--all-packages", "--frozen", "--python", sys.executable], root, env)
    tools = tool_wheelhouse(parent / "tools")
    install_pytest_and_guard(root / ".venv", tools, {**env, "UV_PYTHON": sys.executable})
    return root, env, uv


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--modules", type=int, default=200, help="modules imported (200)")
    parser.add_argument("--repeat", type=int, default=15, help="timed repeats (default 15)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="nox-workspace-bench-") as folder:
        root, env, uv = build(Path(folder), args.modules, 20)
        pytest = [str(root / ".venv" / "bin" / "python"), "-m", "pytest", "-q"]
        pytest += ["packages/app/tests"]
        guarded = [*pytest, "-p", "nox_workspace.guard", "--nw-member", "app"]
        no_cache = ["-p", "no:cacheprovider"]
        results = interleave(
            {
                "guard": lambda: time_command(guarded, root, env),
                "plain": lambda: time_command(pytest, root, env),
                "guard, no cache": lambda: time_command([*guarded, *no_cache], root, env),
                "plain, no cache": lambda: time_command([*pytest, *no_cache], root, env),
            },
            args.repeat,
            warmup=2,
        )
        print(versions(uv, ["nox-workspace", "pytest"]))
        print(load_note())
        print(f"{args.modules} modules, 20 test modules, {args.repeat} repeats; repo {REPO.name}")
        print_table(
            [
                Row("pytest with the guard vs without", results["guard"], results["plain"], TARGET),
                Row(
                    "ref: the same with -p no:cacheprovider (every run plans afresh)",
                    results["guard, no cache"],
                    results["plain, no cache"],
                    None,
                ),
            ],
            peer_label="no guard",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
