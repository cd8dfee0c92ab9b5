"""Customer-managed KMS keys, one per purpose, with rotation and scoped key policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# The actions a service needs to encrypt and decrypt with a key on behalf of the account.
SERVICE_ENCRYPTION_ACTIONS = (
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
)


class PurposeKey(kms.Key):
    """A symmetric key for one purpose (storage, logs, ...) with yearly rotation and an alias.

    The key policy keeps AWS's default statement (the account may delegate use through IAM);
    services are added one at a time with conditions that pin them to this account. Grants on
    the key are for AWS resources only: every principal's kms:CreateGrant is denied unless an
    AWS service integrated with KMS creates the grant for a resource it manages (SageMaker,
    EBS, Lambda, ... on the caller's behalf: kms:GrantIsForAWSResource) or a service principal
    calls (AWS Control Tower's CT.KMS.PR.3). Nothing of the platform creates grants itself.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alias: str,
        description: str,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            alias=alias,
            description=description,
            enable_key_rotation=True,
            removal_policy=removal_policy,
            pending_window=cdk.Duration.days(30),
        )
        self.add_to_resource_policy(
            iam.PolicyStatement(
                sid="GrantsOnlyForAwsResources",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["kms:CreateGrant"],
                resources=["*"],
                conditions={
                    "BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
                },
            )
        )

    def allow_service(
        self,
        sid: str,
        service: str,
        *,
        conditions: Mapping[str, Mapping[str, Any]],
        actions: Sequence[str] = SERVICE_ENCRYPTION_ACTIONS,
    ) -> None:
        """Let an AWS service use this key, only under `conditions` (which pin it to a caller)."""
        self.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(service)],
                actions=list(actions),
                resources=["*"],  # in a key policy, "*" means this key
                conditions={key: dict(value) for key, value in conditions.items()},
            )
        )

    def allow_cloudwatch_logs(self) -> None:
        """Let CloudWatch Logs encrypt this account's log groups in this region, and nothing else."""
        stack = cdk.Stack.of(self)
        log_groups = stack.format_arn(
            service="logs", resource="log-group", resource_name="*", arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME
        )
        self.allow_service(
            "AllowCloudWatchLogsOfThisAccount",
            f"logs.{stack.region}.amazonaws.com",
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
        )
