"""Rule pretrain: the attention BiLSTM on mouse cells (one seed) -> checkpoint, per-epoch and final metrics."""

import json
from pathlib import Path

import pandas as pd

from patchseq_ml.learn.evaluation import fold_metrics
from patchseq_ml.learn.model import AttentionBiLSTM, ModelConfig
from patchseq_ml.learn.sequence_sources import open_source
from patchseq_ml.learn.training import pick_device, save_checkpoint, seed_everything, train
from patchseq_ml.learn.transfer import attention_by_class, fold_data, predictions
from patchseq_ml.logging_utils import rule_log, setup_logging


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    seed, settings = int(snakemake.wildcards.seed), snakemake.params.settings
    seed_everything(seed, snakemake.threads)
    device = pick_device()
    source = open_source(
        snakemake.input.sequences,
        settings["input"],
        settings["sequence_families"],
        own_patterns=settings["own_features"]["families"],
        standardise=settings["standardise"],
    )
    splits = pd.read_csv(snakemake.input.splits, sep="\t", dtype={"cell_id": str})
    fold = splits[splits.fold == 0]  # pretraining uses the first split of this seed
    classes = sorted(fold.loc[fold.role.isin(["train", "val", "test"]), "subclass"].unique())
    data, scaler, ids = fold_data(source, fold, classes)
    config = ModelConfig(source.width, len(source.family_names), {"mouse": len(classes)}, **settings["model"])
    model = AttentionBiLSTM(config)
    history = train(model, {"mouse": data["train"]}, data["val"], "mouse", settings["pretrain"], seed, device)
    test = predictions(model, data["test"], ids["test"], classes, "mouse", device)
    test.to_csv(snakemake.output.predictions, sep="\t", index=False)
    metrics = fold_metrics(test.true.to_numpy(), test.pred.to_numpy(), classes)
    best_epoch = int(history[-1]["epoch"])
    metadata = {
        "seed": seed,
        "classes": classes,
        "layout": source.layout_dict(),
        "scaler": scaler.to_dict(),
        "best_epoch": best_epoch,
        "test_metrics": metrics,
        "settings": json.dumps(settings, sort_keys=True),
        "split": "fold 0 of " + Path(snakemake.input.splits).name,
        "device": str(device),
        "features": snakemake.params.features,  # extraction settings: `predict` recomputes families with them
    }
    save_checkpoint(Path(snakemake.output.checkpoint), model, metadata)
    pd.DataFrame(history).to_csv(snakemake.output.epochs, sep="\t", index=False)
    attention_by_class(model, data["test"], classes, source.family_names, device).to_csv(
        snakemake.output.attention, sep="\t"
    )
    record = {"seed": seed, "best_epoch": best_epoch, **metrics, "layout": source.layout_dict()}
    Path(snakemake.output.metrics).write_text(json.dumps(record, indent=1))
    log.info("mouse seed %d on %s: best epoch %d, test macro-F1 %.3f", seed, device, best_epoch, metrics["macro_f1"])


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
