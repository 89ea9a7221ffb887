"""What each node of a lock's graph reaches, for one environment or the union of all.

A node is a package without an extra (its ``dependencies``) or with one (that extra's
``optional-dependencies``). :class:`Reach` solves every node once per environment, bottom-up
over strongly connected components, into bitsets: the packages it reaches everywhere, and the
packages it reaches only under a condition. A closure is then a few bitwise ORs, so the
closures of all members share the work (see ``_walk`` for the selection that starts one).

Without an environment, markers conjoin along a path and disjoin across paths, and a package
is in the union when some path to it holds on some platform: ``a -[python < '3.14']-> b
-[python >= '3.14']-> c`` does not reach ``c`` (``uv export`` drops it too).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Final, TypeAlias, TypeVar

from nox_workspace._index import Edge, LockIndex
from nox_workspace._markers import Atom, Dnf, Evaluator, compile_marker, consistent, item_code

__all__ = [
    "BYTE_BITS",
    "NO_CODES",
    "Node",
    "Reach",
    "codes_of",
    "compatible",
    "components",
    "harmless_atoms",
    "node_bits",
]

Node: TypeAlias = tuple[int, str | None]
#: Union mode: packages (bits) reached only where a clause holds.
Entries: TypeAlias = tuple[tuple[frozenset[Atom], int], ...]
NO_CODES: Final[frozenset[str]] = frozenset()
_NO_ATOMS: Final[frozenset[Atom]] = frozenset()
#: A fact that waits for the active items: (``extra`` literals, bits reached if they hold).
Pending: TypeAlias = tuple[tuple[tuple[str, bool], ...], int]
#: For each byte value, the positions of its set bits (to list a bitset's members fast).
BYTE_BITS: Final = tuple(tuple(i for i in range(8) if value >> i & 1) for value in range(256))

_N = TypeVar("_N", bound=Hashable)


def components(
    starts: Iterable[_N], successors: Callable[[_N], Iterable[_N]], done: Container[_N]
) -> Iterator[list[_N]]:
    """Tarjan's strongly connected components, without recursion, successors first.

    Nodes in ``done`` count as finished and are not entered. Each component is yielded only
    after every component it reaches, so a caller can fold values bottom-up (and add the
    component's nodes to ``done`` before the next one is yielded).
    """
    number: dict[_N, int] = {}
    low: dict[_N, int] = {}
    stack: list[_N] = []
    on_stack: set[_N] = set()
    for start in starts:
        if start in done or start in number:
            continue
        number[start] = low[start] = len(number)
        stack.append(start)
        on_stack.add(start)
        work = [(start, iter(successors(start)))]
        while work:
            node, children = work[-1]
            for child in children:
                if child in done:
                    continue
                if child not in number:
                    number[child] = low[child] = len(number)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors(child))))
                    break
                if child in on_stack and number[child] < low[node]:
                    low[node] = number[child]
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    if low[node] < low[parent]:
                        low[parent] = low[node]
                if low[node] == number[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    yield component


def _normalize(reach: int, gathered: Mapping[frozenset[Atom], int]) -> Entries:
    """Keep the conditional facts small: drop what is reached anyway (``reach``)."""
    if not gathered:
        return ()
    return tuple((clause, bits & ~reach) for clause, bits in gathered.items() if bits & ~reach)


def node_bits(index: LockIndex, node: Node) -> int:
    """A node's own bits: its package, and its conflict item if it is one."""
    number, extra = node
    if extra is None or not index.relevant:
        return index.bits[number]
    code = item_code("extra", index.packages[number].name, extra)
    return index.bits[number] | index.code_bits.get(code, 0)


def codes_of(index: LockIndex, bits: int) -> frozenset[str]:
    """The conflict items whose bits are set."""
    high = bits >> len(index.packages)
    if not high:
        return NO_CODES
    data = high.to_bytes((high.bit_length() + 7) // 8, "little")
    codes = index.codes
    return frozenset(
        codes[8 * position + offset]
        for position, byte in enumerate(data)
        if byte
        for offset in BYTE_BITS[byte]
    )


def harmless_atoms(index: LockIndex) -> frozenset[Atom]:
    """Environment atoms that no other atom of the lock contradicts (memoized per lock).

    Inconsistency among string comparisons is always between two atoms of one variable,
    so an atom consistent with every other atom of its variable in the lock can never
    make a conjunction false; union mode leaves it out of path conditions, which keeps
    them few. Python version atoms are always kept (ranges clash in threes).
    """
    known: frozenset[Atom] | None = index.memo.get("harmless")
    if known is not None:
        return known
    edge_lists: list[tuple[Edge, ...]] = list(index.dependencies)
    for tables in (index.optional, index.groups):
        for table in tables:
            edge_lists.extend(table.values())
    markers: set[str] = set()
    for edges in edge_lists:
        markers.update(edge[1] for edge in edges if edge[1] is not None)
    if index.requirements or index.manifest_groups:
        # Fork markers meet path conditions only through the virtual root's requirements.
        for forks in index.fork_markers:
            markers.update(forks)
    by_variable: dict[str, set[Atom]] = {}
    for marker in markers:
        for clause in compile_marker(marker).clauses:
            for atom in clause.atoms:
                by_variable.setdefault(atom[0], set()).add(atom)
    harmless = {
        atom
        for variable, atoms in by_variable.items()
        if variable not in ("python_version", "python_full_version")
        for atom in atoms
        if all(consistent(frozenset((atom, other))) for other in atoms)
    }
    index.memo["harmless"] = frozen = frozenset(harmless)
    return frozen


class Reach:
    """What every node of the lock graph reaches, for one environment (or the union).

    A node is a package without an extra (its ``dependencies``) or with one (that extra's
    ``optional-dependencies``). Per node, ``reach`` holds what is reached wherever the node
    is, and ``entries`` what is reached only under a condition, as (clause, bits) pairs. A
    clause conjoins the ``extra`` literals of conflict markers (decided only at the end, by
    the sync's active items) and, in union mode, environment atoms that some platform
    satisfies together. Bits are packages, plus one bit per declared conflict item so that
    a closure also tells which extras it activates. Each node is solved once per context, so
    the closures of all members share the work.
    """

    __slots__ = ("conditions", "entries", "index", "literals", "live", "ok", "reach", "splits")

    def __init__(self, index: LockIndex, live: Evaluator) -> None:
        self.index = index
        self.live = live
        self.reach: dict[Node, int] = {}
        self.entries: dict[Node, Entries] = {}
        self.conditions: dict[Edge, Dnf | None] = {}
        self.literals: dict[frozenset[Atom], tuple[tuple[str, bool], ...]] = {}
        self.ok: dict[frozenset[Atom], bool] = {}
        self.splits: dict[Node, tuple[int, tuple[Pending, ...]]] = {}

    def absorb(
        self,
        reach: int,
        entries: dict[frozenset[Atom], int],
        child_reach: int,
        child_entries: Entries,
        condition: Dnf | None,
    ) -> int:
        """Fold a child's reachability into a parent's, through an edge's condition.

        ``None`` is an edge that always holds: the child's facts pass unchanged. Otherwise
        each clause of the condition guards everything the child reaches, conjoined with the
        child's own clauses; conjunctions no platform satisfies (or that need two items of
        one declared conflict) are dropped, as ``uv export`` conjoins markers along a path
        and drops what comes out false. Returns the new ``reach``.
        """
        get = entries.get
        if condition is None:
            for clause, bits in child_entries:
                entries[clause] = get(clause, 0) | bits
            return reach | child_reach
        ok = self.ok
        exclusive = self.index.exclusive
        for clause in condition:
            if child_reach & ~reach:
                entries[clause] = get(clause, 0) | child_reach
            for inner, bits in child_entries:
                if not bits & ~reach:
                    continue
                joined = clause | inner
                good = ok.get(joined)
                if good is None:
                    good = ok[joined] = consistent(joined) and (
                        not exclusive or compatible(joined, exclusive)
                    )
                if good:
                    entries[joined] = get(joined, 0) | bits
        return reach

    def condition(self, edge: Edge, active: frozenset[str] | None = None) -> Dnf | None:
        """When an edge is live: ``None`` always, ``()`` never, else the clauses.

        The edge's own extras count as active for its own marker (uv >= 0.11 does this);
        with ``active``, every ``extra`` literal is decided now instead of at the end.
        """
        marker = edge[1]
        if marker is None:
            return None
        if active is None and edge in self.conditions:
            return self.conditions[edge]
        target, _, edge_extras, has_extra = edge
        own: frozenset[str] = NO_CODES
        if has_extra and edge_extras:
            name = self.index.packages[target].name
            own = frozenset(item_code("extra", name, extra) for extra in edge_extras)
        if active is not None:
            return self._condition(marker, own | active, decide=True)
        known = self.conditions[edge] = self._condition(marker, own, decide=False)
        return known

    def _condition(self, marker: str, known: frozenset[str], *, decide: bool) -> Dnf | None:
        live = self.index.exclusive
        clauses: list[frozenset[Atom]] = []
        union = self.live.union
        harmless = harmless_atoms(self.index) if union else _NO_ATOMS
        for clause in compile_marker(marker).clauses:
            if not clause.possible or (union and not clause.consistent):
                continue
            if not union and clause.atoms and not self.live.atoms_hold(clause.atoms):
                continue
            literals: list[Atom] = []
            for value, positive in clause.extras:
                if decide or value in known:
                    if (value in known) is not positive:
                        break
                elif value in self.index.relevant:
                    literals.append(("extra", "==" if positive else "!=", value, True))
                elif positive:
                    break  # only declared conflict items are ever active
            else:
                atoms = frozenset(literals)
                if union:
                    # An atom nothing in the lock contradicts cannot make a path false.
                    atoms = atoms.union(clause.atoms - harmless if harmless else clause.atoms)
                if not atoms:
                    return None
                if live and not compatible(atoms, live):
                    continue
                clauses.append(atoms)
        return tuple(clauses)

    def kids(self, node: Node) -> list[tuple[Node, Dnf | None]]:
        """The nodes a node's live edges lead to, with the edges' conditions."""
        number, extra = node
        index = self.index
        edges = (
            index.dependencies[number] if extra is None else index.optional[number].get(extra, ())
        )
        found: list[tuple[Node, Dnf | None]] = []
        for edge in edges:
            condition = self.condition(edge)
            if condition == ():
                continue
            found.append(((edge[0], None), condition))
            found.extend(((edge[0], name), condition) for name in edge[2])
        return found

    def combine(
        self, starts: Sequence[tuple[Node, Dnf | None]], active: frozenset[str]
    ) -> tuple[int, frozenset[str]]:
        """The packages reached from the root edges ``starts``, and the final active items.

        Extras that live edges activate join ``active`` until nothing more is activated
        (uv's first pass); conditional facts are then decided with the final set.
        """
        kids: dict[Node, list[tuple[Node, Dnf | None]]] = {}

        def successors(node: Node) -> list[Node]:
            found = kids.get(node)
            if found is None:
                found = kids[node] = self.kids(node)
            return [child for child, _ in found]

        for component in components((node for node, _ in starts), successors, self.reach):
            self._finish(component, kids)
        index = self.index
        reach = 0
        pending: list[Pending] = []
        gathered: dict[frozenset[Atom], int] = {}
        for node, condition in starts:
            if condition is None:
                node_reach, node_pending = self._split(node)
                reach |= node_reach
                pending.extend(node_pending)
            else:
                self.absorb(0, gathered, self.reach[node], self.entries[node], condition)
        if gathered:
            plain, more = self._partition(gathered.items())
            reach |= plain
            pending.extend(more)
        while True:
            bits = reach
            for literals, covered in pending:
                if covered & ~bits and all((v in active) is want for v, want in literals):
                    bits |= covered
            codes = codes_of(index, bits)
            if codes <= active:
                return bits & index.package_mask, active
            active = active | codes

    def _split(self, node: Node) -> tuple[int, tuple[Pending, ...]]:
        """A solved node's facts as: bits reached on some platform whatever the active
        items, and (``extra`` literals, bits) facts that depend on them. Cached per node."""
        known = self.splits.get(node)
        if known is None:
            plain, pending = self._partition(self.entries[node])
            known = self.splits[node] = (self.reach[node] | plain, tuple(pending))
        return known

    def _partition(
        self, entries: Iterable[tuple[frozenset[Atom], int]]
    ) -> tuple[int, list[Pending]]:
        plain = 0
        pending: list[Pending] = []
        literals_of = self.literals
        for clause, covered in entries:
            literals = literals_of.get(clause)
            if literals is None:
                literals = literals_of[clause] = tuple(
                    (value, op == "==") for variable, op, value, _ in clause if variable == "extra"
                )
            if literals:
                pending.append((literals, covered))
            else:
                plain |= covered
        return plain, pending

    def _finish(
        self, component: list[Node], kids: Mapping[Node, list[tuple[Node, Dnf | None]]]
    ) -> None:
        """Solve one strongly connected component, all of whose successors are solved."""
        index = self.index
        inside = set(component)
        base: dict[Node, tuple[int, dict[frozenset[Atom], int]]] = {}
        for node in component:
            reach = node_bits(index, node)
            gathered: dict[frozenset[Atom], int] = {}
            get = gathered.get
            found = kids[node]
            # Unconditional edges first: what they reach need not be tracked under conditions.
            for child, condition in found:
                if condition is None and child not in inside:
                    reach |= self.reach[child]
                    for clause, bits in self.entries[child]:
                        gathered[clause] = get(clause, 0) | bits
            for child, condition in found:
                if condition is not None and child not in inside:
                    reach = self.absorb(
                        reach, gathered, self.reach[child], self.entries[child], condition
                    )
            base[node] = (reach, gathered)
        if len(component) == 1:
            node = component[0]
            reach, gathered = base[node]
            # Entries before reach: a node found in ``reach`` is complete (other threads).
            self.entries[node] = _normalize(reach, gathered)
            self.reach[node] = reach
            return
        # A cycle: iterate its inner edges to a fixed point (cycles are rare and small).
        current = {node: (reach, _normalize(reach, got)) for node, (reach, got) in base.items()}
        for _ in range(4 * len(component) + 8):
            changed = False
            for node in component:
                reach, gathered = base[node][0], dict(base[node][1])
                for child, condition in kids[node]:
                    if child in inside and child != node:
                        child_reach, child_entries = current[child]
                        reach = self.absorb(reach, gathered, child_reach, child_entries, condition)
                value = (reach, _normalize(reach, gathered))
                if value != current[node]:
                    current[node] = value
                    changed = True
            if not changed:
                break
        for node, (reach, entries) in current.items():
            self.entries[node] = entries
            self.reach[node] = reach


def compatible(atoms: frozenset[Atom], exclusive: Mapping[str, frozenset[str]]) -> bool:
    """Whether a clause's positive ``extra`` literals may be active together.

    uv refuses to activate two items of one declared conflict set, so a clause that needs
    both never holds (uv writes such clauses as ``... or (extra == A and extra == B)``).
    """
    positive = [value for variable, op, value, _ in atoms if variable == "extra" and op == "=="]
    if len(positive) < 2:
        return True
    for index, value in enumerate(positive):
        rivals = exclusive.get(value)
        if rivals and not rivals.isdisjoint(positive[index + 1 :]):
            return False
    return True
