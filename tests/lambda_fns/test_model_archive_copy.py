"""The model archive copy against moto: a package registered in eu-west-1 copied for a
standby in eu-central-1, as CDK's provider framework passes CloudFormation's requests on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.lambda_fns.conftest import LocalContext, event, load_handler

HOME, RECOVERY = "eu-west-1", "eu-central-1"
IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
GROUP = "acme-churn-predictor"
ARCHIVE = b"model archive bytes"


@dataclass
class Registry:
    copy: ModuleType
    sagemaker: Any
    s3: Any
    key_arn: str

    def register(self, image: str = IMAGE, data_url: str = "s3://acme-model-artifacts/churn/model.tar.gz") -> str:
        arn: str = self.sagemaker.create_model_package(
            ModelPackageGroupName=GROUP,
            InferenceSpecification={
                "Containers": [{"Image": image, "ModelDataUrl": data_url}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
        return arn

    def request(self, request_type: str, package_arn: str, **properties: Any) -> dict[str, Any]:
        return event(
            "cloudformation_custom_resource_update",
            RequestType=request_type,
            ResourceType="Custom::ModelArchiveCopy",
            ResourceProperties={
                "ServiceToken": "arn:aws:lambda:eu-central-1:777777777777:function:provider",
                "ModelPackageArn": package_arn,
                "Bucket": "acme-recovery-models",
                "KeyArn": self.key_arn,
                "ExpectedImage": IMAGE,
                **properties,
            },
        )


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", RECOVERY)
        home = boto3.client("s3", region_name=HOME)
        home.create_bucket(Bucket="acme-model-artifacts", CreateBucketConfiguration={"LocationConstraint": HOME})
        home.put_object(Bucket="acme-model-artifacts", Key="churn/model.tar.gz", Body=ARCHIVE)
        recovery = boto3.client("s3", region_name=RECOVERY)
        recovery.create_bucket(
            Bucket="acme-recovery-models", CreateBucketConfiguration={"LocationConstraint": RECOVERY}
        )
        key_arn = boto3.client("kms", region_name=RECOVERY).create_key()["KeyMetadata"]["Arn"]
        sagemaker = boto3.client("sagemaker", region_name=HOME)
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        yield Registry(load_handler("model_archive_copy"), sagemaker, recovery, key_arn)


def test_create_copies_the_packages_archive_into_the_recovery_bucket_under_the_key(registry):
    arn = registry.register()
    answer = registry.copy.handler(registry.request("Create", arn), LocalContext())
    destination = f"packages/{GROUP}/1/model.tar.gz"
    assert answer == {
        "PhysicalResourceId": f"s3://acme-recovery-models/{destination}",
        "Data": {"ModelDataUrl": f"s3://acme-recovery-models/{destination}"},
    }
    copied = registry.s3.get_object(Bucket="acme-recovery-models", Key=destination)
    assert copied["Body"].read() == ARCHIVE
    assert copied["ServerSideEncryption"] == "aws:kms"
    assert copied["SSEKMSKeyId"] == registry.key_arn


def test_each_version_gets_its_own_copy_and_repeating_a_request_is_harmless(registry):
    first, second = registry.register(), registry.register()
    for arn in (first, second, second):
        registry.copy.handler(registry.request("Update", arn), LocalContext())
    keys = [item["Key"] for item in registry.s3.list_objects_v2(Bucket="acme-recovery-models")["Contents"]]
    assert keys == [f"packages/{GROUP}/1/model.tar.gz", f"packages/{GROUP}/2/model.tar.gz"]


def test_delete_leaves_the_copy_for_a_retained_endpoint(registry):
    arn = registry.register()
    created = registry.copy.handler(registry.request("Create", arn), LocalContext())
    deleted = registry.copy.handler(
        {**registry.request("Delete", arn), "PhysicalResourceId": created["PhysicalResourceId"]}, LocalContext()
    )
    assert deleted == {"PhysicalResourceId": created["PhysicalResourceId"]}
    assert registry.s3.list_objects_v2(Bucket="acme-recovery-models")["KeyCount"] == 1


def test_a_package_on_another_image_fails_with_the_reason_and_copies_nothing(registry):
    arn = registry.register(image="111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/custom:1")
    with pytest.raises(registry.copy.CopyError, match="not the platform's framework image"):
        registry.copy.handler(registry.request("Create", arn), LocalContext())
    assert registry.s3.list_objects_v2(Bucket="acme-recovery-models")["KeyCount"] == 0


@pytest.mark.parametrize(
    ("properties", "problem"),
    [
        ({"ModelPackageArn": "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/x"}, "not a versioned"),
        ({"Bucket": ""}, "required: Bucket"),
        ({"KeyArn": None, "ExpectedImage": 3}, "required: ExpectedImage, KeyArn"),
    ],
)
def test_malformed_properties_fail_the_request(registry, properties, problem):
    request = registry.request("Create", "arn:aws:sagemaker:eu-west-1:111111111111:model-package/g/1")
    request["ResourceProperties"].update(properties)
    with pytest.raises(registry.copy.CopyError, match=problem):
        registry.copy.handler(request, LocalContext())


def test_a_request_that_is_no_custom_resource_request_fails(registry):
    with pytest.raises(registry.copy.CopyError, match="not a custom resource request"):
        registry.copy.handler({"source": "aws.events"}, LocalContext())
