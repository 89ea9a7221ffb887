"""Shared pieces of the benchmark scripts: an offline workspace generator and timing helpers.

Everything runs offline. Third-party packages are tiny wheels written straight into a
wheelhouse (with the demo's ``make_wheel``), the workspace root points uv at it with
``no-index`` and ``find-links``, members are built with ``uv_build`` (part of uv), and
``uv lock`` runs once. The uv cache is private to the temporary folder and warmed before any
timing, so each measurement sees a warm cache.

The environment handed to every tool is cleaned the same way for both sides of a comparison:
no ``PYTHON*`` variables (``PYTHONDONTWRITEBYTECODE`` would hide the bytecode compile a user
pays in a fresh venv), no inherited ``UV_*``/``NOX*``/``TOX*``/``VIRTUAL_ENV``, and real
interpreters ahead of any version-manager shims on ``PATH``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BenchWorkspace",
    "Row",
    "bench_env",
    "download_pytest",
    "find_uv",
    "interleave",
    "load_make_wheel",
    "load_note",
    "make_workspace",
    "median",
    "module_name",
    "print_table",
    "run_checked",
    "time_command",
    "versions",
]

REPO = Path(__file__).resolve().parents[1]
_MAKE_WHEELHOUSE = REPO / "examples" / "demo" / "make_wheelhouse.py"

#: How many members are "core": they depend on third-party wheels only.
_CORE = 8


def load_make_wheel() -> Callable[..., Path]:
    """The demo's wheel writer, loaded from its file (one implementation for demo and tests)."""
    spec = importlib.util.spec_from_file_location("make_wheelhouse", _MAKE_WHEELHOUSE)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {_MAKE_WHEELHOUSE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    writer: Callable[..., Path] = module.make_wheel
    return writer


def find_uv() -> str:
    """The uv executable: the ``uv`` package beside this Python, else ``uv`` on ``PATH``."""
    try:
        from uv import find_uv_bin

        found: str = find_uv_bin()
        return found
    except (ImportError, FileNotFoundError):
        pass
    on_path = shutil.which("uv")
    if on_path is None:
        raise SystemExit("uv is not installed: pip install uv")
    return on_path


def _real_path() -> str:
    """``PATH`` with this interpreter's folder (and its base interpreter's) first.

    Version managers put shims early on ``PATH``; uv's interpreter discovery can trip over
    them. The folder of ``sys.executable`` also holds the ``nox``/``tox``/``uv`` of this
    environment.
    """
    front = [str(Path(sys.executable).parent)]
    base_bin = Path(sys.base_prefix) / ("Scripts" if os.name == "nt" else "bin")
    if base_bin.is_dir():
        front.append(str(base_bin))
    rest = [part for part in os.environ.get("PATH", "").split(os.pathsep) if part]
    return os.pathsep.join(dict.fromkeys([*front, *rest]))


def bench_env(cache_dir: Path) -> dict[str, str]:
    """A clean, offline environment with a private uv cache, the same for every tool."""
    dropped = ("PYTHON", "UV_", "NOX", "TOX", "VIRTUAL_ENV", "CONDA_PREFIX", "PIP_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    env.update(
        PATH=_real_path(),
        UV_OFFLINE="1",
        UV_NO_PROGRESS="1",
        UV_PYTHON_DOWNLOADS="never",
        UV_CACHE_DIR=str(cache_dir),
    )
    return env


def module_name(name: str) -> str:
    """The import name of a member or wheel called ``name``."""
    return name.replace("-", "_").replace(".", "_").lower()


@dataclass(frozen=True)
class BenchWorkspace:
    """A generated workspace: ``root``, member names (sorted), and how to run tools on it."""

    root: Path
    wheelhouse: Path
    members: tuple[str, ...]
    depends_on: Mapping[str, tuple[str, ...]]
    env: dict[str, str] = field(repr=False)
    uv: str

    def pyprojects(self) -> list[Path]:
        """Every ``pyproject.toml`` of the workspace: the root's, then each member's."""
        return [self.root / "pyproject.toml"] + [
            self.root / "packages" / name / "pyproject.toml" for name in self.members
        ]

    def pick_member(self) -> str:
        """A member with workspace dependencies (a realistic single-member session)."""
        with_edges = [name for name in self.members if self.depends_on[name]]
        if not with_edges:
            return self.members[len(self.members) // 2]
        return max(with_edges, key=lambda name: (len(self.depends_on[name]), name))

    def warm(self, root: Path | None = None) -> None:
        """Fill the uv cache: sync every member once into a throwaway venv."""
        where = root if root is not None else self.root
        scratch = where.parent / f".warm-{where.name}"
        env = {**self.env, "UV_PROJECT_ENVIRONMENT": str(scratch)}
        run_checked(
            [self.uv, "sync", "--all-packages", "--locked", "--python", sys.executable],
            where,
            env,
        )
        shutil.rmtree(scratch, ignore_errors=True)


def _toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def download_pytest(folder: Path) -> list[Path]:
    """Wheels of this interpreter's pytest and its dependencies, fetched once with pip (the
    only step that needs the network); the workspace's wheelhouse gets copies. The
    dependencies behind markers (Windows, older Pythons) are named too: ``uv lock`` resolves
    for every platform."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = [
        f"pytest=={importlib.metadata.version('pytest')}",
        "colorama",
        "exceptiongroup",
        "tomli",
        "typing-extensions",
    ]
    run_checked(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--only-binary=:all:",
            "-d",
            str(folder),
            *wanted,
        ],
        folder,
        {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")},
    )
    return sorted(folder.glob("*.whl"))


def make_workspace(
    parent: Path, members: int = 80, *, lock: bool = True, test_wheels: Sequence[Path] = ()
) -> BenchWorkspace:
    """Write an offline workspace of ``members`` packages under ``parent / "ws"``.

    Layout: a virtual root (``packages/*``), a wheelhouse of 12 tiny wheels (some requiring
    others) beside the root, members ``member-00``... built with ``uv_build``. Each member
    needs one or two wheels; members past the first 8 depend on a core member, and every
    third one also on its predecessor, so closures hold a few members each. With
    ``test_wheels`` (pytest's, see :func:`download_pytest`) each member also has a ``dev``
    group holding ``pytest`` and a ``tests/`` folder with one test of its module.
    """
    if members < 1:
        raise ValueError("members must be at least 1")
    make_wheel = load_make_wheel()
    wheelhouse = parent / "wheelhouse"
    wheels = [f"tinylib{index:02d}" for index in range(12)]
    for index, wheel in enumerate(wheels):
        requires = [f"{wheels[index - 1]}>=1"] if index % 4 else []
        make_wheel(wheelhouse, wheel, "1.0", requires)
    for wheel_file in test_wheels:
        shutil.copy2(wheel_file, wheelhouse / wheel_file.name)

    root = parent / "ws"
    (root / "packages").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        "[tool.uv.workspace]\n"
        'members = ["packages/*"]\n\n'
        "[tool.uv]\n"
        "no-index = true\n"
        f'find-links = ["{wheelhouse.as_posix()}"]\n',
        encoding="utf-8",
    )
    width = max(2, len(str(members - 1)))
    names = [f"member-{index:0{width}d}" for index in range(members)]
    depends_on: dict[str, tuple[str, ...]] = {}
    for index, name in enumerate(names):
        internal: list[str] = []
        if index >= _CORE:
            internal.append(names[index % _CORE])
            if index % 3 == 0 and names[index - 1] not in internal:
                internal.append(names[index - 1])
        depends_on[name] = tuple(internal)
        third_party = [wheels[index % len(wheels)]]
        if index % 2:
            third_party.append(wheels[(index * 5 + 3) % len(wheels)])
        lines = [
            "[project]",
            f'name = "{name}"',
            'version = "0.1.0"',
            'description = "A generated benchmark member."',
            'requires-python = ">=3.10"',
            f"dependencies = {_toml_list([*dict.fromkeys(third_party), *internal])}",
            "",
        ]
        if test_wheels:
            lines += ["[dependency-groups]", 'dev = ["pytest"]', ""]
        if internal:
            lines.append("[tool.uv.sources]")
            lines += [f"{target} = {{ workspace = true }}" for target in internal]
            lines.append("")
        lines += [
            "[build-system]",
            'requires = ["uv_build>=0.8,<0.20"]',
            'build-backend = "uv_build"',
        ]
        member_dir = root / "packages" / name
        package = member_dir / "src" / module_name(name)
        package.mkdir(parents=True)
        (member_dir / "pyproject.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        imports = "".join(f"import {module_name(dep)}  # noqa: F401\n" for dep in internal)
        (package / "__init__.py").write_text(f"{imports}NAME = {name!r}\n", encoding="utf-8")
        if test_wheels:
            tests = member_dir / "tests"
            tests.mkdir()
            (tests / f"test_{module_name(name)}.py").write_text(
                f"import {module_name(name)}\n\n\n"
                f"def test_name() -> None:\n    assert {module_name(name)}.NAME == {name!r}\n",
                encoding="utf-8",
            )

    env = bench_env(parent / "uv-cache")
    workspace = BenchWorkspace(
        root=root,
        wheelhouse=wheelhouse,
        members=tuple(names),
        depends_on=depends_on,
        env=env,
        uv=find_uv(),
    )
    if lock:
        run_checked([workspace.uv, "lock", "--python", sys.executable], root, env)
    return workspace


def run_checked(
    argv: Sequence[str], cwd: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run ``argv``; on failure, stop the benchmark with the command's output."""
    proc = subprocess.run(
        list(argv), cwd=cwd, env=dict(env), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(
            f"command failed ({proc.returncode}): {' '.join(argv)}\n"
            f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
        )
    return proc


def time_command(argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> float:
    """Wall-clock seconds of one run of ``argv`` (which must succeed)."""
    start = time.perf_counter()
    run_checked(argv, cwd, env)
    return time.perf_counter() - start


def interleave(
    cases: Mapping[str, Callable[[], float]], repeat: int, *, warmup: int = 0
) -> dict[str, list[float]]:
    """Run each case ``repeat`` times, interleaved, alternating the order on each repeat.

    Each case returns the seconds it measured (so it can do untimed setup first). ``warmup``
    rounds run the same way and are thrown away.
    """
    names = list(cases)
    results: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(warmup + repeat):
        order = names if round_ % 2 == 0 else names[::-1]
        for name in order:
            seconds = cases[name]()
            if round_ >= warmup:
                results[name].append(seconds)
    return results


def median(values: Sequence[float]) -> float:
    """The median; a benchmark reports it rather than the mean."""
    return statistics.median(values)


@dataclass(frozen=True)
class Row:
    """One line of the results table: ours vs the peer, and the target ratio."""

    measurement: str
    ours: Sequence[float]
    peer: Sequence[float]
    target: float | None  # None: a reference line, shown but not judged

    @property
    def ratio(self) -> float:
        return median(self.ours) / median(self.peer)

    @property
    def ok(self) -> bool:
        """Within the target (a reference line always is)."""
        return self.target is None or self.ratio <= self.target

    @property
    def status(self) -> str:
        if self.target is None:
            return "ref"
        return "OK" if self.ratio <= self.target else "over"


def print_table(rows: Sequence[Row], *, peer_label: str = "peer") -> None:
    """Print measurement, both medians (seconds), the ratio, the target and OK/over."""
    header = ("measurement", "ours (s)", f"{peer_label} (s)", "ratio", "target", "status")
    lines = [
        (
            row.measurement,
            f"{median(row.ours):.4f}",
            f"{median(row.peer):.4f}",
            f"{row.ratio:.2f}",
            "-" if row.target is None else f"<= {row.target:.2f}",
            row.status,
        )
        for row in rows
    ]
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]
    for cells in [header, tuple("-" * width for width in widths), *lines]:
        print(
            "  ".join(
                cell.ljust(width) if i == 0 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()
        )


def versions(uv: str, distributions: Sequence[str]) -> str:
    """One line naming Python, uv and the given distributions' versions (or 'missing')."""
    parts = [f"Python {sys.version.split()[0]}"]
    proc = subprocess.run([uv, "--version"], capture_output=True, text=True, check=False)
    parts.append(proc.stdout.strip() or "uv ?")
    for name in distributions:
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            spec = importlib.util.find_spec(module_name(name))
            where = spec.origin if spec is not None else None
            parts.append(
                f"{name} (not installed; imported from {where})" if where else f"{name} missing"
            )
    parts.append(f"{os.cpu_count()} CPUs")
    return ", ".join(parts)


def load_note() -> str:
    """The 1-minute load average against the CPU count: timings mean little on a busy machine."""
    if not hasattr(os, "getloadavg"):
        return "load average: unknown"
    load = os.getloadavg()[0]
    cpus = os.cpu_count() or 1
    warning = "  (busy: other processes share the CPUs; rerun when idle)" if load > cpus / 2 else ""
    return f"load average (1 min): {load:.2f} on {cpus} CPUs{warning}"
