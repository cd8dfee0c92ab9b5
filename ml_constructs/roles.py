"""Roles whose permissions are customer-managed policies (compliance packs reject inline
policies), packed into as many parts as IAM's size limit asks for."""

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
    for policy in managed_policies(scope, f"{construct_id}Policy", description=description, statements=statements):
        role.add_managed_policy(policy)
    return role


def managed_policies(
    scope: Construct, construct_id: str, *, description: str, statements: Sequence[iam.PolicyStatement]
) -> list[iam.ManagedPolicy]:
    """The policy `<id>` and, when the statements would make it larger than IAM allows, further
    parts `<id>2`, `<id>3`, ... (the first keeps its logical id as statements are added)."""
    return [
        iam.ManagedPolicy(
            scope, f"{construct_id}{index + 1 if index else ''}", description=description, statements=part
        )
        for index, part in enumerate(_parts(cdk.Stack.of(scope), statements))
    ]


PART_OVERHEAD = len('{"Version":"2012-10-17","Statement":[]}')


def _parts(stack: cdk.Stack, statements: Sequence[iam.PolicyStatement]) -> list[list[iam.PolicyStatement]]:
    """The statements in order, packed into documents under IAM's managed-policy size."""
    parts: list[list[iam.PolicyStatement]] = [[]]
    size = PART_OVERHEAD
    for whole, whole_size in zip(statements, _sizes(stack, statements), strict=True):
        pieces = [whole] if whole_size <= STATEMENT_MAX else _split(stack, whole)
        sizes = [whole_size] if len(pieces) == 1 else _sizes(stack, pieces)
        for statement, statement_size in zip(pieces, sizes, strict=True):
            if parts[-1] and size + statement_size + 1 > MANAGED_POLICY_MAX:
                parts.append([])
                size = PART_OVERHEAD
            parts[-1].append(statement)
            size += statement_size + 1
    return parts


STATEMENT_MAX = MANAGED_POLICY_MAX - PART_OVERHEAD - 1
"""The largest statement a policy can hold."""


def _sizes(stack: cdk.Stack, statements: Sequence[iam.PolicyStatement]) -> list[int]:
    """Each statement's size once resolved (in one resolve: each read is a jsii round trip)."""
    resolved = stack.resolve([statement.to_statement_json() for statement in statements])
    return [resolved_size(statement) for statement in resolved]


def _split(stack: cdk.Stack, statement: iam.PolicyStatement) -> list[iam.PolicyStatement]:
    """A statement larger than a policy may be (a long list of resources: a team's model groups,
    say) as the same grant in several statements of fewer resources each, which IAM reads the
    same way."""
    if statement.not_resources or len(statement.resources) < 2:
        raise ValueError(f"statement {statement.sid or statement.actions} cannot fit in one managed policy")
    pieces: list[list[str]] = [[]]
    for resource in statement.resources:
        candidate = _with_resources(statement, [*pieces[-1], resource], len(pieces))
        if pieces[-1] and _sizes(stack, [candidate])[0] > STATEMENT_MAX:
            pieces.append([])
        pieces[-1].append(resource)
    return [_with_resources(statement, resources, index) for index, resources in enumerate(pieces)]


def _with_resources(statement: iam.PolicyStatement, resources: list[str], index: int) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid=f"{statement.sid}{index + 1}" if statement.sid and index else statement.sid,
        effect=statement.effect,
        actions=statement.actions or None,
        not_actions=statement.not_actions or None,
        resources=resources,
        conditions=statement.conditions,
    )
