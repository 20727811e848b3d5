"""Rule evaluate_baseline: metrics per (seed, fold), their summary with bootstrap CIs, and the confusion matrix."""

import pandas as pd

from patchseq_ml.learn.evaluation import confusion, per_fold_table, summarise
from patchseq_ml.logging_utils import rule_log, setup_logging


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    predictions = pd.concat(
        [pd.read_csv(p, sep="\t", dtype={"cell_id": str}) for p in snakemake.input.predictions], ignore_index=True
    )
    classes = sorted(predictions["true"].unique())
    per_fold = per_fold_table(predictions, classes)
    per_fold.to_csv(snakemake.output.per_fold, sep="\t", index=False)
    summary = summarise(per_fold)
    summary.to_csv(snakemake.output.summary, sep="\t", index=False)
    confusion(predictions, classes).to_csv(snakemake.output.confusion, sep="\t")
    log.info("\n%s", summary.head(3).to_string(index=False))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
