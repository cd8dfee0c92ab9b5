"""Print the `cdk deploy` commands that deploy a config's organization without the pipeline.

    python -m tools.deploy_commands [config.yaml]

One command per wave (stacks.deployment_order); the stages of a wave deploy in parallel.
Run them with credentials of the shared-services account: every account's bootstrap trusts it.
"""

from __future__ import annotations

import sys
from itertools import groupby
from pathlib import Path

from stacks.config import ConfigError, load_config
from stacks.deployment_order import MODEL_DEPLOYED, platform_stages


def commands(config_path: Path) -> list[str]:
    config = load_config(config_path)
    lines = []
    for wave, stages in groupby(platform_stages(config), key=lambda planned: planned.wave):
        selected = list(stages)
        patterns = " ".join(f"'{planned.stage_id}/*'" for planned in selected)
        lines.append(f"# wave {wave}: {', '.join(f'{p.purpose} of {p.account_name}' for p in selected)}")
        lines.append(f"npx cdk deploy -c config={config_path} --concurrency {len(selected)} {patterns}")
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
