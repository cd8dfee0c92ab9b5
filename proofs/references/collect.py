"""What a stack's template names, and when CloudFormation or the service needs it to exist.

A template names things by:
- SSM parameter types (`AWS::SSM::Parameter::Value<...>` parameters) and dynamic references
  (`{{resolve:ssm:...}}`): read before any resource of the stack is created;
- `Fn::GetStackOutput` and `Fn::ImportValue`: read before any resource, too;
- the principals of trust and resource-based policies: resolved by IAM when the policy is saved;
- ARNs, account ids, `s3://` URIs and a few name properties (`NAME_PROPERTIES`) anywhere else
  in a resource's properties, literal or built with `Fn::Join` or `Fn::Sub`: used by the
  service as it creates the resource, except where it only stores them (`STORED`);
- the `Resource`, `NotResource` and `Condition` elements of policies: stored, used when a
  request is evaluated.

`Ref` and `Fn::GetAtt` of a resource of the same template need no check: CloudFormation creates
the target first. A value given only at deploy time (a parameter without a default) is named,
not guessed.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from proofs.assembly import Environment, Stack
from proofs.resolve import Resolver, unresolved_parts

ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(?:\d{12}|aws)?:[^\s\"',\\]+")
_S3_URI = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/|$)")
_ACCOUNT = re.compile(r"\d{12}")
_SSM_REFERENCE = re.compile(r"\{\{resolve:ssm(?:-secure)?:([^}:]+)(?::\d+)?\}\}")
SSM_PARAMETER_TYPE = "AWS::SSM::Parameter::Value<"
_DEPLOY_TIME = re.compile(r"^parameter (\S+) of \S+, given at deploy time$")
_PRINCIPAL_ELEMENTS = ("Principal", "NotPrincipal")
_MARKS = ("arn:", "s3://", "{{resolve:")
"""What a string that names something by ARN, URI or dynamic reference contains."""
_STORED_ELEMENTS = ("Resource", "NotResource", "Condition")


class Kind(Enum):
    ACCOUNT = "account"
    ROLE = "role"
    USER = "IAM user"
    POLICY = "managed policy"
    BUCKET = "bucket"
    KEY = "KMS key"
    EVENT_BUS = "event bus"
    PARAMETER = "SSM parameter"
    STACK_OUTPUT = "stack output"
    EXPORT = "export"
    OTHER = "resource"
    """Any other ARN: judged by the lists and its account only."""


class Timing(Enum):
    """When what is named must exist."""

    BEFORE_STACK = "before the stack deploys"
    """Read before any resource of the stack is created: another stack, deployed earlier."""
    BEFORE_RESOURCE = "when the resource is created"
    """An earlier stack, or a resource of the same stack that CloudFormation creates first."""
    WHEN_USED = "when it is used"
    """Stored: any stack of the assembly, in any wave."""


class Position(Enum):
    """Where in a template a name is, which says which AWS rule applies to it."""

    SSM_PARAMETER_TYPE = "SSM parameter type"
    DYNAMIC_REFERENCE = "dynamic reference"
    STACK_OUTPUT = "Fn::GetStackOutput"
    EXPORT = "Fn::ImportValue"
    PRINCIPAL = "policy principal"
    PROPERTY = "property"
    LAUNCH_ROLE = "launch constraint"
    LAUNCH = "product launch"
    """What a product needs in an account it launches in, when it is launched."""
    STORED = "stored name"


@dataclass(frozen=True)
class Reference:
    stack: Stack
    logical_id: str | None
    """The resource that names it; None for the template's parameters."""
    kind: Kind
    name: str
    """An ARN (buckets as `arn:aws:s3:::<name>`), an account id, a parameter or export name,
    or `<stack name>/<output name>`."""
    environment: Environment
    """Where it must exist (the account of an ARN and, for regional ones, its Region)."""
    position: Position
    path: str
    """Where in the template: `Parameters/<name>` or `<logical id>/<property path>`."""

    @property
    def timing(self) -> Timing:
        if self.position in (
            Position.SSM_PARAMETER_TYPE,
            Position.DYNAMIC_REFERENCE,
            Position.STACK_OUTPUT,
            Position.EXPORT,
        ):
            return Timing.BEFORE_STACK
        if self.position in (Position.STORED, Position.LAUNCH):
            return Timing.WHEN_USED
        return Timing.BEFORE_RESOURCE


@dataclass(frozen=True)
class StoredPosition:
    """A property a service only stores: what it names needs to exist only when used."""

    resource_type: str
    path: str
    """Property path, `.`-separated, list indexes left out."""
    reason: str


STORED: tuple[StoredPosition, ...] = (
    StoredPosition(
        "*",
        "Tags",
        "Tags are stored as given; a tag that names a resource (a Studio domain's S3 template location) is read "
        "by whoever uses it (Tagging AWS Resources User Guide).",
    ),
    StoredPosition(
        "AWS::Lambda::Function",
        "Environment.Variables",
        "Lambda stores environment variables as strings for the function's code to read when it runs (Lambda "
        "Developer Guide, 'Working with Lambda environment variables').",
    ),
    StoredPosition(
        "AWS::ServiceCatalog::PortfolioPrincipalAssociation",
        "PrincipalARN",
        "An IAM_PATTERN principal is a role name, without an account, that Service Catalog matches in each "
        "account the portfolio is shared with when someone launches a product (Service Catalog Administrator "
        "Guide, 'Sharing portfolios: principal name sharing').",
    ),
    StoredPosition(
        "AWS::CodePipeline::Pipeline",
        "Stages.Actions.Configuration.UserParameters",
        "CodePipeline passes UserParameters to the invoked function as a string when the action runs (CodePipeline "
        "User Guide, 'Invoke an AWS Lambda function in a pipeline').",
    ),
)

NAME_PROPERTIES: Mapping[tuple[str, str], tuple[Kind, Position]] = {
    ("AWS::IAM::ManagedPolicy", "Roles"): (Kind.ROLE, Position.PROPERTY),
    ("AWS::IAM::Policy", "Roles"): (Kind.ROLE, Position.PROPERTY),
    ("AWS::ServiceCatalog::LaunchRoleConstraint", "LocalRoleName"): (Kind.ROLE, Position.LAUNCH_ROLE),
    ("AWS::S3::Bucket", "LoggingConfiguration.DestinationBucketName"): (Kind.BUCKET, Position.PROPERTY),
    ("AWS::CodePipeline::Pipeline", "ArtifactStores.ArtifactStore.Location"): (Kind.BUCKET, Position.PROPERTY),
    ("AWS::CloudTrail::Trail", "S3BucketName"): (Kind.BUCKET, Position.PROPERTY),
    ("AWS::Events::Rule", "EventBusName"): (Kind.EVENT_BUS, Position.PROPERTY),
}
"""Properties that name a role, bucket or event bus by name (in the stack's account and
Region) rather than by ARN, though some take an ARN too."""
_NAMED_ARNS = {
    Kind.ROLE: "arn:aws:iam::{account}:role/{name}",
    Kind.BUCKET: "arn:aws:s3:::{name}",
    Kind.EVENT_BUS: "arn:aws:events:{region}:{account}:event-bus/{name}",
}


def kind_of(arn: str) -> Kind:
    service, resource = arn.split(":")[2], arn.split(":", 5)[5]
    if service == "iam":
        prefix = resource.split("/", 1)[0]
        return {"role": Kind.ROLE, "user": Kind.USER, "policy": Kind.POLICY, "root": Kind.ACCOUNT}.get(
            prefix, Kind.OTHER
        )
    return {
        ("s3", ""): Kind.BUCKET,
        ("kms", "key"): Kind.KEY,
        ("kms", "alias"): Kind.KEY,
        ("events", "event-bus"): Kind.EVENT_BUS,
        ("ssm", "parameter"): Kind.PARAMETER,
    }.get((service, "" if service == "s3" else resource.split("/", 1)[0]), Kind.OTHER)


def is_pattern(name: str) -> bool:
    """A wildcard or policy variable: a policy's pattern, not a name."""
    return "*" in name or "?" in name or "${" in name


@dataclass
class Found:
    """What one stack names, and the parameters given at deploy time it uses."""

    references: list[Reference]
    deploy_time: dict[str, str]
    """Parameter name -> the first place that uses it."""
    stored: set[StoredPosition]
    """The STORED entries that applied."""


def stack_references(resolver: Resolver, stack: Stack) -> Found:
    found = Found([], {}, set())
    template = stack.template
    for name, parameter in template.get("Parameters", {}).items():
        if str(parameter.get("Type", "")).startswith(SSM_PARAMETER_TYPE) and "Default" in parameter:
            found.references.append(
                Reference(
                    stack,
                    None,
                    Kind.PARAMETER,
                    str(parameter["Default"]),
                    stack.environment,
                    Position.SSM_PARAMETER_TYPE,
                    f"Parameters/{name}",
                )
            )
    walker = _Walker(resolver, stack, found)
    for logical_id, definition in template.get("Resources", {}).items():
        walker.resource(logical_id, definition["Type"], definition.get("Properties", {}))
    return found


class _Walker:
    def __init__(self, resolver: Resolver, stack: Stack, found: Found) -> None:
        self.resolver = resolver
        self.stack = stack
        self.found = found
        self.logical_id = ""
        self.resource_type = ""
        self.stored: tuple[StoredPosition, ...] = ()
        self.resources = stack.template.get("Resources", {})
        self.parameters = stack.template.get("Parameters", {})
        # The resolver replaces dynamic references by their values: a template that has any is
        # searched for them before each value is resolved.
        self.dynamic = "{{resolve:" in json.dumps(self.resources)

    def resource(self, logical_id: str, resource_type: str, properties: Mapping[str, Any]) -> None:
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.stored = tuple(entry for entry in STORED if entry.resource_type in ("*", resource_type))
        for key, value in properties.items():
            self.value(value, key, self.position_of(key, Position.PROPERTY))

    def add(self, kind: Kind, name: str, environment: Environment, position: Position, path: str) -> None:
        self.found.references.append(
            Reference(self.stack, self.logical_id, kind, name, environment, position, f"{self.logical_id}/{path}")
        )

    def position_of(self, path: str, position: Position) -> Position:
        if position is not Position.PROPERTY:
            return position
        stored = next((entry for entry in self.stored if (path + ".").startswith(entry.path + ".")), None)
        if stored is None:
            return position
        self.found.stored.add(stored)
        return Position.STORED

    def value(self, value: Any, path: str, position: Position) -> None:
        if isinstance(value, list):
            for item in value:
                self.value(item, path, position)
        elif isinstance(value, str):
            self.names(value, path, position)
        elif isinstance(value, Mapping) and not (len(value) == 1 and self.intrinsic(value, path, position)):
            if "Statement" in value:
                self.policy(value, path, position)
                return
            for key, item in value.items():
                self.value(item, f"{path}.{key}", self.position_of(f"{path}.{key}", position))

    def intrinsic(self, value: Mapping[str, Any], path: str, position: Position) -> bool:
        """Handles `value` if it is an intrinsic function."""
        ((function, argument),) = value.items()
        if function in ("Ref", "Fn::GetAtt") and self.same_stack(function, argument):
            pass  # CloudFormation creates the target first
        elif function == "Fn::GetStackOutput":
            self.stack_output(argument, path)
        elif function == "Fn::ImportValue":
            name = self.resolver.resolve(self.stack, argument)
            self.add(Kind.EXPORT, str(name), self.stack.environment, Position.EXPORT, path)
        elif function.startswith("Fn::") or function == "Ref":
            if self.dynamic:
                self.dynamic_references(json.dumps(value), path)
            self.resolved(self.resolver.resolve(self.stack, value), path, position)
        else:
            return False
        return True

    def same_stack(self, function: str, argument: Any) -> bool:
        if function == "Ref":
            return argument in self.resources or (
                argument in self.parameters
                and str(self.parameters[argument].get("Type", "")).startswith(SSM_PARAMETER_TYPE)
            )
        target = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
        return target in self.resources

    def resolved(self, value: Any, path: str, position: Position) -> None:
        """A value resolved offline: what it names, and the deploy-time parameters it uses."""
        for part in unresolved_parts(value):
            deploy_time = _DEPLOY_TIME.match(part)
            if deploy_time:
                self.found.deploy_time.setdefault(deploy_time[1], f"{self.logical_id}/{path}")
        if isinstance(value, str) and value.startswith("{") and '"Statement"' in value:
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        if isinstance(value, Mapping) and "Statement" in value:
            self.policy(value, path, position)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                self.resolved(item, f"{path}.{key}", self.position_of(f"{path}.{key}", position))
        elif isinstance(value, list):
            for item in value:
                self.resolved(item, path, position)
        elif isinstance(value, str):
            self.names(value, path, position)

    def policy(self, document: Mapping[str, Any], path: str, position: Position) -> None:
        statements = document.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if not isinstance(statement, Mapping):
                self.value(statement, f"{path}.Statement", position)
                continue
            for element, item in statement.items():
                where = f"{path}.Statement.{element}"
                if element in _PRINCIPAL_ELEMENTS:
                    self.principal(self.resolver.resolve(self.stack, item), where)
                elif element in _STORED_ELEMENTS:
                    self.value(item, where, Position.STORED)

    def principal(self, element: Any, path: str) -> None:
        if not isinstance(element, Mapping):
            return  # "*"
        names = element.get("AWS", [])
        for name in names if isinstance(names, list) else [names]:
            if not isinstance(name, str) or unresolved_parts(name) or name == "*":
                continue
            arn = f"arn:aws:iam::{name}:root" if _ACCOUNT.fullmatch(name) else name
            if ARN.fullmatch(arn):
                self.arn(arn, path, Position.PRINCIPAL)

    def names(self, text: str, path: str, position: Position) -> None:
        named = NAME_PROPERTIES.get((self.resource_type, path))
        if named is None and not (len(text) == 12 and text.isdigit()) and not any(m in text for m in _MARKS):
            return
        self.dynamic_references(text, path)
        if unresolved_parts(text):
            return
        if named is not None and not is_pattern(text) and not text.startswith("arn:"):
            kind, named_position = named
            name = _NAMED_ARNS[kind].format(account=self.stack.account, region=self.stack.region, name=text)
            self.add(kind, name, self.stack.environment, named_position, path)
            return
        if _ACCOUNT.fullmatch(text):
            self.add(Kind.ACCOUNT, text, Environment(text, self.stack.region), position, path)
            return
        for match in ARN.finditer(text):
            # An object pattern (`arn:aws:s3:::bucket/*`) still names its bucket.
            name = match[0].split("/", 1)[0] if kind_of(match[0]) is Kind.BUCKET else match[0]
            if not is_pattern(name):
                self.arn(match[0], path, position)
        for bucket in _S3_URI.finditer(text):
            self.add(Kind.BUCKET, f"arn:aws:s3:::{bucket[1]}", self.stack.environment, position, path)

    def dynamic_references(self, text: str, path: str) -> None:
        for reference in _SSM_REFERENCE.finditer(text):
            self.add(Kind.PARAMETER, reference[1], self.stack.environment, Position.DYNAMIC_REFERENCE, path)

    def arn(self, arn: str, path: str, position: Position) -> None:
        kind = kind_of(arn)
        parts = arn.split(":", 5)
        account = parts[4] if _ACCOUNT.fullmatch(parts[4]) else self.stack.account
        environment = Environment(account, parts[3] or self.stack.region)
        if kind is Kind.ACCOUNT:
            self.add(kind, account, environment, position, path)
        elif kind is Kind.BUCKET:
            self.add(kind, "arn:aws:s3:::" + parts[5].split("/", 1)[0], environment, position, path)
        else:
            self.add(kind, arn, environment, position, path)

    def stack_output(self, argument: Mapping[str, Any], path: str) -> None:
        name, output = (str(self.resolver.resolve(self.stack, argument[key])) for key in ("StackName", "OutputName"))
        region = str(self.resolver.resolve(self.stack, argument.get("Region", self.stack.region)))
        # Another account's stack is read through a role of that account (RoleArn).
        role = str(self.resolver.resolve(self.stack, argument.get("RoleArn", "")))
        account = self.stack.account
        if ARN.fullmatch(role):
            account = role.split(":")[4]
            self.add(Kind.ROLE, role, Environment(account, region), Position.STACK_OUTPUT, f"{path}.RoleArn")
        environment = Environment(account, region)
        self.add(Kind.STACK_OUTPUT, f"{name}/{output}", environment, Position.STACK_OUTPUT, path)
