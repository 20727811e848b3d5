"""Rule simulate_batch: simulate one batch of cells of one species and write their NWB files.

Inputs: the phenotype table. Params: species' cell count, the `simulation` config section.
Outputs: the batch folder of NWB files (DANDI layout), the batch's label rows (TSV) and truth records (JSON).
"""

from pathlib import Path

import pandas as pd
import yaml

from patchseq_ml.acquire.simulated_dataset import simulate_batch, write_json
from patchseq_ml.logging_utils import rule_log, setup_logging


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    species, batch = snakemake.wildcards.species, snakemake.wildcards.batch
    phenotypes = yaml.safe_load(Path(snakemake.input.phenotypes).read_text())
    out_dir = Path(snakemake.output.nwb)
    labels, truth = simulate_batch(
        species, batch, snakemake.params.n_cells, snakemake.params.simulation, phenotypes, out_dir
    )
    pd.DataFrame(labels).to_csv(snakemake.output.labels, sep="\t", index=False)
    write_json(Path(snakemake.output.truth), truth)
    log.info("%s batch %s: %d cells written to %s (%d labelled)", species, batch, len(truth), out_dir, len(labels))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
