"""Print the commands that bootstrap every account of a config for the platform.

    python -m tools.bootstrap_commands [config.yaml] [cdk.out] [policy-dir]

Reads the synthesized cloud assembly (run `make synth` first): each account's CloudFormation
execution policies and permissions boundary are generated from what its stacks need
(proofs.deploy). Writes them as JSON files into policy-dir (default build/bootstrap) and prints,
account by account in the order they can be bootstrapped, the `aws iam create-policy` and
`cdk bootstrap` lines to run with that account's credentials.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from proofs.context import ProofContext
from proofs.deploy.bootstrap import AccountBootstrap, bootstrap_plan, policy_file
from stacks.config import ConfigError, load_config

PHASES = {
    1: "the management account: its stages change the organization and are deployed from it, so it "
    "trusts no other account",
    2: "the shared-services account, where the pipelines run (once it exists: with create_accounts, "
    "after the management account's Organization stage created it)",
    3: "every other account, trusting shared-services (once it exists)",
}


def commands(plans: list[AccountBootstrap], policy_dir: str) -> list[str]:
    lines: list[str] = []
    phase = 0
    for plan in plans:
        if plan.phase != phase:
            phase = plan.phase
            lines += [f"# --- step {phase}: {PHASES[phase]}", ""]
        lines.append(f"# {plan.name}: account {plan.account}, regions {', '.join(plan.regions)}")
        lines.append(f"# (run with credentials for account {plan.account})")
        for policy in (plan.boundary, *plan.execution_policies):
            lines.append(
                f"aws iam create-policy --policy-name {policy.name} "
                f"--policy-document file://{policy_dir}/{policy_file(plan, policy)}"
            )
        lines.append(f"npx cdk bootstrap {' '.join(plan.cdk_bootstrap_arguments())}")
        lines.append("")
    lines.append(
        "# When a platform change changes an account's policies (the files above differ), publish the new "
        "version before deploying: aws iam create-policy-version --policy-arn <arn> --policy-document "
        "file://<file> --set-as-default"
    )
    return lines


def main(argv: list[str]) -> int:
    config_path = Path(argv[1] if len(argv) > 1 else "config/example.yaml")
    assembly = Path(argv[2] if len(argv) > 2 else "cdk.out")
    policy_dir = Path(argv[3] if len(argv) > 3 else "build/bootstrap")
    try:
        config = load_config(config_path)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not (assembly / "manifest.json").exists():
        print(f"error: {assembly} holds no cloud assembly: run `make synth` first", file=sys.stderr)
        return 1
    plans = bootstrap_plan(ProofContext.read(assembly, config))
    policy_dir.mkdir(parents=True, exist_ok=True)
    for plan in plans:
        for policy in (plan.boundary, *plan.execution_policies):
            (policy_dir / policy_file(plan, policy)).write_text(json.dumps(policy.document, indent=2) + "\n")
    print("\n".join(commands(plans, str(policy_dir))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
