"""Rule select_model: every candidate for human cells on identical folds, the winner by the configured rule on the
selection seeds, its score on the evaluation seeds (learn/selection.py says why these are disjoint)."""

import json
from pathlib import Path

import pandas as pd

from patchseq_ml.learn.calibration import calibration_summary
from patchseq_ml.learn.selection import ENSEMBLE, per_class_f1, run_selection, seed_sets
from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.tsv import read_tsv


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    p = snakemake.params
    settings = p.selection
    selection_seeds, evaluation_seeds, held_out = seed_sets(p.split_seeds, settings["seeds"])
    paths = list(snakemake.input.predictions)
    predictions = {}
    for k, (method, _) in enumerate(p.candidates):
        files = paths[k * p.runs_per_candidate : (k + 1) * p.runs_per_candidate]
        predictions[method] = pd.concat([read_tsv(f) for f in files], ignore_index=True)
    kinds = dict(p.candidates)
    winner, members, table, per_fold, predictions = run_selection(predictions, settings, p.split_seeds, p.forest)
    calibration = {}
    for method, frame in predictions.items():
        calibration[method] = calibration_summary(frame[frame.seed.isin(evaluation_seeds)], p.bins)[1]["ece"]
    table["ece"] = table.method.map(calibration)
    table["members"] = [" + ".join(members) if m == ENSEMBLE else m for m in table.method]
    table["kind"] = [kinds.get(m, ENSEMBLE) for m in table.method]
    table.to_csv(snakemake.output.candidates, sep="\t", index=False)
    per_fold.assign(set=per_fold.seed.map(lambda s: "selection" if s in selection_seeds else "evaluation")).to_csv(
        snakemake.output.per_fold, sep="\t", index=False
    )
    row = table.set_index("method").loc[winner]
    chosen_members = members if winner == ENSEMBLE else [winner]
    selected = {
        "model": winner,
        "members": [{"name": m, "kind": kinds[m]} for m in chosen_members],
        "rule": settings["rule"],
        "simplicity": settings["simplicity"],
        "selection_seeds": selection_seeds,
        "evaluation_seeds": evaluation_seeds,
        "held_out": held_out,
        "cv": {
            "macro_f1": float(row.eval_mean),
            "sd": float(row.eval_sd),
            "ci": [float(row.eval_ci_low), float(row.eval_ci_high)],
            "accuracy": float(row.eval_accuracy),
            "runs": int(row.eval_runs),
            "ece": float(row.ece),
        },
        "calibration": p.calibration,  # how the candidates' probabilities were calibrated (inside training folds)
        "per_class_f1": per_class_f1(per_fold, winner, evaluation_seeds),
        "vs_forest": {
            k: (None if pd.isna(row.get(f"vs_{p.forest}_{k}")) else float(row.get(f"vs_{p.forest}_{k}")))
            for k in ("difference", "ci_low", "ci_high", "wilcoxon_p", "wins", "losses")
        },
    }
    Path(snakemake.output.selected).write_text(json.dumps(selected, indent=1))
    predictions[winner].to_csv(snakemake.output.predictions, sep="\t", index=False)
    log.info("\n%s", table.to_string(index=False))
    log.info("chosen: %s (%s), evaluation macro-F1 %.3f", winner, " + ".join(chosen_members), row.eval_mean)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
