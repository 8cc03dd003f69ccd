import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

# Tests never reach the Hugging Face hub, and never write to the user's cache.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# One torch thread per process, for this process and every kernel it starts: the tests run
# in parallel, and on a 2-core machine two torch thread pools spinning against each other
# run about 18 times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway server on a loopback port; as the `postgres` user when run as root."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    assert binaries, "PostgreSQL is not installed (apt-get install postgresql; .ci/run does)"
    bin_dir = Path(binaries[-1])
    # The server refuses to run as root: run it as an unprivileged user that owns its folder.
    user = pwd.getpwnam("postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name)
    as_user = ["runuser", "-u", user.pw_name, "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="pg-"))
    os.chown(root, user.pw_uid, user.pw_gid)
    data, port = root / "data", _free_port()
    subprocess.run(as_user + [str(bin_dir / "initdb"), "-D", str(data), "-U", "grader", "-A", "trust"],
                   check=True, capture_output=True)
    subprocess.run(as_user + [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w",
                              "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg2://grader@127.0.0.1:{port}"
    finally:
        subprocess.run(as_user + [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_url(postgres_server):
    """A new, empty database on the test server: one gradebook per test module."""
    from sqlalchemy import create_engine, text

    name = f"gradebook_{next(_databases)}"
    engine = create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return f"{postgres_server}/{name}"


_databases = itertools.count()


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory):
    """A local Hugging Face folder with GPT-2 small's architecture and shape, random weights
    (tests/nbtools.py's make_tiny_gpt2): what the tests run every GPT-2 cell on."""
    from nbtools import make_tiny_gpt2

    return make_tiny_gpt2(tmp_path_factory.mktemp("tiny_gpt2"))
