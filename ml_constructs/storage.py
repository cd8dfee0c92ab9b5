"""S3 buckets with the platform's defaults: encrypted, versioned, TLS-only, never public."""

from __future__ import annotations

from typing import TypedDict, cast

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct


class _BucketDefaults(TypedDict):
    block_public_access: s3.BlockPublicAccess
    enforce_ssl: bool
    minimum_tls_version: float
    versioned: bool
    object_ownership: s3.ObjectOwnership


_DEFAULTS = _BucketDefaults(
    block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
    enforce_ssl=True,
    minimum_tls_version=1.2,
    versioned=True,
    object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
)


class AccessLogBucket(s3.Bucket):
    """Destination of S3 server access logs of the account's other buckets.

    S3 log delivery cannot write to SSE-KMS buckets, so this one (and only this one) uses
    SSE-S3. Old log versions expire so the bucket does not grow without bound. Any bucket of
    the same account may deliver here, including buckets of stacks that only know this
    bucket's name.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str | None = None,
        retention_days: int = 365,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=cdk.Duration.days(retention_days),
                    noncurrent_version_expiration=cdk.Duration.days(30),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                )
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
            **_DEFAULTS,
        )
        self.add_to_resource_policy(
            iam.PolicyStatement(
                sid="S3ServerAccessLogsOfThisAccount",
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.arn_for_objects("*")],
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}},
            )
        )


class SecureBucket(s3.Bucket):
    """A KMS-encrypted data bucket that logs its access to the account's access-log bucket.

    `access_logs` is the account's AccessLogBucket (or one granting S3 log delivery to the
    whole account the same way), often from another stack: the logging configuration is set
    on the bucket resource directly, since that bucket's policy already admits the delivery,
    and no per-bucket grant is needed on it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        access_logs: s3.IBucket,
        bucket_name: str | None = None,
        lifecycle_rules: list[s3.LifecycleRule] | None = None,
        object_lock_retention: s3.ObjectLockRetention | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,
            lifecycle_rules=_with_incomplete_uploads_aborted(lifecycle_rules or []),
            object_lock_enabled=object_lock_retention is not None,
            object_lock_default_retention=object_lock_retention,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            **_DEFAULTS,
        )
        bucket = cast(s3.CfnBucket, self.node.default_child)
        bucket.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
            destination_bucket_name=access_logs.bucket_name, log_file_prefix=f"{construct_id}/"
        )


INCOMPLETE_UPLOADS_DAYS = 7


def _with_incomplete_uploads_aborted(rules: list[s3.LifecycleRule]) -> list[s3.LifecycleRule]:
    """`rules`, or for a bucket given none, one that aborts multipart uploads left incomplete
    for a week: their parts are billed and invisible until then. Every bucket then has a
    lifecycle rule (AWS Control Tower's CT.S3.PR.3 and CT.S3.PR.6), this one deleting nothing written."""
    if rules:
        return rules
    return [
        *rules,
        s3.LifecycleRule(
            id="AbortIncompleteUploads",
            abort_incomplete_multipart_upload_after=cdk.Duration.days(INCOMPLETE_UPLOADS_DAYS),
        ),
    ]
