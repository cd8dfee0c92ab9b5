"""Self-service: the data-science portfolio in the management account, its four products and
their constraints and shares, the roles the products launch as, and the gates on the
product templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from ml_constructs.product_releases import (
    changed_products,
    release_changed_products,
    synthesized_products,
    unreleased_products,
)
from ml_constructs.service_catalog import OrganizationPortfolio, PortableProductStack, ProductRelease
from stacks import gates
from stacks.config import parse_config
from stacks.deployment_order import planned_stages
from stacks.self_service_stack import PRODUCT_RELEASES
from tests.conftest import EXAMPLE_CONFIG, SynthesizedOrg, cli_app, product_stack

CATALOG = "ManagementCatalog/Catalog"


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {key: r.get("Properties", {}) for key, r in template["Resources"].items() if r["Type"] == kind}


def product_template(org: SynthesizedOrg, product_stack: str) -> dict[str, Any]:
    (path,) = (org.directory / "assembly-ManagementCatalog").glob(
        f"ManagementCatalog{product_stack}*.product.template.json"
    )
    template: dict[str, Any] = json.loads(path.read_text())
    return template


@pytest.fixture(scope="module")
def catalog(org: SynthesizedOrg) -> dict[str, Any]:
    return org.templates[CATALOG]


def test_the_catalog_deploys_from_the_management_account_after_the_baselines(org: SynthesizedOrg) -> None:
    (stage,) = [p for p in planned_stages(org.config) if p.purpose == "Catalog"]
    assert (stage.account_name, stage.wave) == ("management", 3)
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    del document["self_service"]
    without = parse_config(document)
    assert not [p for p in planned_stages(without) if p.purpose == "Catalog"]


def test_the_portfolio_has_tag_options_for_teams_and_cost_centers(catalog: dict[str, Any]) -> None:
    options = {(p["Key"], p["Value"]) for p in resources(catalog, "AWS::ServiceCatalog::TagOption").values()}
    assert options == {
        ("platform:team", "fraud"),
        ("platform:team", "churn"),
        ("platform:cost-center", "CC-1001"),
        ("platform:cost-center", "CC-2002"),
    }
    assert len(resources(catalog, "AWS::ServiceCatalog::TagOptionAssociation")) == 4


def test_principals_are_the_roles_that_launch_products(catalog: dict[str, Any]) -> None:
    """The teams' Studio roles and the Feature Store's producer role, which hold the IAM leave to
    launch; the Identity Center personas, which never did, are not principals any more."""
    associations = resources(catalog, "AWS::ServiceCatalog::PortfolioPrincipalAssociation").values()
    assert {a["PrincipalType"] for a in associations} == {"IAM_PATTERN"}
    assert {a["PrincipalARN"] for a in associations} == {
        "arn:aws:iam:::role/acme-team-*",
        "arn:aws:iam:::role/acme-feature-store-producer",
    }


def test_four_products_each_with_its_releases_and_a_local_launch_role(catalog: dict[str, Any]) -> None:
    products = resources(catalog, "AWS::ServiceCatalog::CloudFormationProduct")
    # Latest release first; the MLOps project's release-1.1 states CodeBuild's logging and
    # aborts incomplete uploads (AWS Control Tower's proactive controls), release-1.0 stays
    # available to the projects provisioned from it.
    assert {p["Name"]: [a["Name"] for a in p["ProvisioningArtifactParameters"]] for p in products.values()} == {
        "MLOps project: build, train, deploy": ["release-1.1", "release-1.0"],
        "Studio user environment": ["release-1.0"],
        "Notebook instance": ["release-1.0"],
        "Feature group": ["release-1.0"],
    }
    # The constraints name the hub's own roles of the launch roles' names (Ref: created first).
    hub_roles = {
        key: role["RoleName"] for key, role in resources(catalog, "AWS::IAM::Role").items() if "RoleName" in role
    }
    by_product = {
        c["ProductId"]["Ref"]: hub_roles[c["LocalRoleName"]["Ref"]]
        for c in resources(catalog, "AWS::ServiceCatalog::LaunchRoleConstraint").values()
    }
    assert {product["Name"]: by_product[key] for key, product in products.items()} == {
        "MLOps project: build, train, deploy": "acme-catalog-launch-project",
        "Studio user environment": "acme-catalog-launch-studio-user",
        "Notebook instance": "acme-catalog-launch-notebook",
        "Feature group": "acme-catalog-launch-feature-group",
    }


def test_the_project_template_is_visible_in_studio(catalog: dict[str, Any]) -> None:
    products = resources(catalog, "AWS::ServiceCatalog::CloudFormationProduct").values()
    (project,) = [p for p in products if p["Name"].startswith("MLOps project")]
    assert {"Key": "sagemaker:studio-visibility", "Value": "true"} in project["Tags"]


def test_notebooks_launch_only_with_approved_instance_types(catalog: dict[str, Any]) -> None:
    (constraint,) = resources(catalog, "AWS::ServiceCatalog::LaunchTemplateConstraint").values()
    rules = json.loads(constraint["Rules"])
    assert rules["ApprovedInstanceTypes"]["Assertions"][0]["Assert"] == {
        "Fn::Contains": [["ml.t3.large", "ml.t3.xlarge"], {"Ref": "InstanceType"}]
    }


def test_the_portfolio_is_shared_with_the_ml_ous_and_the_data_account(catalog: dict[str, Any]) -> None:
    """Both through AWS Organizations, principal names included. Regression: the data account's
    share was CloudFormation's account share, which shares no principal names, so nobody there
    could launch the feature group product."""
    assert resources(catalog, "AWS::ServiceCatalog::PortfolioShare") == {}
    (share,) = resources(catalog, "Custom::PortfolioOrganizationShare").values()
    (unit,) = share["OrganizationalUnitIds"]
    parameter = catalog["Parameters"][unit["Ref"]]
    assert parameter["Default"] == "/acme/organization/ou/ml-dev"
    assert share["AccountIds"] == ["444444444444"]


def test_the_organization_publishes_the_shared_ou_ids(org: SynthesizedOrg) -> None:
    parameters = resources(org.templates["ManagementOrganization/Organization"], "AWS::SSM::Parameter").values()
    assert {p["Name"] for p in parameters} >= {"/acme/organization/ou/ml-dev"}


def test_the_notebook_product_is_vpc_only_without_root_and_encrypted(org: SynthesizedOrg) -> None:
    template = product_template(org, "NotebookTemplate")
    (notebook,) = resources(template, "AWS::SageMaker::NotebookInstance").values()
    assert notebook["RootAccess"] == "Disabled" and notebook["DirectInternetAccess"] == "Disabled"
    assert "KmsKeyId" in notebook and "SubnetId" in notebook
    (group,) = resources(template, "AWS::EC2::SecurityGroup").values()
    assert [(rule["FromPort"], rule["ToPort"]) for rule in group["SecurityGroupEgress"]] == [(443, 443)]


def test_the_studio_user_product_adds_a_profile_and_a_private_space(org: SynthesizedOrg) -> None:
    template = product_template(org, "StudioUserTemplate")
    (profile,) = resources(template, "AWS::SageMaker::UserProfile").values()
    assert profile["UserProfileName"] == {"Ref": "UserName"}
    (space,) = resources(template, "AWS::SageMaker::Space").values()
    assert space["SpaceSharingSettings"] == {"SharingType": "Private"}
    assert resources(template, "Custom::StudioTeardown"), "apps are deleted before the profile"


def test_the_feature_group_product_builds_optional_features_into_the_central_store(org: SynthesizedOrg) -> None:
    template = product_template(org, "FeatureGroupTemplate")
    (group,) = resources(template, "AWS::SageMaker::FeatureGroup").values()
    optional = [d for d in group["FeatureDefinitions"] if "Fn::If" in d]
    assert len(optional) == 12 and optional[0]["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert group["OnlineStoreConfig"]["EnableOnlineStore"] is True
    assert group["OfflineStoreConfig"]["TableFormat"] == "Iceberg"
    assert (
        template["Resources"][next(iter(resources(template, "AWS::SageMaker::FeatureGroup")))]["DeletionPolicy"]
        == "Retain"
    )


def test_the_project_product_builds_from_the_repository_and_reports_approvals(org: SynthesizedOrg) -> None:
    template = product_template(org, "MlopsProjectTemplate")
    assert resources(template, "AWS::SageMaker::ModelPackageGroup")
    pipelines = resources(template, "AWS::CodePipeline::Pipeline")
    assert {key[:-8] for key in pipelines} == {"ModelBuild", "ModelDeploy"}  # logical ids end in an 8-digit hash
    for pipeline in pipelines.values():
        assert pipeline["PipelineType"] == "V2"
        source = pipeline["Stages"][0]["Actions"][0]
        assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
        assert source["Configuration"]["ConnectionArn"] == {"Ref": "ConnectionArn"}
    assert template["Parameters"]["ConnectionArn"]["Default"].startswith("arn:aws:codeconnections:")
    assert not resources(template, "AWS::IAM::Role"), "the project runs as the account's project roles"
    (deploy,) = [p for k, p in pipelines.items() if k.startswith("ModelDeploy")]
    assert [stage["Name"] for stage in deploy["Stages"]] == ["Source", "Staging", "Production"]
    production = deploy["Stages"][2]["Actions"]
    assert production[0]["ActionTypeId"]["Category"] == "Approval"
    assert production[0]["RunOrder"] < production[1]["RunOrder"]
    rules = resources(template, "AWS::Events::Rule")
    (reported,) = [r for k, r in rules.items() if k.startswith("ApprovalDecisions")]
    assert reported["EventPattern"]["detail"]["ModelApprovalStatus"] == ["Approved", "Rejected"]
    (deploys,) = [r for k, r in rules.items() if k.startswith("Approvals")]
    assert deploys["EventPattern"]["detail"]["ModelApprovalStatus"] == ["Approved"]
    assert "codepipeline" in json.dumps(deploys["Targets"][0]["Arn"])


@pytest.mark.parametrize(
    ("stage", "roles"),
    [
        (
            "MlDevDevelopment",
            {
                "acme-catalog-launch-project",
                "acme-catalog-launch-studio-user",
                "acme-catalog-launch-notebook",
                "acme-project-build",
                "acme-project-pipeline",
                "acme-project-trigger",
            },
        ),
        ("DataData", {"acme-catalog-launch-feature-group"}),
    ],
)
def test_launch_roles_exist_where_the_products_launch(org: SynthesizedOrg, stage: str, roles: set[str]) -> None:
    template = org.templates[f"{stage}/SelfService"]
    named = {r["RoleName"] for r in resources(template, "AWS::IAM::Role").values() if "RoleName" in r}
    assert named == roles


def test_launch_roles_are_least_privilege(org: SynthesizedOrg) -> None:
    for stage in ("MlDevDevelopment", "DataData"):
        template = org.templates[f"{stage}/SelfService"]
        for role in resources(template, "AWS::IAM::Role").values():
            assert "ManagedPolicyArns" not in role or all(
                "IAMFullAccess" not in json.dumps(arn) and "AdministratorAccess" not in json.dumps(arn)
                for arn in role["ManagedPolicyArns"]
            )
        for policy in resources(template, "AWS::IAM::ManagedPolicy").values():
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert "*" not in actions and not any(a.endswith(":*") for a in actions)
                if "iam:PassRole" in actions:
                    assert statement["Resource"] != "*" and "Condition" in statement


def test_sagemaker_projects_are_enabled_in_ml_dev(org: SynthesizedOrg) -> None:
    assert resources(org.templates["MlDevDevelopment/SelfService"], "Custom::SageMakerProjects")


def test_product_templates_pass_the_same_gates(tmp_path: Path) -> None:
    app = cli_app(tmp_path)
    stack = cdk.Stack(cdk.Stage(app, "Hub", env=cdk.Environment(account="111111111111", region="eu-west-1")), "Hub")
    s3.Bucket(product_stack(stack, "Product"), "PlantedBucket")
    gates.register(app, acknowledgements=())
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    paths = {
        construct["constructPath"]
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }
    assert "Hub/Hub/Product/PlantedBucket/Resource" in paths


def test_project_templates_are_also_published_as_s3_based_templates(org: SynthesizedOrg) -> None:
    template = org.templates["MlDevDevelopment/SelfService"]
    (published,) = resources(template, "Custom::ProjectTemplate").values()
    assert published["Key"] == "templates/mlops-project.json"
    assert published["Bucket"] == {"Ref": next(iter(resources(template, "AWS::S3::Bucket")))}
    (bucket,) = resources(template, "AWS::S3::Bucket").values()
    assert bucket["BucketName"] == "acme-project-templates-555555555555-eu-west-1"
    (cors,) = bucket["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedMethods"] == ["GET", "HEAD"] and cors["AllowedOrigins"] == ["https://*.sagemaker.aws"]
    (domain,) = resources(org.templates["MlDevDevelopment/Studio"], "AWS::SageMaker::Domain").values()
    assert {
        "Key": "sagemaker:projectS3TemplatesLocation",
        "Value": "s3://acme-project-templates-555555555555-eu-west-1/templates/",
    } in domain["Tags"]


def _synthesized_portfolio(tmp_path: Path, releases: Path, parameter_default: str) -> Path:
    """A portfolio with one product whose template differs only by a parameter's default."""
    app = cli_app(tmp_path / f"cdk.out-{parameter_default}-{len(list(releases.rglob('*.json')))}")
    stack = cdk.Stack(app, "Hub", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    portfolio = OrganizationPortfolio(
        stack,
        "Portfolio",
        display_name="p",
        provider_name="p",
        description="p",
        tag_options={"k": ["v"]},
        principal_patterns=[],
        releases=releases,
    )
    product = PortableProductStack(stack, "Template", description="a product")
    cdk.CfnParameter(product, "Name", type="String", default=parameter_default)
    portfolio.add_product(
        "Product",
        ProductRelease("product", "a product", product, "org/product"),
        owner="tests",
        launch_role=iam.Role.from_role_name(stack, "LaunchRole", "l"),
    )
    return Path(app.synth().directory)


def _versions(assembly: Path) -> list[str]:
    template = json.loads((assembly / "Hub.template.json").read_text())
    (product,) = resources(template, "AWS::ServiceCatalog::CloudFormationProduct").values()
    return [artifact["Name"] for artifact in product["ProvisioningArtifactParameters"]]


def test_a_changed_template_is_refused_until_released_under_a_new_name(tmp_path: Path) -> None:
    releases = tmp_path / "releases"
    first = _synthesized_portfolio(tmp_path, releases, "first")
    assert unreleased_products(first, releases) == ["org/product"]
    assert _versions(first) == ["release-1.0"]
    assert [(folder, r.name) for folder, r in release_changed_products(first, releases)] == [
        ("org/product", "release-1.0")
    ]
    assert changed_products(_synthesized_portfolio(tmp_path, releases, "first"), releases) == []

    changed = _synthesized_portfolio(tmp_path, releases, "second")
    (problem,) = changed_products(changed, releases)
    assert problem.startswith("org/product: the template differs from its release release-1.0")
    assert "release it as release-1.1 with `make release-products`" in problem
    assert [r.name for _, r in release_changed_products(changed, releases)] == ["release-1.1"]

    released = _synthesized_portfolio(tmp_path, releases, "second")
    assert changed_products(released, releases) == []
    assert _versions(released) == ["release-1.1", "release-1.0"], "the first release stays available"
    first_release = json.loads((releases / "org/product/release-1.0.template.json").read_text())
    assert first_release["Parameters"]["Name"]["Default"] == "first", "a release never changes"


def test_the_example_products_are_released_and_unchanged(org: SynthesizedOrg) -> None:
    assert changed_products(org.directory, PRODUCT_RELEASES) == []
    assert unreleased_products(org.directory, PRODUCT_RELEASES) == []
    assert sorted(path.parent.name for path in PRODUCT_RELEASES.glob("acme/*/release-1.0.template.json")) == [
        "feature-group",
        "mlops-project",
        "notebook",
        "studio-user",
    ]


def test_product_templates_hold_nothing_of_the_account_that_synthesized_them(org: SynthesizedOrg) -> None:
    """Released once for every account they launch in: no hub account id, no construct path
    (it names the synthesizing stage), no tag of the hub account. Account ids the config gives
    the products on purpose: the serving accounts the MLOps project's package group admits,
    and the account of the CodeConnections connection projects build from."""
    assert org.config.delivery is not None
    named = {org.config.accounts[name].id for name in org.config.serving_accounts()}
    named.add(org.config.delivery.connection_arn.split(":")[4])
    others = set(org.config.account_ids()) - named
    assert org.stages["ManagementCatalog"].account in others
    products = synthesized_products(org.directory)
    assert len(products) == 4
    for product in products:
        text = product.path.read_text()
        assert not [account for account in others if account in text], product.folder
        assert "aws:cdk:path" not in text, product.folder
        assert '"platform:account"' not in text, product.folder
