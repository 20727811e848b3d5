# The embedded default dataset: simulated Patch-seq cells in the Allen/MIES NWB layout.


rule simulate_batch:
    input:
        phenotypes=repo_path(config["simulation"]["phenotypes"]),
        code=library(
            "acquire/neuron_model.py",
            "acquire/phenotypes.py",
            "acquire/protocol.py",
            "acquire/simulator.py",
            "acquire/simulated_dataset.py",
            "acquire/cell_ids.py",
            "acquire/nwb_writer.py",
        ),
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
        labels=simulated_batch_files("labels"),
        truth=simulated_batch_files("truth"),
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
