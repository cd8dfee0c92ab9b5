"""Shared fixtures. The example organization is synthesized once per test session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_servicecatalog as servicecatalog
from aws_cdk.assertions import Template
from hypothesis import settings

from stacks.composition import build, platform_app
from stacks.config import OrgConfig, load_config
from tools.cli_context import app_context

# CI must be deterministic: there Hypothesis replays the same examples every run; locally it
# keeps exploring new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config" / "example.yaml"


def cli_app(outdir: Path) -> cdk.App:
    """The platform's App with the context `cdk synth` passes (tools.cli_context)."""
    return platform_app(outdir=str(outdir), context=app_context())


def run_app(config_file: Path, outdir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """app.py as `cdk synth -c config=...` runs it: cdk.json's context, the CLI's, the config."""
    context = {**app_context(), "config": str(config_file)}
    environment = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context)}
    if outdir is not None:
        environment["CDK_OUTDIR"] = str(outdir)
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300, check=False
    )


def product_stack(scope: cdk.Stack, construct_id: str) -> servicecatalog.ProductStack:
    """A product stack `construct_id` published as a Service Catalog product of `scope`: its
    template becomes a file asset of `scope`'s assembly."""
    product = servicecatalog.ProductStack(scope, construct_id)
    servicecatalog.CloudFormationProduct(
        scope,
        f"{construct_id}Product",
        product_name=construct_id.lower(),
        owner="tests",
        product_versions=[
            servicecatalog.CloudFormationProductVersion(
                cloud_formation_template=servicecatalog.CloudFormationTemplate.from_product_stack(product)
            )
        ],
    )
    return product


@dataclass
class SynthesizedOrg:
    """The example organization's cloud assembly, read back as plain templates."""

    config: OrgConfig
    directory: Path
    stages: dict[str, cdk.Stage]
    templates: dict[str, dict[str, Any]]
    """Template JSON by artifact path `<StageId>/<StackId>`."""

    def template(self, stage_id: str, stack_id: str) -> Template:
        return Template.from_json(self.templates[f"{stage_id}/{stack_id}"])

    def template_files(self) -> list[Path]:
        return sorted(self.directory.glob("assembly-*/*.template.json"))


@pytest.fixture(scope="session")
def example_config() -> OrgConfig:
    return load_config(EXAMPLE_CONFIG)


@pytest.fixture(scope="session")
def org(example_config: OrgConfig, tmp_path_factory: pytest.TempPathFactory) -> SynthesizedOrg:
    # No credentials and no region in the environment: synthesis must not need them.
    for variable in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"):
        os.environ.pop(variable, None)
    directory = tmp_path_factory.mktemp("cdk.out")
    app = cli_app(directory)
    stages = build(app, example_config)
    app.synth()
    templates = {}
    for stage in stages:
        for stack in stage.node.children:
            if isinstance(stack, cdk.Stack):
                template_file = directory / f"assembly-{stage.stage_name}" / stack.template_file
                templates[f"{stage.stage_name}/{stack.node.id}"] = json.loads(template_file.read_text())
    return SynthesizedOrg(example_config, directory, {stage.stage_name: stage for stage in stages}, templates)
