"""Lock reading vs the floor: closures of every member against one ``tomllib`` parse.

Target (issue): reading ``uv.lock`` and computing the closure of every member (default
groups, union across platforms) plus the ``--all-packages`` closure costs at most 5% on top of
parsing the file once with ``tomllib``. The lock is, in order of preference, the one given
with ``--lock``, the real pydantic-ai lock in ``../shared/workspaces`` (1.5 MB, conflict
markers, forks), or a synthesized one of about 1 MB (80 members, 400 registry packages with
platform markers, a forked package and conflict markers).

Two measurements, each interleaved with the parse and reported as medians:

* ``index + closures``: ``parse_lock`` on the parsed mapping plus all closures, cold caches
  (compiled markers cleared each round); the ratio to the parse is the overhead itself;
* ``read_lock + closures``: what a fresh process pays, from the file's bytes; its ratio to
  the parse is 1 + overhead.

Usage: ``python benchmarks/bench_lock.py [--lock PATH] [--repeat K] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import pstats
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Row, find_uv, interleave, median, print_table, versions

from nox_workspace._lock import (
    Lock,
    clear_lock_cache,
    parse_lock,
    read_lock,
)

TARGET = 0.05
SHARED_LOCK = (
    Path(__file__).resolve().parents[2] / "shared" / "workspaces" / "pydantic-ai" / "uv.lock"
)
INDEX = "https://pypi.org/simple"
MARKERS = (
    None,
    None,
    None,
    "sys_platform == 'win32'",
    "python_full_version < '3.12'",
    "platform_machine == 'x86_64' and sys_platform == 'linux'",
    "sys_platform != 'emscripten'",
    "python_full_version >= '3.11' and implementation_name == 'cpython'",
)


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _wheels(name: str, version: str, count: int) -> list[str]:
    tags = ("py3-none-any", "cp311-cp311-manylinux_2_17_x86_64", "cp312-cp312-win_amd64")
    lines = []
    for index in range(count):
        tag = tags[index % len(tags)]
        file = f"{name.replace('-', '_')}-{version}-{tag}.whl"
        lines.append(
            f'    {{ url = "https://files.example.org/packages/{_digest(name, index)[:2]}/{file}", '
            f'hash = "sha256:{_digest(name, version, index)}", size = {10_000 + index * 37}, '
            f'upload-time = "2025-01-0{1 + index % 9}T12:00:00Z" }},'
        )
    return lines


FORKED = "lib-005"


def _edge(name: str, marker: str | None, extra: str | None = None) -> str:
    """One dependency edge; an edge to the forked library becomes one edge per fork."""
    if name == FORKED:
        lines = []
        for version, fork in (
            ("1.0", "python_full_version < '3.12'"),
            ("2.0", "python_full_version >= '3.12'"),
        ):
            both = fork if marker is None else f"{fork} and {marker}"
            lines.append(
                f'    {{ name = "{name}", version = "{version}", '
                f'source = {{ registry = "{INDEX}" }}, marker = "{both}" }},'
            )
        return "\n".join(lines)
    fields = [f'name = "{name}"']
    if extra is not None:
        fields.append(f'extra = ["{extra}"]')
    if marker is not None:
        fields.append(f'marker = "{marker}"')
    return "    { " + ", ".join(fields) + " },"


def synthesize_lock(members: int = 80, libraries: int = 400, wheels: int = 9) -> str:
    """A uv.lock (schema 1) of about 1 MB with markers, a fork and conflict markers."""
    lib = [f"lib-{index:03d}" for index in range(libraries)]
    mem = [f"member-{index:02d}" for index in range(members)]
    cpu = f"extra == 'extra-{len(mem[0])}-{mem[0]}-cpu'"
    gpu = f"extra == 'extra-{len(mem[0])}-{mem[0]}-gpu'"
    out = [
        "version = 1",
        "revision = 3",
        'requires-python = ">=3.10"',
        "resolution-markers = [",
        "    \"python_full_version >= '3.12'\",",
        "    \"python_full_version < '3.12'\",",
        "]",
        "conflicts = [[",
        f'    {{ package = "{mem[0]}", extra = "cpu" }},',
        f'    {{ package = "{mem[0]}", extra = "gpu" }},',
        "]]",
        "",
        "[manifest]",
        "members = [",
        *(f'    "{name}",' for name in mem),
        "]",
        "",
    ]
    for index, name in enumerate(lib):
        versions_here = ("1.0", "2.0") if index == 5 else ("1.0",)
        for version in versions_here:
            out += ["[[package]]", f'name = "{name}"', f'version = "{version}"']
            out.append(f'source = {{ registry = "{INDEX}" }}')
            if index == 5:
                fork = (
                    "python_full_version < '3.12'"
                    if version == "1.0"
                    else "python_full_version >= '3.12'"
                )
                out += ["resolution-markers = [", f'    "{fork}",', "]"]
            targets = [
                t for t in (index * 7 + 3, index * 3 + 11, index + 1) if index < t < libraries
            ]
            if targets:
                out.append("dependencies = [")
                for hop, target in enumerate(targets[: 1 + index % 3]):
                    out.append(_edge(lib[target], MARKERS[(index + hop) % len(MARKERS)]))
                out.append("]")
            sdist_hash = _digest(name, version, "sdist")
            out.append(
                f'sdist = {{ url = "https://files.example.org/{name}-{version}.tar.gz", '
                f'hash = "sha256:{sdist_hash}", size = 123456, '
                'upload-time = "2025-01-01T00:00:00Z" }'
            )
            out += ["wheels = [", *_wheels(name, version, wheels), "]", ""]
    for index, name in enumerate(mem):
        out += ["[[package]]", f'name = "{name}"', f'source = {{ editable = "packages/{name}" }}']
        deps = [_edge(lib[(index * 13 + hop * 29) % libraries], MARKERS[hop]) for hop in range(5)]
        deps.append(_edge(FORKED, None))
        if index:
            deps.append(_edge(mem[index // 2], None))
        if index % 5 == 1:
            deps.append(_edge(mem[0], None, extra="cpu"))
        out += ["dependencies = [", *deps, "]", ""]
        if index == 0:
            out += [
                "[package.optional-dependencies]",
                "cpu = [",
                _edge(lib[7], cpu),
                "]",
                "gpu = [",
                _edge(lib[9], gpu),
                "]",
                "",
            ]
        out += [
            "[package.dev-dependencies]",
            "dev = [",
            _edge(lib[(index * 17) % libraries], None),
            _edge(lib[(index * 19 + 1) % libraries], "sys_platform == 'win32'"),
            "]",
            "",
            "[package.metadata]",
            "requires-dist = [",
            *(
                f'    {{ name = "{lib[(index * 13 + hop * 29) % libraries]}" }},'
                for hop in range(5)
            ),
            "]",
            "",
        ]
    return "\n".join(out) + "\n"


def all_closures(lock: Lock) -> int:
    count = sum(len(lock.closure(member)) for member in lock.members)
    return count + len(lock.all_packages_closure())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lock", type=Path, help="a uv.lock to measure (default: see above)")
    parser.add_argument("--repeat", type=int, default=15, help="timed repeats (default 15)")
    parser.add_argument("--profile", action="store_true", help="also print cProfile hot spots")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="nox-workspace-bench-") as folder:
        if args.lock is not None:
            path = args.lock.resolve()
            origin = str(path)
        elif SHARED_LOCK.is_file():
            path = SHARED_LOCK
            origin = f"{path} (real pydantic-ai)"
        else:
            path = Path(folder) / "uv.lock"
            path.write_text(synthesize_lock(), encoding="utf-8")
            origin = "synthesized (80 members, 400 registry packages)"
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
        lock = parse_lock(data, path)
        print(
            f"lock: {origin}, {len(raw) / 1e6:.2f} MB, {len(lock.packages)} packages, "
            f"{len(lock.members)} members"
        )
        print(versions(find_uv(), ["packaging"]))

        def time_parse() -> float:
            start = time.perf_counter()
            tomllib.loads(raw.decode("utf-8"))
            return time.perf_counter() - start

        def time_index_and_closures() -> float:
            clear_lock_cache()
            start = time.perf_counter()
            all_closures(parse_lock(data, path))
            return time.perf_counter() - start

        def time_read_and_closures() -> float:
            clear_lock_cache()
            start = time.perf_counter()
            all_closures(read_lock(path))
            return time.perf_counter() - start

        results = interleave(
            {
                "parse": time_parse,
                "index": time_index_and_closures,
                "read": time_read_and_closures,
            },
            args.repeat,
            warmup=2,
        )
        parse = results["parse"]
        print_table(
            [
                Row("index + closures (overhead)", results["index"], parse, TARGET),
                Row("read_lock + closures", results["read"], parse, 1 + TARGET),
            ],
            peer_label="tomllib parse",
        )
        overhead = median(results["index"]) / median(parse)
        print(f"overhead on top of one tomllib parse: {overhead:.1%} (target <= {TARGET:.0%})")

        if args.profile:
            clear_lock_cache()
            profiler = cProfile.Profile()
            profiler.enable()
            all_closures(parse_lock(data, path))
            profiler.disable()
            stream = io.StringIO()
            pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(20)
            print(stream.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
