"""Rule export_example_traces: one example cell per subclass -> results/report/traces/{species}.npz."""

import numpy as np
import pandas as pd

from patchseq_ml.acquire.stimulus_table import StimulusTable
from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.present.example_traces import example_traces, pick_example_cells


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    features = pd.read_csv(snakemake.input.features, sep="\t", dtype={"cell_id": str}, keep_default_na=True)
    sheet = pd.read_csv(snakemake.input.sheet, sep="\t", dtype=str).set_index("cell_id")
    user_map = list(snakemake.input.stimulus_map)
    table = StimulusTable.from_tsv(snakemake.input.stimulus_codes, extra=user_map[0] if user_map else None)
    arrays = {}
    for subclass, cell in pick_example_cells(features).items():
        rheobase = float(features.set_index("cell_id").at[cell, "rheobase_pa"])
        traces = example_traces(sheet.at[cell, "nwb_path"], rheobase, table, snakemake.params.qc)
        arrays.update({f"{subclass}__{key}": value for key, value in traces.items()})
        arrays[f"{subclass}__cell_id"] = np.array(cell)
        log.info("%s: example cell %s", subclass, cell)
    np.savez_compressed(snakemake.output.traces, **arrays)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
