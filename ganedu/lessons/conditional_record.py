"""Notebook 08's recorded digits comparison: every conditional recipe on three seeds, trained once.

The notebook trains one seed live (full mode) or a few steps (quick mode); this record holds the full
budget on every seed, so the comparison it shows never rests on one seed or on an unconverged quick
run. ``python -m ganedu.lessons.conditional_record`` writes ``ganedu/lessons/recorded/08_digits_grid.json``;
``--tiny --out DIR`` runs a seconds-long version (the tests do). Read it with :func:`load` and caption it
with ``ganedu.lessons.records.label``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import sys

import torch

from ganedu import torch_threads
from ganedu.acgan import conditional_trainer
from ganedu.conditional_train import ConditionalTrainer, class_labels, digits_class_accuracy
from ganedu.data import load_digits
from ganedu.lessons.records import RECORDED_DIR, machine
from ganedu.metrics import class_coverage, frechet_distance

NAME = "08_digits_grid"
#: (row label, recipe, critic) x seeds, the same step budget and evaluation for every run
DIGITS_GRID = dict(runs=[["concat + GP", "cgp-digits", "concat"], ["concat + SN", "csn-digits", "concat"],
                         ["projection + SN", "csn-digits", "projection"],
                         ["AC-GAN + GP", "acgan-gp-digits", "auxiliary"]],
                   steps=1200, seeds=[0, 1, 2], per_class=100)
TINY = dict(steps=3, seeds=[0], per_class=5)


def evaluate(trainer: ConditionalTrainer, per_class: int, images, labels) -> dict:
    """Per-class accuracy, class coverage and the Fréchet distance (overall) of ``per_class`` images per class."""
    y = class_labels(10, per_class)
    fake = trainer.sample(len(y), y=y)
    return dict(per_class=digits_class_accuracy(fake, y), classes=class_coverage(fake)["classes"],
                frechet=frechet_distance(images, fake))


def record(spec: dict | None = None, progress: bool = True) -> dict:
    """Train every (run, seed) of ``spec`` and return the record (results, spec, machine, date)."""
    spec = dict(DIGITS_GRID, **(spec or {}))
    images, labels = load_digits(16)
    results = []
    with torch_threads(1):
        for label, recipe, critic in spec["runs"]:
            for seed in spec["seeds"]:
                trainer = conditional_trainer(recipe, "digits", critic=critic, seed=seed)
                trainer.train(spec["steps"], progress=False)
                row = dict(run=label, seed=seed, **evaluate(trainer, spec["per_class"], images, labels))
                results.append(row)
                if progress:
                    print(f"{label:16s} seed {seed}: worst class {min(row['per_class']):.2f}", flush=True)
    return dict(spec=spec, results=results, machine=machine(),
                date=datetime.date.today().isoformat())


def load() -> dict:
    """The shipped record (``ganedu/lessons/recorded/08_digits_grid.json``) as a dict."""
    path = RECORDED_DIR / f"{NAME}.json"
    if not path.exists():
        raise FileNotFoundError(f"no record {path}: run python -m ganedu.lessons.conditional_record")
    return json.loads(path.read_text())


def format_table(record: dict) -> str:
    """One line per run and seed: worst class, mean per-class accuracy, classes, Fréchet distance."""
    lines = [f"{'':16s} {'seed':>4s} {'worst class':>11s} {'mean':>6s} {'classes':>7s} {'Fréchet':>8s}"]
    for r in record["results"]:
        acc = r["per_class"]
        lines.append(f"{r['run']:16s} {r['seed']:4d} {min(acc):11.2f} {sum(acc) / len(acc):6.2f} "
                     f"{r['classes']:7d} {r['frechet']:8.1f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a seconds-long version (tests)")
    parser.add_argument("--out", default=str(RECORDED_DIR), help="folder for the JSON file")
    args = parser.parse_args(argv)
    rec = record(TINY if args.tiny else None)
    path = pathlib.Path(args.out) / f"{NAME}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec, indent=1) + "\n")
    print(format_table(rec))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
