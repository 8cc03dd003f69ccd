import pytest
import torch

from induction_circuits import setup


def test_start_reports_the_device_in_one_line(capsys):
    device = setup.start()
    out = capsys.readouterr().out
    assert device.type in ("cpu", "cuda") and out.count("\n") == 1 and f"device: {device}" in out


def test_offline_gpt2_sections_skip_with_one_line(monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert setup.hub_available() is False
    assert setup.load_gpt2() is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "skipping" in out


def test_an_unreachable_hub_counts_as_offline(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(setup, "HUB_HOST", ("127.0.0.1", 9))  # discard port: nothing listens
    assert setup.hub_available(timeout=0.5) is False


def test_a_local_model_named_by_the_variable_loads_through_the_same_path(tiny_gpt2, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv(setup.GPT2_VARIABLE, str(tiny_gpt2))
    model = setup.load_gpt2("cpu")
    assert (model.cfg.n_layers, model.cfg.n_heads) == (12, 12)
    assert model.to_tokens("Ada")[0, 0] == model.tokenizer.bos_token_id


def test_gpt2_in_the_hugging_face_cache_loads_offline(tiny_gpt2, tmp_path, monkeypatch, capsys):
    """A classroom that pre-fetched GPT-2 small works without internet: the cache is read,
    the hub never asked (here the cache holds the small stand-in, under GPT-2's name)."""
    import shutil

    entry = tmp_path / "hub" / "models--gpt2"
    shutil.copytree(tiny_gpt2, entry / "snapshots" / "0123abcd")
    (entry / "refs").mkdir()
    (entry / "refs" / "main").write_text("0123abcd")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.delenv(setup.GPT2_VARIABLE, raising=False)
    monkeypatch.setattr(setup, "hub_available", lambda *a, **k: pytest.fail("the hub was asked"))
    assert setup.cached_model() == str(entry / "snapshots" / "0123abcd")
    model = setup.load_gpt2("cpu")
    assert model is not None and model.cfg.n_layers == 12, capsys.readouterr().out
