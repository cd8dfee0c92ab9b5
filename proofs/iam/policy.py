"""Policy documents and their statements: parsing, and whether a statement applies to a request.

Documents are plain dicts, as they appear in a CloudFormation template once intrinsic
functions are resolved to strings. `Statement` may be one object or a list; each statement
has an Effect, Action or NotAction, Resource or NotResource, and in resource-based policies
Principal or NotPrincipal, and an optional Condition ("IAM JSON policy elements reference").
Element names this module does not know, and combinations IAM rejects, raise PolicyError.

A statement applies to a request when its action, resource, principal and condition all
match: Action/NotAction case-insensitively with wildcards ("IAM JSON policy elements: Action",
"NotAction"), Resource/NotResource case-sensitively with wildcards and policy variables
("Resource", "NotResource"), conditions per proofs.iam.conditions. A role trust policy has no
Resource element: its statements apply to the role they are attached to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any

from proofs.iam.conditions import ConditionBlock, ConditionOperator
from proofs.iam.context import VARIABLES_VERSION, ContextReader, PolicyError, resolve
from proofs.iam.patterns import AnyOf, any_action, any_resource, covers, overlap, resource_matches
from proofs.iam.principals import GrantScope, Principal, PrincipalElement

PolicyDocument = Mapping[str, Any]

_DOCUMENT_ELEMENTS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_ELEMENTS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition"}
)
_VERSIONS = frozenset({"2012-10-17", "2008-10-17"})
_VARIABLE = re.compile(r"\$\{[^}]*\}")


class Effect(Enum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True)
class Policy:
    """A named policy document; the name is what decisions cite."""

    name: str
    document: PolicyDocument
    _parsed: dict[bool, tuple[Statement, ...]] = field(default_factory=dict, compare=False, repr=False, kw_only=True)
    """Statements parsed once per policy (a proof asks the same policies thousands of times)."""
    _by_action: dict[str, tuple[Statement, ...]] = field(default_factory=dict, compare=False, repr=False, kw_only=True)
    """Identity-side statements whose Action element matches an action, per action asked."""

    @cached_property
    def _action_index(self) -> _ActionIndex:
        return _ActionIndex.of(parse_statements(self))


class ResourcePolicyKind(Enum):
    """Resource-based policies differ in two rules: whether the resource policy itself must
    allow, and whether it may allow alone. For most resources an identity-based policy suffices
    within an account; role trust policies and KMS key policies "must explicitly allow access
    for principals" ("Policy evaluation logic"; "Key policies in AWS KMS": "Without permission
    from the key policy, IAM policies that allow permissions have no effect"). Service Catalog's
    portfolio access (its principal names, read as a policy on its products) must allow, and
    never allows alone: end users also need IAM permissions to use the products, in the
    portfolio's own account too (Service Catalog Administrator Guide, "Granting access to
    users"; "Identity and access management": it supports no resource-based policies)."""

    RESOURCE_BASED = "resource-based policy"
    KEY_POLICY = "key policy"
    TRUST_POLICY = "trust policy"
    PORTFOLIO_ACCESS = "portfolio access"

    @property
    def must_allow(self) -> bool:
        return self is not ResourcePolicyKind.RESOURCE_BASED

    @property
    def allows_alone(self) -> bool:
        """Whether it allows a principal of its own account that no identity-based policy allows."""
        return self is not ResourcePolicyKind.PORTFOLIO_ACCESS


@dataclass(frozen=True)
class ResourcePolicy(Policy):
    """A policy attached to the resource: bucket policy, event bus policy, Lambda permissions,
    ECR repository or model package group policy (RESOURCE_BASED), KMS key policy, or role
    trust policy."""

    kind: ResourcePolicyKind = ResourcePolicyKind.RESOURCE_BASED


@dataclass(frozen=True)
class StatementRef:
    """Where a statement lives, for a decision to cite: its layer, policy, and Sid or index."""

    layer: str
    policy: str
    index: int
    sid: str | None

    def __str__(self) -> str:
        where = f"statement {self.sid!r}" if self.sid else f"statement #{self.index}"
        return f"{self.layer} {self.policy!r} {where}"


def _strings(value: Any, element: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) for item in items):
        raise PolicyError(f"{element} must be a string or a list of strings, not {value!r}")
    return tuple(items)


def _exactly_one(statement: Mapping[str, Any], first: str, second: str, *, required: bool) -> tuple[Any, bool]:
    """The value of whichever of the two elements is present, and whether it is `second`."""
    if first in statement and second in statement:
        raise PolicyError(f"a statement cannot have both {first} and {second}")
    if second in statement:
        return statement[second], True
    if first not in statement and required:
        raise PolicyError(f"a statement needs {first} or {second}: {dict(statement)!r}")
    return statement.get(first), False


@dataclass(frozen=True)
class Statement:
    """One parsed statement of a policy."""

    policy: str
    index: int
    sid: str | None
    effect: Effect
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...] | None
    """None when the statement has no Resource element (trust policies)."""
    not_resource: bool
    principal: PrincipalElement | None
    """None in identity-based policies, boundaries and SCPs, where the principal is implied."""
    not_principal: bool
    condition: Mapping[str, Any]
    variables: bool
    """Whether `${...}` are policy variables (document Version 2012-10-17) or literal text."""

    def ref(self, layer: str) -> StatementRef:
        ref = self._refs.get(layer)
        if ref is None:
            ref = self._refs[layer] = StatementRef(layer, self.policy, self.index, self.sid)
        return ref

    @cached_property
    def _refs(self) -> dict[str, StatementRef]:
        """By layer: a decision cites the statements that applied to it, thousands of times."""
        return {}

    @cached_property
    def _action_patterns(self) -> AnyOf:
        return any_action(self.actions)

    @cached_property
    def _resource_patterns(self) -> AnyOf | None:
        """The Resource list's matcher, when no entry holds a policy variable."""
        if self.resources is None or (self.variables and any("${" in entry for entry in self.resources)):
            return None
        return any_resource(self.resources)

    def matches_action(self, action: str) -> bool:
        return self._action_patterns.matches(action) != self.not_action

    def _matches_listed_resource(self, resource: str) -> bool | None:
        """`matches_resource` when no policy variable needs the request; None otherwise."""
        if self.resources is None:
            return True
        if self._resource_patterns is None:
            return None
        return self._resource_patterns.matches(resource) != self.not_resource

    def matches_resource(self, resource: str, reader: ContextReader) -> bool:
        listed = self._matches_listed_resource(resource)
        if listed is not None:
            return listed
        assert self.resources is not None, "a statement without Resource was answered above"
        # A resource entry whose variable has no value "will not match any resource".
        listed = False
        for entry in self.resources:
            pattern = resolve(entry, reader, variables=self.variables)
            listed = listed or (pattern is not None and resource_matches(pattern, resource))
        return listed != self.not_resource

    def reach(self, principal: Principal) -> GrantScope | None:
        """How far this resource-policy Allow reaches `principal`; None if it does not name it.
        NotPrincipal covers everyone it does not list."""
        if self.principal is None:
            return None
        if not self.not_principal:
            return self.principal.reach(principal)
        return None if self.principal.reach(principal) is not None else GrantScope.PRINCIPAL

    def names(self, principal: Principal, *, has_boundary: bool = False) -> bool:
        """Whether the statement covers `principal` (always, when it has no Principal element).
        A Deny with NotPrincipal spares a principal only if every one of its names is listed,
        and never one with a permissions boundary ("Permissions boundaries for IAM entities":
        NotPrincipal with Deny "will always deny any IAM principal that has a permissions
        boundary policy attached")."""
        if self.principal is None:
            return True
        if self.effect is Effect.ALLOW or not self.not_principal:
            return self.reach(principal) is not None
        return has_boundary or not self.principal.names_every_form_of(principal)

    @cached_property
    def _conditions(self) -> ConditionBlock:
        return ConditionBlock(self.condition, variables=self.variables)

    def conditions_hold(self, reader: ContextReader) -> bool:
        # An empty block (most statements) holds; it was checked to be a mapping when parsed.
        return not self.condition or self._conditions.holds(reader)

    def applies(self, action: str, resource: str, reader: ContextReader) -> bool:
        """Whether action, resource and condition all match (the principal aside). Conditions
        are read only when action and resource match, so only statements that reach the
        request report the keys they asked for."""
        return self.matches_action(action) and self.reaches(resource, reader)

    def reaches(self, resource: str, reader: ContextReader) -> bool:
        """Whether resource and condition match: `applies` for a statement already known to
        match the action (proofs.iam.policy.statements_for_action)."""
        return self.matches_resource(resource, reader) and self.conditions_hold(reader)

    def reaches_unread(self, resource: str) -> bool | None:
        """`reaches` when it reads nothing of the request (no condition, no policy variable in
        Resource: most statements); None when it does."""
        return None if self.condition else self._matches_listed_resource(resource)


def _statement(raw: Any, policy: str, index: int, *, resource_based: bool, variables: bool) -> Statement:
    if not isinstance(raw, Mapping):
        raise PolicyError(f"policy {policy!r}: statement #{index} is not an object: {raw!r}")
    unknown = set(raw) - _STATEMENT_ELEMENTS
    if unknown:
        raise PolicyError(f"policy {policy!r}: statement #{index} has unknown elements {sorted(unknown)}")
    try:
        effect = Effect(raw.get("Effect"))
    except ValueError as error:
        raise PolicyError(f"policy {policy!r}: statement #{index} Effect must be Allow or Deny") from error
    actions, not_action = _exactly_one(raw, "Action", "NotAction", required=True)
    resources, not_resource = _exactly_one(raw, "Resource", "NotResource", required=not resource_based)
    principal, not_principal = _exactly_one(raw, "Principal", "NotPrincipal", required=resource_based)
    if principal is not None and not resource_based:
        raise PolicyError(f"policy {policy!r}: statement #{index}: only resource-based policies name a principal")
    sid = raw.get("Sid")
    condition = raw.get("Condition", {})
    _check_condition(condition, policy, index)
    return Statement(
        policy=policy,
        index=index,
        sid=str(sid) if sid else None,
        effect=effect,
        actions=_strings(actions, "Action"),
        not_action=not_action,
        resources=None if resources is None else _strings(resources, "Resource"),
        not_resource=not_resource,
        principal=None
        if principal is None
        else PrincipalElement.parse(principal, "NotPrincipal" if not_principal else "Principal"),
        not_principal=not_principal,
        condition=condition,
        variables=variables,
    )


def _check_condition(condition: Any, policy: str, index: int) -> None:
    """Reject an unknown operator when the policy is read, not only when a request happens to
    reach the statement: a proof must not pass because it never asked the right question."""
    if not isinstance(condition, Mapping):
        raise PolicyError(f"policy {policy!r}: statement #{index} Condition must be an object")
    for operator, entries in condition.items():
        ConditionOperator.parse(operator)
        if not isinstance(entries, Mapping) or not entries:
            raise PolicyError(f"policy {policy!r}: statement #{index} {operator} must map condition keys to values")


def parse_statements(policy: Policy, *, resource_based: bool = False) -> tuple[Statement, ...]:
    """The statements of `policy`, validated. `resource_based` says whether the document is a
    resource-based policy (statements name principals, Resource may be implied)."""
    parsed = policy._parsed.get(resource_based)
    if parsed is None:
        parsed = policy._parsed[resource_based] = _parse(policy, resource_based=resource_based)
    return parsed


@dataclass(frozen=True)
class _ActionIndex:
    """The positions of an identity-side policy's statements by the actions they name: a
    statement whose Action element lists plain ASCII names only is found under each of them,
    lowered; the others (wildcards, NotAction) are matched one by one."""

    named: Mapping[str, tuple[int, ...]]
    others: tuple[int, ...]

    @classmethod
    def of(cls, statements: tuple[Statement, ...]) -> _ActionIndex:
        named: dict[str, list[int]] = {}
        others: list[int] = []
        for position, statement in enumerate(statements):
            names = None if statement.not_action else statement._action_patterns.names
            if names is None:
                others.append(position)
            for name in names or ():
                named.setdefault(name, []).append(position)
        return cls({name: tuple(positions) for name, positions in named.items()}, tuple(others))


def statements_for_action(policy: Policy, action: str) -> tuple[Statement, ...]:
    """The statements of an identity-side `policy` (identity, boundary, SCP) whose Action or
    NotAction element matches `action`: the only ones that can apply to a request for it."""
    found = policy._by_action.get(action)
    if found is None:
        statements = parse_statements(policy)
        if action.isascii():  # the index holds ASCII names, which match ASCII actions only
            index = policy._action_index
            matched = [position for position in index.others if statements[position].matches_action(action)]
            positions = sorted({*index.named.get(action.lower(), ()), *matched})
            found = tuple(statements[position] for position in positions)
        else:
            found = tuple(statement for statement in statements if statement.matches_action(action))
        policy._by_action[action] = found
    return found


def _parse(policy: Policy, *, resource_based: bool) -> tuple[Statement, ...]:
    document = policy.document
    if not isinstance(document, Mapping) or "Statement" not in document:
        raise PolicyError(f"policy {policy.name!r}: a policy document needs a Statement element")
    unknown = set(document) - _DOCUMENT_ELEMENTS
    if unknown:
        raise PolicyError(f"policy {policy.name!r}: unknown document elements {sorted(unknown)}")
    version = document.get("Version")
    if version is not None and version not in _VERSIONS:
        raise PolicyError(f"policy {policy.name!r}: unknown policy language Version {version!r}")
    raw = document["Statement"]
    statements = raw if isinstance(raw, list) else [raw]
    return tuple(
        _statement(item, policy.name, index, resource_based=resource_based, variables=version == VARIABLES_VERSION)
        for index, item in enumerate(statements)
    )


def _could_name(entry: str, resource: str, *, variables: bool) -> bool:
    # A variable could hold anything, so for "could ever" it stands for a wildcard.
    pattern = _VARIABLE.sub("*", entry) if variables else entry
    return overlap(pattern, resource)


def could_apply(statement: Statement, action: str, resource: str = "*") -> bool:
    """Whether `statement` applies to some request whose action matches `action` and whose
    resource matches `resource`; both may hold wildcards, and `"*"` as the resource means any.
    Conditions and principals are assumed satisfiable. Over-approximates only where a NotAction
    or NotResource pattern partly overlaps the one asked about; it never misses a statement."""
    if statement.not_action:
        action_possible = not any(covers(pattern, action, ignore_case=True) for pattern in statement.actions)
    else:
        action_possible = any(overlap(pattern, action, ignore_case=True) for pattern in statement.actions)
    if statement.resources is None:
        return action_possible
    if statement.not_resource:
        resource_possible = not any(covers(entry, resource) for entry in statement.resources)
    else:
        resource_possible = any(
            _could_name(entry, resource, variables=statement.variables) for entry in statement.resources
        )
    return action_possible and resource_possible


def could_allow(policy: Policy, action: str, resource: str = "*") -> tuple[Statement, ...]:
    """The Allow statements of an identity-based `policy` that could apply to `action` on
    `resource` (patterns allowed): the building block of "can this role ever do X" checks,
    such as whether an execution role could create a role without the permissions boundary."""
    return tuple(
        statement
        for statement in parse_statements(policy)
        if statement.effect is Effect.ALLOW and could_apply(statement, action, resource)
    )
