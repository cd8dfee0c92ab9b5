"""Adoption: an organization that has OUs, accounts, a trail and Identity Center groups already
(config/control-tower.yaml, set up by AWS Control Tower) synthesizes with every gate and passes
the preflight without creating them; and what cannot be adopted is a config error with its path."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint.api import ManualArgs, lint_by_config

from proofs import flows, organization, preflight
from proofs.context import ProofContext
from proofs.findings import Verdict, failures
from stacks.config import ConfigError, load_config, parse_config
from stacks.control_tower import Assembly, Toolkit, applicable, evaluate, judge
from stacks.control_tower_acknowledgements import ACCOUNT_PLACEMENT, ACKNOWLEDGEMENTS
from tests.conftest import ROOT, run_app

ADOPTION_CONFIG = ROOT / "config" / "control-tower.yaml"
Document = dict[str, Any]
Templates = dict[str, dict[str, Any]]
"""Template JSON by stage id and stack id, `<StageId>/<file name>`."""

ADOPTED = {"security": "ou-g1h2-5ecur1ty", "sandbox": "ou-g1h2-5andb0x0", "workloads": "ou-g1h2-w0rk10ad"}
TRAIL = "arn:aws:cloudtrail:eu-west-1:101010101010:trail/aws-controltower-BaselineCloudTrail"


@pytest.fixture(scope="module")
def adoption(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The adoption config synthesized as `cdk synth` does, every gate included."""
    directory = tmp_path_factory.mktemp("adoption") / "cdk.out"
    result = run_app(ADOPTION_CONFIG, directory)
    assert result.returncode == 0, result.stderr[-3000:]
    return directory


@pytest.fixture(scope="module")
def templates(adoption: Path) -> Templates:
    return {
        f"{path.parent.name.removeprefix('assembly-')}/{path.name}": json.loads(path.read_text())
        for path in adoption.glob("assembly-*/*.template.json")
    }


def _resources(templates: Templates, kind: str, stage: str = "") -> dict[str, dict[str, Any]]:
    return {
        f"{key}/{logical_id}": resource
        for key, template in templates.items()
        if key.startswith(stage)
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def _organization(templates: Templates) -> dict[str, Any]:
    (template,) = [t for key, t in templates.items() if key.startswith("ManagementOrganization/")]
    return template


def test_what_exists_is_not_created(templates):
    assert not _resources(templates, "AWS::Organizations::Account")
    assert not _resources(templates, "AWS::CloudTrail::Trail")
    assert not any(kind.startswith("AWS::IdentityStore::") for t in templates.values() for kind in _types(t))
    stages = {key.split("/")[0] for key in templates}
    # The adopted trail writes to its own archive: neither the trail's stage nor the archive's.
    assert not {"ManagementTrail", "LogArchiveArchive"} & stages
    assert "LogArchiveBaseline" in stages


def _types(template: dict[str, Any]) -> set[str]:
    return {resource["Type"] for resource in template["Resources"].values()}


def test_only_missing_ous_are_created_and_under_the_adopted_ones(templates):
    units = {
        resource["Properties"]["Name"]: resource["Properties"]["ParentId"]
        for resource in _resources(templates, "AWS::Organizations::OrganizationalUnit").values()
    }
    assert units == {
        "Infrastructure": "r-g1h2",
        "ML-Dev": ADOPTED["workloads"],
        "ML-Test": ADOPTED["workloads"],
        "ML-Prod": ADOPTED["workloads"],
    }


def test_guardrails_attach_to_adopted_ous_and_protect_the_adopted_trail(templates):
    policies = {
        resource["Properties"]["Name"]: resource["Properties"]
        for resource in _resources(templates, "AWS::Organizations::Policy").values()
    }
    targets = {name: [t for t in policy["TargetIds"] if isinstance(t, str)] for name, policy in policies.items()}
    assert targets["globex-protect-baseline"] == [ADOPTED["security"], ADOPTED["sandbox"], ADOPTED["workloads"]]
    assert targets["globex-ml-workloads"] == [ADOPTED["workloads"]]
    (trail_statement,) = [
        s for s in policies["globex-protect-baseline"]["Content"]["Statement"] if s["Sid"] == "ProtectOrganizationTrail"
    ]
    assert trail_statement["Resource"] == "arn:aws:cloudtrail:*:*:trail/aws-controltower-BaselineCloudTrail"


def test_identity_center_assigns_the_existing_groups(templates):
    config = load_config(ADOPTION_CONFIG)
    identity = config.landing_zone.identity_center
    assert identity is not None
    assignments = _resources(templates, "AWS::SSO::Assignment").values()
    assert {a["Properties"]["PrincipalId"] for a in assignments} == set(identity.groups.values())
    assert {a["Properties"]["PrincipalType"] for a in assignments} == {"GROUP"}


def test_every_member_account_is_moved_into_its_ou_one_after_the_other(templates):
    (template,) = [t for key, t in templates.items() if key.startswith("ManagementPlacement/")]
    placements = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "Custom::AccountPlacement"
    }
    parameters = template["Parameters"]
    moved = {
        resource["Properties"]["AccountId"]: parameters[resource["Properties"]["ParentId"]["Ref"]]["Default"]
        for resource in placements.values()
    }
    assert moved == {
        "202020202020": "/globex/organization/ou/security",
        "303030303030": "/globex/organization/ou/infrastructure",
        "404040404040": "/globex/organization/ou/workloads",
        "505050505050": "/globex/organization/ou/ml-dev",
        "606060606060": "/globex/organization/ou/ml-test",
        "707070707070": "/globex/organization/ou/ml-prod",
    }
    # The management account stays at the root; Organizations sees one move at a time.
    order = list(placements)
    assert [placements[later].get("DependsOn") for later in order[1:]] == [[earlier] for earlier in order[:-1]]
    published = {
        resource["Properties"]["Name"]: resource["Properties"]["Value"]
        for resource in _organization(templates)["Resources"].values()
        if resource["Type"] == "AWS::SSM::Parameter"
    }
    assert {name: published[name] for name in moved.values() if name.rsplit("/", 1)[1] in ADOPTED} == {
        f"/globex/organization/ou/{key}": ou_id for key, ou_id in ADOPTED.items() if key != "sandbox"
    }


def test_the_placement_function_may_move_only_the_configs_accounts(templates):
    (policy,) = [
        resource["Properties"]["PolicyDocument"]
        for key, resource in _resources(templates, "AWS::IAM::ManagedPolicy", "ManagementPlacement").items()
        if "AccountPlacementPolicy" in key
    ]
    statements = {statement.get("Sid"): statement for statement in policy["Statement"]}
    organization = "arn:${AWS::Partition}:organizations::101010101010"
    accounts = [f"{organization}:account/o-g1h2i3j4k5/{n * 101010101010}" for n in range(2, 8)]
    assert sorted(_arns(statements["ReadParents"]["Resource"])) == accounts
    assert sorted(_arns(statements["MoveAccounts"]["Resource"])) == sorted(
        [*accounts, f"{organization}:root/o-g1h2i3j4k5/r-g1h2", f"{organization}:ou/o-g1h2i3j4k5/ou-*"]
    )


def _arns(resources: list[Any]) -> list[str]:
    """ARNs as CloudFormation writes them with the partition joined in: `${AWS::Partition}` instead."""
    return [
        "".join("${AWS::Partition}" if part == {"Ref": "AWS::Partition"} else part for part in r["Fn::Join"][1])
        for r in resources
    ]


def test_the_adoption_passes_the_preflight_and_says_what_it_cannot_see(adoption):
    config = load_config(ADOPTION_CONFIG)
    findings = preflight.run(ProofContext.read(adoption, config))
    assert failures(findings) == []
    adopted = [finding for finding in findings if finding.proof == organization.PROOF]
    assert all(finding.verdict is Verdict.UNDECIDED for finding in adopted)
    assert sorted(finding.subject for finding in adopted) == [
        f"landing_zone.organizational_units.{index} {key} ({ou_id})"
        for index, (key, ou_id) in enumerate(ADOPTED.items())
    ] + ["landing_zone.trail.existing_arn"]
    assert TRAIL in next(f.problem for f in adopted if f.subject == "landing_zone.trail.existing_arn")

    # Without move_accounts the accounts are taken to be in their OUs: said per account, by name.
    in_place = config.model_copy(
        update={"landing_zone": config.landing_zone.model_copy(update={"move_accounts": False})}
    )
    stated = [f for f in organization.prove(ProofContext.read(adoption, in_place)) if f.subject.startswith("acc")]
    assert [finding.subject for finding in stated] == [
        f"accounts.{name} ({account.id})" for name, account in config.accounts.items() if name != "management"
    ]
    assert all(finding.verdict is Verdict.UNDECIDED for finding in stated)
    assert f"is taken to be in OU workloads ({ADOPTED['workloads']})" in stated[2].problem
    assert "list-parents --child-id 404040404040" in stated[2].fix


def test_the_adoption_passes_the_control_tower_gate(adoption):
    """Control Tower's proactive controls, as `make synth` runs them; the account placement's
    acknowledgements name resources here (the example, which creates its accounts, has none)."""
    assembly = Assembly(adoption)
    verdict = judge(assembly, evaluate(assembly, Toolkit.installed()), ACKNOWLEDGEMENTS)
    assert [failure.resource.path for failure in verdict.unacknowledged] == []
    assert verdict.unused == []
    assert applicable(ACCOUNT_PLACEMENT, assembly) == list(ACCOUNT_PLACEMENT)


def test_the_adoption_passes_cfn_lint_and_its_flows_hold(adoption):
    """The rest of `make synth` and `make flows`."""
    settings = yaml.safe_load((ROOT / ".cfnlintrc.yaml").read_text())
    templates = sorted(str(path) for path in adoption.glob("assembly-*/*.template.json"))
    matches = lint_by_config(
        ManualArgs(templates=templates, ignore_checks=settings["ignore_checks"], regions=["eu-west-1"])
    )
    assert [str(match) for match in matches] == []
    proven = flows.prove(ProofContext.read(adoption, load_config(ADOPTION_CONFIG)))
    assert proven
    assert [result.hop.what for _, results in proven for result in results if not result.holds] == []


# Config errors -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def adoption_document() -> Document:
    document: Document = yaml.safe_load(ADOPTION_CONFIG.read_text())
    return document


def _set(path: str, value: Any) -> Callable[[Document], None]:
    def mutate(document: Document) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = value

    return mutate


INVALID = {
    "adopted OU with a parent": (
        _set("landing_zone.organizational_units.0.parent", "workloads"),
        "landing_zone.organizational_units.0.parent: an adopted OU (one with an id) keeps the parent it has",
    ),
    "attached policies of a new OU": (
        _set("landing_zone.organizational_units.3.attached_policies", 2),
        "landing_zone.organizational_units.3.attached_policies: counts the SCPs an existing OU already has",
    ),
    "guardrails beyond the SCP limit of an adopted OU": (
        _set("landing_zone.organizational_units.2.attached_policies", 3),
        "landing_zone.organizational_units.2.guardrails: 6 SCPs attached (3 attached already, FullAWSAccess "
        "included), over the limit of 5",
    ),
    "more attached policies than AWS allows": (
        _set("landing_zone.organizational_units.1.attached_policies", 6),
        "landing_zone.organizational_units.1.attached_policies: input should be less than or equal to 5",
    ),
    "malformed OU id": (
        _set("landing_zone.organizational_units.0.id", "Security"),
        "landing_zone.organizational_units.0.id: string should match pattern",
    ),
    "one OU adopted twice": (
        _set("landing_zone.organizational_units.1.id", "ou-g1h2-5ecur1ty"),
        "landing_zone.organizational_units: duplicate name 'ou-g1h2-5ecur1ty'",
    ),
    "creating and moving accounts": (
        _set("landing_zone.create_accounts", True),
        "landing_zone.move_accounts: the accounts the landing zone creates (create_accounts) are created in their",
    ),
    "trail of a member account": (
        _set("landing_zone.trail.existing_arn", TRAIL.replace("101010101010", "202020202020")),
        "landing_zone.trail.existing_arn: names account 202020202020; an organization trail belongs to the "
        "management account 101010101010",
    ),
    "trail of another partition": (
        _set(
            "landing_zone.trail.existing_arn", TRAIL.replace("aws:cloudtrail:eu-west-1", "aws-cn:cloudtrail:cn-north-1")
        ),
        "landing_zone.trail.existing_arn: is not in partition aws",
    ),
    "trail in a region that does not exist": (
        _set("landing_zone.trail.existing_arn", TRAIL.replace("eu-west-1", "eu-middle-9")),
        "landing_zone.trail.existing_arn: 'eu-middle-9' is not a region",
    ),
    "archive settings for an adopted trail": (
        _set("landing_zone.trail.retention_days", 400),
        "landing_zone.trail.retention_days: describes the archive of the trail the platform creates",
    ),
    "malformed trail ARN": (
        _set("landing_zone.trail.existing_arn", "aws-controltower-BaselineCloudTrail"),
        "landing_zone.trail.existing_arn: string should match pattern",
    ),
}


@pytest.mark.parametrize(("mutate", "expected"), INVALID.values(), ids=INVALID.keys())
def test_what_cannot_be_adopted_is_reported_with_its_path(adoption_document, mutate, expected):
    document = copy.deepcopy(adoption_document)
    mutate(document)
    with pytest.raises(ConfigError) as caught:
        parse_config(document)
    problems = [str(problem) for problem in caught.value.problems]
    assert any(problem.startswith(expected) for problem in problems), problems


def test_the_adoption_config_is_valid_and_adopts_what_it_names():
    config = load_config(ADOPTION_CONFIG)
    assert {unit.key: unit.id for unit in config.landing_zone.organizational_units if unit.id} == ADOPTED
    assert config.landing_zone.trail.name == "aws-controltower-BaselineCloudTrail"
    assert [name for name, _, _ in config.member_ous()] == [n for n in config.accounts if n != "management"]
