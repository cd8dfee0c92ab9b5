"""Feature group store settings, shared by the platform's feature groups and the self-service
feature group product. The store configurations are JSON-typed in CloudFormation: plain
dicts with AWS's key names."""

from __future__ import annotations

from typing import Any


def online_store(key_arn: str, ttl_days: int | None = None) -> dict[str, Any]:
    """An online store encrypted with `key_arn`, its records expiring after `ttl_days`."""
    config: dict[str, Any] = {"EnableOnlineStore": True, "SecurityConfig": {"KmsKeyId": key_arn}}
    if ttl_days:
        config["TtlDuration"] = {"Unit": "Days", "Value": ttl_days}
    return config


def offline_store(s3_uri: str, key_arn: str, database: str, table: str) -> dict[str, Any]:
    """An Iceberg offline store under `s3_uri`, encrypted, catalogued as `database`.`table`."""
    return {
        "S3StorageConfig": {"S3Uri": s3_uri, "KmsKeyId": key_arn},
        "TableFormat": "Iceberg",
        "DataCatalogConfig": {"Catalog": "AwsDataCatalog", "Database": database, "TableName": table},
    }
