"""The shared-services pipelines' replication buckets in the recovery regions.

CodePipeline hands an action in another region its input through a bucket in that region.
The platform's pipeline (stacks.toolchain_stack) deploys the production accounts' recovery
stages, and the model deployment pipelines (stacks.model_deployment_stack) their standby
endpoints, through one bucket per recovery region, made like every other bucket of the
platform (KMS key with rotation, TLS only, versioned, access logs to the region's baseline)
rather than by CDK's cross-region support stacks.

The pipelines import the bucket by name and its key by alias (a stack in another region
cannot be referenced), so the grants are resource policies by account: the shared-services
account's principals (the pipelines' roles) write and read through S3 in the region, the
production accounts' (their CDK deploy roles, whose own policies allow pipeline artifacts)
only read.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ml_constructs.encryption import PurposeKey
from ml_constructs.storage import SecureBucket
from stacks import imports, naming
from stacks.config import OrgConfig, Role
from stacks.platform_stack import PlatformStack

PURPOSE = "pipeline-replication"


def _bucket_name(config: OrgConfig, region: str) -> str:
    _, tooling = config.account_with(Role.SHARED_SERVICES)
    return naming.bucket_name(config.organization.name, PURPOSE, tooling.id, region)


class PipelineReplicationStack(PlatformStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrgConfig, region: str) -> None:
        org = config.organization.name
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, PURPOSE),
            description="ML platform pipelines' replication bucket for deployments to this recovery region",
            termination_protection=True,
            region=region,
        )
        _, tooling = config.account_with(Role.SHARED_SERVICES)
        readers = sorted(
            {tooling.id, *(config.accounts[name].id for name in config.accounts if config.recovery_regions_of(name))}
        )
        key = PurposeKey(
            self,
            "ReplicationKey",
            alias=naming.key_alias(org, PURPOSE),
            description="Pipeline artifacts replicated to this region",
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        through_s3 = {"kms:ViaService": f"s3.{region}.amazonaws.com"}
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PipelinesEncryptThroughS3",
                principals=[iam.AnyPrincipal()],
                actions=["kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Decrypt", "kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:PrincipalAccount": tooling.id, **through_s3}},
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DeployRolesDecryptThroughS3",
                principals=[iam.AnyPrincipal()],
                actions=["kms:Decrypt", "kms:DescribeKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:PrincipalAccount": readers, **through_s3}},
            )
        )
        bucket = SecureBucket(
            self,
            "Replication",
            bucket_name=_bucket_name(config, region),
            encryption_key=key,
            access_logs=imports.access_log_bucket(self, "AccessLogs", org),
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(90))],
        )
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PipelinesWrite",
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject", "s3:GetObject*", "s3:GetBucket*", "s3:List*"],
                resources=[bucket.bucket_arn, bucket.arn_for_objects("*")],
                conditions={"StringEquals": {"aws:PrincipalAccount": tooling.id}},
            )
        )
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DeployRolesRead",
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject*", "s3:GetBucket*", "s3:List*"],
                resources=[bucket.bucket_arn, bucket.arn_for_objects("*")],
                conditions={"StringEquals": {"aws:PrincipalAccount": readers}},
            )
        )


def artifact_stores(
    scope: Construct, config: OrgConfig, artifacts: s3.IBucket
) -> tuple[s3.IBucket | None, dict[str, s3.IBucket] | None]:
    """A pipeline's `artifact_bucket` and `cross_region_replication_buckets`: its own
    `artifacts` bucket alone, or with recovery regions, one bucket per region, its own
    included (CodePipeline takes one form or the other)."""
    replicas = _replication_buckets(scope, config)
    if not replicas:
        return artifacts, None
    return None, {cdk.Stack.of(scope).region: artifacts, **replicas}


def _replication_buckets(scope: Construct, config: OrgConfig) -> dict[str, s3.IBucket]:
    alias = naming.key_alias(config.organization.name, PURPOSE)
    _, tooling = config.account_with(Role.SHARED_SERVICES)
    partition = cdk.Stack.of(scope).partition
    return {
        region: s3.Bucket.from_bucket_attributes(
            scope,
            f"Replication-{region}",
            bucket_name=_bucket_name(config, region),
            region=region,
            # CodePipeline takes the key's alias ARN in that region.
            encryption_key=kms.Key.from_key_arn(
                scope, f"ReplicationKey-{region}", f"arn:{partition}:kms:{region}:{tooling.id}:{alias}"
            ),
        )
        for region in config.recovery_regions()
    }
