"""The model approval function against moto, fed the AWS-documented state change event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from ml_pipelines.templates import REGISTERED_BASELINES
from tests.lambda_fns.conftest import LocalContext, event, load_handler

REGION = "eu-west-1"
BOTO3_CLIENT = boto3.client
GROUP = "acme-fraud-detector"
RECORDS = "/acme/registry/model-groups"
"""Where the model-build stacks publish each group's record (stacks.model_build_stack)."""
RUN = "s3://acme-model-artifacts-555555555555-eu-west-1/fraud-detector/runs/a1b2c3d4e5f6"
DRIFT_CHECK_BASELINES = {
    "ModelDataQuality": {
        "Statistics": {"ContentType": "application/json", "S3Uri": f"{RUN}/data-quality/statistics.json"},
        "Constraints": {"ContentType": "application/json", "S3Uri": f"{RUN}/data-quality/constraints.json"},
    },
    "Bias": {
        "ConfigFile": {
            "ContentType": "application/json",
            "S3Uri": f"{RUN}/clarify/monitoring-bias/analysis_config.json",
        },
        "PreTrainingConstraints": {"ContentType": "application/json", "S3Uri": f"{RUN}/data-bias/analysis.json"},
        "PostTrainingConstraints": {"ContentType": "application/json", "S3Uri": f"{RUN}/model-bias/analysis.json"},
    },
    "Explainability": {
        "ConfigFile": {
            "ContentType": "application/json",
            "S3Uri": f"{RUN}/clarify/monitoring-explainability/analysis_config.json",
        },
        "Constraints": {"ContentType": "application/json", "S3Uri": f"{RUN}/explainability/analysis.json"},
    },
}
"""What the model-build pipeline of a model with a bias check registers (DescribeModelPackage's shape)."""
BASELINES = {
    "DataQualityStatisticsUri": f"{RUN}/data-quality/statistics.json",
    "DataQualityConstraintsUri": f"{RUN}/data-quality/constraints.json",
    "BiasConfigUri": f"{RUN}/clarify/monitoring-bias/analysis_config.json",
    "BiasConstraintsUri": f"{RUN}/model-bias/analysis.json",
    "ExplainabilityConfigUri": f"{RUN}/clarify/monitoring-explainability/analysis_config.json",
    "ExplainabilityConstraintsUri": f"{RUN}/explainability/analysis.json",
}
"""The same, as the deployment request carries them: by the deployment pipeline's variable names."""
PROJECTS = {
    GROUP: {"model": "fraud-detector", "metric": "auc", "threshold": 0.8, "direction": "maximize"},
    "acme-churn-predictor": {"model": "churn-predictor", "metric": "rmse", "threshold": 0.25, "direction": "minimize"},
}


@dataclass
class Platform:
    approval: ModuleType
    sagemaker: Any
    ssm: Any
    notifications: str
    deployments: str

    def messages(self, queue_url: str) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name=REGION)
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in received]

    def register(
        self, metric: dict[str, str] | None = None, group: str = GROUP, baselines: dict[str, Any] | None = None
    ) -> str:
        arn: str = self.sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription="candidate",
            ModelApprovalStatus="PendingManualApproval",
            CustomerMetadataProperties=metric if metric is not None else {"auc": "0.91"},
            DriftCheckBaselines=DRIFT_CHECK_BASELINES if baselines is None else baselines,
            InferenceSpecification={
                "Containers": [{"Image": "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
        return arn

    def decide(self, arn: str, status: str) -> None:
        # moto drops the customer metadata on any update that omits it (SageMaker keeps it),
        # so the reviewer's update carries the package's own metadata unchanged.
        metadata = self.sagemaker.describe_model_package(ModelPackageName=arn).get("CustomerMetadataProperties") or {}
        self.sagemaker.update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus=status, CustomerMetadataProperties=metadata
        )


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        notifications = sqs.create_queue(QueueName="notifications")["QueueUrl"]
        deployments = sqs.create_queue(QueueName="deployments")["QueueUrl"]
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="approvals")["TopicArn"]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=sqs.get_queue_attributes(QueueUrl=notifications, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ],
            Attributes={"RawMessageDelivery": "true"},
        )
        events = boto3.client("events", region_name=REGION)
        bus = events.create_event_bus(Name="acme-model-deployments")["EventBusArn"]
        events.put_rule(
            Name="all",
            EventBusName="acme-model-deployments",
            EventPattern=json.dumps({"source": ["platform.model-approval"]}),
        )
        events.put_targets(
            Rule="all",
            EventBusName="acme-model-deployments",
            Targets=[
                {
                    "Id": "q",
                    "Arn": sqs.get_queue_attributes(QueueUrl=deployments, AttributeNames=["QueueArn"])["Attributes"][
                        "QueueArn"
                    ],
                }
            ],
        )
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        ssm = boto3.client("ssm", region_name=REGION)
        for group, project in PROJECTS.items():
            sagemaker.create_model_package_group(ModelPackageGroupName=group)
            ssm.put_parameter(Name=f"{RECORDS}/{group}", Value=json.dumps(project), Type="String")
        for name, value in {
            "MODEL_GROUP_RECORDS": RECORDS,
            "PARAMETER_PREFIX": "/acme/models",
            "DEPLOYMENT_BUS_ARN": bus,
            "TOPIC_ARN": topic,
            "IDEMPOTENCY_TABLE": "idempotency",
            "POWERTOOLS_SERVICE_NAME": "model_approval",
        }.items():
            monkeypatch.setenv(name, value)
        approval = load_handler("model_approval")  # reads its table name at import, inside the mock
        yield Platform(approval, sagemaker, boto3.client("ssm", region_name=REGION), notifications, deployments)


def state_change(arn: str, status: str, **detail: Any) -> dict[str, Any]:
    sample = event("sagemaker_model_package_state_change")
    sample["detail"] = {**sample["detail"], "ModelPackageArn": arn, "ModelApprovalStatus": status, **detail}
    sample["resources"] = [arn]
    return sample


def test_approved_package_meeting_the_threshold_is_sent_to_deployment(platform):
    arn = platform.register({"auc": "0.91"})
    platform.decide(arn, "Approved")

    result = platform.approval.handler(state_change(arn, "Approved"), LocalContext())

    assert result == {"outcome": "deployment-requested"}
    recorded = platform.ssm.get_parameter(Name="/acme/models/fraud-detector/approved-model-package")["Parameter"]
    assert recorded["Value"] == arn
    (request,) = platform.messages(platform.deployments)
    assert request["detail-type"] == "Model Package Approved For Deployment"
    assert request["detail"]["modelPackageArn"] == arn
    assert request["detail"]["metric"] == {"name": "auc", "value": 0.91}
    assert request["detail"]["stage"] == "test"
    # What production monitoring of this package compares with: its own registered baselines.
    assert request["detail"]["baselines"] == BASELINES
    (note,) = _raw(platform)
    assert "deployment to test requested" in note


def test_the_request_sent_to_the_bus_starts_the_models_deployment_pipeline(platform, monkeypatch):
    """The hand-off: what the bus delivers (through moto's EventBridge) is what the
    shared-services deployment starter reads, and it starts the pipeline with this package."""
    arn = platform.register({"auc": "0.91"})
    platform.decide(arn, "Approved")
    platform.approval.handler(state_change(arn, "Approved"), LocalContext())
    (request,) = platform.messages(platform.deployments)

    starter = load_handler("deployment_starter")
    registry = arn.split(":")[4]
    # EventBridge sets `account` to the sending account on every event; moto's delivery leaves it out.
    request.setdefault("account", registry)
    pipelines = {"fraud-detector": {"pipeline": "acme-fraud-detector-deploy", "registry_account": registry}}
    monkeypatch.setenv("PIPELINES", json.dumps(pipelines))
    monkeypatch.setenv("BASELINE_VARIABLES", json.dumps(sorted(REGISTERED_BASELINES)))
    codepipeline = boto3.client("codepipeline", region_name=REGION)
    monkeypatch.setattr(starter.boto3, "client", lambda service, **_: codepipeline)
    with Stubber(codepipeline) as stubber:
        stubber.add_response(
            "start_pipeline_execution",
            {"pipelineExecutionId": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"},
            {
                "name": "acme-fraud-detector-deploy",
                "variables": [
                    {"name": f"{prefix}{name}", "value": value}
                    for prefix in ("", "Champion")  # the model's first package is its own champion
                    for name, value in {"ModelPackageArn": arn, **dict(sorted(BASELINES.items()))}.items()
                ],
                "clientRequestToken": request["id"],
            },
        )
        assert starter.handler(request, LocalContext())["outcome"] == "started"
        stubber.assert_no_pending_responses()


def test_the_request_names_the_registered_baselines_by_the_variables_the_pipelines_declare():
    # The approval function's mapping of DriftCheckBaselines and the platform's contract
    # (ml_pipelines.templates.REGISTERED_BASELINES) must agree, names and files alike.
    assert set(BASELINES) == set(REGISTERED_BASELINES)
    for name, uri in BASELINES.items():
        assert uri == f"{RUN}/{REGISTERED_BASELINES[name]}"


def test_a_package_without_drift_check_baselines_is_sent_without_them(platform):
    arn = platform.register({"auc": "0.91"}, baselines={})
    platform.decide(arn, "Approved")
    platform.approval.handler(state_change(arn, "Approved"), LocalContext())
    (request,) = platform.messages(platform.deployments)
    assert request["detail"]["baselines"] == {}


def _raw(platform: Platform) -> list[str]:
    sqs = boto3.client("sqs", region_name=REGION)
    return [
        m["Body"]
        for m in sqs.receive_message(QueueUrl=platform.notifications, MaxNumberOfMessages=10).get("Messages", [])
    ]


def test_rejected_package_is_reported_and_nothing_deploys(platform):
    arn = platform.register()
    platform.decide(arn, "Rejected")

    assert platform.approval.handler(state_change(arn, "Rejected"), LocalContext()) == {"outcome": "rejected"}

    assert platform.messages(platform.deployments) == []
    (note,) = _raw(platform)
    assert "was rejected" in note
    with pytest.raises(platform.ssm.exceptions.ParameterNotFound):
        platform.ssm.get_parameter(Name="/acme/models/fraud-detector/approved-model-package")


@pytest.mark.parametrize(
    "metric,reason",
    [
        ({"auc": "0.72"}, "auc is 0.72, the project needs at least 0.8"),
        ({}, "it records no numeric auc"),
        ({"auc": "excellent"}, "it records no numeric auc"),
    ],
)
def test_approved_package_below_the_bar_is_refused_with_the_reason(platform, metric, reason):
    arn = platform.register(metric)
    platform.decide(arn, "Approved")

    result = platform.approval.handler(state_change(arn, "Approved"), LocalContext())

    assert result == {"outcome": "refused", "reason": reason}
    assert platform.messages(platform.deployments) == []
    (note,) = _raw(platform)
    assert reason in note


def test_minimized_metrics_must_stay_below_their_bound(platform):
    arn = platform.register({"rmse": "0.31"}, group="acme-churn-predictor")
    platform.decide(arn, "Approved")
    sample = state_change(arn, "Approved", ModelPackageGroupName="acme-churn-predictor")
    assert platform.approval.handler(sample, LocalContext())["reason"] == "rmse is 0.31, the project needs at most 0.25"


def test_an_approval_revoked_before_delivery_is_not_deployed(platform):
    arn = platform.register()
    platform.decide(arn, "Approved")
    platform.decide(arn, "Rejected")

    result = platform.approval.handler(state_change(arn, "Approved"), LocalContext())

    assert result == {"outcome": "refused", "reason": "its approval status is now Rejected"}
    assert platform.messages(platform.deployments) == []


def test_duplicate_delivery_deploys_once(platform):
    arn = platform.register()
    platform.decide(arn, "Approved")
    sample = state_change(arn, "Approved")

    first = platform.approval.handler(sample, LocalContext())
    second = platform.approval.handler(sample, LocalContext())

    assert first == second == {"outcome": "deployment-requested"}
    assert len(platform.messages(platform.deployments)) == 1


@pytest.mark.parametrize(
    "malformed",
    [
        {},
        {"detail": {"ModelPackageGroupName": GROUP}},
        {"source": "aws.sagemaker", "detail-type": "SageMaker Model Package State Change", "detail": "not an object"},
        ["a", "list"],
    ],
)
def test_malformed_events_are_ignored(platform, malformed):
    assert platform.approval.handler(malformed, LocalContext()) == {"outcome": "ignored"}
    assert platform.messages(platform.deployments) == []


def test_foreign_groups_sources_and_undecided_packages_are_ignored(platform):
    arn = platform.register()
    foreign_group = state_change(arn, "Approved", ModelPackageGroupName="someone-elses-group")
    forged_source = {**state_change(arn, "Approved"), "source": "custom.app"}
    pending = state_change(arn, "PendingManualApproval")
    for sample in (foreign_group, forged_source, pending):
        assert platform.approval.handler(sample, LocalContext()) == {"outcome": "ignored"}
    assert platform.messages(platform.deployments) == []
    assert _raw(platform) == []


def test_a_registration_is_ignored_without_any_aws_call(platform, monkeypatch):
    """Every new version arrives PendingManualApproval: those events make no client, not even
    the idempotency store's."""
    pending = state_change(platform.register(), "PendingManualApproval")

    def no_client(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an AWS client was made")

    monkeypatch.setattr(platform.approval.boto3, "client", no_client)
    assert platform.approval.handler(pending, LocalContext()) == {"outcome": "ignored"}
    assert platform.approval.idempotent.cache_info().currsize == 0


def _with_failing(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, service: str, operation: str, code: str
) -> Stubber:
    """Every client works against moto except `service`, whose next `operation` fails with `code`."""
    real_client: Any = boto3.client
    failing = real_client(service, region_name=REGION)
    stubber = Stubber(failing)
    stubber.add_client_error(operation, service_error_code=code, http_status_code=400)

    def client(name: str, **kwargs: Any) -> Any:
        return failing if name == service else real_client(name, region_name=REGION)

    monkeypatch.setattr(platform.approval.boto3, "client", client)
    stubber.activate()
    return stubber


def test_a_throttled_deployment_request_is_retried_and_deploys_once(platform, monkeypatch):
    arn = platform.register()
    platform.decide(arn, "Approved")
    sample = state_change(arn, "Approved")
    stubber = _with_failing(platform, monkeypatch, "events", "put_events", "ThrottlingException")

    with pytest.raises(ClientError, match="ThrottlingException"):
        platform.approval.handler(sample, LocalContext())  # Lambda retries the event
    assert platform.messages(platform.deployments) == []
    assert _raw(platform) == []  # nothing announced for a request that did not go out

    stubber.deactivate()
    monkeypatch.setattr(platform.approval.boto3, "client", BOTO3_CLIENT)  # the bus answers again
    assert platform.approval.handler(sample, LocalContext()) == {"outcome": "deployment-requested"}
    assert len(platform.messages(platform.deployments)) == 1


def test_access_denied_reading_the_package_changes_nothing_and_is_reported_by_failing(platform, monkeypatch):
    arn = platform.register()
    platform.decide(arn, "Approved")
    _with_failing(platform, monkeypatch, "sagemaker", "describe_model_package", "AccessDeniedException")

    with pytest.raises(ClientError, match="AccessDeniedException"):
        platform.approval.handler(state_change(arn, "Approved"), LocalContext())

    assert platform.messages(platform.deployments) == []
    with pytest.raises(platform.ssm.exceptions.ParameterNotFound):
        platform.ssm.get_parameter(Name="/acme/models/fraud-detector/approved-model-package")


@pytest.mark.parametrize(
    "damage",
    [
        {"ModelPackageVersion": "three"},  # wrongly typed
        {"ModelPackageArn": None},
        {"ModelPackageGroupName": 42},
    ],
)
def test_wrongly_typed_details_are_ignored(platform, damage):
    arn = platform.register()
    sample = state_change(arn, "Approved", **damage)
    assert platform.approval.handler(sample, LocalContext()) == {"outcome": "ignored"}
    assert platform.messages(platform.deployments) == []


def test_an_oversized_foreign_event_is_ignored(platform):
    arn = platform.register()
    sample = state_change(
        arn, "Approved", ModelPackageGroupName="elsewhere", CustomerMetadataProperties={"blob": "x" * 250_000}
    )
    assert platform.approval.handler(sample, LocalContext()) == {"outcome": "ignored"}


def test_a_truncated_event_is_ignored(platform):
    arn = platform.register()
    sample = state_change(arn, "Approved")
    del sample["detail"]["ModelPackageArn"]
    assert platform.approval.handler(sample, LocalContext()) == {"outcome": "ignored"}
