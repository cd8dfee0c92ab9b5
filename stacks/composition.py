"""Builds the whole organization into a CDK app: the one function app.py and tests share."""

from __future__ import annotations

import aws_cdk as cdk

from stacks import gates
from stacks.config import OrgConfig
from stacks.stages import BaselineStage


def build(app: cdk.App, config: OrgConfig) -> list[cdk.Stage]:
    """Add every stage of `config` to `app`, register the policy gates and acknowledgements."""
    stages: list[cdk.Stage] = [BaselineStage(app, config=config, account_name=name) for name in config.accounts]
    gates.register(app)
    return stages
