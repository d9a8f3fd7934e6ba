"""Console tables for a patient-level run, with the paper's number beside each quantity
that the abstract reports (and its source)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from netlm_bayes import labels, paths
from netlm_bayes.evidence import paper as published
from netlm_bayes.evidence.external_counts import read_external_counts
from netlm_bayes.families import specs
from netlm_bayes.families.survival.mspline import extrapolation_note
from netlm_bayes.fitting.patient import PatientRun
from netlm_bayes.fitting.reported import ANALYSIS_NAME
from netlm_bayes.frequentist.cure import Plateau, followup_plateau
from netlm_bayes.report.format import fmt, fmt_bound, interval

# The model files that carry the paper's coding, and the fields that define an outcome's.
PAPER_MODELS = {
    "survival": ("hpfs_weibull", ("time", "event", "time_unit")),
    "logistic": ("response_logistic", ("outcome", "outcome_events", "outcome_label")),
    "ordinal": ("response_ordinal", ("outcome", "categories")),
}


def outcome_is_papers(spec) -> bool:
    """Whether this run's outcome is coded as the paper's: the shipped model file's."""
    name, fields = PAPER_MODELS[spec.family]
    shipped = specs.load_spec(name)
    return all(getattr(spec, f) == getattr(shipped, f) for f in fields)


def paper_references_for(spec, data, paper_path=paths.PAPER_FILE) -> dict:
    """The paper's numbers that this run may be set beside: none unless its outcome has the
    paper's coding (the shipped model file's outcome), and a ratio only for a covariate
    the paper names, coded 0/1 in this cohort. Never beside a user's unrelated outcome."""
    if not outcome_is_papers(spec):
        return {}
    shipped = specs.load_spec(PAPER_MODELS[spec.family][0])
    references = published.paper_references(published.load_paper(paper_path))

    def paper_coded(quantity: str) -> bool:
        prefix, _, covariate = quantity.partition("_")
        if prefix not in ("hr", "or", "af"):
            return True  # a rate of the paper's own outcome
        return (
            covariate in shipped.covariates
            and covariate in data.covariates
            and data.covariate_is_binary(covariate)
        )

    return {q: r for q, r in references.items() if paper_coded(q)}


def quantity_label(quantity: str, spec) -> str:
    """A quantity's name with its unit, for a time (median, RMST) or a rate per time."""
    if spec.family != "survival":
        return quantity
    if quantity.startswith(("median_survival", "rmst_")):
        return f"{quantity} ({spec.time_unit})"
    if quantity == "gompertz_rate":
        return f"{quantity} (per {spec.time_unit})"
    return quantity


def print_run(result: PatientRun, console: Console, paper_path=paths.PAPER_FILE) -> None:
    data = result.fit.data
    references = paper_references_for(result.spec, data, paper_path)
    if labels.banner(data.origin):
        console.print(f"[bold yellow]{labels.banner(data.origin)}[/bold yellow] ({data.source})")
    for warning in result.warnings:
        console.print(f"[bold yellow]warning:[/bold yellow] {escape(warning)}")
    title = (
        f"{result.spec.name} on {data.source.name} "
        f"({f'n = {data.n}' if data.n else 'no patients: external counts alone'}), "
        f"{result.prior_label}; "
        "posterior, 95% intervals" + labels.tag(data.origin)
    )
    table = Table(title=title)
    columns = ("quantity", "paper (95% CI)", "median", "95% ETI", "95% HDI", "P(>1)", "R-hat",
               "ESS bulk/tail")  # fmt: skip
    if not any(q in references for q in result.fit.summary["quantity"]):
        columns = tuple(c for c in columns if c != "paper (95% CI)")
    for column in columns:
        table.add_column(
            column,
            justify="left" if column == "quantity" else "right",
            overflow="fold",
            no_wrap=column == "quantity",  # a quantity's name and unit read as one
        )
    cited = []
    separated = {f"or_{name}" for name in data.separated}
    for row in result.fit.summary.itertuples():
        if row.quantity.startswith("rmst_") and "[" in row.quantity:
            continue  # per-group RMST: in summary.csv, to keep the console table short
        reference = references.get(row.quantity)
        paper_cell = ""
        if reference is not None:
            paper_cell = (
                f"{fmt(reference.estimate)} ({interval(reference.ci95_low, reference.ci95_high)})"
            )
            cited.append(reference)
        label = escape(quantity_label(row.quantity, result.spec))
        if row.quantity in separated:
            label += " [bold yellow](separated)[/]"
        cells = [label, paper_cell] if "paper (95% CI)" in columns else [label]
        table.add_row(
            *cells,
            fmt(row.median),
            interval(row.eti95_low, row.eti95_high),
            interval(row.hdi95_low, row.hdi95_high),
            fmt(row.prob_gt_1),
            f"{row.rhat:.3f}" if row.rhat == row.rhat else "",
            f"{row.ess_bulk:.0f}/{row.ess_tail:.0f}" if row.ess_bulk == row.ess_bulk else "",
        )
    console.print(table)
    _print_table_notes(result, data, cited, console)
    for reference in cited:
        console.print(
            f"  paper {reference.quantity}: {reference.ci_method}. Source: {reference.source}",
            markup=False,
            highlight=False,
        )
    if result.pooled is not None:
        _print_replicates(result, console)
    console.print(f"Diagnostics: {result.fit.diagnostics.summary_line()}")
    if separated:
        console.print(
            f"[bold yellow]SEPARATED[/]: {', '.join(sorted(separated))}: not estimable from "
            "these data under this prior; the row shows the prior's reach, not evidence "
            "(manifest.json: separated).",
            highlight=False,
        )
    if result.conflict is not None:
        _print_conflict(result, console)
    _print_files(result, console)


def _print_table_notes(result: PatientRun, data, cited: list, console: Console) -> None:
    """What the table's rows are against: reference levels, standardisation, the paper."""
    levels = data.coding.levels if data.coding else {}
    if levels:
        console.print(
            "Reference levels (each level's ratio is against its column's): "
            + ", ".join(f"{column} = {next(iter(counts))}" for column, counts in levels.items()),
            highlight=False, markup=False,
        )  # fmt: skip
    if result.spec.family == "survival":
        console.print(
            "Per-group rows are standardised over the cohort's other covariates; RMST per "
            "group is in summary.csv, curves in survival.png."
        )
        if result.spec.boundary_knot is not None:
            spec = result.spec
            console.print(extrapolation_note(spec.knots, spec.boundary_knot, spec.time_unit))
        if result.spec.external is not None:
            counts = read_external_counts(result.spec.external_path, data.covariates)
            console.print(counts.describe(), highlight=False, markup=False)
        if result.spec.nonprop:
            _print_hazard_ratios(result, console)
        if result.spec.cure and data.n:
            console.print(cure_note(followup_plateau(data.time, data.event), result.spec))
        elif result.spec.cure:
            console.print(
                "[bold yellow]Cure fraction from counts alone[/]: no patients to show a "
                "plateau; cure_fraction rests on how the counts' survival levels off by their "
                "last stop time and on its prior. Read it as an assumption, not a finding."
            )
    if result.spec.family == "ordinal" and any(r.quantity.startswith("or_") for r in cited):
        console.print(
            "The paper's ORs are for non-response (SD or PD against PR) from a logistic model; "
            "the ordinal ORs are cumulative and equal them only if proportional odds hold."
        )


def cure_note(plateau: Plateau, spec) -> str:
    """What the cure fraction rests on: a plateau the data show, or none."""
    unit = spec.time_unit
    seen = (
        f"in the last third of follow-up (after {plateau.tail_start:.4g} {unit}), "
        f"{plateau.at_risk} patients at risk had {plateau.observed} events against "
        f"{plateau.expected:.1f} at the cohort's average event rate (P = {plateau.p:.2g})"
    )
    if plateau.shown:
        return f"Cure fraction: {seen}: the data show a plateau."
    return (
        f"[bold yellow]Cure fraction weakly identified[/]: {seen}: the data show no plateau, "
        "so cure_fraction rests on the uncured family's shape and its prior, not on patients "
        "seen to stay event-free. Read it as an assumption, not a finding."
    )


def _print_hazard_ratios(result: PatientRun, console: Console) -> None:
    """HR(t) at the quartiles of follow-up, and what the single hr_ row means."""
    table = pd.read_csv(result.run_dir / "hazard_ratios.csv")
    unit = result.spec.time_unit
    moments = np.quantile(result.fit.data.time, [0.25, 0.5, 0.75])
    for name, rows in table.groupby("covariate", sort=False):
        nearest = [rows.iloc[int(np.abs(rows["time"] - t).argmin())] for t in moments]
        read = "; ".join(f"{r.time:.3g} {unit}: {fmt(r['median'])} "
                         f"({interval(r.eti95_low, r.eti95_high)})" for r in nearest)  # fmt: skip
        console.print(f"HR(t) for {name}: {read}.", highlight=False, markup=False)
    console.print(
        "For a covariate whose effect may change over time, hr_<x> in the table is the "
        "time-averaged hazard ratio: "
        "the ratio of cumulative hazards at the boundary knot "
        f"({result.spec.boundary_knot:.3g} {unit}), H(b | x + 1) / H(b | x). HR(t) with its "
        "band is in hazard_ratios.csv and hazard_ratios.png.",
        highlight=False, markup=False,
    )  # fmt: skip


def _print_files(result: PatientRun, console: Console) -> None:
    files = "posterior.nc, summary.csv, diagnostics.csv, manifest.json"
    if result.conflict is not None:
        files += ", conflict.csv"
    if result.spec.family == "survival":
        files += ", survival_curves.csv, survival.png"
    if getattr(result.spec, "nonprop", None):
        files += ", hazard_ratios.csv, hazard_ratios.png"
    if result.replicates:
        files += ", replicates.csv, replicates_pooled.csv"
    console.print(f"Wrote {result.run_dir}/: {files}")


CONFLICT_P = 0.05


def _print_conflict(result: PatientRun, console: Console) -> None:
    """The cohort's own estimates against the imported prior's evidence."""
    conflict = result.conflict
    if conflict.table["box_p"].isna().all():
        console.print(
            "Prior-data conflict check: not made. This cohort gives no estimate of its own to "
            "set beside the prior (the Weibull mixture cure MLE did not converge: follow-up "
            "without a plateau leaves the cure fraction on a ridge).",
            markup=False, highlight=False,
        )  # fmt: skip
        return
    table = Table(
        title="Prior-data conflict: this cohort's own estimate against the imported prior"
    )
    for column in ("parameter", "prior (informative)", "this cohort", "Box p"):
        table.add_column(column, justify="left" if column == "parameter" else "right")
    for row in conflict.table.itertuples():
        if row.parameter == "all effects jointly":
            table.add_row(row.parameter, "", "", f"{row.box_p:.3f}")
            continue
        table.add_row(
            escape(row.parameter),
            f"{row.prior_mean:.3g} ± {row.prior_sd:.3g}",
            f"{row.cohort_estimate:.3g} ± {row.cohort_se:.3g}",
            f"{row.box_p:.3f}",
        )
    console.print(table)
    flagged = conflict.table[conflict.table["box_p"] < CONFLICT_P]["parameter"].tolist()
    verdict = (
        f"CONFLICT (Box p < {CONFLICT_P}): {', '.join(flagged)}"
        if flagged
        else f"no conflict flagged (every Box p >= {CONFLICT_P})"
    )
    console.print(f"Prior-data conflict check: {verdict}.", markup=False)
    if conflict.informative_weight is not None:
        console.print(
            "Robust prior: the informative part keeps posterior weight "
            f"{conflict.informative_weight:.3f} (it had {conflict.prior_informative_weight:.2f})."
        )
        if bool(flagged) == (conflict.informative_weight >= 0.5):
            console.print(
                "The two can disagree: Box's p judges each parameter on its own against the "
                "prior's informative part, while the weight compares how well the informative "
                "and the vague part predict all of this cohort's estimates together (baseline "
                "included); a conflict in one effect moves the weight only as far as the "
                "cohort's own precision on it allows.",
                markup=False,
            )


def _print_replicates(result: PatientRun, console: Console) -> None:
    ratios = set(result.fit.ratios)
    per_cohort = {
        name: fit.intervals.set_index("quantity") for name, fit in result.replicates.items()
    }
    table = Table(
        title=f"Across {len(per_cohort)} replicate cohorts (SYNTHETIC): the spread from "
        "patient-level detail the abstract does not report"
    )
    for column in ("quantity", "this cohort", "pooled draws", "replicate medians (min to max)"):
        table.add_column(
            column,
            justify="left" if column == "quantity" else "right",
            overflow="fold",
            no_wrap=column == "quantity",  # a quantity's name and unit read as one
        )
    main = result.fit.summary.set_index("quantity")
    for row in result.pooled.itertuples():
        if row.quantity not in ratios and not row.quantity.startswith(("median_survival", "orr")):
            continue
        medians = [frame.at[row.quantity, "median"] for frame in per_cohort.values()]
        this = main.loc[row.quantity]
        table.add_row(
            escape(row.quantity),
            f"{fmt(this['median'])} ({interval(this['eti95_low'], this['eti95_high'])})",
            f"{fmt(row.median)} ({interval(row.eti95_low, row.eti95_high)})",
            interval(min(medians), max(medians)),
        )
    console.print(table)


def print_comparison(comparison, console: Console, prior: str = "weakly-informative") -> None:
    """Each paper quantity: the paper, its reported-effects posterior, and the patient-level
    models on the (synthetic) pseudo-cohort and pooled over the replicates."""
    shown = comparison[(comparison["analysis"] != ANALYSIS_NAME) | (comparison["prior"] == prior)]
    table = Table(
        title=f"Every analysis of the paper's quantities (prior set {prior}; 95% ETI). "
        "Patient-level rows: SYNTHETIC cohorts"
    )
    for column in ("quantity", "paper (95% CI)", "analysis", "median (95% ETI)", "P(>1)"):
        table.add_column(column, justify="right" if column == "P(>1)" else "left", overflow="fold")
    previous = None
    for row in shown.itertuples():
        first = row.quantity != previous
        if first and previous is not None:
            table.add_section()
        previous = row.quantity
        paper_cell = (
            f"{fmt(row.paper_estimate)} ({interval(row.paper_ci95_low, row.paper_ci95_high)})"
        )
        table.add_row(
            escape(row.quantity) if first else "",
            paper_cell if first else "",
            row.analysis,
            f"{fmt(row.median)} ({interval(row.eti95_low, row.eti95_high)})",
            fmt(row.prob_gt_1),
        )
    console.print(table)
    checks = Table(
        title="The same quantities: the paper's analysis rerun on the pseudo-cohort, and over "
        "500 cohorts simulated from the patient-level posterior (SYNTHETIC)"
    )
    for column in ("quantity", "paper", "frequentist refit (95% CI)", "PPC 95% interval",
                   "PPC p"):  # fmt: skip
        checks.add_column(
            column, justify="left" if column == "quantity" else "right", overflow="fold"
        )
    for row in comparison.drop_duplicates("quantity").itertuples():
        refit = (
            f"{fmt(row.freq_estimate)} ({interval(row.freq_ci95_low, row.freq_ci95_high)})"
            if row.freq_estimate == row.freq_estimate
            else "separated: no MLE"
        )
        ppc_cell = (
            f"{fmt_bound(row.ppc95_low)} to {fmt_bound(row.ppc95_high)}"
            if row.ppc95_low == row.ppc95_low
            else ""
        )
        checks.add_row(
            escape(row.quantity), fmt(row.paper_estimate), refit, ppc_cell, fmt(row.ppc_p_value)
        )
    console.print(checks)
    console.print(
        "Each paper number's source sentence is in comparison.csv (paper_source); the full "
        "posterior predictive check is in ppc/ and report.html."
    )
