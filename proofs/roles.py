"""The identity-based policies of an IAM role of the assembly, wherever its stacks attach them.

A role's identity-based policies are its inline policies, the managed policies it lists, and the
policies attached to it from elsewhere ("Managed policies and inline policies", IAM User Guide):
in a template, the `Policies` and `ManagedPolicyArns` of the `AWS::IAM::Role`, and every
`AWS::IAM::Policy` or `AWS::IAM::ManagedPolicy` of the account whose `Roles` names it, in any stack.

Roles and policies are matched by the ARN or name the resolver gives them. A name that
CloudFormation makes up is representative (proofs.identities) and the same for the same stack
name and logical id in every Region, although IAM holds two roles: such a role or policy is
matched in the asker's Region first, the account's other Regions only when that finds none.
What cannot be read offline (an AWS managed policy, a role no stack declares, a role ARN given at
deploy time) is named, never dropped.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from proofs.assembly import Environment, Resource, Stack
from proofs.iam import Policy, ResourcePolicy, ResourcePolicyKind
from proofs.resolve import Resolver, unresolved_parts

AWS_MANAGED_POLICY = ":iam::aws:policy/"


@dataclass(frozen=True)
class RolePolicies:
    role: str
    """The role's ARN, as asked."""
    policies: tuple[Policy, ...]
    unknown: tuple[str, ...]
    """What the role may also be allowed that the assembly does not say, by name."""


@dataclass(frozen=True)
class _Declared:
    stack: Stack
    resource: Resource

    @property
    def name(self) -> str:
        return f"{self.stack.display_name}/{self.resource.logical_id}"


class _Index:
    """Every role, managed policy and attachment of the assembly, by ARN or role name."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.roles: dict[tuple[str, str], list[_Declared]] = defaultdict(list)
        self.managed: dict[tuple[str, str], list[_Declared]] = defaultdict(list)
        self.attached: dict[tuple[str, str], list[_Declared]] = defaultdict(list)
        for stack in resolver.assembly.stacks:
            for resource in stack.resources("AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
                declared = _Declared(stack, resource)
                if resource.type == "AWS::IAM::Role":
                    arn = resolver.resolve(stack, {"Fn::GetAtt": [resource.logical_id, "Arn"]})
                    self.roles[(stack.account, str(arn))].append(declared)
                    continue
                if resource.type == "AWS::IAM::ManagedPolicy":
                    arn = resolver.resolve(stack, {"Ref": resource.logical_id})
                    self.managed[(stack.account, str(arn))].append(declared)
                for role_name in resolver.resolve(stack, resource.properties.get("Roles", [])):
                    self.attached[(stack.account, str(role_name))].append(declared)

    def policies(self, environment: Environment, role_arn: str) -> RolePolicies:
        if unresolved_parts(role_arn):
            return RolePolicies(role_arn, (), (f"the role {role_arn}",))
        roles = _nearest(self.roles.get((environment.account, role_arn), []), environment)
        if not roles:
            return RolePolicies(
                role_arn, (), (f"the role {role_arn}, which no stack of account {environment.account} declares",)
            )
        role = roles[0]
        policies: list[Policy] = []
        unknown: list[str] = []
        properties = self.resolver.resolve(role.stack, role.resource.properties)
        for inline in properties.get("Policies", []):
            policies.append(Policy(f"{role.name} inline {inline.get('PolicyName')}", inline["PolicyDocument"]))
        listed: set[str] = set()
        for arn in properties.get("ManagedPolicyArns", []):
            found = _nearest(self.managed.get((environment.account, str(arn)), []), environment)
            if not found:
                what = "AWS managed policy" if AWS_MANAGED_POLICY in str(arn) else "managed policy"
                unknown.append(f"the {what} {arn} of role {role_arn}")
            listed.update(declared.name for declared in found[:1])
            policies += [self._policy(declared) for declared in found[:1]]
        role_name = str(properties.get("RoleName") or role_arn.rsplit("/", 1)[-1])
        for declared in _nearest(self.attached.get((environment.account, role_name), []), environment):
            if declared.name not in listed:
                policies.append(self._policy(declared))
        return RolePolicies(role_arn, tuple(policies), tuple(unknown))

    def _policy(self, declared: _Declared) -> Policy:
        document: Mapping[str, Any] = self.resolver.resolve(
            declared.stack, declared.resource.properties["PolicyDocument"]
        )
        return Policy(declared.name, document)


def _nearest(candidates: Iterable[_Declared], environment: Environment) -> list[_Declared]:
    """The candidates in `environment`'s Region, else all of the account's."""
    candidates = list(candidates)
    here = [declared for declared in candidates if declared.stack.environment == environment]
    return here or candidates


_INDEXES: weakref.WeakKeyDictionary[Resolver, _Index] = weakref.WeakKeyDictionary()


def role_policies(resolver: Resolver, environment: Environment, role_arn: str) -> RolePolicies:
    """The identity-based policies of the role `role_arn`, for a resource of `environment` that
    runs as it. The assembly is indexed once per resolver."""
    index = _INDEXES.get(resolver)
    if index is None:
        index = _INDEXES[resolver] = _Index(resolver)
    return index.policies(environment, role_arn)


@dataclass(frozen=True)
class RoleView:
    """A role as the flow and escalation proofs ask it: its identity-based policies, permissions
    boundary (the policy the proofs generate, by the ARN the role names) and trust policy."""

    arn: str
    account: str
    stack: Stack
    resource: Resource
    identity_policies: tuple[Policy, ...]
    boundary: Policy | None
    boundary_arn: str | None
    trust_policy: ResourcePolicy | None
    unread_policies: tuple[str, ...]
    """What the role may also be allowed that the assembly does not say, by name."""


class Roles:
    """Every AWS::IAM::Role of the assembly by ARN, read on first use. `boundaries` are the
    permissions boundary documents by ARN (proofs.deploy.policies generates them)."""

    def __init__(self, resolver: Resolver, boundaries: Mapping[str, Policy] | None = None) -> None:
        self.resolver = resolver
        self.boundaries = dict(boundaries or {})
        self._located: dict[str, _Declared] = {}
        for stack in resolver.assembly.stacks:
            for resource in stack.resources("AWS::IAM::Role"):
                arn = str(resolver.resolve(stack, {"Fn::GetAtt": [resource.logical_id, "Arn"]}))
                self._located.setdefault(arn, _Declared(stack, resource))
        self._views: dict[str, RoleView] = {}

    def __iter__(self) -> Iterator[RoleView]:
        return (view for view in map(self.get, list(self._located)) if view is not None)

    def get(self, arn: str) -> RoleView | None:
        if arn not in self._views and arn in self._located:
            self._views[arn] = self._view(arn, self._located[arn])
        return self._views.get(arn)

    def _view(self, arn: str, declared: _Declared) -> RoleView:
        stack, role = declared.stack, declared.resource
        policies = role_policies(self.resolver, stack.environment, arn)
        boundary_arn = self.resolver.resolve(stack, role.properties.get("PermissionsBoundary"))
        trust = self.resolver.resolve(stack, role.properties.get("AssumeRolePolicyDocument"))
        return RoleView(
            arn=arn,
            account=stack.account,
            stack=stack,
            resource=role,
            identity_policies=policies.policies,
            boundary=self.boundaries.get(str(boundary_arn)) if boundary_arn else None,
            boundary_arn=str(boundary_arn) if boundary_arn else None,
            trust_policy=ResourcePolicy(f"trust policy of {role.path}", trust, ResourcePolicyKind.TRUST_POLICY)
            if trust
            else None,
            unread_policies=policies.unknown,
        )
