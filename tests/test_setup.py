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
