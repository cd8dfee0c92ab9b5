"""Facts of the landing zone that more than one account's stacks must agree on, derived
from the config in one place (the trail lives in one account, its archive in another)."""

from __future__ import annotations

from ml_constructs.audit import ArchiveRetention, TrailIdentity
from ml_constructs.organization import UnitSpec
from stacks import naming
from stacks.config import OrgConfig, Role


def trail_identity(config: OrgConfig) -> TrailIdentity:
    org = config.organization.name
    _, management = config.account_with(Role.MANAGEMENT)
    _, archive = config.account_with(Role.LOG_ARCHIVE)
    archive_region = config.region_of(archive)
    return TrailIdentity(
        organization_id=config.landing_zone.organization_id,
        management_account_id=management.id,
        home_region=config.region_of(management),
        trail_name=naming.trail_name(org),
        bucket_name=naming.bucket_name(org, "organization-trail", archive.id, archive_region),
        key_alias_arn=f"arn:aws:kms:{archive_region}:{archive.id}:{naming.key_alias(org, 'organization-trail')}",
    )


def archive_retention(config: OrgConfig) -> ArchiveRetention:
    trail = config.landing_zone.trail
    return ArchiveRetention(
        object_lock_mode=trail.object_lock_mode,
        retention_days=trail.retention_days,
        archive_after_days=trail.archive_after_days,
        expire_after_days=trail.expire_after_days,
    )


def unit_specs(config: OrgConfig) -> list[UnitSpec]:
    return [UnitSpec(unit.key, unit.name, unit.parent, unit.id) for unit in config.landing_zone.organizational_units]
