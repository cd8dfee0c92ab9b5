"""The proofs' tests' fixtures."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from proofs.context import ProofContext
from stacks.config import OrgConfig
from stacks.deployment_order import planned_stages
from tests.proofs.assemblies import REGION, S


@pytest.fixture
def assemble(tmp_path, example_config):
    planned = {p.stage_id: p for p in planned_stages(example_config)}

    def write(*stacks: S, config: OrgConfig = example_config) -> ProofContext:
        by_stage: dict[str, list[S]] = defaultdict(list)
        for stack in stacks:
            by_stage[stack.stage].append(stack)
        for stage, members in by_stage.items():
            directory = tmp_path / f"assembly-{stage}"
            directory.mkdir()
            artifacts: dict[str, Any] = {}
            for stack in members:
                plan = planned.get(stage)
                account = example_config.accounts[plan.account_name].id if plan else stack.account
                region = (plan.recovery_region if plan else None) or REGION
                artifact = f"{stage}{stack.name}"
                dependencies = [f"{stage}{name}" for name in stack.depends_on]
                if stack.assets:
                    files = {}
                    for asset_hash, template in stack.assets.items():
                        suffix = "stackset" if "StackSet" in asset_hash else "product"
                        file = f"{artifact}{asset_hash}.{suffix}.template.json"
                        (directory / file).write_text(json.dumps(template))
                        files[asset_hash] = {"source": {"path": file, "packaging": "file"}}
                    (directory / f"{artifact}.assets.json").write_text(json.dumps({"files": files}))
                    artifacts[f"{artifact}.assets"] = {
                        "type": "cdk:asset-manifest",
                        "properties": {"file": f"{artifact}.assets.json"},
                    }
                    dependencies.append(f"{artifact}.assets")
                (directory / f"{artifact}.template.json").write_text(json.dumps(stack.template))
                artifacts[artifact] = {
                    "type": "aws:cloudformation:stack",
                    "environment": f"aws://{account}/{region}",
                    "displayName": f"{stage}/{stack.name}",
                    "dependencies": dependencies,
                    "properties": {
                        "templateFile": f"{artifact}.template.json",
                        "stackName": f"acme-{stack.name.lower()}",
                    },
                }
            (directory / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": artifacts}))
        return ProofContext.read(tmp_path, config)

    return write
