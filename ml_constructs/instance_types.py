"""Facts about SageMaker instance types that templates and config checks depend on.

Kept free of aws_cdk: the config rules use it before the CDK runtime starts.
"""

from __future__ import annotations

LOCAL_STORAGE_FAMILIES = frozenset(
    {"c5d", "c6id", "g4dn", "g5", "g6", "g6e", "m5d", "m6id", "p3dn", "p4d", "p4de", "p5", "r5d", "r6id", "trn1"}
)
"""Families whose volumes are local NVMe instance storage, always encrypted by the hardware:
SageMaker takes no KMS key for them (an endpoint config's KmsKeyId fails)."""

VCPUS_BY_SIZE = {
    "medium": 2,
    "large": 2,
    "xlarge": 4,
    "2xlarge": 8,
    "4xlarge": 16,
    "8xlarge": 32,
    "9xlarge": 36,
    "12xlarge": 48,
    "16xlarge": 64,
    "18xlarge": 72,
    "24xlarge": 96,
    "32xlarge": 128,
    "48xlarge": 192,
}
"""vCPUs of an instance size; the same across the general-purpose, compute and memory families."""


def family(instance_type: str) -> str:
    """`ml.m5.large` -> `m5`."""
    return instance_type.split(".")[1]


def supports_volume_encryption(instance_type: str) -> bool:
    return family(instance_type) not in LOCAL_STORAGE_FAMILIES


def is_burstable(instance_type: str) -> bool:
    return family(instance_type).startswith("t")


def vcpus(instance_type: str) -> int:
    """SageMaker reports CPUUtilization summed over the cores (up to 100 per vCPU)."""
    return VCPUS_BY_SIZE.get(instance_type.split(".")[2], 2)
