"""The reviewed exceptions to what proofs.deploy.requirements derives from AWS's data, each
with its reason: our beliefs, in one place.

- `needed`: a handler permission on a resource the properties do not name (or name only by
  a plain name), because AWS creates or reads it anyway: required on the ARNs given.
- `unneeded`: a handler permission the derivation would grant on "*" (or on another resource
  the properties name), which the handler calls only for a feature this resource does not use.
- `NOT_IAM_ACTIONS`: names in the registry's handler lists that IAM does not know (API names,
  typos): IAM authorizes those calls by an action the same list names.
- `RENAMED`: handler-list names whose IAM action has another prefix or name.

An exception that matches no resource of the example organization fails its test
(tests/proofs/test_deploy_permissions.py), so the list cannot rot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

Properties = Mapping[str, Any]
ArnsOf = Callable[[Properties, str, str], tuple[str, ...]]
"""ARNs from (resolved properties, account, region)."""


@dataclass(frozen=True)
class HandlerException:
    resource_type: str
    actions: tuple[str, ...]
    reason: str
    resources: ArnsOf | None = field(compare=False, hash=False)
    """The ARNs it is needed on, or None: unneeded."""
    applies: Callable[[Properties, str], bool] = field(compare=False, hash=False)
    """Whether it holds for a resource with these (resolved) properties in this account."""
    condition: str = "always"


def _always(_: Properties, __: str) -> bool:
    return True


def _fixed(*arns: str) -> ArnsOf:
    return lambda _, account, region: tuple(arn.format(account=account, region=region) for arn in arns)


def needed(resource_type: str, actions: tuple[str, ...], resources: ArnsOf, reason: str) -> HandlerException:
    return HandlerException(resource_type, actions, reason, resources, _always)


def unneeded_without(resource_type: str, actions: tuple[str, ...], *properties: str, reason: str) -> HandlerException:
    return HandlerException(
        resource_type,
        actions,
        reason,
        None,
        lambda given, _: not any(name in given for name in properties),
        f"without {' or '.join(properties)}",
    )


def unneeded(resource_type: str, actions: tuple[str, ...], reason: str) -> HandlerException:
    return HandlerException(resource_type, actions, reason, None, _always)


def _to_own_account(properties: Properties, account: str) -> bool:
    return properties.get("TargetType") == "AWS_ACCOUNT" and properties.get("TargetId") == account


def _glue_catalog(properties: Properties, account: str, region: str) -> tuple[str, ...]:
    database = properties.get("OfflineStoreConfig", {}).get("DataCatalogConfig", {}).get("Database", "*")
    glue = f"arn:aws:glue:{region}:{account}"
    return (f"{glue}:catalog", f"{glue}:database/{database}", f"{glue}:table/{database}/*")


def _connections(properties: Properties, account: str, region: str) -> tuple[str, ...]:
    """The CodeConnections connections a pipeline's source actions use, under both of the
    service's ARN prefixes (IAM authorizes PassConnection by the connection ARN's prefix)."""
    found = {
        str(action.get("Configuration", {}).get("ConnectionArn"))
        for stage in properties.get("Stages", [])
        for action in stage.get("Actions", [])
        if action.get("Configuration", {}).get("ConnectionArn")
    }
    return tuple(sorted(found))


def _property(*path: str) -> ArnsOf:
    """The ARN at `path` of the properties (none when it is not set)."""

    def arns(properties: Properties, _: str, __: str) -> tuple[str, ...]:
        value: Any = properties
        for step in path:
            value = value.get(step) if isinstance(value, Mapping) else None
        return (str(value),) if value else ()

    return arns


_SSO_MANAGEMENT_ROLES = (
    "arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/*",
    "arn:aws:iam::{account}:saml-provider/AWSSSO_*",
)

EXCEPTIONS: tuple[HandlerException, ...] = (
    needed(
        "AWS::CloudTrail::Trail",
        ("iam:CreateServiceLinkedRole",),
        _fixed("arn:aws:iam::{account}:role/aws-service-role/cloudtrail.amazonaws.com/AWSServiceRoleForCloudTrail"),
        "An organization trail needs CloudTrail's service-linked role in the management account; CloudTrail "
        "creates it with the caller's permissions when the trail is created (CloudTrail User Guide, "
        "'Using service-linked roles for CloudTrail').",
    ),
    needed(
        "AWS::SageMaker::FeatureGroup",
        ("glue:CreateTable", "glue:GetTable", "glue:GetDatabase"),
        _glue_catalog,
        "With an offline store, Feature Store creates the feature group's Glue table in the database its "
        "DataCatalogConfig names, as the caller (SageMaker Developer Guide, 'Feature Store offline store: Glue "
        "table'); the properties name the database only by name.",
    ),
    HandlerException(
        "AWS::SageMaker::FeatureGroup",
        ("kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"),
        "An online store encrypted with a customer-managed key is written and read with data keys of that key "
        "as the caller creates it (SageMaker Developer Guide, 'Feature Store security: KMS permissions'); the "
        "handler lists only kms:CreateGrant and kms:DescribeKey.",
        _property("OnlineStoreConfig", "SecurityConfig", "KmsKeyId"),
        lambda properties, _: bool(properties.get("OnlineStoreConfig", {}).get("SecurityConfig", {}).get("KmsKeyId")),
        "with an online store key",
    ),
    HandlerException(
        "AWS::CodeArtifact::Domain",
        ("kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"),
        "A domain encrypted with a customer-managed key needs the caller's grant on it (CodeArtifact User Guide, "
        "'Create a domain': example AWS KMS key policy); the registry's handler lists no KMS permission.",
        _property("EncryptionKey"),
        lambda properties, _: bool(properties.get("EncryptionKey")),
        "with EncryptionKey",
    ),
    HandlerException(
        "AWS::SageMaker::Model",
        ("sagemaker:DescribeModelPackage",),
        "A model created from a model package of another account reads the package as the caller; the "
        "package group's policy and the caller's identity policies must both allow it (SageMaker Developer "
        "Guide, 'Deploy a model version from a different account'). The handler lists only CreateModel.",
        _property("PrimaryContainer", "ModelPackageName"),
        lambda properties, _: bool(properties.get("PrimaryContainer", {}).get("ModelPackageName")),
        "with PrimaryContainer.ModelPackageName",
    ),
    unneeded(
        "AWS::SageMaker::FeatureGroup",
        ("glue:CreateDatabase",),
        "DataCatalogConfig names an existing database (the feature store stack's): no database is created.",
    ),
    needed(
        "AWS::CodePipeline::Pipeline",
        ("codestar-connections:PassConnection", "codeconnections:PassConnection"),
        _connections,
        "A source action with a ConnectionArn passes that CodeConnections connection; IAM authorizes it under "
        "the prefix of the connection's ARN, codeconnections or codestar-connections (CodeConnections User "
        "Guide, 'Permissions reference: PassConnection').",
    ),
    *(
        HandlerException(
            "AWS::SSO::Assignment",
            actions,
            "Assigning a permission set to the management account makes IAM Identity Center create its "
            "AWSReservedSSO role and SAML provider there with the caller's credentials (IAM Identity Center User "
            "Guide, 'Assign user or group access to AWS accounts': the management account).",
            _fixed(arn),
            _to_own_account,
            "assigned to the management account itself",
        )
        for actions, arn in (
            (
                ("iam:AttachRolePolicy", "iam:CreateRole", "iam:ListRolePolicies", "iam:PutRolePolicy"),
                "arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/*",
            ),
            (
                ("iam:CreateSAMLProvider", "iam:GetSAMLProvider", "iam:UpdateSAMLProvider"),
                "arn:aws:iam::{account}:saml-provider/AWSSSO_*",
            ),
        )
    ),
    HandlerException(
        "AWS::SSO::Assignment",
        (
            "iam:AttachRolePolicy",
            "iam:CreateRole",
            "iam:ListRolePolicies",
            "iam:PutRolePolicy",
            "iam:CreateSAMLProvider",
            "iam:GetSAMLProvider",
            "iam:UpdateSAMLProvider",
        ),
        "In member accounts, IAM Identity Center creates the roles with its own service-linked role.",
        None,
        lambda properties, account: not _to_own_account(properties, account),
        "assigned to another account",
    ),
    HandlerException(
        "AWS::IAM::Role",
        ("iam:DeleteRolePermissionsBoundary",),
        "Every role the platform deploys keeps its permissions boundary (stacks.stages); the handler removes "
        "a boundary only when an update drops PermissionsBoundary, which the boundary itself denies.",
        None,
        lambda properties, _: "PermissionsBoundary" in properties,
        "with PermissionsBoundary",
    ),
    *(
        unneeded_without(
            policy_type,
            actions,
            targets,
            reason=f"The policy is attached to no {targets[:-1].lower()}: the handler changes only the "
            f"{targets.lower()} the properties list (roles take their managed policies through ManagedPolicyArns).",
        )
        for policy_type, attached in (
            (
                "AWS::IAM::ManagedPolicy",
                {
                    "Roles": ("iam:AttachRolePolicy", "iam:DetachRolePolicy"),
                    "Groups": ("iam:AttachGroupPolicy", "iam:DetachGroupPolicy"),
                    "Users": ("iam:AttachUserPolicy", "iam:DetachUserPolicy"),
                },
            ),
            (
                "AWS::IAM::Policy",
                {
                    "Groups": ("iam:PutGroupPolicy", "iam:DeleteGroupPolicy", "iam:GetGroupPolicy"),
                    "Users": ("iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:GetUserPolicy"),
                },
            ),
        )
        for targets, actions in attached.items()
    ),
    unneeded_without(
        "AWS::Lambda::Function",
        ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"),
        "VpcConfig",
        reason="The function handler checks subnets, security groups and network interfaces only for a "
        "function in a VPC.",
    ),
    unneeded_without(
        "AWS::SageMaker::UserProfile",
        ("sso:ListInstances", "sso:DescribeInstance", "identitystore:DescribeUser", "identitystore:ListUsers"),
        "SingleSignOnUserIdentifier",
        "SingleSignOnUserValue",
        reason="Only a profile tied to an IAM Identity Center user looks the user up.",
    ),
    unneeded_without(
        "AWS::EC2::VPCEndpoint",
        ("vpc-lattice:CreateServiceNetworkVpcEndpointAssociation",),
        "ServiceNetworkArn",
        reason="Only a service-network endpoint (VpcEndpointType ServiceNetwork) is associated with VPC Lattice.",
    ),
    unneeded_without(
        "AWS::Logs::LogGroup",
        ("logs:PutIndexPolicy", "logs:DeleteIndexPolicy", "logs:DescribeIndexPolicies"),
        "FieldIndexPolicies",
        reason="Index policies are set only for a log group with FieldIndexPolicies.",
    ),
    unneeded_without(
        "AWS::Logs::LogGroup",
        ("logs:PutResourcePolicy", "logs:DeleteResourcePolicy", "logs:DescribeResourcePolicies"),
        "ResourcePolicyDocument",
        reason="A log group's resource policy is set only with ResourcePolicyDocument.",
    ),
    unneeded(
        "AWS::WAFv2::WebACLAssociation",
        (
            "appsync:SetWebACL",
            "elasticloadbalancing:SetWebACL",
            "ec2:DescribeVerifiedAccessInstanceWebAclAssociations",
        ),
        "The platform associates web ACLs with API Gateway stages only (ml_constructs/inference_api.py); "
        "the other integrations' calls are for AppSync APIs, load balancers and Verified Access instances.",
    ),
    unneeded_without(
        "AWS::WAFv2::LoggingConfiguration",
        ("firehose:ListDeliveryStreams",),
        "FirehoseDestination",
        reason="The platform's web ACLs log to CloudWatch Logs, not to a Firehose stream.",
    ),
)

NOT_IAM_ACTIONS: dict[str, str] = {
    "s3:PutBucketReplication": "the API's name; IAM authorizes it as s3:PutReplicationConfiguration",
    "s3:DeleteBucketReplication": "the API's name; IAM authorizes it as s3:PutReplicationConfiguration",
    "s3:PutObjectLockConfiguration": "the API's name; IAM authorizes it as s3:PutBucketObjectLockConfiguration",
    "s3:DeleteBucketCors": "the API's name; IAM authorizes it as s3:PutBucketCORS",
    "s3:DeleteBucketEncryption": "the API's name; IAM authorizes it as s3:PutEncryptionConfiguration",
    "s3:DeleteBucketLifecycle": "the API's name; IAM authorizes it as s3:PutLifecycleConfiguration",
    "s3:DeleteBucketAnalyticsConfiguration": "the API's name; IAM authorizes it as s3:PutAnalyticsConfiguration",
    "s3:DeleteBucketMetricsConfiguration": "the API's name; IAM authorizes it as s3:PutMetricsConfiguration",
    "s3:UpdateBucketMetadataAnnotationTableConfiguration": "S3 Metadata tables, which no platform bucket configures",
    "s3:REST.PUT.OBJECT": "an S3 access-log operation name, not an IAM action",
    "iam:DescribeOrganization": "IAM has no such action (organizations:DescribeOrganization is the call)",
    "payments:GetConnectedAccount": "not in the reference; web ACLs call it only for AWS Marketplace rule groups",
    "bedrock-agentcore:GatewayAssociateWebACL": "AgentCore gateways, which the platform does not associate",
    "bedrock-agentcore:GatewayDisassociateWebACL": "AgentCore gateways, which the platform does not associate",
    "bedrock-agentcore:GatewayGetWebACLForResource": "AgentCore gateways, which the platform does not associate",
    "lambda:AssociateRuntimeAlias": "not in the reference; runtime aliases, which no platform function sets",
    "s3files:ListMountTargets": "S3 Files mount targets, which no platform function mounts",
    "vpc-lattice:DescribeServiceNetworkVpcEndpointAssociation": "service-network endpoints only, none here",
    "dynamodb:DisassociateTableReplica": "not in the reference; removing a replica, which no update does here",
}

RENAMED: dict[str, tuple[str, ...]] = {
    "efs:CreateFileSystem": ("elasticfilesystem:CreateFileSystem",),
    "efs:DeleteFileSystem": ("elasticfilesystem:DeleteFileSystem",),
    "efs:DeleteMountTarget": ("elasticfilesystem:DeleteMountTarget",),
    "efs:DescribeMountTargets": ("elasticfilesystem:DescribeMountTargets",),
    "kms:ReEncrypt": ("kms:ReEncryptFrom", "kms:ReEncryptTo"),
}
"""The registry writes EFS under the API's short name and KMS's re-encryption as one call; IAM
knows them as elasticfilesystem:* and as kms:ReEncryptFrom plus kms:ReEncryptTo."""


def exception_for(resource_type: str, action: str, properties: Properties, account: str) -> HandlerException | None:
    return next(
        (
            exception
            for exception in _for_action(resource_type, action.lower())
            if exception.applies(properties, account)
        ),
        None,
    )


def additions(resource_type: str, properties: Properties, account: str) -> list[HandlerException]:
    """The `needed` exceptions of a resource: permissions AWS needs that the handler may not list."""
    return [exception for exception in _needed(resource_type) if exception.applies(properties, account)]


@cache
def _for_action(resource_type: str, lowered_action: str) -> tuple[HandlerException, ...]:
    """The exceptions of a resource type that name an action, in file order (asked for every
    handler permission of every resource)."""
    return tuple(
        exception
        for exception in _of_type(resource_type)
        if lowered_action in (name.lower() for name in exception.actions)
    )


@cache
def _needed(resource_type: str) -> tuple[HandlerException, ...]:
    return tuple(exception for exception in _of_type(resource_type) if exception.resources is not None)


@cache
def _of_type(resource_type: str) -> tuple[HandlerException, ...]:
    return tuple(exception for exception in EXCEPTIONS if exception.resource_type == resource_type)
