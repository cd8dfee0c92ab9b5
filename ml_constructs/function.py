"""The platform's Lambda functions: one shape for all of them.

Every function gets Powertools from AWS's published layer (its ARN resolved at deploy time
from AWS's public SSM parameter, so nothing is bundled and synth stays offline), a
KMS-encrypted dead-letter queue with an alarm on its depth, a KMS-encrypted log group with
retention, and permissions as a managed policy; the dead-letter alarm notifies the account's
alerts topic. In a VPC, it gets a security group of its own that allows HTTPS out and nothing in.

No concurrency is reserved unless the caller asks: Lambda keeps 100 executions of the account
unreserved (fewer in an account whose quota is below that: all of them), and an account the
platform creates starts with 10, so any reservation fails its first deploy. What bounds a
function instead is its trigger (an EventBridge rule, a custom resource, a throttled API
stage); a throttled asynchronous invocation is retried by Lambda and then lands in the alarmed
dead-letter queue. A reservation the caller asks for is checked against the account's quota
by the preflight (proofs.quotas).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ml_constructs.dead_letters import alarmed_dead_letter_queue
from ml_constructs.network import allow_https_to_aws
from ml_constructs.roles import managed_policies

RUNTIME = lambda_.Runtime.PYTHON_3_14
POWERTOOLS_VERSION = "3.37.0"
"""Same version as requirements-dev.txt, so the tests run the code the layer provides."""
POWERTOOLS_LAYER_PARAMETER = f"/aws/service/powertools/python/x86_64/python3.14/{POWERTOOLS_VERSION}"

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "lambda"


class PlatformFunction(Construct):
    """A Lambda function from `lambda/<name>/handler.py`, entry point `handler.handler`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        description: str,
        key: kms.IKey,
        alarm_topic: sns.ITopic,
        statements: Sequence[iam.PolicyStatement],
        environment: Mapping[str, str] | None = None,
        timeout: cdk.Duration | None = None,
        reserved_concurrency: int | None = None,
        vpc: ec2.IVpc | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY,
        role_name: str | None = None,
        function_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = alarmed_dead_letter_queue(
            self, key=key, alarm_topic=alarm_topic, description=f"{name}: events the function could not process"
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=removal_policy,
        )
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=description,
            role_name=role_name,
        )
        managed_statements = [
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{self.log_group.log_group_arn}"],
            ),
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.dead_letter_queue.queue_arn]),
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key.key_arn]),
            *statements,
        ]
        if vpc is not None:
            # What Lambda needs to attach the function to the VPC; these EC2 actions take no resource ARNs.
            managed_statements.append(
                iam.PolicyStatement(
                    actions=[
                        "ec2:CreateNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    resources=["*"],
                )
            )
        self.policies = managed_policies(self, "Policy", description=description, statements=managed_statements)
        for policy in self.policies:
            role.add_managed_policy(policy)
        powertools = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", ssm.StringParameter.value_for_string_parameter(self, POWERTOOLS_LAYER_PARAMETER)
        )
        security_groups = []
        if vpc is not None:
            self.security_group = ec2.SecurityGroup(
                self, "SecurityGroup", vpc=vpc, description=f"{name} function", allow_all_outbound=False
            )
            allow_https_to_aws(self.security_group)
            security_groups.append(self.security_group)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / name), exclude=["__pycache__", "*.pyc"]),
            layers=[powertools],
            role=role.without_policy_updates(),
            timeout=timeout or cdk.Duration.minutes(1),
            memory_size=256,
            reserved_concurrent_executions=reserved_concurrency,
            dead_letter_queue=self.dead_letter_queue,
            log_group=self.log_group,
            environment={"POWERTOOLS_SERVICE_NAME": name, "POWERTOOLS_LOG_LEVEL": "INFO", **(environment or {})},
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED) if vpc else None,
            security_groups=security_groups or None,
        )
        self.function.node.add_dependency(*self.policies)
