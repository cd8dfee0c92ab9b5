"""Print, per account, the quota increases to request before the first deploy.

    python -m tools.quotas [config.yaml] [cdk.out]        (make quotas, after make synth)

Every need of the quotas proof (proofs.quotas) that a new account's value does not cover, or
may not, and that the config does not state as granted (accounts.<name>.quotas): service code,
quota code, quota name, the value to ask for, and the `aws service-quotas` command that asks
for it, to run with the account's credentials. No AWS calls, no credentials.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from proofs.assembly import Environment
from proofs.context import ProofContext
from proofs.quotas import Quota, count, shortfalls
from stacks.config import ConfigError, load_config


@dataclass(frozen=True)
class Request:
    environment: Environment
    quota: Quota
    value: int


def requests(context: ProofContext) -> list[Request]:
    """One request per account, region and quota: the most any of its needs (a quota per VPC
    applies to every VPC of the region) asks for, in the config's order of accounts."""
    needs, _ = count(context)
    wanted: dict[tuple[Environment, Quota], int] = {}
    for shortfall in shortfalls(context.config, needs):
        key = (shortfall.need.environment, shortfall.need.quota)
        wanted[key] = max(wanted.get(key, 0), shortfall.need.peak)
    order = [account.id for account in context.config.accounts.values()]
    return sorted(
        (Request(environment, quota, value) for (environment, quota), value in wanted.items()),
        key=lambda request: (
            order.index(request.environment.account) if request.environment.account in order else len(order),
            request.environment,
            request.quota,
        ),
    )


def command(request: Request) -> str:
    """The request as an AWS CLI command; a code the table does not hold is looked up by name."""
    region, quota = request.environment.region, request.quota
    code = quota.code or (
        f'"$(aws service-quotas list-aws-default-service-quotas --region {region} '
        f"--service-code {quota.service_code} --query \"Quotas[?QuotaName=='{quota.name}'].QuotaCode\" "
        '--output text)"'
    )
    return (
        f"aws service-quotas request-service-quota-increase --region {region} "
        f"--service-code {quota.service_code} --quota-code {code} --desired-value {request.value}"
    )


def render(context: ProofContext, found: list[Request]) -> str:
    if not found:
        return "No quota increases to request: every account's needs fit a new account's quotas or the granted ones."
    lines = [
        "Quota increases to request before the first deploy, with each account's credentials. Once granted,",
        "state them under accounts.<name>.quotas so that the preflight checks against them.",
    ]
    for environment, group in groupby(found, key=lambda request: request.environment):
        lines += ["", context.where(environment)]
        for request in group:
            quota = request.quota
            lines.append(f"  {quota.service_code} {quota.code or '(code by name)'} {quota.name}: {request.value}")
            lines.append(f"    {command(request)}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    config_path = Path(argv[1] if len(argv) > 1 else "config/example.yaml")
    assembly = Path(argv[2] if len(argv) > 2 else "cdk.out")
    try:
        config = load_config(config_path)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not (assembly / "manifest.json").is_file():
        print(f"error: no cloud assembly in {assembly}: run make synth CONFIG={config_path} first", file=sys.stderr)
        return 1
    context = ProofContext.read(assembly, config)
    print(render(context, requests(context)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
