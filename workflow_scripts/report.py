"""Rule report: one self-contained HTML report (data, feature and baseline sections) -> results/report/report.html."""

import json
from pathlib import Path

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
from patchseq_ml.present.data_report import data_sections, read_species_tables
from patchseq_ml.tsv import read_tsv


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    i, p, figures = snakemake.input, snakemake.params, Path(snakemake.output.figures)
    sections = data_sections(read_species_tables(i, p.species), p.features, p.colours, figures)
    summaries, confusions = baseline_section.read_tables(p.baseline_keys, i.baseline_summaries, i.baseline_confusions)
    sections.append(baseline_section.alignment(read_tsv(i.alignment)))
    sections.append(analysis_sections.shift_section(read_tsv(i.species_shift), figures))
    sections.append(baseline_section.build(summaries, confusions, figures, p.class_map, p.n_seeds))
    pretrain, note = transfer_section.read_pretrain(i.pretrain)
    attention = pd.read_csv(i.attention_by_class, sep="\t")
    curve = pd.read_csv(i.learning_curve, sep="\t")
    summary, paired = read_tsv(i.transfer_summary), read_tsv(i.transfer_paired)
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
    sections.append(analysis_sections.provenance_section(entries, run_costs.stage_costs(p.benchmarks, p.stage_order)))
    report = Path(snakemake.output.html)
    report.write_text(html.page("Patch-seq electrophysiology -> transcriptomic subclass", sections))
    log.info("report written to %s (%.0f kB)", report, report.stat().st_size / 1024)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
