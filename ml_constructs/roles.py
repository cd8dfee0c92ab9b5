"""Roles whose permissions are one customer-managed policy (compliance packs reject inline policies)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from constructs import Construct


def role_with_managed_policy(
    scope: Construct,
    construct_id: str,
    *,
    assumed_by: iam.IPrincipal,
    description: str,
    statements: Sequence[iam.PolicyStatement],
    role_name: str | None = None,
) -> iam.Role:
    """A role `<id>` and its policy `<id>Policy`, both in `scope`."""
    role = iam.Role(scope, construct_id, assumed_by=assumed_by, description=description, role_name=role_name)
    role.add_managed_policy(
        iam.ManagedPolicy(scope, f"{construct_id}Policy", description=description, statements=list(statements))
    )
    return role
