"""Which instructor cells may run whole in one fork under grading (``display_cells``):
those that call student code and whose bindings nothing afterwards can read."""
import ast

import pytest

from grader.sandbox import display_cells
from nbtools import SOLUTIONS, metadata, read

STUDENT = ("answer", "def score(x):\n    return x * 2\n")


def _display(*cells, student=STUDENT, graded=()):
    """grade_ids chosen among instructor cells ``cells`` (grade_id, source), after the student's."""
    notebook = [student, *cells]
    trusted = {grade_id: source for grade_id, source in cells}
    return display_cells(notebook, trusted, set(graded))


def test_a_cell_that_calls_student_code_and_binds_nothing_read_later():
    assert _display(("show", "for x in range(3):\n    print(score(x))\n"),
                    ("later", "x = 5\nprint(x)\n")) == {"show"}


def test_a_binding_read_later_keeps_the_cell_in_the_kernel():
    assert _display(("show", "total = score(2)\n"), ("later", "print(total)\n")) == set()
    # read before the later cell rebinds it
    assert _display(("show", "x = score(2)\n"), ("later", "print(x)\nx = 1\n")) == set()
    # rebound in one cell is not assumed for the next: that cell may have failed first
    assert _display(("show", "x = score(2)\n"), ("a", "x = make()\n"), ("b", "print(x)\n")) == set()
    # a for loop's body sees its own target; after the loop (it may not have run), the old value
    assert _display(("show", "m = score(2)\n"), ("a", "for m in models:\n    print(m)\n")) == {"show"}
    assert _display(("show", "m = score(2)\n"), ("a", "for m in models:\n    pass\nprint(m)\n")) == set()


def test_reads_inside_functions_and_by_name_count():
    # a function defined earlier may be called later and read the global
    assert _display(("helper", "def report():\n    return total\n"), ("show", "total = score(1)\n")) == set()
    # ... its own parameters and locals are not globals
    assert _display(("helper", "def report(total):\n    n = 1\n    return total + n\n"),
                    ("show", "total = n = score(1)\n")) == {"show"}
    for later in ("print(globals()['total'])\n", "v = globals().get('total')\n", "names = vars()\n",
                  "eval(code)\n", "del total\n", "total += 1\n"):
        assert _display(("show", "total = score(1)\n"), ("later", later)) == set(), later
    assert _display(("show", "total = score(1)\n"), ("later", "globals().update(other=1)\n")) == {"show"}
    # a comprehension's variable is its own; a lambda's body reads globals when called
    assert _display(("show", "i = score(1)\n"), ("later", "squares = [i * i for i in range(3)]\n")) == {"show"}
    assert _display(("show", "i = score(1)\n"), ("later", "f = lambda: i\n")) == set()


def test_only_cells_that_reach_student_code_and_grade_nothing():
    assert _display(("plain", "for x in range(3):\n    print(x)\n")) == set()
    # through an instructor's function that calls the student's
    assert _display(("helper", "def twice(x):\n    return score(score(x))\n"),
                    ("show", "print(twice(1))\n")) == {"show"}
    assert _display(("test", "assert score(2) == 4\n"), graded={"test"}) == set()


def test_a_student_cell_with_ipython_syntax_may_read_anything():
    shown = ("show", "x = score(1)\n")
    assert _display(shown, ("answer2", "%time print(x)\n")) == set()
    # one that does not compile runs nothing, and reads nothing
    notebook = [STUDENT, shown, ("answer2", "def broken(:\n")]
    assert display_cells(notebook, {"show": shown[1]}, set()) == {"show"}


@pytest.mark.parametrize("source", ["%x\n" * 499, "x = !ls\n", "!!ls\n", "len?\n", "%%timeit\nx = 1\n",
                                    "  x = 1\n", ">>> x\n", "/print x\n"])
def test_ipython_syntax_is_told_without_ipython_s_transformer(source, monkeypatch):
    """IPython's transformer re-reads a cell for each magic in it (review 5: a cell of 499 cost
    5 s of the grader's CPU before any budget): a cell that may be IPython may read anything."""
    from IPython.core import inputtransformer2

    def refuse(*_):
        raise AssertionError("IPython's transformer was used")

    monkeypatch.setattr(inputtransformer2.TransformerManager, "transform_cell", refuse)
    shown = ("show", "x = score(1)\n")
    assert _display(shown, ("answer2", source)) == set()


@pytest.mark.parametrize("assignment, display, kept", [
    ("06_ablation", {"code_verify_every_head", "code_shortcut_ablation"},
     {"code_ablation_tables", "code_losses_with"}),  # they define show_table and losses_with
    ("03_train_induction_model", {"code_untrained_half_losses", "code_induction_scores"},
     {"code_train_shortcut", "code_train_induction", "untrained_model"}),
    ("05_attention_heatmaps", {"code_roles"}, set()),
    ("02_qk_ov_circuits", {"code_ov_accuracy_per_head", "code_qk_accuracy_per_head"}, set()),
])
def test_in_the_notebooks(assignment, display, kept):
    nb = read(SOLUTIONS / f"{assignment}.ipynb")
    code = [c for c in nb.cells if c.cell_type == "code"]
    trusted = {metadata(c)["grade_id"]: c.source for c in code
               if metadata(c).get("locked") and not metadata(c).get("solution")}
    graded = {metadata(c)["grade_id"] for c in code if metadata(c).get("grade")}
    found = display_cells([(metadata(c).get("grade_id"), c.source) for c in code], trusted, graded)
    assert display <= found and not kept & found


IPYTHON_CELLS = ["%time f() # c\n", "  x = 1\n", "x = %who_ls\n", "a, b = !ls\n", "   ...: x = 1\n", ">>> x\n... y\n",
                 "\n\n%x\n", "if a:\n    %time f()\n", "x =\\\n  %time f()\n", "x?\n", "x??\n", ",f a b\n", ";f a\n",
                 "!!ls\n", "%%timeit\nx\n", "\tx = 1\n", "In [3]: %time x\n", "x = 1\ny?\n", "x = 1\n%who\n",
                 "\x0c%time print(v)\n", "\x0b%%time\nx\n", "\u2028%who\n"]  # (review 6: breaks IPython drops)
BROKEN = ["print(1\n", "def f(:\n", "x = 1 +\n", "f(x?)\n", "x? # look\n", "x = (1,\n"]


@pytest.mark.parametrize("source", IPYTHON_CELLS + BROKEN)
def test_a_cell_ipython_would_run_is_never_taken_for_broken_python(source):
    """``_statements`` gives "runs nothing" only where IPython's own transformer agrees."""
    from IPython.core.inputtransformer2 import TransformerManager

    from grader.sandbox.preprocessors import _statements

    try:
        ast.parse(TransformerManager().transform_cell(source))
        runs = True
    except SyntaxError:
        runs = False
    assert runs == (source in IPYTHON_CELLS)
    if runs:
        assert _statements(source) != []
    else:
        assert _statements(source) == []


@pytest.mark.parametrize("source", ["x = a" + ".b" * 600 + "\n",  # parsed, too deep to walk
                                    "x = a" + ".b" * 5000 + "\n", "x = " + "+".join(["a"] * 20000) + "\n",
                                    "x = " + "not " * 100_000 + "a\n"])  # (the parser's MemoryError)
def test_code_nested_too_deep_to_read_may_read_anything(source):
    """Reading these needs a deeper stack than Python has: to parse them, or to walk the tree."""
    shown = ("show", "x = score(1)\n")
    assert _display(shown, ("answer2", source)) == set()
    assert _display(shown, ("answer2", "y = 1\n")) == {"show"}


def test_reading_nested_scopes_visits_each_node_once(monkeypatch):
    """Review 6: each scope used to be walked whole again for each scope around it (a cell of
    lambdas 100 deep, 20 kB, cost 42 s of the grader's CPU before any budget)."""
    from grader.sandbox import _names
    from grader.sandbox.preprocessors import _deferred_reads, _statements

    def visits(depth: int) -> int:
        source = "f = " + "lambda: " * depth + "(" + ", ".join(["a"] * (2000 - depth)) + ")\n"
        count = [0]
        visit = _names._Reads.visit

        def counted(self, node):
            count[0] += 1
            return visit(self, node)

        monkeypatch.setattr(_names._Reads, "visit", counted)
        body = _statements(source)
        assert _names.reads(body) | _deferred_reads(body) == {"a"}
        _names.forget()
        monkeypatch.setattr(_names._Reads, "visit", visit)
        return count[0]

    assert visits(100) < 1.2 * visits(2)
