"""The study's check of the HPFS model's baseline shape: the Weibull beside the flexible
M-spline on the same cohort, ranked by PSIS-LOO, their cohort curves over Kaplan-Meier
(`compare-families` with those two families, in the study's run folder)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from netlm_bayes import labels
from netlm_bayes.families import curves
from netlm_bayes.fitting.patient_spec import Overrides, load
from netlm_bayes.report import plots
from netlm_bayes.report.format import outcome_words
from netlm_bayes.study.compare_families import FamilyComparison, compare_families

MODEL = "hpfs_weibull"
FAMILIES = ["weibull", "mspline"]
FIGURE = "curves.png"


def baseline_shapes(folder: Path, profile: str, seed: int) -> FamilyComparison:
    """Fit both, write loo.csv, the summaries and `curves.png`; the fits' draws are left
    behind (the report reads the files)."""
    found = compare_families(MODEL, likelihoods=FAMILIES, profile=profile, seed=seed, out=folder)
    data = next(iter(found.fits.values())).data
    tables = {}
    for name, each in found.fits.items():
        posterior = each.trace["posterior"].to_dataset()
        tables[name] = curves.curve_table(posterior, each.kind, data, float(data.time.max()))
    spec = load(MODEL, Overrides())
    note = labels.note(data.origin, data.source.name)
    plots.family_curves(tables, data, folder / FIGURE, spec.time_unit, note,
                        outcome_words(spec.time))  # fmt: skip
    return dataclasses.replace(found, fits={})
