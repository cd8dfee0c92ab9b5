"""Condition operators, as "IAM JSON policy elements: Condition operators" defines them.

Implemented: the String, Numeric, Date, Bool, IP address, ARN and Null operators; the
`...IfExists` suffix; the `ForAnyValue:` and `ForAllValues:` set operators. Anything else,
BinaryEquals included, raises PolicyError naming the operator: a condition that is not
understood is never treated as true or false by default.

How absent keys decide, per "Condition operators" and "Conditions with multiple context keys
or values":
- a positive operator on an absent key does not match; a negated one (StringNotEquals,
  ArnNotLike, NotIpAddress, ...) matches, since nothing in the request equals the value;
- `...IfExists` matches whenever the key is absent;
- `Null` is true when the key is absent (or its value is empty), false when present;
- `ForAllValues:` matches when the key is absent or its values are an empty set (no value or
  a single empty string); `ForAnyValue:` does not.
Several values for one key are ORed (NORed for negated operators: a negated operator matches
only if no value matches); several keys, and several operators, are ANDed. A key with several
values in the request but no set operator matches like `ForAnyValue:` for positive operators,
and only when no value matches for negated ones.

Policy variables are honoured with the String, ARN and Bool operators, as the operator page
lists; Numeric, Date, IP and Null values are read literally, so a variable there fails to
parse and raises.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache, cached_property
from typing import Any

from proofs.iam.context import ContextReader, PolicyError, as_text, resolve
from proofs.iam.patterns import Pattern, arn_matches, author_text, matches, plain

Compare = Callable[[str, Pattern], bool]
"""Whether one request value matches one policy value (positive sense)."""

FOR_ALL_VALUES = "ForAllValues:"
FOR_ANY_VALUE = "ForAnyValue:"
IF_EXISTS = "IfExists"
NULL = "Null"


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _numeric(test: Callable[[Decimal, Decimal], bool]) -> Compare:
    def compare(value: str, policy: Pattern) -> bool:
        expected = _decimal(plain(policy))
        if expected is None:
            raise PolicyError(f"numeric condition value {plain(policy)!r} is not a number")
        actual = _decimal(value)
        return actual is not None and test(actual, expected)

    return compare


def _instant(text: str) -> datetime | None:
    """A W3C ISO 8601 date/time (YYYY, YYYY-MM, a date, a date with time and zone) or epoch
    seconds; a time without a zone is taken as UTC."""
    text = text.strip()
    if text.lstrip("-").isdigit() and len(text) != len("YYYY"):
        return datetime.fromtimestamp(int(text), tz=UTC)
    padded = {len("YYYY"): f"{text}-01-01", len("YYYY-MM"): f"{text}-01"}.get(len(text), text)
    try:
        instant = datetime.fromisoformat(padded)
    except ValueError:
        return None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _date(test: Callable[[datetime, datetime], bool]) -> Compare:
    def compare(value: str, policy: Pattern) -> bool:
        expected = _instant(plain(policy))
        if expected is None:
            raise PolicyError(f"date condition value {plain(policy)!r} is not an ISO 8601 date or epoch time")
        actual = _instant(value)
        return actual is not None and test(actual, expected)

    return compare


def _bool(value: str, policy: Pattern) -> bool:
    expected = plain(policy).lower()
    if expected not in ("true", "false"):
        raise PolicyError(f"Bool condition value {plain(policy)!r} is neither true nor false")
    return value.lower() == expected


def _ip(value: str, policy: Pattern) -> bool:
    try:
        network = ipaddress.ip_network(plain(policy), strict=False)
    except ValueError as error:
        raise PolicyError(f"IP condition value {plain(policy)!r} is not an address or CIDR range") from error
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return address.version == network.version and address in network


@dataclass(frozen=True)
class Operator:
    """One base operator: how a request value matches a policy value, and whether the
    operator is the negation of that match."""

    compare: Compare
    negated: bool = False
    variables: bool = False


def _string_equals(value: str, policy: Pattern) -> bool:
    return value == plain(policy)


def _string_equals_ignore_case(value: str, policy: Pattern) -> bool:
    return value.casefold() == plain(policy).casefold()


def _string_like(value: str, policy: Pattern) -> bool:
    return matches(policy, value)


def _arn_like(value: str, policy: Pattern) -> bool:
    return arn_matches(policy, value)


OPERATORS: Mapping[str, Operator] = {
    "StringEquals": Operator(_string_equals, variables=True),
    "StringNotEquals": Operator(_string_equals, negated=True, variables=True),
    "StringEqualsIgnoreCase": Operator(_string_equals_ignore_case, variables=True),
    "StringNotEqualsIgnoreCase": Operator(_string_equals_ignore_case, negated=True, variables=True),
    "StringLike": Operator(_string_like, variables=True),
    "StringNotLike": Operator(_string_like, negated=True, variables=True),
    "NumericEquals": Operator(_numeric(lambda actual, expected: actual == expected)),
    "NumericNotEquals": Operator(_numeric(lambda actual, expected: actual == expected), negated=True),
    "NumericLessThan": Operator(_numeric(lambda actual, expected: actual < expected)),
    "NumericLessThanEquals": Operator(_numeric(lambda actual, expected: actual <= expected)),
    "NumericGreaterThan": Operator(_numeric(lambda actual, expected: actual > expected)),
    "NumericGreaterThanEquals": Operator(_numeric(lambda actual, expected: actual >= expected)),
    "DateEquals": Operator(_date(lambda actual, expected: actual == expected)),
    "DateNotEquals": Operator(_date(lambda actual, expected: actual == expected), negated=True),
    "DateLessThan": Operator(_date(lambda actual, expected: actual < expected)),
    "DateLessThanEquals": Operator(_date(lambda actual, expected: actual <= expected)),
    "DateGreaterThan": Operator(_date(lambda actual, expected: actual > expected)),
    "DateGreaterThanEquals": Operator(_date(lambda actual, expected: actual >= expected)),
    "Bool": Operator(_bool, variables=True),
    "IpAddress": Operator(_ip),
    "NotIpAddress": Operator(_ip, negated=True),
    # ArnEquals and ArnLike "behave identically", and so do their negations.
    "ArnEquals": Operator(_arn_like, variables=True),
    "ArnLike": Operator(_arn_like, variables=True),
    "ArnNotEquals": Operator(_arn_like, negated=True, variables=True),
    "ArnNotLike": Operator(_arn_like, negated=True, variables=True),
}


@dataclass(frozen=True)
class ConditionOperator:
    """A condition operator as written: set qualifier, base operator, IfExists."""

    name: str
    base: str
    qualifier: str
    if_exists: bool

    @classmethod
    @cache
    def parse(cls, name: str) -> ConditionOperator:
        """Parsed once per name: every request a statement reaches reads its operators."""
        qualifier = next((q for q in (FOR_ALL_VALUES, FOR_ANY_VALUE) if name.startswith(q)), "")
        base = name.removeprefix(qualifier)
        if_exists = base.endswith(IF_EXISTS) and base != IF_EXISTS
        base = base.removesuffix(IF_EXISTS) if if_exists else base
        if base == NULL and (if_exists or qualifier):
            raise PolicyError(f"condition operator {name!r}: Null takes neither IfExists nor a set operator")
        if base != NULL and base not in OPERATORS:
            raise PolicyError(f"condition operator {name!r} is not modelled by this evaluator")
        return cls(name, base, qualifier, if_exists)


def _empty(values: tuple[str, ...] | None) -> bool:
    """An absent key, or one that resolves to an empty data set (no value, an empty string)."""
    return not values or values == ("",)


def _policy_values(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    if not items or any(isinstance(item, dict | list) for item in items):
        raise PolicyError(f"condition value {raw!r} is not a value or a list of values")
    return [as_text(item) for item in items]


def _null_holds(key: str, raw: Any, reader: ContextReader) -> bool:
    is_null = _empty(reader.get(key))
    expected = {value.lower() for value in _policy_values(raw)}
    if not expected <= {"true", "false"}:
        raise PolicyError(f"Null condition on {key!r}: values must be true or false, not {raw!r}")
    return ("true" if is_null else "false") in expected


def _matches_any(operator: Operator, value: str, policy: Sequence[Pattern | None]) -> bool:
    # A policy value whose variable has no value is "effectively null": nothing equals it.
    return any(pattern is not None and operator.compare(value, pattern) for pattern in policy)


@dataclass(frozen=True)
class _Entry:
    """One `operator: {key: value(s)}` entry of a Condition block, with what no request
    changes worked out: the operator, and each policy value's tokens (its text where a policy
    variable is substituted per request)."""

    operator: ConditionOperator
    key: str
    raw: Any
    policy: tuple[Pattern | str, ...]

    @cached_property
    def _tokens(self) -> tuple[Pattern, ...] | None:
        """The policy values' tokens when none holds a variable: the same for every request."""
        tokens = tuple(value for value in self.policy if not isinstance(value, str))
        return tokens if len(tokens) == len(self.policy) else None

    @classmethod
    def read(cls, operator_name: str, key: str, raw: Any, *, variables: bool) -> _Entry:
        operator = ConditionOperator.parse(operator_name)
        if operator.base == NULL:
            return cls(operator, key, raw, ())
        per_request = variables and OPERATORS[operator.base].variables
        return cls(
            operator,
            key,
            raw,
            tuple(text if per_request and "${" in text else author_text(text) for text in _policy_values(raw)),
        )

    def holds(self, reader: ContextReader) -> bool:
        """Whether the entry is true for the request `reader` reads."""
        operator = self.operator
        if operator.base == NULL:
            return _null_holds(self.key, self.raw, reader)
        base = OPERATORS[operator.base]
        policy: Sequence[Pattern | None] | None = self._tokens
        if policy is None:
            policy = [resolve(text, reader, variables=True) if isinstance(text, str) else text for text in self.policy]
        values = reader.get(self.key)
        if operator.qualifier:
            if values is None or _empty(values):
                return operator.if_exists or operator.qualifier == FOR_ALL_VALUES
            each = [_matches_any(base, value, policy) != base.negated for value in values]
            return all(each) if operator.qualifier == FOR_ALL_VALUES else any(each)
        if not values:
            return operator.if_exists or base.negated
        matched = any(_matches_any(base, value, policy) for value in values)
        return matched != base.negated


class ConditionBlock:
    """A Condition block, evaluated against requests. Each entry is read (operator parsed,
    values checked and tokenized) when first evaluated, in order, so a malformed entry raises
    where it would if read per request; a statement's block is asked thousands of times."""

    def __init__(self, block: Mapping[str, Any], *, variables: bool) -> None:
        if not isinstance(block, Mapping):
            raise PolicyError(f"Condition must be an object, not {block!r}")
        for operator_name, entries in block.items():
            if not isinstance(entries, Mapping):
                raise PolicyError(f"condition operator {operator_name!r} must map keys to values, not {entries!r}")
        self._written = [(name, key, raw) for name, entries in block.items() for key, raw in entries.items()]
        self._variables = variables
        self._entries: list[_Entry] = []

    def holds(self, reader: ContextReader) -> bool:
        """Whether every entry is true. Every entry is evaluated, even after one is false, so
        that the reader records every key the block refers to."""
        results: list[bool] = []
        for index, (operator_name, key, raw) in enumerate(self._written):
            if index == len(self._entries):
                self._entries.append(_Entry.read(operator_name, key, raw, variables=self._variables))
            results.append(self._entries[index].holds(reader))
        return all(results)
