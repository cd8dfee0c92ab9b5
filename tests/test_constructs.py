"""The reusable constructs on their own, outside the organization config."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from ml_constructs.storage import AccessLogBucket, SecureBucket
from ml_constructs.studio import IdleShutdown, Member, PackageIndex, StudioDomain, StudioMembers
from tests.conftest import cli_app


def test_secure_bucket_encrypts_with_the_given_key_and_logs_access(tmp_path):
    stack = cdk.Stack(cli_app(tmp_path), "Stack", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    key = kms.Key(stack, "Key")
    SecureBucket(stack, "Data", encryption_key=key, access_logs=AccessLogBucket(stack, "Logs"))
    template = Template.from_stack(stack)

    template.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "BucketKeyEnabled": True,
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": {"Fn::GetAtt": [Match.string_like_regexp("^Key"), "Arn"]},
                            },
                        }
                    ]
                },
                "LoggingConfiguration": {
                    "DestinationBucketName": {"Ref": Match.string_like_regexp("^Logs")},
                    "LogFilePrefix": "Data/",
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": Match.object_like({"BlockPublicPolicy": True}),
            },
        },
    )
    data_policy = next(
        policy
        for policy in template.find_resources("AWS::S3::BucketPolicy").values()
        if policy["Properties"]["Bucket"]["Ref"].startswith("Data")
    )
    conditions = [statement.get("Condition") for statement in data_policy["Properties"]["PolicyDocument"]["Statement"]]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


def test_studio_with_identity_center_signs_users_in_by_user_name(tmp_path):
    stack = cdk.Stack(cli_app(tmp_path), "Stack", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        vpc_cidr_block="10.0.0.0/16",
        availability_zones=["a", "b"],
        isolated_subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
    )
    domain = StudioDomain(
        stack,
        "Studio",
        name="acme-studio",
        vpc=vpc,
        subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        key=kms.Key(stack, "Key"),
        execution_role_arn="arn:aws:iam::123456789012:role/default",
        auth_mode="sso",
        package_index=PackageIndex("acme", "333333333333", "pypi", "eu-west-1"),
        idle_shutdown=IdleShutdown(90, 300),
        default_instance_type="ml.t3.large",
        default_volume_gb=10,
        max_volume_gb=50,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    StudioMembers(
        stack,
        "Members",
        domain_id=domain.domain_id,
        members=[
            Member("team-ann", "arn:aws:iam::123456789012:role/ds", {"platform:user": "ann"}, sso_user_name="ann")
        ],
        teardown_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:teardown",
    )
    template = Template.from_stack(stack)
    template.has_resource(
        "AWS::SageMaker::Domain", {"DeletionPolicy": "Retain", "Properties": Match.object_like({"AuthMode": "SSO"})}
    )
    template.has_resource_properties(
        "AWS::SageMaker::UserProfile", {"SingleSignOnUserIdentifier": "UserName", "SingleSignOnUserValue": "ann"}
    )
    idle = template.find_resources("AWS::SageMaker::Domain")
    (properties,) = [d["Properties"] for d in idle.values()]
    lab = properties["DefaultUserSettings"]["JupyterLabAppSettings"]
    assert lab["AppLifecycleManagement"]["IdleSettings"]["IdleTimeoutInMinutes"] == 90
    assert properties["DefaultUserSettings"]["SpaceStorageSettings"] == {
        "DefaultEbsStorageSettings": {"DefaultEbsVolumeSizeInGb": 10, "MaximumEbsVolumeSizeInGb": 50}
    }
