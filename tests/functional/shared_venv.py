"""The workspace of uv #13749: member ``b``'s test imports a package only member ``a`` locks.

Shared by the ``check`` and import-guard tests. ``a`` needs ``alpha`` and has a ``test``
group (``gamma``); ``b`` needs ``beta`` and ``optlib`` and its test imports ``alpha``; the
virtual root's ``dev`` group holds ``eta``. ``optlib`` is third-party code that imports
``alpha`` if it can (``try: import alpha``), as libraries do with optional dependencies.
After ``uv sync --all-packages`` the shared ``.venv`` holds all of it, so ``b``'s test
passes there and fails in ``b``'s own venv.
"""

from __future__ import annotations

from pathlib import Path

from packaging.utils import canonicalize_name

from tests.support import make_wheel, member_toml, package_sources, run_uv, write_tree

B_TEST = "import alpha\n\n\ndef test_b_uses_alpha():\n    assert alpha\n"
OPTLIB = "try:\n    import alpha\nexcept ImportError:\n    alpha = None\n"


def leaky_workspace(
    root: Path, wheelhouse: Path, env: dict[str, str], *, sync: bool = True
) -> Path:
    """Write and lock the workspace under ``root``; with ``sync``, fill its shared ``.venv``."""
    extra = root.parent / "optlib-wheelhouse"
    make_wheel(extra, "optlib", "1.0", source=OPTLIB)
    write_tree(
        root,
        {
            "pyproject.toml": (
                '[tool.uv.workspace]\nmembers = ["packages/*"]\n'
                "[tool.uv]\nno-index = true\n"
                f'find-links = ["{wheelhouse.as_posix()}", "{extra.as_posix()}"]\n'
                '[dependency-groups]\ndev = ["eta"]\n'
            ),
            "packages/a/pyproject.toml": member_toml(
                "a", dependencies=["alpha"], groups={"test": ["gamma"]}
            ),
            "packages/b/pyproject.toml": member_toml("b", dependencies=["beta", "optlib"]),
            "packages/b/tests/test_b.py": B_TEST,
        },
    )
    package_sources(root, "packages/a", "a")
    package_sources(root, "packages/b", "b")
    run_uv(["lock"], root, env)
    if sync:
        run_uv(["sync", "--all-packages", "--all-groups", "--frozen"], root, env)
    return root


def wheel_from_installed(distribution: str, wheelhouse: Path) -> Path:
    """A wheel of ``distribution`` as it is installed beside the tests, without the network.

    The test wheelhouse has no pytest; a test that runs real pytest inside a test venv gets it
    (and its dependencies, and this package itself) re-packed from the files the installed
    distribution's ``RECORD`` lists, so the test stays offline. An editable install re-packs
    as its ``.pth`` file: the wheel then imports this checkout's sources, as the editable does.
    Scripts and bytecode are left out; ``RECORD`` is rewritten for the files kept.
    """
    import base64
    import hashlib
    import zipfile
    from importlib.metadata import distribution as find

    dist = find(distribution)
    base = Path(str(dist.locate_file("")))
    info_prefix = None
    files: dict[str, bytes] = {}
    for entry in dist.files or ():
        relative = entry.as_posix()
        if relative.startswith("..") or "__pycache__" in relative or relative.endswith(".pyc"):
            continue
        if relative.endswith(".dist-info/RECORD"):
            info_prefix = relative[: -len("RECORD")]
            continue
        path = base / relative
        if path.is_file():
            files[relative] = path.read_bytes()
    assert info_prefix is not None, f"{distribution} has no RECORD"
    files.pop(info_prefix + "direct_url.json", None)
    record = [
        f"{member},sha256="
        + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        + f",{len(data)}"
        for member, data in files.items()
    ]
    record.append(f"{info_prefix}RECORD,,")
    files[info_prefix + "RECORD"] = ("\n".join(record) + "\n").encode()
    name = info_prefix.rstrip("/")[: -len(".dist-info")]
    wheelhouse.mkdir(parents=True, exist_ok=True)
    target = wheelhouse / f"{name}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            archive.writestr(zipfile.ZipInfo(member, (2020, 1, 1, 0, 0, 0)), data)
    return target


def runtime_requirements(distribution: str) -> list[str]:
    """``distribution`` and what it needs at run time on this interpreter, installed names."""
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement

    found: list[str] = []
    pending = [distribution]
    while pending:
        name = canonicalize_name(pending.pop())
        if name in found:
            continue
        found.append(name)
        try:
            needs = requires(name) or []
        except PackageNotFoundError:
            continue
        for text in needs:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return found


def install_pytest_and_guard(venv: Path, tools: Path, env: dict[str, str]) -> None:
    """Put pytest (with its dependencies) and nox-workspace (without its own: no Nox, no
    tomlkit) into ``venv`` from the re-packed wheels in ``tools``, offline."""
    names = [*runtime_requirements("pytest"), "nox-workspace"]
    run_uv(
        [
            "pip",
            "install",
            "--python",
            str(venv),
            "--no-index",
            "--find-links",
            str(tools),
            "--no-deps",
            *names,
        ],
        venv.parent,
        env,
    )


def tool_wheelhouse(folder: Path) -> Path:
    """Re-packed wheels of pytest, its dependencies and nox-workspace, in ``folder``."""
    for name in [*runtime_requirements("pytest"), "nox-workspace"]:
        wheel_from_installed(name, folder)
    return folder
