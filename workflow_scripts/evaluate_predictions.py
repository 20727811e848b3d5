"""Rule evaluate_predictions: calibration (reliability bins, ECE) and confusion matrices of every strategy and the
forest, over all human test predictions."""

import pandas as pd

from patchseq_ml.learn.calibration import calibration_summary
from patchseq_ml.learn.evaluation import confusion, files_by_method
from patchseq_ml.logging_utils import rule_log, setup_logging


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    p = snakemake.params
    methods = files_by_method(snakemake.input.finetune, p.strategies, p.forest, snakemake.input.forest)
    bins, summaries, matrices = [], [], []
    for method, paths in methods.items():
        predictions = pd.concat([pd.read_csv(p, sep="\t", dtype={"cell_id": str}) for p in paths], ignore_index=True)
        table, summary = calibration_summary(predictions, snakemake.params.bins)
        bins.append(table.assign(method=method))
        summaries.append({"method": method, **summary})
        classes = sorted(predictions["true"].unique())
        matrices.append(confusion(predictions, classes).reset_index().assign(method=method))
        log.info(
            "%s: ECE %.3f (confidence %.3f, accuracy %.3f)",
            method,
            summary["ece"],
            summary["mean_confidence"],
            summary["accuracy"],
        )
    pd.concat(bins, ignore_index=True).to_csv(snakemake.output.bins, sep="\t", index=False)
    pd.DataFrame(summaries).to_csv(snakemake.output.summary, sep="\t", index=False)
    pd.concat(matrices, ignore_index=True).to_csv(snakemake.output.confusion, sep="\t", index=False)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
