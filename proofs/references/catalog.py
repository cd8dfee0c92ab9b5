"""Service Catalog and StackSet templates: what they name where they launch.

- A launch constraint's `LocalRoleName` must exist in the hub, which creates the constraint
  (judged with the hub's other references), and in every account the portfolio is shared with
  where the product launches: the account shares (AWS::ServiceCatalog::PortfolioShare) and
  the OUs and accounts the platform shares it with (Custom::PortfolioOrganizationShare,
  lambda/catalog_setup; an OU share reaches the OU's child OUs too), read from the organization
  stack and the config. There the product's SSM parameter types must be published, too: they
  are resolved when the product is launched.
- Products and StackSet templates must not name the hub account: they run in other accounts.
  Only an ARN the config gives of a resource the hub owns and shares may (a CodeConnections
  connection, shared through AWS RAM, when shared-services is the hub), and anything may in a
  single-account organization, where they run in the hub.

A portfolio is shared whole, so an account may list a product that does not launch there;
`LAUNCH_SCOPES` says, with reasons, which products launch only in accounts of which roles.
Who may use a product where it is shared (`portfolio_access`) is what the flow proofs read as
the product's resource-based policy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_constructs.product_releases import PRODUCT_METADATA
from proofs.assembly import Environment, Stack
from proofs.context import ProofContext
from proofs.findings import Finding, Verdict
from proofs.iam import ResourcePolicy, ResourcePolicyKind
from proofs.organization import organization_view
from proofs.references.collect import SSM_PARAMETER_TYPE, Kind, Position, Reference
from proofs.references.rules import PROOF, Rule
from stacks.config import Role

ORGANIZATION_SHARE = "Custom::PortfolioOrganizationShare"


@dataclass(frozen=True)
class LaunchScope:
    """Products that launch only in accounts of some roles, though others list them."""

    products: tuple[str, ...]
    """Product names, as the releases name them (`<organization>/<product>`, the last part)."""
    roles: tuple[Role, ...]
    reason: str


LAUNCH_SCOPES: tuple[LaunchScope, ...] = (
    LaunchScope(
        ("mlops-project", "studio-user", "notebook"),
        (Role.ML_DEV,),
        "The development products launch in ml-dev accounts, into their Studio domain, VPC and registry "
        "(docs/architecture.md, 'Self-service'). The portfolio is shared whole, so the data account lists them "
        "too; Service Catalog refuses their launch there at once (no launch role), and nothing is created.",
    ),
    LaunchScope(
        ("feature-group",),
        (Role.DATA,),
        "The feature group product launches in the data account, into the central Feature Store (its description "
        "says so; docs/architecture.md, 'Self-service'). ml-dev accounts list it too; Service Catalog refuses "
        "its launch there at once (no launch role), and nothing is created.",
    ),
)


@dataclass(frozen=True)
class Launch:
    """A product of a portfolio with a launch constraint, in one account it may launch in."""

    stack: Stack
    constraint: str
    """The launch constraint's logical id."""
    product: str
    role_name: str
    templates: tuple[Path, ...]
    account: str


def launches(context: ProofContext, stack: Stack, used: set[str]) -> tuple[list[Launch], list[Finding]]:
    """Every (product, account) that `stack`'s launch constraints reach, but the hub; the
    scopes that left one out are added to `used`."""
    found: list[Launch] = []
    findings: list[Finding] = []
    resolve = context.resolver.resolve
    for constraint in stack.resources("AWS::ServiceCatalog::LaunchRoleConstraint"):
        role_name = resolve(stack, constraint.properties.get("LocalRoleName"))
        if not isinstance(role_name, str):
            continue
        portfolio, product_id = (_ref(constraint.properties.get(key)) for key in ("PortfolioId", "ProductId"))
        product = stack.template.get("Resources", {}).get(product_id, {}) if product_id else {}
        templates = _product_templates(context, stack, product.get("Properties", {}))
        name = _product_name(templates) or product_id or constraint.logical_id
        accounts, unknown = _share_accounts(context, stack, portfolio)
        findings += [
            Finding(
                PROOF,
                context.where(stack.environment),
                f"{stack.display_name} {constraint.logical_id}",
                f"the portfolio is shared with OU {unit}, which no stack of the assembly creates: which accounts "
                "launch the product, and whether they hold its launch role, cannot be decided offline",
                str(Rule.LAUNCH_ROLE),
                "share with OUs of the organization stack",
                Verdict.UNDECIDED,
            )
            for unit in unknown
        ]
        for account in sorted(accounts - {stack.account}):
            scope = _scope_leaving_out(context, name, account)
            if scope is not None:
                used.add(", ".join(scope.products))
                continue
            found.append(Launch(stack, constraint.logical_id, name, role_name, templates, account))
    return found, findings


def launch_references(launch: Launch) -> Iterator[Reference]:
    """What a product needs in an account it launches in: its launch role, its parameters."""
    environment = Environment(launch.account, launch.stack.region)
    yield Reference(
        launch.stack,
        launch.constraint,
        Kind.ROLE,
        f"arn:aws:iam::{launch.account}:role/{launch.role_name}",
        environment,
        Position.LAUNCH,
        f"{launch.constraint}/LocalRoleName (product {launch.product})",
    )
    for template in launch.templates:
        parameters = json.loads(template.read_text(encoding="utf-8")).get("Parameters", {})
        for name, parameter in parameters.items():
            if str(parameter.get("Type", "")).startswith(SSM_PARAMETER_TYPE) and "Default" in parameter:
                yield Reference(
                    launch.stack,
                    launch.constraint,
                    Kind.PARAMETER,
                    str(parameter["Default"]),
                    environment,
                    Position.LAUNCH,
                    f"product {launch.product} template {template.name} Parameters/{name}",
                )


def hub_account_findings(context: ProofContext, stack: Stack) -> list[Finding]:
    """The templates `stack` publishes for other accounts that name `stack`'s account. In an
    organization of that one account (a sandbox), there is no other: they run where they name."""
    if all(account.id == stack.account for account in context.config.accounts.values()):
        return []
    findings = []
    shared = _shared_resources(context)
    for path in stack.asset_templates:
        text = path.read_text(encoding="utf-8")
        if stack.account not in text:
            continue
        places = list(_places(json.loads(text), stack.account, "", shared))
        if not places:
            continue
        kind = "StackSet" if path.name.endswith(".stackset.template.json") else "product"
        shown = "; ".join(places[:3]) + (f"; and {len(places) - 3} more" if len(places) > 3 else "")
        findings.append(
            Finding(
                PROOF,
                context.where(stack.environment),
                f"{stack.display_name} {kind} template {path.name}",
                f"names the hub account {stack.account} ({context.account_name(stack.account)}), which publishes "
                f"it, at {shown}",
                str(Rule.HUB_ACCOUNT),
                "build the template with AWS::AccountId (cdk.Aws.ACCOUNT_ID) for the account it runs in",
            )
        )
    return findings


def _shared_resources(context: ProofContext) -> set[str]:
    """The ARNs the config gives of resources shared with the accounts that launch products:
    they name the account that owns them wherever they are used."""
    config = context.config
    connections = (
        config.self_service.project_connection_arn if config.self_service else None,
        config.delivery.connection_arn if config.delivery else None,
    )
    return {arn for arn in connections if arn is not None}


def _places(value: Any, text: str, path: str, shared: set[str]) -> Iterator[str]:
    """Where `value` holds `text`, but in the `shared` ARNs."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _places(item, text, f"{path}/{key}", shared)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _places(item, text, f"{path}/{index}", shared)
    elif isinstance(value, str) and text in value and value not in shared:
        yield path.lstrip("/")


def portfolio_access(context: ProofContext) -> dict[str, ResourcePolicy]:
    """Who Service Catalog lets use each product, as the resource-based policy of its ARN: the
    principals whose ARN matches a principal name of a portfolio that holds it, in the hub or an
    account the portfolio is shared with ("Granting access to users", "Sharing portfolios",
    Service Catalog Administrator Guide). IAM must allow the request too, in the hub as in any
    other account (ResourcePolicyKind.PORTFOLIO_ACCESS)."""
    found: dict[str, ResourcePolicy] = {}
    resolve = context.resolver.resolve
    for stack in context.assembly.stacks:
        for association in stack.resources("AWS::ServiceCatalog::PortfolioProductAssociation"):
            portfolio, product = (_ref(association.properties.get(key)) for key in ("PortfolioId", "ProductId"))
            if portfolio is None or product is None:
                continue
            names = [
                str(resolve(stack, principal.properties.get("PrincipalARN"))).replace("iam:::", "iam::*:", 1)
                for principal in stack.resources("AWS::ServiceCatalog::PortfolioPrincipalAssociation")
                if _ref(principal.properties.get("PortfolioId")) == portfolio
            ]
            accounts, _ = _share_accounts(context, stack, portfolio)
            statement = {
                "Sid": "PortfolioPrincipals",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "servicecatalog:*",
                "Resource": "*",
                "Condition": {
                    "ArnLike": {"aws:PrincipalArn": names},
                    "StringEquals": {"aws:PrincipalAccount": sorted(accounts | {stack.account})},
                },
            }
            arn = str(context.resolver.identity(stack, product, "arn"))
            found[arn] = ResourcePolicy(
                f"portfolio {portfolio} of {stack.display_name}",
                {"Version": "2012-10-17", "Statement": [statement] if names else []},
                ResourcePolicyKind.PORTFOLIO_ACCESS,
            )
    return found


def _ref(value: Any) -> str | None:
    return value.get("Ref") if isinstance(value, Mapping) else None


def _product_templates(context: ProofContext, stack: Stack, product: Mapping[str, Any]) -> tuple[Path, ...]:
    """The templates of a product's versions, from their URLs (`.../<asset hash>.json`)."""
    found = []
    for version in product.get("ProvisioningArtifactParameters", []):
        url = context.resolver.resolve(stack, version.get("Info", {}).get("LoadTemplateFromURL"))
        template = stack.asset_template_hashes.get(str(url).rsplit("/", 1)[-1].removesuffix(".json"))
        if template is not None:
            found.append(template)
    return tuple(found)


def _product_name(templates: tuple[Path, ...]) -> str | None:
    for template in templates:
        folder = json.loads(template.read_text(encoding="utf-8")).get("Metadata", {}).get(PRODUCT_METADATA)
        if isinstance(folder, str):
            return folder.rsplit("/", 1)[-1]
    return None


def _scope_leaving_out(context: ProofContext, product: str, account: str) -> LaunchScope | None:
    roles = next((set(a.roles) for a in context.config.accounts.values() if a.id == account), set())
    return next(
        (scope for scope in LAUNCH_SCOPES if product in scope.products and not roles & set(scope.roles)),
        None,
    )


def _share_accounts(context: ProofContext, stack: Stack, portfolio: str | None) -> tuple[set[str], list[str]]:
    """The accounts the portfolio is shared with, and the OU ids the assembly does not create."""
    accounts: set[str] = set()
    unknown: list[str] = []
    for share in stack.resources("AWS::ServiceCatalog::PortfolioShare", ORGANIZATION_SHARE):
        if _ref(share.properties.get("PortfolioId")) != portfolio:
            continue
        if share.type != ORGANIZATION_SHARE:
            accounts.add(str(context.resolver.resolve(stack, share.properties.get("AccountId"))))
            continue
        accounts |= {str(a) for a in context.resolver.resolve(stack, share.properties.get("AccountIds", []))}
        for unit in context.resolver.resolve(stack, share.properties.get("OrganizationalUnitIds", [])):
            members = _unit_accounts(context, str(unit))
            if members is None:
                unknown.append(str(unit))
            else:
                accounts |= members
    return accounts, unknown


def _unit_accounts(context: ProofContext, unit_id: str) -> set[str] | None:
    """The config's accounts in the OU whose id (as the resolver names it) is `unit_id`, or in
    its child OUs; None if no stack of the assembly creates that OU."""
    view = organization_view(context)
    key_of = {logical_id: key for key, logical_id in view.unit_of_key.items()}
    keys = {
        key_of[resource.logical_id]
        for stack in context.assembly.stacks
        for resource in stack.resources("AWS::Organizations::OrganizationalUnit")
        if resource.logical_id in key_of and context.resolver.resolve(stack, {"Ref": resource.logical_id}) == unit_id
    }
    if not keys:
        return None
    units = context.config.landing_zone.organizational_units
    while True:
        children = {unit.key for unit in units if unit.parent in keys} - keys
        if not children:
            break
        keys |= children
    return {account.id for account in context.config.accounts.values() if context.config.ou_of(account) in keys}
