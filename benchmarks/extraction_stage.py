"""Benchmark: throughput and memory of the whole extract_features stage, from a finished run's benchmark files.

Usage: .venv/bin/python benchmarks/extraction_stage.py [RESULTS] [--wall SECONDS]
RESULTS defaults to results/. Prints per species: jobs, mean and max wall s per job, max peak RSS (MB) per job;
with --wall (the stage's wall time, e.g. from `time snakemake features --cores 2`), cells per second of the stage.
"""

import argparse
from pathlib import Path

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default="results", type=Path)
    parser.add_argument("--wall", type=float, help="wall time of the stage (s)")
    args = parser.parse_args()
    rows, total = [], 0
    for folder in sorted((args.results / "benchmarks/extract_features").iterdir()):
        tables = [pd.read_csv(p, sep="\t") for p in folder.glob("*.tsv")]
        if not tables:
            continue
        jobs = pd.concat(tables)
        total += len(jobs)
        rows.append(
            f"| {folder.name} | {len(jobs)} | {jobs.s.mean():.2f} | {jobs.s.max():.2f} | {jobs.max_rss.max():.0f} |"
        )
    print("| species | jobs | mean s/job | max s/job | max peak RSS (MB) |\n|---|---|---|---|---|")
    print("\n".join(rows))
    if args.wall:
        print(f"\nstage: {total} cells in {args.wall:.0f} s wall = {total / args.wall:.2f} cells/s")


if __name__ == "__main__":
    main()
