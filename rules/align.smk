# Alignment: the quantities both species share (common units), the sequence tables of feature input, and the
# cross-species shift of the shared quantities.


rule align_features:
    input:
        features=expand("results/features/{species}/features.tsv", species=SPECIES),
        alignment=repo_path("config/feature_alignment.tsv"),
        code=script_code("align_features.py"),
    output:
        aligned=expand("results/features/aligned/{species}.tsv", species=SPECIES),
        report="results/features/aligned/alignment_report.tsv",
    log:
        "results/logs/align_features/align_features.log",
    benchmark:
        "results/benchmarks/align_features/align_features.tsv"
    conda:
        "../envs/sklearn.yaml"
    params:
        sources=dag.feature_sources(config),
        max_missing=config["baseline"]["max_missing"],
    script:
        "../workflow_scripts/align_features.py"


# Feature input only: the shared quantities plus each species' own features (masked in the other species).
rule sequence_features:
    input:
        aligned=expand("results/features/aligned/{species}.tsv", species=SPECIES),
        features=expand("results/features/{species}/features.tsv", species=SPECIES),
        report="results/features/aligned/alignment_report.tsv",
        alignment=repo_path("config/feature_alignment.tsv"),
        code=script_code("sequence_features.py"),
    output:
        tables=expand("results/features/sequence/{species}.tsv", species=SPECIES),
        report="results/features/sequence/own_features.tsv",
    log:
        "results/logs/sequence_features/sequence_features.log",
    benchmark:
        "results/benchmarks/sequence_features/sequence_features.tsv"
    conda:
        "../envs/sklearn.yaml"
    params:
        sources=dag.feature_sources(config),
        own=dag.config_slice(config["bilstm"]["own_features"], without=["families"]),
    script:
        "../workflow_scripts/sequence_features.py"


rule species_shift:
    input:
        mouse="results/features/aligned/mouse.tsv",
        human="results/features/aligned/human.tsv",
        code=script_code("species_shift.py"),
    output:
        shift="results/features/aligned/species_shift.tsv",
    log:
        "results/logs/species_shift/species_shift.log",
    benchmark:
        "results/benchmarks/species_shift/species_shift.tsv"
    conda:
        "../envs/sklearn.yaml"
    params:
        class_map=config["classes"]["cross_species"],
    script:
        "../workflow_scripts/species_shift.py"
