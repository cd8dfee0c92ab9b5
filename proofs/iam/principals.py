"""Who makes a request, the names a resource-based policy can give it, and what each name grants.

"AWS JSON policy elements: Principal": a `Principal` (or `NotPrincipal`) names accounts (the
12-digit id and `arn:aws:iam::ID:root` are the same principal and both "delegate authority to
the account"), IAM roles, role sessions (`arn:aws:sts::ID:assumed-role/NAME/SESSION`), IAM
users, AWS services (`{"Service": "events.amazonaws.com"}`) or everyone (`"*"`, `{"AWS": "*"}`).
No wildcard matches part of a principal name.

Which name matched decides how far the grant reaches in the resource's own account ("Policy
evaluation logic", resource-based policies and implicit denies in other policy types):
- the account: delegation; the principal's identity-based policies must allow as well;
- the role ARN: limited by an implicit deny in the role's permissions boundary;
- the role session, the IAM user, a service, or everyone (`*`; "For IAM users and role
  principals within your account, no other permissions are required"): not limited by an
  implicit deny in identity-based policies or the boundary.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, IntEnum
from functools import cached_property
from typing import Any

from proofs.iam.context import ContextValue, PolicyError

EVERYONE = "*"
SERVICE_LINKED_ROLE_PATH = "/aws-service-role/"
"""IAM puts every service-linked role under this path ("Using service-linked roles")."""

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_IAM_ARN = re.compile(r"^arn:(?P<partition>[^:]+):iam::(?P<account>\d{12}):(?P<resource>.+)$")
_SESSION_ARN = re.compile(
    r"^arn:(?P<partition>[^:]+):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/(?P<session>.+)$"
)


class PrincipalKind(Enum):
    """The kinds of requester; values are those of aws:PrincipalType ("Principal key values")."""

    ROLE = "AssumedRole"
    USER = "User"
    ROOT = "Account"
    SERVICE = "Service"


class GrantScope(IntEnum):
    """How far an Allow in a resource-based policy reaches, by the name that matched; a
    larger value reaches further."""

    ACCOUNT = 1
    """Delegated to the account: its identity-based policies decide."""
    ROLE = 2
    """Granted to the role: still limited by an implicit deny of its permissions boundary."""
    PRINCIPAL = 3
    """Granted to the requester itself: no implicit deny of its own policies limits it."""


def root_arn(account: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:root"


def canonical_aws_principal(name: str) -> str:
    """A principal as a policy may write it, in one form: an account id becomes the account's
    root ARN ("The account ARN and the shortened account ID behave the same way")."""
    return root_arn(name) if _ACCOUNT_ID.match(name) else name


def principal_account(name: str) -> str | None:
    """The account a principal name belongs to (account id, root, role, user or session ARN)."""
    if _ACCOUNT_ID.match(name):
        return name
    found = _IAM_ARN.match(name) or _SESSION_ARN.match(name)
    return found["account"] if found else None


@dataclass(frozen=True)
class Principal:
    """The requester: an IAM role (always through a session), an IAM user, an account's root
    user, or an AWS service principal. Build it with the class methods."""

    kind: PrincipalKind
    arn: str
    """The role, user or root ARN; for a service, the service principal name."""
    session_name: str | None = None
    """The role session's name when known; only a policy that names the session needs it."""

    @classmethod
    def role(cls, arn: str, session_name: str | None = None) -> Principal:
        found = _IAM_ARN.match(arn)
        if not found or not found["resource"].startswith("role/"):
            raise ValueError(f"{arn!r} is not an IAM role ARN")
        return cls(PrincipalKind.ROLE, arn, session_name)

    @classmethod
    def user(cls, arn: str) -> Principal:
        found = _IAM_ARN.match(arn)
        if not found or not found["resource"].startswith("user/"):
            raise ValueError(f"{arn!r} is not an IAM user ARN")
        return cls(PrincipalKind.USER, arn)

    @classmethod
    def root(cls, account: str, partition: str = "aws") -> Principal:
        if not _ACCOUNT_ID.match(account):
            raise ValueError(f"{account!r} is not a 12-digit account id")
        return cls(PrincipalKind.ROOT, root_arn(account, partition))

    @classmethod
    def service(cls, name: str) -> Principal:
        if ":" in name or "." not in name:
            raise ValueError(f"{name!r} is not a service principal name such as events.amazonaws.com")
        return cls(PrincipalKind.SERVICE, name)

    @classmethod
    def from_arn(cls, arn: str) -> Principal:
        """The principal an ARN names. A session ARN does not carry the role's path, so the
        role is taken to have none; use `role(arn, session_name)` when it has one."""
        session = _SESSION_ARN.match(arn)
        if session:
            role_arn = f"arn:{session['partition']}:iam::{session['account']}:role/{session['role']}"
            return cls.role(role_arn, session["session"])
        found = _IAM_ARN.match(arn)
        if found and found["resource"] == "root":
            return cls.root(found["account"], found["partition"])
        if found and found["resource"].startswith("user/"):
            return cls.user(arn)
        return cls.role(arn)

    @cached_property
    def account(self) -> str | None:
        """The account the principal belongs to; None for a service principal (asked several
        times per request evaluated)."""
        return None if self.kind is PrincipalKind.SERVICE else principal_account(self.arn)

    @cached_property
    def is_service_linked_role(self) -> bool:
        return self.kind is PrincipalKind.ROLE and f":role{SERVICE_LINKED_ROLE_PATH}" in self.arn

    @property
    def partition(self) -> str:
        return "aws" if self.kind is PrincipalKind.SERVICE else self.arn.split(":", 2)[1]

    @property
    def session_arn(self) -> str | None:
        if self.kind is not PrincipalKind.ROLE or self.session_name is None:
            return None
        role_name = self.arn.rsplit("/", 1)[-1]
        return f"arn:{self.partition}:sts::{self.account}:assumed-role/{role_name}/{self.session_name}"

    def names(self) -> Mapping[str, GrantScope]:
        """Every name a Principal element can give this principal, with the reach of a grant
        made to that name: the principal forms unrolled."""
        return self._names

    @cached_property
    def _names(self) -> dict[str, GrantScope]:
        # Asked by every statement of every resource-based policy a request meets.
        if self.kind is PrincipalKind.SERVICE:
            return {self.arn: GrantScope.PRINCIPAL}
        names = {root_arn(self.account or "", self.partition): GrantScope.ACCOUNT}
        if self.kind is PrincipalKind.ROLE:
            names[self.arn] = GrantScope.ROLE
        elif self.kind is PrincipalKind.USER:
            names[self.arn] = GrantScope.PRINCIPAL
        if self.session_arn:
            names[self.session_arn] = GrantScope.PRINCIPAL
        return names

    def __str__(self) -> str:
        return self.session_arn or self.arn


def principal_context(principal: Principal, *, organization_id: str | None = None) -> dict[str, ContextValue]:
    """The global condition keys AWS derives from the requester ("AWS global condition context
    keys"), for a caller to merge into a request's context. Only what the principal itself
    determines: aws:PrincipalOrgID only when the caller knows the organization; aws:userid
    never (it holds the role's unique id, which is not known offline)."""
    if principal.kind is PrincipalKind.SERVICE:
        return {"aws:PrincipalIsAWSService": True, "aws:PrincipalServiceName": principal.arn}
    context: dict[str, ContextValue] = {
        "aws:PrincipalArn": principal.arn,
        "aws:PrincipalAccount": principal.account or "",
        "aws:PrincipalType": principal.kind.value,
        "aws:PrincipalIsAWSService": False,
    }
    if principal.kind is PrincipalKind.USER:
        context["aws:username"] = principal.arn.rsplit("/", 1)[-1]
    if organization_id is not None:
        context["aws:PrincipalOrgID"] = organization_id
    return context


def _names(value: Any, element: str) -> frozenset[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) for item in items):
        raise PolicyError(f"{element} must name principals as strings, not {value!r}")
    return frozenset(items)


@dataclass(frozen=True)
class PrincipalElement:
    """A parsed Principal or NotPrincipal element."""

    everyone: bool
    aws: frozenset[str]
    services: frozenset[str]
    others: frozenset[str]
    """Federated and CanonicalUser names: no requester this evaluator models has them."""

    @classmethod
    def parse(cls, value: Any, element: str = "Principal") -> PrincipalElement:
        if value == EVERYONE:
            return cls(True, frozenset(), frozenset(), frozenset())
        if not isinstance(value, Mapping) or not value:
            raise PolicyError(f'{element} must be "*" or an object such as {{"AWS": [...]}}, not {value!r}')
        named = {kind: _names(names, element) for kind, names in value.items()}
        aws = frozenset(canonical_aws_principal(name) for name in named.pop("AWS", frozenset()))
        everyone = EVERYONE in aws
        services = frozenset(name.lower() for name in named.pop("Service", frozenset()))
        others = frozenset(f"{kind}:{name}" for kind, names in named.items() for name in names)
        return cls(everyone, aws - {EVERYONE}, services, others)

    def reach(self, principal: Principal) -> GrantScope | None:
        """How far a grant to this element reaches `principal`; None if it does not name it."""
        if self.everyone:
            return GrantScope.PRINCIPAL
        if principal.kind is PrincipalKind.SERVICE:
            return GrantScope.PRINCIPAL if principal.arn.lower() in self.services else None
        matched = [scope for name, scope in principal.names().items() if name in self.aws]
        return max(matched, default=None)

    def names_every_form_of(self, principal: Principal) -> bool:
        """Whether every name of `principal` is listed: what a NotPrincipal must do to exempt
        it from a Deny ("AWS might validate the account first, then the role, and then the
        assumed-role user"). A role's session counts only when its name is known."""
        if self.everyone:
            return True
        if principal.kind is PrincipalKind.SERVICE:
            return principal.arn.lower() in self.services
        return all(name in self.aws for name in principal.names())
