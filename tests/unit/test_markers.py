"""Unit tests of the marker compiler: PEP 508 to clauses, uv's extra rules, satisfiability.

Each satisfiability answer below is one a platform can check by hand: a conjunction holds on
some platform, or two of its atoms exclude each other. Evaluations against one environment are
compared with ``packaging``'s own ``Marker.evaluate``.
"""

from __future__ import annotations

import re

import pytest
from packaging.markers import Marker as PackagingMarker

from nox_workspace._markers import (
    TRUE,
    Atom,
    Evaluator,
    MarkerSyntaxError,
    atom_holds,
    clear_caches,
    compile_marker,
    consistent,
    item_code,
)
from tests.support import LINUX_311


def atoms(marker: str) -> frozenset[Atom]:
    """The environment atoms of a marker that compiles to a single clause."""
    (clause,) = compile_marker(marker).clauses
    return clause.atoms


def satisfiable(marker: str) -> bool:
    """Whether a one-clause marker holds on some platform (extras aside)."""
    (clause,) = compile_marker(marker).clauses
    return clause.possible and clause.consistent


# ---------------------------------------------------------------------------------------------
# Compiling


def test_and_distributes_over_or_into_one_clause_per_combination() -> None:
    marker = compile_marker(
        "(sys_platform == 'linux' or sys_platform == 'win32') and "
        "(python_version < '3.12' or os_name == 'nt')"
    )
    assert len(marker.clauses) == 4
    assert {len(clause.atoms) for clause in marker.clauses} == {2}


def test_legacy_variable_names_mean_their_pep_508_names() -> None:
    assert atoms("os.name == 'nt'") == atoms("os_name == 'nt'")
    assert atoms("python_implementation == 'PyPy'") == atoms(
        "platform_python_implementation == 'PyPy'"
    )


def test_a_string_on_the_left_is_remembered_as_such() -> None:
    (atom,) = atoms("'3.12' <= python_version")
    assert atom == ("python_version", "<=", "3.12", False)


def test_extra_values_are_normalized_and_kept_apart_from_environment_atoms() -> None:
    (clause,) = compile_marker("extra == 'Group_3_App.Dev' and sys_platform == 'linux'").clauses
    assert clause.extras == (("group-3-app-dev", True),)
    assert clause.atoms == {("sys_platform", "==", "linux", True)}


def test_an_extra_tested_other_than_by_equality_never_holds_as_uv_reads_it() -> None:
    assert not compile_marker("extra in 'dev'").clauses[0].possible
    assert not compile_marker("extra >= 'a'").clauses[0].possible
    assert compile_marker("extra not in 'dev'").clauses[0].possible


def test_an_extra_both_required_and_excluded_makes_its_clause_impossible() -> None:
    (clause,) = compile_marker("extra == 'x' and extra != 'x'").clauses
    assert not clause.possible


@pytest.mark.parametrize(
    ("marker", "problem"),
    [
        ("", "cannot parse"),
        ("sys_platform == 'linux' and", "expected a comparison"),
        ("(sys_platform == 'linux'", "unbalanced parentheses"),
        ("sys_platform == 'linux')", "unexpected ')'"),
        ("'linux' == 'linux'", "one variable and one string"),
        ("sys_platform == os_name", "one variable and one string"),
        ("shoe_size == '42'", "unknown marker variable 'shoe_size'"),
        ("sys_platform = 'linux'", "cannot parse"),
    ],
)
def test_a_marker_that_is_not_pep_508_is_refused_with_what_is_wrong(
    marker: str, problem: str
) -> None:
    with pytest.raises(MarkerSyntaxError, match=re.escape(problem)):
        compile_marker(marker)


def test_a_marker_is_compiled_once_until_the_caches_are_cleared() -> None:
    marker = "platform_machine == 'arm64' or os_name == 'posix'"
    first = compile_marker(marker)
    assert compile_marker(marker) is first
    clear_caches()
    assert compile_marker(marker) is not first
    assert compile_marker(marker) == first


def test_conflict_items_are_encoded_as_uv_writes_them() -> None:
    assert item_code("group", "pydantic-ai", "dev") == "group-11-pydantic-ai-dev"
    assert item_code("extra", "a", "x") == "extra-1-a-x"


# ---------------------------------------------------------------------------------------------
# Satisfiability: does some platform satisfy every atom of a clause?


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        # python_version is X.Y: `> '3.11'` starts at 3.12.0.
        ("python_version > '3.11' and python_full_version < '3.12'", False),
        ("python_version > '3.11' and python_full_version < '3.12.1'", True),
        ("python_version <= '3.11' and python_full_version >= '3.12'", False),
        ("python_version <= '3.11' and python_full_version >= '3.11.9'", True),
        ("python_version == '3.11' and python_full_version >= '3.12'", False),
        ("python_version != '3.11' and python_full_version == '3.11.2'", False),
        ("python_version != '3.11' and python_full_version == '3.12.0'", True),
        # The string on the left flips the operator.
        ("'3.12' <= python_version and python_version < '3.12'", False),
        ("'3.12' > python_version and python_version >= '3.11'", True),
        # Wildcards cover a series.
        ("python_full_version == '3.11.*' and python_version >= '3.12'", False),
        ("python_full_version != '3.*' and python_full_version >= '3.8'", True),
        (
            "python_full_version != '3.*' and python_full_version >= '3.8' and "
            "python_full_version < '4'",
            False,
        ),
        ("python_full_version != '3.11.*' and python_version == '3.11'", False),
        ("python_full_version != '3.11.*' and python_version <= '3.11'", True),
        # Exact versions and open bounds.
        ("python_full_version > '3.11.2' and python_full_version <= '3.11.2'", False),
        ("python_full_version != '3.11.2' and python_full_version == '3.11.2'", False),
        ("python_full_version >= '3.11.2' and python_full_version <= '3.11.2'", True),
        # Excluded ranges that together cover the only candidates.
        (
            "python_full_version >= '3.11' and python_full_version < '3.13' and "
            "python_version != '3.11' and python_version != '3.12'",
            False,
        ),
        (
            "python_full_version >= '3.11' and python_full_version < '3.14' and "
            "python_version != '3.11' and python_version != '3.12'",
            True,
        ),
        # What the range check cannot read is assumed satisfiable (sound over-approximation).
        ("python_version ~= '3.11' and python_version < '3.8'", True),
        ("python_version >= 'three' and python_version < '3.8'", True),
        ("python_full_version >= '3.12.*' and python_version < '3.8'", True),
        # String variables: one value at a time.
        ("sys_platform == 'linux' and sys_platform == 'win32'", False),
        ("sys_platform == 'linux' and sys_platform != 'linux'", False),
        ("sys_platform == 'linux' and sys_platform != 'win32'", True),
        ("sys_platform == 'linux' and 'linux' in sys_platform", True),
        ("platform_machine == 'x86_64' and platform_machine in 'arm64 aarch64'", False),
        ("platform_machine == 'x86_64' and platform_machine not in 'x86_64 amd64'", False),
        ("platform_machine == 'arm64' and platform_machine not in 'x86_64 amd64'", True),
        ("platform_machine == 'x86_64' and 'x86' in platform_machine", True),
        ("platform_machine == 'x86_64' and 'arm' in platform_machine", False),
        ("platform_release < '6' and platform_release >= '7'", True),
        ("sys_platform == 'linux' and platform_machine == 'arm64'", True),
    ],
)
def test_a_clause_is_satisfiable_exactly_when_some_platform_meets_all_its_atoms(
    marker: str, expected: bool
) -> None:
    assert satisfiable(marker) is expected


def test_extras_are_a_set_only_a_value_and_its_negation_clash() -> None:
    both: frozenset[Atom] = frozenset(
        {("extra", "==", "a", True), ("extra", "==", "b", True), ("sys_platform", "==", "x", True)}
    )
    assert consistent(both)
    assert not consistent(both | {("extra", "!=", "a", True)})


def test_one_atom_or_none_is_always_consistent() -> None:
    assert consistent(frozenset())
    assert consistent(frozenset({("python_version", "<", "0", True)}))


# ---------------------------------------------------------------------------------------------
# Evaluation against one environment


@pytest.mark.parametrize(
    "marker",
    [
        "python_version >= '3.11'",
        "python_full_version < '3.11.7'",
        "python_version == '3.11.*'",
        "'3.12' > python_version",
        "sys_platform == 'linux' and platform_machine != 'arm64'",
        "platform_machine in 'x86_64 amd64'",
        "'86' in platform_machine",
        "os_name not in 'nt java'",
        "platform_release === '6.1.0'",
        "implementation_version ~= '3.11.0'",
    ],
)
def test_atoms_hold_as_packaging_evaluates_them(marker: str) -> None:
    expected = PackagingMarker(marker).evaluate(LINUX_311)
    assert all(atom_holds(atom, LINUX_311) for atom in atoms(marker)) is expected


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ("platform_version < '#2'", True),
        ("platform_system <= 'M'", True),
        ("platform_system >= 'M'", False),
        ("platform_system > 'Linux'", False),
    ],
)
def test_an_order_between_strings_that_are_not_versions_compares_the_strings(
    marker: str, expected: bool
) -> None:
    (atom,) = atoms(marker)
    assert atom_holds(atom, LINUX_311) is expected


def test_an_incomplete_environment_names_the_missing_variable() -> None:
    with pytest.raises(ValueError, match="'sys_platform'"):
        atom_holds(("sys_platform", "==", "linux", True), {})


def test_an_evaluator_decides_extras_by_the_active_items() -> None:
    live = Evaluator(LINUX_311)
    marker = "extra == 'group-1-a-dev' and sys_platform == 'linux'"
    assert not live.marker(marker, frozenset())
    assert live.marker(marker, frozenset({"group-1-a-dev"}))
    assert not live.marker("extra != 'x' and extra == 'x'", frozenset({"x"}))
    assert not live.marker("extra != 'x'", frozenset({"x"}))
    assert not Evaluator(LINUX_311).marker("sys_platform == 'win32'", frozenset())


def test_without_an_environment_a_marker_holds_where_some_platform_meets_it() -> None:
    union = Evaluator(None)
    assert union.marker("sys_platform == 'win32'", frozenset())
    assert not union.marker("sys_platform == 'win32' and sys_platform == 'linux'", frozenset())
    assert union.marker("extra == 'x' and os_name == 'nt'", frozenset({"x"}))


def test_union_conditions_keep_the_clauses_that_can_hold() -> None:
    union = Evaluator(None)
    assert union.dnf(None, frozenset()) == TRUE
    assert union.dnf("extra == 'x'", frozenset({"x"})) == TRUE
    assert union.dnf("extra == 'x'", frozenset()) == ()
    assert union.dnf("sys_platform == 'a' and sys_platform == 'b'", frozenset()) == ()
    (clause,) = union.dnf("extra == 'x' and os_name == 'nt' or extra == 'y'", frozenset({"x"}))
    assert clause == {("os_name", "==", "nt", True)}
    plain = union.dnf("os_name == 'nt'", frozenset())
    assert union.dnf("os_name == 'nt'", frozenset()) is plain


def test_a_root_requirement_reaches_a_forked_package_only_where_a_fork_holds() -> None:
    forks = ("python_full_version < '3.12'", "python_full_version >= '3.12'")
    here = Evaluator(LINUX_311)
    assert here.requirement(None, ()) == TRUE
    assert here.requirement("sys_platform == 'win32'", ()) == ()
    assert here.requirement(None, forks[:1]) == TRUE
    assert here.requirement(None, forks[1:]) == ()
    union = Evaluator(None)
    assert union.requirement(None, ()) == TRUE
    # Fork markers are read without their extra literals, as uv reads them.
    assert union.requirement(None, ("extra == 'x' and os_name == 'nt'",)) == (
        frozenset({("os_name", "==", "nt", True)}),
    )
    assert union.requirement(None, ("os_name == 'nt' and os_name == 'posix'",)) == ()
    (clause,) = union.requirement("python_version >= '3.13'", forks)
    assert clause == {
        ("python_version", ">=", "3.13", True),
        ("python_full_version", ">=", "3.12", True),
    }
    assert union.requirement("python_version < '3.9'", forks[1:]) == ()


def test_a_fork_without_atoms_reaches_everywhere_its_requirement_does() -> None:
    union = Evaluator(None)
    assert union.requirement(None, ("extra != 'x'",)) == TRUE
