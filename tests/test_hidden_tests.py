"""Rules every test cell in ``solutions/`` keeps, read from its code (fast: nothing runs).

Under grading, student code gets the tests' objects as copies in effect: of everything a
call changes in its arguments, only what its exercise declares (``c.SandboxStudentCode.
changes``: ``train_step``'s model and optimizer, say) reaches the grading kernel. Those
declared arguments are the one way student code can change a test's objects, so a test
must not derive anything from them after the call: what it expects is computed before,
and afterwards it only checks the change (in an ``assert``) or hands them back to
student code.
"""
from __future__ import annotations

import ast

import pytest
from traitlets.config.loader import PyFileConfigLoader

from grader.sandbox._names import bound, changeable
from grader.course import CONFIG_FILE, assignments
from nbtools import SOLUTIONS, metadata, read


def _declared() -> dict:
    config = PyFileConfigLoader(CONFIG_FILE.name, path=str(CONFIG_FILE.parent)).load_config()
    return dict(config.SandboxStudentCode.changes)


class _Flow:
    """Walks code in the order it runs and records each read of a name after the name was
    handed to student code as an argument it may change (and not rebound since)."""

    def __init__(self, students: set, changes: dict):
        self.students, self.changes = students, changes
        self.handed: dict[str, str] = {}
        self.found: list[str] = []

    def expr(self, node) -> None:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            where = f"line {node.lineno}: reads {node.id} after {self.handed.get(node.id)} may have changed it"
            if node.id in self.handed and where not in self.found:
                self.found.append(where)
        elif isinstance(node, ast.Call):
            self.expr(node.func)
            student = node.func.id if isinstance(node.func, ast.Name) and node.func.id in self.students else None
            handed = []
            for key, arg in [*enumerate(node.args), *((k.arg, k.value) for k in node.keywords)]:
                if student and isinstance(arg, ast.Name):  # handing it (again) is no read
                    if key in self.changes.get(student, []):
                        handed.append(arg.id)
                else:
                    self.expr(arg)
            self.handed.update((name, student) for name in handed)
        elif not isinstance(node, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for child in ast.iter_child_nodes(node):  # (a function body is a scope of its own)
                self.expr(child)

    def run(self, statements) -> None:
        for statement in statements:
            if isinstance(statement, ast.Assert):  # checking the change: allowed
                saved, self.handed = self.handed, {}
                self.expr(statement)
                self.handed = {**saved, **self.handed}
            elif isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
                for _ in range(2):  # a second pass: what one iteration hands, the next may read
                    self.expr(statement.iter if isinstance(statement, (ast.For, ast.AsyncFor)) else statement.test)
                    for name in bound([statement.target]) if hasattr(statement, "target") else ():
                        self.handed.pop(name, None)
                    self.run(statement.body)
                self.run(statement.orelse)
            elif isinstance(statement, (ast.If, ast.With, ast.AsyncWith, ast.Try)):
                for part in ("test", "items"):
                    for node in [getattr(statement, part, None)] if part == "test" else getattr(statement, part, []):
                        if node is not None:
                            self.expr(node)
                for part in ("body", "orelse", "finalbody"):
                    self.run(getattr(statement, part, []))
                for handler in getattr(statement, "handlers", []):
                    self.run(handler.body)
            else:
                self.expr(statement)
                for name in bound([statement]):  # rebound: a new object
                    self.handed.pop(name, None)


def reads_after_handing(source: str, students: set, changes: dict) -> list[str]:
    """Where ``source`` reads an object after handing it to student code that may change it,
    per scope (the cell's top level, and each function it defines, from its own start)."""
    tree = ast.parse(source)
    functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    found = []
    for body in [tree.body] + [node.body for node in functions]:
        flow = _Flow(students - {node.name for node in functions}, changes)
        flow.run(body)
        found += flow.found
    return found


def test_the_rule_finds_what_a_test_derives_from_a_changed_argument():
    bad = ("m = make()\nstep(m, opt)\nexpected = ref(m)\n"
           "def _check():\n    for seed in range(3):\n        want = ref(m2)\n        step(m2, opt)\n")
    changes = {"step": ["model", 0]}
    assert reads_after_handing(bad, {"step"}, changes) == [
        "line 3: reads m after step may have changed it", "line 6: reads m2 after step may have changed it"]
    good = ("m = make()\nexpected = ref(m)\nstep(m, opt)\nassert close(m.w, expected)\nstep(m, opt)\n"
            "m = make()\nref(m)\nf(m)\nref(m)\n")
    assert reads_after_handing(good, {"step", "f"}, changes) == []


def _test_cells(assignment: str):
    notebook = read(SOLUTIONS / f"{assignment}.ipynb")
    answers = [c.source for c in notebook.cells if c.cell_type == "code" and metadata(c).get("solution")]
    students = set().union(*(bound(ast.parse(source).body) for source in answers))
    declared = changeable(_declared(), answers)
    for c in notebook.cells:
        if c.cell_type == "code" and metadata(c).get("grade") and not metadata(c).get("solution"):
            yield metadata(c)["grade_id"], c.source, students, declared


@pytest.mark.parametrize("assignment", assignments())
def test_tests_derive_nothing_from_what_student_code_may_have_changed(assignment):
    problems = [f"{grade_id} {where}" for grade_id, source, students, declared in _test_cells(assignment)
                for where in reads_after_handing(source, students, declared)]
    assert not problems, "\n".join(problems)
