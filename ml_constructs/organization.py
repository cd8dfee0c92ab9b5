"""AWS Organizations structure: organizational units, guardrail policies, member accounts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_organizations as organizations
from constructs import Construct

from ml_constructs.service_control_policies import PolicyDocument


@dataclass(frozen=True)
class UnitSpec:
    key: str
    """Stable identifier: the OU's construct id, so renaming the OU in AWS keeps the resource."""
    name: str
    parent: str | None
    """Key of the parent unit; None for the organization root (or an existing unit's own parent)."""
    existing_id: str | None = None
    """The id of an OU that exists already: referenced, never created (nor deleted)."""


class OrganizationalUnits(Construct):
    """A tree of OUs under the root, new ones created where existing ones are adopted by id;
    `ids` maps each key to its OU id."""

    def __init__(self, scope: Construct, construct_id: str, *, root_id: str, units: Sequence[UnitSpec]) -> None:
        super().__init__(scope, construct_id)
        self.ids: dict[str, str] = {}
        pending = list(units)
        while pending:
            # Parents before children; the config rules guarantee the tree has no cycle.
            ready = [unit for unit in pending if unit.parent is None or unit.parent in self.ids]
            if not ready:
                raise ValueError(f"organizational units without a reachable parent: {[u.key for u in pending]}")
            for unit in ready:
                pending.remove(unit)
                if unit.existing_id is not None:
                    self.ids[unit.key] = unit.existing_id
                    continue
                parent_id = root_id if unit.parent is None else self.ids[unit.parent]
                ou = organizations.CfnOrganizationalUnit(self, unit.key, name=unit.name, parent_id=parent_id)
                self.ids[unit.key] = ou.attr_id


class ServiceControlPolicies(Construct):
    """One AWS::Organizations::Policy per guardrail, attached to the OUs that ask for it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        documents: Mapping[str, PolicyDocument],
        targets: Mapping[str, Sequence[str]],
    ) -> None:
        """`documents` and `targets` are keyed by guardrail name; targets are OU ids."""
        super().__init__(scope, construct_id)
        self.policies: dict[str, organizations.CfnPolicy] = {}
        for name, document in documents.items():
            target_ids = list(targets.get(name, ()))
            if not target_ids:
                continue  # a guardrail no OU asks for is not created at all
            self.policies[name] = organizations.CfnPolicy(
                self,
                name,
                name=f"{name_prefix}-{name}",
                description=f"Guardrail {name} of the ML platform",
                type="SERVICE_CONTROL_POLICY",
                content=document,
                target_ids=target_ids,
            )


class MemberAccount(Construct):
    """An account the organization creates. Retained when removed from the template: closing
    an AWS account is a deliberate act, never the side effect of a stack update."""

    def __init__(self, scope: Construct, construct_id: str, *, name: str, email: str, parent_id: str) -> None:
        super().__init__(scope, construct_id)
        self.account = organizations.CfnAccount(
            self,
            "Account",
            account_name=name,
            email=email,
            parent_ids=[parent_id],
            role_name="OrganizationAccountAccessRole",
        )
        self.account.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
