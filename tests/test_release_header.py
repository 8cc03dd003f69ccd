"""The course's address is set in one place, grader/course.toml, and release writes it into every
notebook: an "Open in Colab" badge on top, then the cell that installs the toolkit."""
import importlib.util
import subprocess

import pytest

import grader.__main__ as cli
from grader.course import Address, address_warning, assignments, course_address, header_cells
from nbtools import RELEASE, SOLUTIONS, metadata, read


@pytest.mark.parametrize("assignment", assignments())
def test_every_release_notebook_opens_with_the_badge_and_the_install_cell(assignment):
    address = course_address()
    badge, install = read(RELEASE / f"{assignment}.ipynb").cells[:2]
    assert badge.cell_type == "markdown" and address.colab_url(assignment) in badge.source
    assert "colab-badge.svg" in badge.source
    assert f"notebooks/{assignment}.ipynb" in address.colab_url(assignment)
    assert install.cell_type == "code" and f'TOOLKIT = "{address.toolkit}"' in install.source
    assert all(metadata(c)["locked"] and not metadata(c)["grade"] for c in (badge, install)), \
        "locked, so grading puts them back as released"


@pytest.mark.parametrize("assignment", assignments())
def test_no_source_carries_a_copy_of_the_install_cell(assignment):
    for source in (SOLUTIONS / f"{assignment}.py", SOLUTIONS / f"{assignment}.ipynb"):
        text = source.read_text()
        assert "TOOLKIT" not in text and "pip\", \"install" not in text, source


def _run_install_cell(monkeypatch, environ):
    """The install cell's code as a student's kernel runs it, without the toolkit installed:
    the pip command it would run, or None."""
    calls = []
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: calls.append(command))
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    install = header_cells("01_logit_lens", Address("https://github.com/someone/course"))[1]
    exec(install.source, {})
    return calls[0] if calls else None


def test_the_install_cell_installs_from_the_setting_but_never_while_graded(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    command = _run_install_cell(monkeypatch, {})
    assert command[-1] == "induction-circuits @ git+https://github.com/someone/course"
    assert "--upgrade" not in command and "-U" not in command, "an upgrade could replace Colab's torch"
    assert _run_install_cell(monkeypatch, {"NBGRADER_EXECUTION": "autograde"}) is None


def test_the_badge_opens_the_notebook_from_the_repository_on_its_branch():
    address = Address("https://github.com/someone/course.git", branch="fall-2027", toolkit="induction-circuits==1.0")
    assert address.colab_url("03_train_induction_model") == (
        "https://colab.research.google.com/github/someone/course/blob/fall-2027/notebooks/03_train_induction_model.ipynb")
    assert 'TOOLKIT = "induction-circuits==1.0"' in header_cells("03_train_induction_model", address)[1].source
    with pytest.raises(ValueError):
        Address("https://gitlab.com/someone/course")


def test_release_says_loudly_that_the_address_is_a_placeholder(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cli.Course, "release", lambda self, assignment, out: out / f"{assignment}.ipynb")
    monkeypatch.setattr(cli, "course_address", lambda: Address(course_address().repository))
    assert cli.main(["--course", str(tmp_path / "course"), "release", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert err.count("still the placeholder") == 2 and "grader/course.toml" in err
    monkeypatch.setattr(cli, "course_address", lambda: Address("https://github.com/someone/course"))
    assert address_warning(cli.course_address()) is None
    cli.main(["--course", str(tmp_path / "course"), "release", "--out", str(tmp_path)])
    assert "placeholder" not in capsys.readouterr().err
