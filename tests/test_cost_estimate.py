"""The synth summary's price: each always-on resource of the assembly priced from the committed
table, endpoint instances at their floor through the week, nothing unpriced counted as free."""

from __future__ import annotations

import dataclasses

import pytest

from proofs.assembly import CloudAssembly
from tools.cost_estimate import CATEGORIES, HOURS_PER_WEEK, Estimate, estimate, price_table, render, weekly_floor_hours

WORKING_HOURS = [
    {"Schedule": "cron(0 7 ? * MON-FRI *)", "ScalableTargetAction": {"MinCapacity": 2, "MaxCapacity": 4}},
    {"Schedule": "cron(0 19 ? * MON-FRI *)", "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 1}},
]


def test_without_scheduled_actions_the_minimum_holds_all_week():
    assert weekly_floor_hours(3, []) == 3 * HOURS_PER_WEEK


def test_working_hours_keep_the_minimum_and_nights_and_weekends_one_instance():
    assert weekly_floor_hours(2, WORKING_HOURS) == 5 * 12 * 2 + (HOURS_PER_WEEK - 5 * 12) * 1


def test_scheduled_minutes_and_day_lists_count_to_the_minute():
    actions = [
        {"Schedule": "cron(30 8 ? * MON,WED *)", "ScalableTargetAction": {"MinCapacity": 4}},
        {"Schedule": "cron(0 18 ? * MON,WED *)", "ScalableTargetAction": {"MinCapacity": 0}},
    ]
    assert weekly_floor_hours(1, actions) == 2 * 9.5 * 4


@pytest.mark.parametrize(
    "schedule", ["rate(1 day)", "cron(0 7 1 * ? *)", "cron(0 7 ? * FRI-MON *)", "at(2026-01-01T00:00:00)"]
)
def test_a_schedule_of_another_form_is_not_followed(schedule):
    actions = [{"Schedule": schedule, "ScalableTargetAction": {"MinCapacity": 5}}]
    assert weekly_floor_hours(2, actions) == 2 * HOURS_PER_WEEK


@pytest.fixture(scope="module")
def example_estimate(org) -> Estimate:
    return estimate(CloudAssembly.read(org.directory))


def _account_total(result: Estimate, account: str, category: str) -> float:
    return result.by_account()[account].get(category, 0.0)


def test_interface_endpoints_are_priced_per_availability_zone_hour(org, example_estimate):
    table = price_table()
    for name in ("data", "ml-prod"):
        account = org.config.accounts[name]
        charges = [c for c in example_estimate.charges if c.account == account.id and c.category == "VPC endpoints"]
        assert charges and all(c.unit_usd == table.prices["vpc-interface-endpoint-hour"] for c in charges)
        assert account.network is not None
        # Every region's VPC, the recovery region's too, spans the account's availability zones.
        assert {c.quantity for c in charges} == {account.network.availability_zones * table.hours_per_month}


def test_production_endpoints_cost_their_minimum_instances_all_month(org, example_estimate):
    """ml-prod serves every endpoint at each variant's min_capacity, the churn predictor also on
    standby in its recovery region: the expected sum is computed from the config."""
    table = price_table()
    expected = sum(
        variant.min_capacity
        * table.hours_per_month
        * table.instance_hour[variant.instance_type]
        * (2 if endpoint.recovery_region else 1)
        for endpoint in org.config.endpoints
        for variant in endpoint.variants
    )
    prod = org.config.accounts["ml-prod"].id
    assert _account_total(example_estimate, prod, "model endpoints") == pytest.approx(expected)


def test_test_endpoints_cost_less_than_production_outside_working_hours(org, example_estimate):
    test, prod = (org.config.accounts[name].id for name in ("ml-test", "ml-prod"))
    in_test = _account_total(example_estimate, test, "model endpoints")
    assert 0 < in_test < _account_total(example_estimate, prod, "model endpoints")


def test_every_customer_managed_key_costs_a_month(org, example_estimate):
    keys = sum(
        1
        for template in org.templates.values()
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::KMS::Key"
    )
    total = sum(categories.get("keys", 0.0) for categories in example_estimate.by_account().values())
    assert total == pytest.approx(keys * price_table().prices["kms-key-month"])


def test_an_instance_type_without_a_price_is_named_not_counted_free(org):
    table = price_table()
    without_c5 = dataclasses.replace(
        table, instance_hour={key: value for key, value in table.instance_hour.items() if key != "ml.c5.large"}
    )
    result = estimate(CloudAssembly.read(org.directory), without_c5)
    assert any("acme-churn-predictor" in item and "ml.c5.large" in item for item in result.unpriced)
    assert not any("ml.c5.large" in charge.what for charge in result.charges)
    assert "Not priced (no price in the table):" in render(result, {})


def test_the_summary_names_accounts_its_prices_and_what_it_leaves_out(org, example_estimate):
    names = {account.id: name for name, account in org.config.accounts.items()}
    text = render(example_estimate, names)
    table = price_table()
    assert table.region in text and table.recorded in text
    assert "Leaves out: usage" in text
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("account"))
    assert all(category in header for category in CATEGORIES)
    rows = {line.split("  ")[0].strip() for line in lines[lines.index(header) + 2 :] if "  " in line}
    assert set(names.values()) | {"all accounts"} <= rows
