"""Print the `cdk deploy` commands that deploy a config's organization without the pipeline.

    python -m tools.deploy_commands [config.yaml]

One command per wave and deployer (stacks.deployment_order); the stages of a command deploy
in parallel. The management account's stages run with its own credentials (it trusts no other
account: they change the organization); every other stage runs with credentials of the
shared-services account, which every other account's bootstrap trusts. `--require-approval
never`: the commands run unattended, and the preflight (`make synth`) has proven what they
deploy; without it the CLI refuses a parallel deploy that broadens security.
"""

from __future__ import annotations

import sys
from itertools import groupby
from pathlib import Path

from stacks.config import ConfigError, load_config
from stacks.deployment_order import MODEL_DEPLOYED, management_stages, platform_stages


def commands(config_path: Path) -> list[str]:
    config = load_config(config_path)
    management = set(management_stages(config))
    lines = []
    for wave, stages in groupby(platform_stages(config), key=lambda planned: planned.wave):
        in_wave = list(stages)
        for deployer, selected in (
            ("the management account", [p for p in in_wave if p in management]),
            ("the shared-services account", [p for p in in_wave if p not in management]),
        ):
            if not selected:
                continue
            patterns = " ".join(f"'{planned.stage_id}/*'" for planned in selected)
            what = ", ".join(
                f"{p.purpose} of {p.account_name}" + (f" in {p.recovery_region}" if p.recovery_region else "")
                for p in selected
            )
            lines.append(f"# wave {wave}, with credentials of {deployer}: {what}")
            lines.append(
                f"npx cdk deploy -c config={config_path} --require-approval never "
                f"--concurrency {len(selected)} {patterns}"
            )
    lines.append(
        f"# not here: the {', '.join(sorted(MODEL_DEPLOYED))} stages; each model's deployment pipeline "
        "deploys them with its approved model package"
    )
    return lines


def main(argv: list[str]) -> int:
    config_path = Path(argv[1] if len(argv) > 1 else "config/example.yaml")
    try:
        print("\n".join(commands(config_path)))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
