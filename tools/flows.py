"""Prove the platform's runtime flows on a synthesized cloud assembly.

    python -m tools.flows [cdk.out] [config.yaml]

Prints every flow hop by hop: allowed or denied as the flow says, with what decided it, its
network path, and what could not be decided offline; exits 1 when a hop does not hold.
"""

from __future__ import annotations

import sys
from pathlib import Path

from proofs import flows
from proofs.context import ProofContext
from proofs.flows.model import HopResult
from stacks.config import ConfigError, load_config
from tools import one_run


def render(result: HopResult) -> list[str]:
    mark = "ok " if result.holds else "FAILS"
    expected = "allowed" if result.hop.allowed else "denied (negative)"
    lines = [
        f"  {mark} {result.hop.what}: {result.hop.caller.name} {result.hop.action} on {result.hop.resource} {expected}"
    ]
    if not result.holds:
        lines.append(f"        {result.decision}")
        if result.network:
            lines.append(f"        network: {result.network}")
    if result.undecided:
        lines.append(f"        cannot decide offline: {', '.join(result.undecided)}")
    return lines


def main(argv: list[str]) -> int:
    assembly = Path(argv[1] if len(argv) > 1 else "cdk.out")
    config_path = Path(argv[2] if len(argv) > 2 else "config/example.yaml")
    try:
        config = load_config(config_path)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    proven = flows.prove(ProofContext.read(assembly, config))
    failed = 0
    for flow, results in proven:
        print(f"{flow.name} (docs/architecture.md: {flow.covers})")
        for result in results:
            print("\n".join(render(result)))
            failed += not result.holds
    hops = sum(len(results) for _, results in proven)
    undecided = sum(1 for _, results in proven for result in results if result.undecided)
    print(f"flows: {len(proven)} flows, {hops} hops, {failed} failing, {undecided} not decidable offline")
    return 1 if failed else 0


if __name__ == "__main__":
    one_run.run(main)
