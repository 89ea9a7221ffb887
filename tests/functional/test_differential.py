"""Differential test: after any mutation, the venv a session runs in is what uv makes it.

A workspace is built once; then random mutations from a catalogue (a member's pyproject
edited and relocked, a lock entry bumped, distributions installed, removed or replaced by
hand, egg-info and egg-link dropped in, another ``Sync``, a caller's ``UV_*`` variable,
``uv.toml`` written or removed, a path source or a ``cache-keys`` file touched, the
interpreter link swapped, an interrupted sync) hit a randomly chosen session venv. After
each one the session's run-time step runs (the same code a Nox session runs, with a plain
environment), and both sides are asked:

(a) ``uv sync <the session's exact flags> --dry-run --output-format json``, with a clean
    environment, reports nothing to do: the venv is what uv would make it;
(b) when the plugin took its leak report from the cache, a fresh computation gives the same.

The suite runs a fixed-seed sample; ``DIFFERENTIAL_MUTATIONS`` and ``DIFFERENTIAL_SEED`` ask
for more (the ``differential`` Nox session runs thousands). The counts per kind are printed.
"""

from __future__ import annotations

import collections
import os
import random
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from nox_workspace._errors import ConfigError
from nox_workspace._prepare import compute_leaks, sync_venv
from nox_workspace._reuse import STARTED_FILE
from nox_workspace._sync import Sync, Target
from nox_workspace._uv import CLEARED
from nox_workspace._venv import Venv
from nox_workspace._workspace import discover
from tests.support import (
    make_wheel,
    member_toml,
    offline_index,
    package_sources,
    run_uv,
    site_packages,
    tool_env,
    uv_sync_changes,
    write_tree,
)

pytestmark = pytest.mark.functional

MUTATIONS = int(os.environ.get("DIFFERENTIAL_MUTATIONS", "60"))
SEED = int(os.environ.get("DIFFERENTIAL_SEED", "20261202"))

SYNCS = (
    Sync(),
    Sync(exact=False),
    Sync(groups=["test"]),
    Sync(default_groups=False),
    Sync(frozen=True),
    Sync(editable=False),
    Sync(tool_groups=["lint"]),
    Sync(exact=False, tool_groups=["lint"]),
)
SESSIONS = ("foo", "bar", "baz", "*")


@dataclass
class World:
    root: Path
    env: dict[str, str]
    other_builds: Path
    nox_dir: Path
    rng: random.Random
    syncs: dict[str, Sync] = field(default_factory=dict)
    caller: dict[str, str] = field(default_factory=dict)

    def venv(self, session: str) -> Path:
        return self.nox_dir / ("all" if session == "*" else session)

    def target(self, session: str) -> Target:
        workspace = discover(self.root)
        sync = self.syncs.get(session, Sync())
        if session == "*":
            return Target(
                workspace=workspace, members=workspace.members, sync=sync, all_packages=True
            )
        return Target(workspace=workspace, members=(workspace.member(session),), sync=sync)

    def relock(self) -> None:
        run_uv(["lock"], self.root, self.env)


def build_world(tmp_path: Path, wheelhouse: Path, rng: random.Random) -> World:
    root = tmp_path / "ws"
    write_tree(
        root,
        {
            "pyproject.toml": (
                '[tool.uv.workspace]\nmembers = ["packages/*"]\n'
                "[tool.uv]\n" + offline_index(wheelhouse) + "[dependency-groups]\n"
                'lint = ["eta"]\n'
            ),
            "packages/foo/pyproject.toml": foo_toml(["alpha"]),
            "packages/bar/pyproject.toml": member_toml("bar", dependencies=["beta"]),
            "packages/baz/pyproject.toml": member_toml(
                "baz", dependencies=["foo", "delta"], workspace_sources=["foo"]
            ),
            "vendor/outside/pyproject.toml": member_toml("outside"),
            "vendor/outside/src/outside/__init__.py": "VALUE = 0\n",
        },
    )
    for name in ("foo", "bar", "baz"):
        package_sources(root, f"packages/{name}", name)
    env = tool_env(tmp_path / "uv-cache")
    run_uv(["lock"], root, env)
    other = tmp_path / "other-builds"
    for name in ("alpha", "beta", "gamma"):
        make_wheel(other, name, "1.0", source="BUILD = 'by hand'\n")
    world = World(root, env, other, root / ".nox", rng)
    # Two sessions start with a leak report to cache, so the sample exercises the cache.
    world.syncs.update(bar=Sync(exact=False), foo=Sync(tool_groups=["lint"]))
    for session in SESSIONS:
        run_uv(["venv", "-q", str(world.venv(session))], root, env)
    return world


def foo_toml(dependencies: list[str]) -> str:
    return member_toml(
        "foo", dependencies=[*dependencies, "outside"], groups={"test": ["zeta"]}
    ) + (
        '[tool.uv.sources]\noutside = { path = "../../vendor/outside" }\n'
        '[tool.uv]\ncache-keys = [{ file = "pyproject.toml" }, { file = "stamp.txt" }]\n'
    )


# --------------------------------------------------------------------------------------------
# The catalogue: each mutation changes one input of a sync, in the workspace or the venv


def edit_pyproject(world: World, session: str) -> None:
    extra = world.rng.choice([[], ["theta"], ["kappa"], ["kappa[fast]"], ["gamma"]])
    (world.root / "packages/foo/pyproject.toml").write_text(foo_toml(["alpha", *extra]))
    world.relock()


def bump_lock(world: World, session: str) -> None:
    pin = world.rng.choice(["gamma<2", "gamma>=2"])
    text = member_toml("baz", dependencies=["foo", "delta", pin], workspace_sources=["foo"])
    (world.root / "packages/baz/pyproject.toml").write_text(text)
    world.relock()


def python_of(world: World, session: str) -> str:
    return str(world.venv(session) / "bin" / "python")


def install_by_hand(world: World, session: str) -> None:
    name = world.rng.choice(["zeta", "eta", "theta", "gamma"])
    args = ["pip", "install", "-q", "--python", python_of(world, session), name]
    run_uv(args, world.root, {**world.env, "UV_FIND_LINKS": str(find_links(world))}, check=False)


def find_links(world: World) -> Path:
    text = (world.root / "pyproject.toml").read_text()
    return Path(text.split('find-links = ["')[1].split('"')[0])


def uninstall_by_hand(world: World, session: str) -> None:
    installed = sorted(Venv(world.venv(session)).distributions())
    if installed:
        name = world.rng.choice(installed)
        args = ["pip", "uninstall", "-q", "--python", python_of(world, session), name]
        run_uv(args, world.root, world.env, check=False)


def replace_by_hand(world: World, session: str) -> None:
    wheel = world.rng.choice(sorted(world.other_builds.glob("*.whl")))
    args = ["pip", "install", "-q", "--reinstall", "--no-deps"]
    run_uv([*args, "--python", python_of(world, session), str(wheel)], world.root, world.env)


def drop_egg_info(world: World, session: str) -> None:
    site = site_packages(world.venv(session))
    name = world.rng.choice(["junk", "alpha", "zeta"])
    info = f"{name}-9.9-py3.egg-info"
    write_tree(
        site,
        {
            f"{name}_egg.py": "X = 1\n",
            f"{info}/PKG-INFO": f"Metadata-Version: 1.0\nName: {name}\nVersion: 9.9\n",
            f"{info}/top_level.txt": f"{name}_egg\n",
            f"{info}/installed-files.txt": f"../{name}_egg.py\nPKG-INFO\ntop_level.txt\n",
        },
    )


def drop_egg_link(world: World, session: str) -> None:
    site = site_packages(world.venv(session))
    develop = world.root.parent / "develop"
    write_tree(
        develop, {"junk2.egg-info/PKG-INFO": "Metadata-Version: 1.0\nName: junk2\nVersion: 2.0\n"}
    )
    (site / "junk2.egg-link").write_text(f"{develop}\n.", encoding="utf-8")
    (site / "easy-install.pth").write_text(f"{develop}\n", encoding="utf-8")


def change_sync(world: World, session: str) -> None:
    """Another Sync, among those the noxfile would accept for this session."""
    sync = world.rng.choice(SYNCS)
    target = world.target(session)
    try:
        replace(target, sync=sync).validate("s")
    except ConfigError:
        sync = Sync()
    world.syncs[session] = sync


def set_uv_variable(world: World, session: str) -> None:
    name = world.rng.choice(CLEARED)
    world.caller = {name: world.rng.choice(["1", "dev", "test", "lint"])}


def change_uv_toml(world: World, session: str) -> None:
    path = world.root / "uv.toml"
    choice = world.rng.choice(["remove", "copy", "hardlink", "compile"])
    # uv.toml wins over [tool.uv]: it must carry the offline index too.
    index = offline_index(find_links(world))
    if choice == "remove":
        path.unlink(missing_ok=True)
    elif choice == "compile":
        path.write_text(index + "compile-bytecode = true\n")
    else:
        path.write_text(index + f'link-mode = "{choice}"\n')


def touch_path_source(world: World, session: str) -> None:
    value = world.rng.randrange(1000)
    source = world.root / "vendor/outside/src/outside/__init__.py"
    source.write_text(f"VALUE = {value}\n")
    pyproject = world.root / "vendor/outside/pyproject.toml"
    pyproject.write_text(member_toml("outside") + f"# {value}\n")


def touch_cache_key(world: World, session: str) -> None:
    """A file foo's ``[tool.uv] cache-keys`` name: uv rebuilds foo when it changes."""
    (world.root / "packages/foo/stamp.txt").write_text(f"{world.rng.randrange(1000)}\n")


def swap_interpreter(world: World, session: str) -> None:
    """Point the venv's ``python`` at another interpreter, or back at the tests' own.

    Another build of the tests' own minor version is left out: started in a venv whose
    ``pyvenv.cfg`` names the tests' interpreter as its home, it would load that one's standard
    library (a system Python's, say), which it cannot run; neither uv nor Python can query
    such a venv, so it models no swap a user makes.
    """
    versions = Path.home() / ".pyenv" / "versions"
    candidates = [Path(sys.executable).resolve()]
    own_minor = f"{sys.version_info.major}.{sys.version_info.minor}."
    if versions.is_dir():
        candidates += [
            p / "bin" / "python3"
            for p in sorted(versions.glob("3.1[0-9].*"))
            if not p.name.startswith(own_minor)
        ]
    link = world.venv(session) / "bin" / "python"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(world.rng.choice([c for c in candidates if c.exists()]))


def interrupt(world: World, session: str) -> None:
    (world.venv(session) / STARTED_FILE).write_text("")


def nothing(world: World, session: str) -> None:
    """A rerun with no change at all: the cache may answer."""


CATALOGUE: dict[str, Callable[[World, str], None]] = {
    "edit_pyproject": edit_pyproject,
    "bump_lock": bump_lock,
    "install_by_hand": install_by_hand,
    "uninstall_by_hand": uninstall_by_hand,
    "replace_by_hand": replace_by_hand,
    "drop_egg_info": drop_egg_info,
    "drop_egg_link": drop_egg_link,
    "change_sync": change_sync,
    "set_uv_variable": set_uv_variable,
    "change_uv_toml": change_uv_toml,
    "touch_path_source": touch_path_source,
    "touch_cache_key": touch_cache_key,
    "swap_interpreter": swap_interpreter,
    "interrupt": interrupt,
    "nothing": nothing,
}


def oracle_args(target: Target) -> list[str]:
    """The flags uv must find nothing to do with: the session's own; with a tool-group
    overlay (which an exact member sync would remove) the same flags, inexact."""
    args = target.uv_sync_args()
    if target.sync.tool_groups:
        args = ["--inexact" if arg == "--exact" else arg for arg in args]
    # --reinstall-package always reinstalls (Sync(editable=False) builds fresh wheels).
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--reinstall-package":
            skip = True
            continue
        kept.append(arg)
    return kept


def test_every_reused_venv_is_what_uv_makes_it(
    tmp_path: Path, wheelhouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(SEED)
    world = build_world(tmp_path, wheelhouse, rng)
    counts: collections.Counter[str] = collections.Counter()
    unsafe: collections.Counter[str] = collections.Counter()
    cache_hits = 0
    failures: list[str] = []
    kinds = sorted(CATALOGUE)
    for step in range(MUTATIONS):
        kind = kinds[step % len(kinds)] if step < len(kinds) else rng.choice(kinds)
        session = rng.choice(SESSIONS)
        world.caller = {}
        CATALOGUE[kind](world, session)
        counts[kind] += 1
        target = world.target(session)
        venv = Venv(world.venv(session))
        prepared = sync_venv(
            target, venv, environ={**world.env, **world.caller}, log=lambda line: None
        )
        changes = uv_sync_changes(world.root, oracle_args(target), world.env, venv.location)
        if changes:
            unsafe[kind] += 1
            failures.append(f"step {step} {kind} on {session} ({target.sync}): uv {changes}")
        if prepared.leaks_cached:
            cache_hits += 1
            fresh = compute_leaks(
                target,
                venv.distributions(),
                venv.marker_environment(),
                allow_seeds=not venv.made_by_uv,
            )
            if fresh != prepared.leaks:
                unsafe[kind] += 1
                failures.append(f"step {step} {kind}: cached leaks {prepared.leaks} != {fresh}")
        if len(failures) > 10:
            break
    with capsys.disabled():
        print(
            f"\ndifferential: seed {SEED}, {sum(counts.values())} mutations, "
            f"{cache_hits} leak-report cache hits"
        )
        for kind in kinds:
            print(f"  {kind:20} {counts[kind]:6} mutations, {unsafe[kind]} unsafe")
    assert not failures, "\n".join(failures)
    shutil.rmtree(world.nox_dir, ignore_errors=True)
