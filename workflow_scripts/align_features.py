"""Rule align_features: features of both species on the shared quantities, and which were shared or dropped why."""

from patchseq_ml.learn.alignment import alignment_report, load_alignment, to_common
from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.tsv import read_tsv


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    alignment = load_alignment(snakemake.input.alignment)
    sources = snakemake.params.sources
    common = {}
    for species, path in zip(sources, snakemake.input.features):
        features = read_tsv(path)
        common[species] = to_common(features, alignment, sources[species])
    report = alignment_report(common, alignment, sources, snakemake.params.max_missing)
    shared = report.loc[report.status == "shared", "feature"].tolist()
    for species, out in zip(sources, snakemake.output.aligned):
        common[species][
            [c for c in common[species] if c in ("cell_id", "subclass", "exclusion", "status")] + shared
        ].to_csv(out, sep="\t", index=False)
    report.to_csv(snakemake.output.report, sep="\t", index=False)
    log.info("%d shared features, %d dropped", len(shared), (report.status == "dropped").sum())


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
