"""A small evaluator of deny-only policy documents, for testing what the guardrails deny.

It implements the IAM evaluation rules the platform's SCPs rely on: Action/NotAction and
Resource/NotResource matching with wildcards, and the condition operators StringEquals,
StringNotEquals, StringLike, ArnLike, ArnNotLike, Null and BoolIfExists, including how each
treats a key that is absent from the request. Anything else raises, so a guardrail that
starts using another operator cannot be "tested" by silently ignoring it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any


@dataclass(frozen=True)
class Request:
    action: str
    resource: str = "*"
    context: Mapping[str, str | list[str]] = field(default_factory=dict)


def _values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _matches_any(patterns: Any, value: str, *, case_sensitive: bool = True) -> bool:
    if case_sensitive:
        return any(fnmatchcase(value, pattern) for pattern in _values(patterns))
    return any(fnmatchcase(value.lower(), pattern.lower()) for pattern in _values(patterns))


def _condition_holds(operator: str, key: str, expected: Any, request: Request) -> bool:
    present = key in request.context
    actual = _values(request.context[key]) if present else []
    if operator == "Null":
        return _values(expected) == [str(not present).lower()]
    if operator == "BoolIfExists":
        return not present or actual == _values(expected)
    if operator in ("StringEquals", "StringLike", "ArnLike"):
        wildcard = operator != "StringEquals"
        return present and any(_matches_any(expected, v) if wildcard else v in _values(expected) for v in actual)
    if operator in ("StringNotEquals", "ArnNotLike"):
        # Negated operators hold when the key is absent: nothing in the request matches.
        wildcard = operator == "ArnNotLike"
        return not any(_matches_any(expected, v) if wildcard else v in _values(expected) for v in actual)
    raise NotImplementedError(f"condition operator {operator} is not modelled by this evaluator")


def _statement_applies(statement: dict[str, Any], request: Request) -> bool:
    service_insensitive = request.action.lower()
    if "Action" in statement:
        if not _matches_any(statement["Action"], service_insensitive, case_sensitive=False):
            return False
    elif _matches_any(statement["NotAction"], service_insensitive, case_sensitive=False):
        return False
    if "Resource" in statement:
        if not _matches_any(statement["Resource"], request.resource):
            return False
    elif _matches_any(statement["NotResource"], request.resource):
        return False
    return all(
        _condition_holds(operator, key, expected, request)
        for operator, pairs in statement.get("Condition", {}).items()
        for key, expected in pairs.items()
    )


def denying_statements(document: dict[str, Any], request: Request) -> list[str]:
    """Sids of the Deny statements of `document` that deny `request`."""
    assert all(statement["Effect"] == "Deny" for statement in document["Statement"]), "guardrails only deny"
    return [statement["Sid"] for statement in document["Statement"] if _statement_applies(statement, request)]
