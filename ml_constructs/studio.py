"""SageMaker Studio: a VPC-only, encrypted domain, and its members (user profiles and spaces)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ml_constructs.network import allow_https_to_aws

JUPYTER_LAB = "JupyterLab"


@dataclass(frozen=True)
class PackageIndex:
    """Where pip installs from inside the VPC: a CodeArtifact PyPI repository."""

    domain: str
    domain_owner: str
    repository: str
    region: str

    def lifecycle_script(self) -> str:
        """Runs at every JupyterLab start: points pip at the mirror with a fresh token."""
        return "\n".join(
            [
                "#!/bin/bash",
                "set -euo pipefail",
                "# Studio apps have no internet: pip uses the organization's CodeArtifact mirror.",
                f"aws codeartifact login --tool pip --region {self.region} --domain {self.domain} "
                f"--domain-owner {self.domain_owner} --repository {self.repository}",
                "",
            ]
        )


@dataclass(frozen=True)
class IdleShutdown:
    default_minutes: int
    max_minutes: int


class StudioDomain(Construct):
    """A Studio domain that only reaches AWS through the VPC's endpoints.

    VpcOnly network access in private subnets; home EFS and app volumes encrypted with the
    given key; Docker access off; JupyterLab is the default app (Studio Classic hidden),
    shuts down when idle and starts with pip pointed at the package mirror. (Studio spaces
    offer no switch for root inside the app container; Docker, which would give a way out,
    is off.)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        vpc: ec2.IVpc,
        subnet_ids: Sequence[str],
        key: kms.IKey,
        execution_role_arn: str,
        auth_mode: str,
        package_index: PackageIndex,
        idle_shutdown: IdleShutdown,
        default_instance_type: str,
        default_volume_gb: int,
        max_volume_gb: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Studio apps: each other and the home EFS, and AWS through the VPC endpoints",
            allow_all_outbound=False,
        )
        # Studio apps talk to each other and to the home EFS (NFS) inside this group only.
        self.security_group.add_ingress_rule(self.security_group, ec2.Port.all_tcp(), "Studio apps and home EFS")
        self.security_group.add_egress_rule(self.security_group, ec2.Port.all_tcp(), "Studio apps and home EFS")
        allow_https_to_aws(self.security_group)
        self.lifecycle_config = sagemaker.CfnStudioLifecycleConfig(
            self,
            "PackageIndex",
            studio_lifecycle_config_name=f"{name}-package-index",
            studio_lifecycle_config_app_type=JUPYTER_LAB,
            studio_lifecycle_config_content=base64.b64encode(package_index.lifecycle_script().encode()).decode(),
        )
        security_groups = [self.security_group.security_group_id]
        self.domain = sagemaker.CfnDomain(
            self,
            "Domain",
            domain_name=name,
            auth_mode="SSO" if auth_mode == "sso" else "IAM",
            app_network_access_type="VpcOnly",
            vpc_id=vpc.vpc_id,
            subnet_ids=list(subnet_ids),
            kms_key_id=key.key_arn,
            domain_settings=sagemaker.CfnDomain.DomainSettingsProperty(
                security_group_ids=security_groups,
                docker_settings=sagemaker.CfnDomain.DockerSettingsProperty(enable_docker_access="DISABLED"),
            ),
            default_user_settings=sagemaker.CfnDomain.UserSettingsProperty(
                execution_role=execution_role_arn,
                security_groups=security_groups,
                default_landing_uri="studio::",
                studio_web_portal="ENABLED",
                # Studio Classic (the JupyterServer app) is not offered.
                studio_web_portal_settings=sagemaker.CfnDomain.StudioWebPortalSettingsProperty(
                    hidden_app_types=["JupyterServer"]
                ),
                space_storage_settings=sagemaker.CfnDomain.DefaultSpaceStorageSettingsProperty(
                    default_ebs_storage_settings=sagemaker.CfnDomain.DefaultEbsStorageSettingsProperty(
                        default_ebs_volume_size_in_gb=default_volume_gb,
                        maximum_ebs_volume_size_in_gb=max_volume_gb,
                    )
                ),
                jupyter_lab_app_settings=sagemaker.CfnDomain.JupyterLabAppSettingsProperty(
                    default_resource_spec=sagemaker.CfnDomain.ResourceSpecProperty(
                        instance_type=default_instance_type,
                        lifecycle_config_arn=self.lifecycle_config.attr_studio_lifecycle_config_arn,
                    ),
                    lifecycle_config_arns=[self.lifecycle_config.attr_studio_lifecycle_config_arn],
                    app_lifecycle_management=sagemaker.CfnDomain.AppLifecycleManagementProperty(
                        idle_settings=sagemaker.CfnDomain.IdleSettingsProperty(
                            lifecycle_management="ENABLED",
                            idle_timeout_in_minutes=idle_shutdown.default_minutes,
                            min_idle_timeout_in_minutes=60,
                            max_idle_timeout_in_minutes=idle_shutdown.max_minutes,
                        )
                    ),
                ),
            ),
            default_space_settings=sagemaker.CfnDomain.DefaultSpaceSettingsProperty(
                execution_role=execution_role_arn, security_groups=security_groups
            ),
        )
        # In production the domain, and with it every home directory on EFS, outlives the stack.
        self.domain.apply_removal_policy(removal_policy)
        self.domain_id = self.domain.attr_domain_id


@dataclass(frozen=True)
class Member:
    """A Studio user: a profile, and a private JupyterLab space of the same name."""

    profile_name: str
    execution_role_arn: str
    tags: dict[str, str]
    sso_user_name: str | None = None
    key: str | None = None
    """Construct id of the member's resources; default the profile name (which may then not be a token)."""

    @property
    def construct_id(self) -> str:
        return self.key or self.profile_name


@dataclass(frozen=True)
class SharedSpace:
    name: str
    tags: dict[str, str]


class StudioMembers(Construct):
    """User profiles, their private spaces and shared spaces, and the custom resource that
    deletes their apps before CloudFormation deletes them (lambda/studio_teardown)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain_id: str,
        members: Sequence[Member],
        shared_spaces: Sequence[SharedSpace] = (),
        teardown_function_arn: str,
        teardown_scope: str = "members",
    ) -> None:
        super().__init__(scope, construct_id)
        owned: list[cdk.CfnResource] = []
        for member in members:
            profile = sagemaker.CfnUserProfile(
                self,
                member.construct_id,
                domain_id=domain_id,
                user_profile_name=member.profile_name,
                user_settings=sagemaker.CfnUserProfile.UserSettingsProperty(execution_role=member.execution_role_arn),
                single_sign_on_user_identifier="UserName" if member.sso_user_name else None,
                single_sign_on_user_value=member.sso_user_name,
                tags=[cdk.CfnTag(key=key, value=value) for key, value in member.tags.items()],
            )
            space = sagemaker.CfnSpace(
                self,
                f"{member.construct_id}-space",
                domain_id=domain_id,
                space_name=member.profile_name,
                ownership_settings=sagemaker.CfnSpace.OwnershipSettingsProperty(
                    owner_user_profile_name=member.profile_name
                ),
                space_sharing_settings=sagemaker.CfnSpace.SpaceSharingSettingsProperty(sharing_type="Private"),
                space_settings=sagemaker.CfnSpace.SpaceSettingsProperty(app_type=JUPYTER_LAB),
                tags=[cdk.CfnTag(key=key, value=value) for key, value in member.tags.items()],
            )
            space.node.add_dependency(profile)
            owned += [profile, space]
        for shared in shared_spaces:
            owned.append(
                sagemaker.CfnSpace(
                    self,
                    shared.name,
                    domain_id=domain_id,
                    space_name=shared.name,
                    space_sharing_settings=sagemaker.CfnSpace.SpaceSharingSettingsProperty(sharing_type="Shared"),
                    space_settings=sagemaker.CfnSpace.SpaceSettingsProperty(app_type=JUPYTER_LAB),
                    tags=[cdk.CfnTag(key=key, value=value) for key, value in shared.tags.items()],
                )
            )
        profiles = [member.profile_name for member in members]
        self.teardown = cdk.CustomResource(
            self,
            "Teardown",
            service_token=teardown_function_arn,
            resource_type="Custom::StudioTeardown",
            properties={
                "DomainId": domain_id,
                "Scope": teardown_scope,
                "UserProfiles": profiles,
                "Spaces": profiles + [shared.name for shared in shared_spaces],
            },
        )
        # Deleted first: CloudFormation removes dependents before what they depend on.
        for resource in owned:
            self.teardown.node.add_dependency(resource)
