"""Hints that show a tensor constructor show it on the model's device: a student who copies
`torch.ones(n, n)` next to a model's tensors gets an error on Colab's GPU. (The cells
themselves are checked as they run: tests/test_installed.py with tests/device_check.py.)"""
import re

import pytest

from nbtools import SOLUTIONS, read

CONSTRUCTOR = re.compile(r"torch\.(ones|zeros|arange|tensor|randn|full|eye|empty|rand|randint|randperm|linspace)\(")


@pytest.mark.parametrize("assignment", sorted(p.stem for p in SOLUTIONS.glob("*.py")))
def test_hints_make_tensors_on_the_models_device(assignment):
    shown = [(cell.metadata["nbgrader"]["grade_id"], code) for cell in read(SOLUTIONS / f"{assignment}.ipynb").cells
             if cell.cell_type == "markdown" for code in re.findall(r"`([^`]+)`", cell.source)
             if CONSTRUCTOR.search(code)]
    # generator=: a torch.Generator draws on the CPU, so such data is made there and moved
    # by the cell that uses it (which tests/device_check.py watches).
    bare = [(grade_id, code) for grade_id, code in shown if "device=" not in code and "generator=" not in code]
    assert not bare, bare
