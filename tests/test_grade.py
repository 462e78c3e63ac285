"""The grader: full marks to solution notebooks, zero to untouched student versions, and each
verdict attributed to the right exercise (fixture notebook + one or more course notebooks).

GANEDU_GRADE_NOTEBOOKS=all grades every course notebook that has exercises (slow: two quick
runs each); by default the first one is graded, to keep `make test` short.
"""
from __future__ import annotations

import json
import os
import time

import nbformat
import pytest
from delivery_fixtures import NOTEBOOKS, nb_id, write_fixture

from ganedu.__main__ import main as cli_main
from ganedu.classroom.grade import find_exercises, grade_notebook
from ganedu.classroom.student import write_student_versions


def test_find_exercises_reads_check_calls_not_definitions_or_comments():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (
        "def check_mine(x):\n    return True",                   # a definition, not a check cell
        "ganedu.lessons.exercises.check_gradient_penalty(gp)",
        "# check_commented(x)\nprint('x')",
        "from ganedu.lessons.exercises import check_sigma\nok = check_sigma(f)\ncheck_gradient_penalty(gp)",
        "exercises.check_clip(c)",
    )]
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("call `check_in_markdown(x)`"))
    assert find_exercises(nb) == {"gradient_penalty": [2, 4], "sigma": [4], "clip": [5]}


def test_fixture_solution_gets_full_marks_through_the_cli(tmp_path, capsys):
    path = write_fixture(tmp_path / "01_fixture.ipynb")
    before = path.read_text()
    assert cli_main(["grade", "--json", str(path)]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert path.read_text() == before, "grading must not modify the notebook"
    assert (report["score"], report["total"], report["quick"]) == (2, 2, True)
    assert [e["name"] for e in report["exercises"]] == ["double", "answer"]
    assert all(e["passed"] and e["reason"] == "correct" for e in report["exercises"])


def test_fixture_student_version_scores_zero_with_reasons(tmp_path):
    src = write_fixture(tmp_path / "src.ipynb")
    [student] = write_student_versions([src], tmp_path / "student")
    report = grade_notebook(student)
    assert (report.score, report.total) == (0, 2)
    double, answer = report.exercises
    assert "not done yet" in double.reason                  # the check raised ExerciseNotDone
    assert "not done yet" in answer.reason    # top-level stub: raised in its own cell, check saw NameError
    text = report.text()
    assert "Score: 0/2" in text and "double" in text and "answer" in text


def test_fixture_wrong_and_broken_answers_score_zero_with_the_reason(tmp_path):
    wrong = "def double(x):\n    return x + 2\n"            # right for x = 2 only
    path = write_fixture(tmp_path / "wrong.ipynb", double_solution=wrong)
    nb = nbformat.read(path, as_version=4)
    nb.cells[6].source = "answr = 42\n"                      # a typo: the check cell raises NameError
    nbformat.write(nb, path)
    report = grade_notebook(path)
    scores = {e.name: (e.passed, e.reason) for e in report.exercises}
    assert scores["double"] == (False, "the check found a problem (run the check cell to see its message)")
    assert scores["answer"] == (False, "the check cell stopped with NameError: name 'answer' is not defined")
    assert report.score == 0


def test_missing_notebook_is_a_clear_error(tmp_path, capsys):
    assert cli_main(["grade", str(tmp_path / "nope.ipynb")]) == 2
    assert "no notebook at" in capsys.readouterr().err


# ------------------------------------------------------------------- course notebooks
WITH_EXERCISES = [p for p in NOTEBOOKS if find_exercises(nbformat.read(p, as_version=4))]
GRADED = WITH_EXERCISES if os.environ.get("GANEDU_GRADE_NOTEBOOKS") == "all" else WITH_EXERCISES[:1]


@pytest.mark.slow
@pytest.mark.parametrize("path", GRADED, ids=nb_id)
def test_course_notebook_solution_full_marks_student_zero(path, tmp_path):
    start = time.perf_counter()
    solution = grade_notebook(path, timeout=1200)
    assert solution.total >= 1
    assert solution.score == solution.total, solution.text()

    [student] = write_student_versions([path], tmp_path)
    untouched = grade_notebook(student, timeout=1200)
    assert untouched.total == solution.total
    assert untouched.score == 0, untouched.text()
    not_friendly = [e for e in untouched.exercises if not e.reason.startswith("not done yet")]
    assert not not_friendly, ("these check cells did not raise the friendly ExerciseNotDone on the stub "
                              f"(put the solution inside the function the check calls):\n{untouched.text()}")
    print(f"{path.name}: graded twice in {time.perf_counter() - start:.0f} s")
