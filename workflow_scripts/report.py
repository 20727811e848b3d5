"""Rule report: one self-contained HTML report (data, feature and baseline sections) -> results/report/report.html."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.present import (
    analysis_sections,
    baseline_section,
    html,
    provenance,
    run_costs,
    selection_section,
    transfer_section,
)
from patchseq_ml.present.data_report import SpeciesTables, data_sections
from patchseq_ml.tsv import read_tsv


def _species_tables(inputs, species: list[str]) -> dict[str, SpeciesTables]:
    tables = {}
    for i, sp in enumerate(species):
        t = SpeciesTables(read_tsv(inputs.features[i]), read_tsv(inputs.failures[i]))
        if len(inputs.sheets):
            t.sheet, t.sweep_counts = read_tsv(inputs.sheets[i]), read_tsv(inputs.sweep_counts[i])
            if len(inputs.spike_detection):  # simulated cells only: it needs the simulator's true spike times
                t.spike_detection = read_tsv(inputs.spike_detection[i])
            with np.load(inputs.traces[i]) as npz:
                t.traces = {k: npz[k] for k in npz.files}
        tables[sp] = t
    return tables


def _costs(folder: str, order: list[str]) -> pd.DataFrame:
    return run_costs.stage_table(run_costs.read_benchmarks(Path(folder)), order)


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    p, figures = snakemake.params, Path(snakemake.output.figures)
    sections = data_sections(_species_tables(snakemake.input, p.species), p.features, p.colours, figures)
    summaries = {key: read_tsv(path) for key, path in zip(p.baseline_keys, snakemake.input.baseline_summaries)}
    confusions = {
        key: pd.read_csv(path, sep="\t", index_col=0)
        for key, path in zip(p.baseline_keys, snakemake.input.baseline_confusions)
    }
    sections.append(baseline_section.alignment(read_tsv(snakemake.input.alignment)))
    sections.append(analysis_sections.shift_section(read_tsv(snakemake.input.species_shift), figures))
    sections.append(baseline_section.build(summaries, confusions, figures, p.class_map, p.n_seeds))
    records = [json.loads(Path(path).read_text()) for path in snakemake.input.pretrain]
    note = transfer_section.layout_note(records[0]["layout"])
    pretrain = pd.DataFrame([{k: v for k, v in r.items() if k != "layout"} for r in records])
    attention = pd.read_csv(snakemake.input.attention_by_class, sep="\t")
    curve = pd.read_csv(snakemake.input.learning_curve, sep="\t")
    summary, paired = read_tsv(snakemake.input.transfer_summary), read_tsv(snakemake.input.transfer_paired)
    i = snakemake.input
    opening = selection_section.opening(
        json.loads(Path(i.selected).read_text()),
        read_tsv(i.candidates),
        read_tsv(i.learning_curve_paired),
        p.human_only,
    )
    sections.append(transfer_section.build(summary, paired, pretrain, attention, curve, note, figures, opening))
    confusions = analysis_sections.confusion_by_method(read_tsv(i.confusion))
    sections.append(
        analysis_sections.calibration_section(
            read_tsv(i.calibration), read_tsv(i.calibration_bins), confusions, figures
        )
    )
    deployed = json.loads(Path(i.deployed).read_text())
    sections.append(
        analysis_sections.embedding_section(
            read_tsv(i.embedding), read_tsv(i.embedding_alignment), deployed, p.colours, figures
        )
    )
    sections.append(analysis_sections.unlabelled_section(read_tsv(i.unlabelled)))
    entries = provenance.entries(p.provenance, list(i.features))
    sections.append(analysis_sections.provenance_section(entries, _costs(p.benchmarks, p.stage_order)))
    report = Path(snakemake.output.html)
    report.write_text(html.page("Patch-seq electrophysiology -> transcriptomic subclass", sections))
    log.info("report written to %s (%.0f kB)", report, report.stat().st_size / 1024)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
