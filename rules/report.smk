# Reports: the data report (cells, retention, failure reasons, traces, feature distributions).


rule export_example_traces:
    input:
        features="results/features/{species}/features.tsv",
        sheet="results/sheets/{species}_cells.tsv",
        nwb=simulated_batch_dirs,
        stimulus_codes=repo_path(config["features"]["stimulus_codes"]),
        code=library("present/example_traces.py"),
    output:
        traces="results/report/traces/{species}.npz",
    log:
        "results/logs/export_example_traces/{species}.log",
    benchmark:
        "results/benchmarks/export_example_traces/{species}.tsv"
    conda:
        "../envs/report.yaml"
    params:
        qc=config["features"]["qc"],
    script:
        "../workflow_scripts/export_example_traces.py"


rule data_report:
    input:
        sheets=expand("results/sheets/{species}_cells.tsv", species=SPECIES),
        features=expand("results/features/{species}/features.tsv", species=SPECIES),
        failures=expand("results/features/{species}/failures.tsv", species=SPECIES),
        sweep_counts=expand(
            "results/features/{species}/sweep_counts.tsv", species=SPECIES
        ),
        spike_detection=expand(
            "results/features/{species}/spike_detection.tsv", species=SPECIES
        ),
        traces=expand("results/report/traces/{species}.npz", species=SPECIES),
        code=library("present/data_report.py", "present/plots.py", "present/html.py"),
    output:
        html="results/report/data_report.html",
        figures=directory("results/report/figures/data"),
    log:
        "results/logs/data_report/data_report.log",
    benchmark:
        "results/benchmarks/data_report/data_report.tsv"
    conda:
        "../envs/report.yaml"
    params:
        species=SPECIES,
        features=config["report"]["features"],
        colours=config["report"]["colours"],
        provenance=report_provenance(),
    script:
        "../workflow_scripts/data_report.py"
