"""Benchmark: run time and peak memory per stage of a finished run, and the total of the transfer study.

Usage: .venv/bin/python benchmarks/run_costs.py [RUN_DIR] (default: the working directory; e.g. results/tables for
`make tables`). Reads RUN_DIR/results/benchmarks/ (one file per job, written by Snakemake) and prints the stage
table of the report's provenance section, then the transfer study's total: mouse pretraining, every human
fine-tuning run, the learning curve and the evaluation of all of them (job wall time summed, i.e. 1-core time).
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


if __name__ == "__main__":
    main()
