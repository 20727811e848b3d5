"""`predict` with the selected model (``--model results/model/human/selected.joblib``, rule deploy_selected_model).

The same reader, QC and extraction as the workflow (the run's extraction settings stored in the bundle) give the
scalar features, the families or both from one recording; each member answers (a scikit-learn pipeline on the
features, a BiLSTM through ``predict.predict_cell``) and an ensemble averages their probabilities, as in
selection. The output names the answering model and its cross-validated macro-F1 (held-out evaluation seeds), and
explains each prediction by the BiLSTM's attention where a member has it, else by the forest's feature importances
(global, not per cell).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .acquire.stimulus_table import StimulusTable
from .ephys.cell_features import extract_cell
from .learn.selected_model import BundleError, describe, load_bundle, sklearn_proba, top_importances
from .learn.training import model_from_payload
from .predict import ModelMismatchError, check_model, predict_cell


def check_bundle(bundle: dict) -> None:
    if bundle["source"] == "tables" or not bundle.get("extraction"):
        raise ModelMismatchError(
            "the model was trained on published feature tables (source: tables), whose features predict cannot "
            "compute from NWB sweeps the same way: use the bundle of a run on NWB files"
        )


def predict_cell_with_bundle(path: Path, bundle: dict, networks: dict, table: StimulusTable) -> dict:
    """Prediction record of one NWB file with every member of the bundle (``networks``: name -> (model, meta))."""
    cell = path.name.split("_ses-")[-1].split("_")[0] if "_ses-" in path.name else path.stem
    record: dict = {
        "file": str(path),
        "cell_id": cell,
        "model": bundle["model"],
        "cv_macro_f1": bundle["cv"]["macro_f1"],
    }
    classes, probas, explanation = bundle["classes"], [], None
    sklearn_members = [m for m in bundle["members"] if m["kind"] == "sklearn"]
    if sklearn_members:
        result = extract_cell(path, cell, table, bundle["extraction"])
        if result.status != "ok":
            record["error"] = "; ".join(f.reason for f in result.failures if f.level == "cell")
            return record
        features = pd.DataFrame([result.features])
        probas += [sklearn_proba(m, features, classes)[0] for m in sklearn_members]
    for name, (model, meta) in networks.items():
        answer = predict_cell(path, model, meta, check_model(meta), table)
        if "error" in answer:
            record["error"] = f"{name}: {answer['error']}"
            return record
        probas.append(np.array([answer["probabilities"][c] for c in classes]))
        explanation = {"kind": f"{name} attention", "top": answer["top_families"]}
        record["missing_families"] = answer["missing_families"]
    if explanation is None:
        kind, top = top_importances(bundle)
        explanation = {"kind": kind, "top": top}
    proba = np.mean(probas, axis=0)
    record.update(
        predicted=classes[int(proba.argmax())],
        probabilities={c: round(float(p), 4) for c, p in zip(classes, proba)},
        explanation=explanation,
    )
    return record


def _line(record: dict) -> str:
    if "error" in record:
        return f"{record['file']}: {record['error']}"
    probs = ", ".join(f"{c} {p:.2f}" for c, p in sorted(record["probabilities"].items(), key=lambda kv: -kv[1]))
    top = ", ".join(
        f"{t.get('family', t.get('feature'))} {t.get('attention', t.get('importance')):.2f}"
        for t in record["explanation"]["top"]
    )
    return f"{record['cell_id']}: {record['predicted']} ({probs}); {record['explanation']['kind']}: {top}"


def predict_files(files: list[Path], model_path: Path, stimulus_codes: Path, as_json: bool) -> int:
    """`predict` on ``files`` with a bundle: 2 when the bundle cannot be used, 1 when a cell failed, else 0."""
    try:
        bundle = load_bundle(model_path)
        check_bundle(bundle)
        networks = {m["name"]: model_from_payload(m["checkpoint"]) for m in bundle["members"] if m["kind"] == "bilstm"}
        for _, meta in networks.values():
            check_model(meta)
    except (BundleError, ModelMismatchError) as error:
        print(f"predict: {model_path}: {error}", file=sys.stderr)
        return 2
    table = StimulusTable.from_tsv(stimulus_codes)
    records = [predict_cell_with_bundle(path, bundle, networks, table) for path in files]
    if as_json:
        print(json.dumps(records, indent=1))
    else:
        print(describe(bundle))
        for record in records:
            print(_line(record), file=sys.stderr if "error" in record else sys.stdout)
    return 1 if any("error" in r for r in records) else 0
