"""`make fit`: the whole re-analysis of the bundled evidence in one run folder.

    results/study-<time>/
        reported_effects/      the paper's printed effects as posteriors, five prior sets
        hpfs_weibull/          the Weibull model on the pseudo-cohort and its 20 replicates
        response_logistic/     the logistic model on the same cohorts
        comparison.csv         every paper quantity: the paper, then each analysis of it
        manifest.json

The patient-level rows come from the SYNTHETIC pseudo-cohort, which was generated to give
back the abstract's numbers: they show what the models do with such data, and (through
the replicates) how much the unreported patient-level detail could move them. They add
no evidence beyond the abstract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from netlm_bayes import evidence, runs
from netlm_bayes.fit import ReanalysisResult, fit_reported_effects
from netlm_bayes.patientfit import SYNTHETIC
from netlm_bayes.patientrun import PatientRun, run
from netlm_bayes.specs import PROJECT_ROOT

PATIENT_MODELS = ("hpfs_weibull", "response_logistic")
REPLICATES_DIR = PROJECT_ROOT / "data" / "pseudo_cohorts"
COMPARISON_COLUMNS = [
    "quantity", "analysis", "prior", "median", "eti95_low", "eti95_high", "hdi95_low",
    "hdi95_high", "prob_gt_1", "paper_estimate", "paper_ci95_low", "paper_ci95_high",
    "data_origin", "paper_source",
]  # fmt: skip


@dataclass
class StudyResult:
    run_dir: Path
    reported: ReanalysisResult
    patient_runs: dict[str, PatientRun]
    comparison: pd.DataFrame

    @property
    def passed(self) -> bool:
        return self.reported.passed and all(r.passed for r in self.patient_runs.values())


def run_study(
    profile: str = "default",
    seed: int = 20260101,
    out: Path | None = None,
    replicates_dir: Path | None = REPLICATES_DIR,
    on_step: Callable[[str], None] = lambda step: None,
) -> StudyResult:
    paper = evidence.load_paper()
    run_dir = Path(out) if out else runs.default_run_dir("study")
    with runs.run_folder(run_dir) as staging:
        reported = fit_reported_effects(
            profile=profile,
            seed=seed,
            out=staging / "reported_effects",
            on_prior_set=lambda name: on_step(f"reported effects, prior set {name}"),
        )
        patient_runs = {
            name: run(
                name,
                profile=profile,
                seed=seed,
                out=staging / name,
                replicates_dir=replicates_dir,
                on_step=lambda step, name=name: on_step(f"{name}: {step}"),
            )
            for name in PATIENT_MODELS
        }
        comparison = comparison_table(reported, patient_runs, paper)
        comparison.to_csv(staging / "comparison.csv", index=False)
        runs.write_manifest(
            staging,
            [evidence.DEFAULT_PAPER],
            command_name="study",
            profile=profile,
            seed=seed,
            parts=["reported_effects", *patient_runs],
            diagnostics_passed={
                "reported_effects": reported.passed,
                **{name: r.passed for name, r in patient_runs.items()},
            },
        )
    for part in (reported, *patient_runs.values()):
        part.run_dir = run_dir / part.run_dir.name
    return StudyResult(run_dir, reported, patient_runs, comparison)


def comparison_table(
    reported: ReanalysisResult, patient_runs: dict[str, PatientRun], paper: evidence.Paper
) -> pd.DataFrame:
    """Per paper quantity: the reported-effects posteriors under each prior set, then each
    patient-level model on the pseudo-cohort and pooled over its replicates."""
    references = evidence.paper_references(paper)
    frames = [
        reported.comparison.assign(
            analysis="reported effects", prior=reported.comparison["prior_set"],
            data_origin="the paper's printed numbers", paper_source=reported.comparison["source"],
        )
    ]  # fmt: skip
    for name, patient in patient_runs.items():
        pieces = [("pseudo-cohort", patient.fit.summary)]
        if patient.pooled is not None:
            pieces.append((f"{len(patient.replicates)} replicates pooled", patient.pooled))
        for label, summary in pieces:
            rows = summary[summary["quantity"].isin(references)].copy()
            rows["analysis"] = f"{name}, {label}"
            rows["prior"] = patient.prior_label.removeprefix("prior set ")
            rows["data_origin"] = SYNTHETIC
            for column, attribute in (
                ("paper_estimate", "estimate"), ("paper_ci95_low", "ci95_low"),
                ("paper_ci95_high", "ci95_high"), ("paper_source", "source"),
            ):  # fmt: skip
                rows[column] = rows["quantity"].map(
                    lambda q, a=attribute: getattr(references[q], a)
                )
            frames.append(rows)
    table = pd.concat(frames, ignore_index=True)[COMPARISON_COLUMNS]
    order = {quantity: i for i, quantity in enumerate(references)}
    table["_order"] = table["quantity"].map(order)
    return table.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)
