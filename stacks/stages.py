"""Stages: one deployable unit per account and purpose, each with an explicit environment.

Every account gets a `Baseline` stage. Stage ids carry the account name, construct ids
never do, so logical ids are the same in every account.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from stacks.baseline_stack import BaselineSettings, BaselineStack
from stacks.config import OrgConfig


def stage_id(account_name: str, purpose: str) -> str:
    """`ml-prod` + `Baseline` -> `MlProdBaseline`."""
    return "".join(part.capitalize() for part in account_name.split("-")) + purpose


class BaselineStage(cdk.Stage):
    def __init__(self, scope: Construct, *, config: OrgConfig, account_name: str) -> None:
        account = config.accounts[account_name]
        region = config.region_of(account)
        super().__init__(
            scope,
            stage_id(account_name, "Baseline"),
            env=cdk.Environment(account=account.id, region=region),
        )
        self.account_name = account_name
        self.stack = BaselineStack(
            self,
            "Baseline",
            settings=BaselineSettings(
                organization=config.organization.name,
                account_id=account.id,
                region=region,
                availability_zone_count=account.network.availability_zones if account.network else 2,
                production=account.is_production,
                vpc_cidr=account.network.cidr if account.network else None,
            ),
        )
        cdk.Tags.of(self).add("platform:organization", config.organization.name)
        cdk.Tags.of(self).add("platform:account", account_name)
