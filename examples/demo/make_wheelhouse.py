"""Write the tiny third-party wheels the demo workspace depends on into ``wheelhouse/``.

The demo runs offline: instead of downloading packages, this script writes small pure-Python
wheels (a zip with a module and its ``.dist-info``) with a fixed timestamp, so they are
byte-for-byte the same on every machine and match the hashes in ``uv.lock``.

Usage: ``python examples/demo/make_wheelhouse.py [FOLDER]``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

_EPOCH = (2020, 1, 1, 0, 0, 0)

#: name, version, requirements, module source
DEMO_WHEELS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("tinycolor", "1.2.0", (), "def red(text):\n    return f'\\x1b[31m{text}\\x1b[0m'\n"),
    ("clickish", "0.3.0", ("tinycolor>=1",), "def command(func):\n    return func\n"),
    ("numberz", "2.0.1", (), "def mean(values):\n    return sum(values) / len(values)\n"),
)


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def make_wheel(
    wheelhouse: Path,
    name: str,
    version: str = "1.0",
    requires: Sequence[str] = (),
    extras: Mapping[str, Sequence[str]] | None = None,
    source: str | None = None,
) -> Path:
    """Write a pure-Python wheel ``name-version`` whose module is importable as ``name``.

    ``requires`` become ``Requires-Dist`` lines; ``extras`` map an extra to its requirements.
    """
    module = re.sub(r"[-_.]+", "_", name).lower()
    dist = f"{module}-{version}"
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    meta += [f"Requires-Dist: {req}" for req in requires]
    for extra, reqs in (extras or {}).items():
        meta.append(f"Provides-Extra: {extra}")
        meta += [f"Requires-Dist: {req}; extra == '{extra}'" for req in reqs]
    body = source if source is not None else f"__version__ = {version!r}\n"
    files = {
        f"{module}/__init__.py": body.encode(),
        f"{dist}.dist-info/METADATA": ("\n".join(meta) + "\n").encode(),
        f"{dist}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: make_wheelhouse\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
    }
    record = [_record_line(path, data) for path, data in files.items()]
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    wheelhouse.mkdir(parents=True, exist_ok=True)
    target = wheelhouse / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, _EPOCH), data)
    return target


def main(argv: Sequence[str]) -> int:
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parent / "wheelhouse"
    for name, version, requires, source in DEMO_WHEELS:
        print(make_wheel(folder, name, version, requires, source=source))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
