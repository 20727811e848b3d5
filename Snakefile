# Patch-seq electrophysiology -> transcriptomic subclass, mouse -> human (reproduces and extends arXiv 2603.11000).
# Results tree (everything generated lives under results/; delete it to start over):
#   results/raw/{simulated,dandi}/{species}/   NWB files (simulated, or downloaded: config/real.yaml), label tables
#                                              (source: local reads your files in place: the cell sheet, local.sheet)
#   results/sheets/, results/features/{species}/   cell sheets; per-cell records, features, families, failures
#   results/splits/, results/baseline/, results/pretrain/, results/finetune/, results/learning_curve/   models
#   results/select/   model selection for human cells (candidates, the chosen model and its held-out score)
#   results/model/   the deployed human model and the embedding of both species
#   results/report/   report.html and figures (PNG + SVG)
#   results/logs/{rule}/, results/benchmarks/{rule}/   one log and one benchmark per job

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"


if is_simulated():

    include: "rules/simulate.smk"


if config["source"] == "dandi":

    include: "rules/dandi.smk"


if is_nwb_source():

    include: "rules/features.smk"

else:

    include: "rules/tables.smk"


include: "rules/splits.smk"
include: "rules/align.smk"
include: "rules/baseline.smk"
include: "rules/pretrain.smk"
include: "rules/finetune.smk"
include: "rules/learning_curve.smk"
include: "rules/select.smk"
include: "rules/deploy.smk"
include: "rules/report.smk"
include: "rules/targets.smk"  # features, baseline, transfer, select: stage targets


rule all:
    default_target: True
    input:
        "results/report/report.html",
