"""Proof 3 of the preflight: every CloudFormation deploy action of every pipeline (the models'
deployment pipelines, the platform's CDK pipeline) can run.

For each action of provider CloudFormation:
- the template it deploys exists in its input artifact (the synthesized cloud assembly);
- its capabilities cover the template: IAM resources need CAPABILITY_IAM, named ones
  CAPABILITY_NAMED_IAM, transforms and nested stacks CAPABILITY_AUTO_EXPAND (CloudFormation
  API Reference, CreateStack: Capabilities; "Acknowledging IAM resources");
- every template parameter without a default gets a value from the action;
- the action's role is the target account's CDK deploy role, which the pipeline's role may
  assume: its identity policies allow it, and the deploy role trusts the pipeline's account
  (the bootstrap's --trust, proofs.deploy.bootstrap);
- the role CloudFormation runs as is the target account's execution role, the one whose
  permissions proof 1 established.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proofs.assembly import Stack
from proofs.context import ProofContext
from proofs.deploy.bootstrap import bootstrap_plan, boundary_policies, deploy_role_trust
from proofs.findings import Finding, Verdict
from proofs.iam import (
    Principal,
    Request,
    evaluate,
    principal_context,
)
from proofs.organization import organization_view, service_control_policies
from proofs.roles import Roles

PROOF = "deploy-actions"
_NAMED_IAM = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
}
_CAPABILITIES_RULE = (
    "CloudFormation CreateStack/CreateChangeSet Capabilities: a template with IAM resources needs "
    "CAPABILITY_IAM, with custom-named ones CAPABILITY_NAMED_IAM, with macros or nested stacks "
    "CAPABILITY_AUTO_EXPAND, or CloudFormation refuses it (InsufficientCapabilities)"
)


@dataclass(frozen=True)
class DeployAction:
    pipeline: Stack
    pipeline_role: str
    name: str
    configuration: Mapping[str, Any]
    action_role: str | None


def needed_capabilities(template: Mapping[str, Any]) -> set[str]:
    """The capabilities CloudFormation requires to deploy `template`."""
    needed: set[str] = set()
    for resource in template.get("Resources", {}).values():
        kind = resource.get("Type", "")
        if kind.startswith("AWS::IAM::"):
            named = _NAMED_IAM.get(kind)
            needed.add(
                "CAPABILITY_NAMED_IAM" if named and named in resource.get("Properties", {}) else "CAPABILITY_IAM"
            )
        if kind == "AWS::CloudFormation::Stack":
            needed.add("CAPABILITY_AUTO_EXPAND")
    if template.get("Transform"):
        needed.add("CAPABILITY_AUTO_EXPAND")
    if "CAPABILITY_NAMED_IAM" in needed:
        needed.discard("CAPABILITY_IAM")  # NAMED_IAM covers unnamed IAM resources too
    return needed


def prove(context: ProofContext) -> list[Finding]:
    checker = _Checker(context)
    return [finding for action in _deploy_actions(context) for finding in checker.check(action)]


def _deploy_actions(context: ProofContext) -> Iterator[DeployAction]:
    for stack in context.assembly.stacks:
        for resource in stack.resources("AWS::CodePipeline::Pipeline"):
            properties = context.resolver.resolve(stack, resource.properties)
            for stage in properties.get("Stages", []):
                for action in stage.get("Actions", []):
                    if action.get("ActionTypeId", {}).get("Provider") != "CloudFormation":
                        continue
                    yield DeployAction(
                        pipeline=stack,
                        pipeline_role=str(properties.get("RoleArn")),
                        name=f"{properties.get('Name', resource.path)}/{stage['Name']}/{action['Name']}",
                        configuration=action.get("Configuration", {}),
                        action_role=action.get("RoleArn"),
                    )


class _Checker:
    def __init__(self, context: ProofContext) -> None:
        self.context = context
        plans = bootstrap_plan(context)
        self.plans = {plan.account: plan for plan in plans}
        self.roles = Roles(context.resolver, boundary_policies(plans))
        self.organization = organization_view(context)

    def check(self, action: DeployAction) -> list[Finding]:
        if action.configuration.get("ActionMode") == "CHANGE_SET_EXECUTE":
            return []  # executes what its CHANGE_SET_REPLACE action (checked here) prepared
        template_path = str(action.configuration.get("TemplatePath", ""))
        target = _stack_of(self.context, self.context.assembly.directory / template_path.partition("::")[2])
        if target is None:
            return [
                self._finding(
                    action,
                    f"the template {template_path} is not in the synthesized cloud assembly",
                    "CodePipeline CloudFormation action: TemplatePath must name a file of the input artifact",
                    "point the action at a template the synth step produces",
                )
            ]
        return [
            *self._capabilities(action, target),
            *self._parameters(action, target),
            *self._roles(action, target),
        ]

    def _finding(
        self, action: DeployAction, problem: str, rule: str, fix: str, verdict: Verdict = Verdict.FAILS
    ) -> Finding:
        return Finding(PROOF, self.context.where(action.pipeline.environment), action.name, problem, rule, fix, verdict)

    def _capabilities(self, action: DeployAction, target: Stack) -> list[Finding]:
        granted = set(str(action.configuration.get("Capabilities", "")).split(",")) - {""}
        if "CAPABILITY_NAMED_IAM" in granted:
            granted.add("CAPABILITY_IAM")  # acknowledges every IAM resource, named or not
        missing = needed_capabilities(target.template) - granted
        if not missing:
            return []
        problem = (
            f"deploys {target.display_name}, which needs {', '.join(sorted(missing))}; the action grants "
            f"{', '.join(sorted(granted)) or 'none'}"
        )
        return [
            self._finding(action, problem, _CAPABILITIES_RULE, "give the action the capabilities (cfn_capabilities)")
        ]

    def _parameters(self, action: DeployAction, target: Stack) -> list[Finding]:
        overrides = json.loads(action.configuration.get("ParameterOverrides") or "{}")
        unset = [
            name
            for name, parameter in target.template.get("Parameters", {}).items()
            if "Default" not in parameter and name not in overrides
        ]
        if not unset:
            return []
        return [
            self._finding(
                action,
                f"gives no value to {', '.join(unset)} of {target.display_name}, which have no default",
                "CloudFormation: every parameter without a Default needs a value (ValidationError otherwise)",
                "pass them in ParameterOverrides",
            )
        ]

    def _roles(self, action: DeployAction, target: Stack) -> list[Finding]:
        """CloudFormation runs as the target's execution role; the action runs as the target's
        deploy role, which the pipeline's role may assume."""
        findings = []
        if action.configuration.get("RoleArn") != target.execution_role_arn:
            findings.append(
                self._finding(
                    action,
                    f"CloudFormation runs as {action.configuration.get('RoleArn')}, not {target.display_name}'s "
                    f"execution role {target.execution_role_arn}, whose permissions the preflight proves",
                    "the deploy-permissions proof holds only for the bootstrapped execution role",
                    "deploy with the target account's CDK execution role",
                )
            )
        if action.action_role is None or action.action_role != target.deploy_role_arn:
            findings.append(
                self._finding(
                    action,
                    f"runs as {action.action_role}, not {target.display_name}'s deploy role {target.deploy_role_arn}",
                    "cross-account CloudFormation actions run as a role of the target account that trusts the pipeline",
                    "use the target account's CDK deploy role",
                )
            )
            return findings
        return findings + self._assumable(action, action.action_role, target)

    def _assumable(self, action: DeployAction, deploy_role: str, target: Stack) -> list[Finding]:
        pipeline_role = self.roles.get(action.pipeline_role)
        if pipeline_role is None:
            return [
                self._finding(
                    action,
                    f"the pipeline's role {action.pipeline_role} is not a role of the assembly",
                    "STS AssumeRole needs the caller's identity policies",
                    "name the pipeline role the stack creates",
                    Verdict.UNDECIDED,
                )
            ]
        plan = self.plans.get(target.account)
        if plan is None:
            return [
                self._finding(
                    action,
                    f"{target.display_name}'s account {target.account} is not bootstrapped",
                    "CDK deploys only into bootstrapped environments",
                    "bootstrap it (make bootstrap-commands)",
                )
            ]
        _, trust = deploy_role_trust(plan, target.region)
        principal = Principal.role(pipeline_role.arn)
        decision = evaluate(
            Request("sts:AssumeRole", deploy_role, principal, principal_context(principal)),
            identity_policies=pipeline_role.identity_policies,
            permissions_boundary=pipeline_role.boundary,
            service_control_policies=service_control_policies(self.context, self.organization, pipeline_role.account),
            resource_policy=trust,
        )
        if decision.allowed:
            return []
        return [
            self._finding(
                action,
                f"the pipeline role may not assume {deploy_role}: {decision}",
                "STS AssumeRole across accounts: the caller's identity policies and the role's trust policy must "
                "both allow",
                "bootstrap the target account trusting the pipeline's account (make bootstrap-commands), and let "
                "the pipeline role assume its deploy role",
            )
        ]


def _stack_of(context: ProofContext, template_file: Path) -> Stack | None:
    resolved = template_file.resolve()
    return next((stack for stack in context.assembly.stacks if stack.template_path.resolve() == resolved), None)
