"""The shared-services account's tooling: the organization's private package mirror, and the
event bus where approved models ask to be deployed."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ml_constructs.encryption import PurposeKey
from ml_constructs.package_mirror import PackageMirror
from stacks import naming
from stacks.config import OrgConfig
from stacks.platform_stack import PlatformStack


class ToolingStack(PlatformStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrgConfig, account_name: str) -> None:
        org = config.organization.name
        tooling = config.accounts[account_name]
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "tooling"),
            description="ML platform shared tooling: private PyPI mirror, model deployment requests",
            termination_protection=True,
        )
        key = PurposeKey(
            self,
            "PackagesKey",
            alias=naming.key_alias(org, "packages"),
            description="CodeArtifact packages",
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.mirror = PackageMirror(
            self, "PackageMirror", domain_name=org, organization_id=config.landing_zone.organization_id, key=key
        )
        deployments_key = PurposeKey(
            self,
            "DeploymentsKey",
            alias=naming.key_alias(org, "model-deployments"),
            description="Model deployment requests",
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        deployments_key.allow_service(
            "AllowEventBridgeOfThisAccount",
            "events.amazonaws.com",
            actions=["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"],
            conditions={"StringEquals": {"aws:SourceAccount": tooling.id}},
        )
        # CDK would condition the key policy on the bus's ARN, which depends on the key: a
        # cycle. The bus and archive get a reference, and the grant above stands instead.
        key_reference = kms.Key.from_key_arn(self, "DeploymentsKeyReference", deployments_key.key_arn)
        self.deployment_bus = events.EventBus(
            self,
            "DeploymentBus",
            event_bus_name=naming.deployment_bus_name(org),
            description="Model packages approved in ml-dev accounts, waiting to be deployed",
            kms_key=key_reference,
        )
        self.deployment_bus.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OrganizationMayRequestDeployments",
                principals=[iam.OrganizationPrincipal(config.landing_zone.organization_id)],
                actions=["events:PutEvents"],
                resources=[self.deployment_bus.event_bus_arn],
            )
        )
        # Every request is kept a year: an audit trail of what was approved, and a replay
        # source for the delivery pipeline.
        events.Archive(
            self,
            "DeploymentRequests",
            source_event_bus=self.deployment_bus,
            event_pattern=events.EventPattern(source=["platform.model-approval"]),
            retention=cdk.Duration.days(365),
            description="Every model deployment request",
            kms_key=key_reference,
        )
