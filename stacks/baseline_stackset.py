"""The account baseline as a service-managed StackSet, for organizations of hundreds of
accounts: every account that joins a target OU gets the baseline without a stage of its own.

The template is the same `add_account_baseline` the per-account stacks use, built with
pseudo parameters (AWS::AccountId, AWS::Region) in place of a literal environment.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
import cdk_stacksets as stacksets
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.baseline_stack import BaselineSettings, add_account_baseline


class BaselineTemplate(stacksets.StackSetStack):
    """The StackSet's template. Its zones are picked per account at deploy time."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: BaselineSettings) -> None:
        self._zone_count = settings.availability_zone_count
        super().__init__(scope, construct_id)
        # StackSets deploys this template with its own roles into accounts the platform does
        # not bootstrap, where the platform's boundary policy does not exist.
        iam.PermissionsBoundary.of(self).clear()
        self.baseline = add_account_baseline(self, settings)

    @property
    def availability_zones(self) -> list[str]:
        return [cdk.Fn.select(index, cdk.Fn.get_azs()) for index in range(self._zone_count)]

    # The template deploys into every account and Region of the target OUs, not into the
    # management account's environment it would inherit from its stage: what CDK derives from
    # the stack's account and Region (a key policy's account principal, a condition on the
    # source account, ARNs) must be the target's own, which only pseudo parameters give.
    @property
    def account(self) -> str:
        return cdk.Aws.ACCOUNT_ID

    @property
    def region(self) -> str:
        return cdk.Aws.REGION


class BaselineStackSet(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        organization: str,
        vpc_cidr: str,
        availability_zone_count: int,
        target_ou_ids: Sequence[str],
        regions: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.template = BaselineTemplate(
            self,
            "Template",
            settings=BaselineSettings(
                organization=organization,
                account_id=cdk.Aws.ACCOUNT_ID,
                region=cdk.Aws.REGION,
                availability_zone_count=availability_zone_count,
                production=False,
                vpc_cidr=vpc_cidr,
                # CDK's custom resource ships its code as an asset, which a StackSet
                # template cannot carry; AWS Config remediation needs none.
                close_default_security_group_with="config-remediation",
            ),
        )
        self.stack_set = stacksets.StackSet(
            self,
            "StackSet",
            stack_set_name=name,
            description="ML platform account baseline for every account of the target OUs",
            template=stacksets.StackSetTemplate.from_stack_set_stack(self.template),
            deployment_type=stacksets.DeploymentType.service_managed(
                # Deployed by the management account itself, not a delegated administrator.
                delegated_admin=False,
                auto_deploy_enabled=True,
                # An account that leaves the OU keeps its keys, logs and VPC.
                auto_deploy_retain_stacks=True,
            ),
            target=stacksets.StackSetTarget.from_organizational_units(
                organizational_units=list(target_ou_ids), regions=list(regions)
            ),
            capabilities=[stacksets.Capability.NAMED_IAM],
            managed_execution=True,
            operation_preferences=stacksets.OperationPreferences(
                region_concurrency_type=stacksets.RegionConcurrencyType.PARALLEL,
                max_concurrent_percentage=25,
                failure_tolerance_percentage=10,
            ),
        )
