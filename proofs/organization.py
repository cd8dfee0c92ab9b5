"""The organization as AWS will evaluate it: which service control policies apply to each
account, level by level from the root, read from the synthesized organization stack (what
will be deployed) and placed by the config's OU of each account.

SCP evaluation ("How SCPs work" in the AWS Organizations User Guide): at the root, every OU on
the path and the account itself, some attached SCP must allow; AWS attaches FullAWSAccess to
each when an organization enables SCPs, and the platform never detaches it; the management
account's principals are not affected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from proofs.assembly import Stack
from proofs.context import ProofContext
from proofs.iam import FULL_AWS_ACCESS, Policy, ScpLevel, ServiceControlPolicies
from stacks.config import Role


@dataclass(frozen=True)
class _Unit:
    logical_id: str
    name: str
    parent: str
    """The parent's logical id, or the root id."""


@dataclass(frozen=True)
class OrganizationView:
    management_account: str
    root_id: str
    units: dict[str, _Unit]
    """By logical id of the AWS::Organizations::OrganizationalUnit."""
    unit_of_key: dict[str, str]
    """Config OU key -> logical id."""
    attached: dict[str, list[Policy]]
    """Target (root id or OU logical id) -> the platform's SCPs attached there."""

    def levels(self, account_ou: str | None) -> list[ScpLevel]:
        """Root first, then each OU down to the account's, then the account."""
        path: list[str] = []
        current = self.unit_of_key.get(account_ou) if account_ou else None
        while current is not None and current in self.units:
            path.insert(0, current)
            parent = self.units[current].parent
            current = parent if parent in self.units else None
        levels = [ScpLevel("Root", [FULL_AWS_ACCESS, *self.attached.get(self.root_id, [])])]
        levels += [ScpLevel(self.units[unit].name, [FULL_AWS_ACCESS, *self.attached.get(unit, [])]) for unit in path]
        levels.append(ScpLevel("account", [FULL_AWS_ACCESS]))
        return levels


def organization_view(context: ProofContext) -> OrganizationView:
    config = context.config
    _, management = config.account_with(Role.MANAGEMENT)
    root = config.landing_zone.root_id
    stack = _organization_stack(context, management.id)
    units: dict[str, _Unit] = {}
    attached: dict[str, list[Policy]] = {}
    if stack is not None:
        for resource in stack.resources("AWS::Organizations::OrganizationalUnit"):
            parent = resource.properties.get("ParentId")
            parent_id = _logical_id(parent) or str(parent)
            units[resource.logical_id] = _Unit(resource.logical_id, str(resource.properties.get("Name")), parent_id)
        for resource in stack.resources("AWS::Organizations::Policy"):
            if resource.properties.get("Type") != "SERVICE_CONTROL_POLICY":
                continue
            document = context.resolver.resolve(stack, resource.properties.get("Content"))
            policy = Policy(str(resource.properties.get("Name", resource.logical_id)), document)
            for target in resource.properties.get("TargetIds", []):
                attached.setdefault(_logical_id(target) or str(target), []).append(policy)
    return OrganizationView(
        management.id, root, units, _keys(config.landing_zone.organizational_units, units, root), attached
    )


def service_control_policies(context: ProofContext, view: OrganizationView, account_id: str) -> ServiceControlPolicies:
    account = next((a for a in context.config.accounts.values() if a.id == account_id), None)
    ou = context.config.ou_of(account) if account is not None else None
    return ServiceControlPolicies(view.levels(ou), view.management_account)


def _organization_stack(context: ProofContext, management_account: str) -> Stack | None:
    return next(
        (
            stack
            for stack in context.assembly.stacks
            if stack.account == management_account and any(stack.resources("AWS::Organizations::Policy"))
        ),
        None,
    )


def _logical_id(value: Any) -> str | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target[0] if isinstance(target, list) else target.split(".")[0])
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    return None


def _keys(config_units: Any, units: dict[str, _Unit], root: str) -> dict[str, str]:
    """Match the config's OUs to the template's by name under the same parent."""
    found: dict[str, str] = {}
    pending = list(config_units)
    while pending:
        progressed = False
        for unit in list(pending):
            parent = root if unit.parent is None else found.get(unit.parent)
            if parent is None:
                continue
            match = next((u for u in units.values() if u.name == unit.name and u.parent == parent), None)
            if match is not None:
                found[unit.key] = match.logical_id
            pending.remove(unit)
            progressed = True
        if not progressed:
            break
    return found
