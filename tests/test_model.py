import pickle
import time

import pytest
import torch

from induction_circuits import model as model_module
from induction_circuits.data import periodic_tokens
from induction_circuits.model import (CIRCUIT_MIN_SCORE, SHIPPED_CHECKPOINTS, TOY_CONFIG,
                                      circuit_strength, load_checkpoint, load_trained_model,
                                      make_model, own_checkpoint_path, save_checkpoint)


def test_toy_model_has_the_curriculum_architecture():
    model = make_model(seed=0)
    assert model.cfg.n_layers == 2 and model.cfg.n_heads == 4 and model.cfg.attn_only
    assert model.cfg.normalization_type is None
    assert tuple(model.W_Q.shape) == (2, 4, 64, 16) and tuple(model.W_O.shape) == (2, 4, 16, 64)
    assert tuple(model.W_E.shape) == (64, 64) and tuple(model.W_pos.shape) == (50, 64)
    n_params = sum(p.numel() for p in model.parameters())
    assert 40_000 < n_params < 50_000
    tokens = periodic_tokens(2, 25, 50, generator=torch.Generator().manual_seed(0))
    assert model(tokens).shape == (2, 50, 64)


def test_seed_decides_the_initial_weights():
    assert torch.equal(make_model(seed=1).W_Q, make_model(seed=1).W_Q)
    assert not torch.equal(make_model(seed=1).W_Q, make_model(seed=2).W_Q)


def test_moving_to_a_device_is_quiet(capsys):
    make_model(seed=0, device="cpu")
    assert capsys.readouterr().out == ""


def test_checkpoint_round_trip_keeps_weights_config_and_meta(tmp_path):
    original = make_model(seed=3)
    path = save_checkpoint(original, tmp_path / "sub" / "m.pt", recipe={"lr": 0.01}, note="x")
    loaded = load_checkpoint(path)
    tokens = periodic_tokens(3, 10, 50, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(original(tokens), loaded(tokens))
    assert loaded.checkpoint_meta == {"recipe": {"lr": 0.01}, "note": "x"}
    assert path.stat().st_size < 1_000_000


def test_checkpoint_config_overrides_are_honoured(tmp_path):
    wider = make_model(seed=0, n_heads=2, d_head=32)
    loaded = load_checkpoint(save_checkpoint(wider, tmp_path / "w.pt"))
    assert loaded.cfg.n_heads == 2 and loaded.cfg.d_head == 32


class _Sneaky:
    def __reduce__(self):
        return (print, ("code ran while loading",))


def test_loading_never_unpickles_arbitrary_objects(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": 1, "config": dict(TOY_CONFIG), "state_dict": {}, "meta": _Sneaky()}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(path)
    assert "code ran" not in capsys.readouterr().out


def test_a_foreign_file_is_refused(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="not an induction_circuits checkpoint"):
        load_checkpoint(path)


def test_trained_model_prefers_the_learners_checkpoint(tmp_path, monkeypatch, capsys):
    """A trained model saved where notebook 3 saves the learner's is the one loaded."""
    monkeypatch.setenv("INDUCTION_CIRCUITS_HOME", str(tmp_path))
    assert own_checkpoint_path() == tmp_path / model_module.OWN_CHECKPOINT_NAME
    load_trained_model()
    assert "shipped" in capsys.readouterr().out, "nothing saved yet: the shipped model"
    trained = load_checkpoint(SHIPPED_CHECKPOINTS["induction"])
    save_checkpoint(trained, own_checkpoint_path(), note="the learner's")
    own = load_trained_model()
    out = capsys.readouterr().out
    assert out == f"Loaded your model from notebook 3 ({own_checkpoint_path()}).\n"
    assert own.checkpoint_meta == {"note": "the learner's"}, "loaded from the learner's file"
    assert torch.equal(own.W_Q, trained.W_Q)


def test_a_saved_model_without_the_circuit_falls_back_to_the_shipped_one(tmp_path, monkeypatch, capsys):
    """Notebook 3 cut short saves a model that never learned: warn in one line, use the shipped one."""
    monkeypatch.setenv("INDUCTION_CIRCUITS_HOME", str(tmp_path))
    save_checkpoint(make_model(seed=5), own_checkpoint_path(), note="untrained")
    start = time.perf_counter()
    loaded = load_trained_model()
    elapsed = time.perf_counter() - start
    out = capsys.readouterr().out
    assert out.startswith("Warning: your model from notebook 3") and out.count("\n") == 1, out
    assert str(own_checkpoint_path()) in out and "shipped trained model is used instead" in out
    shipped = load_checkpoint(SHIPPED_CHECKPOINTS["induction"])
    assert torch.equal(loaded.W_Q, shipped.W_Q) and "note" not in loaded.checkpoint_meta
    assert elapsed < 5, f"loading with the check took {elapsed:.1f} s"  # a few hundredths on a CPU
    previous, induction = circuit_strength(make_model(seed=5))
    assert max(previous, induction) < 0.2 <= CIRCUIT_MIN_SCORE
    previous, induction = circuit_strength(shipped)
    assert previous > 0.9 and induction > 0.8
    assert max(circuit_strength(load_checkpoint(SHIPPED_CHECKPOINTS["shortcut"]))) < 0.2, \
        "the 25+25 shortcut does not pass: the check is on 20+20"


def test_shipped_checkpoints_are_small_files():
    for path in SHIPPED_CHECKPOINTS.values():
        assert path.exists() and path.stat().st_size < 1_000_000
