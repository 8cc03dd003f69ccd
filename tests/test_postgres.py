"""The gradebook on a real PostgreSQL server (Debian's `postgresql`), started by the test."""
import csv
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import nbformat
import pytest

from grader.__main__ import main
from nbtools import SOLUTIONS, auto_graded_points, read, student_submission

pytestmark = pytest.mark.slow
A = "01_logit_lens"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
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
        yield f"postgresql+psycopg2://grader@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(as_user + [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_a_class_graded_into_postgresql_exports_from_it(postgres_url, tmp_path, capsys):
    folder = tmp_path / "submissions"
    folder.mkdir()
    nbformat.write(student_submission(A), str(folder / f"alice_{A}.ipynb"))
    nbformat.write(student_submission(A, solved=False), str(folder / f"bob_{A}.ipynb"))
    course = ["--course", str(tmp_path / "course"), "--db-url", postgres_url]
    assert main([*course, "grade", str(folder)]) == 0
    assert "2 graded, 0 already graded" in capsys.readouterr().out
    # Kept in the server, not in the course folder: a second run finds them there.
    assert not list((tmp_path / "course").glob("*.db"))
    assert main([*course, "grade", str(folder)]) == 0
    assert "0 graded, 2 already graded" in capsys.readouterr().out
    assert main([*course, "export", "--out", str(tmp_path / "grades.csv")]) == 0
    with open(tmp_path / "grades.csv") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    total = sum(auto_graded_points(read(SOLUTIONS / f"{A}.ipynb")).values())
    assert set(rows) == {"alice", "bob"}
    assert float(rows["alice"][A]) == total and float(rows["bob"][A]) == 0.0
    assert rows["alice"][f"{A}:written_lens"] == "pending"
