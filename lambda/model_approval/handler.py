"""Model approval: turns a reviewer's decision on a model package into a deployment request.

Invoked by EventBridge with "SageMaker Model Package State Change" events of the platform's
model package groups whose ModelApprovalStatus is Approved or Rejected.

- Approved: the package must still be Approved, be Completed, and carry the project's
  metric (customer metadata property written by the model-build pipeline) at or beyond its
  threshold. Then the package ARN is recorded as the model's approved package (SSM
  parameter) and a deployment request is sent to the deployment event bus, with the
  drift-check baselines the package registers (what production monitoring of this package
  compares with); CloudFormation stays the owner of every endpoint.
- Rejected, or a package that fails a check: the notification topic says why; nothing deploys.

A duplicate delivery of the same event is processed once (idempotency record keyed by the
event id). Events that are malformed, of another source or of another group are logged and
ignored. AWS errors propagate, so Lambda retries the event and finally dead-letters it; every
step is safe to repeat.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import ClientError

logger = Logger()

DETAIL_TYPE = "SageMaker Model Package State Change"
DEPLOYMENT_REQUEST = "Model Package Approved For Deployment"
RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})
"""Throttling is retried with backoff in the invocation first, then by Lambda's own retries."""


MAX_LENGTH = 2048
DRIFT_CHECK_BASELINES = {
    "DataQualityStatisticsUri": ("ModelDataQuality", "Statistics"),
    "DataQualityConstraintsUri": ("ModelDataQuality", "Constraints"),
    "BiasConfigUri": ("Bias", "ConfigFile"),
    "BiasConstraintsUri": ("Bias", "PostTrainingConstraints"),
    "ExplainabilityConfigUri": ("Explainability", "ConfigFile"),
    "ExplainabilityConstraintsUri": ("Explainability", "Constraints"),
}
"""The package's DriftCheckBaselines (DescribeModelPackage) a deployment request carries, by
the names of the deployment pipeline's variables (stacks.model_deployment_stack)."""


@dataclass(frozen=True)
class PackageStateChange:
    event_id: str
    group: str
    package_arn: str
    status: str


def state_change(event: Any) -> PackageStateChange | None:
    """The model package state change SageMaker reports, or None for any other event.
    (Checked by hand, not with the Powertools parser: pydantic's import alone is a fifth of the
    function's start-up.)"""
    if not isinstance(event, dict) or (event.get("source"), event.get("detail-type")) != ("aws.sagemaker", DETAIL_TYPE):
        return None
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return None
    event_id, group = _text(event.get("id")), _text(detail.get("ModelPackageGroupName"))
    package_arn, status = _text(detail.get("ModelPackageArn")), _text(detail.get("ModelApprovalStatus"))
    version = detail.get("ModelPackageVersion")
    well_typed = version is None or (isinstance(version, int) and not isinstance(version, bool))
    if event_id is None or group is None or package_arn is None or status is None or not well_typed:
        return None
    return PackageStateChange(event_id, group, package_arn, status)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_LENGTH else None


@dataclass(frozen=True)
class Project:
    """What the platform knows of a model package group: the record its model-build stack
    publishes as the SSM parameter `<MODEL_GROUP_RECORDS>/<group name>`."""

    model: str
    metric: str
    threshold: float
    direction: Literal["maximize", "minimize"]

    def accepts(self, value: float) -> bool:
        return value >= self.threshold if self.direction == "maximize" else value <= self.threshold


GROUP_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def _project(group: str) -> Project | None:
    """The platform's record of `group`, or None for a group the platform does not build."""
    if not GROUP_NAME.fullmatch(group):
        return None
    try:
        record = boto3.client("ssm", config=RETRIES).get_parameter(Name=f"{os.environ['MODEL_GROUP_RECORDS']}/{group}")
    except ClientError as error:
        if error.response["Error"]["Code"] == "ParameterNotFound":
            return None
        raise
    return Project(**json.loads(record["Parameter"]["Value"]))


idempotency = IdempotencyConfig(event_key_jmespath="event_id", expires_after_seconds=24 * 3600)


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    idempotency.register_lambda_context(context)
    change = state_change(event)
    if change is None:
        logger.warning("ignored: not a model package state change", extra={"keys": _keys(event)})
        return {"outcome": "ignored"}
    # What the event says decides first: every registration (PendingManualApproval) needs no AWS call.
    if change.status not in ("Approved", "Rejected"):
        logger.info("ignored: no decision", extra={"status": change.status})
        return {"outcome": "ignored"}
    if _project(change.group) is None:
        logger.info("ignored: not a platform model package group", extra={"group": change.group})
        return {"outcome": "ignored"}
    outcome: dict[str, str] = idempotent(decide)(
        request={
            "event_id": change.event_id,
            "group": change.group,
            "package": change.package_arn,
            "status": change.status,
        }
    )
    return outcome


@cache
def idempotent(function: Callable[..., dict[str, str]]) -> Callable[..., dict[str, str]]:
    """`function` processing each event id once. Made on the first event that gets this far: the
    idempotency store's DynamoDB client costs about 100 ms, which ignored events never pay."""
    store = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
    decorate = idempotent_function(data_keyword_argument="request", config=idempotency, persistence_store=store)
    made: Callable[..., dict[str, str]] = decorate(function)
    return made


def decide(request: dict[str, str]) -> dict[str, str]:
    project = _project(request["group"])
    if project is None:  # the model left the config since the event was first seen
        return {"outcome": "ignored"}
    package_arn = request["package"]
    if request["status"] == "Rejected":
        notify(f"Model package {package_arn} of {project.model} was rejected; nothing is deployed.")
        return {"outcome": "rejected"}
    package = boto3.client("sagemaker", config=RETRIES).describe_model_package(ModelPackageName=package_arn)
    reason = refusal(project, package)
    if reason:
        notify(f"Model package {package_arn} of {project.model} is approved but not deployed: {reason}")
        return {"outcome": "refused", "reason": reason}
    request_deployment(project, package)
    notify(f"Model package {package_arn} of {project.model} is approved; deployment to test requested.")
    return {"outcome": "deployment-requested"}


def refusal(project: Project, package: dict[str, Any]) -> str | None:
    """Why `package` must not deploy, or None."""
    if package.get("ModelApprovalStatus") != "Approved":
        return f"its approval status is now {package.get('ModelApprovalStatus')}"
    if package.get("ModelPackageStatus") != "Completed":
        return f"its status is {package.get('ModelPackageStatus')}, not Completed"
    recorded = package.get("CustomerMetadataProperties", {}).get(project.metric)
    try:
        value = float(recorded)
    except (TypeError, ValueError):
        return f"it records no numeric {project.metric}"
    if not project.accepts(value):
        bound = "at least" if project.direction == "maximize" else "at most"
        return f"{project.metric} is {value}, the project needs {bound} {project.threshold}"
    return None


def request_deployment(project: Project, package: dict[str, Any]) -> None:
    """Record the approved package, then ask the delivery account to deploy it to test."""
    arn = package["ModelPackageArn"]
    boto3.client("ssm", config=RETRIES).put_parameter(
        Name=f"{os.environ['PARAMETER_PREFIX']}/{project.model}/approved-model-package",
        Value=arn,
        Type="String",
        Overwrite=True,
        Description="Last model package approved for deployment (written by the approval function)",
    )
    detail = {
        "model": project.model,
        "modelPackageArn": arn,
        "modelPackageVersion": package.get("ModelPackageVersion"),
        "metric": {"name": project.metric, "value": float(package["CustomerMetadataProperties"][project.metric])},
        "baselines": drift_check_baselines(package),
        "stage": "test",
    }
    answer = boto3.client("events", config=RETRIES).put_events(
        Entries=[
            {
                "Source": "platform.model-approval",
                "DetailType": DEPLOYMENT_REQUEST,
                "Detail": json.dumps(detail),
                "EventBusName": os.environ["DEPLOYMENT_BUS_ARN"],
                "Resources": [arn],
            }
        ]
    )
    if answer.get("FailedEntryCount"):
        raise RuntimeError(f"deployment request not accepted: {answer['Entries']}")
    logger.info("deployment requested", extra=detail)


def drift_check_baselines(package: dict[str, Any]) -> dict[str, str]:
    """The S3 URIs of the drift-check baselines the package registers, by variable name."""
    registered = package.get("DriftCheckBaselines", {})
    found = {}
    for name, (kind, item) in DRIFT_CHECK_BASELINES.items():
        uri = registered.get(kind, {}).get(item, {}).get("S3Uri")
        if isinstance(uri, str):
            found[name] = uri
    return found


def notify(message: str) -> None:
    boto3.client("sns", config=RETRIES).publish(
        TopicArn=os.environ["TOPIC_ARN"], Subject="Model approval", Message=message
    )
    logger.info(message)


def _keys(event: Any) -> list[str]:
    return sorted(event) if isinstance(event, dict) else [type(event).__name__]
