"""Rule deploy_human_model: the chosen strategy on every labelled human cell -> the BiLSTM checkpoint of the
embedding map (and `predict --model` with a checkpoint)."""

import json
from pathlib import Path

from patchseq_ml.learn.deployment import train_deployed_bilstm
from patchseq_ml.learn.training import save_checkpoint
from patchseq_ml.logging_utils import rule_log, setup_logging


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    p = snakemake.params
    inputs = {k: snakemake.input[k] for k in ("checkpoint", "human", "mouse", "human_splits", "mouse_splits")}
    model, metadata, fitted = train_deployed_bilstm(
        p.strategy, inputs, p.settings, p.seed, p.class_map, snakemake.threads
    )
    save_checkpoint(Path(snakemake.output.checkpoint), model, metadata)
    fitted.to_csv(snakemake.output.predictions, sep="\t", index=False)
    metrics = metadata["metrics"]
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
