"""Deployment starter: starts a model's deployment pipeline for an approved model package.

Invoked by EventBridge with "Model Package Approved For Deployment" events that the approval
function of an ml-dev account (lambda/model_approval) sent to the shared-services deployment
bus. The package must come from the registry account the platform expects for that model;
then the model's deployment pipeline (environment PIPELINES) starts with the package ARN as
its ModelPackageArn variable, and the event id as the client request token, so a duplicate
delivery starts no second execution.

Events that are malformed, from another source or account, or name an unknown model are
logged and ignored. AWS errors propagate: EventBridge retries, then dead-letters the event.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from pydantic import BaseModel, Field

logger = Logger()

SOURCE = "platform.model-approval"
DETAIL_TYPE = "Model Package Approved For Deployment"
PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:(\d{12}):model-package/[a-zA-Z0-9-]{1,63}/\d+$")
RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})


class DeploymentRequest(BaseModel):
    model: str = Field(min_length=1, max_length=64)
    modelPackageArn: str = Field(max_length=2048)  # noqa: N815 - the event's own key


class DeploymentRequestEvent(EventBridgeModel):
    detail: DeploymentRequest


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    try:
        request = parse(event=event, model=DeploymentRequestEvent)
    except (ValidationError, TypeError, ValueError):
        logger.warning("ignored: not a deployment request", extra={"keys": _keys(event)})
        return {"outcome": "ignored"}
    if request.source != SOURCE or request.detail_type != DETAIL_TYPE:
        logger.info("ignored: not a deployment request", extra={"source": request.source})
        return {"outcome": "ignored"}
    pipelines: dict[str, dict[str, str]] = json.loads(os.environ["PIPELINES"])
    target = pipelines.get(request.detail.model)
    if target is None:
        logger.warning("ignored: no deployment pipeline for this model", extra={"model": request.detail.model})
        return {"outcome": "ignored"}
    arn = request.detail.modelPackageArn
    match = PACKAGE_ARN.match(arn)
    registry = target["registry_account"]
    if match is None or match.group(1) != registry or request.account != registry:
        logger.warning(
            "ignored: the package is not from the model's registry",
            extra={"model": request.detail.model, "package": arn, "sender": request.account},
        )
        return {"outcome": "ignored"}
    execution = boto3.client("codepipeline", config=RETRIES).start_pipeline_execution(
        name=target["pipeline"],
        variables=[{"name": "ModelPackageArn", "value": arn}],
        clientRequestToken=request.id,
    )
    logger.info(
        "deployment started",
        extra={"pipeline": target["pipeline"], "package": arn, "execution": execution["pipelineExecutionId"]},
    )
    return {"outcome": "started", "execution": execution["pipelineExecutionId"]}


def _keys(event: Any) -> list[str]:
    return sorted(event) if isinstance(event, dict) else [type(event).__name__]
