"""nbgrader with the course notebooks: the release is ``make student``'s version, and autograde gives full
points to a solution and 0 to an untouched student version (fixture notebook + course notebooks).

GANEDU_GRADE_NOTEBOOKS=all autogrades every course notebook that has exercises (slow: two quick runs
each); by default one course notebook, to keep `make test` short.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from delivery_fixtures import NOTEBOOKS, nb_id, source, write_fixture
from nbgrader.api import Gradebook

from ganedu.classroom.grade import find_exercises
from ganedu.classroom.nbgrader_course import mark_for_nbgrader, write_course
from ganedu.classroom.student import make_student_notebook

NBGRADER = [sys.executable, "-m", "nbgrader"]
QUICK_CELL_TIMEOUT = 180  #: seconds a cell may take when the tests autograde in quick mode


def nbgrader(course: Path, *args: str, timeout: int = 1800) -> str:
    """Run ``nbgrader ARGS`` in the course folder (quick mode); its output, or a failure with it."""
    env = {**os.environ, "GANEDU_QUICK": "1", "MPLBACKEND": "Agg",       # nbgrader runs `alembic` from PATH:
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}  # this env's
    env.pop("NBGRADER_EXECUTION", None)
    run = subprocess.run(NBGRADER + list(args), cwd=course, env=env, capture_output=True, text=True,
                         timeout=timeout)
    assert run.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
    return run.stdout + run.stderr


def cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, source(c)) for c in nb.cells]


def test_a_wrong_answer_raises_only_under_nbgrader(monkeypatch, capsys):
    from ganedu.lessons.exercises.core import RESULTS, report

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert report("demo", False, "twice 3 is 6") is False                 # a student: printed, returned
    assert "✗ Not yet: twice 3 is 6" in capsys.readouterr().out
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert report("demo", True, "right") is True
    with pytest.raises(AssertionError, match="exercise 'demo': twice 3 is 6"):
        report("demo", False, "twice 3 is 6")
    assert RESULTS.pop("demo") is False and "✗ Not yet" in capsys.readouterr().out


def test_exercise_cells_become_answers_and_check_cells_one_point_tests(tmp_path):
    nb = mark_for_nbgrader(nbformat.read(write_fixture(tmp_path / "fx.ipynb"), as_version=4))
    meta = {i: c.metadata.get("nbgrader") for i, c in enumerate(nb.cells)}
    assert [i for i, m in meta.items() if m and m["solution"]] == [3, 6]          # the two exercise cells
    assert [i for i, m in meta.items() if m and m["grade"]] == [4, 7]             # the two check cells
    assert [meta[i]["grade_id"] for i in (3, 6, 4, 7)] == ["exercise_1", "exercise_2", "check_double", "check_answer"]
    assert all(meta[i]["points"] == 1 and meta[i]["locked"] for i in (4, 7))
    assert not any(meta[i] for i in (0, 1, 2, 5)), "prose and set-up cells are not nbgrader cells"


def test_a_cell_that_is_both_exercise_and_check_is_refused(tmp_path):
    nb = nbformat.read(write_fixture(tmp_path / "fx.ipynb"), as_version=4)
    nb.cells[3].source += "\ncheck_double(double)\n"
    with pytest.raises(ValueError, match=r"cell 3: an exercise cell must not also call a check \(check_double\)"):
        mark_for_nbgrader(nb, "fx.ipynb")


def test_assignment_name_is_validated(tmp_path):
    with pytest.raises(ValueError, match=r"assignment must be a plain folder name.*'a/b'"):
        write_course([], tmp_path, "a/b")


def test_generate_assignment_releases_make_students_version(tmp_path):
    """Every course notebook: nbgrader's release has make student's cells, sources and stubs; its check
    cells are nbgrader's locked 1-point tests."""
    course = tmp_path / "course"
    write_course(NOTEBOOKS, course, "all")
    nbgrader(course, "generate_assignment", "all", "--force")
    for path in NOTEBOOKS:
        released = nbformat.read(course / "release" / "all" / path.name, as_version=4)
        expected = make_student_notebook(nbformat.read(path, as_version=4), path.name)
        assert cells(released) == cells(expected), f"{path.name}: nbgrader's release differs from make student's"
        assert not any(c.get("outputs") for c in released.cells if c.cell_type == "code")
        checks = sorted({i for cs in find_exercises(expected).values() for i in cs})
        for i in checks:
            meta = released.cells[i].metadata
            assert meta["nbgrader"]["grade"] and meta["nbgrader"]["points"] == 1, (path.name, i)
            assert meta.get("editable") is False and meta.get("deletable") is False, (path.name, i)


def autograde(course: Path, assignment: str, submissions: dict[str, dict[str, Path]]) -> dict[str, tuple]:
    """Submit ``{student: {notebook name: file}}``, autograde, return ``{student: (score, max score)}``."""
    for student, files in submissions.items():
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        for name, path in files.items():
            shutil.copy(path, folder / name)
    # quick mode: no cell needs a minute. A shorter cell timeout than the course's (CELL_TIMEOUT, for full-mode
    # training) bounds a known client stall after a widget cell (nbclient#312: once in CI, nbgrader waited out the
    # whole 20-minute timeout after 03's `interact` cell had replied, then went on); the scores are checked as before.
    nbgrader(course, "autograde", assignment, "--force", f"--Execute.timeout={QUICK_CELL_TIMEOUT}")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s: (gb.find_submission(assignment, s).score, gb.find_submission(assignment, s).max_score)
                for s in submissions}


def test_autograde_fixture_full_points_zero_untouched_and_wrong(tmp_path):
    course = tmp_path / "course"
    write_fixture(tmp_path / "fx.ipynb")
    write_course([tmp_path / "fx.ipynb"], course, "a")
    nbgrader(course, "generate_assignment", "a", "--force")
    wrong = nbformat.read(course / "release" / "a" / "fx.ipynb", as_version=4)
    double, answer = 4, 7                                    # after the student note, cell 1
    assert all("raise NotImplementedError" in source(wrong.cells[i]) for i in (double, answer))
    wrong.cells[double].source = "def double(x):\n    return x + 2\n"   # right for x = 2 only
    wrong.cells[answer].source = "answer = 42\n"                           # right
    nbformat.write(wrong, tmp_path / "submitted_wrong.ipynb")
    scores = autograde(course, "a", {
        "solution": {"fx.ipynb": course / "source" / "a" / "fx.ipynb"},
        "untouched": {"fx.ipynb": course / "release" / "a" / "fx.ipynb"},
        "one_wrong": {"fx.ipynb": tmp_path / "submitted_wrong.ipynb"},
    })
    assert scores == {"solution": (2, 2), "untouched": (0, 2), "one_wrong": (1, 2)}


COURSE = [p for p in NOTEBOOKS if find_exercises(nbformat.read(p, as_version=4))]
AUTOGRADED = COURSE if os.environ.get("GANEDU_GRADE_NOTEBOOKS") == "all" else [
    p for p in COURSE if p.name.startswith("03_")]


@pytest.mark.slow
@pytest.mark.parametrize("path", AUTOGRADED, ids=nb_id)
def test_autograde_course_notebook_full_points_untouched_zero(path, tmp_path):
    course = tmp_path / "course"
    write_course([path], course, "hw")
    nbgrader(course, "generate_assignment", "hw", "--force")
    scores = autograde(course, "hw", {"solution": {path.name: course / "source" / "hw" / path.name},
                                      "untouched": {path.name: course / "release" / "hw" / path.name}})
    n_checks = len({i for cs in find_exercises(nbformat.read(path, as_version=4)).values() for i in cs})
    assert scores == {"solution": (n_checks, n_checks), "untouched": (0, n_checks)}
