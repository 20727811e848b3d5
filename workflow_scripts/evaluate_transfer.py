"""Rule evaluate_transfer: human results of every strategy and the forest, paired on identical (seed, fold)."""

import pandas as pd

from patchseq_ml.learn.evaluation import files_by_method, per_fold_table, summarise
from patchseq_ml.learn.paired_stats import paired_differences
from patchseq_ml.logging_utils import rule_log, setup_logging


def _predictions(paths, method):
    frames = [pd.read_csv(p, sep="\t", dtype={"cell_id": str}) for p in paths]
    return pd.concat(frames, ignore_index=True).assign(method=method)


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    p = snakemake.params
    methods = files_by_method(snakemake.input.finetune, p.strategies, p.forest, snakemake.input.forest)
    per_fold, summaries = [], []
    for method, paths in methods.items():
        predictions = _predictions(paths, method)
        classes = sorted(predictions["true"].unique())
        table = per_fold_table(predictions, classes).assign(method=method)
        per_fold.append(table)
        summaries.append(summarise(table.drop(columns="method")).assign(method=method))
    per_fold = pd.concat(per_fold, ignore_index=True)
    per_fold.to_csv(snakemake.output.per_fold, sep="\t", index=False)
    pd.concat(summaries, ignore_index=True).to_csv(snakemake.output.summary, sep="\t", index=False)
    paired = pd.concat([paired_differences(per_fold, ref) for ref in ("scratch", snakemake.params.forest)])
    paired.to_csv(snakemake.output.paired, sep="\t", index=False)
    attention = [
        pd.read_csv(p, sep="\t").assign(species="human", method=p.split("/")[-4]) for p in snakemake.input.attention
    ]
    attention += [
        pd.read_csv(p, sep="\t").assign(species="mouse", method="pretrain") for p in snakemake.input.mouse_attention
    ]
    mean_attention = pd.concat(attention).groupby(["species", "method", "class"]).mean().reset_index()
    mean_attention.to_csv(snakemake.output.attention, sep="\t", index=False)
    log.info("\n%s", paired.to_string(index=False))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
