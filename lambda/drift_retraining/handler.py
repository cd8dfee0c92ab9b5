"""Drift retraining: starts a model's retraining pipeline when its endpoint's drift alarm fires.

Invoked by EventBridge in the model's ml-dev account with "CloudWatch Alarm State Change"
events that the production account forwards from the endpoints' drift alarms (composite
alarms named `<org>-<endpoint>-drift`). Each retraining alarm has a record, the SSM parameter
`<DRIFT_ALARM_RECORDS>/<alarm name>` its model-build stack publishes: its model, endpoint,
pipeline and cooldown. Alarms without a record are not the platform's to act on.

- Only a change to ALARM acts; OK and INSUFFICIENT_DATA are logged and ignored.
- The topic is told which alarm, metric and endpoint. Then the model's build pipeline starts
  with the reason as its RetrainingReason parameter, unless an execution is running or one
  started within the cooldown: then the topic is told why nothing started.
- A duplicate delivery is processed once (idempotency record keyed by the event id, with a
  TTL), and the start itself carries the event id as client request token.

Malformed events, and alarms the platform does not know, are logged and ignored. AWS errors
propagate, so Lambda retries and finally dead-letters the event; every step is safe to repeat.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

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

DETAIL_TYPE = "CloudWatch Alarm State Change"
RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})


@dataclass(frozen=True)
class AlarmChange:
    event_id: str
    account: str
    alarm: str
    state: str
    reason: str
    configuration: dict[str, Any]


def alarm_change(event: Any) -> AlarmChange | None:
    """The alarm state change CloudWatch reports, or None for any other event. (Checked by
    hand, not with the Powertools parser: pydantic's import alone is a fifth of the function's
    start-up.)"""
    if not isinstance(event, dict) or (event.get("source"), event.get("detail-type")) != (
        "aws.cloudwatch",
        DETAIL_TYPE,
    ):
        return None
    detail = event.get("detail")
    state = detail.get("state") if isinstance(detail, dict) else None
    if not isinstance(detail, dict) or not isinstance(state, dict):
        return None
    event_id, account = _text(event.get("id"), 2048), _text(event.get("account"), 12)
    alarm, value = _text(detail.get("alarmName"), 255), _text(state.get("value"), 64)
    reason, configuration = state.get("reason", ""), detail.get("configuration", {})
    if event_id is None or account is None or alarm is None or value is None:
        return None
    if not isinstance(reason, str) or not isinstance(configuration, dict):
        return None
    return AlarmChange(event_id, account, alarm, value, reason, configuration)


def _text(value: object, longest: int) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= longest else None


idempotency = IdempotencyConfig(event_key_jmespath="event_id", expires_after_seconds=7 * 24 * 3600)


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    idempotency.register_lambda_context(context)
    change = alarm_change(event)
    if change is None:
        logger.warning("ignored: not an alarm state change", extra={"keys": _keys(event)})
        return {"outcome": "ignored"}
    # What the event says decides first: half of all changes (every OK after an ALARM) need no AWS call.
    if change.state != "ALARM":
        logger.info("ignored: not a change to ALARM", extra={"state": change.state})
        return {"outcome": "ignored"}
    if _target(change.alarm) is None:
        logger.info("ignored: not a drift alarm of this account's models", extra={"alarm": change.alarm})
        return {"outcome": "ignored"}
    outcome: dict[str, str] = idempotent(retrain)(
        request={
            "event_id": change.event_id,
            "alarm": change.alarm,
            "reason": change.reason,
            "metrics": ", ".join(_metric_names(change.configuration)),
            "account": change.account,
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


def retrain(request: dict[str, str]) -> dict[str, str]:
    target = _target(request["alarm"])
    if target is None:  # the alarm left the config since the event was first seen
        return {"outcome": "ignored"}
    endpoint, pipeline = target["endpoint"], target["pipeline"]
    notify(
        f"Drift alarm {request['alarm']} on endpoint {endpoint} (account {request['account']}, "
        f"metrics {request['metrics'] or 'see the alarm'}): {request['reason']}"
    )
    sagemaker = boto3.client("sagemaker", config=RETRIES)
    blocker = _blocking_execution(sagemaker, pipeline, timedelta(hours=int(target["cooldown_hours"])))
    if blocker:
        notify(f"Retraining of {target['model']} not started: {blocker}.")
        return {"outcome": "skipped", "reason": blocker}
    reason = f"drift: {request['alarm']} on {endpoint}"[:1024]
    execution = sagemaker.start_pipeline_execution(
        PipelineName=pipeline,
        PipelineExecutionDisplayName=f"drift-{request['event_id'][:60]}",
        PipelineParameters=[{"Name": "RetrainingReason", "Value": reason}],
        ClientRequestToken=request["event_id"][:128].ljust(32, "0"),
    )
    notify(f"Retraining of {target['model']} started ({execution['PipelineExecutionArn']}): {reason}.")
    return {"outcome": "started", "execution": execution["PipelineExecutionArn"]}


ALARM_NAME = re.compile(r"[A-Za-z0-9._-]{1,255}")


def _target(alarm: str) -> dict[str, Any] | None:
    """The record of a retraining alarm, or None for an alarm the platform does not act on."""
    if not ALARM_NAME.fullmatch(alarm):
        return None
    try:
        record = boto3.client("ssm", config=RETRIES).get_parameter(Name=f"{os.environ['DRIFT_ALARM_RECORDS']}/{alarm}")
    except ClientError as error:
        if error.response["Error"]["Code"] == "ParameterNotFound":
            return None
        raise
    target: dict[str, Any] = json.loads(record["Parameter"]["Value"])
    return target


def _blocking_execution(sagemaker: Any, pipeline: str, cooldown: timedelta) -> str | None:
    """Why a new execution must not start now, or None."""
    recent = sagemaker.list_pipeline_executions(
        PipelineName=pipeline, SortBy="CreationTime", SortOrder="Descending", MaxResults=20
    )["PipelineExecutionSummaries"]
    running = [e for e in recent if e.get("PipelineExecutionStatus") in ("Executing", "Stopping")]
    if running:
        return f"execution {running[0]['PipelineExecutionArn']} is still running"
    now = datetime.now(UTC)
    within = [e for e in recent if now - e["StartTime"] < cooldown]
    if within:
        return f"an execution started at {within[0]['StartTime']:%Y-%m-%d %H:%M} UTC, within the {cooldown} cooldown"
    return None


def notify(message: str) -> None:
    boto3.client("sns", config=RETRIES).publish(
        TopicArn=os.environ["TOPIC_ARN"], Subject="Model drift", Message=message[:262144]
    )
    logger.info(message)


def _metric_names(configuration: dict[str, Any]) -> list[str]:
    names = []
    for query in configuration.get("metrics", []) if isinstance(configuration.get("metrics"), list) else []:
        metric = query.get("metricStat", {}).get("metric", {}) if isinstance(query, dict) else {}
        if isinstance(metric, dict) and metric.get("name"):
            names.append(str(metric["name"]))
    return names


def _keys(event: Any) -> list[str]:
    return sorted(event) if isinstance(event, dict) else [type(event).__name__]
