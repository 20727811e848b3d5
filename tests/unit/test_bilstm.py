"""The attention BiLSTM: masks, determinism, checkpoints and the transfer strategies on small synthetic data."""

import numpy as np
import pandas as pd
import pytest
import torch

from patchseq_ml.learn.model import AttentionBiLSTM, ModelConfig
from patchseq_ml.learn.sequences import Standardiser, layout_from_patterns, to_sequences
from patchseq_ml.learn.training import (
    CheckpointError,
    TaskData,
    fit_temperature,
    load_checkpoint,
    predict_proba,
    save_checkpoint,
    seed_everything,
    train,
)
from patchseq_ml.learn.transfer import (
    ConfigMismatchError,
    check_architecture,
    coral_loss,
    initialise_head_from_mouse,
    mouse_rows,
    reverse_gradient,
    run_strategy,
    with_new_head,
)

OPTIM = {
    "lr": 1e-2,
    "weight_decay": 1e-4,
    "clip": 2.0,
    "batch_size": 32,
    "max_epochs": 8,
    "patience": 3,
    "class_weight": "balanced",
    "calibration": "temperature",
}
SETTINGS = {
    "model": {"hidden": 8, "layers": 1, "dropout": 0.1, "pooling": "attention"},
    "pretrain": OPTIM,
    "finetune": {
        "lr": 5e-3,
        "warmup_frozen_epochs": 2,
        "joint_lr": 5e-3,
        "joint_mouse_weight": 0.5,
        "joint_finetune_lr": 3e-3,
        "coral_weight": 1.0,
        "adversarial_weight": 0.1,
    },
}


def _task(n=120, steps=3, width=2, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.normal(size=(n, steps, width)).astype(np.float32)
    x[:, 0, 0] += 4.0 * y  # the label lives in step 0
    mask = np.ones((n, steps), dtype=bool)
    mask[rng.random(n) < 0.2, 2] = False
    return TaskData(x, mask, y)


def test_values_of_a_masked_family_never_change_the_output():
    seed_everything(0)
    model = AttentionBiLSTM(ModelConfig(2, 3, {"h": 3}, hidden=8)).eval()
    data = _task()
    x, mask = torch.tensor(data.x), torch.tensor(data.mask)
    mask[:, 1] = False
    changed = x.clone()
    changed[:, 1, :] = 1e3 * torch.randn_like(changed[:, 1, :])
    with torch.no_grad():
        torch.testing.assert_close(model(x, mask, "h"), model(changed, mask, "h"))
        _, weights = model.encode(x, mask)
    assert torch.all(weights[:, 1] == 0) and torch.allclose(weights.sum(dim=1), torch.ones(len(x)))


def test_sequences_mark_absent_families_and_standardise_with_training_cells():
    table = pd.DataFrame(
        {"vrest": [-70.0, -60.0, np.nan], "sag": [0.1, 0.3, np.nan], "rheobase": [100.0, 300.0, 200.0]}
    )
    layout = layout_from_patterns(list(table), {"sub": "^(vrest|sag)$", "firing": "rheobase"})
    assert layout.families == [["vrest", "sag"], ["rheobase"]] and layout.width == 2
    scaler = Standardiser.fit(table.iloc[:2], layout)
    x, mask = to_sequences(table, layout, scaler)
    assert mask.tolist() == [[True, True], [True, True], [False, True]]
    np.testing.assert_allclose(x[:2, 0, 0], [-1.0, 1.0])
    assert x[2, 0].tolist() == [0.0, 0.0] and x[0, 1, 1] == 0.0  # padding and absent family are zeros


@pytest.mark.parametrize("strategy", ["scratch", "head", "full", "joint", "mapped", "coral", "adversarial"])
def test_same_seed_gives_identical_results(strategy):
    results = []
    for _ in range(2):
        seed_everything(7)
        pretrained = AttentionBiLSTM(ModelConfig(2, 3, {"mouse": 3}, **SETTINGS["model"]))
        human = {"train": _task(seed=1), "val": _task(60, seed=2), "test": _task(60, seed=3)}
        rows = [[0], [1], [2]]
        cpu = torch.device("cpu")
        model, history = run_strategy(strategy, human, 3, pretrained, _task(seed=4), SETTINGS, 7, cpu, rows)
        results.append(([h["val_macro_f1"] for h in history], [p.detach().clone() for p in model.parameters()]))
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert results[0][0][-1] > 0.6  # it learned the signal in step 0


def test_mapped_strategy_starts_the_human_head_from_the_mapped_mouse_rows():
    seed_everything(0)
    pretrained = AttentionBiLSTM(ModelConfig(2, 3, {"mouse": 3}, **SETTINGS["model"]))
    rows = mouse_rows(["Lamp5", "Sncg", "Vip"], ["Lamp5", "Pvalb", "Vip"], {"Sncg": "Vip"})
    assert rows == [[0], [], [1, 2]]  # Pvalb has no mouse row here; Sncg and Vip both map onto Vip
    model = with_new_head(pretrained, "human", 3, seed=1)
    fresh = model.heads["human"].weight[1].detach().clone()
    initialise_head_from_mouse(model, rows)
    mouse = pretrained.heads["mouse"]
    torch.testing.assert_close(model.heads["human"].weight[0], mouse.weight[0])
    torch.testing.assert_close(model.heads["human"].weight[2], mouse.weight[1:].mean(dim=0))
    torch.testing.assert_close(model.heads["human"].bias[2], mouse.bias[1:].mean())
    torch.testing.assert_close(model.heads["human"].weight[1], fresh)  # no mapped row: its own initialisation
    with pytest.raises(ValueError, match="mouse rows"):
        run_strategy(
            "mapped",
            {"train": _task(seed=1), "val": _task(60, seed=2)},
            3,
            pretrained,
            None,
            SETTINGS,
            0,
            torch.device("cpu"),
        )


def test_head_strategy_keeps_the_encoder_frozen():
    seed_everything(0)
    pretrained = AttentionBiLSTM(ModelConfig(2, 3, {"mouse": 3}, **SETTINGS["model"]))
    before = [p.detach().clone() for p in pretrained.encoder_parameters()]
    human = {"train": _task(seed=1), "val": _task(60, seed=2)}
    model, _ = run_strategy("head", human, 3, pretrained, None, SETTINGS, 0, torch.device("cpu"))
    for a, b in zip(before, model.encoder_parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_checkpoint_round_trip_and_refusals(tmp_path):
    model = AttentionBiLSTM(ModelConfig(2, 3, {"mouse": 5}, hidden=16))
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, model, {"classes": ["a", "b"], "seed": 3})
    loaded, meta = load_checkpoint(path)
    assert loaded.config.hidden == 16 and meta["seed"] == 3  # the architecture comes from the checkpoint
    with pytest.raises(ConfigMismatchError, match=r"hidden=128 \(checkpoint: 16\)"):
        check_architecture(
            loaded.config, {"hidden": 128, "layers": 1, "dropout": 0.2, "pooling": "attention", "input_norm": "none"}
        )
    corrupted = tmp_path / "corrupted.pt"
    corrupted.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=r"corrupted\.pt: not a readable checkpoint"):
        load_checkpoint(corrupted)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match=r"foreign\.pt: not a patchseq_ml\.bilstm\.v1 checkpoint"):
        load_checkpoint(foreign)


def test_layernorm_over_a_two_wide_step_keeps_only_the_sign():
    """Why input_norm defaults to none for scalar families: LayerNorm maps any 2-vector to (+-1, -+1)."""
    norm = torch.nn.LayerNorm(2, elementwise_affine=False)
    out = norm(torch.tensor([[0.1, 0.0], [8.0, 0.0], [3.0, 2.0]]))
    torch.testing.assert_close(out, torch.tensor([[1.0, -1.0]] * 3), atol=1e-2, rtol=0)


def test_coral_is_zero_for_equal_covariances_and_grows_with_their_difference():
    torch.manual_seed(0)
    a = torch.randn(200, 4)
    assert coral_loss(a, a + 3.0).item() == pytest.approx(0.0, abs=1e-6)  # a shift alone: same covariance
    assert coral_loss(a, 2.0 * a).item() > coral_loss(a, 1.2 * a).item() > 0


def test_gradient_reversal_is_the_identity_forward_and_negates_the_gradient():
    x = torch.randn(5, 3, requires_grad=True)
    y = reverse_gradient(x, 0.5)
    torch.testing.assert_close(y, x)
    y.sum().backward()
    torch.testing.assert_close(x.grad, torch.full_like(x, -0.5))


def _noisy(task, share=0.3, seed=0):
    """The task with ``share`` of its labels replaced at random (errors an over-confident head pays for)."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(len(task.y)) < share, rng.integers(0, 3, len(task.y)), task.y)
    return TaskData(task.x, task.mask, y)


def test_temperature_scaling_is_fitted_on_validation_cells_and_keeps_every_class(tmp_path):
    """An over-confident head (logits scaled up) gets T > 1, the validation log-likelihood rises, no predicted class
    changes, and the temperature travels with the checkpoint."""
    seed_everything(0)
    model = AttentionBiLSTM(ModelConfig(2, 3, {"h": 3}, hidden=8))
    train(model, {"h": _task(seed=1)}, _task(60, seed=2), "h", OPTIM | {"calibration": "none"}, 0, torch.device("cpu"))
    assert model.temperatures == {}
    with torch.no_grad():
        model.heads["h"].weight.mul_(8.0)
        model.heads["h"].bias.mul_(8.0)
    val, test = _noisy(_task(300, seed=4), 0.1), _noisy(_task(300, seed=3), 0.1)
    before = predict_proba(model, test, "h", torch.device("cpu"))
    t, note = fit_temperature(model, val, "h", torch.device("cpu"))
    assert note == ""
    model.temperatures["h"] = t
    after = predict_proba(model, test, "h", torch.device("cpu"))

    def nll(p):
        return -np.log(p[np.arange(len(test.y)), test.y]).mean()

    assert t > 2.0 and nll(after) < nll(before)
    assert (after.argmax(axis=1) == before.argmax(axis=1)).all() and not np.allclose(after, before)
    save_checkpoint(tmp_path / "m.pt", model, {})
    loaded, _ = load_checkpoint(tmp_path / "m.pt")
    assert loaded.temperatures == {"h": t}
    np.testing.assert_allclose(predict_proba(loaded, test, "h", torch.device("cpu")), after, rtol=1e-5)


def test_training_refits_the_trained_head_and_forgets_temperatures_the_encoder_made_stale():
    seed_everything(0)
    model = AttentionBiLSTM(ModelConfig(2, 3, {"h": 3, "m": 3}, hidden=8))
    val = _noisy(_task(100, seed=2))
    model.temperatures = {"h": 5.0, "m": 3.0}
    history = train(model, {"h": _task(seed=1)}, val, "h", OPTIM, 0, torch.device("cpu"))
    assert "m" not in model.temperatures and model.temperatures["h"] != 5.0  # encoder trained: m stale, h refitted
    assert history[-1]["temperature"] == model.temperatures["h"] and history[-1]["temperature_note"] == ""
    model.temperatures["m"] = 3.0
    train(model, {"h": _task(seed=1)}, val, "h", OPTIM, 0, torch.device("cpu"), freeze_encoder=True)
    assert model.temperatures["m"] == 3.0  # frozen encoder: the other head's logits did not move


@pytest.mark.parametrize(
    ("cells", "noisy", "why"),
    [(10, True, "10 validation cells"), (200, False, "no validation cell misclassified")],
)
def test_a_temperature_the_validation_cells_cannot_estimate_stays_1(cells, noisy, why):
    """Few validation cells, or none misclassified (the likelihood rises as T falls to 0): T is not fitted."""
    seed_everything(0)
    model = AttentionBiLSTM(ModelConfig(2, 3, {"h": 3}, hidden=8))
    val = _task(cells, seed=2)
    val = _noisy(val) if noisy else val
    if not noisy:  # a perfect classifier: logits are the label's one-hot
        model.forward = lambda x, mask, head: 10.0 * torch.nn.functional.one_hot(torch.as_tensor(val.y), 3).float()
    t, note = fit_temperature(model, val, "h", torch.device("cpu"))
    assert t == 1.0 and note.startswith(why)
