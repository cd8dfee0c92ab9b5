"""Released Service Catalog product templates: which releases a product has, and whether its
template still is the one its current release shipped.

A provisioning artifact (a product version) must never change under its name: a provisioned
product updated to "the same" version would get another template. So each release's template
is committed, one folder per product (`<releases>/<organization>/<product>/<release>.template.json`),
and a product whose synthesized template differs from its latest release is an error until
someone releases it (tools.release_products): the new release becomes current, the earlier ones
stay available to the products provisioned from them.

Every product template carries its folder in its metadata (`PRODUCT_METADATA`), so the check
and the release tool find a product in any cloud assembly without knowing the construct tree.
This module imports no CDK: the release tool reads templates only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIRST_RELEASE = "release-1.0"
PRODUCT_METADATA = "PlatformProduct"
"""Template metadata key: the product's folder under the releases directory (`<org>/<product>`)."""
_RELEASE_FILE = re.compile(r"^release-(\d+)\.(\d+)\.template\.json$")


@dataclass(frozen=True)
class Release:
    name: str
    template: Path


class ReleaseHistory:
    """The committed releases of one product, oldest first."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        found = []
        for path in directory.glob("release-*.template.json") if directory.is_dir() else ():
            match = _RELEASE_FILE.match(path.name)
            if match:
                found.append(((int(match[1]), int(match[2])), Release(path.name.removesuffix(".template.json"), path)))
        self.releases = [release for _, release in sorted(found)]

    @property
    def latest(self) -> Release | None:
        return self.releases[-1] if self.releases else None

    @property
    def current_name(self) -> str:
        """The name the synthesized template ships under: the latest release's (a template that
        differs from it is refused by `changed_products`), or the first release's."""
        return self.latest.name if self.latest else FIRST_RELEASE

    @property
    def earlier(self) -> list[Release]:
        """Releases before the latest, which stay available to the products provisioned from them."""
        return self.releases[:-1]

    def next_name(self) -> str:
        if self.latest is None:
            return FIRST_RELEASE
        major, minor = (int(part) for part in self.latest.name.removeprefix("release-").split("."))
        return f"release-{major}.{minor + 1}"

    def release(self, template: dict[str, Any]) -> Release:
        """Commit `template` as the next release (the caller checked that it changed)."""
        name = self.next_name()
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{name}.template.json"
        path.write_text(json.dumps(template, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        self.releases.append(Release(name, path))
        return Release(name, path)

    def is_current(self, template: dict[str, Any]) -> bool:
        latest = self.latest
        return latest is not None and json.loads(latest.template.read_text(encoding="utf-8")) == template


@dataclass(frozen=True)
class SynthesizedProduct:
    """A product template of a cloud assembly, with the folder of its releases."""

    folder: str
    template: dict[str, Any]
    path: Path

    def history(self, releases: Path) -> ReleaseHistory:
        return ReleaseHistory(releases / self.folder)


def synthesized_products(assembly: Path) -> list[SynthesizedProduct]:
    """Every product template of the assembly that names its releases folder (once per
    folder: a product synthesized in several stages is the same product)."""
    found: dict[str, SynthesizedProduct] = {}
    for path in sorted(assembly.rglob("*.product.template.json")):
        template = json.loads(path.read_text(encoding="utf-8"))
        folder = template.get("Metadata", {}).get(PRODUCT_METADATA)
        if isinstance(folder, str):
            found.setdefault(folder, SynthesizedProduct(folder, template, path))
    return list(found.values())


def changed_products(assembly: Path, releases: Path) -> list[str]:
    """One line per product whose template differs from its latest release."""
    return [
        f"{product.folder}: the template differs from its release {history.current_name} "
        f"({history.latest.template if history.latest else ''}); a release never changes, so revert the "
        f"change or release it as {history.next_name()} with `make release-products` (earlier releases "
        "stay available to the products provisioned from them)"
        for product in synthesized_products(assembly)
        if (history := product.history(releases)).latest is not None and not history.is_current(product.template)
    ]


def unreleased_products(assembly: Path, releases: Path) -> list[str]:
    """The folders of products that have no release yet."""
    return [product.folder for product in synthesized_products(assembly) if product.history(releases).latest is None]


def release_changed_products(assembly: Path, releases: Path) -> list[tuple[str, Release]]:
    """Release every product whose template is not its latest release's (or that has none)."""
    return [
        (product.folder, history.release(product.template))
        for product in synthesized_products(assembly)
        if not (history := product.history(releases)).is_current(product.template)
    ]
