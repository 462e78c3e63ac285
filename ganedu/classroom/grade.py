"""Grade a notebook: run it top to bottom and score every exercise its check cells test.

    python -m ganedu grade student/05_gradient_penalty.ipynb        (quick mode, the default)
    python -m ganedu grade --full --json student/*.ipynb

The exercises are the ``ganedu.lessons.exercises.check_<name>(...)`` calls found in the notebook's code
cells. The notebook runs in a fresh kernel with nbclient (``GANEDU_QUICK=1`` unless ``--full``),
errors allowed, so one unfinished exercise does not hide the others. Around each check cell the
grader reads ``ganedu.lessons.exercises.RESULTS`` (name -> passed?, filled by the checks' ``report``)
so that each verdict is attributed to the check cell that produced it. An exercise scores 1
when its last check cell recorded a verdict and every verdict it recorded is a pass; 0
otherwise (stub still in place, check failed, or the cell raised before the check could run).
The notebook file itself is never modified.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

CHECK_CALL = re.compile(r"(?<![\w.])(?:ganedu\.(?:lessons\.)?)?(?:exercises\.)?check_(?P<name>[A-Za-z0-9_]+)\s*\(")
DEF_CHECK = re.compile(r"^\s*def\s+check_", re.M)
MARKER = "@@ganedu-grade@@"

# Cells the grader runs around each check cell (never saved anywhere). The first puts the
# verdicts recorded so far aside and empties RESULTS; the second prints what the check cell
# recorded, then merges the earlier verdicts back, so RESULTS ends as the notebook left it.
_BEFORE = ("import ganedu.lessons.exercises.core as __ganedu_core\n"
           "__ganedu_saved = dict(__ganedu_core.RESULTS); __ganedu_core.RESULTS.clear()")
_AFTER = ("import json as __ganedu_json\n"
          "print({marker!r} + __ganedu_json.dumps({{'cell': {cell}, 'results': __ganedu_core.RESULTS}}))\n"
          "__ganedu_core.RESULTS.update({{**__ganedu_saved, **__ganedu_core.RESULTS}})")


@dataclass
class ExerciseScore:
    name: str
    passed: bool
    reason: str
    cells: list = field(default_factory=list)   # indices of its check cells in the notebook


@dataclass
class GradeReport:
    notebook: str
    quick: bool
    exercises: list

    @property
    def score(self) -> int:
        return sum(e.passed for e in self.exercises)

    @property
    def total(self) -> int:
        return len(self.exercises)

    def as_dict(self) -> dict:
        return {"notebook": self.notebook, "quick": self.quick, "score": self.score, "total": self.total,
                "exercises": [asdict(e) for e in self.exercises]}

    def text(self) -> str:
        width = max([len(e.name) for e in self.exercises] + [8])
        lines = [f"{self.notebook} ({'quick' if self.quick else 'full'} mode)"]
        for e in self.exercises:
            lines.append(f"  {e.name:<{width}}  {int(e.passed)}/1  {e.reason}")
        lines.append(f"Score: {self.score}/{self.total}")
        return "\n".join(lines)


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def find_exercises(nb) -> dict[str, list[int]]:
    """Exercise name -> indices of the code cells that call ``check_<name>(...)``, in order."""
    found: dict[str, list[int]] = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        source = _source(cell)
        if DEF_CHECK.search(source):
            continue                     # a cell defining a check is not a check cell
        code = "\n".join(line.split("#", 1)[0] for line in source.splitlines())  # not in comments
        for m in CHECK_CALL.finditer(code):
            cells = found.setdefault(m.group("name"), [])
            if index not in cells:
                cells.append(index)
    return found


def _error_of(cell) -> tuple[str, str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), out.get("evalue", "")
    return None


def _probe_results(cell) -> dict | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            for line in out.get("text", "").splitlines():
                if line.startswith(MARKER):
                    return json.loads(line[len(MARKER):])["results"]
    return None


def _verdict(name: str, recorded: dict, error, stub_raised: bool = False) -> tuple[bool, str]:
    own = {k: v for k, v in recorded.items() if k == name} or recorded
    if own and all(own.values()):
        return True, "correct"
    if (error and error[0] == "ExerciseNotDone") or (stub_raised and not own):
        return False, "not done yet: the exercise cell still raises NotImplementedError"
    if own:
        return False, "the check found a problem (run the check cell to see its message)"
    if error:
        ename, evalue = error
        first = (evalue or "").strip().splitlines()[0][:160] if evalue else ""
        return False, f"the check cell stopped with {ename}: {first}".rstrip(": ")
    return False, "the check recorded no verdict"


def grade_notebook(path, *, quick: bool = True, timeout: int = 600, kernel_name: str | None = None) -> GradeReport:
    """Run the notebook at ``path`` in a fresh kernel and score each exercise (see module doc)."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    nb = nbformat.read(path, as_version=4)
    exercises = find_exercises(nb)
    if not exercises:
        return GradeReport(str(path), quick, [])

    # Interleave the probe cells around every check cell of a copy of the notebook.
    check_cells = sorted({i for cells in exercises.values() for i in cells})
    run = nbformat.v4.new_notebook(metadata=nb.metadata)
    position = {}                                 # original index -> index in `run`
    for index, cell in enumerate(nb.cells):
        if index in check_cells:
            run.cells.append(nbformat.v4.new_code_cell(_BEFORE))
        position[index] = len(run.cells)
        cell = nbformat.from_dict(dict(cell))
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        run.cells.append(cell)
        if index in check_cells:
            run.cells.append(nbformat.v4.new_code_cell(_AFTER.format(marker=MARKER, cell=index)))
    for cell in run.cells:
        cell.pop("id", None)
    run.nbformat_minor = 4                        # probe cells carry no ids

    env = dict(os.environ)
    env["GANEDU_QUICK"] = "1" if quick else "0"
    env.setdefault("MPLBACKEND", "Agg")
    options = {"kernel_name": kernel_name} if kernel_name else {}   # else the notebook's own kernel
    client = NotebookClient(run, timeout=timeout, allow_errors=True,
                            resources={"metadata": {"path": str(path.parent.resolve())}}, **options)
    stopped = None
    try:
        client.execute(env=env)
    except Exception as exc:                      # kernel died, a cell timed out: grade what ran
        stopped = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:160]}"

    scores = []
    for name, cells in exercises.items():
        last = cells[-1]
        recorded = _probe_results(run.cells[position[last] + 1])
        error = _error_of(run.cells[position[last]])
        # a top-level stub raises in the exercise cell itself, between the previous check and this one
        previous = max([i for i in check_cells if i < last], default=-1)
        stub_raised = any((_error_of(run.cells[position[i]]) or ("",))[0] == "NotImplementedError"
                          for i in range(previous + 1, last) if nb.cells[i].cell_type == "code")
        if recorded is None:                      # the probe did not run: the run stopped before
            passed, reason = False, f"the notebook stopped before this check ({stopped or 'unknown reason'})"
        else:
            passed, reason = _verdict(name, recorded, error, stub_raised)
        scores.append(ExerciseScore(name, passed, reason, cells))
    return GradeReport(str(path), quick, scores)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="python -m ganedu grade")
    parser.description = ("Run each notebook in a fresh kernel (quick mode unless --full) and print a "
                          "score per exercise: 1 when its check passes, 0 otherwise.")
    parser.add_argument("notebooks", nargs="+", help="notebook(s) to grade, e.g. student/05_gradient_penalty.ipynb")
    parser.add_argument("--full", action="store_true", help="full mode (GANEDU_QUICK=0): slower, as in class")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default 600)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per notebook")
    return parser


def run_cli(args) -> int:
    status = 0
    for nb_path in args.notebooks:
        try:
            report = grade_notebook(nb_path, quick=not args.full, timeout=args.timeout)
        except (FileNotFoundError, ValueError) as exc:
            print(f"ganedu grade: error: {exc}", file=sys.stderr)
            status = 2
            continue
        if args.json:
            print(json.dumps(report.as_dict()))
        elif not report.exercises:
            print(f"{nb_path}: no exercises found (no check_<name>(...) call in its code cells)")
        else:
            print(report.text())
    return status


def main(argv=None) -> int:
    return run_cli(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
