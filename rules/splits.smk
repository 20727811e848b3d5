# Splits: train/val/test roles of every cell in every fold, once per species and seed, shared by every model.


rule make_splits:
    input:
        features="results/features/{species}/features.tsv",
        code=script_code("make_splits.py"),
    output:
        splits="results/splits/{species}/seed{seed}.tsv",
    log:
        "results/logs/make_splits/{species}_seed{seed}.log",
    benchmark:
        "results/benchmarks/make_splits/{species}_seed{seed}.tsv"
    conda:
        "../envs/sklearn.yaml"
    params:
        scheme=species_config("splits"),
    script:
        "../workflow_scripts/make_splits.py"
