"""A two-member workspace and its ``uv.lock``, written by hand for the reuse unit tests.

foo needs alpha and has a ``test`` group with zeta; bar needs beta. The lock also has gamma,
which no member needs (as a lock may after a dependency was dropped).
"""

from __future__ import annotations

from pathlib import Path

from nox_workspace._sync import Sync, Target
from nox_workspace._workspace import Workspace, discover
from tests.support import member_toml, write_tree

REGISTRY = 'source = { registry = "https://pypi.org/simple" }'

LOCK = f"""
version = 1
revision = 3
requires-python = ">=3.10"

[manifest]
members = ["bar", "foo"]

[[package]]
name = "alpha"
version = "1.0"
{REGISTRY}

[[package]]
name = "bar"
version = "0.1.0"
source = {{ editable = "packages/bar" }}
dependencies = [{{ name = "beta" }}]

[[package]]
name = "beta"
version = "1.0"
{REGISTRY}

[[package]]
name = "foo"
version = "0.1.0"
source = {{ editable = "packages/foo" }}
dependencies = [{{ name = "alpha" }}]

[package.dev-dependencies]
test = [{{ name = "zeta" }}]

[[package]]
name = "gamma"
version = "2.0"
{REGISTRY}

[[package]]
name = "zeta"
version = "1.0"
{REGISTRY}
"""


def workspace(root: Path) -> Workspace:
    """Write the workspace and its lock below ``root`` and discover it."""
    write_tree(
        root,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
            "packages/foo/pyproject.toml": member_toml(
                "foo", dependencies=["alpha"], groups={"test": ["zeta"]}
            ),
            "packages/bar/pyproject.toml": member_toml("bar", dependencies=["beta"]),
            "uv.lock": LOCK,
        },
    )
    return discover(root)


def target(root: Path, member: str = "bar", sync: Sync | None = None) -> Target:
    found = workspace(root) if not (root / "uv.lock").exists() else discover(root)
    return Target(workspace=found, members=(found.member(member),), sync=sync or Sync(exact=False))


def venv(root: Path, dists: dict[str, str], *, uv: bool = True) -> Path:
    """A venv folder with ``name-version.dist-info`` folders (no interpreter)."""
    location = root / ".nox" / "s"
    site = location / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    config = "home = /usr/bin\nversion_info = 3.11.7\n" + ("uv = 0.13.9\n" if uv else "")
    (location / "pyvenv.cfg").write_text(config, encoding="utf-8")
    for name, version in dists.items():
        (site / f"{name}-{version}.dist-info").mkdir()
    return location
