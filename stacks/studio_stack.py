"""An ml-dev account's data-science environment: team roles and buckets, the Studio domain
(`StudioStack`), and the teams' user profiles and spaces (`StudioUsersStack`, sharded)."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ml_constructs.arns import in_this_account
from ml_constructs.encryption import PurposeKey
from ml_constructs.function import PlatformFunction
from ml_constructs.personas import JobGuards, TeamRoles
from ml_constructs.storage import SecureBucket
from ml_constructs.studio import IdleShutdown, Member, PackageIndex, SharedSpace, StudioDomain, StudioMembers
from stacks import console_links, imports, naming
from stacks.config import OrgConfig, Role
from stacks.config.models import Persona, Team, User
from stacks.platform_stack import PlatformStack
from stacks.self_service_stack import catalog_products_arn, project_templates_location

USERS_PER_STACK = 150
"""Each user is a profile and a space: 150 users fill a stack to about 300 of its 500 resources,
leaving room for the hash to place a few more in one shard than in another."""


class StudioStack(PlatformStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrgConfig, account_name: str) -> None:
        org = config.organization.name
        account = config.accounts[account_name]
        assert account.network is not None
        zones = account.network.availability_zones
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "studio"),
            description="ML platform data-science environment: team roles and buckets, Studio domain",
            availability_zone_count=zones,
        )
        keep = cdk.RemovalPolicy.RETAIN if account.is_production else cdk.RemovalPolicy.DESTROY
        vpc = imports.baseline_vpc(self, "Vpc", org, account.network.cidr)
        subnet_ids = [subnet.subnet_id for subnet in vpc.isolated_subnets]
        self.data_key = PurposeKey(
            self,
            "DataKey",
            alias=naming.key_alias(org, "ml-data"),
            description="Team data, jobs and Studio",
            removal_policy=keep,
        )
        self.functions_key = PurposeKey(
            self,
            "FunctionsKey",
            alias=naming.key_alias(org, "studio-functions"),
            description="Logs and dead letters of the Studio functions",
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.functions_key.allow_cloudwatch_logs()
        _, tooling = config.account_with(Role.SHARED_SERVICES)
        package_index = PackageIndex(
            domain=org, domain_owner=tooling.id, repository="pypi", region=config.region_of(tooling)
        )
        default_role = iam.Role(
            self,
            "DomainDefaultRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Studio default for anyone without a team role: no data, no jobs",
        )
        studio = config.studio
        self.studio = StudioDomain(
            self,
            "Studio",
            name=naming.stack_name(org, "studio"),
            vpc=vpc,
            subnet_ids=subnet_ids,
            key=self.data_key,
            execution_role_arn=default_role.role_arn,
            auth_mode=studio.auth_mode,
            package_index=package_index,
            idle_shutdown=IdleShutdown(studio.idle_timeout_minutes, studio.max_idle_timeout_minutes),
            default_instance_type=studio.default_instance_type,
            default_volume_gb=studio.default_volume_gb,
            max_volume_gb=studio.max_volume_gb,
            removal_policy=keep,
        )
        console_links.publish(
            self,
            "SageMaker Studio: users open it from IAM Identity Center or, under IAM auth, from their user profile",
            self.studio.domain.attr_url,
            "StudioUrl",
        )
        if config.self_service is not None and config.self_service.s3_project_templates:
            # Studio lists the S3-based project templates found where this tag points.
            account = config.accounts[account_name]
            cdk.Tags.of(self.studio.domain).add(
                "sagemaker:projectS3TemplatesLocation",
                project_templates_location(org, account.id, config.region_of(account)),
            )
        self.teardown = PlatformFunction(
            self,
            "StudioTeardown",
            name="studio_teardown",
            description="Deletes Studio apps (and unmanaged spaces and profiles) before their stack deletes them",
            key=self.functions_key,
            alarm_topic=imports.alerts_topic(self, "Alerts", org),
            timeout=cdk.Duration.minutes(15),
            vpc=vpc,
            statements=[
                iam.PolicyStatement(
                    actions=["sagemaker:ListApps", "sagemaker:ListSpaces", "sagemaker:ListUserProfiles"],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    actions=["sagemaker:DeleteApp", "sagemaker:DeleteSpace", "sagemaker:DeleteUserProfile"],
                    resources=[
                        in_this_account("sagemaker", f"{kind}/{self.studio.domain_id}/*")
                        for kind in ("app", "space", "user-profile")
                    ],
                ),
            ],
        )
        StudioMembers(
            self,
            "DomainTeardown",
            domain_id=self.studio.domain_id,
            members=[],
            teardown_function_arn=self.teardown.function.function_arn,
            teardown_scope="domain",
        )
        ssm.StringParameter(
            self,
            "DomainIdParameter",
            parameter_name=naming.ssm_parameter_name(org, "studio", "domain-id"),
            string_value=self.studio.domain_id,
            description="The account's Studio domain, for self-service products that add users",
        )
        ssm.StringParameter(
            self,
            "TeardownParameter",
            parameter_name=naming.ssm_parameter_name(org, "studio", "teardown-function-arn"),
            string_value=self.teardown.function.function_arn,
            description="Deletes a user's Studio apps before the user's stack deletes the profile",
        )


def feature_store_roles(config: OrgConfig) -> list[str]:
    """The producer and consumer roles of the central Feature Store, when there is one."""
    if config.feature_store is None:
        return []
    data = config.accounts[config.feature_store.account]
    org = config.organization.name
    return [
        f"arn:{cdk.Aws.PARTITION}:iam::{data.id}:role/{naming.role_name(org, purpose)}"
        for purpose in (naming.FEATURE_STORE_PRODUCER_ROLE, naming.FEATURE_STORE_CONSUMER_ROLE)
    ]


class TeamStack(PlatformStack):
    """A team's data bucket and its four roles (stack of its own: one team's change never
    touches another's, and identical construct ids give every team the same logical ids).
    Jobs may encrypt with the team's data key and, where the team builds models, the
    registry's models key (model artifacts the serving accounts decrypt)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrgConfig,
        studio: StudioStack,
        team_name: str,
        models_key: kms.IKey | None,
    ) -> None:
        org = config.organization.name
        account = config.accounts[config.teams[team_name].accounts.dev]
        assert account.network is not None
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "team", team_name),
            description=f"ML platform team {team_name}: data bucket and SageMaker roles",
        )
        subnet_ids = imports.private_subnet_ids(self, org, account.network.availability_zones)
        self.bucket = SecureBucket(
            self,
            "Bucket",
            encryption_key=studio.data_key,
            access_logs=imports.access_log_bucket(self, "AccessLogs", org),
        )
        _, tooling = config.account_with(Role.SHARED_SERVICES)
        mirror = f"arn:{cdk.Aws.PARTITION}:codeartifact:{config.region_of(tooling)}:{tooling.id}"
        self.roles = TeamRoles(
            self,
            "Roles",
            team=team_name,
            guards=JobGuards(
                subnet_ids=subnet_ids,
                key_arns=[key.key_arn for key in (studio.data_key, models_key) if key is not None],
            ),
            bucket=self.bucket,
            key=studio.data_key,
            model_prefixes=[
                naming.model_package_group_name(org, model.name) for model in config.models if model.team == team_name
            ],
            package_domain_arn=f"{mirror}:domain/{org}",
            package_repository_arn=f"{mirror}:repository/{org}/pypi",
            # The central Feature Store's roles trust the team's accounts: its people ingest and
            # read features through them (stacks.feature_store_stack).
            assumable_role_arns=feature_store_roles(config),
            catalog_products_arn=catalog_products_arn(config) if config.self_service is not None else None,
        )
        cdk.Tags.of(self).add("platform:team", team_name)


class StudioUsersStack(PlatformStack):
    """One shard of a team's Studio users: a profile and a private space each, and, in the
    team's first shard, the team's shared space."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrgConfig,
        studio: StudioStack,
        team: TeamStack,
        team_name: str,
        users: Sequence[User],
        shared_space: bool,
        shard_index: int,
    ) -> None:
        org = config.organization.name
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "studio-users", team_name, str(shard_index)),
            description=f"ML platform Studio users of team {team_name} (shard {shard_index})",
        )
        roles = team.roles
        sso = config.studio.auth_mode == "sso"
        team_tags = {"platform:team": team_name}
        members = [
            Member(
                profile_name=naming.user_profile_name(team_name, user.name),
                execution_role_arn=(
                    roles.ml_engineer if user.persona is Persona.ML_ENGINEER else roles.data_scientist
                ).role_arn,
                tags={**team_tags, "platform:user": user.name},
                sso_user_name=user.name if sso else None,
            )
            for user in users
        ]
        shared = [SharedSpace(naming.shared_space_name(team_name), team_tags)] if shared_space else []
        StudioMembers(
            self,
            "Members",
            domain_id=studio.studio.domain_id,
            members=members,
            shared_spaces=shared,
            teardown_function_arn=studio.teardown.function.function_arn,
        )
        cdk.Tags.of(self).add("platform:team", team_name)


def teams_in(config: OrgConfig, account_name: str) -> list[tuple[str, Team]]:
    """The teams whose development account is `account_name`."""
    return [(name, team) for name, team in config.teams.items() if team.accounts.dev == account_name]
