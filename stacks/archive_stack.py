"""The log-archive account: the immutable archive of the organization trail."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from ml_constructs.audit import TrailArchive
from stacks import imports, naming
from stacks.config import OrgConfig
from stacks.landing_zone import archive_retention, trail_identity
from stacks.platform_stack import PlatformStack


class ArchiveStack(PlatformStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrgConfig) -> None:
        org = config.organization.name
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "archive"),
            description="ML platform log archive: organization trail bucket and key",
            termination_protection=True,
        )
        TrailArchive(
            self,
            "TrailArchive",
            trail=trail_identity(config),
            retention=archive_retention(config),
            access_logs=imports.access_log_bucket(self, "AccessLogs", org),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
