"""Rule fit_baseline: one baseline model on one (species, seed, fold): fit on train + val, predict the test fold."""

import pandas as pd

from patchseq_ml.learn.baselines import build_model, fit_predict, usable_features
from patchseq_ml.learn.splits import fold_seed, subsample_training
from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.tsv import read_tsv


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    w, settings = snakemake.wildcards, snakemake.params.settings
    table = read_tsv(snakemake.input.features)
    splits = pd.read_csv(snakemake.input.splits, sep="\t", dtype={"cell_id": str})
    fold = subsample_training(
        splits[splits.fold == int(w.fold)], snakemake.params.fraction, fold_seed(int(w.seed), int(w.fold))
    )
    features, dropped = usable_features(table, settings["max_missing"])
    for name, reason in dropped.items():
        log.info("feature %s dropped: %s", name, reason)
    model = build_model(w.model, features, settings, seed=int(w.seed))
    train = fold.loc[fold.role.isin(["train", "val"]), "cell_id"].tolist()
    test = fold.loc[fold.role == "test", "cell_id"].tolist()
    predictions = fit_predict(model, table, features, train, test)
    predictions.insert(0, "fold", int(w.fold))
    predictions.insert(0, "seed", int(w.seed))
    predictions.to_csv(snakemake.output.predictions, sep="\t", index=False)
    log.info(
        "%s %s seed %s fold %s: %d features, accuracy %.3f",
        w.species,
        w.model,
        w.seed,
        w.fold,
        len(features),
        (predictions.true == predictions.pred).mean(),
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
