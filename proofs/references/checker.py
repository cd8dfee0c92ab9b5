"""Judges what a template names: what creates it (the assembly, the bootstrap, AWS, the config)
and whether it exists by the time CloudFormation or the service needs it."""

from __future__ import annotations

from dataclasses import dataclass

from proofs.assembly import Environment, Stack
from proofs.context import ProofContext
from proofs.deploy.bootstrap import bootstrap_plan
from proofs.findings import Finding, Verdict
from proofs.references.collect import Kind, Position, Reference, Timing
from proofs.references.known import AWS_OWNED, CONFIG_SUPPLIED, bootstrapped
from proofs.references.order import DeployOrder
from proofs.references.rules import PROOF, rule_of


@dataclass(frozen=True)
class Provider:
    """What makes a named thing exist."""

    what: str
    stack: Stack | None = None
    """The stack that creates it (None: it exists before any stack deploys)."""
    logical_id: str | None = None
    """The resource that creates it; None: the whole stack (an output, or what a bootstrap
    creates once the account the stack creates exists)."""


class Checker:
    """Judges references against the assembly, the lists and the deploy order; indexes once."""

    def __init__(self, context: ProofContext) -> None:
        self.context = context
        self.order = DeployOrder(context.assembly, context.config)
        self.used: set[str] = set()
        """Names of the list entries (known.AWS_OWNED, known.CONFIG_SUPPLIED) that matched."""
        self._created_accounts = _created_accounts(context)
        self._bootstrap: dict[str, Provider] = {}
        """What the bootstrap creates, by ARN (its names hold the account and Region) or, for
        its version parameter, by `<environment> <name>`."""
        for plan in bootstrap_plan(context):
            creator = self._created_accounts.get(plan.account)
            provider = Provider(
                f"cdk bootstrap of {plan.name}" + (" once the account exists" if creator else ""),
                creator.stack if creator else None,
            )
            for name, environment in bootstrapped(plan):
                self._bootstrap[name if name.startswith("arn:") else f"{environment} {name}"] = provider
        self._config_supplied = {value: entry.field for entry in CONFIG_SUPPLIED for value in entry.values(context)}
        self._exports: dict[tuple[Environment, str], Stack] | None = None

    def judge(self, reference: Reference) -> Finding | None:
        providers, missing = self.providers(reference)
        if not providers:
            return self._finding(reference, f"which {missing}", _fix_missing(reference))
        problems = [self.ordered(provider, reference) for provider in providers]
        if None in problems:
            return None
        first = problems[0]
        assert first is not None
        return self._finding(reference, f"which is not there yet: {first}", _fix_order(reference, providers[0]))

    def providers(self, reference: Reference) -> tuple[list[Provider], str]:
        """What creates the named thing, or (none and) why nothing does, in words."""
        outside = self._outside(reference.name)
        if outside is not None:
            return [outside], ""
        by_kind = {
            Kind.PARAMETER: self._parameter,
            Kind.STACK_OUTPUT: self._output,
            Kind.EXPORT: self._export,
            Kind.ACCOUNT: self._named_account,
        }.get(reference.kind)
        if by_kind is not None:
            return by_kind(reference.name, reference.environment)
        return self._resource(reference)

    def _outside(self, name: str) -> Provider | None:
        """AWS's own, or what the config supplies."""
        listed = next((entry for entry in AWS_OWNED if entry.matches(name)), None)
        if listed is not None:
            self.used.add(listed.name)
            return Provider(f"AWS ({listed.name})")
        field = self._config_supplied.get(name)
        if field is not None:
            self.used.add(field)
            return Provider(f"the config ({field})")
        return None

    def _resource(self, reference: Reference) -> tuple[list[Provider], str]:
        name, environment = reference.name, reference.environment
        bootstrap = self._bootstrap.get(name)
        located = self.context.index.candidates(name)
        if name.startswith("arn:aws:iam:::"):
            # A role name without an account (a portfolio's principal name): any account's role.
            located = [
                found
                for account in self.context.config.account_ids()
                for found in self.context.index.candidates(name.replace("iam:::", f"iam::{account}:", 1))
            ]
        if bootstrap is not None or located:
            # A made-up name of a global resource is the same in every Region (proofs.identities):
            # the referrer's own stack, then its Region, come first.
            nearest = sorted(
                located,
                key=lambda found: (found.stack is not reference.stack, found.stack.environment != environment),
            )
            found = [Provider(found.resource.path, found.stack, found.resource.logical_id) for found in nearest]
            return [bootstrap] if bootstrap is not None else found, ""
        account = name.split(":")[4]
        if reference.kind is Kind.OTHER:
            # Only its account is judged: the proof models no other kind's existence.
            if not account.isdigit():
                return [Provider("an ARN of no account")], ""
            providers, _ = self._account(account)
            return providers, f"is in account {account}, which is not an account of the organization (the config)"
        return [], f"no stack of the assembly creates in {self.context.where(environment)}"

    def _parameter(self, name: str, environment: Environment) -> tuple[list[Provider], str]:
        if name.startswith("arn:"):
            name = name.split(":parameter", 1)[1]
        bootstrap = self._bootstrap.get(f"{environment} {name}")
        if bootstrap is not None:
            return [bootstrap], ""
        published = self.context.resolver.ssm_parameter(environment, name)
        if published is not None:
            resource = published.stack.resource(published.logical_id)
            return [Provider(resource.path, published.stack, published.logical_id)], ""
        if name.startswith("/aws/"):
            return [], "is an AWS public parameter the proof does not list (proofs.references.known)"
        return [], f"no stack of the assembly publishes in {self.context.where(environment)}"

    def _output(self, name: str, environment: Environment) -> tuple[list[Provider], str]:
        stack_name, output = name.rsplit("/", 1)
        source = self.context.assembly.stack_named(stack_name, environment)
        if source is None:
            return [], f"no stack {stack_name} of the assembly in {self.context.where(environment)} has"
        if output not in source.template.get("Outputs", {}):
            return [], f"the stack {source.display_name} does not output"
        return [Provider(f"{source.display_name} output {output}", source)], ""

    def _export(self, name: str, environment: Environment) -> tuple[list[Provider], str]:
        if self._exports is None:
            self._exports = {}
            for stack in self.context.assembly.stacks:
                for output in stack.template.get("Outputs", {}).values():
                    if "Export" in output:
                        exported = self.context.resolver.resolve(stack, output["Export"].get("Name"))
                        self._exports.setdefault((stack.environment, str(exported)), stack)
        source = self._exports.get((environment, name))
        if source is None:
            return [], f"no stack of the assembly exports in {self.context.where(environment)}"
        return [Provider(f"{source.display_name} export {name}", source)], ""

    def _named_account(self, account: str, _: Environment) -> tuple[list[Provider], str]:
        return self._account(account)

    def _account(self, account: str) -> tuple[list[Provider], str]:
        creator = self._created_accounts.get(account)
        if creator is not None:
            return [creator], ""
        if account in self.context.config.account_ids():
            return [Provider(f"the organization's account {self.context.account_name(account)}")], ""
        return [], "is not an account of the organization (the config)"

    def ordered(self, provider: Provider, reference: Reference) -> str | None:
        """Why `provider` does not exist when `reference` needs it; None if it does."""
        stack = provider.stack
        if stack is None or reference.timing is Timing.WHEN_USED:
            return None
        if stack is reference.stack:
            return self._same_stack(provider, reference)
        if None in (self.order.wave(stack), self.order.wave(reference.stack)):
            return None  # undecided: said once for the stack whose stage has no wave
        if self.order.deploys_before(stack, reference.stack):
            return None
        return f"{provider.what}: {self.order.relation(stack, reference.stack)}"

    def _same_stack(self, provider: Provider, reference: Reference) -> str | None:
        if reference.timing is Timing.BEFORE_STACK:
            return f"{provider.what} is in the same stack, and CloudFormation reads it before it creates any resource"
        if provider.logical_id is None:
            return f"{provider.what}, after the stack that names it"
        if reference.logical_id in (provider.logical_id, None) or self.order.created_before(
            reference.stack, provider.logical_id, str(reference.logical_id)
        ):
            return None
        return (
            f"{provider.logical_id}, of the same stack, may be created after {reference.logical_id}: no Ref, "
            "Fn::GetAtt or DependsOn orders them"
        )

    def _finding(self, reference: Reference, problem: str, fix: str, verdict: Verdict = Verdict.FAILS) -> Finding:
        stack = reference.stack
        what = f"{reference.kind.value} {reference.name}"
        # A product fails where it is launched; everything else where the stack deploys.
        where = reference.environment if reference.position is Position.LAUNCH else stack.environment
        return Finding(
            PROOF,
            self.context.where(where),
            f"{stack.display_name} {reference.path}",
            f"names {what} ({reference.position.value}, needed {reference.timing.value}), {problem}",
            str(rule_of(reference)),
            fix,
            verdict,
        )


def _fix_missing(reference: Reference) -> str:
    if reference.kind in (Kind.ACCOUNT, Kind.OTHER):
        return "name an account of the config (AWS::AccountId for the stack's own), or list what the config supplies"
    if reference.position is Position.STORED:
        return "name what a stack of the assembly creates (or remove the name)"
    if reference.position is Position.LAUNCH:
        return (
            f"create it in {reference.environment} (the account's SelfService stack), or leave the product out "
            "there with a reviewed scope (proofs.references.catalog.LAUNCH_SCOPES)"
        )
    if reference.position is Position.LAUNCH_ROLE:
        return (
            "create a role of that name in the hub too, before the constraint (Ref it; no permissions needed: "
            "stacks.self_service_stack.CatalogStack.launch_role)"
        )
    return (
        f"create it in a stack of {reference.environment} that deploys before {reference.stack.display_name}, "
        "or add what exists outside the platform to proofs.references.known with its reason"
    )


def _fix_order(reference: Reference, provider: Provider) -> str:
    if provider.stack is reference.stack and reference.timing is Timing.BEFORE_STACK:
        return "within the stack, refer to the resource itself; what the stack reads must come from an earlier stack"
    if provider.stack is reference.stack:
        return "refer to it with Ref or Fn::GetAtt, or add DependsOn, so CloudFormation creates it first"
    return (
        f"deploy {provider.stack.display_name if provider.stack else provider.what} first: in an earlier wave "
        "(stacks/deployment_order.py) or, within one stage, as a stack dependency"
    )


def _created_accounts(context: ProofContext) -> dict[str, Provider]:
    """The config's accounts that an AWS::Organizations::Account of the assembly creates,
    matched by the email the config gives them."""
    by_email = {account.email: account.id for account in context.config.accounts.values() if account.email}
    found: dict[str, Provider] = {}
    for stack in context.assembly.stacks:
        for resource in stack.resources("AWS::Organizations::Account"):
            account = by_email.get(str(resource.properties.get("Email")))
            if account is not None:
                found[account] = Provider(resource.path, stack, resource.logical_id)
    return found
