"""Self-service: the data-science portfolio in the management account (`CatalogStack`), and in
each account its products launch in, the roles they launch as (`SelfServiceStack`); the
management account holds roles of the same names, without permissions, for Service Catalog
to accept the launch constraints.

The hub is the management account because organization sharing to OUs needs the
organization's management account (or a delegated administrator, which CloudFormation cannot
register), and the OU ids are published there (stacks.organization_stack).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_servicecatalog as servicecatalog
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ml_constructs.arns import in_this_account
from ml_constructs.encryption import PurposeKey
from ml_constructs.function import PlatformFunction
from ml_constructs.products import (
    FeatureGroupProduct,
    MlopsProjectProduct,
    NotebookInstanceProduct,
    StudioUserProduct,
)
from ml_constructs.roles import role_with_managed_policy
from ml_constructs.service_catalog import OrganizationPortfolio, ProductRelease
from ml_constructs.storage import SecureBucket
from stacks import imports, naming
from stacks.config import OrgConfig, Role
from stacks.platform_stack import PlatformStack

SAGEMAKER = "sagemaker.amazonaws.com"
PRODUCT_RELEASES = Path(__file__).resolve().parents[1] / "product-releases"
"""The released product templates, `<organization>/<product>/<release>.template.json`
(ml_constructs.product_releases; committed with the code, written by `make release-products`)."""
DEVELOPMENT_PRODUCTS = ("project", "studio-user", "notebook")
DATA_PRODUCTS = ("feature-group",)


def products_launched_in(config: OrgConfig, account_name: str) -> tuple[str, ...]:
    """The products that launch in an account, whose SelfService stack creates their launch
    roles (stacks.stages: ml-dev accounts, and the account of the Feature Store)."""
    if config.self_service is None:
        return ()
    account = config.accounts[account_name]
    store = config.feature_store is not None and config.feature_store.account == account_name
    return (*(DEVELOPMENT_PRODUCTS if Role.ML_DEV in account.roles else ()), *(DATA_PRODUCTS if store else ()))


def project_role_names(org: str) -> tuple[str, str, str]:
    """The roles an MLOps project's CodeBuild projects and CodePipelines run as, and the one
    its approval rule starts the deploy pipeline with."""
    return (
        naming.role_name(org, "project-build"),
        naming.role_name(org, "project-pipeline"),
        naming.role_name(org, "project-trigger"),
    )


def catalog_principal_patterns(org: str, *, feature_store: bool) -> list[str]:
    """Who may launch the products in the accounts the portfolio is shared with: the teams'
    Studio execution roles (projects, users and notebooks, from Studio) and, with a Feature
    Store, its producer role, which the teams' data scientists assume to add feature groups
    (a principal name no stack creates would name nobody, and the preflight refuses it)."""
    return [
        f"arn:aws:iam:::role/{org}-team-*",
        *([f"arn:aws:iam:::role/{naming.role_name(org, naming.FEATURE_STORE_PRODUCER_ROLE)}"] if feature_store else []),
    ]


def catalog_products_arn(config: OrgConfig) -> str:
    """The ARNs of the portfolio's products, which the hub account owns."""
    _, hub = config.account_with(Role.MANAGEMENT)
    return f"arn:{cdk.Aws.PARTITION}:catalog:{config.region_of(hub)}:{hub.id}:product/*"


def project_templates_location(org: str, account_id: str, region: str) -> str:
    """Where an ml-dev account's S3-based project templates live (the domain's tag points there)."""
    return f"s3://{naming.bucket_name(org, 'project-templates', account_id, region)}/templates/"


def mlops_project_product(scope: Construct, config: OrgConfig) -> MlopsProjectProduct:
    """The MLOps project template: the same for the portfolio and the S3-based templates."""
    org = config.organization.name
    catalog = config.self_service
    assert catalog is not None
    build_role, pipeline_role, trigger_role = project_role_names(org)
    return MlopsProjectProduct(
        scope,
        "MlopsProjectTemplate",
        parameter_prefix=naming.ssm_parameter_name(org),
        name_prefix=f"{org}-project",
        team_role_prefix=f"{org}-team-",
        connection_arn=catalog.project_connection_arn or (config.delivery.connection_arn if config.delivery else ""),
        serving_account_ids=sorted({config.accounts[name].id for name in config.serving_accounts()}),
        build_role_name=build_role,
        pipeline_role_name=pipeline_role,
        trigger_role_name=trigger_role,
    )


def catalog_setup_function(
    stack: PlatformStack,
    *,
    org: str,
    purpose: str,
    description: str,
    network_cidr: str | None,
    statements: list[iam.PolicyStatement],
) -> PlatformFunction:
    """lambda/catalog_setup in `stack`, with a key of its own, in the baseline VPC when the
    account has one (the management account runs no workloads and has none)."""
    key = PurposeKey(
        stack,
        "FunctionsKey",
        alias=naming.key_alias(org, purpose),
        description=f"{description}: logs and dead letters",
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    key.allow_cloudwatch_logs()
    return PlatformFunction(
        stack,
        "CatalogSetup",
        name="catalog_setup",
        description=description,
        key=key,
        alarm_topic=imports.alerts_topic(stack, "Alerts", org),
        timeout=cdk.Duration.minutes(10),
        vpc=None if network_cidr is None else imports.baseline_vpc(stack, "Vpc", org, network_cidr),
        statements=statements,
    )


class CatalogStack(PlatformStack):
    """The portfolio, its four products and constraints, the roles the constraints name, and
    its shares."""

    def __init__(self, scope: Construct, construct_id: str, *, config: OrgConfig) -> None:
        org = config.organization.name
        catalog = config.self_service
        assert catalog is not None, "planned only with self_service"
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "catalog"),
            description="ML platform self-service: data-science portfolio, products, organization shares",
        )
        parameters = naming.ssm_parameter_name(org)
        team_roles = f"{org}-team-"
        portfolio = OrganizationPortfolio(
            self,
            "DataScience",
            display_name=f"{org} data science",
            provider_name=f"{org} ML platform team",
            description="Projects, Studio users, notebooks and feature groups, ready to launch",
            tag_options={
                "platform:team": sorted(config.teams),
                "platform:cost-center": sorted({team.cost_center for team in config.teams.values()}),
            },
            principal_patterns=catalog_principal_patterns(org, feature_store=config.feature_store is not None),
            releases=PRODUCT_RELEASES,
            untagged=(naming.ACCOUNT_TAG,),
        )
        owner = f"{org} ML platform team"
        portfolio.add_product(
            "MlopsProject",
            ProductRelease(
                "MLOps project: build, train, deploy",
                "A SageMaker project: model package group, model-build and model-deploy pipelines from your "
                "repository, approval rules",
                mlops_project_product(self, config),
                f"{org}/mlops-project",
            ),
            owner=owner,
            launch_role=self.launch_role(config, "project"),
            tags={"sagemaker:studio-visibility": "true"},
        )
        portfolio.add_product(
            "StudioUser",
            ProductRelease(
                "Studio user environment",
                "A Studio user profile and private JupyterLab space for a new team member",
                StudioUserProduct(self, "StudioUserTemplate", parameter_prefix=parameters, team_role_prefix=team_roles),
                f"{org}/studio-user",
            ),
            owner=owner,
            launch_role=self.launch_role(config, "studio-user"),
        )
        notebook = NotebookInstanceProduct(
            self,
            "NotebookTemplate",
            parameter_prefix=parameters,
            team_role_prefix=team_roles,
            default_instance_type=catalog.notebook_instance_types[0],
        )
        portfolio.add_product(
            "Notebook",
            ProductRelease(
                "Notebook instance", "A notebook instance: VPC only, no root, encrypted", notebook, f"{org}/notebook"
            ),
            owner=owner,
            launch_role=self.launch_role(config, "notebook"),
            template_rules=[
                servicecatalog.TemplateRule(
                    rule_name="ApprovedInstanceTypes",
                    assertions=[
                        servicecatalog.TemplateRuleAssertion(
                            assert_=cdk.Fn.condition_contains(
                                list(catalog.notebook_instance_types), notebook.instance_type.value_as_string
                            ),
                            description=f"Instance type must be one of {', '.join(catalog.notebook_instance_types)}",
                        )
                    ],
                )
            ],
        )
        if config.feature_store is not None:
            portfolio.add_product(
                "FeatureGroup",
                ProductRelease(
                    "Feature group",
                    "A feature group in the central Feature Store (launch it in the data account)",
                    FeatureGroupProduct(self, "FeatureGroupTemplate", parameter_prefix=parameters, name_prefix=org),
                    f"{org}/feature-group",
                ),
                owner=owner,
                launch_role=self.launch_role(config, "feature-group"),
            )
            # Shared with its principal names, unlike CloudFormation's account share: the producer
            # role launches the feature group product there.
            shared_accounts = [config.accounts[config.feature_store.account].id]
        else:
            shared_accounts = []

        _, management = config.account_with(Role.MANAGEMENT)
        setup = catalog_setup_function(
            self,
            org=org,
            purpose="catalog",
            description="Shares the data-science portfolio with the ML OUs through AWS Organizations",
            network_cidr=None if management.network is None else management.network.cidr,
            statements=_organization_share_statements(portfolio.portfolio.portfolio_arn),
        )
        unit_ids = [
            ssm.StringParameter.value_for_string_parameter(
                self, naming.ssm_parameter_name(org, "organization", "ou", key)
            )
            for key in catalog.share_to
        ]
        portfolio.share_with_organization(
            unit_ids=unit_ids, account_ids=shared_accounts, service_token=setup.function.function_arn
        )

    def launch_role(self, config: OrgConfig, product: str) -> iam.IRole:
        """The role of this account that the product's launch constraint names.

        Service Catalog accepts a launch constraint with LocalRoleName only if a role of that
        name exists in the account that creates the constraint, and launches the product as
        the role of that name in the account of the user who launches it (Service Catalog
        Administrator Guide, "AWS Service Catalog launch constraints"). The products launch in
        the ml-dev and data accounts, whose SelfService stacks create the roles with their
        permissions. Here, where nothing launches, the role only has to exist: it gets no
        permissions (and the stage's permissions boundary). Where this account also launches
        the product, its own SelfService stack creates the role."""
        name = naming.launch_role_name(config.organization.name, product)
        if product in products_launched_in(config, config.account_with(Role.MANAGEMENT)[0]):
            return iam.Role.from_role_name(self, f"LaunchRole-{product}", name, mutable=False)
        return iam.Role(
            self,
            f"LaunchRole-{product}",
            role_name=name,
            assumed_by=iam.ServicePrincipal("servicecatalog.amazonaws.com"),
            description=f"Exists so that Service Catalog accepts the {product} launch constraint; no permissions",
        )


def _organization_share_statements(portfolio_arn: str) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            sid="SharePortfolio",
            actions=[
                "servicecatalog:CreatePortfolioShare",
                "servicecatalog:UpdatePortfolioShare",
                "servicecatalog:DeletePortfolioShare",
            ],
            resources=[portfolio_arn],
        ),
        iam.PolicyStatement(
            sid="OrganizationsAccessAndShareStatus",
            # These Service Catalog and Organizations actions take no resource; the Organizations
            # ones are what EnableAWSOrganizationsAccess and OU shares call on the caller's behalf.
            actions=[
                "servicecatalog:EnableAWSOrganizationsAccess",
                "servicecatalog:DescribePortfolioShareStatus",
                "organizations:DescribeOrganization",
                "organizations:EnableAWSServiceAccess",
                "organizations:ListAWSServiceAccessForOrganization",
                "organizations:ListChildren",
                "organizations:ListParents",
            ],
            resources=["*"],
        ),
    ]


class SelfServiceStack(PlatformStack):
    """The launch roles of the products that launch in this account (products_launched_in); in
    ml-dev accounts also the roles projects build with, and SageMaker Projects enabled. One per
    account: an account that is ml-dev and the Feature Store's has it in its Data stage."""

    def __init__(self, scope: Construct, construct_id: str, *, config: OrgConfig, account_name: str) -> None:
        org = config.organization.name
        products = products_launched_in(config, account_name)
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "self-service"),
            description="ML platform self-service: the roles Service Catalog products launch as",
        )
        self.org = org
        for product in products:
            role_with_managed_policy(
                self,
                f"Launch-{product}",
                assumed_by=iam.ServicePrincipal("servicecatalog.amazonaws.com"),
                description=f"Service Catalog launches the {product} product as this role",
                statements=[*self._stack_operations(), *_LAUNCH_STATEMENTS[product](self)],
                role_name=naming.launch_role_name(org, product),
            )
        if "project" in products:
            self._projects(config, account_name)

    @cached_property
    def storage_key(self) -> kms.IKey:
        """The account's storage key (stacks.baseline_stack)."""
        return imports.baseline_key(self, "StorageKey", self.org, "storage")

    def _stack_operations(self) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                sid="ProvisionedProductStacks",
                actions=[
                    "cloudformation:CreateStack",
                    "cloudformation:DeleteStack",
                    "cloudformation:DescribeStackEvents",
                    "cloudformation:DescribeStacks",
                    "cloudformation:GetTemplateSummary",
                    "cloudformation:SetStackPolicy",
                    "cloudformation:UpdateStack",
                    "cloudformation:ValidateTemplate",
                ],
                # Service Catalog names the stacks it provisions SC-<account>-pp-<id>.
                resources=[in_this_account("cloudformation", "stack/SC-*")],
            ),
            iam.PolicyStatement(
                sid="ProductTemplates",
                actions=["s3:GetObject"],
                resources=["*"],
                conditions={"StringEquals": {"s3:ExistingObjectTag/servicecatalog:provisioning": "true"}},
            ),
            iam.PolicyStatement(
                sid="PlatformParameters",
                actions=["ssm:GetParameters", "ssm:GetParameter"],
                resources=[in_this_account("ssm", f"parameter/{self.org}/*")],
            ),
        ]

    def _projects(self, config: OrgConfig, account_name: str) -> None:
        build_role, pipeline_role, trigger_role = project_role_names(self.org)
        projects = f"{self.org}-project-*"
        role_with_managed_policy(
            self,
            "ProjectBuild",
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description="CodeBuild of MLOps projects: run the SageMaker pipeline, deploy approved models",
            role_name=build_role,
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "sagemaker:CreatePipeline",
                        "sagemaker:UpdatePipeline",
                        "sagemaker:StartPipelineExecution",
                        "sagemaker:DescribePipeline",
                        "sagemaker:AddTags",
                    ],
                    resources=[in_this_account("sagemaker", f"pipeline/{projects}")],
                ),
                iam.PolicyStatement(
                    sid="ReadApprovedPackages",
                    actions=["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackage"],
                    resources=[
                        in_this_account("sagemaker", f"model-package-group/{projects}"),
                        in_this_account("sagemaker", f"model-package/{projects}/*"),
                    ],
                ),
                iam.PolicyStatement(
                    sid="DeployProjectEndpoints",
                    # Models, endpoint configurations and endpoints the deploy step names after the project.
                    actions=[
                        "sagemaker:CreateModel",
                        "sagemaker:DescribeModel",
                        "sagemaker:CreateEndpointConfig",
                        "sagemaker:DescribeEndpointConfig",
                        "sagemaker:CreateEndpoint",
                        "sagemaker:UpdateEndpoint",
                        "sagemaker:DescribeEndpoint",
                    ],
                    resources=[
                        in_this_account("sagemaker", f"{kind}/{projects}")
                        for kind in ("model", "endpoint-config", "endpoint")
                    ],
                ),
                _pass_team_roles(self),
                iam.PolicyStatement(
                    actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[in_this_account("logs", f"log-group:/aws/codebuild/{projects}")],
                ),
                *_project_artifacts(),
            ],
        )
        role_with_managed_policy(
            self,
            "ProjectPipeline",
            assumed_by=iam.ServicePrincipal("codepipeline.amazonaws.com"),
            description="CodePipeline of MLOps projects: fetch the repository, run the build",
            role_name=pipeline_role,
            statements=[
                iam.PolicyStatement(
                    actions=["codebuild:StartBuild", "codebuild:BatchGetBuilds"],
                    resources=[in_this_account("codebuild", f"project/{projects}")],
                ),
                iam.PolicyStatement(
                    actions=["codeconnections:UseConnection", "codestar-connections:UseConnection"],
                    resources=["*"],
                    conditions={"StringLike": {"codeconnections:FullRepositoryId": "*/*"}},
                ),
                *_project_artifacts(),
            ],
        )
        role_with_managed_policy(
            self,
            "ProjectTrigger",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="EventBridge starts MLOps projects' deploy pipelines on approvals",
            role_name=trigger_role,
            statements=[
                iam.PolicyStatement(
                    actions=["codepipeline:StartPipelineExecution"],
                    resources=[in_this_account("codepipeline", projects)],
                )
            ],
        )
        catalog = config.self_service
        assert catalog is not None
        account = config.accounts[account_name]
        region = config.region_of(account)
        statements = [
            iam.PolicyStatement(
                sid="EnableProjects",
                # Account-level switch: the action takes no resource.
                actions=["sagemaker:EnableSagemakerServicecatalogPortfolio"],
                resources=["*"],
            )
        ]
        published: list[dict[str, str]] = []
        if catalog.s3_project_templates:
            templates = SecureBucket(
                self,
                "ProjectTemplates",
                bucket_name=naming.bucket_name(self.org, "project-templates", account.id, region),
                encryption_key=self.storage_key,
                access_logs=imports.access_log_bucket(self, "AccessLogs", self.org),
            )
            # Studio reads the templates from the browser.
            templates.add_cors_rule(
                allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                allowed_origins=["https://*.sagemaker.aws"],
                allowed_headers=["*"],
                exposed_headers=["ETag"],
            )
            source = servicecatalog.CloudFormationTemplate.from_product_stack(mlops_project_product(self, config))
            url_parts = cdk.Fn.split("/", source.bind(self).http_url)  # https://s3.<region>.<suffix>/<bucket>/<key>
            template = {
                "SourceBucket": cdk.Fn.select(3, url_parts),
                "SourceKey": cdk.Fn.select(4, url_parts),
                "Bucket": templates.bucket_name,
                "Key": "templates/mlops-project.json",
            }
            published.append(template)
            statements += [
                iam.PolicyStatement(
                    sid="ReadTemplateAsset",
                    actions=["s3:GetObject"],
                    resources=[f"arn:{cdk.Aws.PARTITION}:s3:::{template['SourceBucket']}/{template['SourceKey']}"],
                ),
                iam.PolicyStatement(
                    sid="PublishTemplates",
                    actions=["s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject"],
                    resources=[templates.arn_for_objects("templates/*")],
                ),
            ]
            if templates.encryption_key is not None:
                statements.append(
                    iam.PolicyStatement(
                        sid="EncryptTemplates",
                        actions=["kms:GenerateDataKey", "kms:Decrypt"],
                        resources=[templates.encryption_key.key_arn],
                    )
                )
        assert account.network is not None
        setup = catalog_setup_function(
            self,
            org=self.org,
            purpose="self-service",
            description="Enables SageMaker Projects and publishes the S3-based project templates",
            network_cidr=account.network.cidr,
            statements=statements,
        )
        cdk.CustomResource(
            self,
            "SageMakerProjects",
            service_token=setup.function.function_arn,
            resource_type="Custom::SageMakerProjects",
        )
        for template in published:
            cdk.CustomResource(
                self,
                "MlopsProjectS3Template",
                service_token=setup.function.function_arn,
                resource_type="Custom::ProjectTemplate",
                properties=template,
            )


def _project_artifacts() -> list[iam.PolicyStatement]:
    # Provisioned products' buckets are named after their stacks (sc-<account>-pp-...).
    return [
        iam.PolicyStatement(
            actions=["s3:GetObject", "s3:PutObject", "s3:GetBucketVersioning", "s3:GetObjectVersion"],
            resources=["arn:aws:s3:::sc-*", "arn:aws:s3:::sc-*/*"],
        ),
        iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            resources=[in_this_account("kms", "key/*")],
            conditions={"StringLike": {"kms:ViaService": ["s3.*.amazonaws.com", "codebuild.*.amazonaws.com"]}},
        ),
    ]


def _pass_roles(role_names: list[str], services: str | list[str] = SAGEMAKER) -> iam.PolicyStatement:
    """iam:PassRole on the account's roles of these names (or name patterns), only to `services`."""
    return iam.PolicyStatement(
        actions=["iam:PassRole"],
        resources=[f"arn:{cdk.Aws.PARTITION}:iam::{cdk.Aws.ACCOUNT_ID}:role/{name}" for name in role_names],
        conditions={"StringEquals": {"iam:PassedToService": services}},
    )


def _pass_team_roles(stack: SelfServiceStack) -> iam.PolicyStatement:
    return _pass_roles([f"{stack.org}-team-*"])


_TAGGING = ("sagemaker:AddTags", "sagemaker:DeleteTags", "sagemaker:ListTags")
"""What CloudFormation's SageMaker handlers tag and read tags with, on the resource itself."""


def _studio_user(stack: SelfServiceStack) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            actions=[
                "sagemaker:CreateUserProfile",
                "sagemaker:DescribeUserProfile",
                "sagemaker:UpdateUserProfile",
                "sagemaker:DeleteUserProfile",
                "sagemaker:CreateSpace",
                "sagemaker:DescribeSpace",
                "sagemaker:UpdateSpace",
                "sagemaker:DeleteSpace",
                *_TAGGING,
            ],
            resources=[in_this_account("sagemaker", f"{kind}/*/*") for kind in ("user-profile", "space")],
        ),
        iam.PolicyStatement(
            # The handler checks the custom images a profile's settings name (none by default).
            actions=["sagemaker:DescribeImage", "sagemaker:DescribeImageVersion"],
            resources=[in_this_account("sagemaker", "image/*"), in_this_account("sagemaker", "image-version/*/*")],
        ),
        iam.PolicyStatement(
            actions=["lambda:InvokeFunction"],
            resources=[in_this_account("lambda", f"function:{stack.org}-*")],
        ),
        _pass_team_roles(stack),
    ]


def _notebook(stack: SelfServiceStack) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            actions=[
                "sagemaker:CreateNotebookInstance",
                "sagemaker:DescribeNotebookInstance",
                "sagemaker:UpdateNotebookInstance",
                "sagemaker:StartNotebookInstance",
                "sagemaker:StopNotebookInstance",
                "sagemaker:DeleteNotebookInstance",
                *_TAGGING,
            ],
            resources=[in_this_account("sagemaker", "notebook-instance/*")],
        ),
        iam.PolicyStatement(
            actions=[
                "ec2:CreateSecurityGroup",
                "ec2:DeleteSecurityGroup",
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
                "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
                "ec2:CreateTags",
                "ec2:DeleteTags",
            ],
            resources=[in_this_account("ec2", "security-group/*"), in_this_account("ec2", "vpc/*")],
        ),
        iam.PolicyStatement(
            # EC2 Describe actions take no resource.
            actions=[
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeInstances",
                "ec2:DescribeNetworkInterfaces",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(
            # The notebook's volume key: the account's storage key (the product names no other).
            actions=["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey"],
            resources=[stack.storage_key.key_arn],
        ),
        _pass_team_roles(stack),
    ]


def _feature_group(stack: SelfServiceStack) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            actions=[
                "sagemaker:CreateFeatureGroup",
                "sagemaker:DescribeFeatureGroup",
                "sagemaker:UpdateFeatureGroup",
                "sagemaker:DeleteFeatureGroup",
                *_TAGGING,
            ],
            resources=[in_this_account("sagemaker", f"feature-group/{stack.org}-*")],
        ),
        _pass_roles([f"{stack.org}-feature-store-*"]),
        iam.PolicyStatement(
            # The store's key, which every feature group's online and offline store names.
            actions=["kms:CreateGrant", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"],
            resources=[
                imports.key_from_parameter(
                    stack, "FeatureStoreKey", naming.ssm_parameter_name(stack.org, "feature-store", "key-arn")
                ).key_arn
            ],
        ),
        iam.PolicyStatement(
            actions=["glue:CreateTable", "glue:GetTable", "glue:GetDatabase"],
            resources=[
                in_this_account("glue", "catalog"),
                in_this_account("glue", f"database/{stack.org.replace('-', '_')}_feature_store"),
                in_this_account("glue", f"table/{stack.org.replace('-', '_')}_feature_store/*"),
            ],
        ),
    ]


def _project(stack: SelfServiceStack) -> list[iam.PolicyStatement]:
    build_role, pipeline_role, trigger_role = project_role_names(stack.org)
    projects = f"{stack.org}-project-*"
    # Provisioned products' buckets and rules are named after their stacks (SC-<account>-pp-...).
    buckets = f"arn:{cdk.Aws.PARTITION}:s3:::sc-{cdk.Aws.ACCOUNT_ID}-pp-*"
    return [
        iam.PolicyStatement(
            actions=[
                "sagemaker:CreateModelPackageGroup",
                "sagemaker:DescribeModelPackageGroup",
                "sagemaker:DeleteModelPackageGroup",
                "sagemaker:PutModelPackageGroupPolicy",
                "sagemaker:GetModelPackageGroupPolicy",
                "sagemaker:DeleteModelPackageGroupPolicy",
                *_TAGGING,
            ],
            resources=[in_this_account("sagemaker", f"model-package-group/{projects}")],
        ),
        iam.PolicyStatement(
            actions=[
                "codebuild:CreateProject",
                "codebuild:UpdateProject",
                "codebuild:DeleteProject",
                "codebuild:BatchGetProjects",
            ],
            resources=[in_this_account("codebuild", f"project/{projects}")],
        ),
        iam.PolicyStatement(
            actions=[
                "codepipeline:CreatePipeline",
                "codepipeline:UpdatePipeline",
                "codepipeline:DeletePipeline",
                "codepipeline:GetPipeline",
                "codepipeline:GetPipelineState",
                "codepipeline:StartPipelineExecution",
                "codepipeline:DisableStageTransition",
                "codepipeline:EnableStageTransition",
                "codepipeline:TagResource",
                "codepipeline:UntagResource",
            ],
            resources=[in_this_account("codepipeline", projects), in_this_account("codepipeline", f"{projects}/*")],
        ),
        iam.PolicyStatement(
            # What the bucket's handler may configure, on the product's own buckets only.
            actions=[
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:ListBucket",
                "s3:GetBucket*",
                "s3:PutBucket*",
                "s3:DeleteBucket*",
                "s3:Get*Configuration",
                "s3:Put*Configuration",
                "s3:Create*Configuration",
                "s3:Delete*Configuration",
                "s3:Update*Configuration",
                "s3:TagResource",
                "s3:UntagResource",
            ],
            resources=[buckets],
        ),
        iam.PolicyStatement(
            # Emptied and given ACLs by the handler, on delete and create.
            actions=["s3:DeleteObject", "s3:PutObjectAcl"],
            resources=[f"{buckets}/*"],
        ),
        iam.PolicyStatement(
            actions=[
                "events:PutRule",
                "events:DeleteRule",
                "events:DescribeRule",
                "events:PutTargets",
                "events:RemoveTargets",
                "events:ListTargetsByRule",
                "events:TagResource",
                "events:UntagResource",
            ],
            resources=[in_this_account("events", "rule/SC-*")],
        ),
        iam.PolicyStatement(
            actions=["iam:GetRole"],
            resources=[
                f"arn:{cdk.Aws.PARTITION}:iam::{cdk.Aws.ACCOUNT_ID}:role/{name}"
                for name in (build_role, pipeline_role, trigger_role)
            ],
        ),
        _pass_roles([build_role, pipeline_role], ["codebuild.amazonaws.com", "codepipeline.amazonaws.com"]),
        _pass_roles([trigger_role], "events.amazonaws.com"),
        *(
            iam.PolicyStatement(
                # The connection is shared with the account through AWS RAM (docs/architecture.md, "Self-service");
                # both of the service's names are authorized, each with its own key.
                actions=[f"{service}:PassConnection"],
                resources=["*"],
                conditions={"StringEquals": {f"{service}:PassedToService": "codepipeline.amazonaws.com"}},
            )
            for service in ("codeconnections", "codestar-connections")
        ),
        iam.PolicyStatement(
            actions=["kms:DescribeKey", "kms:CreateGrant"],
            resources=[in_this_account("kms", "key/*")],
            conditions={"StringLike": {"kms:ViaService": ["s3.*.amazonaws.com", "codebuild.*.amazonaws.com"]}},
        ),
    ]


_LAUNCH_STATEMENTS = {
    "project": _project,
    "studio-user": _studio_user,
    "notebook": _notebook,
    "feature-group": _feature_group,
}
