"""Building blocks for tests: tiny wheels, offline workspaces and the real uv.

Nothing here reaches the network. Third-party packages are wheels written directly as zip
files into a wheelhouse, with a fixed timestamp so that they are byte-reproducible; test
workspaces point uv at that wheelhouse with ``no-index`` and ``find-links``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from packaging.utils import canonicalize_name

_DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo"


#: PEP 508 marker values of CPython 3.11 on Linux x86_64: the environment unit tests evaluate
#: markers and closures in.
LINUX_311: dict[str, str] = {
    "implementation_name": "cpython",
    "implementation_version": "3.11.7",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_release": "6.1.0",
    "platform_system": "Linux",
    "platform_version": "#1 SMP",
    "python_full_version": "3.11.7",
    "python_version": "3.11",
    "sys_platform": "linux",
}


def _load_wheel_writer() -> Callable[..., Path]:
    """The demo's wheel writer: one implementation serves the demo and the tests."""
    spec = importlib.util.spec_from_file_location("make_wheelhouse", _DEMO / "make_wheelhouse.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    writer: Callable[..., Path] = module.make_wheel
    return writer


#: ``make_wheel(wheelhouse, name, version="1.0", requires=(), extras=None) -> Path``
make_wheel = _load_wheel_writer()


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> None:
    """Write ``files`` (relative path -> text, dedented, or raw bytes) below ``root``."""
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")


def toml_list(items: Iterable[str]) -> str:
    """Render strings as an inline TOML array."""
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def member_toml(
    name: str,
    *,
    dependencies: Sequence[str] = (),
    extras: Mapping[str, Sequence[str]] | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    workspace_sources: Sequence[str] = (),
    packaged: bool = True,
    requires_python: str = ">=3.10",
    extra_toml: str = "",
) -> str:
    """A member's ``pyproject.toml``: built with ``uv_build`` (part of uv) unless not packaged."""
    lines = [
        "[project]",
        f'name = "{name}"',
        'version = "0.1.0"',
        f'requires-python = "{requires_python}"',
        f"dependencies = {toml_list(dependencies)}",
    ]
    if extras:
        lines.append("[project.optional-dependencies]")
        lines.extend(f'"{extra}" = {toml_list(reqs)}' for extra, reqs in extras.items())
    if groups:
        lines.append("[dependency-groups]")
        lines.extend(f'"{group}" = {toml_list(reqs)}' for group, reqs in groups.items())
    if workspace_sources:
        lines.append("[tool.uv.sources]")
        lines.extend(f'"{source}" = {{ workspace = true }}' for source in workspace_sources)
    if packaged:
        lines += [
            "[build-system]",
            'requires = ["uv_build>=0.8,<0.20"]',
            'build-backend = "uv_build"',
        ]
    text = "\n".join(lines) + "\n"
    return text + textwrap.dedent(extra_toml)


def package_sources(root: Path, member_dir: str, name: str) -> None:
    """Give a packaged member the ``src/<module>/__init__.py`` that ``uv_build`` expects."""
    module = canonicalize_name(name).replace("-", "_")
    write_tree(root / member_dir, {f"src/{module}/__init__.py": f"NAME = {name!r}\n"})


def offline_index(wheelhouse: Path) -> str:
    """The root ``[tool.uv]`` lines that make uv resolve from ``wheelhouse`` only."""
    return f'no-index = true\nfind-links = ["{wheelhouse.as_posix()}"]\n'


def real_python_path() -> str:
    """``PATH`` with real interpreters ahead of pyenv's shims, which confuse uv's discovery."""
    parts = [str(Path(sys.executable).parent)]
    pyenv_versions = Path.home() / ".pyenv" / "versions"
    if pyenv_versions.is_dir():
        for version in sorted(pyenv_versions.iterdir(), reverse=True):
            if version.name.startswith("3.") and (version / "bin").is_dir():
                parts.append(str(version / "bin"))
    parts.append(os.environ.get("PATH", ""))
    return os.pathsep.join(parts)


def tool_env(cache_dir: Path | None = None) -> dict[str, str]:
    """An environment for running uv and nox offline and quietly in tests."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("UV_", "VIRTUAL_ENV", "NOX"))
    }
    env.update(
        PATH=real_python_path(),
        UV_OFFLINE="1",
        UV_NO_PROGRESS="1",
        UV_PYTHON_DOWNLOADS="never",
        UV_PYTHON=sys.executable,
    )
    if cache_dir is not None:
        env["UV_CACHE_DIR"] = str(cache_dir)
    return env


def uv_bin() -> str:
    """The uv executable that comes with the ``uv`` package installed beside the tests."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise RuntimeError("uv is not installed; pip install uv") from None
        return found


def run_uv(
    args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the real uv; raise with its stderr when ``check`` and it fails."""
    proc = subprocess.run(
        [uv_bin(), *args],
        cwd=cwd,
        env=dict(env) if env is not None else tool_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"uv {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def uv_export_packages(
    root: Path, args: Sequence[str], env: Mapping[str, str]
) -> frozenset[tuple[str, str | None]] | str:
    """What ``uv export --frozen --format pylock.toml ARGS`` lists, as (name, version) pairs.

    Local packages (editable members, directories) have no version in the export; they come
    back with ``None``. When uv refuses the selection, its error text comes back instead.
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10 only
        import tomli as tomllib

    proc = run_uv(["export", "--frozen", "--format", "pylock.toml", *args], root, env, check=False)
    if proc.returncode != 0:
        return proc.stderr.strip()
    pylock = tomllib.loads(proc.stdout)
    return frozenset(
        (canonicalize_name(package["name"]), package.get("version"))
        for package in pylock.get("packages", [])
    )


def uv_sync_dry_run_packages(
    root: Path, args: Sequence[str], env: Mapping[str, str], venv: Path
) -> frozenset[tuple[str, str | None]] | str:
    """What ``uv sync --frozen --dry-run ARGS`` would install into the absent ``venv``.

    Packages installed from a URL or path (``+ name @ file://...``) have version ``None``.
    When uv refuses the selection, its error text comes back instead.
    """
    sync_env = {**env, "UV_PROJECT_ENVIRONMENT": str(venv)}
    proc = run_uv(["sync", "--frozen", "--dry-run", *args], root, sync_env, check=False)
    if proc.returncode != 0:
        return proc.stderr.strip()
    found: set[tuple[str, str | None]] = set()
    for line in (proc.stdout + proc.stderr).splitlines():
        line = line.strip()
        if not line.startswith("+ "):
            continue
        spec = line[2:]
        if " @ " in spec:
            found.add((canonicalize_name(spec.split(" @ ")[0]), None))
        else:
            name, _, version = spec.partition("==")
            found.add((canonicalize_name(name), version or None))
    return frozenset(found)


def uv_sync_changes(
    root: Path, args: Sequence[str], env: Mapping[str, str], venv: Path
) -> list[str]:
    """What ``uv sync ARGS --dry-run --output-format json`` would do to ``venv``: one line per
    change (``installed alpha 1.0``, ``uninstalled junk 1.0``, ``environment: replace``),
    empty when uv would do nothing. ``args`` start with ``sync``; when uv refuses, its error
    text is the one line."""
    import json

    python = os.path.realpath(venv / "bin" / "python")
    sync_env = {**env, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON": python}
    proc = run_uv([*args, "--dry-run", "--output-format", "json"], root, sync_env, check=False)
    if proc.returncode != 0:
        return [f"uv refused: {proc.stderr.strip()}"]
    sync = json.loads(proc.stdout)["sync"]
    lines = [] if sync["action"] == "check" else [f"environment: {sync['action']}"]
    lines += [
        f"{change['action']} {change['name']} {change.get('version')}" for change in sync["changes"]
    ]
    return lines


# --------------------------------------------------------------------------------------------
# Git repositories, for the CI matrix and affected-members tests


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` with a fixed identity and no user or system configuration."""
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.org",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.org",
    }
    proc = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def git_commit_all(root: Path, message: str = "change") -> str:
    """Make ``root`` a repository if it is not one, commit every file; the commit's id."""
    if not (root / ".git").exists():
        git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


# --------------------------------------------------------------------------------------------
# Reliability: wheels slow enough to interrupt, what a venv really holds, strict snapshots


def make_bulky_wheel(wheelhouse: Path, name: str, version: str, modules: int = 2000) -> Path:
    """A wheel of ``modules`` small modules: installing it takes uv long enough to be stopped
    half-way. Byte-reproducible, like :func:`make_wheel`."""
    import base64
    import hashlib
    import zipfile

    dist = f"{name}-{version}"
    files: dict[str, bytes] = {f"{name}/__init__.py": f"VERSION = {version!r}\n".encode()}
    for index in range(modules):
        files[f"{name}/m{index:05d}_{version.replace('.', '_')}.py"] = f"N = {index}\n".encode()
    files[f"{dist}.dist-info/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    )
    files[f"{dist}.dist-info/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    wheelhouse.mkdir(parents=True, exist_ok=True)
    target = wheelhouse / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, (2020, 1, 1, 0, 0, 0)), data)
    return target


def site_packages(venv: Path) -> Path:
    """The one ``site-packages`` folder of a POSIX venv."""
    found = sorted(venv.glob("lib/python*/site-packages"))
    assert len(found) == 1, f"expected one site-packages in {venv}, found {found}"
    return found[0]


def venv_distributions(venv: Path) -> dict[str, str]:
    """Normalized name -> version of every ``*.dist-info`` folder in the venv."""
    found: dict[str, str] = {}
    for entry in site_packages(venv).iterdir():
        if entry.name.endswith(".dist-info"):
            name, _, version = entry.name[: -len(".dist-info")].partition("-")
            found[canonicalize_name(name)] = version
    return found


#: Files a venv holds that no distribution's RECORD lists, on purpose.
_UNOWNED_OK = frozenset({"_virtualenv.py", "_virtualenv.pth"})


def venv_damage(venv: Path) -> list[str]:
    """What is wrong with the installed files of a venv; empty when every distribution is whole.

    Each ``*.dist-info`` must have ``METADATA`` and ``RECORD``; every file its ``RECORD``
    lists must exist with the recorded sha256; and every file in ``site-packages`` must
    belong to some ``RECORD`` (a file of a half-removed or half-installed package does not),
    and so must every folder hold such a file (an empty folder left by a half-removed package
    still imports, as a namespace package). ``__pycache__`` folders are left out: an
    interpreter writes them.
    """
    import base64
    import csv
    import hashlib

    site = site_packages(venv)
    problems: list[str] = []
    owned: set[Path] = set()
    for info in sorted(site.glob("*.dist-info")):
        for required in ("METADATA", "RECORD"):
            if not (info / required).is_file():
                problems.append(f"{info.name} has no {required}")
        if not (info / "RECORD").is_file():
            continue
        with (info / "RECORD").open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                if not row or not row[0]:
                    continue
                path = Path(os.path.normpath(site / row[0]))
                owned.add(path)
                if not path.is_file():
                    problems.append(f"{info.name}: {row[0]} is missing")
                    continue
                if len(row) > 1 and row[1].startswith("sha256="):
                    digest = hashlib.sha256(path.read_bytes()).digest()
                    encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                    if encoded != row[1].removeprefix("sha256="):
                        problems.append(f"{info.name}: {row[0]} differs from its RECORD hash")
    holding: set[Path] = {site}
    for path in owned:
        holding.update(path.parents)
    for folder, dirs, files in os.walk(site):
        dirs[:] = [name for name in dirs if name != "__pycache__"]
        base = Path(folder)
        for name in dirs:
            if base / name not in holding:
                problems.append(f"{(base / name).relative_to(site)}/ holds no installed file")
        for name in files:
            path = base / name
            if path not in owned and not (base == site and name in _UNOWNED_OK):
                problems.append(f"{path.relative_to(site)} belongs to no installed distribution")
    return problems


def tree_state(root: Path, skip: Sequence[str] = (".nox",)) -> dict[str, tuple[object, ...]]:
    """Every file, folder and link below ``root`` with its content, mode and mtime.

    Stricter than a content hash: a file rewritten with the same bytes, a touched mtime, a
    changed permission or a new empty folder all show. Top-level names in ``skip`` (and what
    is below them) are left out, as are ``__pycache__`` folders, which Python writes when it
    imports a module (the noxfile, a member's code) unless told not to.
    """
    import hashlib

    state: dict[str, tuple[object, ...]] = {}
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        relative = base.relative_to(root)
        if relative.parts and relative.parts[0] in skip:
            dirs[:] = []
            continue
        dirs[:] = sorted(name for name in dirs if name != "__pycache__")
        if not relative.parts:
            dirs[:] = [name for name in dirs if name not in skip]
        for name in [*dirs, *files]:
            path = base / name
            info = path.lstat()
            key = (relative / name).as_posix()
            if path.is_symlink():
                state[key] = ("link", os.readlink(path), info.st_mtime_ns)
            elif path.is_dir():
                state[key] = ("dir", info.st_mode, info.st_mtime_ns)
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                state[key] = ("file", digest, info.st_mode, info.st_mtime_ns)
    return state


def tree_changes(
    before: Mapping[str, tuple[object, ...]], after: Mapping[str, tuple[object, ...]]
) -> list[str]:
    """What differs between two :func:`tree_state` results, one line per path."""
    lines = [f"created {path}" for path in sorted(after.keys() - before.keys())]
    lines += [f"deleted {path}" for path in sorted(before.keys() - after.keys())]
    lines += [
        f"changed {path}: {before[path]} -> {after[path]}"
        for path in sorted(before.keys() & after.keys())
        if before[path] != after[path]
    ]
    return lines


def one_line(text: str, fragment: str) -> str:
    """The one line that says ``fragment``; no traceback anywhere."""
    found = [line for line in text.splitlines() if fragment in line]
    assert len(found) == 1, f"expected one line with {fragment!r} in:\n{text}"
    assert "Traceback" not in text
    return found[0]


def wait_until(condition: Callable[[], bool], what: str, limit: float = 120.0) -> None:
    """Poll ``condition``; a safety net against a hung test, never a check on speed."""
    import time

    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def affected_members() -> dict[str, str]:
    """The member layout the affected-member tests share: app needs core (dependency), tool
    needs core (group ``test``), leaf and bar stand alone."""
    return {
        "packages/core/pyproject.toml": member_toml("core", dependencies=["beta"]),
        "packages/app/pyproject.toml": member_toml(
            "app", dependencies=["core"], workspace_sources=["core"]
        ),
        "packages/tool/pyproject.toml": member_toml(
            "tool", groups={"test": ["core"]}, workspace_sources=["core"]
        ),
        "packages/leaf/pyproject.toml": member_toml("leaf", dependencies=["alpha"]),
        "packages/bar/pyproject.toml": member_toml("bar", dependencies=["gamma"]),
    }


def cli_argv(*args: str) -> list[str]:
    """The command line of ``python -m nox_workspace ARGS`` with this interpreter."""
    return [sys.executable, "-m", "nox_workspace", *args]


def cli(
    *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m nox_workspace ARGS`` in ``cwd`` and capture its output (not checked)."""
    return subprocess.run(
        cli_argv(*args),
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        check=False,
    )


def nox_has(*keywords: str) -> bool:
    """Whether the installed Nox's ``@nox.session`` takes every one of ``keywords`` (the
    ``minimums`` session runs the tests under the oldest supported Nox)."""
    import inspect

    import nox

    return set(keywords) <= set(inspect.signature(nox.session).parameters)


def nox_records_option_sources() -> bool:
    """Whether the installed Nox records who set an option (``options.provenance``): without
    it, ``nox.options.default_venv_backend = "virtualenv"`` looks like Nox's own default."""
    import nox

    return callable(getattr(nox.options, "provenance", None))
