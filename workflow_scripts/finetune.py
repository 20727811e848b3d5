"""Rule finetune: one strategy on every fold of one human split seed: for each fold, train, predict the test fold,
write metrics. The checkpoint and the sequences are read once; each fold starts as a job of its own would (seeded
with its fold seed, from an untouched copy of the pretrained model), so its files do not depend on the grouping."""

import copy
import json
from pathlib import Path

import pandas as pd

from patchseq_ml.learn.evaluation import fold_metrics
from patchseq_ml.learn.splits import fold_runs
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
    w, settings, out = snakemake.wildcards, snakemake.params.settings, snakemake.output
    seed = int(w.seed)
    device = pick_device()
    start = open_pretrained(snakemake.input.checkpoint, snakemake.input.human, snakemake.input.mouse, settings)
    mouse_train = None
    if w.strategy in ("joint", *ALIGNING):
        mouse_train = start.mouse_fold(read_tsv(snakemake.input.mouse_splits))[0]["train"]
    splits = read_tsv(snakemake.input.human_splits)
    for k, run in enumerate(fold_runs(splits, seed, snakemake.params.folds, snakemake.params.fraction)):
        seed_everything(run.seed, snakemake.threads)
        classes = sorted(run.rows.loc[run.rows.role.isin(["train", "val", "test"]), "subclass"].unique())
        human, _, ids = fold_data(start.human, run.rows, classes)
        rows = mouse_rows(start.meta["classes"], classes, snakemake.params.class_map)
        pretrained = copy.deepcopy(start.model)  # never trained in place, but each fold gets its own copy anyway
        model, history = run_strategy(
            w.strategy, human, len(classes), pretrained, mouse_train, settings, run.seed, device, rows
        )
        test = predictions(model, human["test"], ids["test"], classes, "human", device)
        test.insert(0, "fold", run.fold)
        test.insert(0, "seed", seed)
        test.to_csv(out.predictions[k], sep="\t", index=False)
        pd.DataFrame(history).to_csv(out.epochs[k], sep="\t", index=False)
        attention = attention_by_class(model, human["test"], classes, start.human.family_names, device)
        attention.to_csv(out.attention[k], sep="\t")
        metrics = fold_metrics(test.true.to_numpy(), test.pred.to_numpy(), classes)
        Path(out.metrics[k]).write_text(
            json.dumps({"strategy": w.strategy, "seed": seed, "fold": run.fold, **metrics}, indent=1)
        )
        log.info(
            "%s seed %d fold %d (%d training cells) on %s: macro-F1 %.3f",
            w.strategy,
            seed,
            run.fold,
            len(human["train"].y),
            device,
            metrics["macro_f1"],
        )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
