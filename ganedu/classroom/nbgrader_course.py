"""Grade the notebooks with nbgrader: a course folder whose student versions are ``make student``'s.

nbgrader (https://nbgrader.readthedocs.io) only touches cells whose ``nbgrader`` metadata marks them.
Our notebooks carry no such metadata: the markers are the source of truth (``# BEGIN SOLUTION`` in an
exercise, a ``check_<name>(...)`` call in a check cell). This module writes it from them:

- an exercise cell (a code cell with a solution block) becomes an *autograded answer*
  (``solution: true``), named ``exercise_<k>``;
- a check cell becomes an *autograder test* (``grade: true``, ``locked: true``, 1 point), named
  ``check_<exercise>``. Under nbgrader (which sets ``NBGRADER_EXECUTION`` when it autogrades or
  validates) a check raises ``AssertionError`` on a wrong answer, so the cell scores 0; for a
  student it prints ✓/✗ as always (``ganedu.lessons.exercises.core.report``);
- solution prose (``<!-- BEGIN SOLUTION -->`` in markdown) gets no metadata: it is the
  instructor's answer to a question, not a cell for the student's answer, and nbgrader requires a
  markdown solution cell to be graded by hand.

``nbgrader generate_assignment`` would replace a solution block by ``# YOUR CODE HERE`` and a bare
``raise NotImplementedError()``. The course folder's ``nbgrader_config.py`` (``configure``) puts
``StudentVersion`` in the place of nbgrader's ``ClearSolutions``; it calls
``ganedu.classroom.student.make_student_notebook``, so nbgrader's release is ``make student``'s
version (same cells, same stubs) plus nbgrader's own metadata (checksums, locked check cells).

    python -m ganedu.classroom.nbgrader_course notebooks/05_gradient_penalty.ipynb --course course --assignment 05
    cd course && nbgrader generate_assignment 05 && ...       (collect submissions) ... && nbgrader autograde 05
"""
from __future__ import annotations

import argparse
import copy
import functools
import sys
from pathlib import Path

from ganedu.classroom.grade import find_exercises
from ganedu.classroom.student import _cell_source, make_student_notebook, report_written, solution_blocks

CONFIG = '''# nbgrader settings for the ganedu notebooks (written by python -m ganedu.classroom.nbgrader_course)
from ganedu.classroom.nbgrader_course import configure

configure(get_config())
'''

#: seconds nbgrader lets one cell run (its default, 30 s, is shorter than a training cell)
CELL_TIMEOUT = 1200


def _metadata(grade_id: str, *, solution: bool, grade: bool) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": grade, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = 1
    return meta


def mark_for_nbgrader(nb, name: str = "notebook"):
    """A copy of ``nb`` whose exercise cells are nbgrader answer cells and check cells its test cells."""
    nb = copy.deepcopy(nb)
    checks = {}                                                   # cell index -> exercise names
    for exercise, cells in find_exercises(nb).items():
        for index in cells:
            checks.setdefault(index, []).append(exercise)
    used, n_exercises = set(), 0
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type != "code":
            continue
        is_exercise = bool(solution_blocks(_cell_source(cell), f"{name}, cell {index}"))
        if is_exercise and index in checks:
            raise ValueError(f"{name}, cell {index}: an exercise cell must not also call a check "
                             f"(check_{checks[index][0]}); move the check into the next cell")
        if is_exercise:
            n_exercises += 1
            cell.metadata["nbgrader"] = _metadata(f"exercise_{n_exercises}", solution=True, grade=False)
        elif index in checks:
            grade_id = base = "check_" + "_".join(checks[index])
            suffix = 1
            while grade_id in used:                               # the same exercise checked twice
                suffix += 1
                grade_id = f"{base}_{suffix}"
            used.add(grade_id)
            cell.metadata["nbgrader"] = _metadata(grade_id, solution=False, grade=True)
    return nb


def write_course(notebooks, course_dir, assignment: str) -> list[Path]:
    """nbgrader's ``source/<assignment>/`` in ``course_dir``, marked notebooks, and its config file."""
    import nbformat

    if not assignment or "/" in assignment or assignment.startswith("."):
        raise ValueError(f"assignment must be a plain folder name such as '05', got {assignment!r}")
    course_dir = Path(course_dir)
    source = course_dir / "source" / assignment
    source.mkdir(parents=True, exist_ok=True)
    config = course_dir / "nbgrader_config.py"
    if not config.exists():
        config.write_text(CONFIG)
    written = []
    for path in map(Path, notebooks):
        nb = mark_for_nbgrader(nbformat.read(path, as_version=4), path.name)
        nbformat.write(nb, source / path.name)
        written.append(source / path.name)
    return written


@functools.lru_cache(maxsize=None)
def student_version_preprocessor():
    """nbgrader's preprocessor that makes ``make student``'s version (imports nbgrader lazily)."""
    from nbgrader.preprocessors import NbGraderPreprocessor

    class StudentVersion(NbGraderPreprocessor):
        """``make student`` inside ``nbgrader generate_assignment``: stubs with the task, no solution
        prose, no speaker notes, the student note on top (``make_student_notebook``)."""

        def preprocess(self, nb, resources):
            return make_student_notebook(nb, resources.get("unique_key", "notebook")), resources

    return StudentVersion


def configure(c) -> None:
    """Set nbgrader's config ``c`` (``get_config()`` in ``nbgrader_config.py``) for these notebooks."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.preprocessors import ClearSolutions

    default = GenerateAssignment.class_traits()["preprocessors"].default()
    if ClearSolutions not in default:
        raise RuntimeError("this nbgrader has no ClearSolutions step in generate_assignment; "
                           "ganedu's student versions need nbgrader 0.9")
    ours = student_version_preprocessor()
    c.GenerateAssignment.preprocessors = [ours if p is ClearSolutions else p for p in default]
    c.Execute.timeout = CELL_TIMEOUT


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ganedu.classroom.nbgrader_course",
        description="Write an nbgrader course folder: source/ASSIGNMENT/ with the notebooks marked for "
                    "nbgrader (exercise cells = answers, check cells = 1-point tests) and nbgrader_config.py, "
                    "so that `nbgrader generate_assignment ASSIGNMENT` releases `make student`'s version.")
    parser.add_argument("notebooks", nargs="+", help="course notebooks, e.g. notebooks/05_gradient_penalty.ipynb")
    parser.add_argument("--course", default="course", help="the nbgrader course folder (default: course)")
    parser.add_argument("--assignment", required=True, help="assignment name, e.g. 05")
    args = parser.parse_args(argv)
    return report_written("ganedu.classroom.nbgrader_course",
                          lambda: write_course(args.notebooks, args.course, args.assignment))


if __name__ == "__main__":
    sys.exit(main())
