"""The AWS emulator of the local rehearsal: a moto server on the loopback interface serving
several accounts, and the changes a synthesized template needs before moto's CloudFormation
can deploy it.

moto selects the account of a request by its access key (moto/core/responses.py,
`get_current_account`, unless MOTO_ACCOUNT_ID overrides it for every request): the keys STS
AssumeRole returns belong to the account of the role's ARN (moto/sts/models.py,
`_create_access_key`), and the role need not exist. So each account's clients get the
credentials of a role in it, as an administrator's would.

Every change is recorded with its reason, so the rehearsal's report can say exactly where the
emulator differs from AWS. Nothing here is used by synthesis or by the deployed platform.
"""

from __future__ import annotations

import copy
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto.cloudformation.parsing import resource_class_from_type

LOOPBACK = "127.0.0.1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal"}
"""Keys moto does not know: they act in its default account, where the rehearsal only assumes roles."""
ADMIN_ROLE = "OrganizationAccountAccessRole"
"""The role the rehearsal acts as in each account: the one AWS Organizations creates in the
accounts it creates (and the platform does, with `create_accounts`)."""
REAL_AWS_SETTINGS = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)
"""Settings that could lead a client past the emulator to a real account; they are removed."""


@dataclass(frozen=True)
class Emulator:
    """A running moto server: the environment that points AWS clients (boto3, the CDK CLI) at it."""

    port: int
    region: str

    @property
    def endpoint(self) -> str:
        return f"http://localhost:{self.port}"

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        env = {key: value for key, value in base.items() if key not in REAL_AWS_SETTINGS}
        env.update(FAKE_CREDENTIALS)
        env.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_REGION=self.region,
            AWS_DEFAULT_REGION=self.region,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )
        return env

    def account_environment(self, base: Mapping[str, str], account: str) -> dict[str, str]:
        """The environment of clients acting in `account`: the credentials of its ADMIN_ROLE."""
        sts = boto3.client(
            "sts",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ADMIN_ROLE}", RoleSessionName="rehearsal")[
            "Credentials"
        ]
        return {
            **self.environment(base),
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
        }


class AccountSessions:
    """Where the rehearsal's clients act: each rehearsed account's environment, one at a time."""

    def __init__(self, emulator: Emulator, base: Mapping[str, str], accounts: Mapping[str, str]) -> None:
        """`accounts`: account name -> id."""
        self.ids = dict(accounts)
        self._environments = {name: emulator.account_environment(base, account) for name, account in accounts.items()}

    @contextmanager
    def use(self, name: str) -> Iterator[str]:
        """Clients made inside (boto3's, and the CDK CLI's, which read os.environ) act in the
        account; yields its id. boto3's default session keeps the credentials it first read, so
        it is made again on the way in and out."""
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(self._environments[name])
        boto3.setup_default_session()
        try:
            yield self.ids[name]
        finally:
            os.environ.clear()
            os.environ.update(saved)
            boto3.setup_default_session()


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def moto_server(region: str, log: Path, timeout_seconds: float = 30) -> Iterator[Emulator]:
    """Start moto's server on 127.0.0.1 (never another interface), serving every account by the
    credentials of the request; stop it on exit."""
    port = _free_loopback_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)],
            # MOTO_ACCOUNT_ID would put every request in one account, whatever its credentials.
            env={key: value for key, value in os.environ.items() if key != "MOTO_ACCOUNT_ID"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_serving(port, server, timeout_seconds)
            yield Emulator(port=port, region=region)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_serving(port: int, server: subprocess.Popen[bytes], timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the moto server exited with {server.returncode} before serving")
        try:
            with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/moto-api/data.json", timeout=1):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise RuntimeError(f"the moto server did not answer on {LOOPBACK}:{port} within {timeout_seconds} s")


@dataclass(frozen=True)
class Adaptation:
    """One change made to a template for the emulator, and why."""

    stack: str
    logical_id: str
    change: str
    reason: str


CUSTOM_RESOURCE_PREFIXES = ("Custom::", "AWS::CloudFormation::CustomResource")
"""moto runs a custom resource's Lambda in Docker; without Docker the stack would wait forever."""

MISREAD_TAGS = {
    "AWS::KMS::Key": "moto 5.2 reads CloudFormation's Key/Value key tags as TagKey/TagValue and fails",
    "AWS::SSM::Parameter": "moto 5.2 reads CloudFormation's tag map as a list of Key/Value pairs and fails",
}
"""Types whose tags moto's CloudFormation misreads; the deployment fails unless they are left out."""

ARCHIVE_NAME_LENGTH = 48
"""The longest EventBridge archive name."""

PUBLIC_PARAMETERS = {
    "/aws/service/powertools/python/x86_64/python3.14/": (
        "arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-x86_64:1"
    ),
}
"""Public parameters AWS publishes that templates read and moto lacks, by prefix, with a value in
AWS's format. moto reserves /aws/, so they are seeded under SEEDED_PARAMETERS and read there."""
SEEDED_PARAMETERS = "/rehearsal"


def seeded_parameters(template: dict[str, Any], region: str) -> dict[str, str]:
    """The seeded public parameters an adapted template reads, with their values."""
    seeds = {}
    for parameter in template.get("Parameters", {}).values():
        name = parameter.get("Default", "")
        for prefix, value in PUBLIC_PARAMETERS.items():
            if name.startswith(f"{SEEDED_PARAMETERS}{prefix}"):
                seeds[name] = value.format(region=region)
    return seeds


STAND_IN_TYPES = frozenset(
    {"AWS::SageMaker::ModelPackageGroup", "AWS::SageMaker::Pipeline", "AWS::CodePipeline::Pipeline"}
)
"""Types moto's CloudFormation skips that the rehearsal's flows need. The emulator resolves their
properties into a stack output (STAND_IN_OUTPUT + logical id), and the rehearsal creates them
with those properties through the service's API, which moto does implement. Alarms whose ARN
a created resource reads are stand-ins too (_alarms_read_by_arn)."""
STAND_IN_OUTPUT = "RehearsalStandIn"
UNRESOLVED = "(not created by the emulator)"
"""What a stand-in's property reads in place of a resource the emulator could not create."""


def adapt_template(
    stack: str, template: dict[str, Any], output_of: Callable[[str, str], str]
) -> tuple[dict[str, Any], list[Adaptation]]:
    """A copy of `template` that moto can deploy, and the changes made.

    output_of(stack_name, output_name) returns an output of a stack already deployed to the
    emulator: moto does not implement Fn::GetStackOutput, so the rehearsal resolves it, as
    CloudFormation would, from the emulator's own stacks.
    """
    adapted = copy.deepcopy(template)
    changes: list[Adaptation] = []
    resources: dict[str, Any] = adapted["Resources"]
    for logical_id, resource in list(resources.items()):
        if resource["Type"].startswith(CUSTOM_RESOURCE_PREFIXES):
            del resources[logical_id]
            changes.append(
                Adaptation(stack, logical_id, f"{resource['Type']} left out", "moto runs custom resources in Docker")
            )
        elif resource["Type"] == "AWS::DynamoDB::GlobalTable":
            resources[logical_id] = _single_region_table(resource)
            changes.append(
                Adaptation(
                    stack,
                    logical_id,
                    "deployed as an AWS::DynamoDB::Table with the replica's settings",
                    "moto does not implement AWS::DynamoDB::GlobalTable",
                )
            )
        elif resource["Type"] in STAND_IN_TYPES:
            adapted.setdefault("Outputs", {})[f"{STAND_IN_OUTPUT}{logical_id}"] = {
                "Value": {"Fn::ToJsonString": {"Type": resource["Type"], "Properties": resource["Properties"]}}
            }
        elif resource["Type"] == "AWS::Events::Archive":
            changes += _archive(stack, logical_id, resource.setdefault("Properties", {}))
        elif resource["Type"] in MISREAD_TAGS and "Tags" in resource.get("Properties", {}):
            del resource["Properties"]["Tags"]
            changes.append(Adaptation(stack, logical_id, "tags left out", MISREAD_TAGS[resource["Type"]]))
    changes += _buses_named(stack, adapted)
    changes += _alarms_read_by_arn(stack, adapted)
    changes += _prune_unresolvable(stack, adapted)
    for resource in resources.values():
        depends = resource.get("DependsOn")
        if isinstance(depends, list):
            resource["DependsOn"] = [name for name in depends if name in resources]
        elif isinstance(depends, str) and depends not in resources:
            del resource["DependsOn"]
    for name, parameter in adapted.get("Parameters", {}).items():
        public = parameter.get("Default", "")
        if parameter["Type"].startswith("AWS::SSM::Parameter::Value") and public.startswith(tuple(PUBLIC_PARAMETERS)):
            parameter["Default"] = f"{SEEDED_PARAMETERS}{public}"
            changes.append(
                Adaptation(stack, name, f"reads {SEEDED_PARAMETERS}/aws/service/...", "moto does not publish it")
            )
    resolved: list[str] = []
    adapted = _resolve_stack_outputs(adapted, output_of, resolved)
    changes += [
        Adaptation(stack, output, "Fn::GetStackOutput resolved", "moto does not implement Fn::GetStackOutput")
        for output in sorted(set(resolved))
    ]
    return adapted, changes


def _buses_named(stack: str, template: dict[str, Any]) -> list[Adaptation]:
    """Every Ref of a named event bus (in resources and outputs) replaced by its name, which
    CloudFormation's Ref of a bus is: moto's is no name."""
    resources: dict[str, Any] = template["Resources"]
    bus_names = {
        logical_id: resource["Properties"]["Name"]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Events::EventBus" and isinstance(resource["Properties"].get("Name"), str)
    }
    readers: list[tuple[str, dict[str, Any], str]] = [
        *((logical_id, resource, "Properties") for logical_id, resource in resources.items()),
        *((f"output {name}", output, "Value") for name, output in template.get("Outputs", {}).items()),
    ]
    changes = []
    for reader, node, key in readers:
        named = _named(node.get(key), bus_names)
        if named != node.get(key):
            node[key] = named
            changes.append(
                Adaptation(stack, reader, "event bus named instead of referenced", "moto's Ref of a bus is no name")
            )
    return changes


def _named(node: Any, names: dict[str, str]) -> Any:
    """`node` with every Ref of a logical id in `names` replaced by its name."""
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in names:
            return names[node["Ref"]]
        return {key: _named(value, names) for key, value in node.items()}
    if isinstance(node, list):
        return [_named(value, names) for value in node]
    return node


def _archive(stack: str, logical_id: str, properties: dict[str, Any]) -> list[Adaptation]:
    """An archive as moto's CloudFormation can create it: named (moto generates names longer than
    it accepts) and with its event pattern as a JSON string (moto reads no object)."""
    changes = []
    if "ArchiveName" not in properties:
        properties["ArchiveName"] = logical_id[:ARCHIVE_NAME_LENGTH]
        reason = f"moto generates archive names longer than the {ARCHIVE_NAME_LENGTH} characters it accepts"
        changes.append(Adaptation(stack, logical_id, "archive named after its logical id", reason))
    if isinstance(properties.get("EventPattern"), dict):
        properties["EventPattern"] = {"Fn::ToJsonString": properties["EventPattern"]}
        reason = "moto's CloudFormation reads an archive's EventPattern as a string only"
        changes.append(Adaptation(stack, logical_id, "archive's event pattern given as JSON text", reason))
    return changes


def _alarms_read_by_arn(stack: str, template: dict[str, Any]) -> list[Adaptation]:
    """Resolves the Arn of a skipped alarm with a literal name, where a resource moto creates reads
    it (an EventBridge rule matching its state changes), to the ARN CloudWatch gives the alarm,
    and makes the alarm a stand-in. Without this the reader would be left out with the alarm."""
    resources: dict[str, Any] = template["Resources"]
    names = {
        logical_id: resource["Properties"]["AlarmName"]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        and not emulated(resource["Type"])
        and isinstance(resource.get("Properties", {}).get("AlarmName"), str)
    }
    read: set[str] = set()

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            attribute = node.get("Fn::GetAtt") if len(node) == 1 else None
            if isinstance(attribute, list) and attribute[0] in names and attribute[1] == "Arn":
                read.add(attribute[0])
                arn = ["arn:", {"Ref": "AWS::Partition"}, ":cloudwatch:", {"Ref": "AWS::Region"}, ":"]
                return {"Fn::Join": ["", [*arn, {"Ref": "AWS::AccountId"}, f":alarm:{names[attribute[0]]}"]]}
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    for resource in resources.values():
        if emulated(resource["Type"]) and "Properties" in resource:
            resource["Properties"] = resolve(resource["Properties"])
    for logical_id in sorted(read):
        resource = resources[logical_id]
        template.setdefault("Outputs", {})[f"{STAND_IN_OUTPUT}{logical_id}"] = {
            "Value": {"Fn::ToJsonString": {"Type": resource["Type"], "Properties": resource["Properties"]}}
        }
    return [
        Adaptation(
            stack,
            logical_id,
            "alarm ARN resolved from its name; the alarm created through the API",
            "moto's CloudFormation skips AWS::CloudWatch::Alarm, and what reads its ARN would be left out",
        )
        for logical_id in sorted(read)
    ]


def _single_region_table(global_table: dict[str, Any]) -> dict[str, Any]:
    """The AWS::DynamoDB::Table equivalent of a global table with one replica."""
    properties = dict(global_table["Properties"])
    replicas = properties.pop("Replicas")
    if len(replicas) != 1:
        raise ValueError(f"a global table with {len(replicas)} replicas has no single-table equivalent")
    replica = replicas[0]
    sse = properties.pop("SSESpecification", {})
    if sse.get("SSEEnabled"):
        properties["SSESpecification"] = {
            "SSEEnabled": True,
            "SSEType": sse.get("SSEType", "KMS"),
            **replica.get("SSESpecification", {}),
        }
    for key in ("PointInTimeRecoverySpecification", "Tags", "DeletionProtectionEnabled"):
        if key in replica:
            properties[key] = replica[key]
    return {**global_table, "Type": "AWS::DynamoDB::Table", "Properties": properties}


def _resolve_stack_outputs(node: Any, output_of: Callable[[str, str], str], resolved: list[str]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Fn::GetStackOutput"}:
            reference = node["Fn::GetStackOutput"]
            resolved.append(f"{reference['StackName']}.{reference['OutputName']}")
            return output_of(reference["StackName"], reference["OutputName"])
        return {key: _resolve_stack_outputs(value, output_of, resolved) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve_stack_outputs(value, output_of, resolved) for value in node]
    return node


def emulated(resource_type: str) -> bool:
    """Whether moto's CloudFormation creates resources of the type (it logs when it does not)."""
    with _quiet("moto"):
        return resource_class_from_type(resource_type) is not None


@contextmanager
def _quiet(logger: str) -> Iterator[None]:
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _prune_unresolvable(stack: str, template: dict[str, Any]) -> list[Adaptation]:
    """Leaves out what reads attributes of resources moto skips (moto rejects such a template as
    a whole), then, in turn, what reads attributes of or refers to what was left out."""
    resources: dict[str, Any] = template["Resources"]
    unresolvable = {
        target
        for resource in resources.values()
        if emulated(resource["Type"])
        for target in _references(resource.get("Properties", {}), attributes_only=True)
        if target in resources and not emulated(resources[target]["Type"])
    }
    changes = []
    pruned = True
    while pruned:
        pruned = False
        for logical_id, resource in list(resources.items()):
            if logical_id in unresolvable or not emulated(resource["Type"]):
                continue
            read = sorted(set(_references(resource.get("Properties", {}), attributes_only=False)) & unresolvable)
            if read:
                del resources[logical_id]
                unresolvable.add(logical_id)
                pruned = True
                changes.append(
                    Adaptation(
                        stack,
                        logical_id,
                        f"{resource['Type']} left out",
                        f"it reads {', '.join(read)}, which the emulator cannot create",
                    )
                )
    for name, output in list(template.get("Outputs", {}).items()):
        read = sorted(set(_references(output["Value"], attributes_only=False)) & unresolvable)
        if not read:
            continue
        if name.startswith(STAND_IN_OUTPUT):  # the stand-in is still made, without what it reads
            output["Value"] = _unresolved(output["Value"], set(read))
            logical_id = name.removeprefix(STAND_IN_OUTPUT)
            reason = f"it reads {', '.join(read)}, which the emulator cannot create"
            changes.append(Adaptation(stack, logical_id, f"stand-in reads {UNRESOLVED} instead", reason))
        else:
            del template["Outputs"][name]
    return changes


def _unresolved(node: Any, logical_ids: set[str]) -> Any:
    """`node` with every Ref or Fn::GetAtt of `logical_ids` replaced by UNRESOLVED."""
    if isinstance(node, dict):
        if set(node) & {"Ref", "Fn::GetAtt"} and set(_references(node, attributes_only=False)) <= logical_ids:
            return UNRESOLVED
        return {key: _unresolved(value, logical_ids) for key, value in node.items()}
    if isinstance(node, list):
        return [_unresolved(value, logical_ids) for value in node]
    return node


def _references(node: Any, *, attributes_only: bool) -> Iterator[str]:
    """Logical ids that `node` reads with Fn::GetAtt (and Ref, unless attributes_only)."""
    if isinstance(node, dict):
        if "Fn::GetAtt" in node:
            attribute = node["Fn::GetAtt"]
            yield attribute[0] if isinstance(attribute, list) else str(attribute).split(".")[0]
        if "Ref" in node and not attributes_only:
            yield str(node["Ref"])
        for value in node.values():
            yield from _references(value, attributes_only=attributes_only)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value, attributes_only=attributes_only)


def stack_outputs_read(template: dict[str, Any]) -> set[tuple[str, str]]:
    """(stack name, output name) of every Fn::GetStackOutput in the template."""
    names: set[tuple[str, str]] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if "Fn::GetStackOutput" in node:
                names.add((node["Fn::GetStackOutput"]["StackName"], node["Fn::GetStackOutput"]["OutputName"]))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(template)
    return names
