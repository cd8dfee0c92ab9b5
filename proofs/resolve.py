"""CloudFormation's intrinsic functions, evaluated offline over the whole cloud assembly.

`Resolver.resolve(stack, value)` turns a template value into plain JSON as CloudFormation would
at deploy time: pseudo parameters from the stack's environment, parameters from their defaults
(SSM-typed ones from the `AWS::SSM::Parameter` of the assembly that publishes them, in the same
account and region), `Ref`/`Fn::GetAtt` from the resource's identity (proofs.identities),
`Fn::GetStackOutput` from the named stack's output, and `{{resolve:ssm:...}}` references.

What cannot be known offline (a parameter given only at deploy time, a value the service makes
up that no identity models) becomes an `unresolved(...)` marker inside the string, so a proof
can say by name what it could not decide instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from proofs.assembly import CloudAssembly, Environment, Stack
from proofs.identities import GENERATED, Identity, Place, identity_of, name_of

PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"
_UNRESOLVED = re.compile(r"\{\{unresolved:([^}]*)\}\}")
_SSM_REFERENCE = re.compile(r"\{\{resolve:ssm:([^}:]+)(?::\d+)?\}\}")
_NO_VALUE = object()
"""`Ref: AWS::NoValue`: the property or list item is left out."""


def unresolved(what: str) -> str:
    return "{{unresolved:" + what + "}}"


def unresolved_parts(value: Any) -> list[str]:
    """What a resolved value could not resolve, by name."""
    if isinstance(value, str):
        return _UNRESOLVED.findall(value)
    if isinstance(value, Mapping):
        return [part for item in value.values() for part in unresolved_parts(item)]
    if isinstance(value, list):
        return [part for item in value for part in unresolved_parts(item)]
    return []


def as_pattern(arn: str) -> str | None:
    """An ARN with unresolved parts as the IAM pattern of every value it may take (each part a
    `*`), when its service, region and account are known; None otherwise."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or unresolved_parts(":".join(parts[:5])):
        return None
    return _UNRESOLVED.sub("*", arn)


POWERTOOLS_LAYER_ACCOUNT = "017000801446"
"""The account Powertools for AWS Lambda (Python) publishes its layers from ("Lambda Layer" in
its documentation), whose public SSM parameters hold those layers' version ARNs."""


def aws_public_parameter(name: str, region: str) -> str:
    """The value shape of an AWS public parameter the platform reads, or a marker saying it is
    not modelled. `/aws/service/powertools/python/<arch>/<python>/<version>` holds the layer
    version ARN `...:layer:AWSLambdaPowertoolsPythonV3-<python without dot>-<arch>:<n>`."""
    parts = name.split("/")
    if name.startswith("/aws/service/powertools/python/") and len(parts) == 8:
        architecture, python = parts[5], parts[6].replace(".", "")
        layer = f"AWSLambdaPowertoolsPythonV3-{python}-{architecture}"
        return f"arn:aws:lambda:{region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:{layer}:{GENERATED}"
    return unresolved(f"AWS public parameter {name}")


_VARIABLE_PART = re.compile(r"\\d\+|\\d\{\d+\}|\[[^\]]+\](?:\+|\{\d+(?:,\d+)?\}|\*)?")
_ESCAPED = re.compile(r"\\(.)")


def representative(pattern: str) -> str | None:
    """A value a parameter given at deploy time admits, when its AllowedPattern is literal text
    with variable parts (`\\d+`, a character class): the literal text, GENERATED for each variable
    part. None for any other pattern, or an ARN whose account or region is open: then nothing
    offline tells what the value is."""
    if not (pattern.startswith("^") and pattern.endswith("$")):
        return None
    body = _VARIABLE_PART.sub(GENERATED, pattern[1:-1])
    literal = _ESCAPED.sub("", body)
    if any(character in literal for character in "()|*+?[]{}^$"):
        return None
    value = _ESCAPED.sub(r"\1", body)
    if value.startswith("arn:") and GENERATED in ":".join(value.split(":")[1:5]):
        return None  # the partition, region or account is open: no resource of the assembly
    return value


class _UndecidableError(Exception):
    """A condition whose value depends on something unresolved."""


@dataclass(frozen=True)
class SsmParameter:
    """Where an SSM parameter of the assembly is published."""

    stack: Stack
    logical_id: str


class Resolver:
    """Resolves values of any stack of `assembly`; a resource's identities (its name, ARN, ...)
    are worked out once."""

    def __init__(self, assembly: CloudAssembly) -> None:
        self.assembly = assembly
        self._identities: dict[tuple[Stack, str, str], str] = {}
        self._parameters: dict[tuple[Environment, str], SsmParameter] = {}
        for stack in assembly.stacks:
            for resource in stack.resources("AWS::SSM::Parameter"):
                name = resource.properties.get("Name")
                if isinstance(name, str):
                    self._parameters.setdefault((stack.environment, name), SsmParameter(stack, resource.logical_id))

    def ssm_parameter(self, environment: Environment, name: str) -> SsmParameter | None:
        """The stack and resource that publish parameter `name` in `environment`."""
        return self._parameters.get((environment, name))

    def resolve(self, stack: Stack, value: Any) -> Any:
        resolved = _StackResolver(self, stack).value(value)
        return None if resolved is _NO_VALUE else resolved

    def ssm_value(self, environment: Environment, name: str) -> str:
        if name.startswith("/aws/service/"):
            return aws_public_parameter(name, environment.region)
        published = self.ssm_parameter(environment, name)
        if published is None:
            return unresolved(f"SSM parameter {name} (no stack of {environment} publishes it)")
        value = self.resolve(published.stack, published.stack.resource(published.logical_id).properties.get("Value"))
        return value if isinstance(value, str) else unresolved(f"SSM parameter {name}")

    def identity(self, stack: Stack, logical_id: str, what: str) -> Any:
        """`what` ("name", "arn", "id", "url", or an attribute kind) of a resource of `stack`.
        Every Ref and GetAtt asks for one, the proofs thousands of times for about a thousand."""
        key = (stack, logical_id, what)
        known = self._identities.get(key)
        if known is not None:
            return known
        found = self._identity(stack, logical_id, what)
        if isinstance(found, str):  # kept only when immutable: callers embed it in their values
            self._identities[key] = found
        return found

    def _identity(self, stack: Stack, logical_id: str, what: str) -> Any:
        resource = stack.resource(logical_id)
        identity = identity_of(resource.type)
        if identity is None:
            return unresolved(f"{what} of {resource.type} {stack.display_name}/{logical_id}")
        place = Place(PARTITION, stack.region, stack.account, stack.stack_name, logical_id)
        name = self.resolve(stack, name_of(identity, place, resource.properties))
        named = {field: self.resolve(stack, resource.properties.get(field)) for field in identity.arn_properties}
        return _identity_value(identity, place, name, what, f"{stack.display_name}/{logical_id}", named=named)


def _identity_value(
    identity: Identity, place: Place, name: Any, what: str, where: str, *, named: Mapping[str, Any]
) -> Any:
    if what in ("name", "id"):
        return name
    if what == "arn":
        if identity.arn is None:
            return unresolved(f"ARN of {where}")
        return identity.arn.format(
            partition=place.partition,
            region=place.region,
            account=place.account,
            name=name,
            id=name,
            GENERATED=GENERATED,
            **named,
        )
    if what == "url":
        return f"https://sqs.{place.region}.{URL_SUFFIX}/{place.account}/{name}"
    if what in identity.attributes.values():
        # An id the service chooses (a default security group, a hosted zone): representative.
        return f"{what}-{GENERATED}"
    return unresolved(f"{what} of {where}")


class _StackResolver:
    def __init__(self, resolver: Resolver, stack: Stack) -> None:
        self.resolver = resolver
        self.stack = stack
        self.template = stack.template

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return _SSM_REFERENCE.sub(lambda match: self.resolver.ssm_value(self.stack.environment, match[1]), value)
        if isinstance(value, list):
            return [item for item in (self.value(item) for item in value) if item is not _NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            function: Callable[[_StackResolver, Any], Any] | None = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, argument)
        resolved = {key: self.value(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def text(self, value: Any) -> str:
        resolved = self.value(value)
        return resolved if isinstance(resolved, str) else str(resolved)

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Partition": PARTITION,
            "AWS::AccountId": self.stack.account,
            "AWS::Region": self.stack.region,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::StackName": self.stack.stack_name,
        }
        if name in pseudo:
            return pseudo[name]
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        if name in self.template.get("Resources", {}):
            resource_type = self.template["Resources"][name]["Type"]
            identity = identity_of(resource_type)
            return self.resolver.identity(self.stack, name, identity.ref if identity else "ref")
        return unresolved(f"Ref {name} in {self.stack.display_name}")

    def parameter(self, name: str) -> Any:
        definition = self.template["Parameters"][name]
        if "Default" not in definition:
            admitted = representative(str(definition.get("AllowedPattern", "")))
            if admitted is not None:
                return admitted
            return unresolved(f"parameter {name} of {self.stack.display_name}, given at deploy time")
        if str(definition.get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
            return self.resolver.ssm_value(self.stack.environment, definition["Default"])
        return definition["Default"]

    def get_att(self, argument: Any) -> Any:
        logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        resources = self.template.get("Resources", {})
        if logical_id not in resources:
            return unresolved(f"Fn::GetAtt {logical_id}.{attribute} in {self.stack.display_name}")
        identity = identity_of(resources[logical_id]["Type"])
        what = identity.attributes.get(attribute, attribute) if identity else attribute
        return self.resolver.identity(self.stack, logical_id, what)

    def join(self, argument: Any) -> str:
        separator, items = argument
        return str(separator).join(self.text(item) for item in self.value(items))

    def sub(self, argument: Any) -> str:
        template, variables = (argument, {}) if isinstance(argument, str) else argument
        given = {key: self.value(item) for key, item in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match[1]
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in given:
                return str(given[name])
            if "." in name:
                return self.text({"Fn::GetAtt": name.split(".", 1)})
            return self.text({"Ref": name})

        return re.sub(r"\$\{([^}]+)\}", substitute, template)

    def select(self, argument: Any) -> Any:
        index, items = argument
        chosen = self.value(items)
        position = int(self.value(index))
        if isinstance(chosen, list) and position < len(chosen):
            return chosen[position]
        return unresolved(f"Fn::Select {position} of {chosen}")

    def split(self, argument: Any) -> Any:
        separator, text = argument
        resolved = self.text(text)
        if unresolved_parts(resolved) and separator not in _UNRESOLVED.sub("", resolved):
            return [resolved]
        return resolved.split(separator)

    def get_stack_output(self, argument: Mapping[str, Any]) -> Any:
        environment = Environment(self.stack.account, self.text(argument.get("Region", self.stack.region)))
        name, output = self.text(argument["StackName"]), self.text(argument["OutputName"])
        source = self.resolver.assembly.stack_named(name, environment)
        if source is None or output not in source.template.get("Outputs", {}):
            return unresolved(f"output {output} of stack {name} in {environment}")
        return self.resolver.resolve(source, source.template["Outputs"][output]["Value"])

    def get_azs(self, argument: Any) -> list[str]:
        region = self.text(argument) or self.stack.region
        return [f"{region}{zone}" for zone in "abcdef"]

    def if_(self, argument: Any) -> Any:
        condition, when_true, when_false = argument
        try:
            return self.value(when_true if self.condition(condition) else when_false)
        except _UndecidableError as undecidable:
            return unresolved(f"Fn::If {condition}: {undecidable}")

    def condition(self, name: str) -> bool:
        return self.truth(self.template.get("Conditions", {})[name])

    def truth(self, expression: Any) -> bool:
        ((function, argument),) = expression.items()
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Not":
            return not self.truth(argument[0])
        if function == "Fn::And":
            return all(self.truth(item) for item in argument)
        if function == "Fn::Or":
            return any(self.truth(item) for item in argument)
        if function == "Fn::Equals":
            left, right = (self.value(item) for item in argument)
            if unresolved_parts([left, right]):
                raise _UndecidableError(f"{left} = {right}")
            return bool(left == right)
        raise _UndecidableError(f"condition function {function}")

    def base64(self, argument: Any) -> Any:
        return self.value(argument)


_FUNCTIONS: dict[str, Callable[[_StackResolver, Any], Any]] = {
    "Ref": _StackResolver.ref,
    "Fn::GetAtt": _StackResolver.get_att,
    "Fn::Join": _StackResolver.join,
    "Fn::Sub": _StackResolver.sub,
    "Fn::Select": _StackResolver.select,
    "Fn::Split": _StackResolver.split,
    "Fn::GetStackOutput": _StackResolver.get_stack_output,
    "Fn::GetAZs": _StackResolver.get_azs,
    "Fn::If": _StackResolver.if_,
    "Fn::Base64": _StackResolver.base64,
}
