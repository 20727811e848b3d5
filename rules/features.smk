# Cell sheet (for source: local, from your cell sheet, local.sheet), per-cell QC and features, per-species tables, and spike detection against the simulator's truth.
# With dandi.stream, extraction reads each NWB file from the archive over HTTP (a `downloads` slot per job; on a
# cluster the compute nodes then need internet) and the cell sheet records those URLs.


rule cells_sheet:
    input:
        labels=species_label_file,
        nwb=species_nwb_inputs,
        code=script_code("cells_sheet.py"),
    output:
        sheet="results/sheets/{species}_cells.tsv",
    log:
        "results/logs/cells_sheet/{species}.log",
    benchmark:
        "results/benchmarks/cells_sheet/{species}.tsv"
    conda:
        "../envs/features.yaml"
    params:
        labels=species_config("labels"),
        nwb_paths=species_nwb_paths,
        nwb_sources=species_nwb_sources,
        sheet_rows=species_sheet_rows,
    script:
        "../workflow_scripts/cells_sheet.py"


rule extract_features:
    input:
        nwb=batch_nwb_inputs,
        stimulus_codes=repo_path(config["features"]["stimulus_codes"]),
        stimulus_map=dag.stimulus_map(config),
        code=script_code("extract_features.py"),
    output:
        cells=directory("results/features/{species}/cells/batch{batch}"),
    log:
        "results/logs/extract_features/{species}/batch{batch}.log",
    benchmark:
        "results/benchmarks/extract_features/{species}/batch{batch}.tsv"
    conda:
        "../envs/features.yaml"
    resources:
        mem_mb=1000,
        runtime=60,
        downloads=batch_stream_slots,
    params:
        cells=batch_cells,
        features=dag.extraction_settings(config),
    script:
        "../workflow_scripts/extract_features.py"


rule collect_features:
    input:
        batches=species_extraction_folders,
        sheet="results/sheets/{species}_cells.tsv",
        code=script_code("collect_features.py"),
    output:
        features="results/features/{species}/features.tsv",
        families="results/features/{species}/families.npz",
        failures="results/features/{species}/failures.tsv",
        sweep_counts="results/features/{species}/sweep_counts.tsv",
    log:
        "results/logs/collect_features/{species}.log",
    benchmark:
        "results/benchmarks/collect_features/{species}.tsv"
    conda:
        "../envs/features.yaml"
    params:
        records=species_cell_records,
        max_failed_fraction=config["features"]["max_failed_fraction"],
        families=config["features"]["families"],
    script:
        "../workflow_scripts/collect_features.py"


rule validate_spike_detection:
    input:
        batches=species_extraction_folders,
        truth="results/raw/simulated/{species}/truth.json",
        code=script_code("validate_spike_detection.py"),
    output:
        table="results/features/{species}/spike_detection.tsv",
    log:
        "results/logs/validate_spike_detection/{species}.log",
    benchmark:
        "results/benchmarks/validate_spike_detection/{species}.tsv"
    conda:
        "../envs/features.yaml"
    params:
        records=species_cell_records,
        tolerance_s=0.001,
    script:
        "../workflow_scripts/validate_spike_detection.py"
