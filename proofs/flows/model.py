"""A runtime flow as the flow proofs state it: hops, each a request a caller makes at run time,
decided by everything AWS evaluates for it, and its network path where a VPC is involved.

A hop's caller is a role of the assembly (its identity-based policies and permissions boundary,
proofs.roles; the SCPs of its account, proofs.organization) or an AWS service principal. The
resource's own policy (bucket, key, event bus, model package group, repository, role trust) comes
from the assembly (proofs.resource_policies); a Service Catalog product's is its portfolio's
principal names and shares (proofs.references.catalog). A hop whose caller runs in a VPC also needs a path
to the service that serves the action (proofs.network). A negative hop must be denied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from proofs.context import ProofContext
from proofs.deploy.bootstrap import bootstrap_plan, boundary_policies, deploy_role_trust
from proofs.iam import ContextValue, Decision, Policy, Principal, Request, evaluate, principal_context
from proofs.network import Compute, endpoint_services, path_exists
from proofs.organization import OrganizationView, organization_view, service_control_policies
from proofs.references.catalog import portfolio_access
from proofs.roles import Roles


@dataclass(frozen=True)
class Caller:
    """Who makes a hop's requests."""

    name: str
    """How the flow names it: a role's purpose, a function, a service."""
    principal: Principal
    account: str
    identity: tuple[Policy, ...] = ()
    boundary: Policy | None = None
    compute: Compute | None = None
    """Where it runs, when that is in a VPC: its requests need a network path."""
    unread: tuple[str, ...] = ()
    """Policies it carries that the assembly does not hold (AWS managed ones), by name."""
    organization: bool = True
    """Whether it belongs to the organization (its SCPs apply, aws:PrincipalOrgID is its)."""
    region: str | None = None
    """Where it runs, for requests that name no region of their own."""
    keys: Mapping[str, ContextValue] = field(default_factory=dict)
    """Condition keys of every request it makes (an outsider's organization)."""


@dataclass(frozen=True)
class Hop:
    what: str
    """What happens, in the flow's words."""
    caller: Caller
    action: str
    resource: str
    keys: Mapping[str, ContextValue] = field(default_factory=dict)
    """Request condition keys beyond the caller's own (aws:SecureTransport, kms:ViaService, ...)."""
    allowed: bool = True
    """False: a negative, which AWS must deny."""
    region: str | None = None
    """Where the request goes, when not the caller's own region (a cross-region copy)."""
    absent: tuple[str, ...] = ()
    """Condition keys a negative leaves out on purpose (a job without a VPC)."""


@dataclass(frozen=True)
class Flow:
    name: str
    hops: tuple[Hop, ...]
    covers: str = ""
    """The section of docs/architecture.md whose steps this flow proves."""


@dataclass(frozen=True)
class HopResult:
    hop: Hop
    decision: Decision
    network: str | None
    """Why the network path is missing or undecided; None when it exists or none is needed."""
    undecided: tuple[str, ...]
    """What the proof could not read offline, by name."""

    @property
    def holds(self) -> bool:
        """The hop behaves as the flow says: allowed with a path, or denied."""
        if not self.hop.allowed:
            return not self.decision.allowed
        return self.decision.allowed and self.network is None


class Judge:
    """Decides hops with the policies of one cloud assembly."""

    def __init__(self, context: ProofContext) -> None:
        self.context = context
        self.organization: OrganizationView = organization_view(context)
        plans = bootstrap_plan(context)
        self.roles = Roles(context.resolver, boundary_policies(plans))
        self.index = context.index.with_external(
            {
                **dict(deploy_role_trust(plan, region) for plan in plans for region in plan.regions),
                **portfolio_access(context),
            }
        )

    def role(self, name: str, arn: str, compute: Compute | None = None, region: str | None = None) -> Caller:
        view = self.roles.get(arn)
        if view is None:
            raise LookupError(f"{name}: the role {arn} is not a role of the cloud assembly")
        return Caller(
            name,
            Principal.role(arn),
            view.account,
            view.identity_policies,
            view.boundary,
            compute,
            view.unread_policies,
            region=region or view.stack.region,
        )

    def decide(self, hop: Hop) -> HopResult:
        caller = hop.caller
        region = hop.region or _region_of(hop.resource) or caller.region
        organization_id = self.context.config.landing_zone.organization_id if caller.organization else None
        keys: dict[str, ContextValue] = {
            **principal_context(caller.principal, organization_id=organization_id),
            # Every caller speaks TLS 1.2 or later: AWS's endpoints accept nothing older.
            "aws:SecureTransport": True,
            **({"s3:TlsVersion": "1.2"} if hop.action.lower().startswith("s3:") else {}),
            **({"aws:RequestedRegion": region} if region else {}),
            **caller.keys,
            **hop.keys,
        }
        index = self.index
        decision = evaluate(
            Request(hop.action, hop.resource, caller.principal, keys),
            identity_policies=caller.identity,
            permissions_boundary=caller.boundary,
            service_control_policies=service_control_policies(self.context, self.organization, caller.account)
            if caller.organization and (caller.identity or caller.boundary)
            else None,
            resource_policy=index.policy_for(hop.action, hop.resource),
            resource_account=index.owner(hop.resource, caller.account),
        )
        network = None
        if caller.compute is not None and hop.allowed:
            for service in endpoint_services(hop.action) or ():
                no_path = path_exists(self.context, caller.compute, service, hop.region)
                if no_path is not None:
                    network = no_path.problem
                    break
        absent = {key.lower() for key in hop.absent}
        missing = tuple(key for key in decision.missing_keys if key.lower() not in absent)
        # AWS managed policies only allow: one the proof cannot read can turn a denial into an
        # allow (a negative is then undecided), never an allow into a denial.
        unread = caller.unread if not hop.allowed else ()
        return HopResult(hop, decision, network, (*unread, *missing))


def _region_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None
