"""Where a flow's callers and resources are in the cloud assembly: functions by construct path
(their role, environment, ARN, and where they run), roles and resources by name.

Flows are written against the platform's stages (stacks.deployment_order names them) and the
physical names every account agrees on (stacks.naming); everything else is read from the
synthesized templates, so a flow proves what would be deployed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from proofs.assembly import Resource, Stack
from proofs.context import ProofContext
from proofs.deploy.permissions import account_deployments
from proofs.flows.model import Caller, Judge
from proofs.iam import Policy, Principal
from proofs.network import compute
from proofs.resolve import unresolved_parts
from stacks import naming


@dataclass(frozen=True)
class Function:
    caller: Caller
    arn: str
    environment: Mapping[str, str]
    stack: Stack


class Catalog:
    def __init__(self, context: ProofContext, judge: Judge) -> None:
        self.context = context
        self.judge = judge

    def stack(self, display_name: str) -> Stack:
        return self.context.assembly.stack(display_name)

    def has_stack(self, display_name: str) -> bool:
        return any(stack.display_name == display_name for stack in self.context.assembly.stacks)

    def resource(self, display_name: str, path: str, kind: str | None = None) -> tuple[Stack, Resource]:
        """The resource of the stack whose construct path contains `path` (the first, in order)."""
        stack = self.stack(display_name)
        for resource in stack.resources(*([kind] if kind else [])):
            if path in resource.path:
                return stack, resource
        raise LookupError(f"{display_name} has no resource at {path!r}")

    def arn(self, display_name: str, path: str, kind: str | None = None, what: str = "arn") -> str:
        stack, resource = self.resource(display_name, path, kind)
        value = self.context.resolver.identity(stack, resource.logical_id, what)
        if not isinstance(value, str) or unresolved_parts(value):
            raise LookupError(f"the {what} of {resource.path} is not known offline: {value}")
        return value

    def properties(self, display_name: str, path: str, kind: str | None = None) -> Mapping[str, Any]:
        stack, resource = self.resource(display_name, path, kind)
        properties: Mapping[str, Any] = self.context.resolver.resolve(stack, resource.properties)
        return properties

    def function(self, display_name: str, path: str) -> Function:
        stack, resource = self.resource(display_name, path, "AWS::Lambda::Function")
        properties = self.context.resolver.resolve(stack, resource.properties)
        where = compute(self.context, stack, resource.logical_id) if "VpcConfig" in properties else None
        caller = self.judge.role(resource.path, str(properties["Role"]), where, stack.region)
        arn = str(self.context.resolver.identity(stack, resource.logical_id, "arn"))
        environment = properties.get("Environment", {}).get("Variables", {})
        return Function(caller, arn, environment, stack)

    def permission_set(self, name: str, account: str, attributes: Mapping[str, str]) -> Caller:
        """A person signed in through IAM Identity Center with the permission set `name` in
        `account`: its inline policy, and its session tags from the attributes for access control."""
        management = next(
            stack for stack in self.context.assembly.stacks if any(stack.resources("AWS::SSO::PermissionSet"))
        )
        for resource in management.resources("AWS::SSO::PermissionSet"):
            properties = self.context.resolver.resolve(management, resource.properties)
            if properties.get("Name") != name:
                continue
            inline = properties.get("InlinePolicy")
            return Caller(
                f"a person with the {name} permission set",
                Principal.role(
                    f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_{name}_GENERATED"
                ),
                account,
                (Policy(f"permission set {name}", inline),) if inline else (),
                unread=tuple(properties.get("ManagedPolicies", ())),
                region=self.context.config.region_of(
                    next(a for a in self.context.config.accounts.values() if a.id == account)
                ),
                keys=dict(attributes),
            )
        raise LookupError(f"no permission set {name}")

    def execution_role(self, account: str, region: str) -> Caller:
        """The account's CloudFormation execution role with the policies `make bootstrap-commands`
        generates for it (proofs.deploy) and its permissions boundary."""
        deployment = account_deployments(self.context)[account]
        arn = f"arn:aws:iam::{account}:role/{naming.cdk_bootstrap_role('cfn-exec', account, region)}"
        boundary = deployment.boundary
        return Caller(
            "the CloudFormation execution role",
            Principal.role(arn),
            account,
            tuple(Policy(policy.name, policy.document) for policy in deployment.policies),
            Policy(boundary.name, boundary.document),
            region=region,
        )

    def role(self, name: str, account: str) -> Caller:
        """A role the platform names (stacks.naming), in `account`."""
        return self.judge.role(name, f"arn:aws:iam::{account}:role/{name}")

    def role_at(self, display_name: str, path: str) -> Caller:
        stack, resource = self.resource(display_name, path, "AWS::IAM::Role")
        return self.judge.role(resource.path, str(self.context.resolver.identity(stack, resource.logical_id, "arn")))


def service(name: str, account: str) -> Caller:
    """An AWS service acting on its own (EventBridge delivering to a target, SageMaker assuming
    a role): it has no identity-based policies, so the resource's policy decides."""
    return Caller(name, Principal.service(name), account)


def outsider(account: str = "999999999999") -> Caller:
    """A principal of an account outside the organization, with every permission its own
    account could give it: only the resource's policy stands between it and the platform."""
    everything = Policy(
        "everything", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    return Caller(
        "a role outside the organization",
        Principal.role(f"arn:aws:iam::{account}:role/outsider"),
        account,
        (everything,),
        organization=False,
        keys={"aws:PrincipalOrgID": "o-anotherorg00"},
    )
