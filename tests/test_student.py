"""Student versions: every solution block replaced by a stub restating the task, outputs cleared,
check cells intact, no solution line left (checked on the fixture and on every course notebook)."""
from __future__ import annotations

import re
import subprocess

import nbformat
import pytest
from delivery_fixtures import (ANSWER_TASK, NOTEBOOKS, ROOT, fixture_notebook, make_command, nb_id, source,
                               write_fixture)

from ganedu.lessons.exercises.core import ExerciseNotDone, run_student
from ganedu.classroom.grade import find_exercises
from ganedu.classroom.student import (BEGIN, END, MD_BEGIN, MD_END, SolutionMarkerError, drop_markdown_solutions,
                            make_student_notebook, solution_blocks, stub_source, write_student_versions)


def _compile_cell(code: str, where: str):
    """Compile a code cell, IPython magics and shell lines left out."""
    lines = ["pass" if re.match(r"^\s*[%!]", ln) else ln for ln in code.splitlines()]
    compile("\n".join(lines), where, "exec")


def distinctive_solution_lines(nb) -> list[str]:
    """Solution lines (inside BEGIN/END, not comments, >= 12 chars) found nowhere else in the notebook."""
    inside, outside = [], []
    for cell in nb.cells:
        text = source(cell)
        if cell.cell_type != "code":
            outside.extend(text.splitlines())
            continue
        lines = text.split("\n")
        spans = solution_blocks(text)
        flags = [any(b < i < e for b, e in spans) for i in range(len(lines))]
        for line, sol in zip(lines, flags):
            (inside if sol else outside).append(line)
    elsewhere = {ln.strip() for ln in outside}
    return sorted({ln.strip() for ln in inside
                   if len(ln.strip()) >= 12 and not ln.strip().startswith("#") and ln.strip() not in elsewhere})


# ------------------------------------------------------------------------------- unit tests
def test_stub_inside_function_keeps_indent_task_and_raises_the_task():
    src = "def f(x):\n    # BEGIN SOLUTION\n    # TASK: add one to x.\n    return x + 1\n    # END SOLUTION\n"
    out = stub_source(src)
    assert "return x + 1" not in out and "BEGIN SOLUTION" not in out and "END SOLUTION" not in out
    assert '    # TASK: add one to x.\n    raise NotImplementedError("Exercise: add one to x.")' in out
    ns = {}
    exec(out, ns)
    with pytest.raises(NotImplementedError, match=r"^Exercise: add one to x\.$"):
        ns["f"](1)
    with pytest.raises(ExerciseNotDone, match="not done yet"):    # what the check cell then shows
        run_student("add_one", ns["f"], 1)


def test_task_from_markdown_when_no_task_comment_and_quotes_escaped():
    src = 'x = 1\n# BEGIN SOLUTION\ny = "secret"\n# END SOLUTION\nprint(y)\n'
    out = stub_source(src, fallback_task='Set `y` to the "right" string.')
    assert "secret" not in out and out.startswith("x = 1\n") and out.endswith("print(y)\n")
    ns = {}
    with pytest.raises(NotImplementedError) as info:
        exec(out, ns)
    assert str(info.value) == 'Exercise: Set `y` to the "right" string.'


def test_markdown_task_prefers_exercise_heading_then_imperative_paragraph():
    from ganedu.classroom.student import _markdown_task
    md = "## 4. Exact W1\n\nContext first.\n\n### Exercise: W1 by sorting\n\nWrite `w1(x, y)` **now**.\n\nMore."
    assert _markdown_task(md) == "Write `w1(x, y)` now."
    assert _markdown_task("Some context.\n\nImplement the step\nover two lines.") == "Implement the step over two lines."
    assert _markdown_task("# Title\n\nOnly context.") == "Only context."
    assert _markdown_task("```python\nx = 1\n```") == ""


def test_two_blocks_in_one_cell_and_text_around_them_kept():
    src = ("a = 0\n# BEGIN SOLUTION\na = 1\n# END SOLUTION\nmiddle = True\n"
           "def g():\n    # BEGIN SOLUTION\n    # TASK: return two\n    return 2\n    # END SOLUTION\n")
    out = stub_source(src, "first task")
    assert out.count("raise NotImplementedError") == 2
    assert "a = 1" not in out and "return 2" not in out and "middle = True" in out
    assert 'raise NotImplementedError("Exercise: first task")' in out
    assert '    raise NotImplementedError("Exercise: return two")' in out


@pytest.mark.parametrize("src, message", [
    ("# BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("x = 1\n# END SOLUTION\n", "without"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n", "nested"),
])
def test_broken_markers_are_reported_with_the_line(src, message):
    with pytest.raises(SolutionMarkerError, match=message):
        stub_source(src, where="nb.ipynb, cell 3")


def test_fixture_student_version(tmp_path):
    (tmp_path / "src").mkdir()
    src = write_fixture(tmp_path / "src" / "01_fixture.ipynb")
    original = nbformat.read(src, as_version=4)
    original.cells[4].outputs = [nbformat.v4.new_output("stream", text="✅ Correct")]
    original.cells[4].execution_count = 3
    nbformat.write(original, src)
    before = src.read_text()

    [dest] = write_student_versions([src], tmp_path / "student")
    assert src.read_text() == before, "the source notebook must not change"
    student = nbformat.read(dest, as_version=4)
    nbformat.validate(student)
    text = dest.read_text()
    assert "distinctive-double-line" not in text and "distinctive-answer-line" not in text
    assert "BEGIN SOLUTION" not in text
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    # task from the TASK comment (continued on the next comment line), and from the markdown
    codes = [source(c) for c in student.cells if c.cell_type == "code"]
    assert 'raise NotImplementedError("Exercise: return twice x, for any number x.")' in codes[1]
    assert f'raise NotImplementedError("Exercise: {ANSWER_TASK}")' in codes[3]
    # check cells identical, exercises still discoverable, a note for the student
    assert find_exercises(student) == {
        name: [i + 1 for i in cells] for name, cells in find_exercises(fixture_notebook()).items()}
    assert "check_double(double)" in codes and "ganedu_answer_checked = check_answer(answer)" in codes
    assert "Student version" in source(student.cells[1])
    assert student.metadata["ganedu"]["student_version"] is True


ANSWER = "**Answer.** distinctive-prose-answer: KL minus twice JS."


def test_markdown_answers_are_dropped_inline_and_whole_cells_removed():
    question = "3. What does it minimise?\n<!-- BEGIN SOLUTION -->\n\n   " + ANSWER + "\n\n<!-- END SOLUTION -->\n4. Next question"
    assert drop_markdown_solutions(question) == "3. What does it minimise?\n4. Next question"
    assert drop_markdown_solutions("a <!--BEGIN SOLUTION--> b <!-- END SOLUTION --> c") == "a  c"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(question), nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("<!-- BEGIN SOLUTION -->\n" + ANSWER + "\n<!-- END SOLUTION -->")])
    student = make_student_notebook(nb, "fixture")
    assert [c.cell_type for c in student.cells] == ["markdown", "code"]      # the answer-only cell is gone
    assert "distinctive-prose-answer" not in nbformat.writes(student) and "SOLUTION" not in nbformat.writes(student)
    assert "distinctive-prose-answer" in nbformat.writes(nb)                  # the source is left alone


@pytest.mark.parametrize("text, message", [
    ("<!-- BEGIN SOLUTION --> never closed", "never closed"),
    ("stray <!-- END SOLUTION -->", "without"),
    ("<!-- END SOLUTION --> <!-- BEGIN SOLUTION --> x <!-- END SOLUTION -->", "without"),
    ("<!-- BEGIN SOLUTION --> <!-- BEGIN SOLUTION --> <!-- END SOLUTION --> <!-- END SOLUTION -->", "nested")])
def test_broken_markdown_markers_are_reported(text, message):
    with pytest.raises(SolutionMarkerError, match=message):
        drop_markdown_solutions(text, "nb, cell 3")


def test_speaker_notes_are_dropped_and_never_taken_for_the_task():
    from ganedu.classroom.student import make_student_notebook
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## Exercise\n\nWrite double(x).", metadata={"slideshow": {"slide_type": "slide"}}),
        nbformat.v4.new_markdown_cell("Speaker notes: ask the room why?", metadata={"slideshow": {"slide_type": "notes"}}),
        nbformat.v4.new_code_cell("def double(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION",
                                  metadata={"slideshow": {"slide_type": "-"}}),
    ])
    student = make_student_notebook(nb)
    text = "\n".join(source(c) for c in student.cells)
    assert "Speaker notes" not in text
    assert 'NotImplementedError("Exercise: Write double(x).")' in text


def test_refuses_to_overwrite_the_source(tmp_path):
    src = write_fixture(tmp_path / "01_fixture.ipynb")
    with pytest.raises(ValueError, match="overwrite"):
        write_student_versions([src], tmp_path)


def test_the_distinctive_line_finder_sees_solutions():
    lines = distinctive_solution_lines(fixture_notebook())
    assert any("distinctive-double-line" in ln for ln in lines)
    assert any("distinctive-answer-line" in ln for ln in lines)


# ----------------------------------------------------------------- the course's notebooks
@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    """`make student` into a temporary folder (the real target, this interpreter)."""
    out = tmp_path_factory.mktemp("student")
    proc = subprocess.run(make_command("student", STUDENT_DIR=str(out)), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_make_student_writes_one_per_notebook(student_dir):
    assert sorted(p.name for p in student_dir.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=nb_id)
def test_student_version_of_course_notebook(path, student_dir):
    original = nbformat.read(path, as_version=4)
    student = nbformat.read(student_dir / path.name, as_version=4)
    nbformat.validate(student)
    text = (student_dir / path.name).read_text()
    n_blocks = sum(len(solution_blocks(source(c))) for c in original.cells if c.cell_type == "code")

    # no solution left: markers gone, every distinctive solution line gone, answers in prose gone
    assert not any(BEGIN.match(ln) or END.match(ln) for c in student.cells for ln in source(c).splitlines())
    assert not any(MD_BEGIN.search(source(c)) or MD_END.search(source(c)) for c in student.cells)
    spans = [s for c in original.cells if c.cell_type == "markdown"
             for s in re.findall(r"<!--\s*BEGIN SOLUTION\s*-->(.*?)<!--\s*END SOLUTION\s*-->", source(c), re.S)]
    answers = [ln.strip() for s in spans for ln in s.splitlines() if len(ln.strip()) >= 12]
    student_text = "\n".join(source(c) for c in student.cells)
    assert not [ln for ln in answers if ln in student_text], "an answer in prose was left in the student version"
    leaked = [ln for ln in distinctive_solution_lines(original) if ln in text]
    assert not leaked, f"solution lines left in the student version: {leaked}"
    if n_blocks:
        assert distinctive_solution_lines(original), "exercise solutions too short to check for leaks"
    # one stub per block, each restating a task; every code cell still compiles
    code = "\n".join(source(c) for c in student.cells if c.cell_type == "code")
    stubs = re.findall(r'raise NotImplementedError\("Exercise: ((?:[^"\\]|\\.)+)"\)', code)
    assert len(stubs) == n_blocks and all(len(t) > 10 for t in stubs), stubs
    for i, cell in enumerate(student.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            _compile_cell(source(cell), f"{path.name} cell {i}")
    # the check cells are exactly the original ones
    original_checks = [source(original.cells[i]) for cells in find_exercises(original).values() for i in cells]
    student_checks = [source(student.cells[i]) for cells in find_exercises(student).values() for i in cells]
    assert student_checks == original_checks
    if n_blocks:
        assert original_checks, f"{path.name}: exercises without a check_<name>(...) cell"


def test_make_student_target_exists():
    text = (ROOT / "mk" / "delivery.mk").read_text()
    assert re.search(r"^student:", text, re.M) and re.search(r"^slides:", text, re.M)
