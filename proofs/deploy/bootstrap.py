"""How each account is bootstrapped for the platform: its generated execution policies and
permissions boundary (proofs.deploy.policies), the regions, the account its deploy roles trust,
and the order the accounts can be bootstrapped in.

- The management account trusts no other account: its stages change the organization, so
  they are deployed from the management account itself, never by the pipeline (whoever
  controlled shared-services would otherwise control the organization).
- Every other account trusts the shared-services account, where the pipelines run; the
  shared-services account trusts no other.
- A trust policy may name only an account that exists. When the platform creates the member
  accounts (`landing_zone.create_accounts`), the management account is bootstrapped and its
  organization stage deployed first; the other accounts are bootstrapped once they exist,
  shared-services first.
"""

from __future__ import annotations

from dataclasses import dataclass

from proofs.context import ProofContext
from proofs.deploy.permissions import account_deployments
from proofs.deploy.policies import ManagedPolicy
from proofs.iam import Policy, ResourcePolicy, ResourcePolicyKind, root_arn
from stacks import naming
from stacks.config import Role


@dataclass(frozen=True)
class AccountBootstrap:
    name: str
    account: str
    regions: tuple[str, ...]
    trusted_account: str | None
    execution_policies: tuple[ManagedPolicy, ...]
    boundary: ManagedPolicy
    phase: int
    """1: the management account; 2: shared-services; 3: every other account."""

    def cdk_bootstrap_arguments(self) -> list[str]:
        arns = ",".join(policy.arn(self.account) for policy in self.execution_policies)
        trust = ["--trust", self.trusted_account] if self.trusted_account else []
        return [
            *(f"aws://{self.account}/{region}" for region in self.regions),
            *trust,
            "--cloudformation-execution-policies",
            arns,
            "--custom-permissions-boundary",
            self.boundary.name,
        ]


def bootstrap_plan(context: ProofContext) -> list[AccountBootstrap]:
    """Every account of the config, in the order they can be bootstrapped."""
    config = context.config
    _, shared_services = config.account_with(Role.SHARED_SERVICES)
    deployments = account_deployments(context)
    plans = []
    for name, account in config.accounts.items():
        deployment = deployments.get(account.id)
        if deployment is None:
            continue
        management = Role.MANAGEMENT in account.roles
        phase = 1 if management else 2 if account.id == shared_services.id else 3
        regions = sorted({stack.region for stack in context.assembly.stacks if stack.account == account.id})
        home = config.region_of(account)
        plans.append(
            AccountBootstrap(
                name=name,
                account=account.id,
                regions=(home, *(region for region in regions if region != home)),
                trusted_account=None if phase < 3 else shared_services.id,
                execution_policies=tuple(deployment.policies),
                boundary=deployment.boundary,
                phase=phase,
            )
        )
    return sorted(plans, key=lambda plan: plan.phase)


def policy_file(plan: AccountBootstrap, policy: ManagedPolicy) -> str:
    return f"{plan.name}-{policy.name}.json"


def boundary_policies(plans: list[AccountBootstrap]) -> dict[str, Policy]:
    """Every account's permissions boundary document, by the ARN its roles name it with."""
    return {plan.boundary.arn(plan.account): Policy(plan.boundary.name, plan.boundary.document) for plan in plans}


def deploy_role_trust(plan: AccountBootstrap, region: str) -> tuple[str, ResourcePolicy]:
    """The ARN and trust policy of the account's CDK deploy role in `region`: the CDK bootstrap
    template lets its own account and the `--trust` accounts assume it."""
    arn = f"arn:aws:iam::{plan.account}:role/{naming.cdk_bootstrap_role('deploy', plan.account, region)}"
    trusted = sorted({plan.account, *([plan.trusted_account] if plan.trusted_account else [])})
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": [root_arn(account) for account in trusted]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    return arn, ResourcePolicy(f"trust policy of {arn} (cdk bootstrap)", document, ResourcePolicyKind.TRUST_POLICY)
