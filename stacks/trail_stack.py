"""The management account's organization trail. A stack of its own because it must deploy
after the log-archive account's archive exists, and that account may itself be created by
the organization stack."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from ml_constructs.audit import OrganizationTrail
from stacks import imports, naming
from stacks.config import OrgConfig
from stacks.landing_zone import trail_identity
from stacks.platform_stack import PlatformStack


class TrailStack(PlatformStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrgConfig) -> None:
        org = config.organization.name
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "organization-trail"),
            description="ML platform organization trail: every account, every region",
            termination_protection=True,
        )
        OrganizationTrail(
            self,
            "OrganizationTrail",
            trail=trail_identity(config),
            log_group_key=imports.baseline_key(self, "LogsKey", org, "logs"),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
