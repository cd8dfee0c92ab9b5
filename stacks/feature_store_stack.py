"""The data account's central Feature Store: the encrypted offline store, its Glue catalog,
the roles other accounts assume to read features or ingest them (`FeatureStoreStack`), and
the feature groups (`FeatureGroupsStack`, sharded)."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ml_constructs.arns import in_this_account
from ml_constructs.encryption import PurposeKey
from ml_constructs.feature_store import offline_store, online_store
from ml_constructs.personas import launch_products
from ml_constructs.roles import role_with_managed_policy
from ml_constructs.storage import SecureBucket
from stacks import imports, naming
from stacks.config import OrgConfig
from stacks.config.models import FeatureGroup, FeatureStore
from stacks.platform_stack import PlatformStack
from stacks.self_service_stack import catalog_products_arn

FEATURE_GROUPS_PER_STACK = 200


class FeatureStoreStack(PlatformStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrgConfig, store: FeatureStore) -> None:
        org = config.organization.name
        account = config.accounts[store.account]
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "feature-store"),
            description="ML platform Feature Store: offline store, catalog, producer and consumer roles",
            termination_protection=True,
        )
        region = config.region_of(account)
        self.key = PurposeKey(
            self,
            "FeatureStoreKey",
            alias=naming.key_alias(org, "feature-store"),
            description="Feature Store online and offline stores",
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        lifecycle = s3.LifecycleRule(
            id="OfflineStoreTiers",
            transitions=[
                s3.Transition(
                    storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                    transition_after=cdk.Duration.days(store.offline_transition_to_infrequent_access_days),
                )
            ],
            expiration=cdk.Duration.days(store.offline_expiration_days) if store.offline_expiration_days else None,
            noncurrent_version_expiration=cdk.Duration.days(30),
        )
        self.offline_store = SecureBucket(
            self,
            "OfflineStore",
            bucket_name=naming.bucket_name(org, "feature-store", account.id, region),
            encryption_key=self.key,
            access_logs=imports.access_log_bucket(self, "AccessLogs", org),
            lifecycle_rules=[lifecycle],
        )
        self.offline_uri = self.offline_store.s3_url_for_object("offline")
        self.database_name = f"{org.replace('-', '_')}_feature_store"
        self.database = glue.CfnDatabase(
            self,
            "Catalog",
            catalog_id=cdk.Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name, description="Offline store tables of the platform's feature groups"
            ),
        )
        groups = in_this_account("sagemaker", f"feature-group/{org}-*")
        catalog = [
            in_this_account("glue", "catalog"),
            in_this_account("glue", f"database/{self.database_name}"),
            in_this_account("glue", f"table/{self.database_name}/*"),
        ]
        self.store_role = role_with_managed_policy(
            self,
            "OfflineStoreWriter",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Feature Store writing the offline store and its catalog",
            statements=[
                iam.PolicyStatement(
                    actions=["s3:PutObject", "s3:GetObject", "s3:GetBucketAcl", "s3:ListBucket"],
                    resources=[self.offline_store.bucket_arn, self.offline_store.arn_for_objects("*")],
                ),
                iam.PolicyStatement(
                    actions=["glue:GetTable", "glue:CreateTable", "glue:UpdateTable", "glue:GetDatabase"],
                    resources=catalog,
                ),
                self._key_use(),
            ],
        )
        consumers = sorted(
            {
                config.accounts[name].id
                for team in config.teams.values()
                for name in (team.accounts.dev, team.accounts.prod)
            }
        )
        producers = sorted({config.accounts[team.accounts.dev].id for team in config.teams.values()})
        organization_id = config.landing_zone.organization_id
        self.consumer_role = role_with_managed_policy(
            self,
            "Consumer",
            assumed_by=_accounts_of_organization(consumers, organization_id),
            description="Read features: online records and the offline store, from development and production accounts",
            statements=[
                iam.PolicyStatement(
                    actions=["sagemaker:GetRecord", "sagemaker:BatchGetRecord", "sagemaker:DescribeFeatureGroup"],
                    resources=[groups],
                ),
                iam.PolicyStatement(
                    actions=["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
                    resources=[self.offline_store.bucket_arn, self.offline_store.arn_for_objects("*")],
                ),
                iam.PolicyStatement(
                    actions=["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"],
                    resources=catalog,
                ),
                self._key_use(decrypt_only=True),
            ],
            role_name=naming.role_name(org, naming.FEATURE_STORE_CONSUMER_ROLE),
        )
        self.producer_role = role_with_managed_policy(
            self,
            "Producer",
            assumed_by=_accounts_of_organization(producers, organization_id),
            description="Ingest features: put and delete records of the platform's feature groups, add groups",
            statements=[
                iam.PolicyStatement(
                    actions=["sagemaker:PutRecord", "sagemaker:DeleteRecord", "sagemaker:DescribeFeatureGroup"],
                    resources=[groups],
                ),
                self._key_use(),
                # New feature groups come from the self-service feature group product.
                *(launch_products(catalog_products_arn(config)) if config.self_service is not None else []),
            ],
            role_name=naming.role_name(org, naming.FEATURE_STORE_PRODUCER_ROLE),
        )
        self.key.allow_service(
            "AllowFeatureStoreOfThisAccount",
            "sagemaker.amazonaws.com",
            actions=["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
            conditions={"StringEquals": {"aws:SourceAccount": account.id}},
        )
        if config.self_service is not None:
            # The self-service feature group product creates its groups in this store.
            for name, value in {
                "key-arn": self.key.key_arn,
                "offline-uri": self.offline_uri,
                "database": self.database_name,
                "store-role-arn": self.store_role.role_arn,
            }.items():
                ssm.StringParameter(
                    self,
                    f"Parameter-{name}",
                    parameter_name=naming.ssm_parameter_name(org, "feature-store", name),
                    string_value=value,
                    description="The central Feature Store, for the self-service feature group product",
                )

    def _key_use(self, *, decrypt_only: bool = False) -> iam.PolicyStatement:
        actions = (
            ["kms:Decrypt", "kms:DescribeKey"]
            if decrypt_only
            else ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
        )
        return iam.PolicyStatement(actions=actions, resources=[self.key.key_arn])


def _accounts_of_organization(account_ids: Sequence[str], organization_id: str) -> iam.IPrincipal:
    principals = [iam.AccountPrincipal(account_id) for account_id in account_ids]
    return iam.CompositePrincipal(*principals).with_conditions(
        {"StringEquals": {"aws:PrincipalOrgID": organization_id}}
    )


class FeatureGroupsStack(PlatformStack):
    """One shard of the configured feature groups, online (KMS, TTL) and offline (KMS, Iceberg)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrgConfig,
        store: FeatureStoreStack,
        groups: Sequence[FeatureGroup],
        shard_index: int,
    ) -> None:
        org = config.organization.name
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "feature-groups", str(shard_index)),
            description=f"ML platform feature groups (shard {shard_index})",
            termination_protection=True,
        )
        for group in groups:
            online = (
                online_store(store.key.key_arn, group.online_store.ttl_days) if group.online_store.enabled else None
            )
            offline = (
                offline_store(store.offline_uri, store.key.key_arn, store.database_name, group.name.replace("-", "_"))
                if group.offline_store
                else None
            )
            feature_group = sagemaker.CfnFeatureGroup(
                self,
                group.name,
                feature_group_name=naming.feature_group_name(org, group.name),
                description=group.description or None,
                record_identifier_feature_name=group.record_identifier,
                event_time_feature_name=group.event_time,
                feature_definitions=[
                    sagemaker.CfnFeatureGroup.FeatureDefinitionProperty(
                        feature_name=feature.name, feature_type=feature.type.value
                    )
                    for feature in group.features
                ],
                online_store_config=online,
                offline_store_config=offline,
                role_arn=store.store_role.role_arn if offline else None,
                tags=[cdk.CfnTag(key="platform:team", value=group.team)],
            )
            feature_group.node.add_dependency(store.database)
            # A feature group's data lives in its stores: never lose it to a stack change.
            feature_group.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
