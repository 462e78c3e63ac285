"""Shared helpers for the delivery tests (student versions, grading, slides, hygiene)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"))
STAMP = ROOT / ".venv" / ".ganedu-installed"


def nb_id(path: Path) -> str:
    return path.stem


def source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def make_command(*targets: str, **variables: str) -> list[str]:
    """``make`` for a delivery target, with this interpreter and without re-running the set-up."""
    cmd = ["make", "--no-print-directory", "-C", str(ROOT), "-o", str(STAMP), "-o", ".venv/.ganedu-installed",
           f"PY={sys.executable}"]
    cmd += [f"{k}={v}" for k, v in variables.items()]
    return cmd + list(targets)


def _md(text, slide="-"):
    return new_markdown_cell(text, metadata={"slideshow": {"slide_type": slide}})


def _code(text, slide="-"):
    return new_code_cell(text, metadata={"slideshow": {"slide_type": slide}})


# The fixture's check functions are defined in the notebook itself (like ganedu.lessons.exercises' ones,
# with report / run_student), so these tests do not depend on any course notebook's checks.
FIXTURE_CHECKS = '''from ganedu.lessons.exercises.core import report, run_student

def check_double(fn):
    out = run_student("double", fn, 3)
    ok = out == 6
    return report("double", ok, "double(3) is 6" if ok else "double(3) should be twice 3")

def check_answer(value):
    return report("answer_key", value == 42, "that is the answer" if value == 42 else "not the answer")
'''

DOUBLE_SOLUTION = '''def double(x):
    # BEGIN SOLUTION
    # TASK: return twice x,
    #   for any number x.
    result = x * 2  # distinctive-double-line
    return result
    # END SOLUTION
'''

ANSWER_SOLUTION = '''# BEGIN SOLUTION
answer = 40 + 2  # distinctive-answer-line
# END SOLUTION
print("answer set")
'''

ANSWER_TASK = "Set `answer` to the answer to everything."


def fixture_notebook(double_solution: str = DOUBLE_SOLUTION):
    """A tiny notebook with two exercises: one inside a function, one at top level."""
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    nb.cells = [
        _md("# A fixture\n\nTwo exercises.", "slide"),
        _code(FIXTURE_CHECKS),
        _md("## Exercise 1\n\nWrite `double(x)`.", "subslide"),
        _code(double_solution),
        _code("check_double(double)"),
        _md(f"## Exercise 2\n\n{ANSWER_TASK}\n\nMore text.", "subslide"),
        _code(ANSWER_SOLUTION),
        _code("ganedu_answer_checked = check_answer(answer)"),
    ]
    return nb


def write_fixture(path: Path, **kw) -> Path:
    nbformat.write(fixture_notebook(**kw), path)
    return path


def markdown_headings(nb) -> int:
    """Markdown headings (ATX, outside code fences) in the notebook's markdown cells."""
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        text = re.sub(r"```.*?```", "", source(cell), flags=re.S)
        count += sum(bool(re.match(r"^ {0,3}#{1,6}\s+\S", line)) for line in text.splitlines())
    return count
