import os

# Tests never reach the Hugging Face hub, and never write to the user's cache.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
