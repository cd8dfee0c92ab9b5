"""Local rehearsal (`make rehearse`): one model's lifecycle across the ml-dev, shared-services
and ml-prod accounts, deployed to an AWS emulator and driven against it, with a report of what
happened and of what the emulator could not show.

    python -m tools.rehearse [config.yaml] [--assembly DIR]

1. Synthesizes the config (or reads the cloud assembly in DIR) and picks the first ml-dev
   account with a model whose production endpoint retrains on drift (tools.rehearsal_flows).
   Starts a moto server on 127.0.0.1 serving every account; the rehearsal acts in each through
   the credentials of a role assumed there (tools.emulator).
2. Bootstraps each account with the CDK CLI and the platform's own execution policies, and
   deploys with `cdk deploy`, stack by stack: ml-dev's Baseline and Development stages; in
   shared-services the Baseline, the deployment bus and the deployment starter's stack.
3. Approval: registers and approves a package of the model; the approval function requests its
   deployment on shared-services' bus; the request is relayed there, the bus's rule matches it,
   and the starter starts the model's deployment pipeline (a duplicate delivery too).
4. Deploys ml-prod's Baseline, the serving stack and the model's endpoint stack, with the
   parameters the pipeline's production action passes for that execution.
5. Drift: raises the endpoint's drift alarm in ml-prod; its forwarding rule matches and targets
   ml-dev's drift bus; relayed there, the drift rule matches and the drift function starts the
   retraining pipeline; a second alarm inside the cooldown starts nothing.
6. Records what moto does not evaluate or run, with the verdicts of the offline proofs that
   decide it instead: the flow proofs (`make flows`) on each flow's IAM, resource, key and trust
   policies and SCPs; the deploy preflight on the rehearsed accounts' execution roles,
   capabilities, references, network and quotas. Prints the report with every resource the
   emulator skipped, every change made for it and everything it could not show, and writes it
   as JSON (build/rehearsal/report.json). Stops the server.

The emulator is not AWS: moto skips many resource types in CloudFormation (SageMaker domains,
pipelines and model package groups, CodePipeline, Application Auto Scaling, alarms, resource
policies), runs no Lambda code without Docker and no SageMaker job, authorizes every request,
checks no capability, quota or network path, and cannot deliver events between accounts as
EventBridge does. The report says so, step by step.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from proofs import flows, preflight
from proofs.context import ProofContext
from proofs.deploy.bootstrap import AccountBootstrap, bootstrap_plan
from proofs.flows.model import Flow, HopResult
from stacks import naming
from stacks.config import ConfigError, OrgConfig, load_config
from stacks.deployment_order import BASELINE, stage_id
from tools.emulator import (
    ADMIN_ROLE,
    STAND_IN_OUTPUT,
    UNRESOLVED,
    AccountSessions,
    Adaptation,
    adapt_template,
    emulated,
    moto_server,
    seeded_parameters,
    stack_outputs_read,
)
from tools.rehearsal_flows import (
    Plan,
    Rehearsal,
    approval_flow,
    beyond_the_emulator,
    deployment_crossing,
    drift_crossing,
    production_parameters,
    proven,
    rehearsal_plan,
    stack_resources,
)
from tools.rehearsal_report import (
    NO_PARAMETER_CONSTRAINTS,
    DeployedStack,
    LeftOut,
    NotDeployed,
    RehearsalError,
    Report,
    print_summary,
)

ROOT = Path(__file__).resolve().parents[1]
CDK = ROOT / "node_modules" / ".bin" / "cdk"
CLI_QUIET = {"CDK_DISABLE_CLI_TELEMETRY": "true", "CI": "true"}
DEPLOY_OPTIONS = ("--exclusively", "--require-approval", "never", "--method", "direct")
"""`--method direct` (CreateStack/UpdateStack): moto's change sets do not update stack outputs."""


# -- deployment -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackArtifact:
    path: str  # `<Stage>/<Stack>`, what `cdk deploy` selects
    stack_name: str
    region: str
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
            stacks[key]["environment"].rsplit("/", 1)[1],
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
    """The CDK CLI, in this process's environment: the emulator's, as the account in use."""
    with log.open("a") as output:
        output.write(f"\n$ cdk {' '.join(arguments)}\n")
        output.flush()
        start = time.monotonic()
        result = subprocess.run(
            [str(CDK), *arguments, "--no-notices"],
            check=False,
            env={**os.environ, **CLI_QUIET},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        output.write(f"(exit {result.returncode} after {time.monotonic() - start:.1f} s)\n")
    if result.returncode:
        raise RehearsalError(f"cdk {arguments[0]} failed with {result.returncode}; see {log}")


def bootstrap(plan: AccountBootstrap, assembly: Path, log: Path) -> str:
    """The account bootstrapped as `make bootstrap-commands` says: its generated execution
    policies and permissions boundary, trusting the account it names. (With the assembly as its
    app: otherwise the CLI would synthesize cdk.json's app again, a while, and its default config.)"""
    iam = boto3.client("iam")
    for policy in (plan.boundary, *plan.execution_policies):
        iam.create_policy(PolicyName=policy.name, PolicyDocument=json.dumps(policy.document))
    arguments = plan.cdk_bootstrap_arguments()
    run_cdk(["bootstrap", "--app", str(assembly), *arguments], log)
    trust = f", trusting {plan.trusted_account}" if plan.trusted_account else ""
    environments = " ".join(argument for argument in arguments if argument.startswith("aws://"))
    return f"{environments} with the platform's generated execution policies and permissions boundary{trust}"


@dataclass(frozen=True)
class Deployment:
    """Where and how a stage deploys."""

    assembly: Path
    account: str
    """The account's name."""
    region: str
    log: Path
    only: frozenset[str] | None = None
    """The names of the stage's stacks to deploy (None: all)."""
    why_not: str = ""
    """Why the others are not, beyond their not being on the rehearsed flows."""
    parameters: dict[str, dict[str, str]] | None = None
    """Stack name -> the parameters to deploy it with."""


def deploy_stage(stage: str, deployment: Deployment, report: Report) -> dict[str, dict[str, str]]:
    """Deploys the stage stack by stack; returns each deployed stack's outputs by stack name."""
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

    report.adaptations += without_termination_protection(deployment.assembly, stage)
    deployed = []
    for artifact in stacks_in_order(deployment.assembly, stage):
        if artifact.region != deployment.region:
            reason = f"in {artifact.region}: the rehearsal deploys to the account's home region, {deployment.region}"
            report.not_deployed.append(NotDeployed(artifact.path, artifact.stack_name, reason))
            continue
        if deployment.only is not None and artifact.stack_name not in deployment.only:
            reason = f"not on the rehearsed flows{deployment.why_not}"
            report.not_deployed.append(NotDeployed(artifact.path, artifact.stack_name, reason))
            continue
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
        for name, value in seeded_parameters(adapted, deployment.region).items():
            boto3.client("ssm").put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
        parameters = (deployment.parameters or {}).get(artifact.stack_name, {})
        if parameters:
            checked = check_parameters(adapted, parameters)
            report.record(
                "ok", f"{artifact.stack_name}'s parameters meet its constraints", checked, NO_PARAMETER_CONSTRAINTS
            )
        options = [argument for name, value in parameters.items() for argument in ("--parameters", f"{name}={value}")]
        run_cdk(["deploy", "--app", str(deployment.assembly), artifact.path, *DEPLOY_OPTIONS, *options], deployment.log)
        report.stacks.append(inventory(deployment.account, artifact, adapted))
        outputs[artifact.stack_name] = read_outputs(artifact.stack_name)
        deployed.append(artifact.stack_name)
    report.record("ok", f"{stage} deployed", ", ".join(deployed))
    return {name: outputs[name] for name in deployed}


def check_parameters(template: dict[str, Any], parameters: dict[str, str]) -> str:
    """What CloudFormation checks of the parameters and moto does not: every parameter without
    a default is given, and every value matches its AllowedPattern. Returns the names."""
    declared: dict[str, Any] = template.get("Parameters", {})
    required = {name for name, parameter in declared.items() if "Default" not in parameter}
    if required - set(parameters):
        raise RehearsalError(f"parameters without a default are not given: {sorted(required - set(parameters))}")
    for name, value in parameters.items():
        if name not in declared:
            raise RehearsalError(f"the template declares no parameter {name}")
        pattern = declared[name].get("AllowedPattern")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise RehearsalError(f"{name}={value} does not match its AllowedPattern {pattern}")
    return ", ".join(sorted(parameters))


def inventory(account: str, artifact: StackArtifact, template: dict[str, Any]) -> DeployedStack:
    """What the emulator created of the template; a supported resource it lacks is a failure."""
    cloudformation = boto3.client("cloudformation")
    status = cloudformation.describe_stacks(StackName=artifact.stack_name)["Stacks"][0]["StackStatus"]
    try:
        created = {s["LogicalResourceId"] for s in stack_resources(artifact.stack_name)} - {""}  # "": skipped
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
    return DeployedStack(
        account, artifact.path, artifact.stack_name, status, len(created), dict(sorted(skipped.items()))
    )


def create_stand_ins(outputs: dict[str, dict[str, str]], report: Report) -> None:
    """Creates, through the service API, the skipped resources the flows need (STAND_IN_TYPES)."""
    for stack_outputs in outputs.values():
        for key, value in sorted(stack_outputs.items()):
            if not key.startswith(STAND_IN_OUTPUT):
                continue
            resource = json.loads(value)
            name = STAND_INS[resource["Type"]](resource["Properties"])
            report.record(
                "stand-in",
                f"{resource['Type']} {name} created through the API",
                "moto's CloudFormation skips the type; the properties are the template's, resolved by the emulator",
            )


def _model_package_group(properties: dict[str, Any]) -> str:
    name: str = properties["ModelPackageGroupName"]
    boto3.client("sagemaker").create_model_package_group(
        ModelPackageGroupName=name,
        ModelPackageGroupDescription=properties.get("ModelPackageGroupDescription", ""),
        Tags=properties.get("Tags", []),
    )
    return name


def _sagemaker_pipeline(properties: dict[str, Any]) -> str:
    name: str = properties["PipelineName"]
    boto3.client("sagemaker").create_pipeline(
        PipelineName=name,
        PipelineDescription=properties.get("PipelineDescription", ""),
        PipelineDefinition=properties["PipelineDefinition"]["PipelineDefinitionBody"],
        RoleArn=properties["RoleArn"],
        ClientRequestToken=str(uuid.uuid4()),
        Tags=properties.get("Tags", []),
    )
    return name


def _alarm(properties: dict[str, Any]) -> str:
    name: str = properties["AlarmName"]
    boto3.client("cloudwatch").put_metric_alarm(**properties)
    return name


def _codepipeline(properties: dict[str, Any]) -> str:
    name: str = properties["Name"]
    tags = [{"key": tag["Key"], "value": tag["Value"]} for tag in properties.get("Tags", [])]
    boto3.client("codepipeline").create_pipeline(pipeline=pipeline_declaration(properties), tags=tags)
    return name


def pipeline_declaration(properties: dict[str, Any]) -> dict[str, Any]:
    """AWS::CodePipeline::Pipeline's properties as CreatePipeline's declaration: the same
    structure in camelCase, artifact stores by region, action configurations as strings."""

    def declared(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key[0].lower() + key[1:]: configuration(value) if key == "Configuration" else declared(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [declared(value) for value in node]
        return node

    def configuration(values: dict[str, Any]) -> dict[str, str]:
        return {
            key: UNRESOLVED if value is None else json.dumps(value) if isinstance(value, bool) else str(value)
            for key, value in values.items()
        }

    kept = ("Name", "RoleArn", "Stages", "PipelineType", "ExecutionMode", "Variables", "ArtifactStore")
    declaration: dict[str, Any] = declared({key: properties[key] for key in kept if key in properties})
    if "ArtifactStores" in properties:
        declaration["artifactStores"] = {
            store["Region"]: declared(store["ArtifactStore"]) for store in properties["ArtifactStores"]
        }
    return declaration


STAND_INS: dict[str, Callable[[dict[str, Any]], str]] = {
    "AWS::SageMaker::ModelPackageGroup": _model_package_group,
    "AWS::SageMaker::Pipeline": _sagemaker_pipeline,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::CodePipeline::Pipeline": _codepipeline,
}
"""How each stand-in type is created through its service's API, with its template's properties."""


# -- orchestration ----------------------------------------------------------------------------


def synthesize(config_path: Path, outdir: Path) -> None:
    result = subprocess.run(
        [str(CDK), "synth", "--quiet", "--no-notices", "-c", f"config={config_path}", "-o", str(outdir)],
        check=False,
        cwd=ROOT,
        env={**os.environ, **CLI_QUIET},
    )
    if result.returncode:
        raise RehearsalError(f"cdk synth failed with {result.returncode}")


@contextmanager
def timed(report: Report, phase: str) -> Iterator[None]:
    start = time.monotonic()
    try:
        yield
    finally:
        report.timings[phase] = round(time.monotonic() - start, 1)


class Stages:
    """Bootstraps an account and deploys its stages, recording each in the report."""

    def __init__(
        self, config: OrgConfig, assembly: Path, log: Path, rehearsal: Rehearsal, bootstraps: list[AccountBootstrap]
    ) -> None:
        self.config, self.assembly, self.log, self.rehearsal = config, assembly, log, rehearsal
        self.bootstraps = {plan.name: plan for plan in bootstraps}

    def deploy(
        self,
        account: str,
        purposes: list[str],
        only: dict[str, tuple[frozenset[str], str]] | None = None,
        parameters: dict[str, dict[str, str]] | None = None,
    ) -> None:
        """Bootstraps `account` and deploys its stages of `purposes` (`only`: purpose -> the
        stacks to deploy of that stage, and why not the others), then creates the stand-ins
        their outputs describe."""
        report = self.rehearsal.report
        region = self.config.region_of(self.config.accounts[account])
        with timed(report, f"{account} deploy"), self.rehearsal.acting_in(account):
            report.record("ok", "CDK bootstrap", bootstrap(self.bootstraps[account], self.assembly, self.log))
            outputs: dict[str, dict[str, str]] = {}
            for purpose in purposes:
                stage = stage_id(account, purpose)
                report.stages.append(stage)
                chosen, why_not = (only or {}).get(purpose, (None, ""))
                deployment = Deployment(self.assembly, account, region, self.log, chosen, why_not, parameters)
                outputs |= deploy_stage(stage, deployment, report)
            self.rehearsal.stacks[account] = [s.stack_name for s in report.stacks if s.account == account]
            create_stand_ins(outputs, report)


def rehearse(config: OrgConfig, plan: Plan, assembly: Path, work: Path) -> Report:
    report = Report(accounts={name: config.accounts[name].id for name in plan.accounts}, stages=[])
    region = config.region_of(config.accounts[plan.development])
    log = work / "cdk.log"
    log.write_text("")
    with timed(report, "offline proofs"):
        context = ProofContext.read(assembly, config)  # before any template is changed for the emulator
        findings, bootstraps = preflight.run(context), bootstrap_plan(context)
        # The flow proofs read a context of their own: their judge adds the portfolios' access to
        # its resource index (proofs.flows.model.Judge), which the preflight would take for the
        # products' own policies.
        verdicts = flows.prove(ProofContext.read(assembly, config))
    started = time.monotonic()
    with moto_server(region, work / "moto.log") as emulator, (work / "handlers.log").open("w") as handler_log:
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(emulator.environment(saved))  # the emulator's default account, never AWS
        try:
            sessions = AccountSessions(emulator, os.environ, report.accounts)
            rehearsal = Rehearsal(config, plan, sessions, report, handler_log, {})
            report.record("ok", "moto server started", f"{emulator.endpoint}, serving every account")
            for name in plan.accounts:
                with rehearsal.acting_in(name) as account:
                    identity = boto3.client("sts").get_caller_identity()["Account"]
                    if identity != account:
                        raise RehearsalError(f"the credentials of {name} act in {identity}")
                    report.record("ok", "credentials select the account", f"{ADMIN_ROLE} assumed in {account}")
            lifecycle(rehearsal, Stages(config, assembly, log, rehearsal, bootstraps), verdicts)
            beyond_the_emulator(rehearsal, findings)
        except (RehearsalError, ClientError, BotoCoreError) as failure:
            report.record("failed", "rehearsal stopped", str(failure))
        finally:
            os.environ.clear()
            os.environ.update(saved)
            boto3.setup_default_session()
    report.timings["emulator"] = round(time.monotonic() - started, 1)
    report.record("ok", "moto server stopped")
    return report


def lifecycle(rehearsal: Rehearsal, stages: Stages, verdicts: list[tuple[Flow, list[HopResult]]]) -> None:
    """The model's lifecycle: each account deployed before the flow that first reaches it."""
    config, plan, report = rehearsal.config, rehearsal.plan, rehearsal.report
    org = config.organization.name
    stages.deploy(plan.development, [BASELINE, "Development"])
    tooling = frozenset(deployment_stacks(config, stages.assembly, plan))
    stages.deploy(plan.shared_services, [BASELINE, "Tooling"], only={"Tooling": (tooling, "")})
    with timed(report, "approval and deployment"):
        request = approval_flow(rehearsal)
        execution = deployment_crossing(rehearsal, request)
        proven(rehearsal, verdicts, [f"approval of {plan.model.name}", f"deployment of {plan.model.name}"])
    endpoint_stack = naming.stack_name(org, "endpoint", plan.endpoint.name)
    parameters = production_parameters(rehearsal, execution, endpoint_stack)
    stages.deploy(
        plan.production,
        [BASELINE, "Serving", "Endpoints"],
        only={
            "Serving": (frozenset({naming.stack_name(org, "serving")}), ""),
            "Endpoints": (
                frozenset({endpoint_stack}),
                ": the rehearsal deploys the endpoint whose drift alarm it raises",
            ),
        },
        parameters={endpoint_stack: parameters},
    )
    with timed(report, "drift"):
        drift_crossing(rehearsal)
        proven(rehearsal, verdicts, [f"drift retraining of {plan.model.name} from {plan.endpoint.name}"])


def deployment_stacks(config: OrgConfig, assembly: Path, plan: Plan) -> set[str]:
    """The Tooling stage's stacks the deployment crossing needs: the deployment bus's, the
    starter's (it has the PIPELINES setting) and the model's deployment pipeline's."""
    org = config.organization.name
    wanted = {
        ("AWS::Events::EventBus", naming.deployment_bus_name(org)),
        ("AWS::CodePipeline::Pipeline", naming.deployment_pipeline_name(org, plan.model.name)),
    }
    needed = set()
    for artifact in stacks_in_order(assembly, stage_id(plan.shared_services, "Tooling")):
        for resource in json.loads(artifact.template.read_text())["Resources"].values():
            properties = resource.get("Properties", {})
            starter = "PIPELINES" in properties.get("Environment", {}).get("Variables", {})
            if (resource["Type"], properties.get("Name")) in wanted or starter:
                needed.add(artifact.stack_name)
    return needed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default="config/example.yaml", type=Path)
    parser.add_argument("--assembly", type=Path, help="the config's synthesized cloud assembly (default: synthesize)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "rehearsal")
    arguments = parser.parse_args(argv)
    try:
        config = load_config(arguments.config)
        plan = rehearsal_plan(config)  # before a synthesis, which takes a while
    except (ConfigError, RehearsalError) as error:
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
        report = rehearse(config, plan, assembly, work)
    except RehearsalError as failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1
    print_summary(report)
    (work / "report.json").write_text(json.dumps(report.as_json(), indent=2) + "\n")
    return 0 if report.completed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
