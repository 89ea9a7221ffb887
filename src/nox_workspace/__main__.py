"""``python -m nox_workspace``: the command line (see ``_cli``)."""

from __future__ import annotations

from nox_workspace._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
