"""The roles of the assembly as IAM sees them: ARN, identity-based policies (inline, the
AWS::IAM::Policy and AWS::IAM::ManagedPolicy resources attached to them, and the managed
policies they name), permissions boundary and trust policy, all resolved.

AWS managed policies (arn:aws:iam::aws:policy/...) are outside the assembly; a role that
carries one is reported with it by name, so a proof can say what it could not read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from proofs.assembly import Resource, Stack
from proofs.iam import Policy, ResourcePolicy, ResourcePolicyKind
from proofs.resolve import Resolver


@dataclass(frozen=True)
class RoleView:
    arn: str
    account: str
    stack: Stack
    resource: Resource
    identity_policies: tuple[Policy, ...]
    boundary: Policy | None
    boundary_arn: str | None
    trust_policy: ResourcePolicy | None
    unread_policies: tuple[str, ...]
    """Managed policies the role carries that the assembly does not define (AWS managed ones)."""


class Roles:
    """Every AWS::IAM::Role of the assembly, by ARN; boundaries read from the policies the
    proofs generate (`boundaries`: account -> the boundary policy by ARN)."""

    def __init__(self, resolver: Resolver, boundaries: Mapping[str, Policy] | None = None) -> None:
        self.resolver = resolver
        self.boundaries = boundaries or {}
        self._managed: dict[str, tuple[Stack, Resource]] = {
            str(resolver.resolve(stack, {"Ref": resource.logical_id})): (stack, resource)
            for stack in resolver.assembly.stacks
            for resource in stack.resources("AWS::IAM::ManagedPolicy")
        }
        self._located: dict[str, tuple[Stack, Resource]] = {}
        for stack in resolver.assembly.stacks:
            for resource in stack.resources("AWS::IAM::Role"):
                arn = str(resolver.identity(stack, resource.logical_id, "arn"))
                self._located.setdefault(arn, (stack, resource))
        self._views: dict[str, RoleView] = {}

    def __iter__(self) -> Iterator[RoleView]:
        return (view for view in map(self.get, list(self._located)) if view is not None)

    def get(self, arn: str) -> RoleView | None:
        """The role `arn` names, read on first use (most proofs ask for a few roles)."""
        if arn not in self._views and arn in self._located:
            self._views[arn] = self._view(*self._located[arn])
        return self._views.get(arn)

    def _view(self, stack: Stack, role: Resource) -> RoleView:
        resolve = self.resolver.resolve
        arn = str(self.resolver.identity(stack, role.logical_id, "arn"))
        policies: list[Policy] = [
            Policy(f"{role.path} inline {inline.get('PolicyName', index)}", inline.get("PolicyDocument", {}))
            for index, inline in enumerate(resolve(stack, role.properties.get("Policies", [])) or [])
        ]
        unread: list[str] = []
        for managed in resolve(stack, role.properties.get("ManagedPolicyArns", [])) or []:
            document = self._managed_policy(str(managed))
            if document is None:
                unread.append(str(managed))
            else:
                policies.append(Policy(str(managed), document))
        for resource in stack.resources("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            if _refers_to(resource.properties.get("Roles", []), role.logical_id):
                policies.append(Policy(resource.path, resolve(stack, resource.properties.get("PolicyDocument", {}))))
        boundary_arn = resolve(stack, role.properties.get("PermissionsBoundary"))
        trust = resolve(stack, role.properties.get("AssumeRolePolicyDocument"))
        return RoleView(
            arn=arn,
            account=stack.account,
            stack=stack,
            resource=role,
            identity_policies=tuple(policies),
            boundary=self.boundaries.get(str(boundary_arn)) if boundary_arn else None,
            boundary_arn=str(boundary_arn) if boundary_arn else None,
            trust_policy=ResourcePolicy(f"trust policy of {role.path}", trust, ResourcePolicyKind.TRUST_POLICY)
            if trust
            else None,
            unread_policies=tuple(unread),
        )

    def _managed_policy(self, arn: str) -> dict[str, Any] | None:
        """The document of a customer managed policy the assembly defines, by its ARN."""
        if arn not in self._managed:
            return None
        stack, resource = self._managed[arn]
        document: dict[str, Any] = self.resolver.resolve(stack, resource.properties.get("PolicyDocument"))
        return document


def _refers_to(values: Any, logical_id: str) -> bool:
    items = values if isinstance(values, list) else [values]
    return any(isinstance(item, Mapping) and item.get("Ref") == logical_id for item in items)
