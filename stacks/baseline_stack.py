"""The baseline every account gets: purpose keys, an access-log bucket and, in workload
accounts, the isolated VPC. Its identifiers are published as SSM parameters that the
account's other stacks resolve at deploy time (stacks in other stages cannot reference
each other directly)."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ml_constructs.encryption import PurposeKey
from ml_constructs.network import IsolatedVpc
from ml_constructs.storage import AccessLogBucket
from stacks import naming
from stacks.platform_stack import PlatformStack


@dataclass(frozen=True)
class BaselineSettings:
    organization: str
    account_id: str
    region: str
    availability_zone_count: int
    production: bool
    vpc_cidr: str | None
    """None for accounts without workloads: they get no VPC."""


class BaselineStack(PlatformStack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: BaselineSettings) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(settings.organization, "baseline"),
            description="ML platform account baseline: KMS keys, access logs, isolated network",
            availability_zone_count=settings.availability_zone_count,
            termination_protection=settings.production,
        )
        self.settings = settings
        keep = cdk.RemovalPolicy.RETAIN if settings.production else cdk.RemovalPolicy.DESTROY
        org = settings.organization

        self.storage_key = PurposeKey(
            self,
            "StorageKey",
            alias=naming.key_alias(org, "storage"),
            description="S3 data at rest",
            removal_policy=keep,
        )
        self.logs_key = PurposeKey(
            self, "LogsKey", alias=naming.key_alias(org, "logs"), description="CloudWatch Logs", removal_policy=keep
        )
        self.logs_key.allow_cloudwatch_logs()
        self.access_logs = AccessLogBucket(
            self,
            "AccessLogs",
            bucket_name=naming.bucket_name(org, "access-logs", settings.account_id, settings.region),
        )
        self._publish("storage-key-arn", self.storage_key.key_arn)
        self._publish("logs-key-arn", self.logs_key.key_arn)
        self._publish("access-logs-bucket", self.access_logs.bucket_name)

        self.network: IsolatedVpc | None = None
        if settings.vpc_cidr is not None:
            self.network = IsolatedVpc(
                self,
                "Network",
                cidr=settings.vpc_cidr,
                availability_zone_count=settings.availability_zone_count,
                flow_log_key=self.logs_key,
                flow_log_group_name=naming.flow_log_group_name(org),
                removal_policy=keep,
            )
            vpc = self.network.vpc
            self._publish("vpc-id", vpc.vpc_id)
            self._publish("endpoint-security-group-id", self.network.endpoint_security_group.security_group_id)
            # In zone order; readers split it into as many ids as the config's zone count.
            self._publish("private-subnet-ids", cdk.Fn.join(",", [subnet.subnet_id for subnet in vpc.isolated_subnets]))

    def _publish(self, name: str, value: str) -> None:
        ssm.StringParameter(
            self,
            f"Parameter-{name}",
            parameter_name=naming.ssm_parameter_name(self.settings.organization, "baseline", name),
            string_value=value,
            description="Published by the ML platform baseline; read by the account's other stacks",
        )
