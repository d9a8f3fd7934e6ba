"""`make fit`: the whole re-analysis of the bundled evidence in one run folder.

    results/study-<time>/
        reported_effects/      the paper's printed effects as posteriors, five prior sets
                               (with exceedance.csv and the sceptical limits, credibility.csv)
        reported_effects_selection_adjusted/
                               the same, if the effects were reported because significant
        hpfs_weibull/          the Weibull model on the pseudo-cohort and its 20 replicates
        response_logistic/     the logistic model on the same cohorts
        response_ordinal/      the cumulative-logit model (PR < SD < PD) on the same cohorts
        ppc/                   posterior predictive checks of the three (`ppc RUN`)
        next_centre/           the paper's HR as a MAP prior for a next centre (`map`),
                               beside carrying it over unchanged, with what each is worth
        report.html            everything below in one self-contained page
        forest.png             the paper's implied CIs beside every analysis's 95% interval
        exceedance.png         P(effect beyond x) against x, per effect, prior set and reading
        exceedance.csv         the same at the thresholds of data/thresholds.toml
        comparison.csv         every paper quantity: the paper, then each analysis of it,
                               with the frequentist refit, the PPC interval and the width
                               of each posterior interval relative to the paper's CI
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

import numpy as np
import pandas as pd
import xarray as xr

from netlm_bayes import paths, runner, runs
from netlm_bayes.evidence import cohort
from netlm_bayes.evidence import paper as published
from netlm_bayes.fitting.patient import PatientRun
from netlm_bayes.fitting.reported import ANALYSIS_NAME, SELECTED_ANALYSIS_NAME, ReanalysisResult
from netlm_bayes.planning import next_centre as centres
from netlm_bayes.planning import operating_characteristics as tables
from netlm_bayes.planning.map_prior import MapResult, map_prior
from netlm_bayes.report import html as htmlreport
from netlm_bayes.report import magnitude_plots
from netlm_bayes.report.forest import forest
from netlm_bayes.report.format import MODEL_SHORT
from netlm_bayes.study import oc as ocrun
from netlm_bayes.study import ppc as ppcrun
from netlm_bayes.study.baseline_shapes import baseline_shapes
from netlm_bayes.study.comparison import frequentist_refit, study_comparison
from netlm_bayes.study.fit_patient import run
from netlm_bayes.study.fit_reported import fit_reported_effects
from netlm_bayes.study.map_prior import write_map

PATIENT_MODELS = ("hpfs_weibull", "response_logistic", "response_ordinal")
REPORTED = "reported_effects"
SELECTED = "reported_effects_selection_adjusted"
NEXT_CENTRE = "next_centre"
# The study's independent parts, longest first (measured: about 12, 11, 6, 4, 3 and 3 s on
# two busy cores), so that two workers finish close together.
BASELINE_SHAPES = "baseline_shapes"
PARTS_LONGEST_FIRST = (BASELINE_SHAPES, "response_ordinal", "hpfs_weibull", "response_logistic",
                       NEXT_CENTRE, REPORTED, SELECTED)  # fmt: skip
# The paper's quantity carried to a next centre as a MAP prior, and the heterogeneity.
NEXT_CENTRE_QUANTITY = "hr_htb_gt25"
NEXT_CENTRE_TAU = "moderate"


@dataclass
class StudyResult:
    run_dir: Path
    reported: ReanalysisResult
    patient_runs: dict[str, PatientRun]
    comparison: pd.DataFrame
    ppc: pd.DataFrame

    next_centre: MapResult | None = None
    selected: ReanalysisResult | None = None  # the selection-adjusted reading

    @property
    def passed(self) -> bool:
        centre = self.next_centre is None or self.next_centre.passed
        selected = self.selected is None or self.selected.passed
        patients = all(r.passed for r in self.patient_runs.values())
        return self.reported.passed and selected and patients and centre


def run_study(
    profile: str = "default",
    seed: int = 20260101,
    out: Path | None = None,
    replicates_dir: Path | None = paths.PSEUDO_COHORTS_DIR,
    on_step: Callable[[str], None] = lambda step: None,
    workers: int | None = None,
    dask_address: str | None = None,
    thresholds: list[float] | None = None,
    benchmarks: dict[str, float] | None = None,
) -> StudyResult:
    """`workers` processes fit the parts side by side (default: one per core), or a Dask
    cluster does (its workers must see the run folder); the results do not depend on it,
    as every part has its own seed and folder. `thresholds` and `benchmarks` as in
    `reread_paper`."""
    paper = published.load_paper()
    run_dir = Path(out) if out else runs.default_run_dir("study")
    names = [*PARTS_LONGEST_FIRST]
    workers = min(len(names), workers or runner.default_workers())
    remote = dask_address is not None
    with runs.run_folder(run_dir) as staging, runner.messages(on_step, workers, remote) as say:
        parts = [StudyPart(name, profile, seed, staging / name, replicates_dir, say,
                           thresholds, benchmarks) for name in names]  # fmt: skip
        done = (lambda: on_step("a part finished")) if remote else (lambda: None)
        ppc_run = ChecksWhenFitted(staging, seed, on_step)
        fitted = runner.run_tasks(
            fit_part, parts, workers, dask_address, done,
            lambda index, _: ppc_run.part_done(names[index]),
        )  # fmt: skip
        fitted = dict(zip(names, fitted, strict=True))
        reported, selected = fitted[REPORTED], fitted[SELECTED]
        patient_runs = {name: fitted[name] for name in PATIENT_MODELS}
        centre = fitted[NEXT_CENTRE]
        shapes = fitted[BASELINE_SHAPES]
        checks = ppc_run.table
        on_step("the comparison table and report")
        cohort_file = next(iter(patient_runs.values())).fit.data.source
        refit = frequentist_refit(cohort.read_cohort(cohort_file))
        comparison = study_comparison(reported, patient_runs, paper, refit, checks, centre,
                                      selected)  # fmt: skip
        comparison.to_csv(staging / "comparison.csv", index=False)
        _forest(comparison, staging / "forest.png")
        readings = (reported, selected)
        exceedance_table(readings).to_csv(staging / "exceedance.csv", index=False)
        exceedance_figure(readings, staging / "exceedance.png")
        htmlreport.write_report(staging, run_dir.name)
        runs.write_manifest(
            staging,
            [paths.PAPER_FILE],
            command_name="study",
            profile=profile,
            seed=seed,
            parts=[REPORTED, SELECTED, *patient_runs, "ppc", NEXT_CENTRE, BASELINE_SHAPES],
            significance_filter=selected.significance_filter,
            diagnostics_passed={
                REPORTED: reported.passed,
                SELECTED: selected.passed,
                **{name: r.passed for name, r in patient_runs.items()},
                NEXT_CENTRE: centre.passed,
                BASELINE_SHAPES: bool(shapes.table["diagnostics_passed"].all()),
            },
        )
    for part in (reported, selected, *patient_runs.values()):
        part.run_dir = run_dir / part.run_dir.name
    return StudyResult(run_dir, reported, patient_runs, comparison, checks, centre, selected)


class ChecksWhenFitted:
    """Runs the posterior predictive checks here as soon as the patient-level parts are in:
    beside the parts still fitting, on a core they leave free, not after them."""

    def __init__(self, staging: Path, seed: int, on_step: Callable[[str], None]):
        self.staging, self.seed, self.on_step = staging, seed, on_step
        self.waiting = set(PATIENT_MODELS)
        self.table: pd.DataFrame | None = None

    def part_done(self, name: str) -> None:
        self.waiting.discard(name)
        if not self.waiting and self.table is None:
            self.on_step("posterior predictive checks")
            self.table = ppcrun.run_ppc(self.staging, seed=self.seed).table


@dataclass(frozen=True)
class StudyPart:
    """One independent piece of the study, fitted in its own folder (picklable, so that a
    worker process can take it)."""

    name: str
    profile: str
    seed: int
    folder: Path
    replicates_dir: Path | None
    say: Callable[[str], None]
    thresholds: list[float] | None = None
    benchmarks: dict[str, float] | None = None


def fit_part(part: StudyPart):
    """The reported effects (plain or selection-adjusted), one patient-level model with its
    replicates, or the MAP prior for a next centre."""
    if part.name in (REPORTED, SELECTED):
        selected = part.name == SELECTED
        words = "selection-adjusted reported effects" if selected else "reported effects"
        return fit_reported_effects(
            profile=part.profile, seed=part.seed, out=part.folder,
            on_prior_set=lambda name: part.say(f"{words}, prior set {name}"),
            significance_filter=selected or None, thresholds=part.thresholds,
            benchmarks=part.benchmarks,
        )  # fmt: skip
    if part.name == BASELINE_SHAPES:
        part.say("the HPFS baseline's shape: Weibull beside an M-spline")
        return baseline_shapes(part.folder, part.profile, part.seed)
    if part.name == NEXT_CENTRE:
        part.say("a MAP prior for a next centre")
        return next_centre_prior(part.folder, part.seed)
    patient = run(
        part.name, profile=part.profile, seed=part.seed, out=part.folder,
        replicates_dir=part.replicates_dir, on_step=lambda step: part.say(f"{part.name}: {step}"),
    )  # fmt: skip
    return _summaries_only(patient)


def _summaries_only(patient: PatientRun) -> PatientRun:
    """The replicate fits without their draws: after pooling, the study reads only each
    one's intervals and diagnostics, and sending 20 traces with their pointwise log
    densities back from a worker process took about 2 s per model."""
    for fit in patient.replicates.values():
        fit.intervals  # noqa: B018 - computed (and kept) before the draws go
        light = xr.DataTree()
        light.attrs.update(fit.trace.attrs)  # how it was sampled, and how long it took
        fit.trace = light
    return patient


def next_centre_prior(folder: Path, seed: int) -> MapResult:
    """The paper's HR as a MAP prior for a next centre (the paper alone, moderate
    heterogeneity) made robust, written as the prior file a next centre uses, with
    `next_centre.csv` (full borrowing, the MAP and the robust MAP, with ESS) and, as one
    study cannot teach tau, `ess_by_tau.csv`."""
    result = map_prior(paths.PAPER_ALONE_STUDIES, NEXT_CENTRE_QUANTITY, NEXT_CENTRE_TAU,
                       robust=centres.robust_weight(), seed=seed)  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    write_map(result, folder / f"{NEXT_CENTRE_QUANTITY}.json", overwrite=True)
    centres.next_centre(result).to_csv(folder / "next_centre.csv", index=False)
    if not centres.tau_is_learned(result):
        centres.ess_by_tau(result).to_csv(folder / "ess_by_tau.csv", index=False)
    next_centre_design(folder / f"{NEXT_CENTRE_QUANTITY}.json", folder / "oc")
    return result


def next_centre_design(prior_file: Path, out: Path) -> Path:
    """The example design on the next centre's prior (data/next_centre_design.toml): its
    operating characteristics and borrowing, exact, and its probability of success."""
    design, settings = centres.example_design(prior_file)
    truths = [float(np.log(hr)) for hr in settings["true_hazard_ratios"]]
    table = tables.oc_table(design, truths, [0.0])
    borrowing = tables.borrowing_table(design, truths, [0.0], settings["robust_weights"])
    manifest = {"endpoint": design.endpoint, "prior_treatment": prior_file.name,
                "n_treatment": design.n_treatment, "success": [settings["success"]],
                "sigma": design.sigma, "method": design.method,
                "design_file": str(paths.NEXT_CENTRE_DESIGN_FILE.relative_to(paths.PROJECT_ROOT)),
                "question": settings["question"],
                "probability_of_success": design.probability_of_success()}  # fmt: skip
    return ocrun.write(design, table, out, True, manifest, borrowing)


def exceedance_table(readings) -> pd.DataFrame:
    """Both readings' exceedance rows, named by analysis."""
    return pd.concat(
        [r.exceedance.assign(analysis=r.analysis) for r in readings], ignore_index=True
    )


def exceedance_figure(readings, path: Path) -> None:
    """P(effect beyond x) against x for every reported ratio, prior set and reading."""
    first = readings[0]
    curves = {
        reading.analysis: {
            name: {q: trace["posterior"]["reported"].sel(quantity=q).values.ravel()
                   for q in first.spec.effects}
            for name, trace in reading.posteriors.items()
        }
        for reading in readings
    }  # fmt: skip
    estimates = {q: first.paper.effect(q).estimate for q in first.spec.effects}
    magnitude_plots.exceedance_figure(curves, estimates, first.thresholds, path)


def _forest(comparison: pd.DataFrame, path: Path) -> None:
    reported = comparison["analysis"] == ANALYSIS_NAME
    selected = comparison["analysis"] == SELECTED_ANALYSIS_NAME
    centre = comparison["analysis"] == "MAP prior for a next centre"
    row_label = comparison["analysis"].replace(MODEL_SHORT, regex=True)
    row_label = row_label.str.replace(r", (\d+) replicates pooled", r", \1 replicates", regex=True)
    row_label = row_label.where(~reported, comparison["prior"] + " prior")
    row_label = row_label.where(~selected, comparison["prior"] + ", if selected")
    row_label = row_label.where(~centre, "MAP prior, next centre")
    colour = np.select([reported, selected, centre], ["tab:blue", "tab:orange", "tab:red"],
                       "tab:green")  # fmt: skip
    forest(
        comparison.assign(row_label=row_label, colour=colour),
        path,
        "The paper's implied 95% CI (from its printed P; black, shaded); posteriors from its "
        "printed numbers per prior set (blue), and if the effects were reported because "
        "significant (orange); patient-level models on the SYNTHETIC pseudo-cohort (green); "
        "the MAP prior for a next centre (red). 95% interval and median.",
    )
