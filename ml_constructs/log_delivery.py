"""Roles that AWS services assume to deliver logs into one CloudWatch log group."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct


class LogDeliveryRole(Construct):
    """A role `service` assumes, on behalf of this account only, to write into `log_group`.

    Its permissions are a customer-managed policy, not inline (compliance packs reject
    inline policies). `role` is a view that ignores CDK's automatic grants, so the managed
    policy stays the role's only permission.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, service: str, log_group: logs.ILogGroup, description: str
    ) -> None:
        super().__init__(scope, construct_id)
        account = cdk.Stack.of(self).account
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(service, conditions={"StringEquals": {"aws:SourceAccount": account}}),
            description=description,
        )
        role.add_managed_policy(
            iam.ManagedPolicy(
                self,
                "Policy",
                description=f"{description}: write to this log group only",
                statements=[
                    iam.PolicyStatement(
                        actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                        resources=[log_group.log_group_arn, f"{log_group.log_group_arn}:log-stream:*"],
                    )
                ],
            )
        )
        self.role: iam.IRole = role.without_policy_updates()
        self.role_arn = role.role_arn
