"""Helpers the notebook and grading tests share: reading nbgrader metadata, making submissions."""
from __future__ import annotations

from pathlib import Path

import nbformat

from grader._cells import answered, metadata, solution_sources, without_solution_markers  # noqa: F401 (for the tests)
from grader.course import RELEASE, REPO, SOLUTIONS  # noqa: F401 (REPO: for the tests)

# Answers the tests hand in, one file each: answers/<assignment>/<exercise>_<case>.py, its
# first line a comment saying what it is ("another_way": correct, written differently from
# the solution; "wrong": loses its own test's points; others: a mistake a visible test names).
ANSWERS = Path(__file__).resolve().parent / "answers"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def answer(assignment: str, exercise: str, case: str) -> str:
    """The code of one answer to ``exercise`` (a grade_id), as a student's cell would hold it."""
    return (ANSWERS / assignment / f"{exercise}_{case}.py").read_text()


def answers(assignment: str, case: str) -> dict[str, str]:
    """Every answer of one ``case`` for ``assignment``, by exercise."""
    suffix = f"_{case}.py"
    return {path.name[:-len(suffix)]: path.read_text()
            for path in sorted((ANSWERS / assignment).glob(f"*{suffix}"))}


def auto_graded_points(nb) -> dict[str, float]:
    """Points of each auto-graded (code) test cell, by grade_id."""
    return {metadata(c)["grade_id"]: metadata(c)["points"] for c in nb.cells
            if c.cell_type == "code" and metadata(c).get("grade") and not metadata(c).get("solution")}


def student_submission(assignment: str, answers: dict[str, str] | None = None,
                       solved: bool = True) -> nbformat.NotebookNode:
    """The release notebook as a student would hand it in.

    ``solved``: fill every exercise with the source's solution; ``answers``
    replaces chosen exercises (by grade_id) with other code.
    """
    return answered(read(RELEASE / f"{assignment}.ipynb"), read(SOLUTIONS / f"{assignment}.ipynb"), answers, solved)


def graded_scores(course, folder: Path, assignment: str, student: str, notebook) -> tuple[dict, object]:
    """Grade ``notebook`` as ``student``'s through ``course`` (a ``grader.course.Course``):
    each auto-graded test cell's points, and the whole ``NotebookGrade``."""
    path = folder / f"{student}.ipynb"
    nbformat.write(notebook, str(path))
    grade = course.autograde(path, student, assignment)
    points = auto_graded_points(read(SOLUTIONS / f"{assignment}.ipynb"))
    return {c.name: c.score for c in grade.cells if c.name in points}, grade


def make_tiny_gpt2(folder: Path) -> Path:
    """A model with GPT-2 small's architecture and shape (12 layers x 12 heads; width 48, not
    768), random weights, and a byte-level BPE tokenizer trained here on Python's own
    standard library: saved as a local Hugging Face folder, which ``load_gpt2`` boots
    through the same path as GPT-2 small (``INDUCTION_CIRCUITS_GPT2=<folder>``).
    Nothing is downloaded; its figures mean nothing, only that every GPT-2 cell runs."""
    import os

    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stdlib = sorted(Path(os.__file__).parent.glob("*.py"))
    text = [path.read_text(errors="replace") for path in stdlib[:120]]
    bpe = ByteLevelBPETokenizer()
    # Notebook 4 draws its random block from token ids 1000 to 10000, as GPT-2's are words.
    bpe.train_from_iterator(text, vocab_size=12_000, min_frequency=2, special_tokens=["<|endoftext|>"])
    tokenizer = GPT2TokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<|endoftext|>",
                                  eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    assert len(tokenizer) > 10_000, len(tokenizer)
    tokenizer.save_pretrained(folder)
    end = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=256, n_embd=48, n_layer=12, n_head=12,
                        bos_token_id=end, eos_token_id=end)
    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder
