"""Spreading many config items (users, feature groups, models) over stacks, under
CloudFormation's limits per stack (500 resources, 1 MB of template).

An item's shard is a jump consistent hash of its name over as many shards as the item
count needs. Adding items never moves an item, except when the count crosses a multiple
of the shard capacity: then about one item in (shards + 1) moves to the new shard, and
that move (a delete in one stack, a create in another) needs two deploys, as docs/architecture.md ("Sharding")
explains. Within a shard, resources keep logical ids built from the item's name.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")


class Named(Protocol):
    @property
    def name(self) -> str: ...


M = TypeVar("M", bound=Named)

_MULTIPLIER = 2862933555777941757
_MASK = (1 << 64) - 1


def jump_hash(key: str, buckets: int) -> int:
    """Lamping and Veach's jump consistent hash of `key` over `buckets` buckets."""
    state = zlib.crc32(key.encode()) | (zlib.adler32(key.encode()) << 32)
    bucket, candidate = -1, 0
    while candidate < buckets:
        bucket = candidate
        state = (state * _MULTIPLIER + 1) & _MASK
        candidate = int((bucket + 1) * ((1 << 31) / ((state >> 33) + 1)))
    return bucket


def shard(items: Sequence[T], name: Callable[[T], str], capacity: int) -> list[list[T]]:
    """`items` in shards of about `capacity` each, in their original order within a shard."""
    count = max(1, math.ceil(len(items) / capacity))
    shards: list[list[T]] = [[] for _ in range(count)]
    for item in items:
        shards[jump_hash(name(item), count)].append(item)
    return shards


MODELS_PER_BUILD_STACK = 20
"""A model-build pipeline's definition is about 18 KB of a template's 1 MB: twenty models
leave room for the hash to place a few more in one shard than in another."""


def model_build_shards(models: Sequence[M]) -> list[list[M]]:
    """A team's models over its model-build stacks."""
    return shard(models, lambda model: model.name, MODELS_PER_BUILD_STACK)


MODELS_PER_DEPLOYMENT_STACK = 20
"""A model's deployment pipeline is about 15 resources (the pipeline, its roles and their
policies) of a stack's 500."""


def model_deployment_shards(models: Sequence[M]) -> list[list[M]]:
    """The models with endpoints over the shared-services model deployment stacks."""
    return shard(models, lambda model: model.name, MODELS_PER_DEPLOYMENT_STACK)


APIS_PER_STACK = 10
"""An inference API is about 28 resources (gateway, stage, WAF, function, logs, alarms) of a
stack's 500; the hash may put half as many again in one shard (15 of 31 at 12 a stack)."""


def inference_api_shards(endpoints: Sequence[M]) -> list[list[M]]:
    """A serving account's endpoints with APIs over its inference API stacks."""
    return shard(endpoints, lambda endpoint: endpoint.name, APIS_PER_STACK)
