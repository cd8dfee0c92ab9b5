"""The reusable constructs on their own, outside the organization config."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from ml_constructs.storage import AccessLogBucket, SecureBucket
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
