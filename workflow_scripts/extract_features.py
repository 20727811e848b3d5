"""Rule extract_features: QC and features of one cell -> results/features/{species}/cells/{cell}.json.

Always writes its output: a cell that fails is recorded with its reason (status "failed"), never dropped silently.
"""

import json
from pathlib import Path

from patchseq_ml.acquire.stimulus_table import StimulusTable
from patchseq_ml.ephys.cell_features import extract_cell
from patchseq_ml.logging_utils import rule_log, setup_logging


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    user_map = list(snakemake.input.stimulus_map)
    table = StimulusTable.from_tsv(snakemake.input.stimulus_codes, extra=user_map[0] if user_map else None)
    result = extract_cell(snakemake.params.nwb_path, snakemake.wildcards.cell, table, snakemake.params.features)
    out = Path(snakemake.output.cell)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result.to_dict()))
    tmp.replace(out)
    log.info("%s: %s, %d sweeps, %d failures", result.cell_id, result.status, len(result.sweeps), len(result.failures))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
