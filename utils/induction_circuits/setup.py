"""The first cell of every notebook: pick the device and say what is running;
and GPT-2 small for the extra sections, when the Hugging Face hub can be reached."""
from __future__ import annotations

import os
import socket
import sys

import torch

HUB_HOST = ("huggingface.co", 443)


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


def hub_available(timeout: float = 3.0) -> bool:
    """False at once when HF_HUB_OFFLINE is set; else whether the hub answers quickly."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() not in ("", "0", "false"):
        return False
    try:
        socket.create_connection(HUB_HOST, timeout=timeout).close()
        return True
    except OSError:
        return False


def load_gpt2(device: torch.device | str | None = None):
    """GPT-2 small as a ``TransformerBridge``, or None, saying so in one line, when offline."""
    if not hub_available():
        print("GPT-2 small needs the Hugging Face hub, which is out of reach: skipping this extra.")
        return None
    from transformer_lens.model_bridge import TransformerBridge

    try:
        return TransformerBridge.boot_transformers("gpt2", device=device)
    except Exception as error:  # a flaky download must not stop the notebook
        print(f"GPT-2 small could not be loaded ({type(error).__name__}): skipping this extra.")
        return None
