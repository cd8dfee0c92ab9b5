"""Stages: one deployable unit per account and purpose, each with an explicit environment.

Every account gets a `Baseline` stage; each role an account holds adds that role's stage;
a production account whose endpoints name a recovery region also gets its baseline, serving
and endpoints stages there (stacks.recovery_stack).
Stage ids carry the account name, construct ids never do, so logical ids are the same in
every account.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from stacks import naming
from stacks.archive_stack import ArchiveStack
from stacks.baseline_stack import BaselineSettings, BaselineStack
from stacks.batch_inference_stack import BatchInferenceStack
from stacks.config import OrgConfig
from stacks.deployment_order import stage_id
from stacks.feature_store_stack import FEATURE_GROUPS_PER_STACK, FeatureGroupsStack, FeatureStoreStack
from stacks.inference_api_stack import InferenceApiStack, endpoints_with_apis
from stacks.model_build_stack import ModelBuildStack
from stacks.model_deployment_stack import ModelDeploymentStack, models_served
from stacks.organization_stack import OrganizationStack
from stacks.placement_stack import PlacementStack
from stacks.recovery_stack import RecoveryServingStack
from stacks.registry_stack import RegistryStack, models_developed_in
from stacks.replication_stack import PipelineReplicationStack
from stacks.self_service_stack import CatalogStack, SelfServiceStack
from stacks.serving_stack import EndpointStack, ServingStack
from stacks.sharding import inference_api_shards, model_build_shards, model_deployment_shards, shard
from stacks.studio_stack import USERS_PER_STACK, StudioStack, StudioUsersStack, TeamStack, teams_in
from stacks.toolchain_stack import ToolchainStack
from stacks.tooling_stack import ToolingStack
from stacks.trail_stack import TrailStack


class AccountStage(cdk.Stage):
    """A stage that deploys into one account of the config, in that account's region."""

    purpose = ""

    def __init__(
        self, scope: Construct, *, config: OrgConfig, account_name: str, recovery_region: str | None = None
    ) -> None:
        """`recovery_region`: the stage of a production account in a recovery region of its
        endpoints (stacks.recovery_stack), instead of the account's own region."""
        account = config.accounts[account_name]
        super().__init__(
            scope,
            stage_id(account_name, self.purpose, recovery_region),
            env=cdk.Environment(account=account.id, region=recovery_region or config.region_of(account)),
            # Every role the stage creates carries the boundary the execution role may create
            # roles with only (proofs.deploy.policies): none can do more than that boundary.
            permissions_boundary=cdk.PermissionsBoundary.from_name(
                naming.permissions_boundary(config.organization.name)
            ),
        )
        self.account_name = account_name
        self.recovery_region = recovery_region
        cdk.Tags.of(self).add(naming.ORGANIZATION_TAG, config.organization.name)
        cdk.Tags.of(self).add(naming.ACCOUNT_TAG, account_name)


class BaselineStage(AccountStage):
    purpose = "Baseline"

    def __init__(
        self, scope: Construct, *, config: OrgConfig, account_name: str, recovery_region: str | None = None
    ) -> None:
        super().__init__(scope, config=config, account_name=account_name, recovery_region=recovery_region)
        account = config.accounts[account_name]
        self.stack = BaselineStack(
            self,
            "Baseline",
            settings=BaselineSettings(
                organization=config.organization.name,
                account_id=account.id,
                region=recovery_region or config.region_of(account),
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


class CatalogStage(AccountStage):
    """The management account's self-service portfolio (stacks.self_service_stack)."""

    purpose = "Catalog"

    def __init__(self, scope: Construct, *, config: OrgConfig, account_name: str) -> None:
        super().__init__(scope, config=config, account_name=account_name)
        self.stack = CatalogStack(self, "Catalog", config=config)


class PlacementStage(AccountStage):
    """The management account's placement of existing accounts in their OUs (stacks.placement_stack)."""

    purpose = "Placement"

    def __init__(self, scope: Construct, *, config: OrgConfig, account_name: str) -> None:
        super().__init__(scope, config=config, account_name=account_name)
        self.stack = PlacementStack(self, "Placement", config=config)


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
        self.config = config
        self.stack = ToolingStack(self, "Tooling", config=config, account_name=account_name)
        self.replication = [
            PipelineReplicationStack(self, f"PipelineReplication-{region}", config=config, region=region)
            for region in config.recovery_regions()
        ]

    def add_model_deployments(self, endpoints: list[EndpointsStage]) -> None:
        """The deployment pipelines, which deploy the endpoint and batch stacks of `endpoints`
        (built after this stage: they deploy in a later wave)."""
        primary = [stage for stage in endpoints if stage.recovery_region is None]
        stacks = {
            (stage.account_name, name): stack for stage in primary for name, stack in stage.endpoint_stacks.items()
        }
        batch_stacks = {
            (stage.account_name, name): stack for stage in primary for name, stack in stage.batch_stacks.items()
        }
        recovery_stacks = {
            (stage.account_name, name): stack
            for stage in endpoints
            if stage.recovery_region is not None
            for name, stack in stage.endpoint_stacks.items()
        }
        if not stacks and not batch_stacks:
            return
        shards = model_deployment_shards(models_served(self.config))
        first = None
        for index, models in enumerate(shards):
            deployments = ModelDeploymentStack(
                self,
                f"ModelDeployments-{index}",
                config=self.config,
                account_name=self.account_name,
                deployment_bus=self.stack.deployment_bus,
                endpoint_stacks=stacks,
                batch_stacks=batch_stacks,
                recovery_stacks=recovery_stacks,
                models=models,
                shard_index=index,
            )
            for replication in self.replication:
                deployments.add_stack_dependency(replication, "standbys deploy through the region's replication bucket")
            if first is None:
                first = deployments
            else:
                deployments.add_stack_dependency(first, "the pipelines invoke the first shard's smoke test")


class DataStage(AccountStage):
    """The data account that holds the central Feature Store."""

    purpose = "Data"

    def __init__(self, scope: Construct, *, config: OrgConfig, account_name: str) -> None:
        super().__init__(scope, config=config, account_name=account_name)
        store = config.feature_store
        assert store is not None and store.account == account_name, "planned only where the store is"
        self.feature_store = FeatureStoreStack(self, "FeatureStore", config=config, store=store)
        if config.self_service is not None:
            # The account's one SelfService stack (with the development products' launch roles
            # where the account is ml-dev too): here, after the store whose key it names.
            self_service = SelfServiceStack(self, "SelfService", config=config, account_name=account_name)
            self_service.add_stack_dependency(self.feature_store, "the feature group launch role names the store's key")
        groups = shard(store.feature_groups, lambda group: group.name, FEATURE_GROUPS_PER_STACK)
        for index, shard_groups in enumerate(groups):
            if shard_groups:
                FeatureGroupsStack(
                    self,
                    f"FeatureGroups{index}",
                    config=config,
                    store=self.feature_store,
                    groups=shard_groups,
                    shard_index=index,
                )


class DevelopmentStage(AccountStage):
    """An ml-dev account: the Studio domain, team roles and buckets, the teams' users, and the
    model registry of the models developed here."""

    purpose = "Development"

    def __init__(self, scope: Construct, *, config: OrgConfig, account_name: str) -> None:
        super().__init__(scope, config=config, account_name=account_name)
        self.studio = StudioStack(self, "Studio", config=config, account_name=account_name)
        store = config.feature_store
        if config.self_service is not None and (store is None or store.account != account_name):
            # Else the account's Data stage has it, with the feature group's launch role.
            SelfServiceStack(self, "SelfService", config=config, account_name=account_name)
        models = models_developed_in(config, account_name)
        registry = RegistryStack(self, "Registry", config=config, account_name=account_name) if models else None
        for team_name, team in teams_in(config, account_name):
            team_models = [model for model in models if model.team == team_name]
            team_stack = TeamStack(
                self,
                f"Team-{team_name}",
                config=config,
                studio=self.studio,
                team_name=team_name,
                models_key=registry.key if registry and team_models else None,
            )
            for index, shard_models in enumerate(model_build_shards(team_models)):
                if registry and shard_models:
                    ModelBuildStack(
                        self,
                        f"ModelBuild-{team_name}-{index}",
                        config=config,
                        team=team_stack,
                        registry=registry,
                        team_name=team_name,
                        models=shard_models,
                        shard_index=index,
                    )
            for index, users in enumerate(shard(team.users, lambda user: user.name, USERS_PER_STACK)):
                shared_space = team.shared_space and index == 0
                if users or shared_space:
                    StudioUsersStack(
                        self,
                        f"StudioUsers-{team_name}-{index}",
                        config=config,
                        studio=self.studio,
                        team=team_stack,
                        team_name=team_name,
                        users=users,
                        shared_space=shared_space,
                        shard_index=index,
                    )


class ServingStage(AccountStage):
    """What the endpoints of an ml-test or ml-prod account share."""

    purpose = "Serving"

    def __init__(
        self, scope: Construct, *, config: OrgConfig, account_name: str, recovery_region: str | None = None
    ) -> None:
        super().__init__(scope, config=config, account_name=account_name, recovery_region=recovery_region)
        with_apis = endpoints_with_apis(config, account_name)
        if recovery_region is not None:
            self.stack: ServingStack | RecoveryServingStack = RecoveryServingStack(
                self, "Serving", config=config, account_name=account_name
            )
            # The APIs of the standbys in this region, where their names fail over to.
            with_apis = [
                served
                for served in with_apis
                if served.placement.production and served.item.recovery_region == recovery_region
            ]
            if not with_apis:
                return
        else:
            self.stack = ServingStack(self, "Serving", config=config, account_name=account_name)
            if not with_apis:
                return  # no API, so no API Gateway logging setting either
        first = None
        for index, endpoints in enumerate(inference_api_shards(with_apis)):
            if index and not endpoints:
                continue  # the first always exists: it holds the account's logging setting
            apis = InferenceApiStack(
                self,
                f"InferenceApis-{index}",
                config=config,
                account_name=account_name,
                endpoints=endpoints,
                shard_index=index,
            )
            apis.add_stack_dependency(self.stack, "the APIs' function and logs use the serving key")
            if first is None:
                first = apis
            else:
                apis.add_stack_dependency(first, "the first holds the account's API Gateway logging role")


class EndpointsStage(AccountStage):
    """The deployments of endpoints and batch inference jobs in an ml-test or ml-prod account, a
    stack each, deployed by the models' deployment pipelines; in a recovery region, the standbys
    of its production endpoints."""

    purpose = "Endpoints"

    def __init__(
        self, scope: Construct, *, config: OrgConfig, account_name: str, recovery_region: str | None = None
    ) -> None:
        super().__init__(scope, config=config, account_name=account_name, recovery_region=recovery_region)
        self.endpoint_stacks = {
            served.name: EndpointStack(
                self, f"Endpoint-{served.name}", config=config, served=served, recovery=recovery_region is not None
            )
            for served in config.endpoints_served_in(account_name)
            if recovery_region is None
            or (served.placement.production and served.item.recovery_region == recovery_region)
        }
        """By deployed name (naming.deployed_name)."""
        self.batch_stacks = {
            served.name: BatchInferenceStack(self, f"Batch-{served.name}", config=config, served=served)
            for served in config.batch_jobs_served_in(account_name)
            if recovery_region is None
        }


class ToolchainStage(AccountStage):
    """The platform's own CDK pipeline, in the shared-services account. Added last
    (`add_pipeline`): its waves are the organization's other stages."""

    purpose = "Toolchain"

    def __init__(self, scope: Construct, *, config: OrgConfig, account_name: str) -> None:
        super().__init__(scope, config=config, account_name=account_name)
        self.config = config

    def add_pipeline(self, stages: list[AccountStage]) -> ToolchainStack:
        self.stack = ToolchainStack(self, "Toolchain", config=self.config, stages=stages)
        return self.stack


STAGE_CLASSES: dict[str, type[AccountStage]] = {
    stage.purpose: stage
    for stage in (
        BaselineStage,
        OrganizationStage,
        CatalogStage,
        PlacementStage,
        TrailStage,
        ArchiveStage,
        ToolingStage,
        DataStage,
        DevelopmentStage,
        ServingStage,
        EndpointsStage,
        ToolchainStage,
    )
}
"""The stage class of each purpose that stacks.deployment_order names."""
RECOVERY_STAGE_CLASSES: dict[str, type[BaselineStage | ServingStage | EndpointsStage]] = {
    stage.purpose: stage for stage in (BaselineStage, ServingStage, EndpointsStage)
}
"""The stage classes that also deploy to a production account's recovery regions."""
