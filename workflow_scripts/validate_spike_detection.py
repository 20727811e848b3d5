"""Rule validate_spike_detection: precision/recall of spike detection against the simulator's true spikes."""

import json
from pathlib import Path

from patchseq_ml.ephys.spike_validation import validate
from patchseq_ml.logging_utils import rule_log, setup_logging


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    records = [json.loads(Path(path).read_text()) for path in snakemake.params.records]
    truth = json.loads(Path(snakemake.input.truth).read_text())
    table = validate(records, truth, snakemake.params.tolerance_s)
    table.to_csv(snakemake.output.table, sep="\t", index=False)
    log.info("\n%s", table.to_string(index=False))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
