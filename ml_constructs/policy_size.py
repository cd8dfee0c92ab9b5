"""How long a CloudFormation value will be once deployed, estimated from above: IAM and Lambda
quotas count the resolved document, while a template holds intrinsic functions.

Used to split role policies into parts under IAM's managed-policy size (ml_constructs.roles)
and by the synth gates that check every template against the services' quotas.
"""

from __future__ import annotations

import json
import re
from typing import Any

MANAGED_POLICY_MAX = 6_144
"""IAM's limit on one managed policy document, in characters without whitespace."""

PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws-us-gov",
    "AWS::Region": "ap-southeast-3",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com.cn",
    "AWS::StackName": "x" * 128,
}
"""The longest value each pseudo parameter can take, so an estimate errs on the large side."""
RESOLVED_MAX = 128
"""What a reference to a resource, attribute, parameter or stack output is counted as: long enough
for the ARNs and physical names the platform's templates read (a role ARN with a 64-character
name and a long region is under 100)."""


def _resolved(value: Any) -> Any:
    """`value` with intrinsic functions replaced by strings at least as long as their result."""
    if isinstance(value, list):
        return [_resolved(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1 or not next(iter(value)).startswith(("Ref", "Fn::", "Condition")):
        return {key: _resolved(item) for key, item in value.items()}
    ((function, argument),) = value.items()
    if function == "Fn::Join":
        return str(argument[0]).join(str(_resolved(part)) for part in _resolved_list(argument[1]))
    if function == "Fn::Sub":
        template = argument if isinstance(argument, str) else argument[0]
        return re.sub(r"\$\{([^}]+)\}", lambda match: _reference(match[1]), template)
    return _reference(argument) if function == "Ref" else "x" * RESOLVED_MAX


def _reference(name: str) -> str:
    return PSEUDO_PARAMETERS.get(name, "x" * RESOLVED_MAX)


def _resolved_list(value: Any) -> list[Any]:
    resolved = _resolved(value)
    return resolved if isinstance(resolved, list) else [resolved]


def resolved_size(value: Any) -> int:
    """Characters of a value as compact JSON once its intrinsic functions are resolved (at most)."""
    return len(json.dumps(_resolved(value), separators=(",", ":")))
