"""Console and CSV output of the frequentist analysis, in the paper's shape."""

from __future__ import annotations

import math

import pandas as pd
from rich.console import Console
from rich.table import Table

from netlm_bayes import labels
from netlm_bayes.evidence.paper import Paper
from netlm_bayes.frequentist.analysis import FrequentistResult
from netlm_bayes.report.format import fmt, interval, label


def paper_beside_cohort(result: FrequentistResult, paper: Paper) -> pd.DataFrame:
    """Every number the abstract reports, beside the same analysis on this cohort."""
    response = result.response.set_index("covariate")
    rows = [
        _row(f"{c} patients", paper.response.counts[c], None, response.loc[c, "count"], None, "")
        for c in ("PR", "SD", "PD")
    ]
    orr = response.loc["ORR"]
    rows.append(
        _row("ORR", paper.response.orr_percent / 100, None, orr["rate"], None,
             interval(orr["ci95_low"], orr["ci95_high"]))
    )  # fmt: skip
    km = result.km.set_index("covariate").loc["overall"]
    rows.append(
        _row("median HPFS, months", paper.hpfs.median_months, None, km["median_months"], None,
             interval(km["ci95_low"], km["ci95_high"]))
    )  # fmt: skip
    for effect in paper.effects:
        table, ratio = (result.cox, "hr") if effect.measure == "HR" else (result.logistic, "or")
        row = table[(table["model"] == "multivariable") & (table["covariate"] == effect.covariate)]
        if row.empty:
            rows.append(
                _row(effect.name, effect.estimate, effect.p_printed, math.nan, None, "not fitted")
            )
            continue
        row = row.iloc[0]
        ci = (
            interval(row["ci95_low"], row["ci95_high"])
            if not _separated(row)
            else row["separation"]
        )
        rows.append(_row(effect.name, effect.estimate, effect.p_printed, row[ratio], row["p"], ci))
    return pd.DataFrame(rows)


def _four(value: float) -> str:
    return "" if math.isnan(value) else ("not reached" if math.isinf(value) else f"{value:.4g}")


def _separated(row) -> bool:
    return bool(row.get("separation", ""))


def _row(quantity, paper_value, paper_p, cohort_value, cohort_p, cohort_ci) -> dict:
    return {
        "quantity": quantity, "paper": paper_value, "paper_p": paper_p or "",
        "cohort": cohort_value, "cohort_ci95": cohort_ci,
        "cohort_p": "" if cohort_p is None else f"{cohort_p:.4g}",
    }  # fmt: skip


def print_frequentist(
    result: FrequentistResult, paper: Paper, console: Console, source: str, synthetic: bool
) -> None:
    if synthetic:
        console.print(f"[bold yellow]{labels.SYNTHETIC_BANNER}[/bold yellow] ({source})")
    beside = paper_beside_cohort(result, paper)
    title = "The paper's numbers beside the paper's analysis of " + source
    table = Table(title=title + (labels.SYNTHETIC_TAG if synthetic else ""))
    for column in ("quantity", "paper", "paper P", "this cohort", "95% CI", "P"):
        table.add_column(column)
    for row in beside.itertuples():
        # The paper's numbers as printed in the abstract; the cohort's to 4 significant digits.
        table.add_row(
            label(row.quantity), f"{float(row.paper):g}", str(row.paper_p),
            _four(float(row.cohort)), str(row.cohort_ci95), row.cohort_p,
        )  # fmt: skip
    console.print(table)
    console.print(
        f"n = {result.n}, progressions = {result.events}. Paper values: data/paper.toml "
        "(abstract). HR: multivariable Cox; ORs: multivariable logistic for non-response."
    )
    _print_regressions(result, console, synthetic)
    for note in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {note}", highlight=False)


def _print_regressions(result: FrequentistResult, console: Console, synthetic: bool) -> None:
    suffix = labels.SYNTHETIC_TAG if synthetic else ""
    km = Table(title="Kaplan-Meier median HPFS (months)" + suffix)
    for column in ("group", "n", "events", "median", "95% CI"):
        km.add_column(column)
    for row in result.km.itertuples():
        group = "all" if row.covariate == "overall" else f"{row.covariate} = {row.level}"
        km.add_row(group, str(row.n), str(row.events), fmt(row.median_months),
                   interval(row.ci95_low, row.ci95_high))  # fmt: skip
    console.print(km)
    regressions = (
        ("Cox PH for HPFS", result.cox, "hr"),
        ("Logistic regression for non-response", result.logistic, "or"),
    )
    for name, frame, ratio in regressions:
        table = Table(title=name + suffix)
        columns = ["model", "covariate", ratio.upper(), "95% CI", "P"]
        columns += ["PH test P"] if ratio == "hr" else ["note"]
        for column in columns:
            table.add_column(column)
        for row in frame.to_dict("records"):
            last = fmt(row["ph_test_p"]) if ratio == "hr" else row.get("separation", "")
            table.add_row(
                row["model"], row["covariate"], fmt(row[ratio]),
                interval(row["ci95_low"], row["ci95_high"]) if not _separated(row) else "",
                fmt(row["p"]), last,
            )  # fmt: skip
        console.print(table)
