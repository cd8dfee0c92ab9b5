"""The catalog setup custom resources (organization shares of the portfolio, SageMaker
Projects), against stubbed Service Catalog and SageMaker APIs (moto implements neither
organization shares nor the Projects switch) and a loopback stand-in for CloudFormation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.lambda_fns.conftest import LocalContext, ResponseRecorder, event, load_handler

setup = load_handler("catalog_setup")
PORTFOLIO = "port-abcdefghijklm"
KEPT, ADDED, DROPPED = "ou-a1b2-11111111", "ou-a1b2-22222222", "ou-a1b2-33333333"


@dataclass
class Apis:
    catalog: Stubber
    sagemaker: Stubber


@pytest.fixture
def apis(monkeypatch: pytest.MonkeyPatch) -> Iterator[Apis]:
    credentials = {"region_name": "eu-west-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    clients = {name: boto3.client(name, **credentials) for name in ("servicecatalog", "sagemaker")}  # type: ignore[call-overload]
    monkeypatch.setattr(setup.boto3, "client", lambda service, **_: clients[service])
    monkeypatch.setattr(setup.time, "sleep", lambda seconds: None)
    with Stubber(clients["servicecatalog"]) as catalog, Stubber(clients["sagemaker"]) as sagemaker:
        yield Apis(catalog, sagemaker)
        catalog.assert_no_pending_responses()
        sagemaker.assert_no_pending_responses()


def request(recorder: ResponseRecorder, request_type: str, **overrides: Any) -> dict[str, Any]:
    sample = event("cloudformation_custom_resource_update", ResponseURL=recorder.url, RequestType=request_type)
    if request_type != "Update":
        del sample["OldResourceProperties"]
    return {**sample, **overrides}


def node(unit: str) -> dict[str, str]:
    return {"Type": "ACCOUNT" if unit.isdigit() else "ORGANIZATIONAL_UNIT", "Value": unit}


def expect_share(catalog: Stubber, unit: str, statuses: tuple[str, ...] = ("COMPLETED",)) -> None:
    token = f"share-{unit}"
    catalog.add_response(
        "create_portfolio_share",
        {"PortfolioShareToken": token},
        {"PortfolioId": PORTFOLIO, "OrganizationNode": node(unit), "SharePrincipals": True, "ShareTagOptions": True},
    )
    for status in statuses:
        catalog.add_response(
            "describe_portfolio_share_status",
            {"Status": status, "PortfolioShareToken": token},
            {"PortfolioShareToken": token},
        )


def expect_unshare(catalog: Stubber, unit: str) -> None:
    token = f"unshare-{unit}"
    catalog.add_response(
        "delete_portfolio_share",
        {"PortfolioShareToken": token},
        {"PortfolioId": PORTFOLIO, "OrganizationNode": node(unit)},
    )
    catalog.add_response(
        "describe_portfolio_share_status",
        {"Status": "COMPLETED", "PortfolioShareToken": token},
        {"PortfolioShareToken": token},
    )


def test_create_enables_organizations_access_then_shares_with_each_unit_and_waits(apis, cloudformation):
    apis.catalog.add_response("enable_aws_organizations_access", {}, {})
    expect_share(apis.catalog, KEPT, ("IN_PROGRESS", "COMPLETED"))
    expect_share(apis.catalog, ADDED)
    setup.handler(request(cloudformation, "Create"), LocalContext())
    (answer,) = cloudformation.bodies
    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == "catalog-setup-DataScienceOrganizationShareAAD01B38"


def test_an_account_is_shared_as_an_organization_node_with_its_principal_names(apis, cloudformation):
    """The data account: CloudFormation's own portfolio share would not share principal names."""
    apis.catalog.add_response("enable_aws_organizations_access", {}, {})
    expect_share(apis.catalog, "444444444444")
    expect_share(apis.catalog, KEPT)
    properties = {"PortfolioId": PORTFOLIO, "OrganizationalUnitIds": [KEPT], "AccountIds": ["444444444444"]}
    setup.handler(request(cloudformation, "Create", ResourceProperties=properties), LocalContext())
    assert cloudformation.bodies[0]["Status"] == "SUCCESS"


def test_update_unshares_dropped_units_and_shares_the_rest_again(apis, cloudformation):
    apis.catalog.add_response("enable_aws_organizations_access", {}, {})
    expect_unshare(apis.catalog, DROPPED)
    expect_share(apis.catalog, KEPT)
    expect_share(apis.catalog, ADDED)
    setup.handler(request(cloudformation, "Update"), LocalContext())
    assert cloudformation.bodies[0]["Status"] == "SUCCESS"


def test_sharing_again_updates_the_existing_share(apis, cloudformation):
    apis.catalog.add_response("enable_aws_organizations_access", {}, {})
    for unit in (KEPT, ADDED):
        settings = {
            "PortfolioId": PORTFOLIO,
            "OrganizationNode": node(unit),
            "SharePrincipals": True,
            "ShareTagOptions": True,
        }
        apis.catalog.add_client_error("create_portfolio_share", "DuplicateResourceException", expected_params=settings)
        apis.catalog.add_response("update_portfolio_share", {}, settings)
    setup.handler(request(cloudformation, "Create"), LocalContext())
    assert cloudformation.bodies[0]["Status"] == "SUCCESS"


def test_delete_unshares_and_counts_missing_shares_as_done(apis, cloudformation):
    expect_unshare(apis.catalog, KEPT)
    apis.catalog.add_client_error(
        "delete_portfolio_share",
        "ResourceNotFoundException",
        expected_params={"PortfolioId": PORTFOLIO, "OrganizationNode": node(ADDED)},
    )
    setup.handler(request(cloudformation, "Delete"), LocalContext())
    assert cloudformation.bodies[0]["Status"] == "SUCCESS"


def test_a_share_that_ends_in_error_fails_the_deployment(apis, cloudformation):
    apis.catalog.add_response("enable_aws_organizations_access", {}, {})
    expect_share(apis.catalog, KEPT, ("ERROR",))
    setup.handler(request(cloudformation, "Create"), LocalContext())
    (answer,) = cloudformation.bodies
    assert answer["Status"] == "FAILED" and "ERROR" in answer["Reason"]


def test_a_share_still_running_when_time_runs_out_fails_with_advice(apis, cloudformation):
    apis.catalog.add_response("enable_aws_organizations_access", {}, {})
    expect_share(apis.catalog, KEPT, ("IN_PROGRESS",))
    setup.handler(request(cloudformation, "Create"), LocalContext(remaining_ms=31_000))
    (answer,) = cloudformation.bodies
    assert answer["Status"] == "FAILED" and "deploy again" in answer["Reason"]


@pytest.mark.parametrize(
    "properties",
    [
        {"PortfolioId": "not-a-portfolio", "OrganizationalUnitIds": [KEPT]},
        {"PortfolioId": PORTFOLIO, "OrganizationalUnitIds": []},
        {"PortfolioId": PORTFOLIO, "OrganizationalUnitIds": ["r-a1b2"]},
        {"PortfolioId": PORTFOLIO, "AccountIds": ["4444"]},
        {"PortfolioId": PORTFOLIO, "OrganizationalUnitIds": [KEPT], "AccountIds": "444444444444"},
        {"PortfolioId": PORTFOLIO},
    ],
)
def test_malformed_properties_fail_without_any_call(apis, cloudformation, properties):
    setup.handler(request(cloudformation, "Create", ResourceProperties=properties), LocalContext())
    assert cloudformation.bodies[0]["Status"] == "FAILED"


def test_projects_are_enabled_on_create_and_left_enabled_on_delete(apis, cloudformation):
    projects = {"ResourceType": "Custom::SageMakerProjects", "ResourceProperties": {}}
    apis.sagemaker.add_response("enable_sagemaker_servicecatalog_portfolio", {}, {})
    setup.handler(request(cloudformation, "Create", **projects), LocalContext())
    setup.handler(request(cloudformation, "Delete", **projects), LocalContext())
    assert [answer["Status"] for answer in cloudformation.bodies] == ["SUCCESS", "SUCCESS"]


def test_an_unknown_resource_type_fails(apis, cloudformation):
    setup.handler(request(cloudformation, "Create", ResourceType="Custom::Other"), LocalContext())
    assert cloudformation.bodies[0]["Status"] == "FAILED"


@pytest.mark.parametrize("malformed", [{}, {"RequestType": "Create"}, [], "text", None])
def test_events_that_are_not_custom_resource_requests_are_ignored(apis, malformed):
    assert setup.handler(malformed, LocalContext()) is None


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(setup.boto3, "client", lambda service, **_: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


TEMPLATE = {
    "SourceBucket": "cdk-hnb659fds-assets-555555555555-eu-west-1",
    "SourceKey": "f59ee958f2bb9075e22d10160a59c21ac1809f35e149041a207966815970de2c.json",
    "Bucket": "acme-project-templates-555555555555-eu-west-1",
    "Key": "templates/mlops-project.json",
}


def test_a_project_template_is_copied_into_place_visible_to_studio(s3, cloudformation):
    s3.add_response(
        "copy_object",
        {},
        {
            "CopySource": {"Bucket": TEMPLATE["SourceBucket"], "Key": TEMPLATE["SourceKey"]},
            "Bucket": TEMPLATE["Bucket"],
            "Key": TEMPLATE["Key"],
            "Tagging": "sagemaker:studio-visibility=true",
            "TaggingDirective": "REPLACE",
            "MetadataDirective": "REPLACE",
            "ContentType": "application/json",
        },
    )
    template = {"ResourceType": "Custom::ProjectTemplate", "ResourceProperties": TEMPLATE}
    setup.handler(request(cloudformation, "Create", **template), LocalContext())
    assert cloudformation.bodies[0]["Status"] == "SUCCESS"


def test_deleting_a_project_template_removes_it(s3, cloudformation):
    s3.add_response("delete_object", {}, {"Bucket": TEMPLATE["Bucket"], "Key": TEMPLATE["Key"]})
    template = {"ResourceType": "Custom::ProjectTemplate", "ResourceProperties": TEMPLATE}
    setup.handler(request(cloudformation, "Delete", **template), LocalContext())
    assert cloudformation.bodies[0]["Status"] == "SUCCESS"


def test_a_project_template_without_its_locations_fails(s3, cloudformation):
    template = {"ResourceType": "Custom::ProjectTemplate", "ResourceProperties": {**TEMPLATE, "Key": ""}}
    setup.handler(request(cloudformation, "Create", **template), LocalContext())
    assert cloudformation.bodies[0]["Status"] == "FAILED"
