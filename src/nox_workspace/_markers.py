"""PEP 508 markers as uv reads them in ``uv.lock``: compiled once, decided fast.

packaging's ``Marker.evaluate`` takes one ``extra`` value at a time and cannot answer "does
this hold on some platform", which a closure over all platforms needs. So markers are compiled
here into disjunctive normal form: each :class:`Clause` is a conjunction of ``extra`` literals
(conflict items or plain extras) and environment atoms, and a marker holds when one clause
does. On top of that:

* uv's extra rules: ``extra`` is tested by equality only (any other test never holds), its
  values are normalized, and conflict items are encoded as :func:`item_code` makes them;
* satisfiability (:func:`consistent`): whether atoms can hold together on one platform, with
  Python versions compared as ranges (``python_version`` and ``python_full_version`` as one
  variable, as uv's marker algebra treats them);
* evaluation (:class:`Evaluator`): against one marker environment, or, without one, "on some
  platform" for the union that ``uv export`` lists.

A leaf: it knows nothing of the lock's structure. Compiled markers and decided atom sets are
cached per process; :func:`clear_caches` forgets them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from typing import Final, TypeAlias

from packaging.specifiers import InvalidSpecifier, Specifier
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion

__all__ = [
    "TRUE",
    "Atom",
    "Clause",
    "Dnf",
    "Evaluator",
    "Marker",
    "MarkerSyntaxError",
    "atom_holds",
    "clear_caches",
    "compile_marker",
    "consistent",
    "item_code",
]

#: A comparison: (variable, operator, literal, variable is on the left).
Atom: TypeAlias = tuple[str, str, str, bool]
#: Union mode: the environment clauses under which something holds (a disjunction).
Dnf: TypeAlias = tuple[frozenset[Atom], ...]
#: The condition that always holds: one clause without atoms.
TRUE: Final[Dnf] = (frozenset(),)

_OPERAND = r"[A-Za-z_][\w.]*|'[^']*'|" + r'"[^"]*"'
_OPERATOR = r"===|==|!=|<=|>=|~=|<|>|not\s+in(?![\w.])|in(?![\w.])"
#: A comparison (one token, for speed), a parenthesis, or a boolean operator.
_TOKEN: Final = re.compile(
    rf"\s*(?:(?P<cmp>(?:{_OPERAND})\s*(?:{_OPERATOR})\s*(?:{_OPERAND}))"
    r"|(?P<paren>[()])|(?P<bool>and|or)(?![\w.]))"
)
_COMPARISON: Final = re.compile(rf"({_OPERAND})\s*({_OPERATOR})\s*({_OPERAND})")
_ATOM_CACHE: dict[str, Atom] = {}

_VARIABLES: Final = frozenset(
    {
        "implementation_name",
        "implementation_version",
        "os_name",
        "platform_machine",
        "platform_python_implementation",
        "platform_release",
        "platform_system",
        "platform_version",
        "python_full_version",
        "python_version",
        "sys_platform",
        "extra",
    }
)
_LEGACY_VARIABLES: Final = {
    "os.name": "os_name",
    "sys.platform": "sys_platform",
    "platform.version": "platform_version",
    "platform.machine": "platform_machine",
    "platform.python_implementation": "platform_python_implementation",
    "python_implementation": "platform_python_implementation",
}
_FLIPPED: Final = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


class MarkerSyntaxError(ValueError):
    """A marker string is not PEP 508."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Clause:
    """One conjunction: ``extra`` literals (value, must be active) and environment atoms.

    ``possible`` is false when the ``extra`` literals contradict each other. ``consistent``
    says whether the environment atoms can hold together on some platform; union mode (no
    environment) checks it instead of evaluating them.
    """

    extras: tuple[tuple[str, bool], ...]
    atoms: frozenset[Atom]
    possible: bool
    consistent: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class Marker:
    """A compiled marker: the disjunction of its clauses."""

    clauses: tuple[Clause, ...]


_MARKER_CACHE: dict[str, Marker] = {}
_MARKER_CACHE_LOCK = threading.Lock()


def compile_marker(marker: str) -> Marker:
    """Compile (once per process) a marker string into clauses."""
    compiled = _MARKER_CACHE.get(marker)
    if compiled is None:
        compiled = Marker(clauses=tuple(_make_clause(raw) for raw in _parse_marker(marker)))
        with _MARKER_CACHE_LOCK:
            if len(_MARKER_CACHE) > 50_000:
                _MARKER_CACHE.clear()
            _MARKER_CACHE[marker] = compiled
    return compiled


def _parse_marker(text: str) -> list[list[Atom]]:
    """Parse a marker into DNF: a list of clauses, each a list of comparisons.

    A recursive-descent parser in one function: its three nested rules share the token
    position, and a comparison is one token, so a marker costs one regex scan.
    """
    text = text.strip()
    tokens: list[tuple[str, Atom | None]] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() != position:
            break
        position = match.end()
        comparison = match["cmp"]
        if comparison is not None:
            atom = _ATOM_CACHE.get(comparison)
            if atom is None:
                atom = _ATOM_CACHE[comparison] = _atom(comparison, text)
            tokens.append(("cmp", atom))
        else:
            tokens.append((match["paren"] or match["bool"], None))
    if position != len(text) or not tokens:
        raise MarkerSyntaxError(f"cannot parse marker {text!r} at position {position}")
    tokens.append(("end", None))
    index = 0

    def parse_or() -> list[list[Atom]]:
        nonlocal index
        clauses = parse_and()
        while tokens[index][0] == "or":
            index += 1
            clauses = clauses + parse_and()
        return clauses

    def parse_and() -> list[list[Atom]]:
        nonlocal index
        clauses = parse_atom()
        while tokens[index][0] == "and":
            index += 1
            right = parse_atom()
            if len(right) == 1:
                only = right[0]
                clauses = [left + only for left in clauses]
            else:
                clauses = [left + other for left in clauses for other in right]
        return clauses

    def parse_atom() -> list[list[Atom]]:
        nonlocal index
        kind, atom = tokens[index]
        index += 1
        if kind == "(":
            clauses = parse_or()
            if tokens[index][0] != ")":
                raise MarkerSyntaxError(f"unbalanced parentheses in marker {text!r}")
            index += 1
            return clauses
        if atom is None:
            raise MarkerSyntaxError(f"expected a comparison in marker {text!r}")
        return [[atom]]

    clauses = parse_or()
    if tokens[index][0] != "end":
        raise MarkerSyntaxError(f"unexpected {tokens[index][0]!r} in marker {text!r}")
    return clauses


def _atom(comparison: str, text: str) -> Atom:
    """One comparison as an atom, the variable first; ``extra`` values normalized."""
    match = _COMPARISON.fullmatch(comparison)
    assert match is not None  # the tokenizer matched the same pattern
    left, op, right = match.groups()
    op = " ".join(op.split())
    left_is_string = left[0] in "'\""
    if left_is_string == (right[0] in "'\""):
        raise MarkerSyntaxError(f"a comparison needs one variable and one string in {text!r}")
    if left_is_string:
        name, value, on_left = right, left[1:-1], False
    else:
        name, value, on_left = left, right[1:-1], True
    variable = _LEGACY_VARIABLES.get(name, name)
    if variable not in _VARIABLES:
        raise MarkerSyntaxError(f"unknown marker variable {name!r} in {text!r}")
    if variable == "extra":
        value = canonicalize_name(value)
    return (variable, op, value, on_left)


def _make_clause(raw: list[Atom]) -> Clause:
    extras: dict[str, bool] = {}
    atoms: list[Atom] = []
    possible = True
    for atom in raw:
        variable, op, value, _ = atom
        if variable != "extra":
            atoms.append(atom)
        elif op in ("==", "!="):
            if extras.setdefault(value, op == "==") != (op == "=="):
                possible = False
        elif op != "not in":
            # uv evaluates `extra` only by equality; any other test of it never holds.
            possible = False
    unique = frozenset(atoms)
    return Clause(
        extras=tuple(extras.items()),
        atoms=unique,
        possible=possible,
        consistent=consistent(unique),
    )


_Release: TypeAlias = tuple[int, int, int]
#: A Python version range: (lowest, lowest included, highest, highest included).
_Range: TypeAlias = tuple[_Release, bool, _Release, bool]
_LOWEST: Final[_Release] = (0, 0, 0)
_HIGHEST: Final[_Release] = (999, 0, 0)
_RELEASE = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?(\.\*)?")


def _python_range(atom: Atom) -> tuple[_Range, bool] | None:
    """A ``python_version``/``python_full_version`` atom as a range of ``X.Y.Z`` releases.

    Returns the range and whether the atom *excludes* it (``!=``), or ``None`` when the atom
    is not a plain comparison (then it is assumed satisfiable). ``python_version`` is
    ``X.Y``, so ``python_version > '3.11'`` means ``>= 3.12``: uv's marker algebra treats
    both variables as one, and so must a satisfiability check.
    """
    variable, op, value, on_left = atom
    if op in ("in", "not in", "~=", "==="):
        return None
    if not on_left:
        op = _FLIPPED[op]
    match = _RELEASE.fullmatch(value)
    if match is None:
        return None
    major = int(match[1])
    minor = int(match[2] or 0)
    micro = int(match[3] or 0)
    version = (major, minor, micro)
    wildcard = match[4] is not None
    if variable == "python_version" and match[3] is None and not wildcard:
        # X.Y stands for the whole X.Y.* series.
        following = (major, minor + 1, 0)
        if op in ("==", "!="):
            return ((version, True, following, False), op == "!=")
        return {
            "<": ((_LOWEST, True, version, False), False),
            "<=": ((_LOWEST, True, following, False), False),
            ">": ((following, True, _HIGHEST, True), False),
            ">=": ((version, True, _HIGHEST, True), False),
        }[op]
    if wildcard:
        if op not in ("==", "!="):
            return None
        following = (major, minor + 1, 0) if match[2] is not None else (major + 1, 0, 0)
        return ((version, True, following, False), op == "!=")
    return {
        "==": ((version, True, version, True), False),
        "!=": ((version, True, version, True), True),
        "<": ((_LOWEST, True, version, False), False),
        "<=": ((_LOWEST, True, version, True), False),
        ">": ((version, False, _HIGHEST, True), False),
        ">=": ((version, True, _HIGHEST, True), False),
    }[op]


def _python_satisfiable(ranges: list[tuple[_Range, bool]]) -> bool:
    """Whether some Python release lies in every included range and no excluded one."""
    low, low_in, high, high_in = _LOWEST, True, _HIGHEST, True
    excluded: list[_Range] = []
    for (start, start_in, end, end_in), exclude in ranges:
        if exclude:
            excluded.append((start, start_in, end, end_in))
            continue
        if start > low or (start == low and not start_in):
            low, low_in = start, start_in
        if end < high or (end == high and not end_in):
            high, high_in = end, end_in
    # Push the lower bound past every excluded range that covers it.
    moved = True
    while moved:
        moved = False
        for start, start_in, end, end_in in excluded:
            covers_low = (start < low or (start == low and (start_in or not low_in))) and (
                low < end or (low == end and end_in and low_in)
            )
            if covers_low:
                low, low_in = end, not end_in
                moved = True
    return low < high or (low == high and low_in and high_in)


_CONSISTENT_CACHE: dict[frozenset[Atom], bool] = {}


def consistent(atoms: frozenset[Atom]) -> bool:
    """Whether the atoms can all hold on one platform (a sound over-approximation).

    Python versions are checked exactly enough for the bounds uv writes; string variables by
    their ``==``/``!=`` values; anything else is assumed satisfiable. Cached per atom set.
    """
    if len(atoms) < 2:
        return True
    known = _CONSISTENT_CACHE.get(atoms)
    if known is None:
        if len(_CONSISTENT_CACHE) > 100_000:
            _CONSISTENT_CACHE.clear()
        known = _CONSISTENT_CACHE[atoms] = _check_consistent(atoms)
    return known


def _check_consistent(atoms: frozenset[Atom]) -> bool:
    python: list[tuple[_Range, bool]] = []
    equal: dict[str, str] = {}
    unequal: dict[str, set[str]] = {}
    other: list[Atom] = []
    for atom in atoms:
        variable, op, value, on_left = atom
        if variable == "extra":
            # Extras are a set: several may be active; only `== v` with `!= v` clashes.
            if (variable, "!=" if op == "==" else "==", value, on_left) in atoms:
                return False
            continue
        if variable in ("python_version", "python_full_version"):
            found = _python_range(atom)
            if found is not None:
                python.append(found)
            continue
        if op == "==":
            if equal.setdefault(variable, value) != value:
                return False
        elif op == "!=":
            unequal.setdefault(variable, set()).add(value)
        else:
            other.append(atom)
    for variable, value in equal.items():
        if value in unequal.get(variable, ()):
            return False
    for variable, op, value, on_left in other:
        if variable in equal and op in ("in", "not in"):
            left, right = (equal[variable], value) if on_left else (value, equal[variable])
            if (left in right) != (op == "in"):
                return False
    return len(python) < 2 or _python_satisfiable(python)


_SPECIFIER_CACHE: dict[str, Specifier | None] = {}


def atom_holds(atom: Atom, environment: Mapping[str, object]) -> bool:
    """Evaluate one comparison against a marker environment, as ``packaging`` does."""
    variable, op, value, on_left = atom
    try:
        actual = str(environment[variable])
    except KeyError:
        raise ValueError(
            f"the marker environment has no {variable!r}; pass a complete environment "
            "(see packaging.markers.default_environment())"
        ) from None
    left, right = (actual, value) if on_left else (value, actual)
    if op == "in":
        return left in right
    if op == "not in":
        return left not in right
    key = op + right
    if key not in _SPECIFIER_CACHE:
        try:
            _SPECIFIER_CACHE[key] = Specifier(key)
        except InvalidSpecifier:
            _SPECIFIER_CACHE[key] = None
    spec = _SPECIFIER_CACHE[key]
    if spec is not None:
        try:
            return spec.contains(left, prereleases=True)
        except InvalidVersion:  # pragma: no cover - packaging returns False on new versions
            return False
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    if op == ">=":
        return left >= right
    return False


class Evaluator:
    """Evaluates compiled markers for one marker environment, or for the union (``None``).

    With an environment, atoms are evaluated as ``packaging`` does and memoized; for the
    union, a clause holds when its atoms are consistent (some platform satisfies them).
    """

    __slots__ = ("_atoms", "_environment", "_plain_dnf", "_plain_holds", "union")

    def __init__(self, environment: Mapping[str, object] | None) -> None:
        self._environment = environment
        self.union = environment is None
        self._atoms: dict[Atom, bool] = {}
        self._plain_holds: dict[str, bool] = {}
        self._plain_dnf: dict[str, Dnf] = {}

    def atoms_hold(self, atoms: Iterable[Atom]) -> bool:
        """Whether environment atoms all hold in this walk's (concrete) environment."""
        environment = self._environment
        assert environment is not None
        memo = self._atoms
        for atom in atoms:
            holds = memo.get(atom)
            if holds is None:
                holds = memo[atom] = atom_holds(atom, environment)
            if not holds:
                return False
        return True

    def _clause_holds(self, clause: Clause, active: Set[str]) -> bool:
        if not clause.possible:
            return False
        for name, positive in clause.extras:
            if (name in active) is not positive:
                return False
        if self._environment is None:
            return clause.consistent
        return self.atoms_hold(clause.atoms)

    def marker(self, marker: str, active: Set[str]) -> bool:
        """Whether a marker holds (in union mode: on some platform) given the active items."""
        if not active:
            known: bool | None = self._plain_holds.get(marker)
            if known is None:
                known = self._plain_holds[marker] = any(
                    self._clause_holds(clause, active) for clause in compile_marker(marker).clauses
                )
            return known
        return any(self._clause_holds(clause, active) for clause in compile_marker(marker).clauses)

    def dnf(self, marker: str | None, active: Set[str]) -> Dnf:
        """Union mode: the environment clauses under which an edge is live.

        ``TRUE`` when it is live everywhere, ``()`` when nowhere; conflict and extra
        literals are decided by ``active``.
        """
        if marker is None:
            return TRUE
        if not active:
            known: Dnf | None = self._plain_dnf.get(marker)
            if known is None:
                known = self._plain_dnf[marker] = self._dnf(marker, active)
            return known
        return self._dnf(marker, active)

    def _dnf(self, marker: str, active: Set[str]) -> Dnf:
        clauses = []
        for clause in compile_marker(marker).clauses:
            if not (clause.possible and clause.consistent):
                continue
            if all((name in active) is positive for name, positive in clause.extras):
                if not clause.atoms:
                    return TRUE
                clauses.append(clause.atoms)
        return tuple(clauses)

    def requirement(self, marker: str | None, fork_markers: tuple[str, ...]) -> Dnf:
        """Whether (and, in union mode, where) a root requirement reaches a locked package.

        A package that was forked is reached only where one of its fork markers holds too.
        Root requirements activate no extras, so their ``extra`` literals are false; fork
        markers are read without their ``extra`` literals, as uv reads them (``pep508()``).
        """
        no_extras: frozenset[str] = frozenset()
        if self._environment is not None:
            if marker is not None and not self.marker(marker, no_extras):
                return ()
            if fork_markers and not any(
                clause.possible and self.atoms_hold(clause.atoms)
                for fork in fork_markers
                for clause in compile_marker(fork).clauses
            ):
                return ()
            return TRUE
        own = self.dnf(marker, no_extras)
        if not fork_markers:
            return own
        clauses: list[frozenset[Atom]] = []
        for fork in fork_markers:
            for right in compile_marker(fork).clauses:
                if not (right.possible and right.consistent):
                    continue
                for left in own:
                    combined = left | right.atoms
                    if not combined:
                        return TRUE
                    if consistent(combined):
                        clauses.append(combined)
        return tuple(clauses)


def item_code(kind: str, package: str, item: str) -> str:
    """uv's encoding of an extra or group as a conflict-marker ``extra`` value."""
    return f"{kind}-{len(package)}-{package}-{item}"


def clear_caches() -> None:
    """Forget every compiled marker and decided atom set (tests, cold benchmarks)."""
    with _MARKER_CACHE_LOCK:
        _MARKER_CACHE.clear()
        _ATOM_CACHE.clear()
    _CONSISTENT_CACHE.clear()
    _SPECIFIER_CACHE.clear()
