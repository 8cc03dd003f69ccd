"""A time budget for grading one notebook, on top of the per-cell and per-call limits.

A student function that sleeps just under the per-call limit, called by every test, holds
a grading worker for many minutes while each cell stays within its own limit. ``budget``
bounds the whole notebook: each cell may run only for the time left, and once it is
spent, every cell left is not run and fails with an error that says so. Its grade is
what it earned until then.
"""
from __future__ import annotations

import math
import time

import nbformat
from traitlets import Float

from .kernels import WarmExecute

OVER_BUDGET = "GradingTimeBudget"  # the error a cell left unrun shows (and the summary looks for)


class BudgetedExecute(WarmExecute):
    budget = Float(600.0, help="Seconds grading one notebook may take, kernel start included; "
                   "the cells left after that fail without being run").tag(config=True)
    _deadline: float | None = None

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = time.monotonic() + self.budget
        return super().preprocess(nb, resources, km)

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        if self._deadline is None:
            return timeout
        left = max(1, math.ceil(self._deadline - time.monotonic()))
        return left if timeout is None else min(timeout, left)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and self._deadline is not None and time.monotonic() >= self._deadline:
            cell.outputs = [self._over("not run")]
            return cell, resources
        cell, resources = super().preprocess_cell(cell, resources, index)
        if self._deadline is not None and time.monotonic() >= self._deadline:
            # Interrupted as its time ran out: say so, rather than KeyboardInterrupt.
            cell.outputs = [self._over("stopped") if o.get("ename") == "KeyboardInterrupt" else o
                            for o in cell.get("outputs", [])]
        return cell, resources

    def _over(self, what: str):
        message = f"{what}: grading this notebook took longer than its {self.budget:g} s budget"
        return nbformat.v4.new_output("error", ename=OVER_BUDGET, evalue=message,
                                      traceback=[f"{OVER_BUDGET}: {message}"])
