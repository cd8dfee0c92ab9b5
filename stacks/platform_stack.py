"""The base of every stack of the platform: explicit environment, zones resolved at deploy time."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct


class PlatformStack(cdk.Stack):
    """A stack that never asks AWS for its availability zones at synth time.

    With an explicit account and region, CDK would look the region's zones up (a context
    lookup that needs credentials). This stack answers with `Fn::GetAZs` picks instead, so
    CloudFormation resolves the zones of the target account when it deploys.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stack_name: str,
        description: str,
        availability_zone_count: int = 2,
        termination_protection: bool = False,
        region: str | None = None,
    ) -> None:
        """`region`: another region than its stage's (the account stays the stage's)."""
        self._zone_count = availability_zone_count
        super().__init__(
            scope,
            construct_id,
            stack_name=stack_name,
            description=description,
            termination_protection=termination_protection,
            env=cdk.Environment(region=region) if region else None,
        )

    @property
    def availability_zones(self) -> list[str]:
        return [cdk.Fn.select(index, cdk.Fn.get_azs()) for index in range(self._zone_count)]
