"""Builds the whole organization into a CDK app: the functions app.py and tests share."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk

from ml_constructs.sagemaker_checks import SageMakerChecks
from stacks import gates, naming
from stacks.config import OrgConfig, Role
from stacks.deployment_order import planned_stages
from stacks.nag_acknowledgements import acknowledgements
from stacks.stages import (
    RECOVERY_STAGE_CLASSES,
    STAGE_CLASSES,
    AccountStage,
    EndpointsStage,
    ToolchainStage,
    ToolingStage,
)


def platform_app(*, outdir: str | None = None, context: Mapping[str, Any] | None = None) -> cdk.App:
    """The App of every synth of the platform (app.py, tests, benchmarks).

    CDK's built-in CloudFormation validation is off. It starts a WASM engine on every synth
    (about 2 seconds) and checks every template with cfn-lint's rules (about 2 more for the
    example organization); cfn-lint itself, which `make synth` runs on every template (the
    pipelines' synth steps run `make synth` too), checks the same and fails on errors.

    Stack traces are recorded in the assembly's metadata only under `cdk synth --debug` (the
    CLI then sets CDK_DEBUG): capturing one for every construct, piece of metadata and
    acknowledgement takes about a tenth of the example's synth.

    No template carries CDK's version reporting (`AWS::CDK::Metadata`): it names the Python
    that synthesized it, so the same organization would synthesize differently on another
    machine, and a released Service Catalog product would change with the developer's Python.
    """
    traces = {} if os.environ.get("CDK_DEBUG") == "true" else WITHOUT_STACK_TRACES
    return cdk.App(
        outdir=outdir,
        context={**traces, **(context or {})},
        analytics_reporting=False,
        builtin_cloud_formation_validation=False,
    )


WITHOUT_STACK_TRACES = {"aws:cdk:disable-stack-trace": True, "aws:cdk:disable-creation-stack-traces": True}


def build(app: cdk.App, config: OrgConfig) -> list[AccountStage]:
    """Add every stage of `config` to `app`, in deployment order, and register the gates."""
    stages = [
        STAGE_CLASSES[planned.purpose](app, config=config, account_name=planned.account_name)
        if planned.recovery_region is None
        else RECOVERY_STAGE_CLASSES[planned.purpose](
            app, config=config, account_name=planned.account_name, recovery_region=planned.recovery_region
        )
        for planned in planned_stages(config)
    ]
    endpoints = [stage for stage in stages if isinstance(stage, EndpointsStage)]
    for stage in stages:
        if isinstance(stage, ToolingStage):
            stage.add_model_deployments(endpoints)
    # The pipeline synthesizes the stages it deploys as it adds them: their acknowledgements go
    # first, or the CDK warnings they acknowledge stay in the stages' assemblies.
    acknowledged = acknowledgements(config)
    toolchains = [stage for stage in stages if isinstance(stage, ToolchainStage)]
    gates.acknowledge([stage for stage in stages if stage not in toolchains], acknowledged)
    for toolchain in toolchains:
        toolchain.add_pipeline(stages)
    gates.acknowledge(toolchains, acknowledged)
    # The plugins check every stage of the app, whenever they are added.
    production = [account.id for _, account in config.accounts_with(Role.ML_PROD)]
    tested = [
        (config.accounts[served.placement.account].id, naming.endpoint_name(config.organization.name, served.name))
        for name in config.serving_accounts()
        for served in config.endpoints_served_in(name)
        if not served.placement.production
    ]
    standbys = [
        (
            config.accounts[served.placement.account].id,
            served.item.recovery_region,
            naming.endpoint_name(config.organization.name, served.name),
        )
        for name in config.serving_accounts()
        for served in config.endpoints_served_in(name)
        if served.placement.production and served.item.recovery_region is not None
    ]
    gates.add_plugins(
        app,
        SageMakerChecks(
            production_accounts=production,
            organization_accounts=config.account_ids(),
            test_endpoints=tested,
            standby_endpoints=standbys,
        ),
    )
    return stages
