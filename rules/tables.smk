# Published feature tables instead of NWB files (source: tables): fetch, verify, join to labels.


localrules:
    fetch_table,


rule fetch_table:
    input:
        code=script_code("fetch_table.py"),
    output:
        table="results/raw/tables/{species}_{kind}.csv",
    log:
        "results/logs/fetch_table/{species}_{kind}.log",
    benchmark:
        "results/benchmarks/fetch_table/{species}_{kind}.tsv"
    conda:
        "../envs/features.yaml"
    params:
        spec=table_spec,
    script:
        "../workflow_scripts/fetch_table.py"


rule table_features:
    input:
        features="results/raw/tables/{species}_features.csv",
        labels="results/raw/tables/{species}_labels.csv",
        code=script_code("table_features.py"),
    output:
        features="results/features/{species}/features.tsv",
        failures="results/features/{species}/failures.tsv",
    log:
        "results/logs/table_features/{species}.log",
    benchmark:
        "results/benchmarks/table_features/{species}.tsv"
    conda:
        "../envs/features.yaml"
    params:
        features=species_config("tables", "features"),
        labels=species_config("tables", "labels"),
        min_cells_per_class=min_cells_per_class,
    script:
        "../workflow_scripts/table_features.py"
