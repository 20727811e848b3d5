"""Benchmark: run time and peak memory per stage of a finished run, and the total of the transfer study.

Usage: .venv/bin/python benchmarks/run_costs.py [RUN_DIR] (default: the working directory; e.g. results/tables for
`make tables`). Reads RUN_DIR/results/benchmarks/ (one file per job, written by Snakemake) and prints the stage
table of the report's provenance section, then the transfer study's total: mouse pretraining, every human
fine-tuning run, the learning curve and the evaluation of all of them (job wall time summed, i.e. 1-core time);
then what model selection adds (issue 19): the gradient-boosting baseline (`hgb` jobs of fit_baseline_{mouse,human}
and of the learning curve; one job per seed over its folds), the selection itself and the chosen model's deployment.
"""

import argparse
import sys
from pathlib import Path

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
ADDED_MODELS = ("/hgb/",)  # the added baseline's jobs, by their benchmark path


def selection_costs(jobs):
    """Jobs and wall / CPU seconds of what model selection added: the hgb fits (baseline and learning curve), the
    selection and the chosen model's deployment."""
    added = jobs[jobs.rule.isin(SELECTION_RULES) | jobs.file.str.contains("|".join(ADDED_MODELS), regex=True)]
    return added.groupby(added.rule).agg(jobs=("s", "size"), wall_s=("s", "sum"), cpu_s=("cpu_time", "sum"))


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
    added = selection_costs(jobs)
    if len(added):
        print("\nadded by model selection (hgb fits, selection, deployment of the chosen model):")
        print(added.round(1).to_string())
        print(f"total: {added.jobs.sum()} jobs, {added.wall_s.sum() / 60:.1f} min of job wall time")


if __name__ == "__main__":
    main()
