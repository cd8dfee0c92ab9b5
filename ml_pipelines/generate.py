"""Writes the pipeline templates of ml_pipelines/definitions/ with the sagemaker SDK.

Run it with `make pipelines`, in a virtual environment of its own: the SDK weighs about 1 GB,
so neither the CDK app nor any Lambda bundle imports it. It builds AWS clients as it imports,
so the Makefile gives it a region and dummy credentials, and turns off its IAM role checks;
it calls no AWS API. `make pipelines-check` regenerates the templates and fails if the
committed ones differ, so the SDK stays the source of truth.

- model-build-*.json: ml_pipelines/model_build.py, and the Clarify checks' analysis configs
  as the SDK writes them (clarify-analysis-configs.json, the reference of the preprocess
  step's);
- batch-transform.json: ml_pipelines/batch_transform.py;
- images.json: the scikit-learn, Model Monitor and Clarify images of every region, from the
  SDK's own tables.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from sagemaker.core import image_uris

from ml_pipelines import batch_transform, model_build
from ml_pipelines.contract import DIRECTIONS
from ml_pipelines.templates import BATCH_TEMPLATE, CLARIFY_REFERENCE, IMAGES_FILE, TEMPLATE_DIR, template_file

SKLEARN_VERSION = "1.9-0"


def images() -> dict[str, dict[str, str]]:
    """Per region, from the SDK's own tables: the scikit-learn image (training, processing and
    serving alike), Model Monitor's analyzer, and Clarify (bias and explainability monitoring)."""
    sklearn = image_uris.config_for_framework("sklearn")["training"]["versions"][SKLEARN_VERSION]["registries"]
    monitor = image_uris.config_for_framework("model-monitor")["versions"][""]["registries"]
    clarify = image_uris.config_for_framework("clarify")["processing"]["versions"]["1.0"]["registries"]
    return {
        "sklearn": {
            region: image_uris.retrieve(
                "sklearn", region, version=SKLEARN_VERSION, image_scope="training", instance_type="ml.m5.large"
            )
            for region in sorted(sklearn)
        },
        "model-monitor": {region: image_uris.retrieve("model-monitor", region) for region in sorted(monitor)},
        "clarify": {region: image_uris.retrieve("clarify", region) for region in sorted(clarify)},
    }


def _text(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def render() -> dict[str, str]:
    """Every template file's name and its text."""
    files = {}
    for direction in DIRECTIONS:
        for tuned in (False, True):
            for bias in (False, True):
                pipeline, analysis_configs = model_build.build(direction, tuned, bias)
                files[template_file(direction, tuned, bias)] = _text(
                    model_build.completed(json.loads(pipeline.definition()))
                )
                if analysis_configs is not None:
                    files[CLARIFY_REFERENCE] = _text(analysis_configs)
    files[BATCH_TEMPLATE] = _text(batch_transform.definition())
    files[IMAGES_FILE] = _text(images())
    return files


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the committed templates differ")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = TEMPLATE_DIR / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        raise SystemExit(f"stale pipeline templates, run `make pipelines`: {', '.join(stale)}")


if __name__ == "__main__":
    main()
