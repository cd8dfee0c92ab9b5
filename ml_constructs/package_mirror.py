"""A private PyPI mirror (CodeArtifact) so VPC-only Studio and jobs can install packages."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_codeartifact as codeartifact
from aws_cdk import aws_kms as kms
from constructs import Construct

READ_ACTIONS = (
    "codeartifact:DescribePackageVersion",
    "codeartifact:DescribeRepository",
    "codeartifact:GetPackageVersionReadme",
    "codeartifact:GetRepositoryEndpoint",
    "codeartifact:ListPackageVersionAssets",
    "codeartifact:ListPackageVersionDependencies",
    "codeartifact:ListPackageVersions",
    "codeartifact:ListPackages",
    "codeartifact:ReadFromRepository",
)


def _organization_may(actions: tuple[str, ...], organization_id: str, sid: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": list(actions),
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": organization_id}},
            }
        ],
    }


class PackageMirror(Construct):
    """A CodeArtifact domain with `pypi` (what clients use) in front of `pypi-store` (the
    cache of public PyPI). Every principal of the organization may read; nobody outside may."""

    def __init__(
        self, scope: Construct, construct_id: str, *, domain_name: str, organization_id: str, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.domain = codeartifact.CfnDomain(
            self,
            "Domain",
            domain_name=domain_name,
            encryption_key=key.key_arn,
            permissions_policy_document=_organization_may(
                ("codeartifact:GetAuthorizationToken", "codeartifact:GetDomainPermissionsPolicy"),
                organization_id,
                "OrganizationMayAuthenticate",
            ),
        )
        self.store = codeartifact.CfnRepository(
            self,
            "PublicPyPiCache",
            domain_name=self.domain.attr_name,
            repository_name="pypi-store",
            description="Cache of public PyPI; clients read through the pypi repository",
            external_connections=["public:pypi"],
        )
        self.repository = codeartifact.CfnRepository(
            self,
            "PyPi",
            domain_name=self.domain.attr_name,
            repository_name="pypi",
            description="The organization's PyPI: pip index for Studio, jobs and CI",
            upstreams=[self.store.attr_name],
            permissions_policy_document=_organization_may(READ_ACTIONS, organization_id, "OrganizationMayRead"),
        )
