"""Sequence sources of the BiLSTM: the families array (standardised per step and dim with training cells only,
absent families zero and masked) and the scalar-feature groups."""

import numpy as np
import pandas as pd
import pytest

from patchseq_ml.learn.sequence_sources import FamilySequences, FamilyStandardiser, SequenceSourceError, open_source
from patchseq_ml.learn.transfer import fold_data


@pytest.fixture
def families(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(5.0, 2.0, size=(6, 3, 4)).astype(np.float32)
    values[:, 2, 2:] = 0.0  # family 2 is 2 wide: padding
    mask = np.ones((6, 3), dtype=bool)
    mask[1, 0] = False
    values[1, 0] = 0.0
    path = tmp_path / "families.npz"
    with open(path, "wb") as handle:
        np.savez(
            handle,
            values=values,
            mask=mask,
            cell_ids=np.array([f"c{i}" for i in range(6)]),
            family_names=np.array(["a", "b", "c"]),
            family_widths=np.array([4, 4, 2]),
        )
    return path, values, mask


def test_standardiser_uses_only_present_training_cells(families):
    path, values, mask = families
    source = FamilySequences(path)
    train = ["c0", "c1", "c2", "c3"]
    scaler = source.fit(train)
    present = values[[0, 2, 3], 0]  # c1's family a is absent: not in its statistics
    np.testing.assert_allclose(scaler.mean[0], present.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(scaler.sd[0], present.std(axis=0), rtol=1e-5)
    assert (scaler.sd[2, 2:] == 1.0).all() and (scaler.mean[2, 2:] == 0.0).all()  # padding stays zero
    x, m = source.encode(["c1", "c4"], scaler)
    assert x.dtype == np.float32 and x.shape == (2, 3, 4)
    assert not m[0, 0] and (x[0, 0] == 0).all()  # absent: zeros and masked
    np.testing.assert_allclose(x[1, 0], (values[4, 0] - scaler.mean[0]) / scaler.sd[0], rtol=1e-5)
    again = FamilyStandardiser.from_dict(scaler.to_dict())
    np.testing.assert_allclose(again.apply(values[:2], mask[:2]), scaler.apply(values[:2], mask[:2]))


def test_unknown_cells_and_other_layouts_are_refused(families):
    source = FamilySequences(families[0])
    with pytest.raises(SequenceSourceError, match="no families for cell"):
        source.fit(["c0", "zz"])
    with pytest.raises(SequenceSourceError, match="differ from the checkpoint"):
        source.check_layout({"kind": "families", "family_names": ["a", "b"], "widths": [4, 4]})
    with pytest.raises(SequenceSourceError, match="widths"):
        source.check_layout({"kind": "families", "family_names": ["a", "b", "c"], "widths": [4, 4, 4]})
    source.check_layout(source.layout_dict())


def test_fold_data_reads_labels_from_the_split(families):
    source = FamilySequences(families[0])
    fold = pd.DataFrame(
        {
            "cell_id": [f"c{i}" for i in range(6)],
            "role": ["train", "train", "train", "val", "test", "test"],
            "subclass": ["Pvalb", "Sst", "Pvalb", "Sst", "Sst", "Pvalb"],
        }
    )
    data, _, ids = fold_data(source, fold, ["Pvalb", "Sst"])
    assert ids["test"] == ["c4", "c5"] and data["test"].y.tolist() == [1, 0]
    assert data["train"].x.shape == (3, 3, 4)


def test_feature_tables_give_groups(tmp_path):
    table = pd.DataFrame(
        {
            "cell_id": ["a", "b"],
            "subclass": ["Sst", "Vip"],
            "species": "h",
            "status": "ok",
            "sag": [0.1, 0.2],
            "tau": [10.0, 20.0],
            "rheobase": [50.0, np.nan],
        }  # fmt: skip
    )
    path = tmp_path / "aligned.tsv"
    table.to_csv(path, sep="\t", index=False)
    source = open_source(path, "features", {"sub": "^(sag|tau)$", "firing": "rheobase"})
    assert source.family_names == ["sub", "firing"] and source.width == 2
    x, mask = source.encode(["a", "b"], source.fit(["a", "b"]))
    assert mask.tolist() == [[True, True], [True, False]]
