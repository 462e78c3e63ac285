r"""Notebook 09, "which regulariser fixes which failure": R1, LSGAN and the gradient penalty, side by side.

Each remedy is one change to an atlas recipe that fails (:data:`ganedu.lessons.atlas.ATLAS`), trained on
the same seeds for the entry's steps, watched by its detector:

* **LSGAN** (Mao et al. 2017, Eq. 2): the least-squares loss instead of the log loss;
* **R1** (Mescheder et al. 2018, Eq. 9): :math:`+\frac{\gamma}{2}\mathbb{E}_{x \sim P_r}\|\nabla_x D(x)\|^2`,
  real data only, the gradient pushed towards 0;
* **GP, two-sided** (Gulrajani et al. 2017, Eq. 3): :math:`+\lambda\,\mathbb{E}_{\hat x}(\|\nabla_{\hat x} D(\hat x)\| - 1)^2`
  on interpolates, here on the non-saturating discriminator (as Fedus et al. 2018 did);
* **GP, one-sided** (Petzka et al. 2018): only norms above 1 are penalised.

:func:`run_cell` trains one (failure, remedy, seed); :func:`record` trains the grid for
``python -m ganedu.lessons.records 09_regularisers``; :func:`silent_on` reads a record: on which seeds the
failure's detector stayed silent (which is not the same as cured: look at the modes and HQ beside it).
"""
from __future__ import annotations

import time

from ..checks import check_choice, check_int

__all__ = ["REMEDIES", "COMPARED", "SPEC", "TINY", "FIRES", "PENALTIES", "HQ_BELOW", "run_cell", "as_claimed",
           "record", "silent_on", "format_table"]

#: remedy -> the overrides it adds to the failing recipe
REMEDIES = {
    "none": {},
    "LSGAN loss": dict(loss="least_squares"),
    "R1, γ=1": dict(r1_gamma=1.0),
    "GP two-sided, λ=1": dict(gp_lambda=1.0),
    "GP one-sided, λ=1": dict(gp_lambda=1.0, one_sided=True),
}
#: the atlas failures compared (those whose detector reads the samples, not one loss's scale)
COMPARED = ("mode_collapse", "mode_hopping")
PENALTIES = ("R1, γ=1", "GP two-sided, λ=1", "GP one-sided, λ=1")
#: what notebook 09 claims, per (failure, remedy), on every seed: does the failure's detector still fire?
#: (None: no claim; the two-sided GP on mode hopping was silent on 3 of 3 seeds with the AVX2 kernels, 2 of 3 with
#: ATEN_CPU_CAPABILITY=default)
FIRES = {("mode_collapse", "none"): True, ("mode_collapse", "LSGAN loss"): True, ("mode_collapse", "R1, γ=1"): False,
         ("mode_collapse", "GP two-sided, λ=1"): False, ("mode_collapse", "GP one-sided, λ=1"): False,
         ("mode_hopping", "none"): True, ("mode_hopping", "LSGAN loss"): True, ("mode_hopping", "R1, γ=1"): True,
         ("mode_hopping", "GP two-sided, λ=1"): None, ("mode_hopping", "GP one-sided, λ=1"): True}
#: ... and no run with a penalty reaches this high-quality fraction: a silent detector is not a cure
HQ_BELOW = 0.1
SPEC = dict(failures=list(COMPARED), remedies=list(REMEDIES), seeds=[0, 1, 2], n_eval=2500)
TINY = dict(failures=["mode_collapse"], remedies=["none", "R1, γ=1"], seeds=[0], steps=4)


def run_cell(failure: str, remedy: str, seed: int = 0, *, steps: int | None = None, n_eval: int = 2500) -> dict:
    """Train the atlas entry ``failure`` with ``remedy`` added: did its detector fire, modes covered, HQ fraction."""
    from ..data import toy_modes, toy_std
    from ..diagnose import Monitor, watch
    from ..metrics import mode_coverage
    from .atlas import ATLAS, _trainer

    entry = ATLAS[check_choice("failure", failure, COMPARED)]
    changes = REMEDIES[check_choice("remedy", remedy, tuple(REMEDIES))]
    trainer, _ = _trainer(entry.recipe, entry.data, check_int("seed", seed, min=0), {**entry.overrides, **changes})
    findings = watch(trainer, steps or entry.steps, Monitor(every=entry.every))
    covered = mode_coverage(trainer.sample(n_eval), toy_modes(entry.data), toy_std(entry.data))
    return dict(failure=failure, remedy=remedy, seed=seed, steps=trainer.steps,
                fires=failure in [f.failure for f in findings], modes=covered["modes"], hq=round(covered["hq"], 4))


def as_claimed(cell: dict) -> bool:
    """Whether one :func:`run_cell` result is what notebook 09 claims: its detector fires as :data:`FIRES`
    says (where it says), and with a penalty (:data:`PENALTIES`) fewer than ``HQ_BELOW`` of its samples are high-quality."""
    expected = FIRES[(cell["failure"], cell["remedy"])]
    return expected in (None, cell["fires"]) and (cell["remedy"] not in PENALTIES or cell["hq"] < HQ_BELOW)


def record(spec: dict | None = None, progress: bool = True, device: str = "cpu") -> dict:
    """Train every (failure, remedy, seed) of ``spec`` on the CPU; return the record (a JSON-ready dict)."""
    from .records import envelope

    spec = dict(SPEC if spec is None else spec)
    t0, results = time.perf_counter(), []
    for failure in spec["failures"]:
        for remedy in spec["remedies"]:
            for seed in spec["seeds"]:
                results.append(run_cell(failure, remedy, seed, steps=spec.get("steps"), n_eval=spec["n_eval"]))
            if progress:
                print(f"{failure}, {remedy}: {time.perf_counter() - t0:.0f} s", flush=True)
    return envelope("09_regularisers", "notebook 09 section 4: R1, LSGAN and two- and one-sided GP added to the "
                    "atlas's mode-collapse and mode-hopping recipes, seeds 0-2, each watched by its detector",
                    "cpu", time.perf_counter() - t0, spec, results)


def silent_on(rec: dict, failure: str, remedy: str) -> list:
    """The seeds on which ``remedy`` silenced ``failure``'s detector, in ``rec`` (a record)."""
    return [r["seed"] for r in rec["results"] if r["failure"] == failure and r["remedy"] == remedy and not r["fires"]]


def format_table(rec: dict) -> str:
    """One row per remedy, one column per failure: "silent k/n" (seeds on which the failure's detector stayed
    silent), then the modes covered and the high-quality fraction, seed by seed."""
    seeds = rec["spec"]["seeds"]
    lines = [f"{'remedy':<20}" + "".join(f"{f.replace('_', ' '):<44}" for f in rec["spec"]["failures"])]
    for remedy in rec["spec"]["remedies"]:
        cells = []
        for failure in rec["spec"]["failures"]:
            rows = [r for r in rec["results"] if r["failure"] == failure and r["remedy"] == remedy]
            modes, hq = " ".join(str(r["modes"]) for r in rows), " ".join(f"{r['hq']:.2f}" for r in rows)
            cells.append(f"silent {len(silent_on(rec, failure, remedy))}/{len(seeds)}, modes {modes}, HQ {hq}")
        lines.append(f"{remedy:<20}" + "".join(f"{c:<44}" for c in cells))
    return "\n".join(lines)
