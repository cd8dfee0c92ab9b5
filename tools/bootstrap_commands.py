"""Print the commands that bootstrap every account of a config for the platform.

    python -m tools.bootstrap_commands [config.yaml] [policy-dir]

Writes each account's least-privilege CloudFormation execution policies (stacks.bootstrap)
as JSON files into policy-dir (default build/bootstrap) and prints, per account, the
`aws iam create-policy` and `cdk bootstrap --trust <shared-services>` lines to run there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from stacks.bootstrap import MANAGED_POLICY_MAX_CHARACTERS, bootstrap_commands, execution_policies
from stacks.config import ConfigError, load_config


def main(argv: list[str]) -> int:
    config_path = Path(argv[1] if len(argv) > 1 else "config/example.yaml")
    policy_dir = Path(argv[2] if len(argv) > 2 else "build/bootstrap")
    try:
        config = load_config(config_path)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    policy_dir.mkdir(parents=True, exist_ok=True)
    for name in config.accounts:
        for policy in execution_policies(config, name):
            if policy.size > MANAGED_POLICY_MAX_CHARACTERS:
                print(f"error: {policy.name} for {name} is {policy.size} characters, over IAM's limit", file=sys.stderr)
                return 1
            (policy_dir / f"{name}-{policy.name}.json").write_text(json.dumps(policy.document, indent=2) + "\n")
    print("\n".join(bootstrap_commands(config, str(policy_dir))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
