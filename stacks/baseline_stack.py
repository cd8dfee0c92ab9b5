"""The baseline every account gets: purpose keys, an access-log bucket and, in workload
accounts, the isolated VPC. Its identifiers are published as SSM parameters that the
account's other stacks resolve at deploy time (stacks in other stages cannot reference
each other directly).

The same baseline is built into a per-account stack (`BaselineStack`) or, for
organizations of hundreds of accounts, into a StackSet template (stacks.baseline_stackset).
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ml_constructs.encryption import PurposeKey
from ml_constructs.network import DefaultSecurityGroupCloser, IsolatedVpc
from ml_constructs.storage import AccessLogBucket
from stacks import naming
from stacks.platform_stack import PlatformStack


@dataclass(frozen=True)
class BaselineSettings:
    organization: str
    account_id: str
    """A literal id, or the AWS::AccountId pseudo parameter when one template serves many accounts."""
    region: str
    availability_zone_count: int
    production: bool
    vpc_cidr: str | None
    """None for accounts without workloads: they get no VPC."""
    close_default_security_group_with: DefaultSecurityGroupCloser = "custom-resource"


@dataclass(frozen=True)
class AccountBaseline:
    storage_key: PurposeKey
    logs_key: PurposeKey
    access_logs: AccessLogBucket
    alerts: sns.Topic
    network: IsolatedVpc | None


def add_account_baseline(scope: Construct, settings: BaselineSettings) -> AccountBaseline:
    """Add the baseline's resources directly to `scope` (a stack): their construct ids, and
    so the logical ids of keys, buckets and the VPC, are the same wherever it is built."""
    keep = cdk.RemovalPolicy.RETAIN if settings.production else cdk.RemovalPolicy.DESTROY
    org = settings.organization

    def publish(name: str, value: str) -> None:
        ssm.StringParameter(
            scope,
            f"Parameter-{name}",
            parameter_name=naming.ssm_parameter_name(org, "baseline", name),
            string_value=value,
            description="Published by the ML platform baseline; read by the account's other stacks",
        )

    storage_key = PurposeKey(
        scope, "StorageKey", alias=naming.key_alias(org, "storage"), description="S3 data at rest", removal_policy=keep
    )
    logs_key = PurposeKey(
        scope, "LogsKey", alias=naming.key_alias(org, "logs"), description="CloudWatch Logs", removal_policy=keep
    )
    logs_key.allow_cloudwatch_logs()
    access_logs = AccessLogBucket(
        scope, "AccessLogs", bucket_name=naming.bucket_name(org, "access-logs", settings.account_id, settings.region)
    )
    alerts_key = PurposeKey(
        scope, "AlertsKey", alias=naming.key_alias(org, "alerts"), description="Platform alerts", removal_policy=keep
    )
    for service, sid in (("cloudwatch", "CloudWatchAlarms"), ("events", "EventBridgeRules")):
        alerts_key.allow_service(
            f"Allow{sid}OfThisAccount",
            f"{service}.amazonaws.com",
            actions=["kms:GenerateDataKey*", "kms:Decrypt"],
            conditions={"StringEquals": {"aws:SourceAccount": settings.account_id}},
        )
    # Every alarm of the account's platform stacks notifies this topic, and rules report
    # events that need attention (such as failed monitoring runs); subscribe on-call to it.
    alerts = sns.Topic(scope, "Alerts", master_key=alerts_key, enforce_ssl=True, display_name="ML platform alerts")
    alerts.add_to_resource_policy(
        iam.PolicyStatement(
            sid="EventBridgeRulesOfThisAccount",
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[alerts.topic_arn],
            conditions={"StringEquals": {"aws:SourceAccount": settings.account_id}},
        )
    )
    publish("alerts-topic-arn", alerts.topic_arn)
    publish("storage-key-arn", storage_key.key_arn)
    publish("logs-key-arn", logs_key.key_arn)
    publish("access-logs-bucket", access_logs.bucket_name)

    network = None
    if settings.vpc_cidr is not None:
        network = IsolatedVpc(
            scope,
            "Network",
            cidr=settings.vpc_cidr,
            availability_zone_count=settings.availability_zone_count,
            flow_log_key=logs_key,
            flow_log_group_name=naming.flow_log_group_name(org),
            close_default_security_group_with=settings.close_default_security_group_with,
            removal_policy=keep,
        )
        publish("vpc-id", network.vpc.vpc_id)
        publish("endpoint-security-group-id", network.endpoint_security_group.security_group_id)
        # In zone order; readers split it into as many ids as the config's zone count.
        publish("private-subnet-ids", cdk.Fn.join(",", [subnet.subnet_id for subnet in network.vpc.isolated_subnets]))
    return AccountBaseline(storage_key, logs_key, access_logs, alerts, network)


class BaselineStack(PlatformStack):
    """The baseline of one account, deployed by its own stage."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: BaselineSettings) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(settings.organization, "baseline"),
            description="ML platform account baseline: KMS keys, access logs, isolated network",
            availability_zone_count=settings.availability_zone_count,
            termination_protection=settings.production,
        )
        self.baseline = add_account_baseline(self, settings)
