"""Preprocess step: split the input table into train, validation and test sets.

Runs in a SageMaker processing container: reads every CSV under the input directory (a
header row, the label in the column named by --label), shuffles with a fixed seed, and
writes label-first, header-less CSVs to the three output directories. With --bias-facet,
it also writes Clarify's analysis configs to the clarify directory, one directory each: the
pipeline's checks' and the endpoint's bias and feature-attribution monitoring's (which the
package registers), with SHAP's baseline record computed from the train split.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

from ml_pipelines.contract import (
    ANALYSIS_CONFIG_FILE,
    LABEL_COLUMN,
    analysis_configs,
    csv_values,
    shap_baseline,
)

SPLITS = {"train": 0.7, "validation": 0.15, "test": 0.15}
BASELINE = "baseline"
"""Also written: the train split's features, the dataset Model Monitor's baseline is computed from."""
CLARIFY = "clarify"
"""The output directory of the Clarify analysis configs of this run (contract.CLARIFY_CONFIGS)."""


def read_rows(input_dir: Path, label: str) -> list[list[str]]:
    rows: list[list[str]] = []
    for path in sorted(input_dir.glob("*.csv")):
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            if label not in header:
                raise ValueError(f"{path}: no column named {label!r}")
            position = header.index(label)
            for row in reader:
                if row:
                    rows.append([row[position], *row[:position], *row[position + 1 :]])
    if not rows:
        raise ValueError(f"no rows in {input_dir}/*.csv")
    return rows


def split(rows: list[list[str]], seed: int) -> dict[str, list[list[str]]]:
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    train_end = int(len(shuffled) * SPLITS["train"])
    validation_end = train_end + int(len(shuffled) * SPLITS["validation"])
    return {
        "train": shuffled[:train_end],
        "validation": shuffled[train_end:validation_end],
        "test": shuffled[validation_end:],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", type=Path, default=Path("/opt/ml/processing/input"))
    parser.add_argument("--output", type=Path, default=Path("/opt/ml/processing"))
    parser.add_argument("--label", default="label")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--bias-facet", type=int, help="the sensitive feature's position among the features")
    parser.add_argument("--bias-facet-values", type=csv_values, help="its disadvantaged values, comma-separated")
    parser.add_argument("--bias-label-values", type=csv_values, help="the favourable labels, comma-separated")
    parser.add_argument("--bias-probability-threshold", type=float, default=0.5, help="predicts 1 from here")
    parser.add_argument("--shadow-instance-type", help="the instance Clarify serves the candidate model from")
    args = parser.parse_args(argv)
    assert LABEL_COLUMN == 0, "the rows below put the label first"
    splits = split(read_rows(args.input, args.label), args.seed)
    # The data-quality baseline describes what the endpoint receives: features only, no header,
    # so Model Monitor names the baseline's columns as it names the captured ones (_c0, _c1, ...).
    splits[BASELINE] = [row[1:] for row in splits["train"]]
    for name, rows in splits.items():
        directory = args.output / name
        directory.mkdir(parents=True, exist_ok=True)
        with (directory / f"{name}.csv").open("w", newline="") as handle:
            csv.writer(handle).writerows(rows)
    if args.bias_facet is not None:
        if args.bias_facet_values is None or args.bias_label_values is None or args.shadow_instance_type is None:
            parser.error("--bias-facet needs --bias-facet-values, --bias-label-values and --shadow-instance-type")
        configs = analysis_configs(
            facet_feature=args.bias_facet,
            facet_values=args.bias_facet_values,
            label_values=args.bias_label_values,
            probability_threshold=args.bias_probability_threshold,
            shadow_instance_type=args.shadow_instance_type,
            baseline=shap_baseline(splits[BASELINE]),
        )
        for name, config in configs.items():
            write_analysis_config(args.output / CLARIFY / name, config)


def write_analysis_config(directory: Path, config: dict[str, object]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / ANALYSIS_CONFIG_FILE).write_text(json.dumps(config, indent=2))


if __name__ == "__main__":
    main()
