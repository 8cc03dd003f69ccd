"""The toolkit as a student's pip install gets it, on a GPU-shaped run of every notebook.

The wheel is built from a copy of the sources and installed (not editable) into a fresh
venv outside the repository, on top of an existing torch and the other dependencies (this
venv's site-packages, as Colab has its own). Every solution notebook then runs in that venv's
kernel from a folder outside the repository, with:
- GPT-2 replaced by a local model with its architecture and shape (tests/nbtools.py's
  make_tiny_gpt2), loaded through the same ``load_gpt2``, so every GPT-2 cell runs to the end
  (its figures are the literature's, never asserted: these weights are random);
- tests/device_check.py watching for tensors made without ``device=`` that meet a model's.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from grader.course import GRADING_STEPS
from nbtools import REPO, SOLUTIONS, read

pytestmark = pytest.mark.slow

CURRICULUM = sorted(p.stem for p in SOLUTIONS.glob("*.py"))
# This venv's packages stand in for what the student's machine already has (Colab's torch
# and the rest): they are not the checkout, although the venv lives inside it.
EXISTING = Path(sys.prefix).resolve()
REPORT = "INSTALLED-REPORT "


@pytest.fixture(scope="module")
def student_venv(tmp_path_factory):
    root = tmp_path_factory.mktemp("installed")
    sources = root / "sources"
    ignore = shutil.ignore_patterns("__pycache__", "course", "*.egg-info")
    for part in ("utils", "grader"):
        shutil.copytree(REPO / part, sources / part, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, sources / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(root / "wheel"), str(sources)], check=True)
    wheel = next((root / "wheel").glob("induction_circuits-*.whl"))
    venv = root / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                        text=True).strip())
    # The existing packages as a plain path entry: their .pth files (the checkout's editable
    # install among them) are not run.
    (site / "existing_packages.pth").write_text(
        subprocess.check_output([sys.executable, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                text=True))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index",
                    "--no-deps", "--force-reinstall", str(wheel)], check=True, capture_output=True)
    spec = root / "kernels" / "student"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "student", "language": "python"}))
    return python, root / "kernels"


@pytest.fixture(scope="module")
def executed(student_venv, tiny_gpt2, tmp_path_factory):
    python, kernels = student_venv
    work = tmp_path_factory.mktemp("student")
    shutil.copy(Path(__file__).parent / "device_check.py", work / "device_check.py")
    env = {"INDUCTION_CIRCUITS_HOME": str(work / "home"), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
           "INDUCTION_CIRCUITS_GPT2": str(tiny_gpt2), "HF_HUB_OFFLINE": "1",
           # The lesson's numbers are test_notebooks.py's: here a few steps of training suffice.
           "INDUCTION_CIRCUITS_MAX_STEPS": str(GRADING_STEPS)}
    import nbformat

    reports, notebooks = {}, {}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.delenv("PYTHONPATH", raising=False)
        for name in CURRICULUM:
            notebook = read(SOLUTIONS / f"{name}.ipynb")
            notebook.cells.insert(0, nbformat.v4.new_code_cell("import device_check"))
            notebook.cells.append(nbformat.v4.new_code_cell(
                "import json, os, sys, induction_circuits\n"
                f"repo, existing = {str(REPO)!r}, {str(EXISTING)!r}\n"
                "files = {getattr(m, '__file__', None) or '' for m in list(sys.modules.values())}\n"
                f"print({REPORT!r} + json.dumps({{'toolkit': induction_circuits.__file__, 'cwd': os.getcwd(),\n"
                "    'from_checkout': sorted(p for p in files | set(sys.path) if p.startswith(repo) and not p.startswith(existing)),\n"
                "    'devices': device_check.device_check.found}))"))
            manager = KernelManager(kernel_name="student", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
            NotebookClient(notebook, km=manager, timeout=600, resources={"metadata": {"path": str(work)}}).execute()
            last = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
            reports[name] = json.loads(last.split(REPORT, 1)[1])
            notebooks[name] = notebook
    return work, reports, notebooks


def test_every_notebook_runs_on_the_installed_toolkit_and_reads_nothing_of_the_checkout(executed, student_venv):
    work, reports, _ = executed
    python, _ = student_venv
    for name, report in reports.items():
        assert report["toolkit"].startswith(str(python.parent.parent)), (name, report["toolkit"])
        assert report["cwd"] == str(work) and not report["from_checkout"], (name, report)


def test_every_gpt2_cell_runs_to_the_end(executed):
    _, _, notebooks = executed
    gpt2_cells = 0
    for name, notebook in notebooks.items():
        for cell in notebook.cells:
            if cell.cell_type == "code" and "load_gpt2(device)" in cell.source:
                gpt2_cells += 1
                text = "".join(o.get("text", "") for o in cell.outputs)
                assert "skipping" not in text and text.strip(), (name, text)
    assert gpt2_cells == 3, "notebooks 1, 2 and 4 have a GPT-2 section each"


def _hidden_test_lines(notebook) -> set[str]:
    """Lines only hidden tests hold: they run only under nbgrader, where the grader hides the
    GPU (grader/course.py), so the models they build and their data are on the CPU together."""
    hidden, shown = set(), set()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        inside = False
        for line in cell.source.splitlines():
            if line.strip() in ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"):
                inside = line.strip().startswith("### BEGIN")
            (hidden if inside else shown).add(line.strip())
    return hidden - shown


def test_no_tensor_made_without_a_device_meets_a_models(executed):
    """What fails on Colab's T4 with 'Expected all tensors to be on the same device'."""
    _, reports, notebooks = executed
    found = {}
    for name, report in reports.items():
        hidden = _hidden_test_lines(notebooks[name])
        for where, operation in report["devices"].items():
            if where.split(": ", 1)[1] not in hidden:
                found.setdefault(name, []).append(f"{operation}: {where}")
    assert not found, "\n".join(f"{name}: {line}" for name, lines in found.items() for line in lines)
