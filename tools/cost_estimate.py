"""The fixed monthly cost of a synthesized organization, per account, before anyone uses it.

Read from the cloud assembly (what would be deployed) and priced from a committed table
(tools/data/prices.json: its region, the date it was recorded, a source per price): interface
VPC endpoints per availability zone, model endpoint instances at their floor (the scalable
target's minimum, following its scheduled actions through the week, e.g. non-production
endpoints outside working hours), customer managed keys, alarms and dashboards, WAF web ACLs
and their rules, health checks, V1 pipelines and advanced parameters. What the estimate leaves
out (usage, jobs, Studio apps, capacity above the floor) is listed with it, and an instance
type the table has no price for is named, never priced as zero.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from proofs.assembly import CloudAssembly, Resource, Stack
from proofs.resolve import Resolver

PRICES = Path(__file__).parent / "data" / "prices.json"
HOURS_PER_WEEK = 7 * 24
WIDTH = 100
DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
# The scheduled actions the platform writes: at minute M of hour H on the named days.
WEEKLY_CRON = re.compile(r"^cron\((?P<minute>\d{1,2}) (?P<hour>\d{1,2}) \? \* (?P<days>[A-Z,*-]+) \*\)$")


@dataclass(frozen=True)
class PriceTable:
    region: str
    recorded: str
    hours_per_month: float
    prices: Mapping[str, float]
    instance_hour: Mapping[str, float]
    leaves_out: tuple[str, ...]


@cache
def price_table(path: Path = PRICES) -> PriceTable:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return PriceTable(
        region=data["region"],
        recorded=data["recorded"],
        hours_per_month=data["hours_per_month"],
        prices={key: price["usd"] for key, price in data["prices"].items()},
        instance_hour=data["sagemaker_hosting_instance_hour"]["usd"],
        leaves_out=tuple(data["leaves_out"]),
    )


@dataclass(frozen=True)
class Charge:
    """One priced item of one account: `quantity` units a month at `unit_usd` each."""

    account: str
    category: str
    what: str
    quantity: float
    unit_usd: float

    @property
    def monthly_usd(self) -> float:
        return self.quantity * self.unit_usd


@dataclass(frozen=True)
class Estimate:
    table: PriceTable
    charges: tuple[Charge, ...]
    unpriced: tuple[str, ...]
    """What runs all the time but has no price in the table, by account and resource."""

    def by_account(self) -> dict[str, dict[str, float]]:
        """Monthly USD per account and category, accounts in the assembly's order."""
        totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for charge in self.charges:
            totals[charge.account][charge.category] += charge.monthly_usd
        return {account: dict(categories) for account, categories in totals.items()}


CATEGORIES = ("VPC endpoints", "model endpoints", "keys", "alarms, dashboards", "WAF, health checks", "other")


def estimate(assembly: CloudAssembly, table: PriceTable | None = None) -> Estimate:
    table = table or price_table()
    resolver = Resolver(assembly)
    charges: list[Charge] = []
    unpriced: list[str] = []
    for stack in assembly.stacks:
        for item in _stack_charges(stack, resolver, table):
            if isinstance(item, Charge):
                charges.append(item)
            else:
                unpriced.append(item)
    return Estimate(table, tuple(charges), tuple(unpriced))


def _stack_charges(stack: Stack, resolver: Resolver, table: PriceTable) -> Iterator[Charge | str]:
    account, prices, month = stack.account, table.prices, table.hours_per_month
    for endpoint in stack.resources("AWS::EC2::VPCEndpoint"):
        if endpoint.properties.get("VpcEndpointType") == "Interface":
            zones = len(endpoint.properties.get("SubnetIds", [])) or 1
            hours = zones * month
            charges = prices["vpc-interface-endpoint-hour"]
            yield Charge(
                account, "VPC endpoints", f"{_service(stack, resolver, endpoint)} in {zones} AZs", hours, charges
            )
    yield from _counted(stack, "AWS::KMS::Key", account, "keys", prices["kms-key-month"])
    for alarm in stack.resources("AWS::CloudWatch::Alarm"):
        metrics = sum(1 for metric in alarm.properties.get("Metrics", []) if "MetricStat" in metric) or 1
        yield Charge(account, "alarms, dashboards", alarm.path, metrics, prices["cloudwatch-alarm-metric-month"])
    yield from _counted(
        stack,
        "AWS::CloudWatch::CompositeAlarm",
        account,
        "alarms, dashboards",
        prices["cloudwatch-composite-alarm-month"],
    )
    yield from _counted(
        stack, "AWS::CloudWatch::Dashboard", account, "alarms, dashboards", prices["cloudwatch-dashboard-month"]
    )
    for acl in stack.resources("AWS::WAFv2::WebACL"):
        yield Charge(account, "WAF, health checks", acl.path, 1, prices["waf-web-acl-month"])
        rules = len(acl.properties.get("Rules", []))
        yield Charge(account, "WAF, health checks", f"{acl.path} rules", rules, prices["waf-rule-month"])
    yield from _counted(
        stack, "AWS::Route53::HealthCheck", account, "WAF, health checks", prices["route53-health-check-month"]
    )
    for pipeline in stack.resources("AWS::CodePipeline::Pipeline"):
        if pipeline.properties.get("PipelineType", "V1") == "V1":
            yield Charge(account, "other", pipeline.path, 1, prices["codepipeline-v1-month"])
    for parameter in stack.resources("AWS::SSM::Parameter"):
        if parameter.properties.get("Tier") == "Advanced":
            yield Charge(account, "other", parameter.path, 1, prices["ssm-advanced-parameter-month"])
    yield from _endpoint_instances(stack, resolver, table)


def _counted(stack: Stack, resource_type: str, account: str, category: str, unit_usd: float) -> Iterator[Charge]:
    for resource in stack.resources(resource_type):
        yield Charge(account, category, resource.path, 1, unit_usd)


def _service(stack: Stack, resolver: Resolver, endpoint: Resource) -> str:
    service = resolver.resolve(stack, endpoint.properties.get("ServiceName"))
    return str(service).rsplit(".", 1)[-1] if isinstance(service, str) else endpoint.path


def _endpoint_instances(stack: Stack, resolver: Resolver, table: PriceTable) -> Iterator[Charge | str]:
    targets = {
        str(target.get("ResourceId")): target
        for target in (
            resolver.resolve(stack, resource.properties)
            for resource in stack.resources("AWS::ApplicationAutoScaling::ScalableTarget")
        )
        if target.get("ServiceNamespace") == "sagemaker"
    }
    for endpoint in stack.resources("AWS::SageMaker::Endpoint"):
        config_id = _ref(endpoint.properties.get("EndpointConfigName"))
        if config_id is None:
            yield f"{stack.account}: {endpoint.path}: its endpoint config is not in its stack"
            continue
        config = resolver.resolve(stack, stack.resource(config_id).properties)
        name = resolver.resolve(stack, endpoint.properties.get("EndpointName"))
        for variant in config.get("ProductionVariants", []):
            label = f"{name} variant {variant.get('VariantName')}"
            instance_type = variant.get("InstanceType")
            if instance_type is None:  # serverless: paid per request
                continue
            price = table.instance_hour.get(instance_type)
            if price is None:
                yield f"{stack.account}: {label}: no price for {instance_type} in {PRICES.name}"
                continue
            target = targets.get(f"endpoint/{name}/variant/{variant.get('VariantName')}")
            weekly = (
                weekly_floor_hours(target["MinCapacity"], target.get("ScheduledActions", []))
                if target is not None
                else variant["InitialInstanceCount"] * HOURS_PER_WEEK
            )
            hours = weekly * table.hours_per_month / HOURS_PER_WEEK
            yield Charge(stack.account, "model endpoints", f"{label} ({instance_type})", hours, price)


def _ref(value: Any) -> str | None:
    if isinstance(value, Mapping) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, Mapping) and "Ref" in value:
        return str(value["Ref"])
    return None


def weekly_floor_hours(min_capacity: int, scheduled_actions: Sequence[Mapping[str, Any]]) -> float:
    """Instance hours a week at the scalable target's minimum, which each scheduled action
    resets when it runs; a schedule of another form than the platform writes is not followed
    (the minimum then holds all week)."""
    changes: list[tuple[float, int]] = []
    for action in scheduled_actions:
        match = WEEKLY_CRON.match(str(action.get("Schedule", "")))
        minimum = action.get("ScalableTargetAction", {}).get("MinCapacity")
        days = _days(match["days"]) if match else None
        if match is None or days is None or not isinstance(minimum, int):
            return float(min_capacity * HOURS_PER_WEEK)
        at = int(match["hour"]) + int(match["minute"]) / 60
        changes += [(day * 24 + at, minimum) for day in days]
    if not changes:
        return float(min_capacity * HOURS_PER_WEEK)
    changes.sort()
    # Each minimum holds from its action to the next; the week's last wraps to its first.
    ends = [start for start, _ in changes[1:]] + [changes[0][0] + HOURS_PER_WEEK]
    return sum((end - start) * minimum for (start, minimum), end in zip(changes, ends, strict=True))


def _days(field: str) -> list[int] | None:
    if field == "*":
        return list(range(7))
    days: list[int] = []
    for part in field.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            return None
        start, end = DAYS.index(first), DAYS.index(last or first)
        if end < start:
            return None
        days += range(start, end + 1)
    return days


def render(result: Estimate, names: Mapping[str, str]) -> str:
    """A table of monthly USD per account (named by `names`, account id to name) and category."""
    table = result.table
    totals = result.by_account()
    header: tuple[str, ...] = ("account", *CATEGORIES, "total")
    rows = [header]
    for account, categories in totals.items():
        cells = [categories.get(category, 0.0) for category in CATEGORIES]
        rows.append((names.get(account, account), *(_usd(cell) for cell in cells), _usd(sum(cells))))
    overall = [sum(categories.get(category, 0.0) for categories in totals.values()) for category in CATEGORIES]
    rows.append(("all accounts", *(_usd(cell) for cell in overall), _usd(sum(overall))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = textwrap.wrap(
        f"Estimated fixed cost per month, in USD, at the on-demand list prices of {table.region} recorded "
        f"{table.recorded} (tools/data/prices.json) for every region:",
        WIDTH,
    )
    for row in rows:
        lines.append(
            "  ".join(_cell(cell, width, first=i == 0) for i, (cell, width) in enumerate(zip(row, widths, strict=True)))
        )
        if row is header:
            lines.append("  ".join("-" * width for width in widths))
    lines += [f"Not priced (no price in the table): {item}" for item in result.unpriced]
    lines += textwrap.wrap("Leaves out: " + "; ".join(table.leaves_out) + ".", WIDTH)
    return "\n".join(lines)


def _cell(text: str, width: int, first: bool) -> str:
    return text.ljust(width) if first else text.rjust(width)


def _usd(value: float) -> str:
    return f"{value:,.0f}"
