"""Smoke test: a CodePipeline action that checks a freshly deployed ml-test endpoint.

Invoked by a deployment pipeline's Lambda invoke action after the endpoint stack deployed.
UserParameters (JSON): endpoint, role_arn (assumed in the serving account), region,
model_package_arn (the package the deployment brought; multi-model endpoints have none) and,
when configured, payload, content_type and max_latency_ms (never for multi-model endpoints,
whose archives are their team's: the deployment checks only that they are in service).

- While the endpoint is still Creating or Updating, the action is kept open with a
  continuation token and CodePipeline invokes the function again later: it never waits out a
  long deployment inside one invocation. After MAX_CHECKS such checks it fails.
- InService: the endpoint must serve the deployed package on one of its variants (its config's
  models name it), or the deployment did not take: a blue/green update that rolled back
  leaves the endpoint InService on the previous config, and CloudFormation reports success.
  Then it invokes the variant that serves the package (a shadow gets a copy of a request to
  the endpoint) with the payload and fails the job unless the answer comes back in time;
  without a payload it reports that only the status and the package were checked.
- Any other status, an error answer, or an AWS error fails the job with the reason.

Every outcome is reported to CodePipeline (success or failure with the reason). An event
without a job id is logged and ignored: there is no job to report to. A result reported twice
(a retried invocation) is logged and ignored.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import CodePipelineJobEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

logger = Logger()

RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})
IN_PROGRESS = frozenset({"Creating", "Updating", "SystemUpdating"})
MAX_CHECKS = 30
"""CodePipeline comes back to an open action about once a minute: half an hour of waiting."""


@dataclass(frozen=True)
class Parameters:
    endpoint: str
    role_arn: str
    region: str
    payload: str | None = None
    content_type: str = "text/csv"
    max_latency_ms: int = 2000
    model_package_arn: str | None = None
    """The package the deployment brought, which the endpoint must serve."""


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str
    check_again: bool = False


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    try:
        job = CodePipelineJobEvent(event)
        job_id = job.get_id
    except (KeyError, TypeError, AttributeError):
        keys = sorted(event) if isinstance(event, dict) else []
        logger.warning("ignored: not a CodePipeline job", extra={"keys": keys})
        return {"outcome": "ignored"}
    checks = int(job.data.continuation_token or 0)
    try:
        verdict = smoke_test(Parameters(**json.loads(job.user_parameters or "")), checks)
    except (TypeError, ValueError) as error:
        verdict = Verdict(False, f"the action's UserParameters are not valid: {error}")
    except (ClientError, BotoCoreError) as error:
        verdict = Verdict(False, f"AWS refused a call: {error}")
    report(job_id, verdict, checks)
    return {"outcome": "checking" if verdict.check_again else "passed" if verdict.passed else "failed"}


def smoke_test(parameters: Parameters, checks: int) -> Verdict:
    sagemaker, runtime = serving_clients(parameters.role_arn, parameters.region)
    description = sagemaker.describe_endpoint(EndpointName=parameters.endpoint)
    not_ready = readiness(parameters.endpoint, description, checks)
    if not_ready is not None:
        return not_ready
    target: dict[str, str] = {}
    if parameters.model_package_arn is not None:
        served = packages_served(sagemaker, description["EndpointConfigName"])
        serving = [variant for variant in served if variant.package == parameters.model_package_arn]
        if not serving:
            packages = sorted({str(variant.package) for variant in served})
            return Verdict(
                False,
                f"{parameters.endpoint} does not serve {parameters.model_package_arn} (its variants serve "
                f"{', '.join(packages)}): the deployment did not take effect, for example a blue/green update "
                "rolled back",
            )
        # The production variant that serves it; a shadow gets a copy of any request.
        production = [variant.name for variant in serving if not variant.shadow]
        if production:
            target = {"TargetVariant": production[0]}
    if parameters.payload is None:
        checked = "status and package" if parameters.model_package_arn else "status"
        return Verdict(True, f"{parameters.endpoint} is InService (no payload configured: {checked} checked only)")
    return invocation(runtime, parameters, parameters.payload, target)


def readiness(endpoint: str, description: dict[str, Any], checks: int) -> Verdict | None:
    """None when the endpoint is InService; otherwise whether to look again or fail."""
    state = description["EndpointStatus"]
    if state == "InService":
        return None
    if state not in IN_PROGRESS:
        return Verdict(False, f"{endpoint} is {state}: {description.get('FailureReason', 'no reason given')}")
    if checks + 1 >= MAX_CHECKS:
        return Verdict(False, f"{endpoint} is still {state} after {MAX_CHECKS} checks")
    return Verdict(False, f"{endpoint} is {state}", check_again=True)


class Served(NamedTuple):
    name: str
    package: str | None
    """The model package its model runs; None for a model of another kind."""
    shadow: bool
    """A shadow variant, which InvokeEndpoint cannot target."""


def packages_served(sagemaker: Any, config_name: str) -> list[Served]:
    """What each variant of the endpoint config serves."""
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    variants = [(variant, False) for variant in config["ProductionVariants"]]
    variants += [(variant, True) for variant in config.get("ShadowProductionVariants", [])]
    packages: dict[str, str | None] = {}
    for variant, _ in variants:
        model = variant["ModelName"]
        if model not in packages:
            described = sagemaker.describe_model(ModelName=model)
            containers = [described["PrimaryContainer"]] if "PrimaryContainer" in described else []
            containers += described.get("Containers", [])
            packages[model] = next((c["ModelPackageName"] for c in containers if "ModelPackageName" in c), None)
    return [Served(variant["VariantName"], packages[variant["ModelName"]], shadow) for variant, shadow in variants]


def invocation(runtime: Any, parameters: Parameters, payload: str, target: dict[str, str]) -> Verdict:
    started = time.perf_counter()
    answer = runtime.invoke_endpoint(
        EndpointName=parameters.endpoint, ContentType=parameters.content_type, Body=payload.encode(), **target
    )
    body = answer["Body"].read()
    elapsed_ms = round((time.perf_counter() - started) * 1000)
    if elapsed_ms > parameters.max_latency_ms:
        return Verdict(False, f"{parameters.endpoint} answered in {elapsed_ms} ms, over {parameters.max_latency_ms} ms")
    if not body:
        return Verdict(False, f"{parameters.endpoint} answered with an empty body")
    return Verdict(True, f"{parameters.endpoint} answered {len(body)} bytes in {elapsed_ms} ms")


def serving_clients(role_arn: str, region: str) -> tuple[Any, Any]:
    """SageMaker and its runtime as the serving account's smoke-test role."""
    credentials = boto3.client("sts", config=RETRIES).assume_role(RoleArn=role_arn, RoleSessionName="smoke-test")[
        "Credentials"
    ]
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
    return session.client("sagemaker", config=RETRIES), session.client("sagemaker-runtime", config=RETRIES)


def report(job_id: str, verdict: Verdict, checks: int) -> None:
    codepipeline = boto3.client("codepipeline", config=RETRIES)
    try:
        if verdict.check_again:
            codepipeline.put_job_success_result(jobId=job_id, continuationToken=str(checks + 1))
        elif verdict.passed:
            codepipeline.put_job_success_result(jobId=job_id, executionDetails={"summary": verdict.message[:2048]})
        else:
            codepipeline.put_job_failure_result(
                jobId=job_id, failureDetails={"type": "JobFailed", "message": verdict.message[:5000]}
            )
    except ClientError as error:
        if error.response["Error"]["Code"] != "InvalidJobStateException":
            raise
        logger.info("ignored: the job already has its result", extra={"job": job_id})
        return
    logger.info(verdict.message, extra={"job": job_id, "passed": verdict.passed, "check_again": verdict.check_again})
