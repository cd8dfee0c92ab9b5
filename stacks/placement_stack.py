"""The management account's account placement (`landing_zone.move_accounts`): existing member
accounts moved into the OUs the config gives them, so the guardrails attached there apply to
them. A stage of its own, after the account's baseline (its function's alarm notifies the
baseline's alerts topic); it reads the OU ids the organization stack published.

One `Custom::AccountPlacement` per account (lambda/account_placement, through CDK's provider
framework, which answers CloudFormation on every path): moved only when it is elsewhere, left
where it is when the resource or the stack is deleted. Each waits for the one before it, so
Organizations never sees two moves at once.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from aws_cdk import custom_resources as cr
from constructs import Construct

from ml_constructs.encryption import PurposeKey
from ml_constructs.function import PlatformFunction
from stacks import imports, naming
from stacks.config import OrgConfig, Role
from stacks.platform_stack import PlatformStack

RESOURCE_TYPE = "Custom::AccountPlacement"


class PlacementStack(PlatformStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrgConfig) -> None:
        org = config.organization.name
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "account-placement"),
            description="ML platform landing zone: existing member accounts moved into their OUs",
            termination_protection=True,
        )
        landing_zone = config.landing_zone
        _, management = config.account_with(Role.MANAGEMENT)
        placements = config.member_ous()
        organization = f"arn:{cdk.Aws.PARTITION}:organizations::{management.id}"
        accounts = [
            f"{organization}:account/{landing_zone.organization_id}/{account.id}" for _, account, _ in placements
        ]
        key = PurposeKey(
            self,
            "FunctionsKey",
            alias=naming.key_alias(org, "account-placement"),
            description="Account placement: logs and dead letters",
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        key.allow_cloudwatch_logs()
        # Outside any VPC: Organizations is a global service that the baseline's endpoints do not serve.
        function = PlatformFunction(
            self,
            "AccountPlacement",
            name="account_placement",
            description="Moves existing member accounts into their organizational units",
            key=key,
            alarm_topic=imports.alerts_topic(self, "Alerts", org),
            timeout=cdk.Duration.minutes(5),
            statements=[
                iam.PolicyStatement(sid="ReadParents", actions=["organizations:ListParents"], resources=accounts),
                iam.PolicyStatement(
                    sid="MoveAccounts",
                    actions=["organizations:MoveAccount"],
                    # MoveAccount is authorized on the account, the parent it leaves (the root or any
                    # OU: where an existing account is today is not known) and the OU it joins.
                    resources=[
                        *accounts,
                        f"{organization}:root/{landing_zone.organization_id}/{landing_zone.root_id}",
                        f"{organization}:ou/{landing_zone.organization_id}/ou-*",
                    ],
                ),
            ],
        )
        provider = cr.Provider(
            self,
            "AccountPlacementProvider",
            on_event_handler=function.function,
            log_group=logs.LogGroup(
                self,
                "AccountPlacementProviderLogs",
                encryption_key=key,
                retention=logs.RetentionDays.ONE_YEAR,
                removal_policy=cdk.RemovalPolicy.DESTROY,
            ),
        )
        previous: cdk.CustomResource | None = None
        for name, account, ou in placements:
            placement = cdk.CustomResource(
                self,
                f"Placement-{name}",
                service_token=provider.service_token,
                resource_type=RESOURCE_TYPE,
                properties={
                    "AccountId": account.id,
                    "ParentId": ssm.StringParameter.value_for_string_parameter(
                        self, naming.ssm_parameter_name(org, "organization", "ou", ou)
                    ),
                },
            )
            if previous is not None:
                placement.node.add_dependency(previous)
            previous = placement
