"""`predict`: the subclass of new recordings from the selected model or a trained BiLSTM checkpoint.

    python -m patchseq_ml predict cell.nwb [more.nwb ...] --model results/model/human/selected.joblib [--json]

With the selected model (a ``.joblib`` bundle) see predict_selected.py. With a BiLSTM checkpoint (``.pt``):

Each file goes through the same reader, QC and feature-vector extraction as the workflow, with the extraction
settings stored in the checkpoint (so a prediction never mixes definitions), then through the model. Per cell: the
predicted subclass, the class probabilities and the three families with the most attention. A model trained on
other features (scalar feature tables, or families of other names or widths) is refused with one line; a file that
cannot be read, or a cell without any usable family, gets its reason; the exit status is 1 when any cell failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from .acquire.stimulus_table import StimulusTable
from .ephys.cell_features import extract_cell
from .ephys.collect import family_arrays
from .ephys.families import family_names, family_widths
from .learn.sequence_sources import FamilyStandardiser
from .learn.training import CheckpointError, load_checkpoint

ROOT = Path(__file__).resolve().parents[2]
TOP_FAMILIES = 3


class ModelMismatchError(ValueError):
    """The checkpoint was trained on features this command cannot compute the same way."""


def check_model(meta: dict) -> dict:
    """The feature settings of a families checkpoint, after checking its layout against them."""
    layout, settings = meta.get("layout", {}), meta.get("features")
    if layout.get("kind") != "families" or settings is None:
        raise ModelMismatchError(
            f"the model was trained on {layout.get('kind', 'scalar feature')} input, not on feature-vector families "
            "computed from NWB sweeps: predict needs a checkpoint of a run with bilstm.input: families"
        )
    names, widths = family_names(settings["families"]), family_widths(settings["families"])
    if names != layout["family_names"] or [widths[n] for n in names] != layout["widths"]:
        raise ModelMismatchError("the model's families differ from those its stored extraction settings produce")
    return settings


def predict_cell(path: Path, model, meta: dict, settings: dict, table: StimulusTable) -> dict:
    """Prediction record of one NWB file (``error`` set, and no prediction, when the cell has nothing usable)."""
    cell = path.name.split("_ses-")[-1].split("_")[0] if "_ses-" in path.name else path.stem
    result = extract_cell(path, cell, table, settings)
    record: dict = {"file": str(path), "cell_id": cell}
    if result.status != "ok":
        record["error"] = "; ".join(f.reason for f in result.failures if f.level == "cell")
        return record
    names = meta["layout"]["family_names"]
    arrays = family_arrays([{"cell_id": cell, "families": result.families}], names, family_widths(settings["families"]))
    values, mask = arrays["values"].astype(np.float64), arrays["mask"]
    if not mask.any():
        record["error"] = "no usable feature-vector family: " + "; ".join(
            f"{f.item} {f.reason}" for f in result.failures if f.level == "vector"
        )
        return record
    x = torch.as_tensor(FamilyStandardiser.from_dict(meta["scaler"]).apply(values, mask))
    head = meta.get("head") or next(iter(model.config.heads))  # the deployed model has a mouse and a human head
    model.eval()
    with torch.no_grad():
        proba = model.probabilities(x, torch.as_tensor(mask), head)[0].numpy()
        _, weights = model.encode(x, torch.as_tensor(mask))
    classes = meta["classes"]
    order = np.argsort(-weights[0].numpy())[:TOP_FAMILIES]
    record.update(
        predicted=classes[int(proba.argmax())],
        probabilities={c: round(float(p), 4) for c, p in zip(classes, proba)},
        top_families=[{"family": names[i], "attention": round(float(weights[0, i]), 4)} for i in order],
        missing_families=[n for n, present in zip(names, mask[0]) if not present],
    )
    note = missing_families_note(record["missing_families"], result.failures, len(names))
    if note:
        record["note"] = note
    return record


def missing_families_note(missing: list[str], failures, n_families: int) -> str:
    """One sentence for a cell whose protocol lacks what the model was trained on: which families are missing, why
    (the extraction's reason: usually a stimulus type the protocol lacks), and that the prediction rests on fewer
    families ("" when none is missing)."""
    if not missing:
        return ""
    reasons = {f.item: f.reason for f in failures if f.level == "vector"}
    listed = ", ".join(f"{n} ({reasons[n]})" if n in reasons else n for n in missing)
    return (
        f"protocol lacks what the model needs: {len(missing)} of {n_families} families missing: {listed}; "
        f"the prediction rests on the other {n_families - len(missing)} families only"
    )


def _line(record: dict) -> str:
    if "error" in record:
        return f"{record['file']}: {record['error']}"
    probs = ", ".join(f"{c} {p:.2f}" for c, p in sorted(record["probabilities"].items(), key=lambda kv: -kv[1]))
    top = ", ".join(f"{t['family']} {t['attention']:.2f}" for t in record["top_families"])
    note = f"\n  note: {record['note']}" if "note" in record else ""
    return f"{record['cell_id']}: {record['predicted']} ({probs}); attention: {top}{note}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m patchseq_ml predict", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="NWB 2 files (Allen/MIES layout)")
    parser.add_argument(
        "--model",
        required=True,
        type=Path,
        help="selected.joblib (the selected model) or a checkpoint.pt of the workflow",
    )
    parser.add_argument("--stimulus-codes", type=Path, default=ROOT / "config/stimulus_codes.tsv")
    parser.add_argument("--stimulus-map", type=Path, help="your protocol names -> types (TSV), consulted first")
    parser.add_argument("--json", action="store_true", help="one JSON list instead of one line per cell")
    args = parser.parse_args(argv)
    if args.model.suffix == ".joblib":  # the selected model (rule deploy_selected_model): predict_selected.py
        from .predict_selected import predict_files

        return predict_files(args.files, args.model, args.stimulus_codes, args.json)
    try:
        model, meta = load_checkpoint(args.model)
        settings = check_model(meta)
    except (CheckpointError, ModelMismatchError) as error:
        print(f"predict: {args.model}: {error}", file=sys.stderr)
        return 2
    table = StimulusTable.from_tsv(args.stimulus_codes, extra=args.stimulus_map)
    records = [predict_cell(path, model, meta, settings, table) for path in args.files]
    if args.json:
        print(json.dumps(records, indent=1))
    else:
        for record in records:
            print(_line(record), file=sys.stderr if "error" in record else sys.stdout)
    return 1 if any("error" in r for r in records) else 0
