"""Print what `cdk synth` produced: one row per stack with its account, resources and size,
then the organization's estimated fixed monthly cost per account (tools.cost_estimate).

    python -m tools.synth_summary [cdk.out] [config.yaml]      (the config names the accounts)
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from proofs.assembly import CloudAssembly
from stacks.config import ConfigError, load_config
from tools.cost_estimate import estimate
from tools.cost_estimate import render as render_costs


@dataclass(frozen=True)
class StackSummary:
    stage: str
    stack: str
    account: str
    region: str
    resources: int
    template_bytes: int


def summarize(assembly_dir: Path) -> list[StackSummary]:
    """Read every nested stage assembly of a cloud assembly directory."""
    rows = []
    for manifest_file in sorted(assembly_dir.glob("assembly-*/manifest.json")):
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        for artifact in manifest["artifacts"].values():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            template_file = manifest_file.parent / artifact["properties"]["templateFile"]
            template = json.loads(template_file.read_text(encoding="utf-8"))
            rows.append(
                StackSummary(
                    stage=manifest_file.parent.name.removeprefix("assembly-"),
                    stack=artifact["properties"].get("stackName", artifact["displayName"]),
                    account=artifact["environment"].removeprefix("aws://").split("/")[0],
                    region=artifact["environment"].split("/")[-1],
                    resources=len(template.get("Resources", {})),
                    template_bytes=template_file.stat().st_size,
                )
            )
    return rows


def render(rows: list[StackSummary]) -> str:
    header = ("stage", "stack", "account", "region", "resources", "template KiB")
    cells = [header] + [
        (r.stage, r.stack, r.account, r.region, str(r.resources), f"{r.template_bytes / 1024:.1f}") for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    total = sum(r.resources for r in rows)
    lines.append(f"{len(rows)} stacks, {total} resources")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    assembly_dir = Path(argv[1] if len(argv) > 1 else "cdk.out")
    rows = summarize(assembly_dir)
    if not rows:
        print(f"no stacks found in {assembly_dir}", file=sys.stderr)
        return 1
    names: dict[str, str] = {}
    if len(argv) > 2:
        try:
            names = {account.id: name for name, account in load_config(Path(argv[2])).accounts.items()}
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    print(render(rows))
    print()
    print(render_costs(estimate(CloudAssembly.read(assembly_dir)), names))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
