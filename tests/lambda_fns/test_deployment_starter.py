"""The deployment starter, against a stubbed CodePipeline (moto keeps no pipeline executions),
fed the deployment request the approval function sends to the shared-services bus."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ml_pipelines.templates import REGISTERED_BASELINES
from tests.lambda_fns.conftest import LocalContext, event, load_handler

starter = load_handler("deployment_starter")
PIPELINES = {"fraud-detector": {"pipeline": "acme-fraud-detector-deploy", "registry_account": "555555555555"}}
PACKAGE = "arn:aws:sagemaker:eu-west-1:555555555555:model-package/acme-fraud-detector/3"


@pytest.fixture
def codepipeline(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    monkeypatch.setenv("PIPELINES", json.dumps(PIPELINES))
    monkeypatch.setenv("BASELINE_VARIABLES", json.dumps(sorted(REGISTERED_BASELINES)))
    client = boto3.client("codepipeline", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(starter.boto3, "client", lambda service, **_: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def request(**detail: Any) -> dict[str, Any]:
    sample = event("model_deployment_request")
    return {**sample, "detail": {**sample["detail"], **detail}}


def expect_start(
    stubber: Stubber,
    token: str = "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    baselines: dict[str, str] | None = None,
    champion: dict[str, str] | None = None,
) -> None:
    """The pipeline starts with the package and its baselines, and the champion's (by default,
    the package is its own champion) under the names prefixed Champion."""
    package = {"ModelPackageArn": PACKAGE, **dict(sorted((baselines or {}).items()))}
    variables = {**package, **{f"Champion{name}": value for name, value in (champion or package).items()}}
    stubber.add_response(
        "start_pipeline_execution",
        {"pipelineExecutionId": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"},
        {
            "name": "acme-fraud-detector-deploy",
            "variables": [{"name": name, "value": value} for name, value in variables.items()],
            "clientRequestToken": token,
        },
    )


def test_an_approved_package_starts_its_models_pipeline_with_the_package_as_variable(codepipeline):
    expect_start(codepipeline, baselines=event("model_deployment_request")["detail"]["baselines"])
    outcome = starter.handler(request(), LocalContext())
    assert outcome == {"outcome": "started", "execution": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"}


def test_the_packages_registered_baselines_become_the_variables_of_their_names(codepipeline):
    run = "s3://acme-model-artifacts-555555555555-eu-west-1/fraud-detector/runs/a1b2c3d4e5f6"
    baselines = {name: f"{run}/{path}" for name, path in REGISTERED_BASELINES.items()}
    expect_start(codepipeline, baselines=baselines)
    # Names the pipelines do not declare, and values that are no S3 URI, are left out.
    sent = {**baselines, "Unknown": f"{run}/x.json", "BiasConfigUri": 7}
    expect_start(codepipeline, baselines={k: v for k, v in baselines.items() if k != "BiasConfigUri"})
    starter.handler(request(baselines=baselines), LocalContext())
    starter.handler(request(baselines=sent), LocalContext())


CHAMPION = "arn:aws:sagemaker:eu-west-1:555555555555:model-package/acme-fraud-detector/2"
CHAMPION_RUN = "s3://acme-model-artifacts-555555555555-eu-west-1/fraud-detector/runs/f6e5d4c3b2a1"


def promotions(stubber: Stubber, *summaries: tuple[str, int]) -> None:
    """The pipeline's executions that succeeded in the Promote stage: (id, minutes after noon
    they last changed)."""
    stubber.add_response(
        "list_pipeline_executions",
        {
            "pipelineExecutionSummaries": [
                {
                    "pipelineExecutionId": execution,
                    "status": "Succeeded",
                    "lastUpdateTime": datetime(2026, 11, 2, 12, m),
                }
                for execution, m in summaries
            ]
        },
        {
            "pipelineName": "acme-fraud-detector-deploy",
            "maxResults": 20,
            "filter": {"succeededInStage": {"stageName": "Promote"}},
        },
    )


@pytest.fixture
def promoting(codepipeline: Stubber, monkeypatch: pytest.MonkeyPatch) -> Stubber:
    target = {**PIPELINES["fraud-detector"], "promotes": True}
    monkeypatch.setenv("PIPELINES", json.dumps({"fraud-detector": target}))
    return codepipeline


def test_the_champion_is_the_package_of_the_latest_execution_that_succeeded_in_promote(promoting):
    promotions(promoting, ("older-execution", 5), ("latest-promotion", 40))
    champion = {
        "ModelPackageArn": CHAMPION,
        "DataQualityConstraintsUri": f"{CHAMPION_RUN}/data-quality/constraints.json",
        "DataQualityStatisticsUri": f"{CHAMPION_RUN}/data-quality/statistics.json",
    }
    promoting.add_response(
        "get_pipeline_execution",
        {
            "pipelineExecution": {
                "pipelineExecutionId": "latest-promotion",
                "status": "Succeeded",
                "variables": [{"name": name, "resolvedValue": value} for name, value in champion.items()]
                + [{"name": "ChampionModelPackageArn", "resolvedValue": "arn:...:model-package/acme-fraud-detector/1"}],
            }
        },
        {"pipelineName": "acme-fraud-detector-deploy", "pipelineExecutionId": "latest-promotion"},
    )
    # The new package is the challenger; the champion keeps its own baselines for monitoring.
    expect_start(promoting, baselines=event("model_deployment_request")["detail"]["baselines"], champion=champion)
    assert starter.handler(request(), LocalContext())["outcome"] == "started"


def test_before_the_first_promotion_the_package_is_its_own_champion(promoting):
    promotions(promoting)
    baselines = event("model_deployment_request")["detail"]["baselines"]
    expect_start(promoting, baselines=baselines)
    assert starter.handler(request(), LocalContext())["outcome"] == "started"


def test_a_duplicate_delivery_asks_with_the_same_token_so_codepipeline_starts_it_once(codepipeline):
    expect_start(codepipeline)
    expect_start(codepipeline)  # CodePipeline answers a repeated token with the first execution
    first = starter.handler(request(baselines={}), LocalContext())
    second = starter.handler(request(baselines={}), LocalContext())
    assert first == second


@pytest.mark.parametrize(
    "changes",
    [
        {"account": "999999999999"},  # sent from an account that is not the model's registry
        {"detail": {"model": "fraud-detector", "modelPackageArn": PACKAGE.replace("555555555555", "999999999999")}},
        {"detail": {"model": "unknown-model", "modelPackageArn": PACKAGE}},
        {"detail": {"model": "fraud-detector", "modelPackageArn": "arn:aws:s3:::not-a-package"}},
        {"source": "aws.sagemaker"},
        {"detail-type": "SageMaker Model Package State Change"},
        {"detail": {"model": "fraud-detector"}},
        {"detail": "not an object"},
        {"id": None},
    ],
)
def test_foreign_malformed_and_unknown_requests_start_nothing(codepipeline, changes):
    assert starter.handler({**event("model_deployment_request"), **changes}, LocalContext()) == {"outcome": "ignored"}


@pytest.mark.parametrize("hostile", [None, [], "text", {"detail": {"model": "x" * 100_000}}])
def test_hostile_events_are_ignored(codepipeline, hostile):
    assert starter.handler(hostile, LocalContext()) == {"outcome": "ignored"}


@pytest.mark.parametrize("code", ["ThrottlingException", "AccessDeniedException", "PipelineNotFoundException"])
def test_aws_errors_propagate_so_eventbridge_retries_and_dead_letters(codepipeline, code):
    codepipeline.add_client_error("start_pipeline_execution", service_error_code=code)
    with pytest.raises(starter.boto3.client("codepipeline").exceptions.ClientError):
        starter.handler(request(), LocalContext())
