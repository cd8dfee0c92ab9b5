"""Wildcard matching as IAM does it: actions, resource ARNs, ARN condition values.

A pattern is a sequence of tokens: literal text, and the policy author's own `*` (any run of
characters) and `?` (any one character). Text that came from a policy variable, including the
escapes `${*}`, `${?}` and `${$}`, is literal even when it contains `*` or `?`, which is why
patterns are tokens and not plain strings (IAM JSON policy elements: Variables and tags,
"Special characters").

- Actions match case-insensitively ("IAM JSON policy elements: Action": the prefix and the
  action name are case insensitive).
- Resources match case-sensitively over the whole ARN. "IAM JSON policy elements: Resource"
  allows wildcards within each colon-separated segment and says that a `*` that ends a
  segment "can expand to match beyond the colon boundaries"; the segments before the
  resource part (partition, service, region, account) never contain colons in a real ARN, so
  one glob over the whole string gives exactly that behaviour.
- ARN condition operators compare "each of the six colon-delimited components of the ARN
  separately" ("IAM JSON policy elements: Condition operators", ARN operators), so there a
  wildcard never crosses a colon before the resource part.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import NamedTuple

ANY_RUN = "*"
ANY_ONE = "?"
ARN_COMPONENTS = 6
"""arn:partition:service:region:account-id:resource; the resource part may hold colons."""


class Token(NamedTuple):
    """Literal text, or one of the author's wildcards (`wildcard` set, `text` is `*` or `?`).
    A named tuple: patterns are cache keys, hashed on every match."""

    text: str
    wildcard: bool = False


Pattern = tuple[Token, ...]


@lru_cache(maxsize=65536)
def author_text(text: str) -> Pattern:
    """Tokens of text the policy author wrote: every `*` and `?` is a wildcard."""
    tokens: list[Token] = []
    literal = ""
    for character in text:
        if character in (ANY_RUN, ANY_ONE):
            if literal:
                tokens.append(Token(literal))
                literal = ""
            tokens.append(Token(character, wildcard=True))
        else:
            literal += character
    if literal:
        tokens.append(Token(literal))
    return tuple(tokens)


@lru_cache(maxsize=8192)
def plain(pattern: Pattern) -> str:
    """The pattern as a string, wildcards taken literally (what StringEquals compares)."""
    return "".join(token.text for token in pattern)


def _source(pattern: Pattern) -> str:
    return "".join(
        (".*" if token.text == ANY_RUN else ".") if token.wildcard else re.escape(token.text) for token in pattern
    )


@lru_cache(maxsize=8192)
def _compiled(pattern: Pattern, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(_source(pattern), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def has_wildcard(text: str) -> bool:
    return ANY_RUN in text or ANY_ONE in text


class AnyOf:
    """Whether a value matches any of a list of author patterns (a statement's Action or
    Resource list without policy variables), as `matches` would for each: plain names by set
    lookup, names ending in their only wildcard (`s3:Get*`, `arn:aws:s3:::acme-*`) by prefix,
    the others with one expression. A proof asks thousands of times; a list of hundreds of
    actions is never compiled into one expression.

    Case-insensitively (actions), comparing lowered text is exact only for ASCII: IGNORECASE
    also matches some non-ASCII letters to ASCII ones (the Kelvin sign to `k`). So non-ASCII
    patterns go to the expression, and a non-ASCII value is matched against every pattern by
    expression."""

    def __init__(self, patterns: tuple[str, ...], *, ignore_case: bool) -> None:
        self._patterns = patterns
        self._ignore_case = ignore_case
        self._everything = ANY_RUN in patterns
        literal: set[str] = set()
        prefixes: list[str] = []
        wild: list[str] = []
        for pattern in patterns:
            head = pattern.removesuffix(ANY_RUN)
            if (ignore_case and not pattern.isascii()) or has_wildcard(head):
                wild.append(pattern)
            elif head != pattern:
                prefixes.append(head.lower() if ignore_case else head)
            else:
                literal.add(pattern.lower() if ignore_case else pattern)
        self._literal = frozenset(literal)
        self._prefixes = tuple(prefixes)
        self._wild = _alternatives(tuple(wild), ignore_case) if wild else None

    @property
    def names(self) -> frozenset[str] | None:
        """When every pattern is a plain ASCII name: those names (lowered when matching
        case-insensitively), which are then exactly the ASCII values it matches. Else None."""
        return self._literal if self._wild is None and not self._prefixes and not self._everything else None

    def matches(self, value: str) -> bool:
        if self._everything:
            return True
        if self._ignore_case:
            if not value.isascii():
                return _alternatives(self._patterns, True).fullmatch(value) is not None
            value_key = value.lower()
        else:
            value_key = value
        if value_key in self._literal or (self._prefixes and value_key.startswith(self._prefixes)):
            return True
        return self._wild is not None and self._wild.fullmatch(value) is not None


@lru_cache(maxsize=16384)
def _alternatives(patterns: tuple[str, ...], ignore_case: bool) -> re.Pattern[str]:
    """One expression that matches a value when `matches` would for any of `patterns`."""
    alternatives = "|".join(_source(author_text(pattern)) for pattern in patterns)
    return re.compile(f"(?:{alternatives})", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def any_resource(patterns: tuple[str, ...]) -> AnyOf:
    """Matches a resource when `resource_matches` would for any of `patterns`."""
    return AnyOf(patterns, ignore_case=False)


def any_action(patterns: tuple[str, ...]) -> AnyOf:
    """Matches an action when `action_matches` would for any of `patterns`."""
    return AnyOf(patterns, ignore_case=True)


def matches(pattern: Pattern, value: str, *, ignore_case: bool = False) -> bool:
    """Whether `value` is one of the strings `pattern` describes."""
    return _compiled(pattern, ignore_case).fullmatch(value) is not None


def action_matches(pattern: str, action: str) -> bool:
    """IAM's Action matching: wildcards, case-insensitive (service prefix and name alike)."""
    return matches(author_text(pattern), action, ignore_case=True)


def resource_matches(pattern: Pattern, resource: str) -> bool:
    """IAM's Resource matching: wildcards over the whole ARN, case-sensitive."""
    return matches(pattern, resource)


@lru_cache(maxsize=8192)
def _split_arn_pattern(pattern: Pattern) -> tuple[Pattern, ...]:
    components: list[list[Token]] = [[]]
    for token in pattern:
        if token.wildcard or len(components) == ARN_COMPONENTS:
            components[-1].append(token)
            continue
        pieces = token.text.split(":", ARN_COMPONENTS - len(components))
        for index, piece in enumerate(pieces):
            if index:
                components.append([])
            if piece:
                components[-1].append(Token(piece))
    return tuple(tuple(component) for component in components)


@lru_cache(maxsize=65536)
def arn_matches(pattern: Pattern, value: str) -> bool:
    """ArnEquals/ArnLike: each of the six colon-delimited components is matched on its own, so
    a wildcard never reaches past a colon into the next component (the resource component, the
    last, may itself hold colons). A value or pattern that is not a six-component ARN matches
    nothing."""
    value_components = value.split(":", ARN_COMPONENTS - 1)
    pattern_components = _split_arn_pattern(pattern)
    if len(value_components) != ARN_COMPONENTS or len(pattern_components) != ARN_COMPONENTS:
        return False
    return all(matches(component, part) for component, part in zip(pattern_components, value_components, strict=True))


def arn_account(arn: str) -> str | None:
    """The account-id component of an ARN, or None when the ARN has none (S3 buckets) or the
    string is not an ARN."""
    components = arn.split(":", ARN_COMPONENTS - 1)
    if len(components) != ARN_COMPONENTS or components[0] != "arn" or not components[4]:
        return None
    return components[4]


def overlap(first: str, second: str, *, ignore_case: bool = False) -> bool:
    """Whether some string matches both glob patterns (`*`, `?`): the test behind "could this
    statement ever apply to anything this pattern names"."""
    if ignore_case:
        first, second = first.lower(), second.lower()
    return _overlap(first, second)


@lru_cache(maxsize=8192)
def _overlap(first: str, second: str) -> bool:
    @cache
    def from_positions(i: int, j: int) -> bool:
        first_done, second_done = i == len(first), j == len(second)
        if first_done and second_done:
            return True
        # A `*` either stops here or produces the next character the other side needs.
        if not first_done and first[i] == ANY_RUN:
            return from_positions(i + 1, j) or (not second_done and from_positions(i, j + 1))
        if not second_done and second[j] == ANY_RUN:
            return from_positions(i, j + 1) or (not first_done and from_positions(i + 1, j))
        if first_done or second_done:
            return False
        same = first[i] == second[j] or ANY_ONE in (first[i], second[j])
        return same and from_positions(i + 1, j + 1)

    return from_positions(0, 0)


def covers(general: str, specific: str, *, ignore_case: bool = False) -> bool:
    """Whether every string `specific` names is also named by `general`. Exact for the cases
    that occur in policies (`*`, equal patterns, a wildcard-free `specific`); otherwise it
    answers False, which makes "could apply" checks over-approximate, never miss."""
    if ignore_case:
        general, specific = general.lower(), specific.lower()
    if general in (ANY_RUN, specific):
        return True
    if ANY_RUN in specific or ANY_ONE in specific:
        return False
    return matches(author_text(general), specific)
