"""The request context as policies read it: condition keys, policy variables, unknown keys.

Condition key names are case-insensitive ("IAM policy elements: Variables and tags":
`aws:CurrentTime` is `AWS:currenttime`). Values are kept as strings, the way IAM compares
them: booleans become `true`/`false`, numbers their decimal text, lists stay lists (the
multivalued keys of "Single-valued vs. multivalued context keys").

A `ContextReader` also remembers every key a policy asked for that the request did not supply.
AWS's semantics of an absent key are applied unchanged (conditions decide as documented); the
record only lets a proof say by name what it could not know.

Policy variables (`${aws:username}`, `${aws:PrincipalTag/team, 'default'}`, and the escapes
`${*}`, `${?}`, `${$}`) are resolved here, into pattern tokens whose substituted text is
literal. They are honoured only in documents whose Version is 2012-10-17; older documents
treat them as literal text. A variable whose key has no value makes the policy value match
nothing ("Policy variables with no value"); a multivalued key cannot be a variable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from proofs.iam.patterns import Pattern, Token, author_text

ContextValue = str | bool | int | float | Sequence[str]
"""What a caller may put in a request context: one value, or the list of a multivalued key."""

VARIABLES_VERSION = "2012-10-17"
"""The policy language version that introduced policy variables."""

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^(?P<key>[^,]+?)\s*,\s*'(?P<default>[^']*)'$")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


class PolicyError(ValueError):
    """A policy uses something this evaluator does not model, or is malformed. Raised instead
    of guessing, so a proof never passes on a statement it could not read."""


def as_text(value: object) -> str:
    """A scalar of a policy or request as IAM compares it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _normalized(value: ContextValue) -> tuple[str, ...]:
    if isinstance(value, str):  # most values: tested first
        return (str(value),)
    if isinstance(value, bool | int | float):
        return (as_text(value),)
    return tuple(as_text(item) for item in value)


@dataclass(frozen=True)
class RequestContext:
    """Condition keys of one request, looked up case-insensitively."""

    values: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, context: Mapping[str, ContextValue]) -> RequestContext:
        normalized: dict[str, tuple[str, ...]] = {}
        for key, value in context.items():
            lowered = key.lower()
            if lowered in normalized:
                raise PolicyError(f"request context names {key!r} twice (condition keys are case-insensitive)")
            normalized[lowered] = _normalized(value)
        return cls(normalized)

    def reader(self) -> ContextReader:
        return ContextReader(self)


@dataclass
class ContextReader:
    """Reads keys for one statement and records those the request did not supply."""

    context: RequestContext
    absent: list[str] = field(default_factory=list)

    def get(self, key: str) -> tuple[str, ...] | None:
        """The key's values; None when the request does not carry the key."""
        values = self.context.values.get(key.lower())
        if values is None and key not in self.absent:
            self.absent.append(key)
        return values

    def variable(self, expression: str) -> str | None:
        """The value a `${...}` expression stands for, or None when it has none."""
        if expression in _ESCAPES:
            return _ESCAPES[expression]
        with_default = _DEFAULT.match(expression)
        key = with_default["key"].strip() if with_default else expression.strip()
        values = self.get(key)
        if values is not None and len(values) > 1:
            raise PolicyError(f"policy variable ${{{key}}}: a multivalued context key cannot be a policy variable")
        if values:
            return values[0]
        return with_default["default"] if with_default else None


def resolve(text: str, reader: ContextReader, *, variables: bool) -> Pattern | None:
    """Tokens of a policy string with its variables substituted; None when a variable has no
    value, which makes the string match nothing."""
    if not variables or "${" not in text:
        return author_text(text)
    tokens: list[Token] = []
    position = 0
    unresolved = False
    for found in _VARIABLE.finditer(text):
        tokens.extend(author_text(text[position : found.start()]))
        # Every variable is looked up, so each absent key is on record, not just the first.
        value = reader.variable(found[1])
        unresolved = unresolved or value is None
        tokens.append(Token(value or ""))
        position = found.end()
    tokens.extend(author_text(text[position:]))
    return None if unresolved else tuple(tokens)
