import os

# Tests never reach the Hugging Face hub, and never write to the user's cache.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# One torch thread per process, for this process and every kernel it starts: the tests run
# in parallel, and on a 2-core machine two torch thread pools spinning against each other
# run about 18 times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")
