"""Documents generated from the code (the README's diagram, the config reference): written by
their make target, or, with --check, compared with what is committed (CI)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_or_check(document: Path, wanted: str, *, check: bool, make_target: str) -> int:
    """Write `wanted` to `document`, or with `check` fail (1) when the committed one differs."""
    if not check:
        document.write_text(wanted, encoding="utf-8")
        return 0
    if document.exists() and document.read_text(encoding="utf-8") == wanted:
        return 0
    print(f"error: {document.relative_to(ROOT)} is stale: run `make {make_target}`", file=sys.stderr)
    return 1
