"""Rule cells_sheet: join the species' NWB files to their labels -> results/sheets/{species}_cells.tsv.

The sheet's nwb_path is where each file is read: its local path, or its archive URL when streamed. With source:
local, the rows of your cell sheet (checked when the workflow was parsed) with their labels mapped.
"""

from patchseq_ml.acquire.cell_sheet import build_local_sheet, build_sheet, load_labels
from patchseq_ml.logging_utils import rule_log, setup_logging


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    params, species = snakemake.params, snakemake.wildcards.species
    if params.sheet_rows:
        sheet = build_local_sheet(species, params.sheet_rows, params.labels)
    else:
        labels = load_labels(snakemake.input.labels, params.labels)
        sheet = build_sheet(species, params.nwb_paths, labels, params.labels, params.nwb_sources)
    sheet.to_csv(snakemake.output.sheet, sep="\t", index=False)
    counts = sheet["subclass"].replace("", "(excluded)").value_counts().to_dict()
    log.info("%d cells: %s", len(sheet), counts)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
