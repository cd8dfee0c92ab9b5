"""Which stages each account gets, and the order they deploy in.

Kept free of aws_cdk: the deploy-commands tool reads it without starting the CDK runtime,
and stacks.stages builds the stages it names. The waves are what CDK's pipeline will run
too: a stage deploys after every stage of earlier waves; stages of one wave run in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass

from stacks.config.models import OrgConfig, Role

BASELINE = "Baseline"

ROLE_PURPOSES: dict[Role, tuple[str, ...]] = {
    Role.MANAGEMENT: ("Organization", "Catalog", "Placement", "Trail"),
    Role.LOG_ARCHIVE: ("Archive",),
    Role.SHARED_SERVICES: ("Tooling", "Toolchain"),
    Role.DATA: ("Data",),
    Role.ML_DEV: ("Development",),
    Role.ML_TEST: ("Serving", "Endpoints"),
    Role.ML_PROD: ("Serving", "Endpoints"),
}
"""The stages a role adds to its account, besides the baseline every account gets."""

WAVES: dict[str, int] = {
    "Organization": 1,  # may create the member accounts the baselines deploy into
    BASELINE: 2,
    "Archive": 3,
    "Tooling": 3,
    # Deployed once by hand; from then on the pipeline updates itself. After the tooling: its
    # pipeline's artifact stores in the recovery regions are the tooling's replication buckets,
    # which CodePipeline checks exist when it creates the pipeline.
    "Toolchain": 4,
    "Data": 3,
    "Development": 3,
    "Serving": 3,
    "Catalog": 3,  # reads the OU ids the organization published; runs on the baseline
    "Placement": 3,  # moves existing accounts into those OUs; runs on the baseline too
    "Trail": 4,  # CloudTrail checks its archive bucket and key when the trail is created
    "Endpoints": 5,
}

AFTER_IN_ACCOUNT: dict[str, tuple[str, ...]] = {
    # Where products launch in the management account too, its own SelfService stack (in its
    # Development or Data stage) creates the launch roles the catalog's constraints name.
    "Catalog": ("Development", "Data"),
}
"""Stages that deploy after these stages of the same account, where it has them."""

MODEL_DEPLOYED = frozenset({"Endpoints"})
"""Stages that each model's deployment pipeline (shared-services) deploys, with the approved
model package as a stack parameter; the platform's own waves leave them out."""
RECOVERY_WAVES: dict[str, int] = {
    BASELINE: WAVES[BASELINE],
    # After the primary region's serving stage: IAM names are global, and the recovery region's
    # serving stack attaches its policy to the model execution role that stage creates.
    "Serving": WAVES["Serving"] + 1,
    "Endpoints": WAVES["Endpoints"],
}
RECOVERY_PURPOSES = tuple(RECOVERY_WAVES)
"""What a production account also deploys in each recovery region of its endpoints; the
shared-services account gets a baseline there too (its pipelines' replication buckets log
to its access-log bucket)."""


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in text.split("-"))


def stage_id(account_name: str, purpose: str, region: str | None = None) -> str:
    """`ml-prod` + `Baseline` -> `MlProdBaseline`; in a recovery region `eu-central-1`,
    `MlProdEuCentral1Baseline`."""
    return _camel(account_name) + (_camel(region) if region else "") + purpose


@dataclass(frozen=True, order=True)
class PlannedStage:
    wave: int
    stage_id: str
    account_name: str
    purpose: str
    recovery_region: str | None = None
    """None: the account's own region."""


def planned_stages(config: OrgConfig) -> list[PlannedStage]:
    """Every stage of the organization, in deployment order."""
    planned = []
    serving = config.serving_accounts()
    for name, account in config.accounts.items():
        # Roles of one account may add the same stage (ml-test and ml-prod both serve): once.
        purposes = list(dict.fromkeys([BASELINE, *(p for role in account.roles for p in ROLE_PURPOSES.get(role, ()))]))
        if config.feature_store is None or config.feature_store.account != name:
            purposes = [purpose for purpose in purposes if purpose != "Data"]  # nothing to deploy there
        if config.delivery is None or _single_account(config):
            # No repository to build; or nothing to deploy: a single account is the management
            # account, whose stages its administrators deploy (management_stages).
            purposes = [purpose for purpose in purposes if purpose != "Toolchain"]
        if config.self_service is None:
            purposes = [purpose for purpose in purposes if purpose != "Catalog"]
        if not config.landing_zone.move_accounts or not config.member_ous():
            purposes = [purpose for purpose in purposes if purpose != "Placement"]  # no account to move
        if config.landing_zone.trail.existing_arn is not None:
            # The organization adopts its trail, which writes to an archive of its own.
            purposes = [purpose for purpose in purposes if purpose not in ("Trail", "Archive")]
        if name not in serving:
            purposes = [purpose for purpose in purposes if purpose not in ("Serving", "Endpoints")]
        planned += [
            PlannedStage(_wave(purpose, purposes), stage_id(name, purpose), name, purpose) for purpose in purposes
        ]
        recovery: list[tuple[str, tuple[str, ...]]] = [
            (region, RECOVERY_PURPOSES) for region in config.recovery_regions_of(name)
        ]
        if Role.SHARED_SERVICES in account.roles:
            recovery += [(region, (BASELINE,)) for region in config.recovery_regions()]
        planned += [
            PlannedStage(RECOVERY_WAVES[purpose], stage_id(name, purpose, region), name, purpose, region)
            for region, recovery_purposes in recovery
            for purpose in recovery_purposes
        ]
    return sorted(planned)


def _wave(purpose: str, purposes: list[str]) -> int:
    """The stage's wave in an account of `purposes` (AFTER_IN_ACCOUNT)."""
    after = [WAVES[earlier] + 1 for earlier in AFTER_IN_ACCOUNT.get(purpose, ()) if earlier in purposes]
    return max([WAVES[purpose], *after])


def _single_account(config: OrgConfig) -> bool:
    """A sandbox of one account, which is then the management account (the rules require one)."""
    return len(config.accounts) == 1


def platform_stages(config: OrgConfig) -> list[PlannedStage]:
    """The stages the platform deploys itself (`cdk deploy` by wave, or its pipeline)."""
    return [planned for planned in planned_stages(config) if planned.purpose not in MODEL_DEPLOYED]


def management_stages(config: OrgConfig) -> list[PlannedStage]:
    """The platform's stages in the management account. They change the organization (its
    OUs, SCPs, Identity Center, trail, catalog, where accounts are), so they are deployed from
    the management account by its administrators, never by the pipeline in shared-services:
    whoever controlled that account would otherwise control the organization."""
    management = {name for name, account in config.accounts.items() if Role.MANAGEMENT in account.roles}
    return [planned for planned in platform_stages(config) if planned.account_name in management]


def pipeline_stages(config: OrgConfig) -> list[PlannedStage]:
    """What the platform's pipeline deploys: every platform stage but the management account's
    and its own (the pipeline updates itself)."""
    excluded = set(management_stages(config))
    return [p for p in platform_stages(config) if p not in excluded and p.purpose != "Toolchain"]
