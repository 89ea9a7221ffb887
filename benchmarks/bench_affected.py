"""What ``affected --since`` and ``matrix --since`` cost on a large workspace, against a floor.

The floor of any lock-aware answer is reading the lock twice (the base revision's and the
working tree's) and asking git what changed. This script builds, in a temporary folder, a git
repository holding a workspace of 80 members and a ``uv.lock`` of about 1 MB (synthesized in
uv's format: registry packages with sdists and wheels, members with editable sources,
dependency groups and markers), commits it, then changes one member's file and bumps one
third-party package in the lock (in one scenario a package one member uses, in the other one
every member uses: every closure changes), and measures:

* ``affected``: ``affected_since`` in this process, from discovery to the answer;
* ``matrix``: ``run_matrix`` with ``--since`` in this process, for a noxfile with one
  session per member (loaded once, before timing): the rows, their keys and the decision;
* ``floor``: two ``tomllib`` parses of the lock plus the same git calls, run the same way
  (for the matrix, plus the git calls that list the workspace's files for the keys).

It prints both (the best of several rounds in which they take turns) and their ratio. Run it
with the interpreter that has nox-workspace installed:
``python benchmarks/bench_affected.py [--members 80] [--runs 7]``.
Nothing is downloaded; no uv call is made.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nox_workspace._affected import affected_since
from nox_workspace._cli import load_noxfile
from nox_workspace._lock import clear_lock_cache
from nox_workspace._matrix import MatrixOptions, run_matrix
from nox_workspace._workspace import discover

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

REGISTRY = "https://pypi.org/simple"
#: One session per member, each syncing its member's default groups.
NOXFILE = """
import nox_workspace


@nox_workspace.session()
def test(session, target):
    pass
"""
MARKERS = (
    None,
    "sys_platform == 'win32'",
    "python_full_version < '3.12'",
    "platform_machine == 'x86_64' and sys_platform == 'linux'",
)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _third_party(name: str, version: str, deps: list[tuple[str, str | None]]) -> str:
    """A registry ``[[package]]`` table as uv writes it: dependencies, an sdist, wheels."""
    lines = [
        "[[package]]",
        f'name = "{name}"',
        f'version = "{version}"',
        f'source = {{ registry = "{REGISTRY}" }}',
    ]
    if deps:
        lines.append("dependencies = [")
        for dep, marker in deps:
            suffix = f', marker = "{marker}"' if marker else ""
            lines.append(f'    {{ name = "{dep}"{suffix} }},')
        lines.append("]")
    url = f"https://files.example.org/packages/{_sha(name)[:2]}/{_sha(name)[2:4]}"
    lines.append(
        f'sdist = {{ url = "{url}/{name}-{version}.tar.gz", '
        f'hash = "sha256:{_sha(name + version)}", size = {1000 + len(name) * 37}, '
        'upload-time = "2025-01-01T00:00:00Z" }'
    )
    lines.append("wheels = [")
    for tag in ("cp311-cp311-manylinux_2_17_x86_64", "cp312-cp312-win_amd64", "py3-none-any"):
        lines.append(
            f'    {{ url = "{url}/{name}-{version}-{tag}.whl", '
            f'hash = "sha256:{_sha(name + version + tag)}", size = {2000 + len(tag) * 11}, '
            'upload-time = "2025-01-01T00:00:00Z" },'
        )
    lines.append("]")
    return "\n".join(lines) + "\n"


def _member(name: str, folder: str, deps: list[str], group_deps: list[str]) -> tuple[str, str]:
    """A member's lock table and its ``pyproject.toml``."""
    lines = ["[[package]]", f'name = "{name}"', 'version = "0.1.0"']
    lines.append(f'source = {{ editable = "{folder}" }}')
    if deps:
        lines.append("dependencies = [")
        lines += [f'    {{ name = "{dep}" }},' for dep in deps]
        lines.append("]")
    if group_deps:
        lines.append("\n[package.dev-dependencies]\ndev = [")
        lines += [f'    {{ name = "{dep}" }},' for dep in group_deps]
        lines.append("]")
    lines.append("\n[package.metadata]")
    lines.append("requires-dist = [" + ", ".join(f'{{ name = "{d}" }}' for d in deps) + "]")
    if group_deps:
        lines.append("\n[package.metadata.requires-dev]")
        lines.append("dev = [" + ", ".join(f'{{ name = "{d}" }}' for d in group_deps) + "]")
    table = "\n".join(lines) + "\n"

    members = [d for d in deps + group_deps if d.startswith("member-")]
    pyproject = [
        "[project]",
        f'name = "{name}"',
        'version = "0.1.0"',
        'requires-python = ">=3.10"',
        "dependencies = [" + ", ".join(f'"{d}"' for d in deps) + "]",
    ]
    if group_deps:
        pyproject += [
            "[dependency-groups]",
            "dev = [" + ", ".join(f'"{d}"' for d in group_deps) + "]",
        ]
    if members:
        pyproject.append("[tool.uv.sources]")
        pyproject += [f"{d} = {{ workspace = true }}" for d in members]
    pyproject += ["[build-system]", 'requires = ["uv_build"]', 'build-backend = "uv_build"']
    return table, "\n".join(pyproject) + "\n"


def build(root: Path, members: int, packages: int, seed: int = 7) -> dict[str, tuple[str, str]]:
    """Write the workspace and its lock below ``root``.

    Returns the packages a scenario bumps, name and version: ``one`` is used by the last
    member alone, ``shared`` by every member (through its ``dev`` group).
    """
    rng = random.Random(seed)
    names = [f"pkg-{index:04d}" for index in range(packages)]
    versions = {
        name: f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}" for name in names
    }
    tables: dict[str, str] = {}
    for index, name in enumerate(names):
        pool = names[index + 1 : index + 40]
        deps = sorted(rng.sample(pool, min(len(pool), rng.randint(0, 3))))
        tables[name] = _third_party(name, versions[name], [(d, rng.choice(MARKERS)) for d in deps])
    member_names = [f"member-{index:03d}" for index in range(members)]
    shared = "pkg-shared"
    tables[shared] = _third_party(shared, "1.0.0", [])
    for index, name in enumerate(member_names):
        folder = f"packages/{name}"
        solo = f"solo-{index:03d}"
        tables[solo] = _third_party(solo, "1.0.0", [])
        deps = sorted([solo, *rng.sample(names, 5)])
        if index >= 1 and rng.random() < 0.3:
            deps.append(rng.choice(member_names[:index]))
        group_deps = sorted([shared, *rng.sample(names, 1)])
        table, pyproject = _member(name, folder, deps, group_deps)
        tables[name] = table
        module = name.replace("-", "_")
        (root / folder / "src" / module).mkdir(parents=True)
        (root / folder / "pyproject.toml").write_text(pyproject)
        (root / folder / "src" / module / "__init__.py").write_text(f"NAME = {name!r}\n")
    header = [
        "version = 1",
        "revision = 3",
        'requires-python = ">=3.10"',
        "",
        "[manifest]",
        "members = [" + ", ".join(f'"{m}"' for m in member_names) + "]",
        "",
    ]
    body = "\n".join(tables[name] for name in sorted(tables))
    (root / "uv.lock").write_text("\n".join(header) + "\n" + body)
    (root / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["packages/*"]\n')
    (root / "README.md").write_text("# bench\n")
    (root / "noxfile.py").write_text(NOXFILE)
    return {"one": (f"solo-{members - 1:03d}", "1.0.0"), "shared": (shared, "1.0.0")}


def bump(lock: Path, base: str, package: tuple[str, str]) -> None:
    """Write ``base`` with ``package`` at a new version, as a re-lock that bumps it would."""
    name, version = package
    old = f'name = "{name}"\nversion = "{version}"'
    assert old in base
    lock.write_text(base.replace(old, f'name = "{name}"\nversion = "{version}.post1"'))


def git(root: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.org", *args],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout


def floor(root: Path, lock_text: str) -> None:
    """Two tomllib parses of the lock and the git calls ``affected --since`` makes."""
    commit = git(root, "rev-parse", "--show-prefix", "--verify", "HEAD^{commit}").split()[-1]
    git(root, "diff", "--name-only", "--no-renames", "--no-ext-diff", "-z", commit.decode(), "--")
    git(root, "ls-files", "--others", "--exclude-standard", "--full-name", "-z")
    old = git(root, "show", f"{commit.decode()}:uv.lock").decode()
    tomllib.loads(old)
    tomllib.loads(lock_text)


def matrix_floor(root: Path, lock_text: str) -> None:
    """The floor, plus the git calls that list the files (and their blob ids) for the keys."""
    floor(root, lock_text)
    git(root, "ls-files", "-s", "-z")
    git(root, "diff", "--name-only", "--no-renames", "--relative", "-z")
    git(root, "ls-files", "--others", "--exclude-standard", "-z")


def best_of(runs: int, *actions: Callable[[], object]) -> list[float]:
    """The best time of each action over ``runs`` rounds, the actions taking turns in each
    round, so that a busy machine slows them alike."""
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(runs):
        for action, spent in zip(actions, times, strict=True):
            clear_lock_cache()
            start = time.perf_counter()
            action()
            spent.append(time.perf_counter() - start)
    return [min(spent) for spent in times]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--members", type=int, default=80)
    parser.add_argument("--packages", type=int, default=760, help="third-party packages")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temporary repository")
    args = parser.parse_args()
    if shutil.which("git") is None:
        print("git is not installed", file=sys.stderr)
        return 1
    folder = Path(tempfile.mkdtemp(prefix="bench-affected-"))
    try:
        root = folder / "ws"
        root.mkdir()
        bumped = build(root, args.members, args.packages)
        git(root, "init", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "base")
        lock = root / "uv.lock"
        base = lock.read_text()
        (root / "packages/member-005/src/member_005/__init__.py").write_text("CHANGED = 1\n")
        print(f"workspace: {args.members} members, uv.lock {len(base.encode()) / 1e6:.2f} MB")
        generated = load_noxfile(root / "noxfile.py")
        options = MatrixOptions(fmt="json", since="HEAD")
        noxfile = root / "noxfile.py"
        for scenario, what in (
            ("one", "a package one member uses"),
            ("shared", "a package every member uses"),
        ):
            bump(lock, base, bumped[scenario])
            lock_text = lock.read_text()
            result = affected_since(discover(root), "HEAD")
            rows = json.loads(run_matrix(options, generated, noxfile=noxfile))
            affected_time, floor_time, matrix_time, matrix_floor_time = best_of(
                args.runs,
                lambda: affected_since(discover(root), "HEAD"),
                lambda: floor(root, lock_text),  # noqa: B023
                lambda: run_matrix(options, generated, noxfile=noxfile),
                lambda: matrix_floor(root, lock_text),  # noqa: B023
            )
            print(f"scenario: one member file changed, uv.lock bumps {what}")
            print(f"  affected: {len(result.affected)} of {len(result.members)} members")
            print(f"  affected --since, in process: {affected_time * 1000:.1f} ms")
            print(f"  floor (2 tomllib parses + git calls): {floor_time * 1000:.1f} ms")
            print(f"  ratio: {affected_time / floor_time:.2f}")
            print(f"  matrix --since: {len(rows)} of {args.members} rows")
            print(f"  matrix --since, in process: {matrix_time * 1000:.1f} ms")
            print(f"  floor (+ git calls listing the files): {matrix_floor_time * 1000:.1f} ms")
            print(f"  ratio: {matrix_time / matrix_floor_time:.2f}")
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
