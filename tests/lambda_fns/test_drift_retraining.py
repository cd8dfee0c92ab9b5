"""The drift function against moto (SageMaker Pipelines, SNS, SQS, DynamoDB), fed the
CloudWatch Alarm State Change event of AWS's documentation as the production account
forwards it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from tests.lambda_fns.conftest import LocalContext, event, load_handler

REGION = "eu-west-1"
PIPELINE = "acme-fraud-detector-build"
ALARM = "acme-fraud-detector-drift-c0"
RECORDS = "/acme/registry/drift-alarms"
"""Where the model-build stacks publish each retraining alarm's record (stacks.model_build_stack)."""
ALARMS = {
    ALARM: {"model": "fraud-detector", "endpoint": "acme-fraud-detector", "pipeline": PIPELINE, "cooldown_hours": 24}
}


@dataclass
class Account:
    drift: ModuleType
    sagemaker: Any
    notifications: str

    def executions(self) -> list[dict[str, Any]]:
        summaries: list[dict[str, Any]] = self.sagemaker.list_pipeline_executions(PipelineName=PIPELINE)[
            "PipelineExecutionSummaries"
        ]
        return summaries

    def messages(self) -> list[str]:
        sqs = boto3.client("sqs", region_name=REGION)
        received = sqs.receive_message(QueueUrl=self.notifications, MaxNumberOfMessages=10).get("Messages", [])
        return [message["Body"] for message in received]


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="drift")["QueueUrl"]
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="drift")["TopicArn"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        definition = {
            "Version": "2020-12-01",
            "Parameters": [{"Name": "RetrainingReason", "Type": "String", "DefaultValue": "manual"}],
            "Steps": [],
        }
        sagemaker.create_pipeline(
            PipelineName=PIPELINE,
            PipelineDefinition=json.dumps(definition),
            RoleArn="arn:aws:iam::555555555555:role/acme-team-fraud-pipeline",
        )
        publish(ALARMS[ALARM])
        for name, value in {
            "DRIFT_ALARM_RECORDS": RECORDS,
            "TOPIC_ARN": topic,
            "IDEMPOTENCY_TABLE": "idempotency",
            "POWERTOOLS_SERVICE_NAME": "drift_retraining",
        }.items():
            monkeypatch.setenv(name, value)
        yield Account(load_handler("drift_retraining"), sagemaker, queue)


def publish(record: dict[str, Any]) -> None:
    """The alarm's record, as its model-build stack publishes it."""
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=f"{RECORDS}/{ALARM}", Value=json.dumps(record), Type="String", Overwrite=True
    )


def alarm(**changes: Any) -> dict[str, Any]:
    """The sample, with top-level keys replaced and keys of `detail` merged (a non-object replaces it)."""
    sample = event("cloudwatch_alarm_state_change")
    detail = changes.pop("detail", {})
    return {**sample, **changes, "detail": {**sample["detail"], **detail} if isinstance(detail, dict) else detail}


def test_a_drift_alarm_notifies_and_starts_retraining_with_the_reason(account):
    outcome = account.drift.handler(alarm(), LocalContext())

    assert outcome["outcome"] == "started"
    (execution,) = account.executions()
    parameters = account.sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=execution["PipelineExecutionArn"]
    )["PipelineParameters"]
    assert parameters == [{"Name": "RetrainingReason", "Value": f"drift: {ALARM} on acme-fraud-detector"}]
    alarm_note, started = account.messages()
    assert ALARM in alarm_note and "acme-fraud-detector" in alarm_note
    assert "feature_baseline_drift__c0" in alarm_note and "account 777777777777" in alarm_note
    assert "Retraining of fraud-detector started" in started


def test_a_return_to_ok_starts_nothing(account):
    ok = alarm(detail={"state": {"value": "OK", "reason": "back below"}})
    assert account.drift.handler(ok, LocalContext()) == {"outcome": "ignored"}
    assert account.executions() == []
    assert account.messages() == []


def test_a_return_to_ok_is_ignored_without_any_aws_call(account, monkeypatch):
    """Every ALARM is followed by an OK: those cold starts make no client, not even the
    idempotency store's."""

    def no_client(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an AWS client was made")

    monkeypatch.setattr(account.drift.boto3, "client", no_client)
    ok = alarm(detail={"state": {"value": "OK", "reason": "back below"}})
    assert account.drift.handler(ok, LocalContext()) == {"outcome": "ignored"}
    assert account.drift.idempotent.cache_info().currsize == 0


def test_a_duplicate_delivery_starts_one_execution(account):
    first = account.drift.handler(alarm(), LocalContext())
    second = account.drift.handler(alarm(), LocalContext())
    assert first == second
    assert len(account.executions()) == 1


def test_within_the_cooldown_a_new_alarm_starts_nothing_and_says_why(account):
    account.drift.handler(alarm(), LocalContext())
    account.messages()
    outcome = account.drift.handler(alarm(id="7d2f5a0e-1b4c-4e3a-9f8d-2c6b0a1e5d44"), LocalContext())
    assert outcome["outcome"] == "skipped"
    assert "within the 1 day, 0:00:00 cooldown" in outcome["reason"]
    assert len(account.executions()) == 1
    assert any("not started" in message for message in account.messages())


def test_a_running_execution_blocks_a_new_one(account, monkeypatch):
    publish({**ALARMS[ALARM], "cooldown_hours": 0})
    account.drift.handler(alarm(), LocalContext())
    (running,) = account.executions()
    # moto finishes executions at once; mark this one as still running, as SageMaker would show it.
    pipeline = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].pipelines[PIPELINE]
    pipeline.pipeline_executions[running["PipelineExecutionArn"]].pipeline_execution_status = "Executing"
    outcome = account.drift.handler(alarm(id="7d2f5a0e-1b4c-4e3a-9f8d-2c6b0a1e5d44"), LocalContext())
    assert outcome == {"outcome": "skipped", "reason": f"execution {running['PipelineExecutionArn']} is still running"}


def test_without_a_cooldown_each_new_alarm_retrains(account, monkeypatch):
    publish({**ALARMS[ALARM], "cooldown_hours": 0})
    account.drift.handler(alarm(), LocalContext())
    account.drift.handler(alarm(id="7d2f5a0e-1b4c-4e3a-9f8d-2c6b0a1e5d44"), LocalContext())
    assert len(account.executions()) == 2


@pytest.mark.parametrize(
    "changes",
    [
        {"detail": {"alarmName": "acme-other-endpoint-drift"}},  # not an alarm of this account's models
        {"source": "aws.sagemaker"},
        {"detail-type": "CloudWatch Alarm Configuration Change"},
        {"detail": {"state": "ALARM"}},
        {"detail": {"alarmName": ""}},
        {"detail": None},
        {"id": 12},
    ],
)
def test_unknown_alarms_and_malformed_events_are_ignored(account, changes):
    assert account.drift.handler(alarm(**changes), LocalContext()) == {"outcome": "ignored"}
    assert account.executions() == []


@pytest.mark.parametrize("hostile", [None, [], "ALARM", {"detail": {"alarmName": "x" * 100_000}}])
def test_hostile_events_are_ignored(account, hostile):
    assert account.drift.handler(hostile, LocalContext()) == {"outcome": "ignored"}


@pytest.mark.parametrize("code", ["ThrottlingException", "AccessDeniedException"])
def test_aws_errors_propagate_so_lambda_retries_and_nothing_is_recorded_as_done(account, monkeypatch, code):
    real_client = account.drift.boto3.client
    failing = boto3.client("sagemaker", region_name=REGION)

    def client(service: str, **options: Any) -> Any:
        return failing if service == "sagemaker" else real_client(service, **options)

    monkeypatch.setattr(account.drift.boto3, "client", client)
    with Stubber(failing) as stubber:
        stubber.add_client_error("list_pipeline_executions", service_error_code=code)
        with pytest.raises(failing.exceptions.ClientError):
            account.drift.handler(alarm(), LocalContext())
    monkeypatch.setattr(account.drift.boto3, "client", real_client)
    # The failed attempt left no idempotency record: the retry starts the retraining.
    assert account.drift.handler(alarm(), LocalContext())["outcome"] == "started"
