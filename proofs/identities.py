"""What a resource is called once CloudFormation creates it: its name, ARN, and the values of
`Ref` and `Fn::GetAtt`, per resource type, from the CloudFormation resource reference
("Return values" of each type) and IAM's ARN formats (Service Authorization Reference).

Where CloudFormation or the service makes the name up (no name property set), the identity is
a representative one: the documented pattern with `GENERATED` in place of the random part
("Name type": `<stack name>-<logical id>-<random>` for most types). A proof that matches such
an ARN against a policy pattern such as `acme-*` decides for every name of that shape; the
policy generator turns `GENERATED` back into `*`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

_FIELD = re.compile(r"\{(\w+)\}")
GENERATED = "GENERATED"
"""Stands for the part of a name that CloudFormation or the service chooses at deploy time."""


@dataclass(frozen=True)
class Place:
    """Where a resource lives, for its ARN."""

    partition: str
    region: str
    account: str
    stack_name: str
    logical_id: str


@dataclass(frozen=True)
class Identity:
    """How one resource type is named and referred to."""

    arn: str | None
    """ARN format with `{partition}`, `{region}`, `{account}` and `{name}` (or `{id}`)."""
    name_property: str | None = None
    """The property that sets the name; None when the service always chooses it."""
    ref: str = "name"
    """What `Ref` returns: "name", "arn", "id" or "url"."""
    attributes: Mapping[str, str] = field(default_factory=dict)
    """`Fn::GetAtt` attribute -> "name", "arn", "id" or "url"."""
    lowercase: bool = False
    """Generated names are lower case (S3 buckets)."""
    generated: Callable[[Place], str] | None = None
    """A generated name other than `<stack>-<logical id>-GENERATED`."""

    @cached_property
    def arn_properties(self) -> tuple[str, ...]:
        """Properties the ARN names besides the resource's own name (a repository's domain)."""
        known = {"partition", "region", "account", "name", "id", "GENERATED"}
        return tuple(field for field in _FIELD.findall(self.arn or "") if field not in known)


def _named(place: Place) -> str:
    # The account and region keep apart names that ARNs without them (S3, IAM, API Gateway)
    # would not: CloudFormation's random part differs for every stack.
    return f"{place.stack_name}-{place.logical_id}-{GENERATED}{place.account}{place.region}"


def _id(prefix: str) -> Callable[[Place], str]:
    """An id the service chooses; representative, and distinct per resource so that a proof
    can tell which resource an ARN names (a key's policy, a domain's spaces)."""
    return lambda place: f"{prefix}{GENERATED}-{place.account}-{place.region}-{place.stack_name}-{place.logical_id}"


IDENTITIES: dict[str, Identity] = {
    "AWS::IAM::Role": Identity(
        "arn:{partition}:iam::{account}:role/{name}", "RoleName", attributes={"Arn": "arn", "RoleId": "id"}
    ),
    "AWS::IAM::ManagedPolicy": Identity(
        "arn:{partition}:iam::{account}:policy/{name}", "ManagedPolicyName", ref="arn", attributes={"PolicyArn": "arn"}
    ),
    "AWS::IAM::Policy": Identity(None, "PolicyName", ref="id"),
    "AWS::S3::Bucket": Identity("arn:{partition}:s3:::{name}", "BucketName", attributes={"Arn": "arn"}, lowercase=True),
    "AWS::KMS::Key": Identity(
        "arn:{partition}:kms:{region}:{account}:key/{id}",
        None,
        ref="id",
        attributes={"Arn": "arn", "KeyId": "id"},
        generated=_id(""),
    ),
    "AWS::KMS::Alias": Identity("arn:{partition}:kms:{region}:{account}:{name}", "AliasName"),
    "AWS::Lambda::Function": Identity(
        "arn:{partition}:lambda:{region}:{account}:function:{name}", "FunctionName", attributes={"Arn": "arn"}
    ),
    "AWS::Logs::LogGroup": Identity(
        "arn:{partition}:logs:{region}:{account}:log-group:{name}:*", "LogGroupName", attributes={"Arn": "arn"}
    ),
    "AWS::SNS::Topic": Identity(
        "arn:{partition}:sns:{region}:{account}:{name}",
        "TopicName",
        ref="arn",
        attributes={"TopicArn": "arn", "TopicName": "name"},
    ),
    "AWS::SQS::Queue": Identity(
        "arn:{partition}:sqs:{region}:{account}:{name}",
        "QueueName",
        ref="url",
        attributes={"Arn": "arn", "QueueName": "name", "QueueUrl": "url"},
    ),
    "AWS::Events::EventBus": Identity(
        "arn:{partition}:events:{region}:{account}:event-bus/{name}", "Name", attributes={"Arn": "arn", "Name": "name"}
    ),
    "AWS::Events::Rule": Identity(
        "arn:{partition}:events:{region}:{account}:rule/{name}", "Name", attributes={"Arn": "arn"}
    ),
    "AWS::SSM::Parameter": Identity(
        "arn:{partition}:ssm:{region}:{account}:parameter{name}",
        "Name",
        generated=lambda place: f"CFN-{place.logical_id}-{GENERATED}",
    ),
    "AWS::CloudWatch::Alarm": Identity(
        "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}", "AlarmName", attributes={"Arn": "arn"}
    ),
    "AWS::CloudWatch::CompositeAlarm": Identity(
        "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}", "AlarmName", attributes={"Arn": "arn"}
    ),
    "AWS::CodeBuild::Project": Identity(
        "arn:{partition}:codebuild:{region}:{account}:project/{name}", "Name", attributes={"Arn": "arn"}
    ),
    "AWS::CodePipeline::Pipeline": Identity("arn:{partition}:codepipeline:{region}:{account}:{name}", "Name"),
    "AWS::DynamoDB::GlobalTable": Identity(
        "arn:{partition}:dynamodb:{region}:{account}:table/{name}", "TableName", attributes={"Arn": "arn"}
    ),
    "AWS::EC2::VPC": Identity(
        "arn:{partition}:ec2:{region}:{account}:vpc/{id}",
        None,
        ref="id",
        generated=_id("vpc-"),
        attributes={"DefaultSecurityGroup": "default-security-group"},
    ),
    "AWS::EC2::Subnet": Identity(
        "arn:{partition}:ec2:{region}:{account}:subnet/{id}", None, ref="id", generated=_id("subnet-")
    ),
    "AWS::EC2::RouteTable": Identity(
        "arn:{partition}:ec2:{region}:{account}:route-table/{id}", None, ref="id", generated=_id("rtb-")
    ),
    "AWS::EC2::SecurityGroup": Identity(
        "arn:{partition}:ec2:{region}:{account}:security-group/{id}",
        None,
        ref="id",
        generated=_id("sg-"),
        attributes={"GroupId": "id"},
    ),
    "AWS::EC2::VPCEndpoint": Identity(
        "arn:{partition}:ec2:{region}:{account}:vpc-endpoint/{id}", None, ref="id", generated=_id("vpce-")
    ),
    "AWS::ApiGateway::RestApi": Identity(
        "arn:{partition}:apigateway:{region}::/restapis/{id}",
        None,
        ref="id",
        generated=_id(""),
        attributes={"RootResourceId": "root-resource"},
    ),
    "AWS::ApiGateway::DomainName": Identity(
        "arn:{partition}:apigateway:{region}::/domainnames/{name}",
        "DomainName",
        attributes={"RegionalDomainName": "regional-domain", "RegionalHostedZoneId": "hosted-zone"},
    ),
    "AWS::CertificateManager::Certificate": Identity(
        "arn:{partition}:acm:{region}:{account}:certificate/{id}", None, ref="arn", generated=_id("")
    ),
    "AWS::WAFv2::WebACL": Identity(
        "arn:{partition}:wafv2:{region}:{account}:regional/webacl/{name}/{id}", "Name", attributes={"Arn": "arn"}
    ),
    "AWS::CodeArtifact::Domain": Identity(
        "arn:{partition}:codeartifact:{region}:{account}:domain/{name}",
        "DomainName",
        ref="arn",
        attributes={"Arn": "arn", "Name": "name"},
    ),
    "AWS::CodeArtifact::Repository": Identity(
        "arn:{partition}:codeartifact:{region}:{account}:repository/{DomainName}/{name}",
        "RepositoryName",
        ref="arn",
        attributes={"Arn": "arn", "Name": "name"},
    ),
    "AWS::SageMaker::Domain": Identity(
        "arn:{partition}:sagemaker:{region}:{account}:domain/{id}",
        None,
        ref="arn",
        generated=_id("d-"),
        attributes={"DomainArn": "arn", "DomainId": "id"},
    ),
    "AWS::SageMaker::Model": Identity(
        "arn:{partition}:sagemaker:{region}:{account}:model/{name}",
        "ModelName",
        ref="arn",
        attributes={"ModelName": "name"},
        generated=lambda place: f"{place.logical_id}-{GENERATED}",
    ),
    "AWS::SageMaker::EndpointConfig": Identity(
        "arn:{partition}:sagemaker:{region}:{account}:endpoint-config/{name}",
        "EndpointConfigName",
        ref="arn",
        attributes={"EndpointConfigName": "name"},
        generated=lambda place: f"{place.logical_id}-{GENERATED}",
    ),
    "AWS::SageMaker::Endpoint": Identity(
        "arn:{partition}:sagemaker:{region}:{account}:endpoint/{name}",
        "EndpointName",
        ref="arn",
        attributes={"EndpointName": "name"},
    ),
    "AWS::SageMaker::ModelPackageGroup": Identity(
        "arn:{partition}:sagemaker:{region}:{account}:model-package-group/{name}",
        "ModelPackageGroupName",
        ref="arn",
        attributes={"ModelPackageGroupArn": "arn"},
    ),
    "AWS::ECR::Repository": Identity(
        "arn:{partition}:ecr:{region}:{account}:repository/{name}",
        "RepositoryName",
        attributes={"Arn": "arn"},
        lowercase=True,
    ),
    "AWS::SageMaker::FeatureGroup": Identity(
        "arn:{partition}:sagemaker:{region}:{account}:feature-group/{name}",
        "FeatureGroupName",
        attributes={"FeatureGroupArn": "arn"},
    ),
    "AWS::SageMaker::NotebookInstance": Identity(
        "arn:{partition}:sagemaker:{region}:{account}:notebook-instance/{name}",
        "NotebookInstanceName",
        ref="arn",
        attributes={"NotebookInstanceName": "name"},
    ),
    "AWS::SageMaker::UserProfile": Identity(
        "arn:{partition}:sagemaker:{region}:{account}:user-profile/{DomainId}/{name}",
        "UserProfileName",
        ref="arn",
        attributes={"UserProfileArn": "arn"},
    ),
    "AWS::SageMaker::Space": Identity(
        "arn:{partition}:sagemaker:{region}:{account}:space/{DomainId}/{name}",
        "SpaceName",
        ref="arn",
        attributes={"SpaceArn": "arn"},
    ),
    "AWS::SageMaker::StudioLifecycleConfig": Identity(
        "arn:{partition}:sagemaker:{region}:{account}:studio-lifecycle-config/{name}",
        "StudioLifecycleConfigName",
        attributes={"StudioLifecycleConfigArn": "arn"},
    ),
    "AWS::SageMaker::DataQualityJobDefinition": Identity(
        "arn:{partition}:sagemaker:{region}:{account}:data-quality-job-definition/{name}",
        "JobDefinitionName",
        ref="arn",
        attributes={"JobDefinitionArn": "arn"},
    ),
    "AWS::SageMaker::ModelBiasJobDefinition": Identity(
        "arn:{partition}:sagemaker:{region}:{account}:model-bias-job-definition/{name}",
        "JobDefinitionName",
        ref="arn",
        attributes={"JobDefinitionArn": "arn"},
    ),
    "AWS::SageMaker::ModelExplainabilityJobDefinition": Identity(
        "arn:{partition}:sagemaker:{region}:{account}:model-explainability-job-definition/{name}",
        "JobDefinitionName",
        ref="arn",
        attributes={"JobDefinitionArn": "arn"},
    ),
    "AWS::SageMaker::ModelQualityJobDefinition": Identity(
        "arn:{partition}:sagemaker:{region}:{account}:model-quality-job-definition/{name}",
        "JobDefinitionName",
        ref="arn",
        attributes={"JobDefinitionArn": "arn"},
    ),
    "AWS::Organizations::OrganizationalUnit": Identity(
        "arn:{partition}:organizations::{account}:ou/o-{GENERATED}/{id}",
        None,
        ref="id",
        generated=_id("ou-"),
        attributes={"Id": "id", "Arn": "arn"},
    ),
    "AWS::SSO::PermissionSet": Identity(
        "arn:{partition}:sso:::permissionSet/ssoins-{GENERATED}/{id}",
        None,
        ref="arn",
        generated=_id("ps-"),
        attributes={"PermissionSetArn": "arn"},
    ),
    "AWS::Route53::HealthCheck": Identity(
        "arn:{partition}:route53:::healthcheck/{id}",
        None,
        ref="id",
        generated=_id(""),
        attributes={"HealthCheckId": "id"},
    ),
    "AWS::ServiceCatalog::Portfolio": Identity(
        "arn:{partition}:catalog:{region}:{account}:portfolio/{id}", None, ref="id", generated=_id("port-")
    ),
    "AWS::ServiceCatalog::CloudFormationProduct": Identity(
        "arn:{partition}:catalog:{region}:{account}:product/{id}", None, ref="id", generated=_id("prod-")
    ),
    "AWS::ServiceCatalog::TagOption": Identity(None, None, ref="id", generated=_id("tag-")),
    "AWS::ApplicationAutoScaling::ScalableTarget": Identity(None, None, ref="id", generated=_id("")),
    "AWS::Config::ConfigRule": Identity(
        "arn:{partition}:config:{region}:{account}:config-rule/{id}", "ConfigRuleName", generated=_id("config-rule-")
    ),
}


def identity_of(resource_type: str) -> Identity | None:
    return IDENTITIES.get(resource_type)


def name_of(identity: Identity, place: Place, properties: Mapping[str, Any]) -> Any:
    """The resource's name: its name property as given (unresolved intrinsics included), or
    the representative generated name."""
    if identity.name_property and identity.name_property in properties:
        return properties[identity.name_property]
    name = (identity.generated or _named)(place)
    return name.lower() if identity.lowercase else name
