"""Local rehearsal (`make rehearse`): the platform's workload stage deployed to an AWS emulator,
and its approval and drift flows driven against it, with a report of what happened.

    python -m tools.rehearse [config.yaml] [--assembly DIR]

1. Synthesizes the config (or reads the cloud assembly in DIR), picks the first ml-dev account
   with models, and starts a moto server on 127.0.0.1 as that account.
2. Bootstraps it with the CDK CLI and the platform's own execution policies, then deploys the
   account's Baseline and Development stages with `cdk deploy`, stack by stack.
3. Approval: registers a model package that meets its metric, approves it, checks that the
   deployed rule matches SageMaker's state-change event, and runs the approval function's
   handler locally, with the deployed function's environment, against the emulator.
4. Drift: raises the model's drift alarm as CloudWatch reports it, checks the drift bus rule
   matches, and runs the drift function's handler, which starts the retraining pipeline; a
   second alarm inside the cooldown starts nothing.
5. Prints the report, including every resource the emulator skipped and every change the
   rehearsal made for it, and writes it as JSON (build/rehearsal/report.json). Stops the server.

The emulator is not AWS: moto skips many resource types in CloudFormation (SageMaker domains,
pipelines and model package groups, Application Auto Scaling, alarms, resource policies) and
runs no Lambda code without Docker. The report says so, type by type.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, cast

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from moto.events.models import EventPattern
from moto.events.utils import EventMessageType

from proofs.context import ProofContext
from proofs.deploy.bootstrap import bootstrap_plan
from stacks.config import ConfigError, OrgConfig, Role, load_config
from stacks.deployment_order import BASELINE, stage_id
from tools.emulator import (
    STAND_IN_OUTPUT,
    Adaptation,
    adapt_template,
    emulated,
    moto_server,
    seeded_parameters,
    stack_outputs_read,
)
from tools.local_lambda import LocalContext, load_handler

ROOT = Path(__file__).resolve().parents[1]
CDK = ROOT / "node_modules" / ".bin" / "cdk"
WORKLOAD_PURPOSE = "Development"
CLI_QUIET = {"CDK_DISABLE_CLI_TELEMETRY": "true", "CI": "true"}
DEPLOY_OPTIONS = ("--exclusively", "--require-approval", "never", "--method", "direct")
"""`--method direct` (CreateStack/UpdateStack): moto's change sets do not update stack outputs."""


class RehearsalError(Exception):
    """A step did not complete; the report says which and why."""


@dataclass
class Step:
    outcome: str  # "ok", "stand-in" or "failed"
    title: str
    detail: str


@dataclass
class DeployedStack:
    path: str
    stack_name: str
    status: str
    created: int
    skipped_types: dict[str, int]
    """Types moto's CloudFormation does not implement: accepted, nothing created."""


@dataclass
class LeftOut:
    path: str
    stack_name: str
    missing: list[str]
    """What it reads that the emulator could not create."""


@dataclass
class Report:
    account: str
    stages: list[str]
    steps: list[Step] = field(default_factory=list)
    stacks: list[DeployedStack] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    adaptations: list[Adaptation] = field(default_factory=list)

    def record(self, outcome: str, title: str, detail: str = "") -> None:
        self.steps.append(Step(outcome, title, detail))
        print(f"[{outcome}] {title}" + (f": {detail}" if detail else ""), flush=True)

    @property
    def completed(self) -> bool:
        return bool(self.steps) and all(step.outcome != "failed" for step in self.steps)


# -- deployment -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackArtifact:
    path: str  # `<Stage>/<Stack>`, what `cdk deploy` selects
    stack_name: str
    template: Path


def stacks_in_order(assembly: Path, stage: str) -> list[StackArtifact]:
    """The stage's stacks, each after the stacks it depends on."""
    directory = assembly / f"assembly-{stage}"
    artifacts = json.loads((directory / "manifest.json").read_text())["artifacts"]
    stacks = {key: value for key, value in artifacts.items() if value["type"] == "aws:cloudformation:stack"}
    ordered: list[str] = []

    def visit(key: str) -> None:
        if key in ordered:
            return
        for dependency in stacks[key].get("dependencies", []):
            if dependency in stacks:
                visit(dependency)
        ordered.append(key)

    for key in sorted(stacks):
        visit(key)
    return [
        StackArtifact(
            stacks[key]["displayName"],
            stacks[key]["properties"]["stackName"],
            directory / stacks[key]["properties"]["templateFile"],
        )
        for key in ordered
    ]


def without_termination_protection(assembly: Path, stage: str) -> list[Adaptation]:
    """Turns termination protection off in the stage's manifest: moto does not implement
    UpdateTerminationProtection, which `cdk deploy` calls for protected stacks."""
    manifest_file = assembly / f"assembly-{stage}" / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    changes = []
    for artifact in manifest["artifacts"].values():
        properties = artifact.get("properties", {})
        if properties.get("terminationProtection"):
            properties["terminationProtection"] = False
            changes.append(
                Adaptation(
                    properties["stackName"],
                    "(stack)",
                    "termination protection off",
                    "moto does not implement UpdateTerminationProtection",
                )
            )
    manifest_file.write_text(json.dumps(manifest, indent=1))
    return changes


def run_cdk(arguments: list[str], log: Path) -> None:
    """The CDK CLI, in this process's environment: the emulator's, while the rehearsal runs."""
    with log.open("a") as output:
        output.write(f"\n$ cdk {' '.join(arguments)}\n")
        output.flush()
        result = subprocess.run(
            [str(CDK), *arguments, "--no-notices"],
            check=False,
            env={**os.environ, **CLI_QUIET},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    if result.returncode:
        raise RehearsalError(f"cdk {arguments[0]} failed with {result.returncode}; see {log}")


def bootstrap(config: OrgConfig, assembly: Path, account_name: str, log: Path) -> str:
    """The account bootstrapped as `make bootstrap-commands` says: its generated execution
    policies and permissions boundary, trusting the account it names."""
    plan = next(plan for plan in bootstrap_plan(ProofContext.read(assembly, config)) if plan.name == account_name)
    iam = boto3.client("iam")
    for policy in (plan.boundary, *plan.execution_policies):
        iam.create_policy(PolicyName=policy.name, PolicyDocument=json.dumps(policy.document))
    arguments = plan.cdk_bootstrap_arguments()
    run_cdk(["bootstrap", *arguments], log)
    return (
        f"{arguments[0]} with the platform's generated execution policies and permissions boundary, "
        f"trusting {plan.trusted_account}"
    )


def deploy_stage(assembly: Path, stage: str, region: str, log: Path, report: Report) -> dict[str, dict[str, str]]:
    """Deploys the stage stack by stack; returns each stack's outputs by stack name."""
    cloudformation = boto3.client("cloudformation")
    outputs: dict[str, dict[str, str]] = {}
    left_out: set[str] = set()

    def read_outputs(stack_name: str) -> dict[str, str]:
        described = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}

    def output_of_stack(stack_name: str) -> dict[str, str]:
        if stack_name not in outputs:
            outputs[stack_name] = read_outputs(stack_name)
        return outputs[stack_name]

    def output_of(stack_name: str, output_name: str) -> str:
        return output_of_stack(stack_name)[output_name]

    report.adaptations += without_termination_protection(assembly, stage)
    for artifact in stacks_in_order(assembly, stage):
        template = json.loads(artifact.template.read_text())
        missing = sorted(
            f"output {output} of {stack_name}"
            for stack_name, output in stack_outputs_read(template)
            if stack_name in left_out or output not in output_of_stack(stack_name)
        )
        if missing:
            left_out.add(artifact.stack_name)
            report.left_out.append(LeftOut(artifact.path, artifact.stack_name, missing))
            continue
        adapted, changes = adapt_template(artifact.stack_name, template, output_of)
        artifact.template.write_text(json.dumps(adapted))
        report.adaptations += changes
        for name, value in seeded_parameters(adapted, region).items():
            boto3.client("ssm").put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
        run_cdk(["deploy", "--app", str(assembly), artifact.path, *DEPLOY_OPTIONS], log)
        report.stacks.append(inventory(artifact, adapted))
        outputs[artifact.stack_name] = read_outputs(artifact.stack_name)
    return outputs


def inventory(artifact: StackArtifact, template: dict[str, Any]) -> DeployedStack:
    """What the emulator created of the template; a supported resource it lacks is a failure."""
    cloudformation = boto3.client("cloudformation")
    status = cloudformation.describe_stacks(StackName=artifact.stack_name)["Stacks"][0]["StackStatus"]
    try:
        created = {summary["LogicalResourceId"] for summary in stack_resources(artifact.stack_name)}
    except (ClientError, BotoCoreError) as error:  # moto reports a stack complete even when a resource failed
        raise RehearsalError(f"{artifact.path}: the emulator failed to create it: {error}") from error
    skipped: Counter[str] = Counter()
    for logical_id, resource in template["Resources"].items():
        if logical_id in created:
            continue
        if not emulated(resource["Type"]):
            skipped[resource["Type"]] += 1
        else:
            raise RehearsalError(f"{artifact.path}: {resource['Type']} {logical_id} was not created ({status})")
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise RehearsalError(f"{artifact.path} ended {status}")
    return DeployedStack(artifact.path, artifact.stack_name, status, len(created), dict(sorted(skipped.items())))


def stack_resources(stack_name: str) -> Iterator[dict[str, Any]]:
    for page in boto3.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=stack_name):
        yield from page["StackResourceSummaries"]


def create_stand_ins(outputs: dict[str, dict[str, str]], report: Report) -> None:
    """Creates, through the service API, the skipped resources the flows need (STAND_IN_TYPES)."""
    sagemaker = boto3.client("sagemaker")
    for stack_outputs in outputs.values():
        for key, value in sorted(stack_outputs.items()):
            if not key.startswith(STAND_IN_OUTPUT):
                continue
            resource = json.loads(value)
            properties = resource["Properties"]
            tags = properties.get("Tags", [])
            if resource["Type"] == "AWS::SageMaker::ModelPackageGroup":
                name = properties["ModelPackageGroupName"]
                sagemaker.create_model_package_group(
                    ModelPackageGroupName=name,
                    ModelPackageGroupDescription=properties.get("ModelPackageGroupDescription", ""),
                    Tags=tags,
                )
            else:
                name = properties["PipelineName"]
                sagemaker.create_pipeline(
                    PipelineName=name,
                    PipelineDescription=properties.get("PipelineDescription", ""),
                    PipelineDefinition=properties["PipelineDefinition"]["PipelineDefinitionBody"],
                    RoleArn=properties["RoleArn"],
                    ClientRequestToken=str(uuid.uuid4()),
                    Tags=tags,
                )
            report.record(
                "stand-in",
                f"{resource['Type']} {name} created through the API",
                "moto's CloudFormation skips the type; the properties are the template's, resolved by the emulator",
            )


# -- the flows --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeployedFunction:
    name: str
    arn: str
    environment: dict[str, str]


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


def first_record(path: str) -> tuple[str, dict[str, Any]]:
    """The first record the model-build stacks published under `path`, by name: (name, record)."""
    parameters = boto3.client("ssm").get_parameters_by_path(Path=path)["Parameters"]
    if not parameters:
        raise RehearsalError(f"no record under {path}: the model-build stacks publish them")
    first = min(parameters, key=lambda parameter: parameter["Name"])
    record: dict[str, Any] = json.loads(first["Value"])
    return first["Name"].rsplit("/", 1)[1], record


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
    folder: str, function: DeployedFunction, event: dict[str, Any], log: TextIO, times: int = 1
) -> list[dict[str, Any]]:
    """Runs the handler `times` with the event; its log lines go to `log`, which stays open for
    the whole rehearsal (Powertools keeps the stream of a service's first logger)."""
    with function_environment(function), redirect_stdout(log):
        module = load_handler(folder)
        context = LocalContext(function_name=function.name, invoked_function_arn=function.arn)
        return [module.handler(event, context) for _ in range(times)]


def rule_matching(function: DeployedFunction, event: dict[str, Any]) -> str:
    """The deployed rule that targets `function` and whose pattern matches `event`, by moto's
    pattern matcher (its server does not implement TestEventPattern)."""
    events = boto3.client("events")
    for bus in events.list_event_buses()["EventBuses"]:
        for rule in events.list_rules(EventBusName=bus["Name"])["Rules"]:
            targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus["Name"])["Targets"]
            if not any(target["Arn"] == function.arn for target in targets):
                continue
            if EventPattern.load(rule.get("EventPattern")).matches_event(cast(EventMessageType, event)):
                return f"{bus['Name']}/{rule['Name']}"
    raise RehearsalError(f"no deployed rule that targets {function.name} matches the event")


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


def approval_flow(stack_names: list[str], report: Report, log: TextIO) -> None:
    """Register, approve, and let the approval function request the deployment."""
    functions = deployed_functions(stack_names)
    approval = function_with(functions, "MODEL_GROUP_RECORDS")
    group, project = first_record(approval.environment["MODEL_GROUP_RECORDS"])
    sagemaker = boto3.client("sagemaker")
    value = project["threshold"] + (0.05 if project["direction"] == "maximize" else -0.05)
    metadata = {project["metric"]: f"{value:.4f}", "RetrainingReason": "rehearsal"}
    package_arn = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription="Registered by the local rehearsal",
        ModelApprovalStatus="PendingManualApproval",
        CustomerMetadataProperties=metadata,
    )["ModelPackageArn"]
    registered = f"{package_arn} ({project['metric']} {value:.4f})"
    report.record("ok", "model package registered, pending approval", registered)
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

    bus_name = approval.environment["DEPLOYMENT_BUS_ARN"].split("/")[-1]
    boto3.client("events").create_event_bus(Name=bus_name)
    report.record(
        "stand-in",
        f"deployment bus {bus_name} recorded in this account",
        "moto looks up an event bus ARN in the caller's account only; AWS delivers to shared-services",
    )
    with recorder("bus", bus_name) as requests, recorder("topic", approval.environment["TOPIC_ARN"]) as notices:
        outcomes = invoke_locally("model_approval", approval, event, log, times=2)
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


def eventbridge_event(
    source: str, detail_type: str, *, account: str, region: str, resource: str, detail: dict[str, Any]
) -> dict[str, Any]:
    """An event as EventBridge delivers it from an AWS service."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [resource],
        "detail": detail,
    }


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


def drift_flow(config: OrgConfig, stack_names: list[str], report: Report, log: TextIO) -> None:
    """Raise the drift alarm and let the drift function start the retraining pipeline."""
    functions = deployed_functions(stack_names)
    drift = function_with(functions, "DRIFT_ALARM_RECORDS")
    alarm, target = first_record(drift.environment["DRIFT_ALARM_RECORDS"])
    # The alarm's account: its model's team's production account (an organization may have several).
    production = config.accounts[config.teams[config.team_of_model[str(target["model"])]].accounts.prod]
    first, second = alarm_event(alarm, production.id, drift), alarm_event(alarm, production.id, drift)
    report.record("ok", "drift alarm raised in production", f"{alarm} on {target['endpoint']}")
    report.record("ok", "drift rule matches CloudWatch's event", rule_matching(drift, first))
    with recorder("topic", drift.environment["TOPIC_ARN"]) as notices:
        started = invoke_locally("drift_retraining", drift, first, log)[0]
        if started.get("outcome") != "started":
            raise RehearsalError(f"the drift function answered {started}")
        sagemaker = boto3.client("sagemaker")
        parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=started["execution"])
        reason = {p["Name"]: p["Value"] for p in parameters["PipelineParameters"]}.get("RetrainingReason")
        report.record("ok", f"retraining pipeline {target['pipeline']} started", f"RetrainingReason={reason}")
        again = invoke_locally("drift_retraining", drift, second, log)[0]
        if again.get("outcome") != "skipped":
            raise RehearsalError(f"a second alarm inside the cooldown answered {again}")
        report.record("ok", "a second alarm inside the cooldown started nothing", again["reason"])
        report.record("ok", "model owners notified", f"{len(notices())} messages on the alerts topic")


def alarm_event(alarm: str, account: str, drift: DeployedFunction) -> dict[str, Any]:
    """CloudWatch's "CloudWatch Alarm State Change" event for a change to ALARM."""
    region = drift.arn.split(":")[3]
    now = datetime.now(UTC).isoformat()
    return eventbridge_event(
        "aws.cloudwatch",
        "CloudWatch Alarm State Change",
        account=account,
        region=region,
        resource=f"arn:aws:cloudwatch:{region}:{account}:alarm:{alarm}",
        detail={
            "alarmName": alarm,
            "configuration": {"description": "raised by the local rehearsal", "metrics": []},
            "previousState": {"value": "OK", "reason": "rehearsal", "timestamp": now},
            "state": {"value": "ALARM", "reason": "Threshold Crossed (rehearsal)", "timestamp": now},
        },
    )


# -- orchestration ----------------------------------------------------------------------------


def rehearsal_account(config: OrgConfig) -> str:
    for name, _ in config.accounts_with(Role.ML_DEV):
        if any(config.teams[model.team].accounts.dev == name for model in config.models):
            return name
    raise RehearsalError("the config has no ml-dev account with models to rehearse")


def synthesize(config_path: Path, outdir: Path) -> None:
    result = subprocess.run(
        [str(CDK), "synth", "--quiet", "--no-notices", "-c", f"config={config_path}", "-o", str(outdir)],
        check=False,
        cwd=ROOT,
        env={**os.environ, **CLI_QUIET},
    )
    if result.returncode:
        raise RehearsalError(f"cdk synth failed with {result.returncode}")


def rehearse(config: OrgConfig, assembly: Path, work: Path) -> Report:
    account_name = rehearsal_account(config)
    account = config.accounts[account_name]
    stages = [stage_id(account_name, BASELINE), stage_id(account_name, WORKLOAD_PURPOSE)]
    report = Report(account=f"{account_name} ({account.id})", stages=stages)
    log = work / "cdk.log"
    log.write_text("")
    with moto_server(account.id, config.region_of(account), work / "moto.log") as emulator:
        env = emulator.environment(os.environ)
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            report.record("ok", "moto server started", f"{emulator.endpoint}, account {account.id}")
            report.record("ok", "CDK bootstrap", bootstrap(config, assembly, account_name, log))
            outputs: dict[str, dict[str, str]] = {}
            for stage in stages:
                outputs |= deploy_stage(assembly, stage, emulator.region, log, report)
                deployed = [stack.stack_name for stack in report.stacks if stack.path.startswith(f"{stage}/")]
                report.record("ok", f"{stage} deployed", ", ".join(deployed))
            create_stand_ins(outputs, report)
            stack_names = [stack.stack_name for stack in report.stacks]
            with (work / "handlers.log").open("w") as handler_log:
                approval_flow(stack_names, report, handler_log)
                drift_flow(config, stack_names, report, handler_log)
        except (RehearsalError, ClientError, BotoCoreError) as failure:
            report.record("failed", "rehearsal stopped", str(failure))
        finally:
            os.environ.clear()
            os.environ.update(saved)
    report.record("ok", "moto server stopped")
    return report


def print_summary(report: Report) -> None:
    print("\nWhat the emulator did not do (this was not a deployment to AWS):")
    skipped: Counter[str] = Counter()
    for stack in report.stacks:
        skipped.update(stack.skipped_types)
    for resource_type, count in sorted(skipped.items()):
        print(f"  skipped by moto's CloudFormation: {resource_type} x{count}")
    for left_out in report.left_out:
        print(f"  not deployed: {left_out.path}: it reads {len(left_out.missing)} outputs the emulator lacks")
    changed: Counter[tuple[str, str]] = Counter((a.change, a.reason) for a in report.adaptations)
    for (change, reason), count in sorted(changed.items()):
        print(f"  changed for the emulator: {change} x{count} ({reason})")
    print("  stacks deployed with `cdk deploy --method direct`: moto's change sets lose stack outputs")
    print("  no Lambda code ran in the emulator: the handlers ran in this process, against it")
    created = sum(stack.created for stack in report.stacks)
    print(f"\n{len(report.stacks)} stacks, {created} resources created in the emulator, {skipped.total()} skipped.")
    print("Rehearsal " + ("completed." if report.completed else "FAILED."))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default="config/example.yaml", type=Path)
    parser.add_argument("--assembly", type=Path, help="the config's synthesized cloud assembly (default: synthesize)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "rehearsal")
    arguments = parser.parse_args(argv)
    try:
        config = load_config(arguments.config)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    work: Path = arguments.work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    assembly = work / "assembly"
    try:
        if arguments.assembly:
            shutil.copytree(arguments.assembly, assembly)
        else:
            synthesize(arguments.config, assembly)
        report = rehearse(config, assembly, work)
    except RehearsalError as failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1
    print_summary(report)
    (work / "report.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
    return 0 if report.completed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
