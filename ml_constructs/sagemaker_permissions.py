"""Statements every role that SageMaker runs compute as needs, whatever the compute is (jobs,
endpoints, monitoring): none of these actions takes resource-level permissions."""

from __future__ import annotations

from aws_cdk import aws_iam as iam

SAGEMAKER_METRIC_NAMESPACES = ["/aws/sagemaker/*", "aws/sagemaker/*"]


def sagemaker_metrics(sid: str) -> iam.PolicyStatement:
    """CloudWatch metrics, only in SageMaker's namespaces."""
    return iam.PolicyStatement(
        sid=sid,
        actions=["cloudwatch:PutMetricData"],
        resources=["*"],
        conditions={"StringLike": {"cloudwatch:namespace": SAGEMAKER_METRIC_NAMESPACES}},
    )


def vpc_network_interfaces(sid: str) -> iam.PolicyStatement:
    """What SageMaker needs to attach the compute it runs as this role to the VPC."""
    return iam.PolicyStatement(
        sid=sid,
        actions=[
            "ec2:CreateNetworkInterface",
            "ec2:CreateNetworkInterfacePermission",
            "ec2:DeleteNetworkInterface",
            "ec2:DeleteNetworkInterfacePermission",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeVpcs",
            "ec2:DescribeDhcpOptions",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
        ],
        resources=["*"],
    )


def ecr_token() -> iam.PolicyStatement:
    """Pulling any image starts with a registry token."""
    return iam.PolicyStatement(sid="EcrToken", actions=["ecr:GetAuthorizationToken"], resources=["*"])
