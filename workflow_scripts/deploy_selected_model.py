"""Rule deploy_selected_model: the winner of model selection fitted on every labelled human cell -> the bundle
`predict` uses (learn/selected_model.py), with its fitted probabilities on those cells."""

import json
from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_limits

from patchseq_ml.learn.baselines import build_model, fit_model, usable_features
from patchseq_ml.learn.deployment import labelled_cells, train_deployed_bilstm
from patchseq_ml.learn.selected_model import save_bundle, sklearn_member, sklearn_proba
from patchseq_ml.learn.training import checkpoint_payload
from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.tsv import read_tsv


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    p = snakemake.params
    selected = json.loads(Path(snakemake.input.selected).read_text())
    cells = labelled_cells(read_tsv(snakemake.input.human_splits))
    classes = sorted(cells.subclass.unique())
    table = read_tsv(snakemake.input.features).set_index("cell_id")
    members, fitted = [], []
    for member in selected["members"]:
        source = p.sources[member["name"]]
        if member["kind"] == "sklearn":
            features, _ = usable_features(table.reset_index(), p.baseline["max_missing"])
            pipeline = build_model(source, features, p.baseline, seed=p.seed)
            x, y = table.loc[cells.cell_id, features].astype(float), cells.subclass.to_numpy()
            with threadpool_limits(snakemake.threads):  # OpenMP of gradient boosting: the job's threads only
                fit_model(pipeline, x, y)
                members.append(sklearn_member(member["name"], pipeline, features, x, y, p.seed))
                proba = sklearn_proba(members[-1], x, classes)
            fitted.append(pd.DataFrame(proba, index=cells.cell_id.to_numpy(), columns=classes))
        else:
            inputs = {k: snakemake.input[k] for k in ("checkpoint", "human", "mouse", "human_splits", "mouse_splits")}
            model, metadata, frame = train_deployed_bilstm(
                source, inputs, p.bilstm, p.seed, p.class_map, snakemake.threads
            )
            members.append(
                {"name": member["name"], "kind": "bilstm", "checkpoint": checkpoint_payload(model, metadata)}
            )
            fitted.append(frame.set_index("cell_id")[[f"p_{c}" for c in classes]].set_axis(classes, axis=1))
        log.info("fitted %s (%s) on %d human cells", member["name"], member["kind"], len(cells))
    proba = sum(f.loc[cells.cell_id] for f in fitted) / len(fitted)
    out = pd.DataFrame({"cell_id": cells.cell_id, "true": cells.subclass, "pred": proba.idxmax(axis=1).to_numpy()})
    for c in classes:
        out[f"p_{c}"] = proba[c].to_numpy()
    out.to_csv(snakemake.output.predictions, sep="\t", index=False)
    keys = ("model", "rule", "selection_seeds", "evaluation_seeds", "held_out", "cv", "per_class_f1", "vs_forest")
    keys += ("calibration",)
    bundle = {
        **{k: selected[k] for k in keys},
        "members": members,
        "classes": classes,
        "source": p.source,
        "input": p.bilstm["input"],
        "extraction": p.extraction,
        "seed": p.seed,
        "n_cells": len(cells),
    }
    save_bundle(snakemake.output.bundle, bundle)
    info = {k: v for k, v in bundle.items() if k != "members"}
    info["members"] = [{"name": m["name"], "kind": m["kind"]} for m in members]
    info["fitted_accuracy"] = float((out.pred == out.true).mean())
    Path(snakemake.output.metrics).write_text(json.dumps(info, indent=1))
    log.info(
        "deployed %s on %d cells (cross-validated macro-F1 %.3f)",
        selected["model"],
        len(cells),
        bundle["cv"]["macro_f1"],
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
