"""Model archive copy: the provider of `Custom::ModelArchiveCopy` in a recovery region.

A model package is registered in one region, and SageMaker reads a model's archive from its
own region: the standby endpoint of a recovery region (stacks.recovery_stack) serves a copy.
CDK's custom resource provider framework invokes this function and answers CloudFormation
with what it returns, or with the error it raises.

- Create and Update: describes the package that `ModelPackageArn` names, in the package's
  region; checks its container runs `ExpectedImage` (the platform's framework image of that
  region: the standby runs the same framework's image of its own region, so a package built
  on another image cannot fail over, and says so instead of serving the wrong code); copies
  its model archive into `Bucket` under packages/<group>/<version>/model.tar.gz, encrypted
  with `KeyArn` (multipart for large archives). Returns the copy's URI as `ModelDataUrl`.
  Copying again writes the same bytes: a retried or repeated request is safe.
- Delete: leaves the copy: a retained production endpoint may still launch instances from it.

Malformed properties or a package without one model archive fail the request with the reason;
nothing is half-applied (the copy is the only write).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

logger = Logger()

RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})
PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):\d{12}:model-package/(?P<group>[a-zA-Z0-9-]{1,63})/(?P<version>\d+)$"
)
S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>.+)$")
ARCHIVE_NAME = "model.tar.gz"


class CopyError(Exception):
    """The request cannot be carried out; CloudFormation is told why."""


@dataclass(frozen=True)
class CopyRequest:
    package_arn: str
    package_region: str
    destination_key: str
    bucket: str
    key_arn: str
    expected_image: str

    @classmethod
    def from_properties(cls, properties: Any) -> CopyRequest:
        if not isinstance(properties, dict):
            raise CopyError("no resource properties")
        values = {name: properties.get(name) for name in ("ModelPackageArn", "Bucket", "KeyArn", "ExpectedImage")}
        missing = sorted(name for name, value in values.items() if not isinstance(value, str) or not value)
        if missing:
            raise CopyError(f"required: {', '.join(missing)}")
        package = PACKAGE_ARN.match(str(values["ModelPackageArn"]))
        if package is None:
            raise CopyError(f"ModelPackageArn is not a versioned model package ARN: {values['ModelPackageArn']!r}")
        return cls(
            package_arn=str(values["ModelPackageArn"]),
            package_region=package["region"],
            destination_key=f"packages/{package['group']}/{package['version']}/{ARCHIVE_NAME}",
            bucket=str(values["Bucket"]),
            key_arn=str(values["KeyArn"]),
            expected_image=str(values["ExpectedImage"]),
        )


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request_type = event.get("RequestType") if isinstance(event, dict) else None
    if request_type == "Delete":
        logger.info("delete: the copy stays", extra={"physical_id": event.get("PhysicalResourceId")})
        return {"PhysicalResourceId": event.get("PhysicalResourceId")}
    if request_type not in ("Create", "Update"):
        raise CopyError(f"not a custom resource request: RequestType {request_type!r}")
    request = CopyRequest.from_properties(event.get("ResourceProperties"))
    model_data_url = copy_archive(request)
    return {"PhysicalResourceId": model_data_url, "Data": {"ModelDataUrl": model_data_url}}


def copy_archive(request: CopyRequest) -> str:
    sagemaker = boto3.client("sagemaker", region_name=request.package_region, config=RETRIES)
    package = sagemaker.describe_model_package(ModelPackageName=request.package_arn)
    containers = package.get("InferenceSpecification", {}).get("Containers", [])
    if len(containers) != 1:
        raise CopyError(f"{request.package_arn} has {len(containers)} containers: a standby serves exactly one")
    container = containers[0]
    if container.get("Image") != request.expected_image:
        raise CopyError(
            f"{request.package_arn} runs {container.get('Image')!r}, not the platform's framework image "
            f"{request.expected_image!r}: the recovery region cannot run it"
        )
    source = S3_URI.match(str(container.get("ModelDataUrl", "")))
    if source is None:
        raise CopyError(f"{request.package_arn} has no model archive in S3: {container.get('ModelDataUrl')!r}")
    s3 = boto3.client("s3", config=RETRIES)
    s3.copy(
        CopySource={"Bucket": source["bucket"], "Key": source["key"]},
        Bucket=request.bucket,
        Key=request.destination_key,
        ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": request.key_arn},
        SourceClient=boto3.client("s3", region_name=request.package_region, config=RETRIES),
    )
    logger.info("archive copied", extra={"package": request.package_arn, "to": request.destination_key})
    return f"s3://{request.bucket}/{request.destination_key}"
