"""Tiny hand-written cloud assemblies for the proofs' tests (the `assemble` fixture of
tests/proofs/conftest.py writes them): stacks in stages of the example organization's plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REGION = "eu-west-1"


@dataclass
class S:
    """A stack of a fixture assembly, in a stage of the example organization's plan."""

    stage: str
    name: str
    template: dict[str, Any]
    depends_on: tuple[str, ...] = ()
    assets: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Templates it publishes (products, StackSets), by asset hash."""
    account: str | None = None
    """For a stage the plan does not hold."""


def template(resources: dict[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    return {"Resources": resources or {}, **sections}


def role(name: str | None = None, principal: Any = None, **more: Any) -> dict[str, Any]:
    statement = {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": principal or {"Service": "lambda.amazonaws.com"},
    }
    properties = {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}, **more}
    if name:
        properties["RoleName"] = name
    return {"Type": "AWS::IAM::Role", "Properties": properties}
