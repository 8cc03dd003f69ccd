"""The first cell of every notebook: pick the device and say what is running;
and GPT-2 small for the extra sections: from the Hugging Face cache when it is there
(offline too), else from the hub when it can be reached, else skipped in one line."""
from __future__ import annotations

import os
import socket
import sys

import torch

HUB_HOST = ("huggingface.co", 443)
GPT2 = "gpt2"
# A local Hugging Face model folder to use instead of GPT-2 small (a classroom's copy, or
# the tests' small model with GPT-2's architecture).
GPT2_VARIABLE = "INDUCTION_CIRCUITS_GPT2"


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


def cached_model(name: str = GPT2) -> str | None:
    """The folder of ``name`` in the Hugging Face cache (``HF_HOME``, ``HF_HUB_CACHE``), or None.

    Pre-fetch GPT-2 small into it once, with internet: ``python -c "from
    induction_circuits.setup import load_gpt2; load_gpt2()"``."""
    from huggingface_hub import try_to_load_from_cache

    cache_dir = os.environ.get("HF_HUB_CACHE") or (
        os.path.join(os.environ["HF_HOME"], "hub") if os.environ.get("HF_HOME") else None)
    found = [try_to_load_from_cache(name, filename, cache_dir=cache_dir)
             for filename in ("config.json", "model.safetensors")]
    if all(isinstance(path, str) for path in found):
        return os.path.dirname(found[0])
    return None


def load_gpt2(device: torch.device | str | None = None, name: str | None = None):
    """GPT-2 small as a ``TransformerBridge``, or None, saying so in one line, when it is
    out of reach.

    ``name`` (default: ``$INDUCTION_CIRCUITS_GPT2``, else ``"gpt2"``) is a hub model id or
    a local model folder. A model in the Hugging Face cache is loaded from there without
    the network, so a classroom can pre-fetch it and go offline."""
    name = name or os.environ.get(GPT2_VARIABLE) or GPT2
    if os.path.isdir(name):
        where = name
    else:
        where = cached_model(name)
        if where is None and not hub_available():
            print("GPT-2 small needs the Hugging Face hub, which is out of reach "
                  "(and it is not in the cache): skipping this extra.")
            return None
        where = where or name
    from transformer_lens.model_bridge import TransformerBridge

    try:
        return TransformerBridge.boot_transformers(where, device=device)
    except Exception as error:  # a flaky download must not stop the notebook
        print(f"GPT-2 small could not be loaded ({type(error).__name__}): skipping this extra.")
        return None
