"""The Studio teardown custom resource, against a stubbed SageMaker API (moto has no Studio
apps, spaces or profiles) and a loopback stand-in for CloudFormation's response URL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.lambda_fns.conftest import LocalContext, ResponseRecorder, event, load_handler

teardown = load_handler("studio_teardown")
DOMAIN = "d-abcdefghijkl"


@pytest.fixture
def sagemaker(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client("sagemaker", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(teardown.boto3, "client", lambda service, **_: client)
    monkeypatch.setattr(teardown.time, "sleep", lambda seconds: None)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def app(name: str, status: str = "InService", **owner: str) -> dict[str, Any]:
    return {"DomainId": DOMAIN, "AppType": "JupyterLab", "AppName": name, "Status": status, **owner}


def delete_event(recorder: ResponseRecorder, **properties: Any) -> dict[str, Any]:
    sample = event("cloudformation_custom_resource_delete", ResponseURL=recorder.url)
    sample["ResourceProperties"] = {**sample["ResourceProperties"], **properties}
    return sample


def test_delete_removes_the_apps_of_the_stacks_members_only(sagemaker, cloudformation):
    apps = [
        app("default", SpaceName="fraud-alice"),
        app("default", SpaceName="churn-dave"),  # another stack's member: left alone
        app("old", status="Deleted", SpaceName="fraud-bob"),
    ]
    sagemaker.add_response("list_apps", {"Apps": apps}, {"DomainIdEquals": DOMAIN})
    sagemaker.add_response(
        "delete_app",
        {},
        {"DomainId": DOMAIN, "AppType": "JupyterLab", "AppName": "default", "SpaceName": "fraud-alice"},
    )
    deleting = app("default", status="Deleting", SpaceName="fraud-alice")
    sagemaker.add_response("list_apps", {"Apps": [deleting]}, {"DomainIdEquals": DOMAIN})
    sagemaker.add_response("list_apps", {"Apps": [{**deleting, "Status": "Deleted"}]}, {"DomainIdEquals": DOMAIN})

    teardown.handler(delete_event(cloudformation), LocalContext())

    (answer,) = cloudformation.bodies
    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == "studio-teardown-Teardown"
    assert answer["RequestId"] == "5d478078-13e9-baf0-464a-7ef285ecc786"
    assert answer["LogicalResourceId"] == "Teardown"


def test_domain_scope_clears_every_app_then_what_people_created_outside_cloudformation(sagemaker, cloudformation):
    listing = {"DomainIdEquals": DOMAIN}
    sagemaker.add_response("list_apps", {"Apps": [app("a", SpaceName="team-shared")], "NextToken": "page2"}, listing)
    sagemaker.add_response(
        "list_apps", {"Apps": [app("b", UserProfileName="fraud-alice")]}, {**listing, "NextToken": "page2"}
    )
    sagemaker.add_response(
        "delete_app", {}, {"DomainId": DOMAIN, "AppType": "JupyterLab", "AppName": "a", "SpaceName": "team-shared"}
    )
    sagemaker.add_response(
        "delete_app",
        {},
        {"DomainId": DOMAIN, "AppType": "JupyterLab", "AppName": "b", "UserProfileName": "fraud-alice"},
    )
    sagemaker.add_response("list_apps", {"Apps": [app("a", status="Deleted", SpaceName="team-shared")]}, listing)
    spaces = [{"SpaceName": "team-shared", "Status": "InService"}, {"SpaceName": "scratch", "Status": "InService"}]
    sagemaker.add_response("list_spaces", {"Spaces": spaces}, listing)
    sagemaker.add_response("delete_space", {}, {"DomainId": DOMAIN, "SpaceName": "scratch"})
    sagemaker.add_response(
        "list_spaces", {"Spaces": [spaces[0], {"SpaceName": "scratch", "Status": "Deleting"}]}, listing
    )
    sagemaker.add_response("list_spaces", {"Spaces": [spaces[0]]}, listing)
    profiles = [
        {"UserProfileName": "fraud-alice", "Status": "InService"},
        {"UserProfileName": "contractor", "Status": "InService"},
    ]
    sagemaker.add_response("list_user_profiles", {"UserProfiles": profiles}, listing)
    sagemaker.add_response("delete_user_profile", {}, {"DomainId": DOMAIN, "UserProfileName": "contractor"})

    sample = delete_event(cloudformation, Scope="domain", UserProfiles=["fraud-alice"], Spaces=["team-shared"])
    teardown.handler(sample, LocalContext())

    assert [answer["Status"] for answer in cloudformation.bodies] == ["SUCCESS"]


def test_an_app_already_gone_counts_as_deleted(sagemaker, cloudformation):
    sagemaker.add_response("list_apps", {"Apps": [app("default", SpaceName="fraud-bob")]}, {"DomainIdEquals": DOMAIN})
    sagemaker.add_client_error("delete_app", service_error_code="ResourceNotFound")
    sagemaker.add_response("list_apps", {"Apps": []}, {"DomainIdEquals": DOMAIN})

    teardown.handler(delete_event(cloudformation), LocalContext())

    assert [answer["Status"] for answer in cloudformation.bodies] == ["SUCCESS"]


def test_create_and_update_change_nothing(sagemaker, cloudformation):
    for request_type in ("Create", "Update"):
        teardown.handler({**delete_event(cloudformation), "RequestType": request_type}, LocalContext())
    assert [answer["Status"] for answer in cloudformation.bodies] == ["SUCCESS", "SUCCESS"]


def test_access_denied_fails_the_delete_with_the_reason(sagemaker, cloudformation):
    sagemaker.add_client_error("list_apps", service_error_code="AccessDeniedException", service_message="not allowed")

    teardown.handler(delete_event(cloudformation), LocalContext())

    (answer,) = cloudformation.bodies
    assert answer["Status"] == "FAILED"
    assert "AccessDeniedException" in answer["Reason"]


def test_apps_that_outlive_the_function_fail_the_delete_instead_of_hanging(sagemaker, cloudformation):
    stuck = {"Apps": [app("stuck", status="Deleting", SpaceName="fraud-alice")]}
    sagemaker.add_response("list_apps", stuck, {"DomainIdEquals": DOMAIN})  # already deleting: not deleted again
    sagemaker.add_response("list_apps", stuck, {"DomainIdEquals": DOMAIN})

    teardown.handler(delete_event(cloudformation), LocalContext(remaining_ms=35_000))

    (answer,) = cloudformation.bodies
    assert answer["Status"] == "FAILED"
    assert "still being deleted" in answer["Reason"]


def test_missing_domain_fails_with_a_clear_reason(sagemaker, cloudformation):
    sample = delete_event(cloudformation)
    del sample["ResourceProperties"]["DomainId"]

    teardown.handler(sample, LocalContext())

    (answer,) = cloudformation.bodies
    assert answer["Status"] == "FAILED"
    assert "DomainId and Scope" in answer["Reason"]


@pytest.mark.parametrize("malformed", [{}, {"RequestType": "Delete"}, ["not", "a", "mapping"], {"detail": {}}])
def test_events_that_are_not_custom_resource_requests_are_ignored(sagemaker, cloudformation, malformed):
    assert teardown.handler(malformed, LocalContext()) is None
    assert cloudformation.bodies == []
