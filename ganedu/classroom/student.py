"""Student versions of the notebooks: solutions out, stubs in, outputs cleared, checks kept.

In the course's notebooks an exercise cell holds its solution between two marker lines::

    def gradient_penalty(critic, real, fake):
        # BEGIN SOLUTION
        # TASK: one eps per sample, interpolate, take the per-sample gradient norm, penalise (norm - 1)^2.
        eps = torch.rand(real.shape[0], 1)
        ...
        # END SOLUTION

The student version keeps the ``# TASK:`` comment (and the comment lines right after it) and
replaces the rest of the block by ``raise NotImplementedError("Exercise: <task>")`` at the
block's indentation. Without a ``# TASK:`` line the task is taken from the markdown cell just
before the exercise. The check cells that follow are left exactly as they are: run on the stub,
they raise the friendly ``ExerciseNotDone`` of ``ganedu.lessons.exercises.core``.

Prose that answers an exercise or a discussion question sits in a markdown cell between two HTML
comments (invisible when the notebook is rendered)::

    <!-- BEGIN SOLUTION -->
    **Answer.** ...
    <!-- END SOLUTION -->

The student version drops the text between them, markers included, and drops the cell when
nothing else is left in it. Speaker notes (markdown cells of slide type ``notes``) are the
instructor's: the student version drops them.

    python -m ganedu.classroom.student notebooks/*.ipynb --out student/     (what `make student` runs)
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

BEGIN = re.compile(r"^(?P<indent>[ \t]*)#\s*BEGIN SOLUTION\b")
END = re.compile(r"^[ \t]*#\s*END SOLUTION\b")
TASK = re.compile(r"^[ \t]*#\s*TASK:\s*(?P<text>.*?)\s*$")
MD_BEGIN = re.compile(r"<!--\s*BEGIN SOLUTION\s*-->")
MD_END = re.compile(r"<!--\s*END SOLUTION\s*-->")
COMMENT = re.compile(r"^[ \t]*#(?!\s*(BEGIN|END) SOLUTION\b)\s?(?P<text>.*?)\s*$")
MAX_TASK_CHARS = 300

STUDENT_NOTE = (
    "> **Student version.** Each exercise cell stops with `raise NotImplementedError(...)`: "
    "replace that line with your code, run the cell, then run the check cell below it. "
    "`python -m ganedu grade <this notebook>` scores every exercise.")


class SolutionMarkerError(ValueError):
    """A ``# BEGIN SOLUTION`` without its ``# END SOLUTION`` (or the reverse, or nested)."""


def _cell_source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


IMPERATIVE = re.compile(r"^(write|implement|complete|compute|return|fill|build|define|fix|set|pick|"
                        r"choose|find|code|make|add|replace|estimate|train)\b", re.I)


def _paragraphs(text: str) -> list[str]:
    """Prose paragraphs of a markdown text, one line each (no headings, code blocks, bold marks)."""
    out = []
    for para in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in para.strip().splitlines()
                 if ln.strip() and not ln.lstrip().startswith("#")]
        flat = re.sub(r"\s+", " ", " ".join(ln.lstrip(">-* ").strip() for ln in lines)).strip()
        flat = flat.replace("**", "")
        if flat:
            out.append(flat)
    return out


def _markdown_task(text: str) -> str:
    """The task a markdown cell states: the first paragraph under its last "Exercise" heading,
    else its first paragraph that starts with an imperative (Write, Implement, ...), else its first."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)           # no code blocks
    headings = [m.end() for m in re.finditer(r"^ {0,3}#{1,6}[^\n]*\bexercise\b[^\n]*$", text, re.I | re.M)]
    if headings:
        after = _paragraphs(text[headings[-1]:])
        if after:
            return after[0]
    paragraphs = _paragraphs(text)
    return next((p for p in paragraphs if IMPERATIVE.match(p)), paragraphs[0] if paragraphs else "")


def _shorten(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > MAX_TASK_CHARS:
        text = text[:MAX_TASK_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return text


def solution_blocks(source: str, where: str = "cell") -> list[tuple[int, int]]:
    """(begin_line, end_line) index pairs of the solution blocks in ``source``."""
    blocks, start = [], None
    for i, line in enumerate(source.split("\n")):
        if BEGIN.match(line):
            if start is not None:
                raise SolutionMarkerError(f"{where}: line {i + 1}: nested '# BEGIN SOLUTION' "
                                          f"(the one on line {start + 1} is not closed)")
            start = i
        elif END.match(line):
            if start is None:
                raise SolutionMarkerError(f"{where}: line {i + 1}: '# END SOLUTION' without "
                                          "a '# BEGIN SOLUTION' before it")
            blocks.append((start, i))
            start = None
    if start is not None:
        raise SolutionMarkerError(f"{where}: line {start + 1}: '# BEGIN SOLUTION' is never closed "
                                  "by '# END SOLUTION'")
    return blocks


def drop_markdown_solutions(text: str, where: str = "cell") -> str:
    """``text`` without its ``<!-- BEGIN SOLUTION -->`` ... ``<!-- END SOLUTION -->`` spans."""
    out, pos = [], 0
    for begin in MD_BEGIN.finditer(text):
        if begin.start() < pos:
            raise SolutionMarkerError(f"{where}: nested '<!-- BEGIN SOLUTION -->'")
        if MD_END.search(text, pos, begin.start()):
            raise SolutionMarkerError(f"{where}: '<!-- END SOLUTION -->' without a "
                                      "'<!-- BEGIN SOLUTION -->' before it")
        end = MD_END.search(text, begin.end())
        if end is None:
            raise SolutionMarkerError(f"{where}: '<!-- BEGIN SOLUTION -->' is never closed by "
                                      "'<!-- END SOLUTION -->'")
        out.append(text[pos:begin.start()])
        pos = end.end()
        if text[pos:pos + 1] == "\n" and text[begin.start() - 1:begin.start()] in ("", "\n"):
            pos += 1                                  # the markers' own lines go with them
    if MD_END.search(text, pos):
        raise SolutionMarkerError(f"{where}: '<!-- END SOLUTION -->' without a "
                                  "'<!-- BEGIN SOLUTION -->' before it")
    out.append(text[pos:])
    return re.sub(r"\n{3,}", "\n\n", "".join(out)).strip("\n")


def stub_source(source: str, fallback_task: str = "", where: str = "cell") -> str:
    """``source`` with every solution block replaced by its task comment and a stub."""
    lines = source.split("\n")
    blocks = solution_blocks(source, where)
    out, pos = [], 0
    for begin, end in blocks:
        out.extend(lines[pos:begin])
        indent = BEGIN.match(lines[begin]).group("indent")
        body = lines[begin + 1:end]
        task_lines, task = [], ""
        if body and TASK.match(body[0]):
            task_parts = [TASK.match(body[0]).group("text")]
            task_lines.append(body[0])
            for ln in body[1:]:
                m = COMMENT.match(ln)
                if not m or not m.group("text"):
                    break
                task_parts.append(m.group("text"))
                task_lines.append(ln)
            task = " ".join(p for p in task_parts if p)
        task = _shorten(task or fallback_task or "write the code this cell asks for")
        out.extend(task_lines)
        out.append(f"{indent}raise NotImplementedError({json.dumps('Exercise: ' + task, ensure_ascii=False)})")
        pos = end + 1
    out.extend(lines[pos:])
    return "\n".join(out)


def make_student_notebook(nb, name: str = "notebook"):
    """A student copy of the notebook node ``nb`` (nbformat): stubs, no outputs, checks intact."""
    import nbformat

    nb = copy.deepcopy(nb)
    last_markdown = ""
    n_blocks = 0
    dropped = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            if cell.metadata.get("slideshow", {}).get("slide_type") == "notes":
                dropped.append(index)            # speaker notes are the instructor's, not the hand-out's
                continue
            source = _cell_source(cell)
            if MD_BEGIN.search(source) or MD_END.search(source):
                source = drop_markdown_solutions(source, f"{name}, cell {index}")
                cell.source = source
                if not source.strip():
                    dropped.append(index)
            last_markdown = source
            continue
        if cell.cell_type != "code":
            continue
        source = _cell_source(cell)
        where = f"{name}, cell {index}"
        blocks = solution_blocks(source, where)
        if blocks:
            cell.source = stub_source(source, _markdown_task(last_markdown), where)
            n_blocks += len(blocks)
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in dropped]
    nb.metadata.pop("widgets", None)
    nb.metadata.setdefault("ganedu", {})["student_version"] = True
    if n_blocks:
        note = nbformat.v4.new_markdown_cell(STUDENT_NOTE, metadata={"slideshow": {"slide_type": "skip"}})
        if (nb.nbformat, nb.nbformat_minor) < (4, 5):
            note.pop("id", None)               # cell ids exist from nbformat 4.5 on
        first_markdown = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
        nb.cells.insert(first_markdown + 1, note)
    return nb


def write_student_versions(sources, out_dir) -> list[Path]:
    """Write the student version of each notebook in ``sources`` into ``out_dir``."""
    import nbformat

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for src in map(Path, sources):
        if src.resolve().parent == out_dir.resolve():
            raise ValueError(f"{src}: refusing to overwrite a notebook with its own student version")
        nb = nbformat.read(src, as_version=4)
        student = make_student_notebook(nb, src.name)
        dest = out_dir / src.name
        nbformat.write(student, dest)
        written.append(dest)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ganedu.classroom.student",
        description="Write student versions of notebooks: every '# BEGIN SOLUTION ... # END SOLUTION' "
                    "block becomes a `raise NotImplementedError(\"Exercise: <task>\")` stub, prose between "
                    "'<!-- BEGIN SOLUTION -->' and '<!-- END SOLUTION -->' is dropped, outputs "
                    "are cleared, check cells are kept.")
    parser.add_argument("notebooks", nargs="+", help="notebooks to convert (e.g. notebooks/*.ipynb)")
    parser.add_argument("--out", default="student", help="output folder (default: student)")
    args = parser.parse_args(argv)
    return report_written("ganedu.classroom.student", lambda: write_student_versions(args.notebooks, args.out))


def report_written(program: str, write) -> int:
    """A command line's end: ``write()`` (the paths it wrote), each path printed, exit status 0; a
    ``ValueError`` or ``OSError`` is one line on stderr naming ``program``, exit status 2."""
    try:
        written = write()
    except (ValueError, OSError) as exc:
        print(f"{program}: error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
