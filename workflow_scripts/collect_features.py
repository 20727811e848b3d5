"""Rule collect_features: per-species features, failures and sweep-count tables from the per-cell records."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from patchseq_ml.ephys.collect import check_failed_fraction, collect, family_arrays
from patchseq_ml.ephys.families import family_names, family_widths
from patchseq_ml.logging_utils import rule_log, setup_logging


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    records = [json.loads(Path(path).read_text()) for path in snakemake.params.records]
    sheet = pd.read_csv(snakemake.input.sheet, sep="\t", dtype=str, keep_default_na=False)
    features, failures, counts = collect(records, sheet)
    check_failed_fraction(features, snakemake.params.max_failed_fraction, snakemake.wildcards.species)
    features.to_csv(snakemake.output.features, sep="\t", index=False)
    failures.to_csv(snakemake.output.failures, sep="\t", index=False)
    counts.to_csv(snakemake.output.sweep_counts, sep="\t", index=False)
    settings = snakemake.params.families
    arrays = family_arrays(records, family_names(settings), family_widths(settings))
    with open(snakemake.output.families, "wb") as handle:  # a file handle: savez would append ".npz" to a path
        np.savez(handle, **arrays)
    log.info(
        "%d cells (%d failed), %d failure records, families present %.1f%%",
        len(features),
        (features.status == "failed").sum(),
        len(failures),
        100.0 * arrays["mask"].mean(),
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
