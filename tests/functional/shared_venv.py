"""The workspace of uv #13749: member ``b``'s test imports a package only member ``a`` locks.

Shared by the ``check`` and import-guard tests. ``a`` needs ``alpha`` and has a ``test``
group (``gamma``); ``b`` needs ``beta`` and its test imports ``alpha``; the virtual root's
``dev`` group holds ``eta``. After ``uv sync --all-packages`` the shared ``.venv`` holds all of
it, so ``b``'s test passes there and fails in ``b``'s own venv.
"""

from __future__ import annotations

from pathlib import Path

from tests.support import member_toml, offline_index, package_sources, run_uv, write_tree

B_TEST = "import alpha\n\n\ndef test_b_uses_alpha():\n    assert alpha\n"


def leaky_workspace(
    root: Path, wheelhouse: Path, env: dict[str, str], *, sync: bool = True
) -> Path:
    """Write and lock the workspace under ``root``; with ``sync``, fill its shared ``.venv``."""
    write_tree(
        root,
        {
            "pyproject.toml": (
                '[tool.uv.workspace]\nmembers = ["packages/*"]\n'
                "[tool.uv]\n" + offline_index(wheelhouse) + '[dependency-groups]\ndev = ["eta"]\n'
            ),
            "packages/a/pyproject.toml": member_toml(
                "a", dependencies=["alpha"], groups={"test": ["gamma"]}
            ),
            "packages/b/pyproject.toml": member_toml("b", dependencies=["beta"]),
            "packages/b/tests/test_b.py": B_TEST,
        },
    )
    package_sources(root, "packages/a", "a")
    package_sources(root, "packages/b", "b")
    run_uv(["lock"], root, env)
    if sync:
        run_uv(["sync", "--all-packages", "--all-groups", "--frozen"], root, env)
    return root
