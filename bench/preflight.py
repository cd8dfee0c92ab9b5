"""Preflight and flows benchmark: the offline proofs that `make synth` and `make flows` run.

    python -m bench.preflight [--runs 5] [--assembly cdk.out] [--config config/example.yaml]

Needs a synthesized cloud assembly (`make synth`). Each run starts a fresh interpreter, as
`make synth` does, and runs `tools.preflight`, then `tools.flows`; wall time and CPU time
(user + sys, which a loaded machine disturbs less) are printed per run, with the median and the
best, against the preflight's target (issue #21: at most 5 s added to `make synth`; CPU time
within 3 s). A last run prints where the preflight's CPU time goes: Python's start and the
imports, reading the config and the assembly, each proof (a proof that first asks for what
several share, such as every account's deploy requirements, is charged for computing it), and
the exit. It runs as the tool does (tools.one_run).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_WALL_S = 5.0
TARGET_CPU_S = 3.0
TOOLS = ("preflight", "flows")

PHASES = """
import json, time
from pathlib import Path
from proofs import preflight
from proofs.context import ProofContext
from stacks.config import load_config
from tools import one_run

def main(argv):
    phases = {"start and imports": time.process_time()}
    mark = time.process_time()
    context = ProofContext.read(Path(argv[1]), load_config(Path(argv[2])))
    phases["read config and assembly"] = time.process_time() - mark
    for name, proof in preflight.PROOFS.items():
        mark = time.process_time()
        proof(context)
        phases[name] = time.process_time() - mark
    print(json.dumps(phases))
    return 0

one_run.run(main)
"""


def timed(command: list[str]) -> tuple[float, float, str]:
    """Wall and CPU (user + sys) seconds of one run of `command` in a fresh process, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode not in (0, 1):  # 1: the proofs found a failure, still a full run
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stderr}")
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), completed.stdout


def summary(name: str, runs: list[tuple[float, float]]) -> str:
    walls, cpus = [wall for wall, _ in runs], [cpu for _, cpu in runs]
    each = "  ".join(f"{wall:.2f}/{cpu:.2f}" for wall, cpu in runs)
    return (
        f"{name:<10} wall median {statistics.median(walls):5.2f} s best {min(walls):5.2f} s   "
        f"cpu median {statistics.median(cpus):5.2f} s best {min(cpus):5.2f} s   (wall/cpu per run: {each})"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--assembly", default="cdk.out")
    parser.add_argument("--config", default="config/example.yaml")
    args = parser.parse_args(argv)
    if not (ROOT / args.assembly / "manifest.json").exists():
        print(f"error: {args.assembly} holds no cloud assembly: run `make synth` first", file=sys.stderr)
        return 1
    runs: dict[str, list[tuple[float, float]]] = {tool: [] for tool in TOOLS}
    for _ in range(args.runs):  # alternately: a slower spell of the machine slows both
        for tool in TOOLS:
            wall, cpu, _ = timed([sys.executable, "-m", f"tools.{tool}", args.assembly, args.config])
            runs[tool].append((wall, cpu))
    print(
        f"{args.runs} runs each, a fresh interpreter per run; preflight targets: at most {TARGET_WALL_S:.0f} s "
        f"wall, {TARGET_CPU_S:.0f} s cpu"
    )
    for tool, measured in runs.items():
        print(summary(tool, measured))
    _, cpu, output = timed([sys.executable, "-c", PHASES, args.assembly, args.config])
    phases: dict[str, float] = json.loads(output)
    phases["exit"] = cpu - sum(phases.values())
    print(f"preflight cpu by phase, one run of {cpu:.2f} s:")
    for phase, seconds in phases.items():
        print(f"  {phase:<26} {seconds:5.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
