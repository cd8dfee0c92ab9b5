"""Roles whose permissions are one customer-managed policy (compliance packs reject inline policies)."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from ml_constructs.policy_size import MANAGED_POLICY_MAX, resolved_size


def role_with_managed_policy(
    scope: Construct,
    construct_id: str,
    *,
    assumed_by: iam.IPrincipal,
    description: str,
    statements: Sequence[iam.PolicyStatement],
    role_name: str | None = None,
) -> iam.Role:
    """A role `<id>` and its policy `<id>Policy`, both in `scope`. Statements that would make the
    policy larger than IAM allows go to further parts, `<id>Policy2` and so on."""
    role = iam.Role(scope, construct_id, assumed_by=assumed_by, description=description, role_name=role_name)
    for index, part in enumerate(_parts(cdk.Stack.of(scope), statements)):
        role.add_managed_policy(
            iam.ManagedPolicy(
                scope, f"{construct_id}Policy{index + 1 if index else ''}", description=description, statements=part
            )
        )
    return role


PART_OVERHEAD = len('{"Version":"2012-10-17","Statement":[]}')


def _parts(stack: cdk.Stack, statements: Sequence[iam.PolicyStatement]) -> list[list[iam.PolicyStatement]]:
    """The statements in order, packed into documents under IAM's managed-policy size."""
    parts: list[list[iam.PolicyStatement]] = [[]]
    size = PART_OVERHEAD
    for statement in statements:
        statement_size = resolved_size(stack.resolve(statement.to_statement_json())) + 1
        if parts[-1] and size + statement_size > MANAGED_POLICY_MAX:
            parts.append([])
            size = PART_OVERHEAD
        parts[-1].append(statement)
        size += statement_size
    return parts
