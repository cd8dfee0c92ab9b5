"""How an offline proof tool (preflight, flows) runs as a process of its own: it reads the whole
cloud assembly, builds millions of objects that nearly all live until it ends, prints and exits.

CPython's cyclic garbage collector suits programs whose objects come and go: it examines the
youngest objects every 700 allocations and now and then every object alive, and the
interpreter collects once more at exit. Here those collections find next to nothing and cost
about a fifth of a preflight's CPU time (bench/preflight.py, docs/benchmarks.md), so a proof
run freezes what exists (the permanent generation, which collections skip) and collects
rarely. Only the process entry points do this: a test calling `main` keeps the defaults.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import NoReturn

ALLOCATIONS_BETWEEN_COLLECTIONS = 200_000
"""CPython's default is 700. With this the example organization's preflight collects once or
never; a larger one, whose run allocates more, still collects (memory stays bounded)."""


def run(main: Callable[[list[str]], int]) -> NoReturn:
    """Run `main(sys.argv)` as the whole process and exit with its status."""
    gc.freeze()  # what the imports made: modules, classes, the config's AWS tables
    gc.set_threshold(ALLOCATIONS_BETWEEN_COLLECTIONS, 30, 30)
    status = main(sys.argv)
    gc.freeze()  # what is left lives until exit: the collection at exit need not examine it
    sys.exit(status)
