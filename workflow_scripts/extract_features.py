"""Rule extract_features: QC and features of one batch of cells -> results/features/{species}/cells/batch{batch}/,
one ``{cell}.json`` per cell.

Always writes every cell's record: a cell that fails is recorded with its reason (status "failed"), never dropped.
"""

from pathlib import Path

from patchseq_ml.acquire.stimulus_table import StimulusTable
from patchseq_ml.ephys.batch_extraction import extract_batch
from patchseq_ml.logging_utils import rule_log, setup_logging


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    user_map = list(snakemake.input.stimulus_map)
    table = StimulusTable.from_tsv(snakemake.input.stimulus_codes, extra=user_map[0] if user_map else None)
    cells = [tuple(cell) for cell in snakemake.params.cells]
    statuses = extract_batch(cells, table, snakemake.params.features, Path(snakemake.output.cells))
    log.info("batch %s: %d cells, %s", snakemake.wildcards.batch, len(cells), dict(statuses))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
