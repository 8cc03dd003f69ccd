"""pip and conda install the same thing, the import is light, and Colab's torch is left alone."""
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from nbtools import REPO


def test_conda_environment_installs_what_make_setup_installs():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    torch_pin = re.search(r"^TORCH \?= (\S+)$", (REPO / "Makefile").read_text(), re.M).group(1)
    make_extras = re.search(r'pip install -q -e "\.\[([\w,]+)\]"', (REPO / "Makefile").read_text()).group(1)
    assert pip_section == [torch_pin, f"-e .[{make_extras}]"]
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert Requirement(f"x{project['requires-python']}").specifier.contains(python.split("=")[1] + ".0")


def test_torch_requirement_admits_colabs_build():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    torch_req = next(Requirement(r) for r in project["dependencies"] if r.startswith("torch"))
    # Colab's GPU runtime ships torch 2.11.0+cu128: installing the toolkit must keep it.
    assert torch_req.specifier.contains("2.11.0", prereleases=False)
    assert torch_req.specifier.contains("2.13.0")


def test_importing_the_toolkit_does_not_import_torch_or_transformer_lens():
    code = ("import sys, induction_circuits; "
            "print(any(m.split('.')[0] in ('torch', 'transformer_lens') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_grading_processes_skip_jsonschemas_iri_parser_and_still_validate_notebooks():
    """Every grading process (the grader, each worker, ``check``) would spend over a second
    building rfc3987_syntax's parser, for a format check no notebook schema uses."""
    code = ("import sys, grader, nbformat, nbformat.v4 as v4\n"
            "nbformat.validate(v4.new_notebook(cells=[v4.new_code_cell('1')]))\n"
            "bad = v4.new_notebook(); bad.cells = [{'cell_type': 'code'}]\n"
            "try:\n    nbformat.validate(bad)\nexcept nbformat.ValidationError:\n    print('rejected')\n"
            "print(sys.modules['rfc3987_syntax'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.split() == ["rejected", "None"]


def _colab_python() -> str:
    """Colab runs Python 3.13; use it when this machine has one (pyenv), else this Python."""
    for candidate in sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3")):
        return str(candidate)
    return shutil.which("python3.13") or sys.executable


@pytest.mark.slow
def test_colab_install_resolves_against_colabs_own_packages(tmp_path):
    """pip resolves the toolkit (from package metadata, nothing is installed) with every
    package Colab ships pinned to Colab's version: so on Colab it installs alongside them."""
    venv = tmp_path / "venv"
    subprocess.run([_colab_python(), "-m", "venv", str(venv)], check=True)
    report = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if k != "PIP_CONSTRAINT"}
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--dry-run", "--quiet",
         "--report", str(report), "-c", str(REPO / "tests" / "colab_constraints.txt"), str(REPO)],
        capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    chosen = {item["metadata"]["name"].lower(): item["metadata"]["version"]
              for item in json.loads(report.read_text())["install"]}
    assert chosen["torch"] == "2.11.0" and chosen["numpy"] == "2.1.3"
    assert "induction-circuits" in chosen
