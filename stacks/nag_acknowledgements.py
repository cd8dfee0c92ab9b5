"""Every cdk-nag finding the platform acknowledges instead of fixing, with the reason.

One entry per finding id and construct path (relative to the stage, so one entry covers
that construct in every account). The id is the one cdk-nag prints after "Acknowledge
with". The reason must let a reviewer check that the finding does not apply. An entry
that suppresses nothing fails the synth (stacks.gates.unused_acknowledgements).
"""

from __future__ import annotations

from dataclasses import dataclass

ANNOTATION_PREFIX = "Annotation::"
"""Findings with this prefix are CDK's own warnings rather than a nag pack's."""


@dataclass(frozen=True)
class NagAcknowledgement:
    finding: str
    path: str
    reason: str

    @property
    def is_annotation(self) -> bool:
        return self.finding.startswith(ANNOTATION_PREFIX)


def _at(path: str, reason: str, *findings: str) -> tuple[NagAcknowledgement, ...]:
    return tuple(NagAcknowledgement(finding, path, reason) for finding in findings)


def _in_every_baseline(path: str, reason: str, *findings: str) -> tuple[NagAcknowledgement, ...]:
    """The same finding on the same construct of the account baseline, wherever it is built."""
    return tuple(ack for scope in BASELINE_SCOPES for ack in _at(f"{scope}/{path}", reason, *findings))


BASELINE_SCOPES = ("Baseline", "Organization/BaselineStackSet/Template")
"""Where stacks.baseline_stack.add_account_baseline builds: the per-account stack, the StackSet template."""
STACKSET_NETWORK = "Organization/BaselineStackSet/Template/Network"

ACKNOWLEDGEMENTS: tuple[NagAcknowledgement, ...] = (
    *_in_every_baseline(
        "AccessLogs",
        "S3 server access log delivery supports only SSE-S3 on the destination bucket "
        "(docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html); "
        "the bucket is still encrypted, versioned, TLS-only and private.",
        "HIPAA.Security::HIPAA.Security-S3DefaultEncryptionKMS",
        "NIST.800.53.R5::NIST.800.53.R5-S3DefaultEncryptionKMS",
        "PCI.DSS.321::PCI.DSS.321-S3DefaultEncryptionKMS",
    ),
    *_in_every_baseline(
        "AccessLogs",
        "This bucket is the account's access-log destination; logging it into itself would "
        "log every log delivery, without end.",
        "AwsSolutions::AwsSolutions-S1",
        "HIPAA.Security::HIPAA.Security-S3BucketLoggingEnabled",
        "NIST.800.53.R5::NIST.800.53.R5-S3BucketLoggingEnabled",
        "PCI.DSS.321::PCI.DSS.321-S3BucketLoggingEnabled",
    ),
    *_in_every_baseline(
        "AccessLogs",
        "Access logs are operational data kept in the account for a year and versioned; the "
        "immutable compliance record is the organization trail in the log-archive account.",
        "HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled",
        "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
        "PCI.DSS.321::PCI.DSS.321-S3BucketReplicationEnabled",
    ),
    *_in_every_baseline(
        "Network/FlowLogDelivery/Policy",
        "VPC Flow Logs names its log streams after network interfaces that do not exist yet; "
        "the wildcard covers only the streams of this VPC's own flow-log group.",
        "AwsSolutions::AwsSolutions-IAM5[Resource::<NetworkFlowLogs2BEC3212.Arn>:log-stream:*]",
    ),
    *_at(
        f"{STACKSET_NETWORK}/Vpc",
        "In StackSet accounts the default security group is closed by the AWS Config rule "
        "DefaultSecurityGroupClosed with automatic remediation (AWSConfigRemediation-"
        "RemoveVPCDefaultSecurityGroupRules) in the same template, not by CDK's custom resource.",
        "HIPAA.Security::HIPAA.Security-VPCDefaultSecurityGroupClosed",
        "NIST.800.53.R5::NIST.800.53.R5-VPCDefaultSecurityGroupClosed",
        "PCI.DSS.321::PCI.DSS.321-VPCDefaultSecurityGroupClosed",
    ),
    *_at(
        f"{STACKSET_NETWORK}/DefaultSecurityGroupRemediationPolicy",
        "ec2:DescribeSecurityGroups supports no resource-level permissions; the revoke actions "
        "are limited to this VPC's default security group.",
        "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
    ),
    *_at(
        "Trail/OrganizationTrail/Delivery/Policy",
        "CloudTrail names its log streams after the accounts and regions it will deliver for; "
        "the wildcard covers only the streams of the organization trail's own log group.",
        "AwsSolutions::AwsSolutions-IAM5[Resource::<OrganizationTrailLogGroupB83451B1.Arn>:log-stream:*]",
    ),
    *_at(
        "Archive/TrailArchive/Bucket",
        "The account's access-log bucket (ml_constructs.storage.AccessLogBucket) already lets "
        "S3 log delivery write for every bucket of its account, so no grant is missing.",
        "Annotation::@aws-cdk/aws-s3:accessLogsPolicyNotAdded",
    ),
    *_at(
        "Archive/TrailArchive/Bucket",
        "The trail archive is versioned, object-locked (no version can be deleted within the "
        "retention period) and KMS-encrypted, and CloudTrail log-file validation proves its "
        "integrity; a copy in a second region is a disaster-recovery choice the config does not make.",
        "HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled",
        "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
        "PCI.DSS.321::PCI.DSS.321-S3BucketReplicationEnabled",
    ),
)
