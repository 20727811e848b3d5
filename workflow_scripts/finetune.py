"""Rule finetune: one strategy on one human (seed, fold): train, predict the test fold, write metrics."""

import json
from pathlib import Path

import pandas as pd

from patchseq_ml.learn.evaluation import fold_metrics
from patchseq_ml.learn.splits import fold_seed, subsample_training
from patchseq_ml.learn.training import pick_device, seed_everything
from patchseq_ml.learn.transfer import (
    ALIGNING,
    attention_by_class,
    fold_data,
    mouse_rows,
    open_pretrained,
    predictions,
    run_strategy,
)
from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.tsv import read_tsv


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    w, settings = snakemake.wildcards, snakemake.params.settings
    seed, fold_no = int(w.seed), int(w.fold)
    run_seed = fold_seed(seed, fold_no)
    seed_everything(run_seed, snakemake.threads)
    device = pick_device()
    start = open_pretrained(snakemake.input.checkpoint, snakemake.input.human, snakemake.input.mouse, settings)
    splits = read_tsv(snakemake.input.human_splits)
    fold = subsample_training(splits[splits.fold == fold_no], snakemake.params.fraction, run_seed)
    classes = sorted(fold.loc[fold.role.isin(["train", "val", "test"]), "subclass"].unique())
    human, _, ids = fold_data(start.human, fold, classes)
    mouse_train = None
    if w.strategy in ("joint", *ALIGNING):
        mouse_train = start.mouse_fold(read_tsv(snakemake.input.mouse_splits))[0]["train"]
    rows = mouse_rows(start.meta["classes"], classes, snakemake.params.class_map)
    model, history = run_strategy(
        w.strategy, human, len(classes), start.model, mouse_train, settings, run_seed, device, rows
    )
    test = predictions(model, human["test"], ids["test"], classes, "human", device)
    test.insert(0, "fold", fold_no)
    test.insert(0, "seed", seed)
    test.to_csv(snakemake.output.predictions, sep="\t", index=False)
    pd.DataFrame(history).to_csv(snakemake.output.epochs, sep="\t", index=False)
    attention = attention_by_class(model, human["test"], classes, start.human.family_names, device)
    attention.to_csv(snakemake.output.attention, sep="\t")
    metrics = fold_metrics(test.true.to_numpy(), test.pred.to_numpy(), classes)
    Path(snakemake.output.metrics).write_text(
        json.dumps({"strategy": w.strategy, "seed": seed, "fold": fold_no, **metrics}, indent=1)
    )
    log.info(
        "%s seed %d fold %d (%d training cells) on %s: macro-F1 %.3f",
        w.strategy,
        seed,
        fold_no,
        len(human["train"].y),
        device,
        metrics["macro_f1"],
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
