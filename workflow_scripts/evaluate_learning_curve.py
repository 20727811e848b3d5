"""Rule evaluate_learning_curve: macro-F1 (mean, SD, CI over seed x fold) per method and training fraction, and
at each fraction every method paired against the best human-only model at that fraction (same seeds and folds).

``params.runs``: (method, fraction) of each file of ``input.predictions``, in the same order."""

import pandas as pd

from patchseq_ml.learn.evaluation import per_fold_table, summarise
from patchseq_ml.learn.paired_stats import paired_differences
from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.tsv import read_tsv


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    groups: dict[tuple, list[pd.DataFrame]] = {}
    for (method, fraction), path in zip(snakemake.params.runs, snakemake.input.predictions):
        groups.setdefault((method, fraction), []).append(read_tsv(path))
    rows, tables = [], []
    for (method, fraction), frames in groups.items():
        predictions = pd.concat(frames, ignore_index=True)
        per_fold = per_fold_table(predictions, sorted(predictions["true"].unique()))
        tables.append(per_fold.assign(method=method, fraction=fraction))
        summary = summarise(per_fold).set_index("metric").loc["macro_f1"]
        rows.append(
            {
                "method": method,
                "fraction": fraction,
                "macro_f1": summary["mean"],
                "sd": summary["sd"],
                "ci_low": summary["ci_low"],
                "ci_high": summary["ci_high"],
                "runs": int(summary["n"]),
            }
        )
    curve = pd.DataFrame(rows).sort_values(["method", "fraction"])
    curve.to_csv(snakemake.output.curve, sep="\t", index=False)
    log.info("\n%s", curve.to_string(index=False))
    per_fold = pd.concat(tables, ignore_index=True)
    paired = []
    for fraction, runs in per_fold.groupby("fraction"):
        human_only = runs[runs.method.isin(snakemake.params.human_only)]
        best = human_only.groupby("method").macro_f1.mean().idxmax()
        paired.append(paired_differences(runs, best).assign(fraction=fraction))
    paired = pd.concat(paired, ignore_index=True)
    paired.insert(0, "fraction", paired.pop("fraction"))
    paired.to_csv(snakemake.output.paired, sep="\t", index=False)
    log.info("\n%s", paired.to_string(index=False))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
