"""What every proof reads: the cloud assembly, its resolver, and the organization's config.

Built once per preflight or flow run; proofs take it and return findings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from proofs.assembly import CloudAssembly, Environment
from proofs.resolve import Resolver
from proofs.resource_policies import ResourceIndex
from stacks.config import OrgConfig

T = TypeVar("T")


@dataclass(frozen=True)
class ProofContext:
    assembly: CloudAssembly
    config: OrgConfig
    _computed: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def computed(self, name: str, compute: Callable[[ProofContext], T]) -> T:
        """What several proofs derive from the same inputs (each account's deploy
        requirements), computed once per run."""
        if name not in self._computed:
            self._computed[name] = compute(self)
        value: T = self._computed[name]
        return value

    @classmethod
    def read(cls, directory: Path, config: OrgConfig) -> ProofContext:
        return cls(CloudAssembly.read(directory), config)

    @cached_property
    def resolver(self) -> Resolver:
        return Resolver(self.assembly)

    @cached_property
    def index(self) -> ResourceIndex:
        return ResourceIndex(self.resolver)

    def account_name(self, account_id: str) -> str:
        """The config's name of an account (its id if the config names no such account)."""
        return next((name for name, account in self.config.accounts.items() if account.id == account_id), account_id)

    def where(self, environment: Environment) -> str:
        return f"{self.account_name(environment.account)} {environment}"
