"""AWS's published facts the config is checked against, as the pinned botocore ships them.

- Regions and their partitions: botocore's endpoint data (`partitions.json`, the partition
  metadata its endpoint resolution uses).
- SageMaker instance types by use: the enums of SageMaker's service model
  (`sagemaker/*/service-2.json`), for example `TrainingInstanceType`, the instance types
  CreateTrainingJob accepts.
- The longest schedule expression EventBridge Scheduler takes (its service model).

Everything is read through botocore's loader, once per process. A region or instance type AWS
launched after the pinned botocore (requirements.txt) is refused until botocore is upgraded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore
from botocore.loaders import Loader

BOTOCORE = f"botocore {botocore.__version__}"
"""Named in messages, so a refusal of something new says which data it came from."""


@cache
def _loader() -> Loader:
    return Loader()


@cache
def _service_shapes(service: str) -> dict[str, Any]:
    shapes: dict[str, Any] = _loader().load_service_model(service, "service-2")["shapes"]
    return shapes


@cache
def region_partitions() -> dict[str, str]:
    """Every region of every partition, mapped to its partition (`eu-west-1` -> `aws`)."""
    regions = {}
    for partition in _loader().load_data("partitions")["partitions"]:
        pattern = re.compile(partition["regionRegex"])
        # The data also lists pseudo-regions such as aws-global, which no stack can deploy to.
        regions.update({region: partition["id"] for region in partition["regions"] if pattern.fullmatch(region)})
    return regions


@dataclass(frozen=True)
class InstanceUse:
    """What SageMaker runs on an instance type, and the service-model enum of the types it takes."""

    shape: str
    purpose: str


TRAINING = InstanceUse("TrainingInstanceType", "training jobs")
PROCESSING = InstanceUse("ProcessingInstanceType", "processing jobs")
ENDPOINT = InstanceUse("ProductionVariantInstanceType", "endpoint variants")
TRANSFORM = InstanceUse("TransformInstanceType", "batch transform jobs")
STUDIO_APP = InstanceUse("AppInstanceType", "Studio apps")
NOTEBOOK = InstanceUse("InstanceType", "notebook instances")


@cache
def instance_types(use: InstanceUse) -> frozenset[str]:
    # The enums also hold non-instance values (AppInstanceType's `system`).
    return frozenset(value for value in _service_shapes("sagemaker")[use.shape]["enum"] if value.startswith("ml."))


@cache
def max_schedule_expression_length() -> int:
    """CreateSchedule's ScheduleExpression limit."""
    length: int = _service_shapes("scheduler")["ScheduleExpression"]["max"]
    return length
