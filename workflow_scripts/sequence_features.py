"""Rule sequence_features: the tables the BiLSTM reads (input: features): shared quantities + each species' own."""

from patchseq_ml.learn.alignment import load_alignment
from patchseq_ml.learn.sequence_tables import sequence_tables
from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.tsv import read_tsv


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    species = list(snakemake.params.sources)
    alignment = load_alignment(snakemake.input.alignment)
    report = read_tsv(snakemake.input.report)
    shared = set(report.loc[report.status == "shared", "feature"])
    shared_sources = {
        s: set(alignment.loc[alignment.feature.isin(shared), snakemake.params.sources[s]]) for s in species
    }
    aligned = dict(zip(species, map(read_tsv, snakemake.input.aligned)))
    features = dict(zip(species, map(read_tsv, snakemake.input.features)))
    own = snakemake.params.own
    tables, own_report = sequence_tables(aligned, features, shared_sources, own["max_missing"], own["enabled"])
    for s, out in zip(species, snakemake.output.tables):
        tables[s].to_csv(out, sep="\t", index=False)
    own_report.to_csv(snakemake.output.report, sep="\t", index=False)
    counts = own_report[own_report.status == "own"].groupby("species").size().to_dict()
    log.info("%d shared features; own features kept per species: %s", len(shared), counts)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
