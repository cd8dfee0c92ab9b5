"""Control Tower gate benchmark: what `python -m tools.control_tower` adds to `make synth`.

    python -m bench.control_tower [cdk.out] [--repeats N]

Runs the gate as `make synth` does, in a fresh process, on a synthesized cloud assembly (the
example organization's, after `make synth`), with a cache folder of its own: first empty (a
fresh clone: cfn-guard and the rules unpacked, every template judged), then with the verdicts
of that run (a synth that changed nothing), then after one stack changed (every resource of
the largest template edited: the synth after a change to one stack). Prints wall and CPU time
(cfn-guard's processes included) against the 5-second target; the median of --repeats runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TARGET_S = 5.0


def _gate(assembly: Path, cache: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one run of the gate, which must pass."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "tools.control_tower", str(assembly), "--cache-dir", str(cache)],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise SystemExit(f"the gate failed on {assembly}:\n{completed.stderr[-2000:]}")
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def _edit_largest_template(assembly: Path) -> None:
    """Every resource of the largest template gets a new property, as if its stack had changed."""
    largest = max(assembly.glob("**/*.template.json"), key=lambda path: path.stat().st_size)
    template = json.loads(largest.read_text(encoding="utf-8"))
    for resource_ in template.get("Resources", {}).values():
        resource_.setdefault("Properties", {})["BenchmarkEdit"] = time.time_ns()
    largest.write_text(json.dumps(template), encoding="utf-8")


def _scenario(assembly: Path, repeats: int, prepare: Callable[[Path, Path], None]) -> tuple[float, float]:
    """The median run of the gate on a copy of `assembly` and a cache `prepare` set up."""
    runs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-control-tower-") as scratch:
            copy, cache = Path(scratch) / "cdk.out", Path(scratch) / "cache"
            shutil.copytree(assembly, copy)
            prepare(copy, cache)
            runs.append(_gate(copy, cache))
    return sorted(runs)[len(runs) // 2]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("assembly", nargs="?", default=Path("cdk.out"), type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if not (args.assembly / "manifest.json").exists():
        raise SystemExit(f"{args.assembly} is no cloud assembly: run `make synth` first")

    def nothing(copy: Path, cache: Path) -> None:
        pass

    def judged_before(copy: Path, cache: Path) -> None:
        _gate(copy, cache)

    def one_stack_changed(copy: Path, cache: Path) -> None:
        _gate(copy, cache)
        _edit_largest_template(copy)

    scenarios = {
        "fresh clone: tools unpacked, every template judged": nothing,
        "synth that changed nothing: every verdict cached": judged_before,
        "synth that changed one stack (the largest template)": one_stack_changed,
    }
    print(f"| gate run | wall s | CPU s | target {TARGET_S:.0f} s |\n| --- | --- | --- | --- |")
    for name, prepare in scenarios.items():
        wall, cpu = _scenario(args.assembly, args.repeats, prepare)
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {'met' if wall <= TARGET_S else 'missed'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
