"""Proof 4 of the preflight, references: everything a template names exists, where and when
AWS needs it.

Every account, role, managed policy, bucket, KMS key, event bus, SSM parameter, export and
stack output that a template names (proofs.references.collect) must be created by a stack of
the assembly in that account and Region, or be on a reviewed list (proofs.references.known):
AWS's own (managed policies, public parameters, service-linked roles), what `cdk bootstrap`
creates in every bootstrapped account and Region, or what the config supplies from outside
the platform. And it must exist in time (proofs.references.order): what CloudFormation reads
before any resource (SSM parameter types, dynamic references, Fn::GetStackOutput,
Fn::ImportValue) from a stack that deploys earlier; what IAM or the service checks as the
resource is created (policy principals, roles passed to services, launch roles, buckets and
keys) from an earlier stack or a resource of the same stack ordered before it; what is only
stored (policy resources and conditions, environment variables) from any stack.

Service Catalog and StackSets (proofs.references.catalog): launch constraints' roles exist in
the hub and in the accounts the portfolio reaches, the product templates' parameters there,
and neither product nor StackSet templates name the hub account.

What depends on a value given only at deploy time is said by name (Verdict.UNDECIDED).
"""

from __future__ import annotations

from dataclasses import dataclass

from proofs.assembly import Stack
from proofs.context import ProofContext
from proofs.findings import Finding, Verdict
from proofs.references.catalog import hub_account_findings, launch_references, launches
from proofs.references.checker import Checker
from proofs.references.collect import Kind, Position, stack_references
from proofs.references.rules import PROOF, Rule

__all__ = ["PROOF", "Judged", "judge", "prove"]


@dataclass(frozen=True)
class Judged:
    findings: list[Finding]
    used: set[str]
    """The reviewed entries that applied: known.AWS_OWNED and known.CONFIG_SUPPLIED by name,
    collect.STORED as `<resource type> <path>`, catalog.LAUNCH_SCOPES by their products."""


def prove(context: ProofContext) -> list[Finding]:
    return judge(context).findings


def judge(context: ProofContext) -> Judged:
    checker = Checker(context)
    findings: list[Finding] = []
    for stack in context.assembly.stacks:
        findings += _stack_findings(context, checker, stack)
        findings += hub_account_findings(context, stack)
        reached, undecided = launches(context, stack, checker.used)
        findings += undecided
        findings += [
            finding
            for launch in reached
            for reference in launch_references(launch)
            if (finding := checker.judge(reference)) is not None
        ]
    return Judged(sorted(set(findings)), checker.used)


def _stack_findings(context: ProofContext, checker: Checker, stack: Stack) -> list[Finding]:
    findings: list[Finding] = []
    if checker.order.wave(stack) is None:
        findings.append(
            Finding(
                PROOF,
                context.where(stack.environment),
                stack.display_name,
                f"its stage {stack.stage} is in no wave of stacks/deployment_order.py: when it deploys is unknown",
                str(Rule.CREATED_BEFORE),
                "plan the stage (stacks.deployment_order)",
                Verdict.UNDECIDED,
            )
        )
    found = stack_references(context.resolver, stack)
    checker.used.update(f"{entry.resource_type} {entry.path}" for entry in found.stored)
    judged: set[tuple[str | None, Kind, str, Position]] = set()
    for reference in found.references:
        key = (reference.logical_id, reference.kind, reference.name, reference.position)
        if key not in judged:
            judged.add(key)
            finding = checker.judge(reference)
            findings += [finding] if finding is not None else []
    findings += [
        Finding(
            PROOF,
            context.where(stack.environment),
            f"{stack.display_name} {where}",
            f"uses parameter {parameter}, given at deploy time: whether what it names exists cannot be decided offline",
            str(Rule.UNDECIDED),
            "make sure the deployer passes an existing value (the models' pipelines pass the approved package)",
            Verdict.UNDECIDED,
        )
        for parameter, where in found.deploy_time.items()
    ]
    return findings
