"""What CloudFormation's execution role must be allowed to deploy each stack: every handler
permission of every resource, on the ARNs it will touch, and which handler permissions are
not needed for the properties used (with the proof).

For each resource the create, update and delete handlers' permissions (proofs.aws_data) are
the question. Each permission acts on the resource types the Service Authorization Reference
gives it, so its ARNs are:
- none but "*" when the action supports no resource-level permissions;
- the resource's own ARN (proofs.identities) when that is one of the action's types;
- the ARNs of that type the resource's properties name (a role it passes, a key it encrypts
  with, the S3 object its code or template is read from);
- otherwise the action acts on nothing this resource uses, which proves it unneeded: the
  optional integrations a handler lists (a Lambda function without a file system never calls
  elasticfilesystem:DescribeMountTargets). Actions on a resource that the properties do not
  name but AWS creates or reads anyway, and "*" actions needed only with some property, are in
  the reviewed file proofs.deploy.exceptions, each with its reason.
Template parameters of SSM types and `{{resolve:ssm:...}}` references add ssm:GetParameters
(CloudFormation reads them as the execution role); custom resources add the invocation of
their service token.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from proofs.assembly import Resource, Stack
from proofs.aws_data import OPERATIONS, ResourceType, acts_on, expand, handler_permissions, resource_types
from proofs.context import ProofContext
from proofs.deploy.exceptions import NOT_IAM_ACTIONS, RENAMED, HandlerException, additions, exception_for
from proofs.identities import identity_of
from proofs.request_keys import request_keys
from proofs.resolve import as_pattern, unresolved_parts

# Properties that hold documents or free text rather than references to what the handler acts
# on: the ARNs in a role's policy are what the role may do, not what creating it touches.
_NOT_REFERENCES = frozenset(
    {
        "Tags",
        "Description",
        "Environment",
        "PolicyDocument",
        "AssumeRolePolicyDocument",
        "KeyPolicy",
        "Policies",
        "ModelPackageGroupPolicy",
        "EventPattern",
        "PipelineDefinition",
        "DashboardBody",
        "AlarmRule",
        "InlinePolicy",
        "Content",
    }
)
_MOST_TYPES_LISTED = 4
_CUSTOM_RESOURCE_PREFIXES = ("Custom::", "AWS::CloudFormation::CustomResource")


@dataclass(frozen=True)
class Requirement:
    """The execution role must be allowed `action` on each of `resources` to run `operation`."""

    stack: Stack
    subject: str
    """The resource's construct path (or the template parameter) that needs it."""
    operation: str
    action: str
    resources: tuple[str, ...]
    basis: str
    """Why: the registry's handler, a property, a template parameter, or a reviewed exception."""
    context: tuple[tuple[str, str | bool | tuple[str, ...]], ...] = ()
    """Condition keys the request carries, from the resource's properties (proofs.request_keys)."""


@dataclass(frozen=True)
class Unneeded:
    """A handler permission proven unneeded for this resource, and how."""

    stack: Stack
    subject: str
    resource_type: str
    action: str
    proof: str


@dataclass(frozen=True)
class Unknown:
    """Something the registry or the reference does not tell, so nothing could be derived."""

    stack: Stack
    subject: str
    what: str


@dataclass
class StackRequirements:
    required: list[Requirement]
    unneeded: list[Unneeded]
    unknown: list[Unknown]
    exceptions_used: set[HandlerException]


def stack_requirements(context: ProofContext, stack: Stack) -> StackRequirements:
    result = StackRequirements([], [], [], set())
    for resource in stack.resources():
        _resource_requirements(context, stack, resource, result)
    for name, parameter in stack.template.get("Parameters", {}).items():
        if str(parameter.get("Type", "")).startswith("AWS::SSM::Parameter::Value") and "Default" in parameter:
            result.required += _ssm_reads(stack, f"parameter {name}", parameter["Default"])
    return result


def _ssm_reads(stack: Stack, subject: str, parameter_name: str) -> list[Requirement]:
    # AWS's public parameters live in no account (arn:aws:ssm:<region>::parameter/aws/...).
    account = "" if parameter_name.startswith("/aws/") else stack.account
    arn = f"arn:aws:ssm:{stack.region}:{account}:parameter{parameter_name}"
    basis = "CloudFormation resolves SSM parameter types and references with the stack's role"
    return [
        Requirement(stack, subject, operation, "ssm:GetParameters", (arn,), basis) for operation in ("create", "update")
    ]


@dataclass(frozen=True)
class _Subject:
    """One resource being derived: where it is, its resolved properties, its own ARN, the
    ARNs its properties name, and the condition keys its requests carry."""

    stack: Stack
    resource: Resource
    properties: Mapping[str, Any]
    own: str | None
    named: tuple[str, ...]

    def requirement(self, operation: str, action: str, arns: tuple[str, ...], basis: str) -> Requirement:
        keys = request_keys(action, self.properties, self.resource.type)
        context = tuple(
            sorted((key, tuple(value) if isinstance(value, list) else value) for key, value in keys.items())
        )
        return Requirement(self.stack, self.resource.path, operation, action, arns, basis, context)

    def unneeded(self, action: str, proof: str) -> Unneeded:
        return Unneeded(self.stack, self.resource.path, self.resource.type, action, proof)


def _resource_requirements(context: ProofContext, stack: Stack, resource: Resource, result: StackRequirements) -> None:
    if resource.type.startswith(_CUSTOM_RESOURCE_PREFIXES):
        token = context.resolver.resolve(stack, resource.properties.get("ServiceToken"))
        action = "sns:Publish" if str(token).startswith("arn:aws:sns:") else "lambda:InvokeFunction"
        result.required += [
            Requirement(stack, resource.path, operation, action, (str(token),), "custom resource: its service token")
            for operation in OPERATIONS
        ]
        return
    permissions = handler_permissions(resource.type)
    if permissions is None:
        result.unknown.append(Unknown(stack, resource.path, f"{resource.type} has no resource provider schema"))
        return
    properties = context.resolver.resolve(stack, resource.properties)
    subject = _Subject(
        stack,
        resource,
        properties,
        _own_arn(context, stack, resource),
        (*_named_arns(properties, skip=_NOT_REFERENCES), *_named_by_name(stack, resource.type, properties)),
    )
    for operation, actions in permissions.items():
        for action in actions:
            _permission(subject, operation, action, result)
        listed = {action.lower() for action in actions}
        for exception in additions(resource.type, properties, stack.account):
            arns = exception.resources(properties, stack.account, stack.region) if exception.resources else ()
            missing = [action for action in exception.actions if action.lower() not in listed]
            if missing and arns and operation != "delete":
                result.exceptions_used.add(exception)
                result.required += [
                    subject.requirement(operation, action, arns, exception.reason) for action in missing
                ]
    for reference in _ssm_references(resource.properties):
        result.required += _ssm_reads(stack, resource.path, reference)


def _permission(subject: _Subject, operation: str, listed: str, result: StackRequirements) -> None:
    if listed in NOT_IAM_ACTIONS:
        result.unneeded.append(subject.unneeded(listed, NOT_IAM_ACTIONS[listed]))
        return
    stack, resource_type = subject.stack, subject.resource.type
    for action in [name for alias in RENAMED.get(listed, (listed,)) for name in expand(alias)]:
        exception = exception_for(resource_type, action, subject.properties, stack.account)
        if exception is None:
            _derived(subject, operation, action, result)
            continue
        result.exceptions_used.add(exception)
        if exception.resources is None:
            result.unneeded.append(subject.unneeded(action, exception.reason))
        else:
            arns = exception.resources(subject.properties, stack.account, stack.region)
            result.required.append(subject.requirement(operation, action, arns, exception.reason))


def _derived(subject: _Subject, operation: str, action: str, result: StackRequirements) -> None:
    types = resource_types(action)
    if types is None:
        what = f"the Service Authorization Reference has no {action}"
        result.unknown.append(Unknown(subject.stack, subject.resource.path, what))
        return
    if not types:
        result.required.append(subject.requirement(operation, action, ("*",), "handler"))
        return
    # An action of the resource's own type acts on the resource itself (tagging a rule, not
    # the bus its targets name); otherwise on what the properties name of its types.
    if subject.own and acts_on(action, subject.own):
        candidates = [subject.own]
    elif subject.own and acts_on(action, f"{subject.own}/*"):
        # An action on the resource's children (a bucket's objects, emptied on delete).
        candidates = [f"{subject.own}/*"]
    else:
        candidates = [arn for arn in subject.named if not _in_another_account_iam(arn, subject.stack.account)]
    if action.lower() == "iam:createservicelinkedrole":
        # Only ever creates a role under aws-service-role/ (a role the properties pass, such as
        # a flow log's delivery role, is not one).
        candidates = [arn for arn in candidates if "/aws-service-role/" in arn]
    targets = tuple(dict.fromkeys(arn for arn in candidates if acts_on(action, arn)))
    if targets:
        basis = "handler, on this resource" if subject.own in targets else "handler, on what the properties name"
        result.required.append(subject.requirement(operation, action, targets, basis))
    elif _same_service(subject.resource.type, types):
        # An action of the resource's own service on a type its properties do not name (a
        # collection, a child, or a type whose ARN proofs.identities does not model): granted
        # on that type's ARNs in this account and region, never proven unneeded.
        arns = _service_arns(types, subject.stack.region, subject.stack.account)
        result.required.append(subject.requirement(operation, action, arns, "handler, on its service"))
    else:
        names = ", ".join(sorted({f"{kind.service}:{kind.name}" for kind in types}))
        result.unneeded.append(subject.unneeded(action, f"acts only on {names}, and the properties name none"))


def _in_another_account_iam(arn: str, account: str) -> bool:
    """IAM's API acts only on the caller's own account (IAM has no resource-based policies for
    it): a role of another account that a resource names (a pipeline's cross-account action
    role) is assumed there by the service, never read or passed from here."""
    parts = arn.split(":")
    return len(parts) > 4 and parts[2] == "iam" and parts[4] not in ("", account, "aws")


def _own_arn(context: ProofContext, stack: Stack, resource: Resource) -> str | None:
    identity = identity_of(resource.type)
    if identity is None or identity.arn is None:
        return None
    arn = context.resolver.identity(stack, resource.logical_id, "arn")
    if not isinstance(arn, str):
        return None
    # A name given at deploy time (a launched product's parameter) is any value of its form.
    return as_pattern(arn) if unresolved_parts(arn) else arn


def _named_arns(value: Any, *, skip: frozenset[str]) -> Iterator[str]:
    if isinstance(value, str):
        if value.startswith("arn:"):
            yield value
        elif value.startswith("s3://"):
            bucket, _, key = value.removeprefix("s3://").partition("/")
            yield f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key not in skip:
                yield from _named_arns(item, skip=skip)
        yield from _s3_locations(value)
    elif isinstance(value, list):
        for item in value:
            yield from _named_arns(item, skip=skip)


_NAME_REFERENCES = {
    ("AWS::ServiceCatalog::LaunchRoleConstraint", "LocalRoleName"): "arn:aws:iam::{account}:role/{name}",
    ("AWS::IAM::ManagedPolicy", "Roles"): "arn:aws:iam::{account}:role/{name}",
    ("AWS::IAM::Policy", "Roles"): "arn:aws:iam::{account}:role/{name}",
    ("AWS::S3::BucketPolicy", "Bucket"): "arn:aws:s3:::{name}",
}
"""Properties that name other resources by name (one or a list): the ARN the handler acts on."""


def _named_by_name(stack: Stack, resource_type: str, properties: Mapping[str, Any]) -> list[str]:
    found = []
    for (kind, name), arn in _NAME_REFERENCES.items():
        value = properties.get(name) if kind == resource_type else None
        for item in value if isinstance(value, list) else [value] if value is not None else []:
            found.append(arn.format(account=stack.account, region=stack.region, name=item))
    return found


def _s3_locations(value: Mapping[str, Any]) -> Iterator[str]:
    """S3 objects named by bucket and key properties (a function's code, a template's URL)."""
    for bucket_key, object_key in (("S3Bucket", "S3Key"), ("Bucket", "Key")):
        bucket, key = value.get(bucket_key), value.get(object_key)
        if isinstance(bucket, str) and isinstance(key, str):
            yield f"arn:aws:s3:::{bucket}/{key}"
    for url_key in ("LoadTemplateFromURL", "TemplateURL"):
        url = value.get(url_key)
        if isinstance(url, str) and url.startswith("https://"):
            host, _, key = url.removeprefix("https://").partition("/")
            yield f"arn:aws:s3:::{host.split('.s3.')[0]}/{key}"


def _ssm_references(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        for part in value.split("{{resolve:ssm:")[1:]:
            yield part.split("}}")[0].split(":")[0]
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _ssm_references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _ssm_references(item)


def _same_service(resource_type: str, types: tuple[ResourceType, ...]) -> bool:
    service = resource_type.split("::")[1].lower()
    return any(kind.service.replace("-", "") == service for kind in types)


@cache
def _service_arns(types: tuple[ResourceType, ...], region: str, account: str) -> tuple[str, ...]:
    """The ARNs of `types` in this account and region (asked for every resource of a type)."""
    arns = tuple(dict.fromkeys(_type_pattern(kind, region, account) for kind in types))
    if len(arns) > _MOST_TYPES_LISTED:
        # An action on most of a service's types (ec2:CreateTags): its ARNs in this account
        # and region, rather than every type spelled out.
        arns = tuple(dict.fromkeys(":".join(arn.split(":", 5)[:5]) + ":*" for arn in arns))
    return arns


def _type_pattern(kind: ResourceType, region: str, account: str) -> str:
    arn = kind.arn_format.replace("${Partition}", "aws").replace("${Region}", region)
    arn = arn.replace("${Account}", account)
    while "${" in arn:
        start = arn.index("${")
        arn = arn[:start] + "*" + arn[arn.index("}", start) + 1 :]
    return arn
