"""The stage paths, config slices and code inputs of `dag` (where the cells come from: test_dag_cells.py)."""

import copy

import pytest

from patchseq_ml import dag, dag_cells


def test_extraction_settings_are_the_features_section_but_what_other_rules_read(config):
    settings = dag.extraction_settings(config)
    assert "max_failed_fraction" not in settings and "stimulus_codes" not in settings
    assert "batch_size" not in settings  # regrouping cells into extraction jobs is not a new extraction setting
    for section in ("qc", "spikes", "families"):  # whole: a new key there reaches extraction with no change here
        assert settings[section] is config["features"][section]
    extended = copy.deepcopy(config)
    extended["features"]["tau_new_setting"] = 1
    assert dag.extraction_settings(extended)["tau_new_setting"] == 1
    assert list(dag.config_slice({"a": 1, "b": 2, "c": 3}, keys=["c", "a"])) == ["a", "c"]  # config order
    pretrain, finetune = dag.bilstm_settings(config, "pretrain"), dag.bilstm_settings(config)
    assert "finetune" not in pretrain and "finetune" in finetune and not {"strategies", "deploy"} & set(finetune)


def test_stage_paths_follow_seeds_folds_and_strategies(config):
    c = copy.deepcopy(config)
    c["splits"].update(seeds=[0, 1], human={"kind": "kfold", "folds": 3, "val_fraction": 0.2, "test_fraction": 0.2})
    c["bilstm"].update(strategies=["scratch", "joint"])
    assert dag.folds(c, "human") == [0, 1, 2]
    assert dag.runs(c) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    files = dag.finetune_files(c, "attention.tsv")
    assert len(files) == 12 and files[0] == "results/finetune/human/scratch/seed0/fold0/attention.tsv"
    assert files[6].startswith("results/finetune/human/joint/seed0/fold0/")  # strategy-major
    forest = dag.baseline_predictions(c, "human", dag.FOREST_MODEL)
    assert forest[-1] == "results/baseline/human/rf/seed1/fold2.tsv" and len(forest) == 6
    models = c["baseline"]["models"]
    assert dag.baseline_keys(c)[: len(models)] == [("mouse", m) for m in models]
    assert dag.baseline_files(c, ["confusion"])[0] == f"results/baseline/mouse/{models[0]}/confusion.tsv"
    c["splits"]["human"] = {"kind": "holdout", "val_fraction": 0.2, "test_fraction": 0.2}
    assert dag.n_folds(c, "human") == 1 and dag.folds(c, "human") == [0] and dag.folds(c, "mouse") == [0, 1, 2, 3, 4]
    assert dag.fold_minutes(c, "human") == 20 and dag.fold_minutes(c, "mouse") == 100  # 20 minutes per fold
    c["bilstm"].update(deploy={"strategy": "joint", "seed": None})
    assert dag.deploy_seed(c) == 0


def test_learning_curve_runs_pair_each_file_with_its_method_and_fraction(config):
    c = copy.deepcopy(config)
    c["splits"]["human"] = {"kind": "kfold", "folds": 2, "val_fraction": 0.2, "test_fraction": 0.2}
    c["learning_curve"].update(fractions=[0.1, 0.5], strategies=["scratch"], baselines=["rf"], seeds=[3])
    runs = dag.learning_curve_files(c)
    assert [(m, f) for m, f, _ in runs] == [("scratch", f) for f in (0.1, 0.1, 0.5, 0.5, 1.0, 1.0)] + [
        (dag.FOREST, f) for f in (0.1, 0.1, 0.5, 0.5, 1.0, 1.0)
    ]
    paths = [p for *_, p in runs]
    assert paths[1] == "results/learning_curve/human/scratch/frac0.1/seed3/fold1/predictions.tsv"
    assert paths[4] == "results/finetune/human/scratch/seed3/fold0/predictions.tsv"  # the full-data run
    assert paths[6] == "results/learning_curve/human/rf/frac0.1/seed3/fold0.tsv"
    assert paths[-1] == "results/baseline/human/rf/seed3/fold1.tsv"


def test_report_inputs_and_settings_depend_on_the_source(config):
    simulated = dag.report_data_files(config)
    assert simulated["spike_detection"] == [f"results/features/{s}/spike_detection.tsv" for s in dag_cells.SPECIES]
    dandi = dag.report_data_files({**config, "source": "dandi"})
    assert dandi["traces"] and not dandi["spike_detection"]
    tables = dag.report_data_files({**config, "source": "tables"})
    assert tables["features"] and not tables["sheets"] and not tables["traces"]
    settings = dag.report_settings(config, {})
    assert settings["preset"] == config["preset"] and all(isinstance(v, str) for v in settings.values())
    dandisets = {"mouse": {"id": "1", "version": "2"}, "human": {"id": "3", "version": "4"}}
    listed = dag.report_settings(
        {**config, "source": "dandi", "dandi": {"dandisets": dandisets}}, {"mouse": 5, "human": 6}
    )
    assert listed["human dandiset"] == "3 version 4" and listed["mouse cells listed"] == "5"


def _package(root, files: dict[str, str]):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "lib"


def test_library_modules_follows_every_kind_of_import_transitively(tmp_path):
    package = _package(
        tmp_path,
        {
            "lib/__init__.py": "",
            "lib/util.py": "import os\n",
            "lib/unused.py": "",
            "lib/a/__init__.py": "from .helpers import VALUE\n",
            "lib/a/helpers.py": "VALUE = 1\n",
            "lib/a/mod.py": "from . import sibling\nfrom ..b import deep\n",
            "lib/a/sibling.py": "def f():\n    import lib.util  # an import inside a function counts too\n",
            "lib/b/__init__.py": "",
            "lib/b/deep.py": "from lib.b.deeper import thing\n",
            "lib/b/deeper.py": "thing = 1\n",
            "script.py": "import numpy\nfrom lib.a.mod import run\n",
            "other.py": "import lib.b\n",
        },
    )
    found = [
        str(tmp_path.joinpath(p).relative_to(tmp_path)) for p in dag.library_modules(tmp_path / "script.py", package)
    ]
    assert found == [
        "lib/__init__.py",
        "lib/a/__init__.py",
        "lib/a/helpers.py",  # through the package's __init__
        "lib/a/mod.py",
        "lib/a/sibling.py",
        "lib/b/__init__.py",
        "lib/b/deep.py",
        "lib/b/deeper.py",
        "lib/util.py",
    ]
    assert [p.rsplit("/", 2)[-2:] for p in dag.library_modules(tmp_path / "other.py", package)] == [
        ["lib", "__init__.py"],
        ["b", "__init__.py"],
    ]


def test_library_modules_of_the_rule_scripts_include_what_the_hand_lists_missed():
    def modules(script):
        paths = dag.library_modules(dag.PACKAGE_DIR.parent / script)
        return {p.split("/patchseq_ml/", 1)[1] for p in paths}

    extraction = modules("extract_features.py")
    assert {"ephys/filters.py", "ephys/time_constant.py", "acquire/stimulus_table.py", "logging_utils.py"} <= extraction
    assert not any(m.startswith(("learn/", "present/")) for m in extraction)
    assert "learn/splits.py" in modules("finetune.py")
    assert {"learn/model.py", "learn/training.py", "learn/sequence_sources.py"} <= modules("embed_cells.py")
    assert "acquire/dandi_download.py" in modules("download_asset.py")


def test_selection_candidates_and_their_files_are_candidate_major(config):
    c = copy.deepcopy(config)
    c["splits"]["seeds"] = [0, 1]
    c["selection"].update(baselines=["rf", "hgb"], strategies=["scratch"])
    assert dag.selection_candidates(c) == [
        ("forest", "sklearn", "rf"),
        ("hgb", "sklearn", "hgb"),
        ("scratch", "bilstm", "scratch"),
    ]
    files = dag.selection_files(c)
    n = len(dag.runs(c))
    assert len(files) == 3 * n and files[0] == "results/baseline/human/rf/seed0/fold0.tsv"
    assert files[n] == "results/baseline/human/hgb/seed0/fold0.tsv"
    assert files[2 * n] == "results/finetune/human/scratch/seed0/fold0/predictions.tsv"


def test_human_only_methods_are_the_learning_curve_baselines_and_scratch(config):
    c = copy.deepcopy(config)
    c["learning_curve"].update(baselines=["rf", "hgb"], strategies=["scratch", "joint"])
    assert dag.human_only_methods(c) == ["forest", "hgb", "scratch"]
    c["learning_curve"]["strategies"] = ["joint"]
    assert dag.human_only_methods(c) == ["forest", "hgb"]


def test_contradicting_settings_are_refused_in_one_line(config):
    tables = copy.deepcopy(config) | {"source": "tables"}
    with pytest.raises(ValueError, match="families needs raw sweeps"):
        dag.check_config(tables)
    untrained = copy.deepcopy(config)
    untrained["selection"]["baselines"] = ["rf", "svm"]
    with pytest.raises(ValueError, match=r"selection.baselines: \['svm'\] not in baseline.models"):
        dag.check_config(untrained)
    dag.check_config(config)


def test_stimulus_map_is_an_input_only_when_set(config):
    c = copy.deepcopy(config)
    c["features"]["stimulus_map"] = "my_map.tsv"
    assert dag.stimulus_map(c) == ["my_map.tsv"]
    c["features"]["stimulus_map"] = None
    assert dag.stimulus_map(c) == []


def test_resolved_spec_resolves_a_relative_path_against_the_repository():
    assert dag.resolved_spec({"path": "a/b.csv", "url": "u"}, "/repo") == {"path": "/repo/a/b.csv", "url": "u"}
    assert dag.resolved_spec({"path": "/abs.csv"}, "/repo") == {"path": "/abs.csv"}


def test_baseline_settings_calibrate_only_the_listed_species(config):
    c = copy.deepcopy(config)
    human, mouse = dag.baseline_settings(c, "human"), dag.baseline_settings(c, "mouse")
    assert "models" not in human and "calibration_species" not in human
    assert human["calibration"] == c["baseline"]["calibration"] != "none" and "calibration_folds" in human
    assert mouse["calibration"] == "none" and "calibration_folds" not in mouse  # not in calibration_species
    c["baseline"]["calibration_folds"] = 3  # reaches the calibrated species' fits only
    assert dag.baseline_settings(c, "mouse") == mouse and dag.baseline_settings(c, "human") != human
    c["baseline"]["calibration_species"] = ["human", "mouse"]
    assert dag.baseline_settings(c, "mouse")["calibration"] == c["baseline"]["calibration"]


def test_the_learning_curve_fits_no_temperature_it_would_not_use(config):
    c = copy.deepcopy(config)
    c["baseline"]["calibration"] = "temperature"  # changes no predicted class: the curve's macro-F1 is the same
    expected = {k: v for k, v in dag.baseline_settings(c, "human").items() if k != "calibration_folds"}
    assert dag.learning_curve_baseline_settings(c) == expected | {"calibration": "none"}
    c["baseline"]["calibration"] = "sigmoid"  # can move a class: fitted there too
    assert dag.learning_curve_baseline_settings(c) == dag.baseline_settings(c, "human")
