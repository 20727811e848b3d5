"""Rule table_features: published feature table + label table -> the workflow's features and failures tables."""

import pandas as pd

from patchseq_ml.learn.feature_tables import join, load_feature_table, load_label_table
from patchseq_ml.logging_utils import rule_log, setup_logging


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    features = load_feature_table(snakemake.input.features, snakemake.params.features)
    labels = load_label_table(snakemake.input.labels, snakemake.params.labels)
    table = join(features, labels, snakemake.params.min_cells_per_class, snakemake.input.labels)
    table.to_csv(snakemake.output.features, sep="\t", index=False)
    excluded = table[table.exclusion != ""]
    failures = pd.DataFrame(
        {"cell_id": excluded.cell_id, "level": "label", "item": "label", "reason": excluded.exclusion}
    )
    failures.to_csv(snakemake.output.failures, sep="\t", index=False)
    log.info(
        "%d cells, %d labelled: %s",
        len(table),
        (table.exclusion == "").sum(),
        table.loc[table.exclusion == "", "subclass"].value_counts().to_dict(),
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
