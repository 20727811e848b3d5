"""Rule deploy_human_model: the chosen strategy on every labelled human cell -> the checkpoint `predict` uses."""

import json
from pathlib import Path

import pandas as pd

from patchseq_ml.learn.deployment import deployment_fold
from patchseq_ml.learn.training import macro_f1, pick_device, save_checkpoint, seed_everything
from patchseq_ml.learn.transfer import fold_data, mouse_rows, open_pretrained, predictions, run_strategy
from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.tsv import read_tsv


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    p, settings = snakemake.params, snakemake.params.settings
    seed_everything(p.seed, snakemake.threads)
    device = pick_device()
    start = open_pretrained(snakemake.input.checkpoint, snakemake.input.human, snakemake.input.mouse, settings)
    meta = start.meta
    fold = deployment_fold(read_tsv(snakemake.input.human_splits))
    classes = sorted(fold.loc[fold.role.isin(["train", "val"]), "subclass"].unique())
    human, scaler, ids = fold_data(start.human, fold, classes)
    mouse, mouse_scaler = start.mouse_fold(read_tsv(snakemake.input.mouse_splits))
    rows = mouse_rows(meta["classes"], classes, p.class_map)
    model, history = run_strategy(
        p.strategy, human, len(classes), start.model, mouse["train"], settings, p.seed, device, rows
    )
    metrics = {
        "strategy": p.strategy,
        "seed": p.seed,
        "n_train": len(ids["train"]),
        "n_val": len(ids["val"]),
        "val_macro_f1": macro_f1(model, human["val"], "human", device),
        "epochs": len(history),
        "note": "no held-out test cells: see the cross-validated results of this strategy for its expected accuracy",
    }
    metadata = {
        **{k: meta[k] for k in ("layout", "features")},
        "seed": p.seed,
        "strategy": p.strategy,
        "head": "human",
        "classes": classes,
        "scaler": scaler.to_dict(),
        "mouse_classes": meta["classes"],
        "mouse_scaler": mouse_scaler.to_dict(),
        "settings": json.dumps(settings, sort_keys=True),
        "split": "fold 0 of " + Path(snakemake.input.human_splits).name + ", test cells trained on",
        "device": str(device),
        "metrics": metrics,
    }
    save_checkpoint(Path(snakemake.output.checkpoint), model, metadata)
    fitted = [predictions(model, human[r], ids[r], classes, "human", device).assign(role=r) for r in ("train", "val")]
    pd.concat(fitted).to_csv(snakemake.output.predictions, sep="\t", index=False)
    Path(snakemake.output.metrics).write_text(json.dumps(metrics, indent=1))
    log.info(
        "deployed %s model (seed %d) on %d + %d cells: val macro-F1 %.3f",
        p.strategy,
        p.seed,
        metrics["n_train"],
        metrics["n_val"],
        metrics["val_macro_f1"],
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
