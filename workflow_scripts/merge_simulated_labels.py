"""Rule merge_simulated_labels: one label table (in the real table's columns) and one truth file per species."""

import json
from pathlib import Path

import pandas as pd

from patchseq_ml.logging_utils import rule_log, setup_logging


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    parts = [pd.read_csv(path, sep="\t", dtype=str) for path in snakemake.input.labels]
    labels = pd.concat(parts, ignore_index=True)
    labels.to_csv(snakemake.output.labels, index=False)
    truth = {}
    for path in snakemake.input.truth:
        truth.update(json.loads(Path(path).read_text()))
    Path(snakemake.output.truth).write_text(json.dumps(truth, sort_keys=True))
    log.info("%d labelled cells, %d simulated cells", len(labels), len(truth))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
