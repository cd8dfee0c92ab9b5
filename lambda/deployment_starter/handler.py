"""Deployment starter: starts a model's deployment pipeline for an approved model package.

Invoked by EventBridge with "Model Package Approved For Deployment" events that the approval
function of an ml-dev account (lambda/model_approval) sent to the shared-services deployment
bus. The package must come from the registry account the platform expects for that model;
then the model's deployment pipeline (environment PIPELINES) starts with the package ARN as
its ModelPackageArn variable and the drift-check baselines the package registers as the
variables of their names (environment BASELINE_VARIABLES; a baseline the package lacks keeps
the pipeline's default, which an endpoint that monitors with it refuses), and the event id as
the client request token, so a duplicate delivery starts no second execution.

The pipeline of a model whose endpoints serve a challenger (`promotes` in PIPELINES) also
takes the current champion, which those endpoints keep serving beside the new package: the
package, and its baselines, of the latest execution that succeeded in the Promote stage (the
pipeline's own history, so there is no record to keep in step). Until one has, the new
package is the champion too. They go to the variables of the same names prefixed `Champion`.

Events that are malformed, from another source or account, or name an unknown model are
logged and ignored. AWS errors propagate: EventBridge retries, then dead-letters the event.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

logger = Logger()

PACKAGE = "ModelPackageArn"
CHAMPION = "Champion"
PROMOTE = "Promote"
"""The stage after which an execution's package is its endpoints' champion."""
SOURCE = "platform.model-approval"
DETAIL_TYPE = "Model Package Approved For Deployment"
PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:(\d{12}):model-package/[a-zA-Z0-9-]{1,63}/\d+$")
RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})
MAX_LENGTH = 2048
MAX_VARIABLE_LENGTH = 1000
"""CodePipeline takes variable values of at most 1,000 characters."""


@dataclass(frozen=True)
class DeploymentRequest:
    event_id: str
    sender: str
    """The account that put the request on the bus."""
    model: str
    package_arn: str
    baselines: dict[str, str]
    """The package's drift-check baselines (S3 URIs) by variable name, as the approval function sent them."""


def deployment_request(event: Any) -> DeploymentRequest | None:
    """The request an approval function put on the bus, or None for any other event. (Checked
    by hand, not with the Powertools parser: pydantic's import alone is a third of the
    function's start-up.)"""
    if not isinstance(event, dict) or (event.get("source"), event.get("detail-type")) != (SOURCE, DETAIL_TYPE):
        return None
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return None
    event_id, sender = _text(event.get("id")), _text(event.get("account"))
    model, package_arn = _text(detail.get("model")), _text(detail.get("modelPackageArn"))
    if event_id is None or sender is None or model is None or package_arn is None:
        return None
    baselines = detail.get("baselines")
    return DeploymentRequest(
        event_id,
        sender,
        model,
        package_arn,
        {
            name: uri
            for name, uri in (baselines.items() if isinstance(baselines, dict) else ())
            if isinstance(uri, str) and uri.startswith("s3://") and len(uri) <= MAX_VARIABLE_LENGTH
        },
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_LENGTH else None


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    request = deployment_request(event)
    if request is None:
        logger.warning("ignored: not a deployment request", extra={"keys": _keys(event)})
        return {"outcome": "ignored"}
    pipelines: dict[str, dict[str, Any]] = json.loads(os.environ["PIPELINES"])
    target = pipelines.get(request.model)
    if target is None:
        logger.warning("ignored: no deployment pipeline for this model", extra={"model": request.model})
        return {"outcome": "ignored"}
    arn = request.package_arn
    match = PACKAGE_ARN.match(arn)
    registry = target["registry_account"]
    if match is None or match.group(1) != registry or request.sender != registry:
        logger.warning(
            "ignored: the package is not from the model's registry",
            extra={"model": request.model, "package": arn, "sender": request.sender},
        )
        return {"outcome": "ignored"}
    codepipeline = boto3.client("codepipeline", config=RETRIES)
    declared: list[str] = json.loads(os.environ["BASELINE_VARIABLES"])
    package = {PACKAGE: arn, **{name: request.baselines[name] for name in declared if name in request.baselines}}
    champion = (champion_of(codepipeline, target["pipeline"], declared) if target.get("promotes") else None) or package
    variables = {**package, **{f"{CHAMPION}{name}": value for name, value in champion.items()}}
    execution = codepipeline.start_pipeline_execution(
        name=target["pipeline"],
        variables=[{"name": name, "value": value} for name, value in variables.items()],
        clientRequestToken=request.event_id,
    )
    logger.info(
        "deployment started",
        extra={
            "pipeline": target["pipeline"],
            "package": arn,
            "champion": champion[PACKAGE],
            "execution": execution["pipelineExecutionId"],
        },
    )
    return {"outcome": "started", "execution": execution["pipelineExecutionId"]}


def champion_of(codepipeline: Any, pipeline: str, baselines: list[str]) -> dict[str, str] | None:
    """The package and baselines of the latest execution that succeeded in the Promote stage
    (None before the first promotion)."""
    promoted = codepipeline.list_pipeline_executions(
        pipelineName=pipeline, maxResults=20, filter={"succeededInStage": {"stageName": PROMOTE}}
    )["pipelineExecutionSummaries"]
    if not promoted:
        return None
    latest = max(promoted, key=lambda summary: summary["lastUpdateTime"])
    execution = codepipeline.get_pipeline_execution(
        pipelineName=pipeline, pipelineExecutionId=latest["pipelineExecutionId"]
    )["pipelineExecution"]
    resolved = {variable["name"]: variable["resolvedValue"] for variable in execution.get("variables", [])}
    if PACKAGE not in resolved:
        return None
    return {name: resolved[name] for name in (PACKAGE, *baselines) if name in resolved}


def _keys(event: Any) -> list[str]:
    return sorted(event) if isinstance(event, dict) else [type(event).__name__]
