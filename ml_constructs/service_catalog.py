"""A Service Catalog portfolio shared across an organization: tag options, principal names
propagated to the accounts it is shared with, products with launch-role and template
constraints, and organization shares to OUs and accounts (lambda/catalog_setup: CloudFormation's
portfolio share takes accounts only, and shares no principal names)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_servicecatalog as servicecatalog
from constructs import Construct

from ml_constructs.product_releases import PRODUCT_METADATA, ReleaseHistory

PATH_METADATA_CONTEXT = "aws:cdk:enable-path-metadata"


class PortableProductStack(servicecatalog.ProductStack):
    """A product template that depends on nothing of the stage that synthesizes it, so its
    release holds in every account it launches in and on every machine: no construct paths
    in its metadata (they start with the synthesizing stage, named after its account)."""

    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(scope, construct_id, description=description)
        # Read as each resource is created: set before any is.
        self.node.set_context(PATH_METADATA_CONTEXT, False)


@dataclass(frozen=True)
class ProductRelease:
    """One product: its template, and where its releases are kept (ml_constructs.product_releases)."""

    name: str
    description: str
    stack: PortableProductStack
    folder: str
    """`<organization>/<product>`, under the releases directory."""


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
        releases: Path,
        untagged: Sequence[str] = (),
    ) -> None:
        """`releases`: the directory of the products' released templates; `untagged`: tags
        that describe the account synthesizing the products, not the accounts they launch in."""
        super().__init__(scope, construct_id)
        self._releases = releases
        self._untagged = tuple(untagged)
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
        launch_role: iam.IRole,
        template_rules: Sequence[servicecatalog.TemplateRule] = (),
        tags: Mapping[str, str] | None = None,
    ) -> servicecatalog.CloudFormationProduct:
        """Adds the product; it launches as the role of `launch_role`'s name in the account it
        launches in. That name must also name a role of this stack's account (Service Catalog
        checks it when the constraint is created): pass that role, so that CloudFormation
        creates it before the constraint.

        Its template ships under the name of its latest release (the first
        release's when it has none); earlier releases stay available from their committed
        templates. Whether the template still is its latest release's is checked on the
        synthesized assembly (ml_constructs.product_releases.changed_products)."""
        history = ReleaseHistory(self._releases / release.folder)
        release.stack.template_options.metadata = {PRODUCT_METADATA: release.folder}
        for tag in self._untagged:
            cdk.Tags.of(release.stack).remove(tag)
        versions = [
            servicecatalog.CloudFormationProductVersion(
                product_version_name=history.current_name,
                cloud_formation_template=servicecatalog.CloudFormationTemplate.from_product_stack(release.stack),
                validate_template=True,
            ),
            *(
                servicecatalog.CloudFormationProductVersion(
                    product_version_name=earlier.name,
                    cloud_formation_template=servicecatalog.CloudFormationTemplate.from_asset(str(earlier.template)),
                    validate_template=True,
                )
                for earlier in reversed(history.earlier)
            ),
        ]
        product = servicecatalog.CloudFormationProduct(
            self,
            construct_id,
            product_name=release.name,
            owner=owner,
            description=release.description,
            product_versions=versions,
        )
        for key, value in (tags or {}).items():
            cdk.Tags.of(product).add(key, value)
        self.portfolio.add_product(product)
        self.portfolio.set_local_launch_role(product, launch_role)
        for rule in template_rules:
            self.portfolio.constrain_cloud_formation_parameters(product, rule=rule)
        self.products[construct_id] = product
        return product

    def share_with_organization(
        self, *, unit_ids: Sequence[str], account_ids: Sequence[str] = (), service_token: str
    ) -> cdk.CustomResource:
        """Organization sharing with OUs and member accounts, principal names and tag options
        included (lambda/catalog_setup)."""
        return cdk.CustomResource(
            self,
            "OrganizationShare",
            service_token=service_token,
            resource_type="Custom::PortfolioOrganizationShare",
            properties={
                "PortfolioId": self.portfolio.portfolio_id,
                "OrganizationalUnitIds": list(unit_ids),
                **({"AccountIds": list(account_ids)} if account_ids else {}),
            },
        )
