"""docs/architecture.md "Self-service": people launch the portfolio's products. A data scientist creates a
SageMaker project from Studio (SageMaker provisions the project's product with the caller's
permissions); an ML engineer adds a Studio user; a data scientist, as the Feature Store's
producer role, adds a feature group in the data account. Each launch needs IAM's leave and the
portfolio's (its principal names, where it is shared: proofs.references.catalog), then Service
Catalog assumes the product's launch role, whose permissions for the product's resources the
preflight proves (proofs.deploy.launches).
"""

from __future__ import annotations

from proofs.flows.catalog import Catalog, outsider, service
from proofs.flows.model import Caller, Flow, Hop
from proofs.network import compute
from stacks import naming
from stacks.config import Role
from stacks.deployment_order import stage_id

PRODUCT = "AWS::ServiceCatalog::CloudFormationProduct"


def self_service(catalog: Catalog, team_name: str) -> Flow | None:
    config = catalog.context.config
    if config.self_service is None:
        return None
    org = config.organization.name
    team = config.teams[team_name]
    scientists = [user for user in team.users if user.persona.value == "data-scientist"]
    if not scientists:
        return None
    dev = config.accounts[team.accounts.dev]
    region = config.region_of(dev)
    management, _ = config.account_with(Role.MANAGEMENT)
    portfolio = f"{stage_id(management, 'Catalog')}/Catalog"
    development = stage_id(team.accounts.dev, "Development")
    roles = f"{development}/Team-{team_name}"
    app = _studio_app(catalog, development, team_name, scientists[0].name)
    engineer = catalog.role_at(roles, "Roles/MlEngineer")
    job = catalog.role_at(roles, "Roles/JobExecution")
    launch = f"arn:aws:iam::{dev.id}:role/{naming.launch_role_name(org, 'project')}"
    hops = [
        Hop(
            f"{scientists[0].name} creates a SageMaker project from Studio",
            app,
            "sagemaker:CreateProject",
            f"arn:aws:sagemaker:{region}:{dev.id}:project/{team_name}-experiment",
        ),
        Hop(
            "SageMaker provisions the project's product with the caller's permissions",
            app,
            "servicecatalog:ProvisionProduct",
            catalog.arn(portfolio, "DataScience/MlopsProject", PRODUCT),
        ),
        Hop(
            "Service Catalog launches it as the product's launch role",
            service("servicecatalog.amazonaws.com", dev.id),
            "sts:AssumeRole",
            launch,
        ),
        Hop(
            "an ML engineer adds a Studio user for a new team member",
            engineer,
            "servicecatalog:ProvisionProduct",
            catalog.arn(portfolio, "DataScience/StudioUser", PRODUCT),
        ),
        Hop(
            "a training job's role cannot launch products",
            job,
            "servicecatalog:ProvisionProduct",
            catalog.arn(portfolio, "DataScience/Notebook", PRODUCT),
            allowed=False,
        ),
        Hop(
            "a principal outside the organization cannot launch them",
            outsider(),
            "servicecatalog:ProvisionProduct",
            catalog.arn(portfolio, "DataScience/MlopsProject", PRODUCT),
            allowed=False,
        ),
    ]
    store = config.feature_store
    if store is not None:
        data = config.accounts[store.account]
        producer_arn = f"arn:aws:iam::{data.id}:role/{naming.role_name(org, naming.FEATURE_STORE_PRODUCER_ROLE)}"
        producer = catalog.judge.role("the feature store's producer role", producer_arn)
        scientist = catalog.role_at(roles, "Roles/DataScientist")
        hops += [
            Hop(
                "a data scientist assumes the Feature Store's producer role", scientist, "sts:AssumeRole", producer_arn
            ),
            Hop(
                "and adds a feature group in the data account",
                producer,
                "servicecatalog:ProvisionProduct",
                catalog.arn(portfolio, "DataScience/FeatureGroup", PRODUCT),
            ),
            Hop(
                "Service Catalog launches it as the feature group's launch role",
                service("servicecatalog.amazonaws.com", data.id),
                "sts:AssumeRole",
                f"arn:aws:iam::{data.id}:role/{naming.launch_role_name(org, 'feature-group')}",
            ),
        ]
    return Flow(f"self-service for team {team_name}", tuple(hops), "Self-service")


def _studio_app(catalog: Catalog, development: str, team_name: str, user: str) -> Caller:
    """A user's Studio apps: the profile's execution role, in the VPC the domain runs in."""
    stack, profile = catalog.resource(
        f"{development}/StudioUsers-{team_name}-0", f"{team_name}-{user}", "AWS::SageMaker::UserProfile"
    )
    role = catalog.context.resolver.resolve(stack, profile.properties["UserSettings"]["ExecutionRole"])
    return catalog.judge.role(f"{user}'s Studio apps", str(role), compute(catalog.context, stack, profile.logical_id))
