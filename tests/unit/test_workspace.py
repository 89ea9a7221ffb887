"""The workspace model: what each member declares and how members depend on each other."""

from __future__ import annotations

from pathlib import Path

import pytest

from nox_workspace import DiscoveryError
from nox_workspace._workspace import Edge, discover, load_workspace
from tests.support import member_toml, write_tree


@pytest.fixture
def workspace_root(tmp_path: Path) -> Path:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": """
                [tool.uv.workspace]
                members = ["packages/*"]
                [tool.uv.sources]
                core = { workspace = true }
                [dependency-groups]
                lint = ["ruff"]
            """,
            "packages/core/pyproject.toml": member_toml("core", requires_python=">=3.10"),
            "packages/api/pyproject.toml": """
                [project]
                name = "API_Server"
                version = "1.0"
                requires-python = ">=3.11"
                dependencies = ["core", "alpha>=1"]
                [project.optional-dependencies]
                cli = ["tools"]
                [dependency-groups]
                dev = ["beta"]
                docs = [{include-group = "dev"}]
                [tool.uv]
                default-groups = ["docs"]
                [tool.uv.sources]
                tools = { workspace = true }
                [tool.nox-workspace]
                skip = ["lint"]
                [build-system]
                requires = ["uv_build"]
                build-backend = "uv_build"
            """,
            "packages/tools/pyproject.toml": member_toml(
                "tools", groups={"test": ["core"]}, packaged=False
            ),
        },
    )
    return tmp_path


def test_members_are_sorted_and_normalized(workspace_root: Path) -> None:
    """Names are normalized (PEP 503) and members come sorted by name, as uv lists them."""
    workspace = discover(workspace_root)
    assert workspace.names == ("api-server", "core", "tools")
    assert workspace.member("API_Server").relpath == "packages/api"


def test_edges_by_kind_with_root_sources(workspace_root: Path) -> None:
    """Edges come from dependencies, extras and groups; root sources apply to every member."""
    workspace = discover(workspace_root)
    api = workspace.member("api-server")
    assert set(api.edges) == {
        Edge(source="api-server", target="core", kind="dependency"),
        Edge(source="api-server", target="tools", kind="extra", via="cli"),
    }
    assert workspace.member("tools").edges == (
        Edge(source="tools", target="core", kind="group", via="test"),
    )
    assert workspace.dependents()["core"] == ("api-server", "tools")


def test_groups_include_groups_and_default_groups(workspace_root: Path) -> None:
    """``include-group`` expands in place; ``default-groups`` replaces the default ``dev``."""
    api = discover(workspace_root).member("api-server")
    assert api.dependency_groups["docs"] == ("beta",)
    assert api.resolved_default_groups() == ("docs",)
    assert discover(workspace_root).member("core").resolved_default_groups() == ("dev",)


def test_virtual_members_and_settings(workspace_root: Path) -> None:
    """A member without a build system is virtual; [tool.nox-workspace] is parsed."""
    workspace = discover(workspace_root)
    assert workspace.member("tools").virtual
    assert not workspace.member("core").virtual
    assert workspace.member("api-server").settings.member.skip == ("lint",)


def test_requires_python_is_the_intersection(workspace_root: Path) -> None:
    """The workspace's requires-python is every member's bound at once."""
    assert discover(workspace_root).requires_python == ">=3.10,>=3.11"


def test_virtual_root_keeps_its_groups(workspace_root: Path) -> None:
    """A root without [project] is not a member, but its dependency groups exist."""
    workspace = load_workspace(workspace_root)
    assert workspace.root_member is None
    assert workspace.root_groups == {"lint": ("ruff",)}


def test_topological_order_and_reach(workspace_root: Path) -> None:
    """Dependencies come before dependents; reach follows edges both ways."""
    workspace = discover(workspace_root)
    order = workspace.topological_order()
    assert order.index("core") < order.index("tools") < order.index("api-server")
    assert workspace.upstream(["api-server"]) == ("api-server", "core", "tools")
    assert workspace.downstream(["core"]) == ("api-server", "core", "tools")


def test_unknown_member_names_the_members(workspace_root: Path) -> None:
    """Asking for a member that does not exist lists the ones that do."""
    with pytest.raises(DiscoveryError, match="members are: api-server, core, tools"):
        discover(workspace_root).member("nope")


def test_group_include_cycle_is_an_error(tmp_path: Path) -> None:
    """Groups that include each other in a cycle get one line naming the cycle."""
    write_tree(
        tmp_path,
        {
            "pyproject.toml": """
                [project]
                name = "solo"
                version = "1"
                [dependency-groups]
                a = [{include-group = "b"}]
                b = [{include-group = "a"}]
            """
        },
    )
    with pytest.raises(DiscoveryError, match="a -> b -> a"):
        discover(tmp_path)


def test_malformed_requirement_is_accepted_as_uv_does(tmp_path: Path) -> None:
    """`uv workspace list` accepts a malformed requirement (uv rejects it when locking), and so
    does discovery: the member is found, the string adds no edge."""
    write_tree(tmp_path, {"pyproject.toml": member_toml("solo", dependencies=["not valid!!"])})
    assert discover(tmp_path).member("solo").edges == ()


def test_dynamic_dependencies_take_their_edges_from_the_lock(tmp_path: Path) -> None:
    """A member whose dependencies are ``dynamic`` shows no edge in its file; the lock's
    edges complete the graph (and only for such members)."""
    from nox_workspace._closure import complete_edges
    from nox_workspace._lock import parse_lock

    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["p/*"]\n',
            "p/app/pyproject.toml": (
                '[project]\nname = "app"\nversion = "1"\ndynamic = ["dependencies"]\n'
            ),
            "p/lib/pyproject.toml": member_toml("lib"),
        },
    )
    workspace = discover(tmp_path)
    assert workspace.member("app").depends_on == ()
    assert workspace.dynamic_members == {"app"}
    lock = parse_lock(
        {
            "version": 1,
            "revision": 3,
            "manifest": {"members": ["app", "lib"]},
            "package": [
                {
                    "name": "app",
                    "version": "1",
                    "source": {"editable": "p/app"},
                    "dependencies": [{"name": "lib"}],
                },
                {"name": "lib", "version": "0.1.0", "source": {"editable": "p/lib"}},
            ],
        },
        tmp_path / "uv.lock",
    )
    completed = complete_edges(workspace, lock)
    assert completed.member("app").edges == (Edge(source="app", target="lib", kind="dependency"),)
    assert completed.downstream(["lib"]) == ("app", "lib")


@pytest.mark.parametrize(
    ("patterns", "names"),
    [
        (["API_Server"], ("api-server",)),
        (["CORE", "tools"], ("core", "tools")),
        (["packages/api"], ("api-server",)),
        (["./packages/api/"], ("api-server",)),
        (["API*"], ("api-server",)),
        (["packages/*"], ("api-server", "core", "tools")),
    ],
)
def test_select_takes_any_spelling_a_folder_or_a_glob(
    workspace_root: Path, patterns: list[str], names: tuple[str, ...]
) -> None:
    """One rule for ``members=`` and ``matrix --member``: names normalize, folders count."""
    selected = discover(workspace_root).select(patterns)
    assert tuple(member.name for member in selected) == names


def test_select_refuses_a_name_or_glob_that_matches_nothing(workspace_root: Path) -> None:
    workspace = discover(workspace_root)
    with pytest.raises(DiscoveryError, match="no workspace member named 'nope'"):
        workspace.select(["nope"])
    with pytest.raises(DiscoveryError, match="matches no member"):
        workspace.select(["zz*"])


@pytest.mark.parametrize(
    ("path", "owner"),
    [
        ("packages/api/src/x.py", "api-server"),
        ("packages/api", "api-server"),
        ("packages/apiary/x.py", None),
        ("README.md", None),
        ("../elsewhere/x.py", None),
    ],
)
def test_owner_of_a_path(workspace_root: Path, path: str, owner: str | None) -> None:
    found = discover(workspace_root).owner_of(path)
    assert (found.name if found else None) == owner


@pytest.mark.parametrize(
    ("path", "owner"),
    [
        ("README.md", "own-root"),
        ("src/own_root/__init__.py", "own-root"),
        ("own_root/core.py", "own-root"),
        ("docs/index.md", None),
        ("tests/test_x.py", None),
        ("pyproject.toml", None),
        ("packages/lib/x.py", "lib"),
    ],
)
def test_a_root_member_owns_its_own_files_not_every_root_folder(
    tmp_path: Path, path: str, owner: str | None
) -> None:
    """One rule for the affected planner and the API: a root member owns the files at the
    root and its package folders, not ``docs/`` or a root ``tests/``; the root pyproject.toml
    belongs to no member (it counts by table)."""
    root_toml = member_toml("own-root") + '[tool.uv.workspace]\nmembers = ["packages/*"]\n'
    write_tree(
        tmp_path,
        {"pyproject.toml": root_toml, "packages/lib/pyproject.toml": member_toml("lib")},
    )
    workspace = discover(tmp_path)
    found = workspace.owner_of(path)
    assert (found.name if found else None) == owner
    assert workspace.path_owner()(path) == owner


def test_a_gitignore_with_a_bad_class_is_one_line(tmp_path: Path) -> None:
    """A folder without ``pyproject.toml`` is checked against ``.gitignore``; a rule whose
    class has no translation (``[z-a]``) names the file instead of raising ``re.error``.
    (uv 0.13.9 drops such a ``.gitignore`` and refuses the folder as a member without a
    ``pyproject.toml``: both refuse the workspace.)"""
    write_tree(
        tmp_path,
        {
            ".git/HEAD": "ref: refs/heads/main\n",
            ".gitignore": "[z-a]\n*.log\n",
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["p/*"]\n',
            "p/a/pyproject.toml": member_toml("a"),
            "p/b/x.log": "",
        },
    )
    with pytest.raises(DiscoveryError) as caught:
        discover(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / '.gitignore'}: a .gitignore rule holds an invalid")
    assert "\n" not in message
