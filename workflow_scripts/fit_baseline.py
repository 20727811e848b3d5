"""Rule fit_baseline_{species}: one baseline model on every fold of one (species, split seed): for each fold, fit on
train + val and predict the test fold (the feature table is read once; each fold as a job of its own would see it)."""

import pandas as pd

from patchseq_ml.learn.baselines import build_model, fit_predict, usable_features
from patchseq_ml.learn.splits import fold_runs
from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.tsv import read_tsv


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    w, settings = snakemake.wildcards, snakemake.params.settings
    seed = int(w.seed)
    table = read_tsv(snakemake.input.features)
    splits = pd.read_csv(snakemake.input.splits, sep="\t", dtype={"cell_id": str})
    features, dropped = usable_features(table, settings["max_missing"])
    for name, reason in dropped.items():
        log.info("feature %s dropped: %s", name, reason)
    runs = fold_runs(splits, seed, snakemake.params.folds, snakemake.params.fraction)
    for path, run in zip(snakemake.output.predictions, runs, strict=True):
        model = build_model(w.model, features, settings, seed=seed)
        train = run.rows.loc[run.rows.role.isin(["train", "val"]), "cell_id"].tolist()
        test = run.rows.loc[run.rows.role == "test", "cell_id"].tolist()
        predictions = fit_predict(model, table, features, train, test)
        predictions.insert(0, "fold", run.fold)
        predictions.insert(0, "seed", seed)
        predictions.to_csv(path, sep="\t", index=False)
        log.info(
            "%s %s seed %s fold %s: %d features, accuracy %.3f",
            w.species,
            w.model,
            seed,
            run.fold,
            len(features),
            (predictions.true == predictions.pred).mean(),
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
