"""Stages: one deployable unit per account and purpose, each with an explicit environment.

Every account gets a `Baseline` stage; each role an account holds adds that role's stage.
Stage ids carry the account name, construct ids never do, so logical ids are the same in
every account.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from stacks.archive_stack import ArchiveStack
from stacks.baseline_stack import BaselineSettings, BaselineStack
from stacks.config import OrgConfig, Role
from stacks.organization_stack import OrganizationStack
from stacks.tooling_stack import ToolingStack
from stacks.trail_stack import TrailStack


def stage_id(account_name: str, purpose: str) -> str:
    """`ml-prod` + `Baseline` -> `MlProdBaseline`."""
    return "".join(part.capitalize() for part in account_name.split("-")) + purpose


class AccountStage(cdk.Stage):
    """A stage that deploys into one account of the config, in that account's region."""

    purpose = ""

    def __init__(self, scope: Construct, *, config: OrgConfig, account_name: str) -> None:
        account = config.accounts[account_name]
        super().__init__(
            scope,
            stage_id(account_name, self.purpose),
            env=cdk.Environment(account=account.id, region=config.region_of(account)),
        )
        self.account_name = account_name
        cdk.Tags.of(self).add("platform:organization", config.organization.name)
        cdk.Tags.of(self).add("platform:account", account_name)


class BaselineStage(AccountStage):
    purpose = "Baseline"

    def __init__(self, scope: Construct, *, config: OrgConfig, account_name: str) -> None:
        super().__init__(scope, config=config, account_name=account_name)
        account = config.accounts[account_name]
        self.stack = BaselineStack(
            self,
            "Baseline",
            settings=BaselineSettings(
                organization=config.organization.name,
                account_id=account.id,
                region=config.region_of(account),
                availability_zone_count=account.network.availability_zones if account.network else 2,
                production=account.is_production,
                vpc_cidr=account.network.cidr if account.network else None,
            ),
        )


class OrganizationStage(AccountStage):
    purpose = "Organization"

    def __init__(self, scope: Construct, *, config: OrgConfig, account_name: str) -> None:
        super().__init__(scope, config=config, account_name=account_name)
        self.stack = OrganizationStack(self, "Organization", config=config)


class TrailStage(AccountStage):
    purpose = "Trail"

    def __init__(self, scope: Construct, *, config: OrgConfig, account_name: str) -> None:
        super().__init__(scope, config=config, account_name=account_name)
        self.stack = TrailStack(self, "Trail", config=config)


class ArchiveStage(AccountStage):
    purpose = "Archive"

    def __init__(self, scope: Construct, *, config: OrgConfig, account_name: str) -> None:
        super().__init__(scope, config=config, account_name=account_name)
        self.stack = ArchiveStack(self, "Archive", config=config)


class ToolingStage(AccountStage):
    purpose = "Tooling"

    def __init__(self, scope: Construct, *, config: OrgConfig, account_name: str) -> None:
        super().__init__(scope, config=config, account_name=account_name)
        self.stack = ToolingStack(self, "Tooling", config=config)


ROLE_STAGES: dict[Role, tuple[type[AccountStage], ...]] = {
    Role.MANAGEMENT: (OrganizationStage, TrailStage),
    Role.LOG_ARCHIVE: (ArchiveStage,),
    Role.SHARED_SERVICES: (ToolingStage,),
}
"""The stages each role adds to its account; roles not listed add nothing yet."""
