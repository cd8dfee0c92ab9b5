"""Reading, at deploy time, what an account's baseline published (stacks.baseline_stack).

Stacks in other stages of the same account cannot reference the baseline's resources
directly; they resolve its SSM parameters when CloudFormation deploys them.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from stacks import naming


def baseline_value(scope: Construct, organization: str, name: str) -> str:
    return ssm.StringParameter.value_for_string_parameter(
        scope, naming.ssm_parameter_name(organization, "baseline", name)
    )


def baseline_key(scope: Construct, construct_id: str, organization: str, purpose: str) -> kms.IKey:
    return key_from_parameter(
        scope, construct_id, naming.ssm_parameter_name(organization, "baseline", f"{purpose}-key-arn")
    )


def key_from_parameter(scope: Construct, construct_id: str, parameter_name: str) -> kms.IKey:
    """A key whose ARN another stack of the account published as an SSM parameter."""
    return kms.Key.from_key_arn(
        scope, construct_id, ssm.StringParameter.value_for_string_parameter(scope, parameter_name)
    )


def private_subnet_ids(scope: Construct, organization: str, zone_count: int) -> list[str]:
    """The baseline VPC's private subnets, one per zone, split out of one parameter at deploy time."""
    return cdk.Fn.split(",", baseline_value(scope, organization, "private-subnet-ids"), zone_count)


def baseline_vpc(
    scope: Construct, construct_id: str, organization: str, cidr: str, *, with_subnets: bool = True
) -> ec2.IVpc:
    """The account's isolated VPC, as the stack's zones and the baseline's parameters describe it
    (without its subnets for a stack that only needs security groups)."""
    stack = cdk.Stack.of(scope)
    return ec2.Vpc.from_vpc_attributes(
        scope,
        construct_id,
        vpc_id=baseline_value(scope, organization, "vpc-id"),
        vpc_cidr_block=cidr,
        availability_zones=stack.availability_zones,
        isolated_subnet_ids=private_subnet_ids(scope, organization, len(stack.availability_zones))
        if with_subnets
        else None,
    )


def alerts_topic(scope: Construct, construct_id: str, organization: str) -> sns.ITopic:
    """The account's platform alerts topic (every alarm notifies it)."""
    return sns.Topic.from_topic_arn(scope, construct_id, baseline_value(scope, organization, "alerts-topic-arn"))


def access_log_bucket(scope: Construct, construct_id: str, organization: str) -> s3.IBucket:
    """The account's access-log bucket, by the name the baseline gave it."""
    stack = cdk.Stack.of(scope)
    return s3.Bucket.from_bucket_name(
        scope, construct_id, naming.bucket_name(organization, "access-logs", stack.account, stack.region)
    )
