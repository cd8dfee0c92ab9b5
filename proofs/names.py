"""Names a deploy would find taken: two stacks of one name in an account and Region, or two
resources that name themselves the same (the same ARN).

Where one account holds several roles, their stages deploy side by side; whatever two of them
would name alike, CloudFormation refuses the second ("AlreadyExists"), or, for stacks, updates
one stack with the other's template. The rules:
- a stack's name is unique in its account and Region (CloudFormation User Guide, "Create a
  stack": "The stack name must be unique in the Region in which you are creating the stack");
- a resource whose template sets its name is identified by it, in the scope its ARN has (IAM
  names per account, bucket names in the whole partition, most others per account and Region):
  two resources of one ARN are one resource, which only one stack can create (the
  CloudFormation resource reference, "Name type"; the ARN formats of the Service Authorization
  Reference, proofs.identities).
"""

from __future__ import annotations

from collections import defaultdict

from proofs.assembly import Environment, Stack
from proofs.context import ProofContext
from proofs.findings import Finding
from proofs.identities import IDENTITIES
from proofs.resolve import unresolved_parts

PROOF = "names"

STACK_NAME_RULE = (
    "A stack name must be unique in the account and Region it is created in (CloudFormation User Guide, "
    "'Create a stack'): a second stack of that name would update the first with its own template"
)
RESOURCE_NAME_RULE = (
    "A resource whose name the template sets is identified by that name in the scope of its ARN (CloudFormation "
    "resource reference, 'Name type'; Service Authorization Reference, ARN formats): a second resource of the "
    "same ARN is refused as AlreadyExists"
)


def prove(context: ProofContext) -> list[Finding]:
    return _stack_names(context) + _resource_names(context)


def _stack_names(context: ProofContext) -> list[Finding]:
    by_name: dict[tuple[Environment, str], list[Stack]] = defaultdict(list)
    for stack in context.assembly.stacks:
        by_name[(stack.environment, stack.stack_name)].append(stack)
    return [
        Finding(
            PROOF,
            context.where(environment),
            first.display_name,
            f"its stack name {name} is also the name of {', '.join(other.display_name for other in others)} "
            "in the same account and Region",
            STACK_NAME_RULE,
            "name the stacks of stages that can share an account apart (stacks.naming)",
        )
        for (environment, name), (first, *others) in sorted(by_name.items())
        if others
    ]


def _resource_names(context: ProofContext) -> list[Finding]:
    """Resources of types whose ARN holds their name, where the template sets it."""
    owners: dict[str, list[tuple[Stack, str]]] = defaultdict(list)
    for stack in context.assembly.stacks:
        for resource in stack.resources(*IDENTITIES):
            identity = IDENTITIES[resource.type]
            named = identity.name_property in resource.properties
            if identity.arn is None or "{name}" not in identity.arn or not named:
                continue
            arn = context.resolver.identity(stack, resource.logical_id, "arn")
            if isinstance(arn, str) and not unresolved_parts(arn):
                owners[arn].append((stack, resource.logical_id))
    return [
        Finding(
            PROOF,
            context.where(first.environment),
            f"{first.display_name} {logical_id}",
            f"names itself {arn}, as "
            + ", ".join(f"{stack.display_name} {other}" for stack, other in others)
            + " does too",
            RESOURCE_NAME_RULE,
            "derive the names of resources that stages sharing an account both create from what tells them "
            "apart (stacks.naming)",
        )
        for arn, ((first, logical_id), *others) in sorted(owners.items())
        if others
    ]
