# The embedded default dataset: simulated Patch-seq cells in the Allen/MIES NWB layout.


rule simulate_batch:
    input:
        phenotypes=repo_path(config["simulation"]["phenotypes"]),
        code=script_code("simulate_batch.py"),
    output:
        nwb=directory("results/raw/simulated/{species}/batch{batch}"),
        labels="results/raw/simulated/{species}/labels_batch{batch}.tsv",
        truth="results/raw/simulated/{species}/truth_batch{batch}.json",
    log:
        "results/logs/simulate_batch/{species}_{batch}.log",
    benchmark:
        "results/benchmarks/simulate_batch/{species}_{batch}.tsv"
    conda:
        "../envs/features.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        n_cells=species_cell_count,
        simulation=config["simulation"],
    script:
        "../workflow_scripts/simulate_batch.py"


rule merge_simulated_labels:
    input:
        labels=batch_labels,
        truth=batch_truths,
        code=script_code("merge_simulated_labels.py"),
    output:
        labels="results/raw/simulated/{species}/labels.csv",
        truth="results/raw/simulated/{species}/truth.json",
    log:
        "results/logs/merge_simulated_labels/{species}.log",
    benchmark:
        "results/benchmarks/merge_simulated_labels/{species}.tsv"
    conda:
        "../envs/features.yaml"
    script:
        "../workflow_scripts/merge_simulated_labels.py"
