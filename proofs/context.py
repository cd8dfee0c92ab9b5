"""What every proof reads: the cloud assembly, its resolver, and the organization's config.

Built once per preflight or flow run; proofs take it and return findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from proofs.assembly import CloudAssembly, Environment
from proofs.resolve import Resolver
from stacks.config import OrgConfig


@dataclass(frozen=True)
class ProofContext:
    assembly: CloudAssembly
    config: OrgConfig

    @classmethod
    def read(cls, directory: Path, config: OrgConfig) -> ProofContext:
        return cls(CloudAssembly.read(directory), config)

    @cached_property
    def resolver(self) -> Resolver:
        return Resolver(self.assembly)

    def account_name(self, account_id: str) -> str:
        """The config's name of an account (its id if the config names no such account)."""
        return next((name for name, account in self.config.accounts.items() if account.id == account_id), account_id)

    def where(self, environment: Environment) -> str:
        return f"{self.account_name(environment.account)} {environment}"
