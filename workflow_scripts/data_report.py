"""Rule data_report: the HTML data report (cells, retention, failures, sweeps, traces, feature distributions)."""

from pathlib import Path

import numpy as np
import pandas as pd

from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.present.data_report import SpeciesTables, build


def _tsv(path: str) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype={"cell_id": str, "exclusion": str, "subclass": str})


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    inputs = snakemake.input
    tables = {}
    for i, species in enumerate(snakemake.params.species):
        validation = inputs.spike_detection[i] if len(inputs.spike_detection) else None
        with np.load(inputs.traces[i]) as npz:
            traces = {k: npz[k] for k in npz.files}
        tables[species] = SpeciesTables(
            _tsv(inputs.sheets[i]).fillna({"subclass": "", "exclusion": ""}),
            _tsv(inputs.features[i]),
            _tsv(inputs.failures[i]),
            _tsv(inputs.sweep_counts[i]),
            _tsv(validation) if validation else None,
            traces,
        )
    report = Path(snakemake.output.html)
    page = build(
        tables,
        snakemake.params.features,
        snakemake.params.colours,
        Path(snakemake.output.figures),
        snakemake.params.provenance,
    )
    report.write_text(page)
    log.info("report written to %s (%.0f kB)", report, report.stat().st_size / 1024)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
