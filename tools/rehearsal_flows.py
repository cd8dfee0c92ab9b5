"""The flows the local rehearsal drives against the emulator, across three accounts:

- approval (ml-dev): a package of the model is registered and approved; the approval function
  records it and puts the deployment request on shared-services' deployment bus;
- deployment (shared-services): the request reaches the deployment bus's rule; the starter
  starts the model's deployment pipeline with the package and its baselines;
- drift (ml-prod, then ml-dev): the model's drift alarm goes into ALARM in production; the
  forwarding rule sends the change to ml-dev's drift bus, whose rule reaches the drift
  function, which starts the model's retraining, once within the cooldown.

Each handler runs in this process with its deployed function's environment, against the
emulator, acting in its function's account. Where moto cannot carry an event between accounts
the rehearsal relays it, and the report says so (tools.rehearsal_report).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO, cast

import boto3
from moto.events.models import EventPattern
from moto.events.utils import EventMessageType

from ml_pipelines.templates import REGISTERED_BASELINES, RUNS
from proofs import network, quotas, references
from proofs.deploy import actions, escalation, permissions
from proofs.findings import Finding, failures
from proofs.flows.model import Flow, HopResult
from stacks import naming
from stacks.config import OrgConfig, Role
from stacks.config.models import Endpoint, Model
from stacks.monitoring import drift_alarm_records
from tools.emulator import AccountSessions
from tools.local_lambda import LocalContext, load_handler
from tools.rehearsal_report import (
    BUS_IN_CALLER_ACCOUNT,
    CROSS_ACCOUNT_DELIVERY,
    NO_ACCOUNT_FIELD,
    NO_ALARM_EVENTS,
    NO_AUTHORIZATION,
    NO_CAPABILITIES,
    NO_EXECUTION_FILTER,
    NO_EXECUTION_ROLE,
    NO_LAMBDA_RUNTIME,
    NO_NETWORK,
    NO_PIPELINE_RUN,
    NO_QUOTAS,
    NO_REFERENCE_CHECKS,
    NO_REQUEST_TOKEN,
    NO_SAGEMAKER_RUNS,
    Limit,
    RehearsalError,
    Report,
)

# -- what is rehearsed ------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The model whose lifecycle is rehearsed, and the accounts it crosses."""

    development: str
    shared_services: str
    production: str
    model: Model
    endpoint: Endpoint
    alarm: str
    """The drift alarm raised: the first by name of the model's retraining alarms."""

    @property
    def accounts(self) -> list[str]:
        return [self.development, self.shared_services, self.production]


def rehearsal_plan(config: OrgConfig) -> Plan:
    """The first ml-dev account with a model whose production endpoint has a retraining alarm,
    and the first such alarm by name; refused if those accounts are not three."""
    shared_services, _ = config.account_with(Role.SHARED_SERVICES)
    for development, _ in config.accounts_with(Role.ML_DEV):
        models = [model for model in config.models if config.teams[model.team].accounts.dev == development]
        records = drift_alarm_records(config, models)
        if not records:
            continue
        alarm = min(records)
        model = next(model for model in models if model.name == records[alarm]["model"])
        org = config.organization.name
        endpoint = next(e for e in config.endpoints if naming.endpoint_name(org, e.name) == records[alarm]["endpoint"])
        production = config.teams[model.team].accounts.prod
        plan = Plan(development, shared_services, production, model, endpoint, alarm)
        if len(set(plan.accounts)) < len(plan.accounts):
            raise RehearsalError(
                f"{model.name}'s development, shared-services and production accounts are {', '.join(plan.accounts)}: "
                "the rehearsal crosses three accounts and does not yet rehearse roles that share one"
            )
        return plan
    raise RehearsalError("the config has no ml-dev account with a model whose production endpoint retrains on drift")


@dataclass
class Rehearsal:
    """What the flows share: the config, the plan, the accounts' sessions, the report, the
    handlers' log, the stacks deployed in each account, and the handlers run."""

    config: OrgConfig
    plan: Plan
    sessions: AccountSessions
    report: Report
    log: TextIO
    stacks: dict[str, list[str]]
    """Account name -> the names of its deployed stacks."""
    handlers: list[str] = field(default_factory=list)
    """The Lambda handlers run in this process, by folder, in the order first run."""

    @contextmanager
    def acting_in(self, account: str) -> Iterator[str]:
        """Clients and steps act in `account` while inside; yields its id."""
        previous = self.report.acting_as
        with self.sessions.use(account) as account_id:
            self.report.acting_as = account
            try:
                yield account_id
            finally:
                self.report.acting_as = previous

    @property
    def organization(self) -> str:
        return self.config.organization.name


# -- the handlers and the rules ---------------------------------------------------------------


@dataclass(frozen=True)
class DeployedFunction:
    name: str
    arn: str
    environment: dict[str, str]


def stack_resources(stack_name: str) -> Iterator[dict[str, Any]]:
    for page in boto3.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=stack_name):
        yield from page["StackResourceSummaries"]


def deployed_functions(stack_names: list[str]) -> list[DeployedFunction]:
    functions = boto3.client("lambda")
    found = []
    for stack_name in stack_names:
        for summary in stack_resources(stack_name):
            if summary["ResourceType"] == "AWS::Lambda::Function":
                configuration = functions.get_function_configuration(FunctionName=summary["PhysicalResourceId"])
                variables = configuration.get("Environment", {}).get("Variables", {})
                found.append(DeployedFunction(configuration["FunctionName"], configuration["FunctionArn"], variables))
    return found


def function_with(functions: list[DeployedFunction], variable: str) -> DeployedFunction:
    for function in functions:
        if variable in function.environment:
            return function
    raise RehearsalError(f"no deployed function has the {variable} setting")


@contextmanager
def function_environment(function: DeployedFunction) -> Iterator[None]:
    """The deployed function's environment variables, over the emulator's, while it runs."""
    saved = dict(os.environ)
    os.environ.update(function.environment)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def invoke_locally(
    rehearsal: Rehearsal, folder: str, function: DeployedFunction, event: dict[str, Any], times: int = 1
) -> list[dict[str, Any]]:
    """Runs the handler `times` with the event; its log lines go to the rehearsal's log, which
    stays open for the whole rehearsal (Powertools keeps the stream of a service's first logger)."""
    if folder not in rehearsal.handlers:
        rehearsal.handlers.append(folder)
    with function_environment(function), redirect_stdout(rehearsal.log):
        module = load_handler(folder)
        context = LocalContext(function_name=function.name, invoked_function_arn=function.arn)
        return [module.handler(event, context) for _ in range(times)]


@contextmanager
def calls_recorded(service: str, operation: str) -> Iterator[list[dict[str, Any]]]:
    """The parameters of every `operation` call that clients of boto3's default session (made
    inside, as the handlers make theirs) send: what a handler asked for, where the emulator
    ignores part of it."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    event = f"before-parameter-build.{service}.{operation}"
    session.events.register(event, record)
    try:
        yield calls
    finally:
        session.events.unregister(event, record)


def matches(pattern: str | None, event: dict[str, Any]) -> bool:
    """Whether a rule's pattern matches the event, by moto's matcher (its server does not
    implement TestEventPattern)."""
    return bool(EventPattern.load(pattern).matches_event(cast(EventMessageType, event)))


def rule_matching(function: DeployedFunction, event: dict[str, Any]) -> str:
    """The deployed rule that targets `function` and whose pattern matches `event`: bus/rule."""
    events = boto3.client("events")
    for bus in events.list_event_buses()["EventBuses"]:
        for rule in events.list_rules(EventBusName=bus["Name"])["Rules"]:
            targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus["Name"])["Targets"]
            if any(target["Arn"] == function.arn for target in targets) and matches(rule.get("EventPattern"), event):
                return f"{bus['Name']}/{rule['Name']}"
    raise RehearsalError(f"no deployed rule that targets {function.name} matches the event")


def forwarding_rule(event: dict[str, Any], bus_arn: str) -> tuple[str, dict[str, Any]]:
    """The deployed rule whose pattern matches `event` and that sends it to the event bus
    `bus_arn`: (bus/rule, the target). Raises, naming where the matching rules send it, if none."""
    events = boto3.client("events")
    elsewhere = []
    for bus in events.list_event_buses()["EventBuses"]:
        for rule in events.list_rules(EventBusName=bus["Name"])["Rules"]:
            if not matches(rule.get("EventPattern"), event):
                continue
            for target in events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus["Name"])["Targets"]:
                if target["Arn"] == bus_arn:
                    return f"{bus['Name']}/{rule['Name']}", target
                elsewhere.append(f"{bus['Name']}/{rule['Name']} sends it to {target['Arn']}")
    raise RehearsalError(f"no deployed rule sends the event to {bus_arn}" + "".join(f"; {e}" for e in elsewhere))


@contextmanager
def recorder(kind: str, arn_or_name: str) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """An SQS queue that records what a topic publishes or a bus receives; yields its reader."""
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"rehearsal-{kind}-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    if kind == "topic":
        boto3.client("sns").subscribe(TopicArn=arn_or_name, Protocol="sqs", Endpoint=queue_arn)
    else:
        events = boto3.client("events")
        events.put_rule(Name="rehearsal-recorder", EventBusName=arn_or_name, EventPattern='{"source":[{"prefix":""}]}')
        events.put_targets(Rule="rehearsal-recorder", EventBusName=arn_or_name, Targets=[{"Id": "q", "Arn": queue_arn}])

    def read() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(message["Body"]) for message in messages]

    yield read


def eventbridge_event(
    source: str, detail_type: str, *, account: str, region: str, resource: str, detail: dict[str, Any], time: str = ""
) -> dict[str, Any]:
    """An event as EventBridge delivers it from an AWS service."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": time or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [resource],
        "detail": detail,
    }


# -- approval (ml-dev) ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeploymentRequest:
    package_arn: str
    bus_arn: str
    """The bus the approval function puts requests on (its DEPLOYMENT_BUS_ARN)."""
    event: dict[str, Any]
    """The request as EventBridge has it on the sender's side (moto stamps id, account, time)."""


def registered_baselines(config: OrgConfig, account: str, region: str, model: Model, run: str) -> dict[str, Any]:
    """DriftCheckBaselines as a run of the model-build pipeline registers them: below the run's
    prefix of the registry bucket, at ml_pipelines.templates.REGISTERED_BASELINES, under the
    DescribeModelPackage fields the approval function reads (its DRIFT_CHECK_BASELINES). The
    Clarify ones only with the model's bias_check. No files: the pipeline did not run."""
    bucket = naming.model_artifacts_bucket(config.organization.name, account, region)
    fields: dict[str, tuple[str, str]] = load_handler("model_approval").DRIFT_CHECK_BASELINES
    baselines: dict[str, Any] = {}
    for name, path in REGISTERED_BASELINES.items():
        kind, item = fields[name]
        if kind != "ModelDataQuality" and model.bias_check is None:
            continue
        uri = f"s3://{bucket}/{model.name}/{RUNS}/{run}/{path}"
        baselines.setdefault(kind, {})[item] = {"ContentType": "application/json", "S3Uri": uri}
    return baselines


def approval_flow(rehearsal: Rehearsal) -> DeploymentRequest:
    """Register, approve, and let the approval function request the deployment."""
    plan, report = rehearsal.plan, rehearsal.report
    with rehearsal.acting_in(plan.development) as account:
        approval = function_with(deployed_functions(rehearsal.stacks[plan.development]), "MODEL_GROUP_RECORDS")
        group = naming.model_package_group_name(rehearsal.organization, plan.model.name)
        record = f"{approval.environment['MODEL_GROUP_RECORDS']}/{group}"
        project = json.loads(boto3.client("ssm").get_parameter(Name=record)["Parameter"]["Value"])
        sagemaker = boto3.client("sagemaker")
        value = project["threshold"] + (0.05 if project["direction"] == "maximize" else -0.05)
        metadata = {project["metric"]: f"{value:.4f}", "RetrainingReason": "rehearsal"}
        run = uuid.uuid4().hex[:12]
        baselines = registered_baselines(rehearsal.config, account, approval.arn.split(":")[3], plan.model, run)
        package_arn = sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription="Registered by the local rehearsal",
            ModelApprovalStatus="PendingManualApproval",
            CustomerMetadataProperties=metadata,
            DriftCheckBaselines=baselines,
        )["ModelPackageArn"]
        count = sum(len(items) for items in baselines.values())
        report.record(
            "ok",
            "model package registered, pending approval",
            f"{package_arn} ({project['metric']} {value:.4f}; {count} drift-check baselines under {RUNS}/{run}/)",
        )
        # A reviewer's UpdateModelPackage sends only the status; moto's would then clear the metadata.
        sagemaker.update_model_package(
            ModelPackageArn=package_arn, ModelApprovalStatus="Approved", CustomerMetadataProperties=metadata
        )
        package = sagemaker.describe_model_package(ModelPackageName=package_arn)
        report.record(
            "ok",
            "model package approved",
            f"status {package['ModelPackageStatus']} (the update repeats the metadata, which moto would clear)",
        )
        event = state_change_event(package)
        report.record("ok", "approval rule matches SageMaker's event", rule_matching(approval, event))

        bus_arn = approval.environment["DEPLOYMENT_BUS_ARN"]
        bus_name = bus_arn.split("/")[-1]
        boto3.client("events").create_event_bus(Name=bus_name)
        report.record(
            "stand-in",
            f"deployment bus {bus_name} recorded in {plan.development}",
            f"the function puts requests on {bus_arn}",
            BUS_IN_CALLER_ACCOUNT,
        )
        with recorder("bus", bus_name) as requests, recorder("topic", approval.environment["TOPIC_ARN"]) as notices:
            outcomes = invoke_locally(rehearsal, "model_approval", approval, event, times=2)
            if outcomes[0].get("outcome") != "deployment-requested":
                raise RehearsalError(f"the approval function answered {outcomes[0]}")
            report.record("ok", "approval function ran against the emulator", json.dumps(outcomes[0]))
            parameter = f"{approval.environment['PARAMETER_PREFIX']}/{project['model']}/approved-model-package"
            recorded = boto3.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
            if recorded != package_arn:
                raise RehearsalError(f"{parameter} holds {recorded}, not the approved package")
            report.record("ok", "approved package recorded", f"{parameter} = {recorded}")
            delivered = requests()
            if len(delivered) != 1 or delivered[0]["detail"]["modelPackageArn"] != package_arn:
                raise RehearsalError(f"expected one deployment request, the bus received {delivered}")
            report.record("ok", "deployment requested", json.dumps(delivered[0]["detail"]))
            report.record("ok", "duplicate delivery of the event changed nothing", json.dumps(outcomes[1]))
            report.record("ok", "reviewers notified", "; ".join(notice["Message"] for notice in notices()))
    return DeploymentRequest(package_arn, bus_arn, delivered[0])


def state_change_event(package: dict[str, Any]) -> dict[str, Any]:
    """SageMaker's "Model Package State Change" event: DescribeModelPackage's fields as detail."""
    arn = package["ModelPackageArn"]
    detail = json.loads(json.dumps({k: v for k, v in package.items() if k != "ResponseMetadata"}, default=str))
    return eventbridge_event(
        "aws.sagemaker",
        "SageMaker Model Package State Change",
        account=arn.split(":")[4],
        region=arn.split(":")[3],
        resource=arn,
        detail=detail,
    )


# -- deployment (shared-services) -------------------------------------------------------------


@dataclass(frozen=True)
class Execution:
    pipeline: str
    execution_id: str
    variables: dict[str, str]


def deployment_crossing(rehearsal: Rehearsal, request: DeploymentRequest) -> Execution:
    """The request crosses to shared-services, where the starter starts the model's pipeline."""
    plan, report = rehearsal.plan, rehearsal.report
    sender = rehearsal.config.accounts[plan.development].id
    event = {**request.event, "account": request.event.get("account", sender)}
    with rehearsal.acting_in(plan.shared_services):
        bus = boto3.client("events").describe_event_bus(Name=naming.deployment_bus_name(rehearsal.organization))
        if bus["Arn"] != request.bus_arn:
            raise RehearsalError(f"the approval function puts requests on {request.bus_arn}, not on {bus['Arn']}")
        report.record(
            "relayed",
            f"deployment request carried to {bus['Name']}",
            f"event {event['id']} of {plan.development}, to {bus['Arn']}",
            CROSS_ACCOUNT_DELIVERY,
        )
        if "account" not in request.event:
            report.record("relayed", "the request's account set to its sender's", sender, NO_ACCOUNT_FIELD)
        starter = function_with(deployed_functions(rehearsal.stacks[plan.shared_services]), "PIPELINES")
        report.record("ok", "deployment rule matches the request", rule_matching(starter, event))
        target = json.loads(starter.environment["PIPELINES"])[plan.model.name]
        pipeline = target["pipeline"]
        with calls_recorded("codepipeline", "StartPipelineExecution") as starts:
            outcomes = invoke_locally(rehearsal, "deployment_starter", starter, event, times=2)
        if outcomes[0].get("outcome") != "started":
            raise RehearsalError(f"the deployment starter answered {outcomes[0]}")
        first = outcomes[0]["execution"]
        execution = boto3.client("codepipeline").get_pipeline_execution(
            pipelineName=pipeline, pipelineExecutionId=first
        )
        variables = {v["name"]: v["resolvedValue"] for v in execution["pipelineExecution"]["variables"]}
        if variables.get("ModelPackageArn") != request.package_arn:
            raise RehearsalError(f"{pipeline} started with {variables}, not with the approved package")
        baselines = sorted(name for name in variables if name in REGISTERED_BASELINES)
        report.record(
            "ok",
            f"deployment pipeline {pipeline} started",
            f"execution {first}: ModelPackageArn={variables['ModelPackageArn']}, baselines {', '.join(baselines)}",
        )
        if target.get("promotes"):
            champion = variables.get("ChampionModelPackageArn")
            if champion != request.package_arn:
                raise RehearsalError(f"the first deployment's champion is {champion}, not the package itself")
            report.record(
                "ok", "the package is its own champion on the first deployment", f"ChampionModelPackageArn={champion}"
            )
            report.record("not-shown", "the champion of a later deployment", "", NO_EXECUTION_FILTER)
        tokens = [call.get("clientRequestToken") for call in starts]
        if tokens != [event["id"]] * len(outcomes):
            raise RehearsalError(f"the starts carried the client request tokens {tokens}, not the event id")
        second = outcomes[1].get("execution")
        if second == first:
            report.record("ok", "duplicate delivery started nothing new", f"execution {first} again")
        else:
            report.record(
                "not-shown",
                "duplicate delivery starts no second execution",
                f"both starts carried client request token {event['id']} (the event id); moto started {second} too",
                NO_REQUEST_TOKEN,
            )
        status = execution["pipelineExecution"]["status"]
        report.record("not-shown", f"{pipeline}'s stages", f"execution {first} is {status} at once", NO_PIPELINE_RUN)
    return Execution(pipeline, first, variables)


VARIABLE = re.compile(r"#\{variables\.([A-Za-z0-9_]+)\}")


def production_parameters(rehearsal: Rehearsal, execution: Execution, stack_name: str) -> dict[str, str]:
    """The parameters the pipeline's first action that deploys `stack_name` to the production
    account passes: its ParameterOverrides, with the execution's variables."""
    plan = rehearsal.plan
    production = rehearsal.config.accounts[plan.production].id
    with rehearsal.acting_in(plan.shared_services):
        declaration = boto3.client("codepipeline").get_pipeline(name=execution.pipeline)["pipeline"]
        action, parameters = production_action(declaration, stack_name, production, execution)
        rehearsal.report.record("ok", f"{stack_name} takes the parameters of {execution.pipeline}'s {action}")
    return parameters


def production_action(
    declaration: dict[str, Any], stack_name: str, account: str, execution: Execution
) -> tuple[str, dict[str, str]]:
    """The first CloudFormation action of the pipeline's declaration that deploys `stack_name`
    as a role of `account`: (stage/action, its ParameterOverrides with the execution's values)."""
    for stage in declaration["stages"]:
        for action in stage["actions"]:
            configuration = action.get("configuration", {})
            deploys = action["actionTypeId"]["provider"] == "CloudFormation"
            if deploys and configuration.get("StackName") == stack_name and f":{account}:" in action["roleArn"]:
                overrides: dict[str, str] = json.loads(configuration.get("ParameterOverrides", "{}"))
                missing = sorted(
                    {m for v in overrides.values() for m in VARIABLE.findall(v)} - set(execution.variables)
                )
                if missing:
                    raise RehearsalError(f"{action['name']} reads variables the execution lacks: {missing}")
                parameters = {
                    name: VARIABLE.sub(lambda found: execution.variables[found.group(1)], value)
                    for name, value in overrides.items()
                }
                return f"{stage['name']}/{action['name']}", parameters
    raise RehearsalError(f"no action of {execution.pipeline} deploys {stack_name} to {account}")


# -- drift (ml-prod, then ml-dev) -------------------------------------------------------------


def drift_crossing(rehearsal: Rehearsal) -> None:
    """Raise the drift alarm in production; it crosses to ml-dev, where retraining starts."""
    plan, report = rehearsal.plan, rehearsal.report
    with rehearsal.acting_in(plan.development):
        drift_bus = boto3.client("events").describe_event_bus(Name=naming.drift_bus_name(rehearsal.organization))
    with rehearsal.acting_in(plan.production):
        first = raise_alarm(plan.alarm)
        report.record(
            "ok", "drift alarm raised", f"{plan.alarm}: {first['detail']['state']['reason']}", NO_ALARM_EVENTS
        )
        rule, target = forwarding_rule(first, drift_bus["Arn"])
        role = boto3.client("iam").get_role(RoleName=target["RoleArn"].split("/")[-1])["Role"]["RoleName"]
        report.record(
            "ok", "forwarding rule matches the alarm's change", f"{rule} sends it to {target['Arn']} as {role}"
        )
        boto3.client("cloudwatch").set_alarm_state(AlarmName=plan.alarm, StateValue="OK", StateReason="recovered")
        second = raise_alarm(plan.alarm)
    with rehearsal.acting_in(plan.development):
        report.record(
            "relayed",
            f"drift alarm carried to {drift_bus['Name']}",
            f"event {first['id']} of {plan.production} ({first['account']}), to {drift_bus['Arn']}",
            CROSS_ACCOUNT_DELIVERY,
        )
        retraining(rehearsal, first, second)


def raise_alarm(alarm: str) -> dict[str, Any]:
    """Sets the alarm to ALARM in the emulator, and returns the event CloudWatch sends for the
    change ("CloudWatch Alarm State Change", AWS's documented shape) from its state there."""
    cloudwatch = boto3.client("cloudwatch")
    alarms = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    if not alarms:
        raise RehearsalError(f"no alarm {alarm} in the emulator")
    before = alarms[0]
    cloudwatch.set_alarm_state(
        AlarmName=alarm, StateValue="ALARM", StateReason=f"Threshold Crossed: {before['MetricName']} (rehearsal)"
    )
    after = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]
    arn = after["AlarmArn"]

    def state(alarm: dict[str, Any]) -> dict[str, str]:
        return {"value": alarm["StateValue"], "reason": alarm["StateReason"], "timestamp": _iso(alarm)}

    metric = {
        "id": "m1",
        "metricStat": {
            "metric": {
                "namespace": after["Namespace"],
                "name": after["MetricName"],
                "dimensions": {d["Name"]: d["Value"] for d in after.get("Dimensions", [])},
            },
            "period": after["Period"],
            "stat": after["Statistic"],
        },
        "returnData": True,
    }
    return eventbridge_event(
        "aws.cloudwatch",
        "CloudWatch Alarm State Change",
        account=arn.split(":")[4],
        region=arn.split(":")[3],
        resource=arn,
        time=_iso(after),
        detail={
            "alarmName": alarm,
            "state": state(after),
            "previousState": state(before),
            "configuration": {"description": after.get("AlarmDescription", ""), "metrics": [metric]},
        },
    )


def _iso(alarm: dict[str, Any]) -> str:
    updated = alarm.get("StateUpdatedTimestamp")
    return (updated if isinstance(updated, datetime) else datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def retraining(rehearsal: Rehearsal, first: dict[str, Any], second: dict[str, Any]) -> None:
    """The drift bus's rule and function in ml-dev: retraining starts once within the cooldown."""
    report = rehearsal.report
    drift = function_with(deployed_functions(rehearsal.stacks[rehearsal.plan.development]), "DRIFT_ALARM_RECORDS")
    report.record("ok", "drift rule matches CloudWatch's event", rule_matching(drift, first))
    target = json.loads(
        boto3.client("ssm").get_parameter(Name=f"{drift.environment['DRIFT_ALARM_RECORDS']}/{rehearsal.plan.alarm}")[
            "Parameter"
        ]["Value"]
    )
    with recorder("topic", drift.environment["TOPIC_ARN"]) as notices:
        started = invoke_locally(rehearsal, "drift_retraining", drift, first)[0]
        if started.get("outcome") != "started":
            raise RehearsalError(f"the drift function answered {started}")
        sagemaker = boto3.client("sagemaker")
        parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=started["execution"])
        reason = {p["Name"]: p["Value"] for p in parameters["PipelineParameters"]}.get("RetrainingReason")
        report.record("ok", f"retraining pipeline {target['pipeline']} started", f"RetrainingReason={reason}")
        again = invoke_locally(rehearsal, "drift_retraining", drift, second)[0]
        if again.get("outcome") != "skipped":
            raise RehearsalError(f"a second alarm inside the cooldown answered {again}")
        report.record("ok", "a second alarm inside the cooldown started nothing", again["reason"])
        report.record("ok", "model owners notified", f"{len(notices())} messages on the alerts topic")


# -- what the emulator does not enforce or run -----------------------------------------------


OFFLINE_PROOFS: tuple[tuple[str, Limit, tuple[str, ...]], ...] = (
    ("CloudFormation's execution role", NO_EXECUTION_ROLE, (permissions.PROOF, escalation.PROOF)),
    ("CloudFormation's capabilities", NO_CAPABILITIES, (actions.PROOF,)),
    ("references across accounts", NO_REFERENCE_CHECKS, (references.PROOF,)),
    ("the network path", NO_NETWORK, (network.PROOF,)),
    ("quotas", NO_QUOTAS, (quotas.PROOF,)),
)
"""What the emulator does not enforce in any step, and the deploy preflight's proofs that decide it."""
SHOWN_FAILURES = 3
"""Failures a verdict names; `make preflight` prints every one, with its rule and fix."""


def preflight_verdicts(report: Report, accounts: list[str], findings: list[Finding]) -> None:
    """Records, for each of OFFLINE_PROOFS, the preflight's findings in `accounts`: a failure
    fails the rehearsal, as AWS would refuse the deploy."""
    for title, limit, names in OFFLINE_PROOFS:
        found = [f for f in findings if f.proof in names and f.where.split(" ")[0] in accounts]
        failing = failures(found)
        detail = (
            f"preflight ({', '.join(names)}) on {', '.join(accounts)}: {len(failing)} failing, "
            f"{len(found) - len(failing)} undecided offline"
            + "".join(f"; fails in {f.where}: {f.subject}" for f in failing[:SHOWN_FAILURES])
            + (f"; {len(failing) - SHOWN_FAILURES} more (make preflight)" if len(failing) > SHOWN_FAILURES else "")
        )
        report.record("failed" if failing else "not-shown", title, detail, limit)


def beyond_the_emulator(rehearsal: Rehearsal, findings: list[Finding]) -> None:
    """Records what the emulator neither enforces nor runs, with the deploy preflight's verdicts
    on the rehearsed accounts where a proof decides it (`findings`: the preflight's, on the
    assembly as synthesized)."""
    preflight_verdicts(rehearsal.report, rehearsal.plan.accounts, findings)
    ran = ", ".join(rehearsal.handlers)
    rehearsal.report.record("not-shown", "Lambda", f"the handlers ran in this process: {ran}", NO_LAMBDA_RUNTIME)
    plan = rehearsal.plan
    endpoint = naming.endpoint_name(rehearsal.organization, plan.endpoint.name)
    what = f"{plan.model.name}'s build executions and the endpoint {endpoint} are records in the emulator"
    rehearsal.report.record(
        "not-shown", "SageMaker", f"no job, pipeline step or instance ran: {what}", NO_SAGEMAKER_RUNS
    )


def proven(rehearsal: Rehearsal, results: list[tuple[Flow, list[HopResult]]], names: list[str]) -> None:
    """Records the verdicts of `make flows` on the named flows: what moto authorizes without
    evaluating (NO_AUTHORIZATION)."""
    for name in names:
        hops = next((hops for flow, hops in results if flow.name == name), None)
        if hops is None:
            raise RehearsalError(f"make flows has no flow {name!r}")
        failing = [result.hop.what for result in hops if not result.holds]
        rehearsal.report.record(
            "failed" if failing else "ok",
            f"make flows: {name}",
            f"{len(hops) - len(failing)} of {len(hops)} hops hold"
            + (f"; failing: {'; '.join(failing)}" if failing else f": {'; '.join(r.hop.what for r in hops)}"),
            NO_AUTHORIZATION,
        )
