"""Builds the whole organization into a CDK app: the one function app.py and tests share."""

from __future__ import annotations

import aws_cdk as cdk

from stacks import gates
from stacks.config import OrgConfig
from stacks.nag_acknowledgements import acknowledgements
from stacks.stages import ROLE_STAGES, AccountStage, BaselineStage


def build(app: cdk.App, config: OrgConfig) -> list[AccountStage]:
    """Add every stage of `config` to `app`, register the policy gates and acknowledgements."""
    stages: list[AccountStage] = [BaselineStage(app, config=config, account_name=name) for name in config.accounts]
    for name, account in config.accounts.items():
        for role in account.roles:
            stages.extend(stage(app, config=config, account_name=name) for stage in ROLE_STAGES.get(role, ()))
    gates.register(app, acknowledgements(config))
    return stages
