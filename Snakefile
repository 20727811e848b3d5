# Patch-seq electrophysiology -> transcriptomic subclass, mouse -> human (reproduces and extends arXiv 2603.11000).
#
# Results tree (everything generated lives under results/; delete it to start over):
#   results/raw/simulated/{species}/      embedded default dataset: NWB files per batch, labels.csv, truth.json
#   results/sheets/{species}_cells.tsv    the cell sheet: NWB file <-> label <-> subclass
#   results/features/{species}/           per-cell records (cells/*.json), features/failures/sweep-count tables
#   results/splits/{species}/seed{seed}.tsv   train/val/test per fold, shared by every model
#   results/baseline/{species}/{model}/   predictions per seed and fold, metrics, confusion matrix
#   results/pretrain/mouse/seed{seed}/, results/finetune/human/{strategy}/seed{seed}/fold{fold}/   BiLSTM runs
#   results/report/                       report.html and figures (PNG + SVG)
#   results/logs/{rule}/, results/benchmarks/{rule}/   one log and one benchmark per job


from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"


if is_nwb_source():

    include: "rules/simulate.smk"
    include: "rules/features.smk"

else:

    include: "rules/tables.smk"


include: "rules/baseline.smk"
include: "rules/transfer.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        "results/report/report.html",


rule features:
    input:
        expand("results/features/{species}/features.tsv", species=SPECIES),


rule baseline:
    input:
        baseline_summaries(),


rule transfer:
    input:
        "results/finetune/human/paired_differences.tsv",
        "results/learning_curve/human/learning_curve.tsv",
