"""The model registry of a development account, readable by the accounts that serve its models:
model package groups, the artifact bucket and key, and container image repositories."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ml_constructs.arns import in_this_account


def _serving_accounts(account_ids: Sequence[str]) -> list[iam.IPrincipal]:
    return [iam.AccountPrincipal(account_id) for account_id in account_ids]


class ModelPackageGroup(Construct):
    """A model package group whose packages the serving accounts may describe and deploy,
    and no one else outside this account."""

    def __init__(
        self, scope: Construct, construct_id: str, *, name: str, description: str, serving_account_ids: Sequence[str]
    ) -> None:
        super().__init__(scope, construct_id)
        # Pseudo parameters rather than the stack's account: the group is also part of a
        # Service Catalog product, released once for every account it launches in.
        group_arn = in_this_account("sagemaker", f"model-package-group/{name}")
        packages_arn = in_this_account("sagemaker", f"model-package/{name}/*")
        policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="ServingAccountsReadTheGroup",
                    principals=_serving_accounts(serving_account_ids),
                    actions=["sagemaker:DescribeModelPackageGroup"],
                    resources=[group_arn],
                ),
                iam.PolicyStatement(
                    sid="ServingAccountsDeployItsPackages",
                    principals=_serving_accounts(serving_account_ids),
                    actions=["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
                    resources=[packages_arn],
                ),
            ]
        )
        self.group = sagemaker.CfnModelPackageGroup(
            self,
            "Group",
            model_package_group_name=name,
            model_package_group_description=description,
            model_package_group_policy=policy.to_json(),
        )
        # Registered, approved packages are the platform's release history: keep them.
        self.group.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        self.group_name = name


def grant_model_artifacts_read(
    bucket: s3.IBucket, key: kms.IKey, serving_account_ids: Sequence[str], readable: Sequence[str]
) -> None:
    """Let the serving accounts read the objects `readable` (key patterns) names, and decrypt
    them only through S3; the rest of the bucket (training data, its splits) stays the
    development account's."""
    stack = cdk.Stack.of(bucket)
    principals = _serving_accounts(serving_account_ids)
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="ServingAccountsReadModelArtifacts",
            principals=principals,
            actions=["s3:GetObject"],
            resources=[bucket.arn_for_objects(pattern) for pattern in readable],
        )
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="ServingAccountsDecryptModelArtifactsThroughS3",
            principals=principals,
            actions=["kms:Decrypt", "kms:DescribeKey"],
            resources=["*"],  # in a key policy, "*" means this key
            conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
        )
    )


class ImageRepository(Construct):
    """A private, KMS-encrypted ECR repository with immutable tags and scan on push, whose
    images the serving accounts may pull."""

    def __init__(
        self, scope: Construct, construct_id: str, *, name: str, key: kms.IKey, serving_account_ids: Sequence[str]
    ) -> None:
        super().__init__(scope, construct_id)
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name=name,
            encryption=ecr.RepositoryEncryption.KMS,
            encryption_key=key,
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            lifecycle_rules=[ecr.LifecycleRule(description="Keep the last 100 images", max_image_count=100)],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.repository.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ServingAccountsPullImages",
                principals=_serving_accounts(serving_account_ids),
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            )
        )
