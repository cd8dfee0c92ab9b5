"""The organization as AWS will evaluate it: which service control policies apply to each
account, level by level from the root, read from the synthesized organization stack (what
will be deployed) and placed by the config's OU of each account; and, as the preflight's
organization proof, what of that the assembly cannot show.

SCP evaluation ("How SCPs work" in the AWS Organizations User Guide): at the root, every OU on
the path and the account itself, some attached SCP must allow; AWS attaches FullAWSAccess to
each when an organization enables SCPs, and the platform never detaches it; the management
account's principals are not affected.

An adopted OU (config `id`) is not in the assembly: its level holds FullAWSAccess and the
platform's guardrails, and the path stops there. What it has besides (its other SCPs, the OUs
above it), an account the config takes to be in its OU without creating or moving it, and an
adopted trail are facts of the organization, not of the assembly: the proof says each by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from proofs.assembly import Stack
from proofs.context import ProofContext
from proofs.findings import Finding, Verdict
from proofs.iam import FULL_AWS_ACCESS, Policy, ScpLevel, ServiceControlPolicies
from stacks.config import Role
from stacks.config.models import OrganizationalUnit

PROOF = "organization"
SCP_EVALUATION = (
    "The SCPs attached to the root, to every OU on the path to an account and to the account apply to its "
    "principals: each level must allow, a deny at any level denies (AWS Organizations User Guide, 'SCP "
    "evaluation'); an account is in one OU or the root at a time"
)


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
    for unit in config.landing_zone.organizational_units:
        if unit.id is not None:
            units[unit.id] = _Unit(unit.id, unit.name, root)
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


def _keys(config_units: Sequence[OrganizationalUnit], units: dict[str, _Unit], root: str) -> dict[str, str]:
    """Match the config's OUs to the template's by name under the same parent; adopted ones by id."""
    found: dict[str, str] = {unit.key: unit.id for unit in config_units if unit.id is not None}
    pending = [unit for unit in config_units if unit.id is None]
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


def prove(context: ProofContext) -> list[Finding]:
    """What the organization must be for the other proofs' SCPs to hold, which the assembly does not
    show: adopted OUs, accounts taken to be in their OUs, an adopted trail. Undecided, by name."""
    config = context.config
    landing_zone = config.landing_zone
    findings = []
    for index, unit in enumerate(landing_zone.organizational_units):
        if unit.id is None:
            continue
        others = unit.other_policies - 1
        besides = (
            f"the {others} SCP(s) attached to it besides FullAWSAccess and the guardrails (attached_policies)"
            if others
            else "whether SCPs besides FullAWSAccess and the guardrails are attached to it"
        )
        findings.append(
            _undecided(
                f"landing_zone.organizational_units.{index} {unit.key} ({unit.id})",
                f"is adopted: the OUs above it and {besides} are not in the assembly; the proofs evaluate its "
                "accounts with FullAWSAccess and the platform's guardrails at this level and nothing above it. "
                "Other SCPs can only deny more",
                SCP_EVALUATION,
                f"check what they deny against what the platform deploys and runs: `aws organizations "
                f"list-policies-for-target --target-id {unit.id} --filter SERVICE_CONTROL_POLICY`, "
                f"`aws organizations list-parents --child-id {unit.id}`",
            )
        )
    if not (landing_zone.create_accounts or landing_zone.move_accounts):
        ids = {unit.key: unit.id for unit in landing_zone.organizational_units}
        for name, account, ou in config.member_ous():
            findings.append(
                _undecided(
                    f"accounts.{name} ({account.id})",
                    f"is taken to be in OU {ou} ({ids.get(ou) or 'created by the organization stack'}): the "
                    "platform neither creates nor moves it, so the guardrails the proofs apply to it hold only "
                    "if it is there",
                    SCP_EVALUATION,
                    f"check with `aws organizations list-parents --child-id {account.id}`, or set "
                    "landing_zone.move_accounts to have the platform move it",
                )
            )
    if landing_zone.trail.existing_arn is not None:
        arn = landing_zone.trail.existing_arn
        findings.append(
            _undecided(
                "landing_zone.trail.existing_arn",
                f"the organization trail {arn} is adopted: that it exists and logs every account and region of "
                "the organization into an archive is not in the assembly",
                "An organization trail logs the events of every account of the organization (CloudTrail User "
                "Guide, 'Creating a trail for an organization'); the platform creates neither the trail nor its "
                "archive",
                f"check with `aws cloudtrail describe-trails --trail-name-list {arn}` (IsOrganizationTrail, "
                f"IsMultiRegionTrail) and `aws cloudtrail get-trail-status --name {arn}` (IsLogging)",
            )
        )
    return findings


def _undecided(subject: str, problem: str, rule: str, fix: str) -> Finding:
    return Finding(PROOF, "organization", subject, problem, rule, fix, Verdict.UNDECIDED)
