"""The organization config: the example loads, and every kind of bad value is reported
with its path, all problems of a file at once."""

from __future__ import annotations

import codecs
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.loaders import Loader

from bench.config_load import organization_near_the_value_limit
from stacks import naming
from stacks.config import ConfigError, Role, load_config, load_config_bytes, models, parse_config
from stacks.config.loader import MAX_FILE_BYTES
from stacks.config.schedules import schedule_problem
from tests.conftest import EXAMPLE_CONFIG

Document = dict[str, Any]


@pytest.fixture(scope="module")
def example_document() -> Document:
    document: Document = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    return document


def problems_of(document: Document) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(document)
    return [str(problem) for problem in caught.value.problems]


def test_example_config_loads(example_config):
    assert example_config.organization.name == "acme"
    assert {role for account in example_config.accounts.values() for role in account.roles} == set(Role)
    assert len(example_config.teams) == 2
    assert all(len(team.users) >= 2 for team in example_config.teams.values())
    assert example_config.accounts["ml-prod"].is_production
    assert not example_config.accounts["ml-test"].is_production


def test_config_is_frozen(example_config):
    with pytest.raises(ValueError, match="frozen"):
        example_config.organization.name = "other"


def _set(path: str, value: Any) -> Callable[[Document], None]:
    """A mutation that sets the value at a dotted path (list indexes as numbers)."""

    def mutate(document: Document) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(path: str) -> Callable[[Document], None]:
    def mutate(document: Document) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return mutate


def _all_of(*mutations: Callable[[Document], None]) -> Callable[[Document], None]:
    def mutate(document: Document) -> None:
        for mutation in mutations:
            mutation(document)

    return mutate


TEAM_ACCOUNTS = {"dev": "ml-dev", "test": "ml-test", "prod": "ml-prod"}

INVALID_CASES = {
    "account id not 12 digits": (
        _set("accounts.ml-prod.id", "12345"),
        "accounts.ml-prod.id: must be 12 digits",
    ),
    "account id with letters": (
        _set("accounts.data.id", "44444444444x"),
        "accounts.data.id: must be 12 digits",
    ),
    "duplicate account id": (
        _set("accounts.ml-test.id", "777777777777"),
        "accounts.ml-test.id: duplicate account id 777777777777",
    ),
    "unknown role": (
        _set("accounts.data.roles", ["data", "warehouse"]),
        "accounts.data.roles.1: input should be",
    ),
    "missing required role": (
        _set("accounts.log-archive.roles", ["shared-services"]),
        "accounts: exactly one account must have role log-archive",
    ),
    "unknown team account": (
        _set("teams.fraud.accounts.dev", "ml-sandbox"),
        "teams.fraud.accounts.dev: unknown account 'ml-sandbox'",
    ),
    "team account of the wrong role": (
        _set("teams.churn.accounts.prod", "ml-test"),
        "teams.churn.accounts.prod: account 'ml-test' does not have role ml-prod",
    ),
    "unknown team of a model": (
        _set("models.0.team", "risk"),
        "models.0.team: unknown team 'risk'",
    ),
    "unknown team of a feature group": (
        _set("feature_store.feature_groups.1.team", "risk"),
        "feature_store.feature_groups.1.team: unknown team 'risk'",
    ),
    "unknown model of an endpoint": (
        _set("endpoints.1.model", "upsell"),
        "endpoints.1.model: unknown model 'upsell'",
    ),
    "feature store outside a data account": (
        _set("feature_store.account", "ml-dev"),
        "feature_store.account: account 'ml-dev' does not have role data",
    ),
    "malformed CIDR": (
        _set("accounts.ml-dev.network.cidr", "10.20.0.0/33"),
        "accounts.ml-dev.network.cidr: not a valid IPv4 network",
    ),
    "CIDR with host bits": (
        _set("accounts.ml-dev.network.cidr", "10.20.1.0/16"),
        "accounts.ml-dev.network.cidr: not a valid IPv4 network",
    ),
    "CIDR too small for subnets": (
        _set("accounts.ml-dev.network.cidr", "10.20.0.0/28"),
        "accounts.ml-dev.network.cidr: prefix length must be between /16 and /24",
    ),
    "overlapping CIDRs": (
        _set("accounts.ml-test.network.cidr", "10.20.128.0/17"),
        "accounts.ml-test.network.cidr: 10.20.128.0/17 overlaps accounts.ml-dev (10.20.0.0/16)",
    ),
    "workload account without network": (
        _delete("accounts.ml-test.network"),
        "accounts.ml-test.network: required for accounts with a workload role",
    ),
    "home region not allowed": (
        _set("organization.home_region", "us-east-1"),
        "organization.home_region: must be one of allowed_regions",
    ),
    "account region not allowed": (
        _set("accounts.ml-prod.region", "ap-south-1"),
        "accounts.ml-prod.region: must be one of allowed_regions",
    ),
    "malformed region": (
        _set("accounts.ml-prod.region", "Ireland"),
        "accounts.ml-prod.region: 'Ireland' is not a region in botocore",
    ),
    "duplicate user": (
        _set("teams.churn.users.1.name", "dave"),
        "teams.churn.users: duplicate name 'dave'",
    ),
    "duplicate model": (
        _set("models.1.name", "fraud-detector"),
        "models: duplicate name 'fraud-detector'",
    ),
    "duplicate variant": (
        _set("endpoints.0.variants.1.name", "champion"),
        "endpoints.0.variants: duplicate name 'champion'",
    ),
    "user profile name too long once prefixed": (
        _set("teams." + "t" * 31, {"cost_center": "X", "accounts": TEAM_ACCOUNTS, "users": [{"name": "u" * 32}]}),
        f"teams.{'t' * 31}.users.0.name: Studio user profile name '{'t' * 31}-{'u' * 32}' is 64 characters, "
        "over the limit of 63",
    ),
    "bucket name too long once prefixed": (
        _set("organization.name", "acme-corporation-global"),
        "accounts.log-archive: S3 bucket name 'acme-corporation-global-pipeline-replication-222222222222-eu-west-1' "
        "is 67 characters, over the limit of 63",
    ),
    "production endpoint below two instances": (
        _set("endpoints.1.variants.0.min_capacity", 1),
        "endpoints.1.variants.0.min_capacity: production endpoints need at least 2 instances",
    ),
    "endpoint without monitoring": (
        _delete("endpoints.1.monitoring"),
        "endpoints.1.monitoring: required: every endpoint is promoted to production, where Model Monitor watches it",
    ),
    "max below min capacity": (
        _set("endpoints.1.variants.0.max_capacity", 1),
        "endpoints.1.variants.0.max_capacity: must be at least min_capacity",
    ),
    "autoscaled burstable instance": (
        _set("endpoints.1.variants.0.instance_type", "ml.t2.medium"),
        "endpoints.1.variants.0.instance_type: burstable ml.t2.medium cannot be autoscaled",
    ),
    "record identifier not a feature": (
        _set("feature_store.feature_groups.0.record_identifier", "account_id"),
        "feature_store.feature_groups.0.record_identifier: 'account_id' is not one of the features",
    ),
    "integral event time": (
        _set("feature_store.feature_groups.0.event_time", "txn_count_24h"),
        "feature_store.feature_groups.0.event_time: must be a String (ISO-8601) or Fractional",
    ),
    "reserved feature name": (
        _set("feature_store.feature_groups.1.features.3.name", "write_time"),
        "feature_store.feature_groups.1.features.3.name: 'write_time' is reserved",
    ),
    "unknown parent OU": (
        _set("landing_zone.organizational_units.3.parent", "nowhere"),
        "landing_zone.organizational_units.3.parent: unknown organizational unit 'nowhere'",
    ),
    "cyclic OUs": (
        _set("landing_zone.organizational_units.2.parent", "ml-dev"),
        "landing_zone.organizational_units.2.parent: cycle: workloads -> ml-dev -> workloads",
    ),
    "duplicate OU key": (
        _set("landing_zone.organizational_units.6.key", "security"),
        "landing_zone.organizational_units: duplicate name 'security'",
    ),
    "account in an unknown OU": (
        _set("accounts.data.ou", "lakes"),
        "accounts.data.ou: organizational unit 'lakes' is not in landing_zone.organizational_units",
    ),
    "role's default OU removed": (
        _set("landing_zone.organizational_units.5.key", "production"),
        "accounts.ml-prod.roles: organizational unit 'ml-prod' is not in landing_zone.organizational_units "
        "(set accounts.<name>.ou)",
    ),
    "missing email when creating accounts": (
        _delete("accounts.ml-test.email"),
        "accounts.ml-test.email: required when landing_zone.create_accounts is true",
    ),
    "malformed email": (
        _set("accounts.ml-test.email", "not-an-address"),
        "accounts.ml-test.email: string should match pattern",
    ),
    "trail expires before its retention": (
        _set("landing_zone.trail.expire_after_days", 300),
        "landing_zone.trail.expire_after_days: must be later than retention_days and archive_after_days",
    ),
    "stackset targets an unknown OU": (
        _set("landing_zone.baseline_stackset.target_ous", ["sandbox", "labs"]),
        "landing_zone.baseline_stackset.target_ous.1: unknown organizational unit 'labs'",
    ),
    "malformed organization id": (
        _set("landing_zone.organization_id", "org-1"),
        "landing_zone.organization_id: string should match pattern",
    ),
    "unknown Identity Center persona": (
        _set("landing_zone.identity_center.groups", {"superuser": "11111111-2222-3333-4444-555555555555"}),
        "landing_zone.identity_center.groups.superuser",
    ),
    "unknown guardrail": (
        _set("landing_zone.organizational_units.0.guardrails", ["deny-everything"]),
        "landing_zone.organizational_units.0.guardrails.0: input should be",
    ),
    "studio with identity center auth but none configured": (
        _all_of(_delete("landing_zone.identity_center"), _set("studio", {"auth_mode": "sso"})),
        "studio.auth_mode: sso needs landing_zone.identity_center",
    ),
    "studio idle maximum below the default": (
        _set("studio.max_idle_timeout_minutes", 45),
        "studio.max_idle_timeout_minutes: input should be greater than or equal to 60",
    ),
    "studio idle maximum below the configured default": (
        _set("studio", {"idle_timeout_minutes": 120, "max_idle_timeout_minutes": 90}),
        "studio.max_idle_timeout_minutes: must be at least idle_timeout_minutes",
    ),
    "portfolio shared with an unknown OU": (
        _set("self_service.share_to", ["ml-dev", "labs"]),
        "self_service.share_to.1: unknown organizational unit 'labs'",
    ),
    "notebook type that notebooks do not offer": (
        _set("self_service.notebook_instance_types", ["ml.t3.large", "ml.c5n.xlarge"]),
        "self_service.notebook_instance_types.1: 'ml.c5n.xlarge' is not an instance type SageMaker offers for "
        "notebook instances",
    ),
    "project without a connection": (
        _all_of(_delete("delivery"), _delete("endpoints")),
        "self_service.project_connection_arn: required when there is no delivery.connection_arn",
    ),
    "unknown key": (
        _set("organization.nmae", "typo"),
        "organization.nmae: unknown key",
    ),
    "missing required field": (
        _delete("teams.fraud.cost_center"),
        "teams.fraud.cost_center: field required",
    ),
    "wrong type": (
        _set("endpoints.0.data_capture.sampling_percent", "all"),
        "endpoints.0.data_capture.sampling_percent: input should be a valid integer",
    ),
    "out of range": (
        _set("endpoints.0.data_capture.sampling_percent", 150),
        "endpoints.0.data_capture.sampling_percent: input should be less than or equal to 100",
    ),
    "management account in an OU": (
        _set("accounts.management.ou", "security"),
        "accounts.management.ou: the management account stays at the organization's root",
    ),
    "an endpoint named as another's test deployment beside production": (
        _all_of(
            _set("accounts.ml-prod.roles", ["ml-test", "ml-prod"]),
            _set("teams.fraud.accounts.test", "ml-prod"),
            _set("endpoints.2.name", "fraud-detector-test"),
        ),
        "endpoints.2.name: deploys as fraud-detector-test in account ml-prod, as endpoints.0 does too",
    ),
}


@pytest.mark.parametrize("mutate,expected", INVALID_CASES.values(), ids=INVALID_CASES.keys())
def test_each_invalid_value_is_reported_with_its_path(example_document, mutate, expected):
    document = copy.deepcopy(example_document)
    mutate(document)
    problems = problems_of(document)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_several_problems_are_reported_together(example_document):
    document = copy.deepcopy(example_document)
    _set("accounts.ml-prod.id", "1")(document)
    _set("accounts.ml-dev.network.cidr", "not-a-cidr")(document)
    _set("teams.fraud.cost_center", "")(document)
    problems = problems_of(document)
    assert [problem.split(":")[0] for problem in problems] == [
        "accounts.ml-dev.network.cidr",
        "accounts.ml-prod.id",
        "teams.fraud.cost_center",
    ]


def test_several_cross_field_problems_are_reported_together(example_document):
    document = copy.deepcopy(example_document)
    _set("teams.fraud.accounts.dev", "nowhere")(document)
    _set("endpoints.0.variants.0.min_capacity", 1)(document)
    _set("accounts.ml-test.network.cidr", "10.20.0.0/16")(document)
    assert len(problems_of(document)) == 3


def test_a_failed_list_item_is_not_also_reported_as_an_empty_list(example_document):
    document = copy.deepcopy(example_document)
    _set("accounts.data.roles", ["warehouse"])(document)
    problems = problems_of(document)
    assert problems == [problems[0]]
    assert problems[0].startswith("accounts.data.roles.0:")


def test_error_message_lists_every_problem_with_the_file(tmp_path: Path, example_document):
    document = copy.deepcopy(example_document)
    _set("accounts.ml-prod.id", "1")(document)
    _set("accounts.data.id", "2")(document)
    config_file = tmp_path / "org.yaml"
    config_file.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    message = str(caught.value)
    assert message.startswith(f"{config_file}: 2 configuration problem(s)")
    assert "  - accounts.data.id: must be 12 digits" in message
    assert "  - accounts.ml-prod.id: must be 12 digits" in message


@pytest.mark.parametrize(
    "content,expected",
    [
        ("organization: [unclosed", "(file): is not valid YAML"),
        ("- just\n- a list\n", "(root): must be a mapping"),
        ("", "(root): must be a mapping"),
    ],
)
def test_unreadable_documents(tmp_path: Path, content: str, expected: str):
    config_file = tmp_path / "org.yaml"
    config_file.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    assert str(caught.value.problems[0]).startswith(expected)


def test_missing_file(tmp_path: Path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.yaml")
    assert str(caught.value.problems[0]).startswith("(file): cannot be read")


def test_organizational_units_nested_too_deep_are_rejected(example_document):
    document = copy.deepcopy(example_document)
    chain = [{"key": f"level-{i}", "name": f"Level {i}", "parent": f"level-{i - 1}" if i else None} for i in range(6)]
    document["landing_zone"]["organizational_units"] += chain
    assert "landing_zone.organizational_units.12: nested 6 levels deep, over the limit of 5" in problems_of(document)


def test_merge_keys_and_aliases_of_a_reasonable_size_are_read(tmp_path: Path):
    """Anchors, aliases and merge keys are YAML's way to share settings; only bombs are refused."""
    text = EXAMPLE_CONFIG.read_text().replace(
        '  ml-test:\n    id: "666666666666"\n',
        '  ml-test:\n    <<: &workload {monthly_budget_usd: 1500}\n    id: "666666666666"\n',
    )
    text = text.replace(
        "    accounts: {dev: ml-dev, test: ml-test, prod: ml-prod}\n",
        "    accounts: &team-accounts {dev: ml-dev, test: ml-test, prod: ml-prod}\n",
        1,
    )
    text = text.replace(
        "    accounts: {dev: ml-dev, test: ml-test, prod: ml-prod}\n", "    accounts: *team-accounts\n", 1
    )
    config = load_config_bytes(text.encode())
    assert config.accounts["ml-test"].monthly_budget_usd == 2000  # the explicit key overrides the merged one
    assert config.teams["churn"].accounts == config.teams["fraud"].accounts


@pytest.mark.parametrize(
    "encoding,bom", [("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE)]
)
def test_the_example_reads_the_same_in_utf8_with_bom_and_utf16(example_config, encoding: str, bom: bytes):
    """What Windows editors and PowerShell 5 write: UTF-8 or UTF-16, with a byte order mark."""
    assert load_config_bytes(bom + EXAMPLE_CONFIG.read_text().encode(encoding)) == example_config


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path):
    config_file = tmp_path / "org.yaml"
    config_file.write_bytes(b"# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    assert [str(problem) for problem in caught.value.problems] == [
        "(file): is larger than 1024 KiB, far more than any organization's config"
    ]


def test_a_directory_is_one_clear_error(tmp_path: Path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value.problems[0]).startswith("(file): cannot be read: Is a directory")


def test_a_machine_without_a_time_zone_database_is_told_to_install_tzdata(example_document, monkeypatch):
    """Only a time zone the file names needs the database: the default, UTC, is not looked up."""
    monkeypatch.setattr(models, "_time_zones", frozenset)
    assert problems_of(copy.deepcopy(example_document)) == [
        "endpoints.0.working_hours.timezone: this machine has no IANA time zone database to check it against: "
        "install the tzdata package (pinned in requirements.txt), which Python's zoneinfo reads where the system "
        "has none"
    ]


@pytest.mark.parametrize(
    "expression",
    [
        # EventBridge's documented examples, with future years where the documentation's are past.
        "cron(0 10 * * ? *)",
        "cron(15 12 * * ? *)",
        "cron(0 18 ? * MON-FRI *)",
        "cron(0 8 1 * ? *)",
        "cron(0/15 * * * ? *)",
        "cron(0/10 * ? * MON-FRI *)",
        "cron(0/5 8-17 ? * MON-FRI *)",
        "cron(0 9 ? * 2#1 *)",
        "cron(0 2 ? 1/1 THU#3 *)",
        "cron(1/10 * * * ? *)",
        "cron(0 0 L * ? *)",
        "cron(0 0 ? * 6L *)",
        "cron(0 0 3W * ? *)",
        "cron(0 12 1 JAN,FEB,MAR ? 2030-2035)",
        "cron(59 23 31 12 ? 2199)",
        "cron(0 0 29 2 ? *)",
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 hour)",
        "rate(12 hours)",
        "rate(1 day)",
        "rate(7 days)",
    ],
)
def test_documented_schedule_expressions_are_accepted(expression: str):
    assert schedule_problem(expression) is None


def test_sagemaker_name_rules_are_botocores(botocore_shapes):
    for rule, shape in (
        (naming.ENDPOINT, "EndpointName"),
        (naming.STUDIO_USER_PROFILE, "UserProfileName"),
        (naming.MONITORING_SCHEDULE, "MonitoringScheduleName"),
        (naming.PIPELINE, "PipelineName"),
        (naming.FEATURE_GROUP, "FeatureGroupName"),
    ):
        assert rule.max_length == botocore_shapes[shape]["max"], shape
        assert rule.pattern == botocore_shapes[shape]["pattern"].replace("{0,62}", "*").replace("{0,63}", "*").replace(
            "{0,255}", "*"
        ), shape


@pytest.fixture(scope="module")
def botocore_shapes() -> dict[str, Any]:
    shapes: dict[str, Any] = Loader().load_service_model("sagemaker", "service-2")["shapes"]
    return shapes


def test_an_organization_near_the_value_limit_loads():
    """150 more teams, each with three accounts, a model, a monitored endpoint with a standby and
    an API, and a batch job, stay within the loader's value limit (bench.config_load times it)."""
    config = load_config_bytes(yaml.safe_dump(organization_near_the_value_limit()).encode())
    assert len(config.endpoints) == 153


def test_a_team_that_tests_in_its_production_account_deploys_twice_there(example_document):
    """Test and production are the deployments', not the account's: the test copy there is
    named <name>-test, production keeps its name, and the account goes to the ML-Prod OU."""
    document = copy.deepcopy(example_document)
    document["accounts"]["ml-prod"]["roles"] = ["ml-test", "ml-prod"]
    document["teams"]["fraud"]["accounts"]["test"] = "ml-prod"
    config = parse_config(document)
    deployed = [(s.name, s.placement.environment) for s in config.endpoints_served_in("ml-prod")]
    assert deployed[:2] == [
        ("fraud-detector-test", models.Environment.TEST),
        ("fraud-detector", models.Environment.PRODUCTION),
    ]
    assert [s.name for s in config.endpoints_served_in("ml-test")] == ["churn-predictor", "churn-segments"]
    assert config.ou_of(config.accounts["ml-prod"]) == "ml-prod"


def test_the_management_account_stays_at_the_root_whatever_else_it_holds(example_document):
    document = copy.deepcopy(example_document)
    document["accounts"]["management"]["roles"] = ["management", "log-archive"]
    del document["accounts"]["log-archive"]
    config = parse_config(document)
    assert config.ou_of(config.accounts["management"]) is None
    assert config.guardrails_of(config.accounts["management"]) == set()
