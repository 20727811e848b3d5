# Real archives (source: dandi): label tables and NWB assets of the pinned dandiset versions, sha256-verified.
# The asset listing is read when the workflow is parsed (rules/common.smk), so that `snakemake -n` shows every
# download; downloads run on the submitting host (compute nodes often lack internet), `downloads` at a time.
# With `dandi.stream: true` nothing is downloaded: extraction streams each file from the archive (rules/features.smk).


localrules:
    fetch_label_table,
    download_asset,


rule fetch_label_table:
    input:
        code=script_code("fetch_table.py"),
    output:
        table="results/raw/dandi/{species}_labels.csv",
    log:
        "results/logs/fetch_label_table/{species}.log",
    benchmark:
        "results/benchmarks/fetch_label_table/{species}.tsv"
    conda:
        "../envs/features.yaml"
    params:
        spec=label_table_spec,
    script:
        "../workflow_scripts/fetch_table.py"


rule download_asset:
    input:
        code=script_code("download_asset.py"),
    output:
        nwb=protected("results/raw/dandi/{species}/{asset}"),
    log:
        "results/logs/download_asset/{species}/{asset}.log",
    benchmark:
        "results/benchmarks/download_asset/{species}/{asset}.tsv"
    conda:
        "../envs/dandi.yaml"
    resources:
        downloads=1,
    params:
        row=asset_row,
        api_url=dandi_api_url,
        mirror=dandi_mirror,
    script:
        "../workflow_scripts/download_asset.py"
