# Targets that stop after one stage: `snakemake features`, `baseline`, `transfer`, `select`.


rule features:
    input:
        expand("results/features/{species}/features.tsv", species=SPECIES),


rule baseline:
    input:
        dag.baseline_files(config),


rule transfer:
    input:
        "results/finetune/human/paired_differences.tsv",
        "results/learning_curve/human/learning_curve.tsv",


rule select:
    input:
        "results/select/human/selected.json",
