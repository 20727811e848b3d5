# The report: data (cells, retention, failure reasons, traces, feature distributions) and baselines.
# `snakemake --report results/report.zip` on a finished run packs report.html and the figures (PNG), with the
# captions of report/ (report/captions/figure.rst includes report/captions/{figure}.rst for each figure).

from patchseq_ml.present import figures as report_figures


report: "../report/workflow.rst"


rule export_example_traces:
    input:
        features="results/features/{species}/features.tsv",
        sheet="results/sheets/{species}_cells.tsv",
        nwb=species_nwb_inputs,
        stimulus_codes=repo_path(config["features"]["stimulus_codes"]),
        stimulus_map=dag.stimulus_map(config),
        code=script_code("export_example_traces.py"),
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


rule report:
    input:
        unpack(report_data_inputs),
        baseline_summaries=dag.baseline_files(config, ["metrics_summary"]),
        baseline_confusions=dag.baseline_files(config, ["confusion"]),
        alignment="results/features/aligned/alignment_report.tsv",
        transfer_summary="results/finetune/human/metrics_summary.tsv",
        transfer_paired="results/finetune/human/paired_differences.tsv",
        attention_by_class="results/finetune/attention_by_class.tsv",
        learning_curve="results/learning_curve/human/learning_curve.tsv",
        learning_curve_paired="results/learning_curve/human/paired_vs_best_human_only.tsv",
        selected="results/select/human/selected.json",
        candidates="results/select/human/candidates.tsv",
        deployed_selected="results/model/human/selected.json",
        species_shift="results/features/aligned/species_shift.tsv",
        calibration="results/finetune/human/calibration.tsv",
        calibration_bins="results/finetune/human/calibration_bins.tsv",
        confusion="results/finetune/human/confusion.tsv",
        embedding="results/model/embedding.tsv",
        embedding_alignment="results/model/embedding_alignment.tsv",
        deployed="results/model/human/metrics.json",
        unlabelled="results/model/unlabelled_predictions.tsv",
        pretrain=expand(
            "results/pretrain/mouse/seed{seed}/metrics.json",
            seed=config["splits"]["seeds"],
        ),
        code=script_code("report.py"),
    output:
        html=report(
            "results/report/report.html",
            caption="../report/captions/report_html.rst",
            category="0. Report",
            labels={"file": "report.html"},
        ),
        figures=report(
            directory("results/report/figures"),
            patterns=["{name}.png"],
            caption="../report/captions/figure.rst",
            category=lambda wildcards: report_figures.category(
                wildcards.name, SPECIES
            ),
            labels=lambda wildcards: report_figures.labels(wildcards.name, SPECIES),
        ),
    log:
        "results/logs/report/report.log",
    benchmark:
        "results/benchmarks/report/report.tsv"
    conda:
        "../envs/report.yaml"
    params:
        species=SPECIES,
        features=config["report"]["features"],
        colours=config["report"]["colours"],
        class_map=config["classes"]["cross_species"],
        n_seeds=len(config["splits"]["seeds"]),
        human_only=dag.human_only_methods(config),
        baseline_keys=dag.baseline_keys(config),
        provenance=report_provenance(),
        stage_order=[r.name for r in workflow.rules],
        # read, not inputs: every job's benchmark (all of them run before the report) and, for --report, the captions
        benchmarks="results/benchmarks",
        captions=repo_path("report/captions"),
    script:
        "../workflow_scripts/report.py"
