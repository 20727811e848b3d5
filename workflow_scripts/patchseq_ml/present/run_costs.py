"""Run time and peak memory per workflow stage, from the ``benchmark:`` files every job writes.

Snakemake's benchmark TSV has one row per job run: ``s`` (wall seconds), ``max_rss`` (peak resident memory, MB),
``cpu_time`` (s). The files are read as they are when the report is written: stages rerun later are not reflected
until the report reruns, and the report's own job is not included (its file is written after it).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

COLUMNS = ("s", "max_rss", "cpu_time")


def read_benchmarks(root: Path) -> pd.DataFrame:
    """One row per job: ``rule`` (first folder under ``root``), ``file``, wall s, peak RSS MB, CPU s."""
    rows = []
    for path in sorted(Path(root).rglob("*.tsv")):
        frame = pd.read_csv(path, sep="\t")
        if frame.empty or not set(COLUMNS) <= set(frame.columns):
            continue
        last = pd.to_numeric(frame.iloc[-1][list(COLUMNS)], errors="coerce")
        rows.append({"rule": path.relative_to(root).parts[0], "file": str(path), **last.to_dict()})
    return pd.DataFrame(rows, columns=["rule", "file", *COLUMNS])


def stage_costs(folder: str | Path, order: list[str]) -> pd.DataFrame:
    """`stage_table` of every benchmark file under ``folder``."""
    return stage_table(read_benchmarks(Path(folder)), order)


def stage_table(jobs: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Per rule: jobs, total / median / max wall time (s), total CPU time (s), max peak RSS (MB); rules in
    ``order`` (the workflow's), others after; a last row sums the wall and CPU time."""
    if jobs.empty:
        return pd.DataFrame()
    grouped = jobs.groupby("rule")
    table = pd.DataFrame(
        {
            "jobs": grouped.size(),
            "wall total (s)": grouped["s"].sum(),
            "wall median (s)": grouped["s"].median(),
            "wall max (s)": grouped["s"].max(),
            "CPU total (s)": grouped["cpu_time"].sum(),
            "peak RSS max (MB)": grouped["max_rss"].max(),
        }
    )
    rank = {rule: k for k, rule in enumerate(order)}
    table = table.loc[sorted(table.index, key=lambda r: (rank.get(r, len(rank)), r))]
    table.loc["all stages"] = {
        "jobs": table["jobs"].sum(),
        "wall total (s)": table["wall total (s)"].sum(),
        "CPU total (s)": table["CPU total (s)"].sum(),
        "peak RSS max (MB)": table["peak RSS max (MB)"].max(),
    }
    table.index.name = "stage (rule)"
    return table
