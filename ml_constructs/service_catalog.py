"""A Service Catalog portfolio shared across an organization: tag options, principal names
propagated to the accounts it is shared with, products with launch-role and template
constraints, and shares to accounts (CloudFormation) and to OUs (lambda/catalog_setup, as
CloudFormation's portfolio share takes accounts only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_servicecatalog as servicecatalog
from constructs import Construct

FIRST_RELEASE = "release-1.0"


@dataclass(frozen=True)
class ProductRelease:
    """One product: its template, and the provisioning artifact name of the current release.
    A changed template ships as a new release (release-1.1, ...), never under an old name;
    list the releases people may still have provisioned in `earlier`."""

    name: str
    description: str
    stack: servicecatalog.ProductStack
    release: str = FIRST_RELEASE
    earlier: tuple[str, ...] = ()
    """Earlier releases that stay available (from their snapshots), for provisioned products."""


class OrganizationPortfolio(Construct):
    """A portfolio whose principal associations are IAM name patterns (account-agnostic), so
    an organization share with principal sharing grants the same roles in every account."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        display_name: str,
        provider_name: str,
        description: str,
        tag_options: Mapping[str, Sequence[str]],
        principal_patterns: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.portfolio = servicecatalog.Portfolio(
            self,
            "Portfolio",
            display_name=display_name,
            provider_name=provider_name,
            description=description,
            tag_options=servicecatalog.TagOptions(
                self, "TagOptions", allowed_values_for_tags={key: list(values) for key, values in tag_options.items()}
            ),
        )
        for index, pattern in enumerate(principal_patterns):
            servicecatalog.CfnPortfolioPrincipalAssociation(
                self,
                f"Principals{index}",
                portfolio_id=self.portfolio.portfolio_id,
                principal_arn=pattern,
                principal_type="IAM_PATTERN",
            )
        self.products: dict[str, servicecatalog.CloudFormationProduct] = {}

    def add_product(
        self,
        construct_id: str,
        release: ProductRelease,
        *,
        owner: str,
        launch_role_name: str,
        snapshots: str,
        template_rules: Sequence[servicecatalog.TemplateRule] = (),
        tags: Mapping[str, str] | None = None,
    ) -> servicecatalog.CloudFormationProduct:
        """Adds the product; it launches as `launch_role_name` of the account it launches in.

        Each release's template is kept in `snapshots` (committed with the code): synthesis fails
        when the current release's template changes, so a change ships under a new release name,
        and earlier releases stay available from their snapshots."""
        history = servicecatalog.ProductStackHistory(
            self,
            f"{construct_id}History",
            product_stack=release.stack,
            current_version_name=release.release,
            current_version_locked=True,
            directory=snapshots,
            validate_template=True,
        )
        product = servicecatalog.CloudFormationProduct(
            self,
            construct_id,
            product_name=release.name,
            owner=owner,
            description=release.description,
            product_versions=[
                history.current_version(),
                *(history.version_from_snapshot(earlier) for earlier in release.earlier),
            ],
        )
        for key, value in (tags or {}).items():
            cdk.Tags.of(product).add(key, value)
        self.portfolio.add_product(product)
        launch_role = iam.Role.from_role_name(self, f"{construct_id}LaunchRole", launch_role_name, mutable=False)
        self.portfolio.set_local_launch_role(product, launch_role)
        for rule in template_rules:
            self.portfolio.constrain_cloud_formation_parameters(product, rule=rule)
        self.products[construct_id] = product
        return product

    def share_with_organizational_units(self, *, unit_ids: Sequence[str], service_token: str) -> cdk.CustomResource:
        """Organization sharing with principal names and tag options (lambda/catalog_setup)."""
        return cdk.CustomResource(
            self,
            "OrganizationShare",
            service_token=service_token,
            resource_type="Custom::PortfolioOrganizationShare",
            properties={"PortfolioId": self.portfolio.portfolio_id, "OrganizationalUnitIds": list(unit_ids)},
        )
