"""Run the deploy preflight on a synthesized cloud assembly.

    python -m tools.preflight [cdk.out] [config.yaml]

Prints, per account and stack, what AWS would refuse, the rule it rests on and the fix, then
what could not be decided offline; exits 1 when anything fails. No AWS calls, no credentials.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from proofs import preflight
from proofs.context import ProofContext
from proofs.findings import failures, render
from stacks.config import ConfigError, load_config
from tools import one_run


def main(argv: list[str]) -> int:
    assembly = Path(argv[1] if len(argv) > 1 else "cdk.out")
    config_path = Path(argv[2] if len(argv) > 2 else "config/example.yaml")
    started = time.monotonic()
    try:
        config = load_config(config_path)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    findings = preflight.run(ProofContext.read(assembly, config))
    failed = failures(findings)
    if findings:
        print(render(findings), file=sys.stderr if failed else sys.stdout)
    elapsed = time.monotonic() - started
    print(
        f"preflight: {len(preflight.PROOFS)} proofs, {len(failed)} failure(s), "
        f"{len(findings) - len(failed)} undecided, {elapsed:.1f} s"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    one_run.run(main)
