"""The code the pipeline's containers run: the ml_pipelines package, as files and as an archive.

The CDK app uploads the archive as an asset (processing and training steps unpack it); the
train step copies the same files into the model, whose serving container may not fetch code
(network isolation).
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).parent
SERVING_ENTRY_POINT = "inference.py"
"""Top-level module of the serving container (SAGEMAKER_PROGRAM); a copy of steps/inference.py."""
SERVING_ENVIRONMENT = {"SAGEMAKER_PROGRAM": SERVING_ENTRY_POINT, "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
"""The serving container's environment the pipelines register with every model package."""

_BUILD_ONLY = {"model_build.py", "batch_transform.py", "generate.py"}
"""Run where the templates are made, never in a container."""


def package_files() -> Iterator[tuple[str, Path]]:
    """(path inside the archive, file) for every module the containers import, sorted."""
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] != "definitions" and relative.name not in _BUILD_ONLY:
            yield f"{PACKAGE.name}/{relative.as_posix()}", path


def write_archive(destination: Path) -> Path:
    """A gzipped tar of the package, byte for byte the same for the same sources (so the
    asset hash changes only when the code does)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, path in package_files():
            info = tarfile.TarInfo(name)
            data = path.read_bytes()
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    destination.parent.mkdir(parents=True, exist_ok=True)
    # GzipFile writes the same header on every Python (no name, mtime 0, OS "unknown");
    # gzip.compress takes zlib's header before 3.13 and its own since, so the bytes (and
    # the asset hash) would depend on the Python that synthesizes.
    with destination.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as archive:
        archive.write(buffer.getvalue())
    return destination


def copy_for_serving(code_dir: Path) -> None:
    """Put the package and the serving entry point where the model archive carries its code."""
    for name, path in package_files():
        target = code_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    (code_dir / SERVING_ENTRY_POINT).write_bytes((PACKAGE / "steps" / "inference.py").read_bytes())
