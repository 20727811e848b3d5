"""Benchmark: run time and peak memory per stage of a finished run, and the total of the transfer study.

Usage: .venv/bin/python benchmarks/run_costs.py [RUN_DIR] (default: the working directory; e.g. results/tables for
`make tables`). Reads RUN_DIR/results/benchmarks/ (one file per job, written by Snakemake) and prints the stage
table of the report's provenance section, then the transfer study's total: mouse pretraining, every human
fine-tuning run, the learning curve and the evaluation of all of them (job wall time summed, i.e. 1-core time);
then what issue 19 added (model selection, calibration, aligning transfer; see ``added_by_issue19``).
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow_scripts"))

from patchseq_ml.present.run_costs import read_benchmarks, stage_table  # noqa: E402

TRANSFER_RULES = (
    "sequence_features",
    "pretrain",
    "finetune",
    "learning_curve_finetune",
    "learning_curve_forest",
    "evaluate_transfer",
    "evaluate_learning_curve",
    "evaluate_predictions",
    "deploy_human_model",
    "embed_cells",
)
SELECTION_RULES = ("select_model", "deploy_selected_model")
TRAINING_RULES = ("finetune", "learning_curve_finetune")
HUMAN_BASELINE_RULES = ("fit_baseline_human", "learning_curve_forest")


def added_by_issue19(jobs):
    """Jobs and wall / CPU seconds of what issue 19 added, by what: the gradient-boosting baseline (`hgb` jobs of
    every species and the learning curve), the aligning transfer methods (`coral`, `adversarial` jobs of finetune and
    the learning curve, when configured), the selection and the chosen model's deployment; and every human baseline
    fit, whose probabilities are now calibrated (6 fits instead of 1 with `baseline.calibration`; the mouse ones
    are not calibrated)."""
    path = jobs.file.astype(str)
    what = {
        "hgb (added baseline)": path.str.contains("/hgb/"),
        "coral + adversarial (aligning transfer)": jobs.rule.isin(TRAINING_RULES)
        & path.str.contains("/coral/|/adversarial/", regex=True),
        "selection + deployment": jobs.rule.isin(SELECTION_RULES),
        "human baseline fits (calibrated; hgb included)": jobs.rule.isin(HUMAN_BASELINE_RULES),
    }
    rows = [
        {"what": name, "jobs": int(chosen.sum()), "wall_s": jobs.s[chosen].sum(), "cpu_s": jobs.cpu_time[chosen].sum()}
        for name, chosen in what.items()
    ]
    return pd.DataFrame(rows).set_index("what")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", default=".", type=Path)
    args = parser.parse_args()
    jobs = read_benchmarks(args.run_dir / "results/benchmarks")
    if jobs.empty:
        sys.exit(f"{args.run_dir}/results/benchmarks: no benchmark files (run the workflow there first)")
    table = stage_table(jobs, [])
    print(table.round(1).to_string())
    transfer = jobs[jobs.rule.isin(TRANSFER_RULES)]
    print(
        f"\ntransfer study: {len(transfer)} jobs, {transfer.s.sum() / 60:.1f} min of job wall time "
        f"({transfer.cpu_time.sum() / 60:.1f} CPU min); all stages: {jobs.s.sum() / 60:.1f} min"
    )
    print("\nadded by model selection and calibration (issue 19; the rows overlap where a job is in two):")
    print(added_by_issue19(jobs).round(1).to_string())


if __name__ == "__main__":
    main()
