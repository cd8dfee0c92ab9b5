"""The shared-services account's tooling: the organization's private package mirror."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from ml_constructs.encryption import PurposeKey
from ml_constructs.package_mirror import PackageMirror
from stacks import naming
from stacks.config import OrgConfig
from stacks.platform_stack import PlatformStack


class ToolingStack(PlatformStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrgConfig) -> None:
        org = config.organization.name
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "tooling"),
            description="ML platform shared tooling: private PyPI mirror",
            termination_protection=True,
        )
        key = PurposeKey(
            self,
            "PackagesKey",
            alias=naming.key_alias(org, "packages"),
            description="CodeArtifact packages",
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.mirror = PackageMirror(
            self, "PackageMirror", domain_name=org, organization_id=config.landing_zone.organization_id, key=key
        )
