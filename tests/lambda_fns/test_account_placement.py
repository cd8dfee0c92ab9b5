"""The account placement against moto's Organizations: an existing member account moved into its
OU, as CDK's provider framework passes CloudFormation's requests on (the documented request
shapes in tests/events)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.lambda_fns.conftest import LocalContext, event, load_handler


@dataclass
class Organization:
    placement: ModuleType
    organizations: Any
    root_id: str
    ou_id: str
    other_ou_id: str
    account_id: str
    moves: list[dict[str, Any]] = field(default_factory=list)
    """The MoveAccount requests the function made."""

    def parent_of(self, account_id: str) -> str:
        parent: str = self.organizations.list_parents(ChildId=account_id)["Parents"][0]["Id"]
        return parent

    def request(self, request_type: str, **properties: Any) -> dict[str, Any]:
        sample = f"cloudformation_custom_resource_{'delete' if request_type == 'Delete' else 'update'}"
        return event(
            sample,
            RequestType=request_type,
            ResourceType="Custom::AccountPlacement",
            LogicalResourceId="Placementmldev",
            PhysicalResourceId=self.account_id,
            ResourceProperties={
                "ServiceToken": "arn:aws:lambda:eu-west-1:111111111111:function:provider",
                "AccountId": self.account_id,
                "ParentId": self.ou_id,
                **properties,
            },
        )

    def handle(self, request_type: str, **properties: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self.placement.handler(self.request(request_type, **properties), LocalContext())
        return answer


@pytest.fixture
def organization(monkeypatch: pytest.MonkeyPatch) -> Iterator[Organization]:
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        organizations = boto3.client("organizations")
        organizations.create_organization(FeatureSet="ALL")
        root_id = organizations.list_roots()["Roots"][0]["Id"]
        ou_id = organizations.create_organizational_unit(ParentId=root_id, Name="ML-Dev")["OrganizationalUnit"]["Id"]
        other = organizations.create_organizational_unit(ParentId=root_id, Name="Sandbox")["OrganizationalUnit"]["Id"]
        account_id = organizations.create_account(AccountName="ml-dev", Email="ml-dev@example.com")[
            "CreateAccountStatus"
        ]["AccountId"]
        org = Organization(load_handler("account_placement"), organizations, root_id, ou_id, other, account_id)
        # The function makes its client from boto3's default session: count the moves it asks for.
        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register(
            "provide-client-params.organizations.MoveAccount", lambda params, **_: org.moves.append(dict(params))
        )
        yield org
        boto3.DEFAULT_SESSION = None


def test_create_moves_the_account_from_the_root_into_its_ou(organization):
    assert organization.parent_of(organization.account_id) == organization.root_id
    answer = organization.handle("Create")
    assert answer == {"PhysicalResourceId": organization.account_id}
    assert organization.parent_of(organization.account_id) == organization.ou_id
    assert organization.moves == [
        {
            "AccountId": organization.account_id,
            "SourceParentId": organization.root_id,
            "DestinationParentId": organization.ou_id,
        }
    ]


def test_an_account_already_in_its_ou_is_not_moved_again(organization):
    organization.handle("Create")
    organization.handle("Create")  # CloudFormation retries; a repeated deploy
    organization.handle("Update")
    assert len(organization.moves) == 1
    assert organization.parent_of(organization.account_id) == organization.ou_id


def test_an_update_moves_the_account_from_the_ou_it_is_in(organization):
    organization.handle("Create", ParentId=organization.other_ou_id)
    organization.handle("Update")
    assert organization.moves[-1]["SourceParentId"] == organization.other_ou_id
    assert organization.parent_of(organization.account_id) == organization.ou_id


def test_delete_leaves_the_account_where_it_is(organization):
    organization.handle("Create")
    answer = organization.handle("Delete")
    assert answer == {"PhysicalResourceId": organization.account_id}
    assert organization.parent_of(organization.account_id) == organization.ou_id
    assert len(organization.moves) == 1


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"AccountId": "12345"}, "AccountId must be a 12-digit account id"),
        ({"ParentId": "Workloads"}, "ParentId must be the id of a root or an OU"),
        ({"ParentId": None}, "ParentId must be the id of a root or an OU"),
    ],
)
def test_malformed_properties_fail_the_request_with_the_reason(organization, properties, reason):
    with pytest.raises(organization.placement.PlacementError, match=reason):
        organization.handle("Create", **properties)
    assert organization.moves == []


def test_an_account_outside_the_organization_fails_the_request_with_organizations_message(organization):
    with pytest.raises(Exception, match=r"AccountNotFoundException|ChildNotFoundException"):
        organization.handle("Create", AccountId="999999999999")
    assert organization.moves == []


def test_a_request_that_is_not_a_custom_resource_request_fails(organization):
    with pytest.raises(organization.placement.PlacementError, match="not a custom resource request"):
        organization.placement.handler({"source": "aws.events"}, LocalContext())
