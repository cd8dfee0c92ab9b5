"""Proof of the preflight: each Service Catalog product's launch role may create, update and
delete every resource of the product's template, in every account the product launches in.

A product with a launch constraint is provisioned by CloudFormation as the constraint's role,
not as the person who launches it ("AWS Service Catalog launch constraints", Service Catalog
Administrator Guide): the launch role takes the part the execution role takes for the
platform's own stacks. Its requirements are derived as for any stack (proofs.deploy.requirements)
from the product template, placed in the launching account, and decided with the launch role's
identity policies, its permissions boundary and the account's SCPs (proofs.deploy.permissions).
Where the product launches, and as which role, comes from the portfolio's shares and
constraints (proofs.references.catalog).
"""

from __future__ import annotations

import dataclasses

from proofs.assembly import Environment, Stack
from proofs.context import ProofContext
from proofs.deploy.bootstrap import bootstrap_plan, boundary_policies
from proofs.deploy.permissions import Deployer, ExecutionRolePolicies, evaluate_requirements, undecided
from proofs.deploy.requirements import stack_requirements
from proofs.findings import Finding
from proofs.organization import organization_view, service_control_policies
from proofs.references.catalog import Launch, launches
from proofs.roles import Roles

PROOF = "launch-permissions"
LAUNCH_ROLE = Deployer(
    PROOF,
    "the launch role",
    "grant it in the product's launch statements (stacks.self_service_stack), or change what denies it",
)


def launched_stacks(context: ProofContext) -> list[tuple[Launch, Stack]]:
    """Each product template as the stack its launch creates: in the launching account and the
    portfolio's region, deployed as the launch role."""
    found = []
    for stack in context.assembly.stacks:
        reached, _ = launches(context, stack, set())
        for launch in reached:
            role_arn = f"arn:aws:iam::{launch.account}:role/{launch.role_name}"
            for template in launch.templates:
                found.append(
                    (
                        launch,
                        dataclasses.replace(
                            stack,
                            artifact_id=f"{launch.product}-{launch.account}",
                            display_name=f"product {launch.product} launched in {context.account_name(launch.account)}",
                            stack_name=f"SC-{launch.account}-pp-{launch.product}",
                            environment=Environment(launch.account, stack.region),
                            template_path=template,
                            execution_role_arn=role_arn,
                            deploy_role_arn=None,
                            dependencies=(),
                            asset_templates=(),
                            asset_template_hashes={},
                        ),
                    )
                )
    return found


def prove(context: ProofContext) -> list[Finding]:
    roles = Roles(context.resolver, boundary_policies(bootstrap_plan(context)))
    view = organization_view(context)
    findings: list[Finding] = []
    for _, stack in launched_stacks(context):
        role = roles.get(str(stack.execution_role_arn))
        if role is None:
            continue  # a launch role the account lacks is the references proof's finding
        policies = ExecutionRolePolicies(
            list(role.identity_policies), role.boundary, service_control_policies(context, view, stack.account)
        )
        derived = stack_requirements(context, stack)
        findings += evaluate_requirements(context, derived.required, policies, LAUNCH_ROLE)
        findings += undecided(context, derived.unknown, PROOF)
    return findings
