"""The organization's audit trail: the trail in the management account and its immutable
archive in the log-archive account. They live in different accounts, so each side knows
the other only by names and ARNs computed from the same inputs."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ml_constructs.encryption import PurposeKey
from ml_constructs.log_delivery import LogDeliveryRole
from ml_constructs.storage import SecureBucket

CLOUDTRAIL = "cloudtrail.amazonaws.com"


@dataclass(frozen=True)
class TrailIdentity:
    """What both sides of the trail must agree on."""

    organization_id: str
    management_account_id: str
    home_region: str
    trail_name: str
    bucket_name: str
    key_alias_arn: str
    """The archive key, by alias ARN: CloudTrail accepts it, and it is known before the key exists."""

    @property
    def trail_arn(self) -> str:
        return f"arn:aws:cloudtrail:{self.home_region}:{self.management_account_id}:trail/{self.trail_name}"


@dataclass(frozen=True)
class ArchiveRetention:
    object_lock_mode: str
    """"governance" (privileged users may shorten it) or "compliance" (nobody may)."""
    retention_days: int
    archive_after_days: int
    expire_after_days: int


class TrailArchive(Construct):
    """The log-archive account's bucket for the organization trail.

    KMS-encrypted with its own key, versioned, object-locked, moved to Glacier and later
    expired; only the organization's trail may write, and only under the trail's paths.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        trail: TrailIdentity,
        retention: ArchiveRetention,
        access_logs: s3.IBucket,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = PurposeKey(
            self,
            "Key",
            alias=trail.key_alias_arn.split(":alias/", 1)[1],
            description="Organization trail archive",
            removal_policy=removal_policy,
        )
        self.key.allow_service(
            "AllowOrganizationTrailToEncrypt",
            CLOUDTRAIL,
            actions=["kms:GenerateDataKey*", "kms:DescribeKey"],
            conditions={
                "StringEquals": {"aws:SourceArn": trail.trail_arn},
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn": (
                        f"arn:aws:cloudtrail:*:{trail.management_account_id}:trail/*"
                    )
                },
            },
        )
        lock = (
            s3.ObjectLockRetention.compliance
            if retention.object_lock_mode == "compliance"
            else s3.ObjectLockRetention.governance
        )
        self.bucket = SecureBucket(
            self,
            "Bucket",
            bucket_name=trail.bucket_name,
            encryption_key=self.key,
            access_logs=access_logs,
            object_lock_retention=lock(cdk.Duration.days(retention.retention_days)),
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ArchiveThenExpire",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER,
                            transition_after=cdk.Duration.days(retention.archive_after_days),
                        )
                    ],
                    expiration=cdk.Duration.days(retention.expire_after_days),
                    noncurrent_version_expiration=cdk.Duration.days(retention.retention_days),
                )
            ],
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailAclCheck",
                principals=[iam.ServicePrincipal(CLOUDTRAIL)],
                actions=["s3:GetBucketAcl"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringEquals": {"aws:SourceArn": trail.trail_arn}},
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailWritesOrganizationPathsOnly",
                principals=[iam.ServicePrincipal(CLOUDTRAIL)],
                actions=["s3:PutObject"],
                resources=[
                    self.bucket.arn_for_objects(f"AWSLogs/{trail.management_account_id}/*"),
                    self.bucket.arn_for_objects(f"AWSLogs/{trail.organization_id}/*"),
                ],
                conditions={
                    "StringEquals": {
                        "aws:SourceArn": trail.trail_arn,
                        "s3:x-amz-acl": "bucket-owner-full-control",
                    }
                },
            )
        )


class OrganizationTrail(Construct):
    """A multi-region organization trail with log-file validation, encrypted with the archive's
    key, delivered to the archive bucket and, for alarms and queries, to a log group here."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        trail: TrailIdentity,
        log_group_key: kms.IKey,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "LogGroup", encryption_key=log_group_key, retention=log_retention, removal_policy=removal_policy
        )
        delivery = LogDeliveryRole(
            self, "Delivery", service=CLOUDTRAIL, log_group=self.log_group, description="Organization trail delivery"
        )
        self.trail = cloudtrail.CfnTrail(
            self,
            "Trail",
            trail_name=trail.trail_name,
            is_logging=True,
            is_organization_trail=True,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            kms_key_id=trail.key_alias_arn,
            s3_bucket_name=trail.bucket_name,
            cloud_watch_logs_log_group_arn=self.log_group.log_group_arn,
            cloud_watch_logs_role_arn=delivery.role_arn,
        )
        self.trail.node.add_dependency(delivery)
