"""The first cell of every notebook: pick the device and say what is running."""
from __future__ import annotations

import sys

import torch


def in_colab() -> bool:
    return "google.colab" in sys.modules


def get_device() -> torch.device:
    """CUDA when a GPU is present, else the CPU: the same cells run on both."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def start(seed: int = 0) -> torch.device:
    """Seed torch, report the device in one line, and return it."""
    from . import __version__

    torch.manual_seed(seed)
    device = get_device()
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "no GPU, CPU is fine"
    print(f"induction_circuits {__version__} | torch {torch.__version__} | "
          f"device: {device} ({where}){' | Colab' if in_colab() else ''}")
    return device
