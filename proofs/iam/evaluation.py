"""AWS's policy evaluation logic over every layer, and a decision that says why.

The rules, each from AWS's documentation:

- "Policy evaluation logic" (How AWS enforcement code logic evaluates requests): every request
  is implicitly denied unless allowed; an explicit Deny in any applicable policy (SCP,
  resource-based, identity-based, permissions boundary) wins over every Allow.
- AWS Organizations, "SCP evaluation": an Allow is needed "at every level from the root
  through each OU in the direct path to the account (including the target account itself)";
  a Deny at any level denies. "Service control policies (SCPs)": SCPs do not affect principals
  of the management account, service-linked roles, or AWS service principals.
- "Policy evaluation for requests within a single account": an Allow in the identity-based or
  the resource-based policy suffices, with the nuances of proofs.iam.principals: a grant to the
  account delegates to identity-based policies, a grant to the role ARN is still limited by the
  role's permissions boundary, a grant to the session, user, service or everyone is not.
- "Permissions boundaries for IAM entities" (Evaluating effective permissions with boundaries):
  identity-based permissions are the intersection of the identity-based policies and the
  boundary.
- "Cross-account policy evaluation logic": the trusted account's evaluation (identity-based
  policies, boundary, its SCPs) and the trusting account's (the resource-based policy) must both
  allow.
- "Key policies in AWS KMS" and "Default key policy": the key policy must allow, directly or by
  naming the account (`arn:aws:iam::ACCOUNT:root`), which enables the account's IAM policies;
  role trust policies likewise must allow sts:AssumeRole ("How IAM roles differ from
  resource-based policies").

Not modelled: session policies, resource control policies (RCPs), VPC endpoint policies, ACLs,
KMS grants, and the root user's exemptions from some SCP actions. A request that would need
them is outside this evaluator; none of the platform's policies uses them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from proofs.iam.context import ContextValue, RequestContext
from proofs.iam.patterns import any_action, any_resource, arn_account
from proofs.iam.policy import (
    Effect,
    Policy,
    ResourcePolicy,
    ResourcePolicyKind,
    Statement,
    StatementRef,
    parse_statements,
    statements_for_action,
)
from proofs.iam.principals import GrantScope, Principal, PrincipalKind

FULL_AWS_ACCESS = Policy(
    "FullAWSAccess",
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
)
"""The AWS managed SCP that Organizations attaches to every root, OU and account."""

_KMS_KEY = any_resource(("arn:*:kms:*:*:key/*",))
_KMS_ACTIONS = any_action(("kms:*",))
_IAM_ROLE = any_resource(("arn:*:iam::*:role/*",))
_TRUST_POLICY_ACTIONS = any_action(("sts:AssumeRole*", "sts:TagSession", "sts:SetSourceIdentity"))
"""What a role's trust policy authorizes ("IAM JSON policy elements: Principal", role trust)."""


@dataclass(frozen=True)
class Request:
    """One API request: who asks to do what on which resource, in which request context."""

    action: str
    resource: str
    principal: Principal
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class ScpLevel:
    """The SCPs attached to one level of the path from the root to the account."""

    target: str
    """What the SCPs are attached to: "Root", an OU's name or id, the account."""
    policies: Sequence[Policy]


@dataclass(frozen=True)
class ServiceControlPolicies:
    """The SCPs that apply to the principal's account, and the organization's management
    account (whose principals SCPs do not affect)."""

    levels: Sequence[ScpLevel]
    """From the root down to the account itself."""
    management_account: str


class Layer(Enum):
    """The policy layers a decision can cite."""

    SCP = "SCP"
    IDENTITY = "identity-based policy"
    BOUNDARY = "permissions boundary"
    RESOURCE = "resource-based policy"


_SCP, _IDENTITY, _BOUNDARY = Layer.SCP.value, Layer.IDENTITY.value, Layer.BOUNDARY.value
"""The layers' names, as statement references cite them (read once: an Enum's value is a
descriptor call, and every request asks for each layer)."""


@dataclass(frozen=True)
class ImplicitDeny:
    """A layer that did not allow: why the request was implicitly denied."""

    layer: Layer
    reason: str

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class UnsuppliedKey:
    """A condition key (or policy variable) that an applicable statement read and the request
    context did not supply. AWS's absent-key semantics were applied; a proof that relies on the
    outcome must supply the key or say the fact is not known offline."""

    key: str
    statement: StatementRef


@dataclass(frozen=True)
class Decision:
    """Allowed or denied, and why: the statements that explicitly denied or allowed, the
    layers that implicitly denied, the keys the request did not supply, and notes on rules
    that shaped the outcome (SCPs not applying, how far a resource-policy grant reached)."""

    request: Request
    allowed: bool
    explicit_denies: tuple[StatementRef, ...] = ()
    allows: tuple[StatementRef, ...] = ()
    """Every Allow statement that applied, in every layer, whether or not it sufficed."""
    implicit_denies: tuple[ImplicitDeny, ...] = ()
    unsupplied_keys: tuple[UnsuppliedKey, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def missing_keys(self) -> tuple[str, ...]:
        """The names of the unsupplied keys, once each (case-insensitively), sorted."""
        names: dict[str, str] = {}
        for unsupplied in self.unsupplied_keys:
            names.setdefault(unsupplied.key.lower(), unsupplied.key)
        return tuple(sorted(names.values(), key=str.lower))

    def __str__(self) -> str:
        request = self.request
        subject = f"{request.principal} {request.action} on {request.resource}"
        if self.explicit_denies:
            why = "explicitly denied by " + "; ".join(map(str, self.explicit_denies))
        elif self.implicit_denies:
            why = "implicitly denied: " + "; ".join(map(str, self.implicit_denies))
        else:
            why = "allowed by " + "; ".join(map(str, self.allows))
        unknown = f" (request did not supply {', '.join(self.missing_keys)})" if self.missing_keys else ""
        return f"{'ALLOWED' if self.allowed else 'DENIED'} {subject}: {why}{unknown}"

    def explain(self) -> str:
        """The decision and every reason, one per line, for a proof's report."""
        lines = [str(self)]
        lines += [f"  explicit deny: {ref}" for ref in self.explicit_denies]
        lines += [f"  implicit deny ({gap.layer.value}): {gap}" for gap in self.implicit_denies]
        lines += [f"  allow: {ref}" for ref in self.allows]
        lines += [f"  note: {note}" for note in self.notes]
        lines += [f"  not supplied: {key.key} (read by {key.statement})" for key in self.unsupplied_keys]
        return "\n".join(lines)


class _LayerResult:
    """The statements of one layer that applied. A plain class: made for every layer of every
    request a proof evaluates."""

    __slots__ = ("allows", "denies")

    def __init__(self) -> None:
        self.allows: list[StatementRef] = []
        self.denies: list[StatementRef] = []


class _ResourceResult(_LayerResult):
    __slots__ = ("reach",)

    def __init__(self) -> None:
        super().__init__()
        self.reach: GrantScope | None = None
        """How far the furthest-reaching Allow reached the principal."""


class _Evaluation:
    """The statements of every layer, matched against one request."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.context = RequestContext.of(request.context)
        self.unsupplied: list[UnsuppliedKey] = []

    def _reaches(self, statement: Statement, layer: str) -> bool:
        """Whether a statement that matches the request's action applies to it."""
        unread = statement.reaches_unread(self.request.resource)
        if unread is not None:
            return unread  # no key read, none to record
        reader = self.context.reader()
        applies = statement.reaches(self.request.resource, reader)
        if reader.absent:
            ref = statement.ref(layer)
            self.unsupplied += [UnsuppliedKey(key, ref) for key in reader.absent]
        return applies

    def layer(self, layer: str, policies: Sequence[Policy]) -> _LayerResult:
        result = _LayerResult()
        action = self.request.action
        for policy in policies:
            # Statements whose Action cannot match read nothing: skipped before any reading.
            for statement in statements_for_action(policy, action):
                if self._reaches(statement, layer):
                    (result.allows if statement.effect is Effect.ALLOW else result.denies).append(statement.ref(layer))
        return result

    def resource(self, policy: ResourcePolicy, *, has_boundary: bool) -> _ResourceResult:
        result = _ResourceResult()
        layer = policy.kind.value
        principal = self.request.principal
        for statement in parse_statements(policy, resource_based=True):
            if not statement.names(principal, has_boundary=has_boundary) or not (
                statement.matches_action(self.request.action) and self._reaches(statement, layer)
            ):
                continue
            if statement.effect is Effect.DENY:
                result.denies.append(statement.ref(layer))
            else:
                result.allows.append(statement.ref(layer))
                result.reach = max(filter(None, (result.reach, statement.reach(principal))))
        return result


def applicable_statements(policy: Policy, request: Request) -> tuple[Statement, ...]:
    """The statements of `policy` that apply to `request`: action, resource and condition
    match, and for a ResourcePolicy the Principal (or NotPrincipal) names the requester."""
    reader = RequestContext.of(request.context).reader()
    return tuple(
        statement
        for statement in parse_statements(policy, resource_based=isinstance(policy, ResourcePolicy))
        if statement.names(request.principal) and statement.applies(request.action, request.resource, reader)
    )


def _resource_account(request: Request, resource_account: str | None) -> str | None:
    if resource_account is not None:
        return resource_account
    from_arn = arn_account(request.resource)
    if from_arn is not None:
        return from_arn
    if request.resource == "*":
        return request.principal.account
    raise ValueError(
        f"cannot tell which account owns {request.resource!r} (its ARN has no account): pass resource_account"
    )


def _check_resource_policy(request: Request, resource_policy: ResourcePolicy | None) -> None:
    """A KMS key always has a key policy and a role a trust policy; evaluating without them
    would let identity-based policies decide alone, which AWS never does. And a key or trust
    policy passed for anything else is a caller's mistake. A key policy governs KMS's own
    actions: another service's action that names a key as a resource (events:CreateArchive
    with a customer-managed key) is authorized by identity-based policies alone."""
    needed = None
    if _KMS_KEY.matches(request.resource) and _KMS_ACTIONS.matches(request.action):
        needed = ResourcePolicyKind.KEY_POLICY
    elif _IAM_ROLE.matches(request.resource) and _TRUST_POLICY_ACTIONS.matches(request.action):
        needed = ResourcePolicyKind.TRUST_POLICY
    if needed is not None and (resource_policy is None or resource_policy.kind is not needed):
        raise ValueError(f"{request.action} on {request.resource} is decided with the {needed.value}: pass it")
    tied = (ResourcePolicyKind.KEY_POLICY, ResourcePolicyKind.TRUST_POLICY)
    if needed is None and resource_policy is not None and resource_policy.kind in tied:
        raise ValueError(f"a {resource_policy.kind.value} does not govern {request.action} on {request.resource}")


def _applicable_scps(principal: Principal, scps: ServiceControlPolicies | None, notes: list[str]) -> Sequence[ScpLevel]:
    if scps is None:
        return ()
    if not scps.levels:
        raise ValueError("an organization's SCPs have at least the root level")
    exemption = None
    if principal.kind is PrincipalKind.SERVICE:
        exemption = "SCPs do not apply to AWS service principals"
    elif principal.account == scps.management_account:
        exemption = f"SCPs do not apply to principals of the management account {scps.management_account}"
    elif principal.is_service_linked_role:
        exemption = "SCPs do not apply to service-linked roles"
    if exemption:
        notes.append(exemption)
        return ()
    return scps.levels


def evaluate(
    request: Request,
    *,
    identity_policies: Sequence[Policy] = (),
    permissions_boundary: Policy | None = None,
    service_control_policies: ServiceControlPolicies | None = None,
    resource_policy: ResourcePolicy | None = None,
    resource_account: str | None = None,
) -> Decision:
    """Whether AWS would allow `request`, and why.

    `identity_policies` and `permissions_boundary` belong to the requesting role or user (a
    service principal or root user has neither). `service_control_policies` are those of the
    principal's account (None outside an organization). `resource_policy` is the resource's
    policy, of the kind that says how it is evaluated. `resource_account` owns the resource;
    by default it is read from the resource ARN ("*" meaning the principal's own account), and
    it must be given for ARNs without an account, such as S3 buckets.
    """
    principal = request.principal
    if principal.kind in (PrincipalKind.SERVICE, PrincipalKind.ROOT) and (identity_policies or permissions_boundary):
        raise ValueError(f"{principal} cannot have identity-based policies or a permissions boundary")
    _check_resource_policy(request, resource_policy)
    owner = _resource_account(request, resource_account)
    notes: list[str] = []
    evaluation = _Evaluation(request)
    scp_levels = [
        (level, evaluation.layer(_SCP, level.policies))
        for level in _applicable_scps(principal, service_control_policies, notes)
    ]
    identity = evaluation.layer(_IDENTITY, identity_policies)
    boundary = evaluation.layer(_BOUNDARY, [permissions_boundary]) if permissions_boundary else None
    resource = (
        evaluation.resource(resource_policy, has_boundary=permissions_boundary is not None) if resource_policy else None
    )
    layers = [result for _, result in scp_levels] + [identity] + [r for r in (boundary, resource) if r is not None]
    gaps = [
        ImplicitDeny(Layer.SCP, f"no SCP attached at level {index} ({level.target}) allows it")
        for index, (level, result) in enumerate(scp_levels)
        if not result.allows
    ]
    bounded = (permissions_boundary, boundary) if permissions_boundary and boundary else None
    gaps += _Grant(request, owner, identity, bounded, resource, resource_policy, notes).gaps()
    explicit = tuple(ref for result in layers for ref in result.denies)
    return Decision(
        request=request,
        allowed=not explicit and not gaps,
        explicit_denies=explicit,
        allows=tuple(ref for result in layers for ref in result.allows),
        implicit_denies=() if explicit else tuple(gaps),
        unsupplied_keys=tuple(dict.fromkeys(evaluation.unsupplied)),
        notes=tuple(notes),
    )


@dataclass
class _Grant:
    """Whether the identity side, the resource side, or both allow, by the rules for service
    principals, cross-account and same-account requests; the gaps when they do not."""

    request: Request
    resource_account: str | None
    identity: _LayerResult
    boundary: tuple[Policy, _LayerResult] | None
    resource: _ResourceResult | None
    resource_policy: ResourcePolicy | None
    notes: list[str]

    @property
    def principal(self) -> Principal:
        return self.request.principal

    @property
    def reach(self) -> GrantScope | None:
        return self.resource.reach if self.resource else None

    def boundary_gaps(self, why: str = "") -> list[ImplicitDeny]:
        if self.boundary is None or self.boundary[1].allows:
            return []
        name = self.boundary[0].name
        return [ImplicitDeny(Layer.BOUNDARY, f"permissions boundary {name!r} does not allow it{why}")]

    def identity_gaps(self) -> list[ImplicitDeny]:
        gaps = []
        # The root user has every permission its own account can give ("Policy evaluation logic").
        if self.principal.kind is not PrincipalKind.ROOT and not self.identity.allows:
            gaps.append(ImplicitDeny(Layer.IDENTITY, f"no identity-based policy of {self.principal.arn} allows it"))
        return gaps + self.boundary_gaps()

    def resource_gap(self, why: str) -> ImplicitDeny:
        policy = self.resource_policy
        if policy is None:
            return ImplicitDeny(Layer.RESOURCE, f"{why}, and the resource has no resource-based policy")
        return ImplicitDeny(Layer.RESOURCE, f"{why}, and {policy.kind.value} {policy.name!r} does not allow it")

    def gaps(self) -> list[ImplicitDeny]:
        if self.principal.kind is PrincipalKind.SERVICE:
            if self.reach is None:
                return [self.resource_gap(f"service principal {self.principal.arn} has no identity-based policies")]
            return []
        if self.principal.account != self.resource_account:
            return self._cross_account()
        return self._same_account()

    def _cross_account(self) -> list[ImplicitDeny]:
        gaps = self.identity_gaps()
        if self.reach is None:
            origin = f"cross-account request from {self.principal.account} to a resource of {self.resource_account}"
            gaps.append(self.resource_gap(origin))
        return gaps

    def _same_account(self) -> list[ImplicitDeny]:
        policy = self.resource_policy
        granted_by = f"{policy.kind.value} {policy.name!r}" if policy else ""
        if policy is not None and policy.kind.must_allow and self.reach is None:
            return [*self.identity_gaps(), self.resource_gap(f"a {policy.kind.value} must allow the principal")]
        if policy is not None and not policy.kind.allows_alone:
            return self.identity_gaps()
        if self.reach is GrantScope.PRINCIPAL:
            self.notes.append(f"{granted_by} grants to {self.principal} itself: its own policies do not limit that")
            return []
        if self.reach is GrantScope.ROLE:
            self.notes.append(f"{granted_by} grants to the role ARN: the role's permissions boundary still limits it")
            return self.boundary_gaps(", and it limits a resource-based grant to the role ARN")
        if self.reach is GrantScope.ACCOUNT:
            self.notes.append(f"{granted_by} grants to account {self.resource_account}: its IAM policies must allow")
        return self.identity_gaps()
