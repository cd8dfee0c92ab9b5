"""Least-privilege roles for a team's SageMaker work (no AmazonSageMakerFullAccess).

- job execution role: what training, processing and inference containers run as (and
  Clarify's checks, which create and delete shadow endpoints of the candidate model);
- pipeline execution role: what SageMaker Pipelines runs steps as;
- data scientist: the Studio execution role of the team's data scientists;
- ML engineer: a data scientist who also runs pipelines and approves model packages.

Whoever creates a job may create it only inside the VPC's subnets, with the team's key on
volumes and outputs, and (training, tuning, models) network-isolated: the same rules the
`ml-workloads` guardrail enforces for the whole OU, here as the condition of the grant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ml_constructs.arns import in_this_account
from ml_constructs.roles import role_with_managed_policy
from ml_constructs.sagemaker_permissions import sagemaker_metrics, vpc_network_interfaces

SAGEMAKER = "sagemaker.amazonaws.com"
CLARIFY_SHADOW_ENDPOINTS = "sm-clarify-*"
"""The names Clarify gives its shadow endpoints and their configs (see the ml-workloads guardrail)."""


@dataclass(frozen=True)
class JobGuards:
    subnet_ids: Sequence[str]
    key_arns: Sequence[str]
    """Keys a job may encrypt with: the team's data key, and the models key where its
    outputs are model artifacts that serving accounts must decrypt."""

    def in_vpc(self) -> dict[str, dict[str, object]]:
        return {
            "ForAllValues:StringEquals": {"sagemaker:VpcSubnets": list(self.subnet_ids)},
            "Null": {"sagemaker:VpcSubnets": "false"},
        }

    def encrypted(self) -> dict[str, dict[str, object]]:
        keys = list(self.key_arns)
        return {"StringEquals": {"sagemaker:VolumeKmsKey": keys, "sagemaker:OutputKmsKey": keys}}


def guarded_job_statements(guards: JobGuards, job_role: iam.IRole) -> list[iam.PolicyStatement]:
    """Create SageMaker jobs and models only as the guardrails require, running as `job_role`."""
    in_vpc, encrypted = guards.in_vpc(), guards.encrypted()
    isolated = {"Bool": {"sagemaker:NetworkIsolation": "true"}}
    return [
        iam.PolicyStatement(
            sid="TrainingInVpcEncryptedIsolated",
            actions=["sagemaker:CreateTrainingJob", "sagemaker:CreateHyperParameterTuningJob"],
            resources=[
                in_this_account("sagemaker", "training-job/*"),
                in_this_account("sagemaker", "hyper-parameter-tuning-job/*"),
            ],
            conditions={**in_vpc, **isolated, "StringEquals": encrypted["StringEquals"]},
        ),
        iam.PolicyStatement(
            sid="ProcessingInVpcEncrypted",
            actions=["sagemaker:CreateProcessingJob"],
            resources=[in_this_account("sagemaker", "processing-job/*")],
            conditions={**in_vpc, **encrypted},
        ),
        iam.PolicyStatement(
            sid="TransformEncrypted",
            actions=["sagemaker:CreateTransformJob"],
            resources=[in_this_account("sagemaker", "transform-job/*")],
            conditions=encrypted,
        ),
        iam.PolicyStatement(
            sid="ModelsInVpcIsolated",
            actions=["sagemaker:CreateModel"],
            resources=[in_this_account("sagemaker", "model/*")],
            conditions={**in_vpc, **isolated},
        ),
        iam.PolicyStatement(
            sid="TagWhatItCreates",
            actions=["sagemaker:AddTags"],
            resources=[in_this_account("sagemaker", "*")],
            conditions={"Null": {"sagemaker:TaggingAction": "false"}},
        ),
        iam.PolicyStatement(
            sid="PassOnlyTheJobRole",
            actions=["iam:PassRole"],
            resources=[job_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": SAGEMAKER}},
        ),
        iam.PolicyStatement(
            sid="FollowJobs",
            actions=[
                "sagemaker:DescribeTrainingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:DescribeHyperParameterTuningJob",
                "sagemaker:DescribeModel",
                "sagemaker:StopTrainingJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:StopTransformJob",
                "sagemaker:StopHyperParameterTuningJob",
            ],
            resources=[
                in_this_account("sagemaker", f"{kind}/*")
                for kind in ("training-job", "processing-job", "transform-job", "hyper-parameter-tuning-job", "model")
            ],
        ),
        iam.PolicyStatement(
            sid="ListJobs",
            # List and Search actions take no resource ARNs.
            actions=[
                "sagemaker:ListTrainingJobs",
                "sagemaker:ListProcessingJobs",
                "sagemaker:ListTransformJobs",
                "sagemaker:ListHyperParameterTuningJobs",
                "sagemaker:ListModels",
                "sagemaker:ListModelPackageGroups",
                "sagemaker:Search",
            ],
            resources=["*"],
        ),
    ]


def _data_access(bucket: s3.IBucket, key: kms.IKey) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            sid="TeamBucket",
            actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:GetBucketLocation"],
            resources=[bucket.bucket_arn, bucket.arn_for_objects("*")],
        ),
        iam.PolicyStatement(
            sid="TeamKey",
            actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"],
            resources=[key.key_arn],
        ),
        iam.PolicyStatement(
            sid="SageMakerLogs",
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            resources=[in_this_account("logs", "log-group:/aws/sagemaker/*")],
        ),
    ]


def _package_mirror(domain_arn: str, repository_arn: str) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            sid="PackageMirrorToken", actions=["codeartifact:GetAuthorizationToken"], resources=[domain_arn]
        ),
        iam.PolicyStatement(
            sid="PackageMirrorRead",
            actions=["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
            resources=[repository_arn],
        ),
        iam.PolicyStatement(
            sid="PackageMirrorBearerToken",
            actions=["sts:GetServiceBearerToken"],
            resources=["*"],
            conditions={"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}},
        ),
    ]


def launch_products(products_arn: str, *, projects: bool = False) -> list[iam.PolicyStatement]:
    """What launching Service Catalog products takes besides the portfolio's principal
    association: the products (`products_arn`), browsing, and the provisioned products this role
    launched (`servicecatalog:roleLevel`); with `projects`, SageMaker projects, which provision
    their product with the caller's permissions."""
    return [
        iam.PolicyStatement(
            sid="LaunchCatalogProducts",
            actions=[
                "servicecatalog:ProvisionProduct",
                "servicecatalog:DescribeProduct",
                "servicecatalog:DescribeProvisioningParameters",
                "servicecatalog:ListLaunchPaths",
                "servicecatalog:ListProvisioningArtifacts",
                "servicecatalog:DescribeProvisioningArtifact",
            ],
            resources=[products_arn],
        ),
        iam.PolicyStatement(
            sid="BrowseCatalog",
            # These take no resource (Service Authorization Reference).
            actions=[
                "servicecatalog:SearchProducts",
                "servicecatalog:DescribeProductView",
                "servicecatalog:ListPortfolios",
                "servicecatalog:ListAcceptedPortfolioShares",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="ManageOwnProvisionedProducts",
            actions=[
                "servicecatalog:DescribeProvisionedProduct",
                "servicecatalog:SearchProvisionedProducts",
                "servicecatalog:ScanProvisionedProducts",
                "servicecatalog:UpdateProvisionedProduct",
                "servicecatalog:TerminateProvisionedProduct",
                "servicecatalog:DescribeRecord",
                "servicecatalog:ListRecordHistory",
            ],
            resources=["*"],
            conditions={"StringEquals": {"servicecatalog:roleLevel": "self"}},
        ),
        *(
            [
                iam.PolicyStatement(
                    sid="SageMakerProjects",
                    actions=[
                        "sagemaker:CreateProject",
                        "sagemaker:DescribeProject",
                        "sagemaker:UpdateProject",
                        "sagemaker:DeleteProject",
                    ],
                    resources=[in_this_account("sagemaker", "project/*")],
                ),
                iam.PolicyStatement(sid="ListProjects", actions=["sagemaker:ListProjects"], resources=["*"]),
            ]
            if projects
            else []
        ),
    ]


class TeamRoles(Construct):
    """The four roles of one team in an ml-dev account, in the team's own stack."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        team: str,
        guards: JobGuards,
        bucket: s3.IBucket,
        key: kms.IKey,
        model_prefixes: Sequence[str],
        package_domain_arn: str,
        package_repository_arn: str,
        assumable_role_arns: Sequence[str] = (),
        catalog_products_arn: str | None = None,
    ) -> None:
        """`assumable_role_arns`: roles of other accounts the team's people may assume from Studio
        (the central Feature Store's producer and consumer roles); `catalog_products_arn`: the
        self-service products they may launch from Studio, SageMaker projects included."""
        super().__init__(scope, construct_id)
        model_groups = [in_this_account("sagemaker", f"model-package-group/{prefix}*") for prefix in model_prefixes]
        model_packages = [in_this_account("sagemaker", f"model-package/{prefix}*") for prefix in model_prefixes]
        pipelines = [in_this_account("sagemaker", f"pipeline/{prefix}*") for prefix in model_prefixes]

        self.job = self._role(
            "JobExecution",
            f"SageMaker jobs of team {team}: read and write the team's data, pull images, write logs",
            [
                *_data_access(bucket, key),
                iam.PolicyStatement(
                    sid="PullImages",
                    # Built-in algorithm and deep learning container images live in AWS-owned accounts.
                    actions=[
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:GetAuthorizationToken",
                    ],
                    resources=["*"],
                ),
                sagemaker_metrics("JobMetrics"),
                vpc_network_interfaces("JobNetworkInterfaces"),
                iam.PolicyStatement(
                    sid="ClarifyShadowEndpoints",
                    # Clarify's post-training bias and SHAP checks serve the candidate model from
                    # an endpoint of their own while they run, created and deleted by the job.
                    actions=[
                        "sagemaker:CreateEndpointConfig",
                        "sagemaker:CreateEndpoint",
                        "sagemaker:DescribeEndpointConfig",
                        "sagemaker:DescribeEndpoint",
                        "sagemaker:InvokeEndpoint",
                        "sagemaker:DeleteEndpoint",
                        "sagemaker:DeleteEndpointConfig",
                    ],
                    resources=[
                        in_this_account("sagemaker", f"{kind}/{CLARIFY_SHADOW_ENDPOINTS}")
                        for kind in ("endpoint", "endpoint-config")
                    ],
                ),
                iam.PolicyStatement(
                    sid="ClarifyReadsCandidateModels",
                    actions=["sagemaker:DescribeModel"],
                    resources=[in_this_account("sagemaker", "model/*")],
                ),
            ],
        )
        creates_jobs = guarded_job_statements(guards, self.job)
        # A team without models yet is granted nothing on models (IAM takes no statement
        # without resources); its roles gain the grants with its first model.
        has_models = bool(model_prefixes)
        registers_models = (
            [
                iam.PolicyStatement(
                    sid="RegisterTeamModels",
                    actions=[
                        "sagemaker:CreateModelPackage",
                        "sagemaker:CreateModelPackageGroup",
                        "sagemaker:DescribeModelPackage",
                        "sagemaker:DescribeModelPackageGroup",
                        "sagemaker:ListModelPackages",
                    ],
                    resources=[*model_groups, *model_packages],
                )
            ]
            if has_models
            else []
        )
        self.pipeline = self._role(
            "PipelineExecution",
            f"SageMaker Pipelines of team {team}: run steps as guarded jobs, register the team's models",
            [*creates_jobs, *registers_models, *_data_access(bucket, key)],
        )
        scientist_statements = [
            *creates_jobs,
            *registers_models,
            *_data_access(bucket, key),
            *_package_mirror(package_domain_arn, package_repository_arn),
            *(
                [
                    iam.PolicyStatement(
                        sid="AssumeSharedRoles", actions=["sts:AssumeRole"], resources=list(assumable_role_arns)
                    )
                ]
                if assumable_role_arns
                else []
            ),
            *(launch_products(catalog_products_arn, projects=True) if catalog_products_arn else []),
        ]
        self.data_scientist = self._role(
            "DataScientist", f"Studio execution role of team {team}'s data scientists", scientist_statements
        )
        self.ml_engineer = self._role(
            "MlEngineer",
            f"Studio execution role of team {team}'s ML engineers: also pipelines and model approval",
            [
                *scientist_statements,
                *(self._pipeline_statements(pipelines, model_packages) if has_models else []),
            ],
        )

    def _pipeline_statements(self, pipelines: list[str], model_packages: list[str]) -> list[iam.PolicyStatement]:
        """An ML engineer's grants on the team's pipelines and model versions."""
        return [
            iam.PolicyStatement(
                sid="RunTeamPipelines",
                actions=[
                    "sagemaker:CreatePipeline",
                    "sagemaker:UpdatePipeline",
                    "sagemaker:StartPipelineExecution",
                    "sagemaker:StopPipelineExecution",
                    "sagemaker:RetryPipelineExecution",
                ],
                resources=pipelines,
            ),
            iam.PolicyStatement(
                sid="PassPipelineRole",
                actions=["iam:PassRole"],
                resources=[self.pipeline.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": SAGEMAKER}},
            ),
            iam.PolicyStatement(
                sid="ApproveTeamModels", actions=["sagemaker:UpdateModelPackage"], resources=model_packages
            ),
        ]

    def _role(self, name: str, description: str, statements: Sequence[iam.PolicyStatement]) -> iam.Role:
        return role_with_managed_policy(
            self, name, assumed_by=iam.ServicePrincipal(SAGEMAKER), description=description, statements=statements
        )
