"""Report files and console tables for a run: CSV, Markdown, a forest plot."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from rich.console import Console
from rich.table import Table

from netlm_bayes.evidence.credibility import credibility_table
from netlm_bayes.evidence.paper import Paper
from netlm_bayes.report.forest import forest
from netlm_bayes.report.format import fmt, interval, label, probability

if TYPE_CHECKING:
    from netlm_bayes.fitting.reported import ReanalysisResult


def write_reanalysis(folder: Path, result: ReanalysisResult, paper: Paper) -> None:
    result.comparison.to_csv(folder / "comparison.csv", index=False)
    diagnostics = pd.concat(
        [d.frame().assign(prior_set=name) for name, d in result.diagnostics.items()],
        ignore_index=True,
    )
    diagnostics.to_csv(folder / "diagnostics.csv", index=False)
    result.exceedance.to_csv(folder / "exceedance.csv", index=False)
    credibility_table(paper).to_csv(folder / "credibility.csv", index=False)
    table = result.comparison
    result.priors.to_csv(folder / "priors.csv", index=False)
    reading = "" if result.significance_filter is None else (
        f", if reported because significant (P < {result.significance_filter:g})"
    )  # fmt: skip
    forest(
        table.assign(row_label=table["prior_set"] + " prior", colour="tab:blue"),
        folder / "forest.png",
        "The paper's implied 95% CI (from its printed P; black, shaded) and the posterior 95% "
        f"interval with its median (blue), per prior set{reading}",
    )
    (folder / "comparison.md").write_text(comparison_markdown(result, paper))


def _title(result: ReanalysisResult) -> str:
    if result.significance_filter is None:
        return "The paper's reported effects, re-read as posteriors"
    return (
        "The paper's reported effects, re-read as posteriors if they were reported because "
        f"they were significant (P < {result.significance_filter:g}; selection-adjusted)"
    )


def comparison_markdown(result: ReanalysisResult, paper: Paper) -> str:
    table = result.comparison
    lines = [
        f"# {_title(result)}",
        "",
        f"Source: {paper.study.citation}",
        "",
        "Paper column: the abstract's estimate with a 95% CI the abstract does not print:",
        "for ratios implied by the printed P (Wald), for rates exact from the counts (method",
        "column). Posterior: median, 95% equal-tailed interval (ETI) and 95% highest-density",
        "interval (HDI; for ratios, found on the log scale). P(>1) is P(ratio > 1).",
        "",
        "![forest plot](forest.png)",
        "",
        "| quantity | prior set | paper (implied 95% CI) | posterior median | 95% ETI "
        "| 95% HDI | P(>1) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples():
        paper_cell = (
            f"{fmt(row.paper_estimate)} ({interval(row.paper_ci95_low, row.paper_ci95_high)})"
        )
        lines.append(
            f"| {label(row.quantity)} | {row.prior_set} | {paper_cell} | {fmt(row.median)} "
            f"| {interval(row.eti95_low, row.eti95_high)} "
            f"| {interval(row.hdi95_low, row.hdi95_high)} | {probability(row.prob_gt_1)} |"
        )
    lines += ["", "## How big: P(beyond each threshold, in the paper's direction)", ""]
    lines += ["| quantity | prior set | event | probability |", "|---|---|---|---|"]
    for row in result.exceedance.itertuples():
        source = f" ({row.source})" if isinstance(row.source, str) else ""
        lines.append(f"| {label(row.quantity)} | {row.prior_set} | {row.event}{source} "
                     f"| {probability(row.probability)} |")  # fmt: skip
    if result.significance_filter is None:
        lines += ["", "## Credibility (Matthews' sceptical limit)", ""]
        lines += ["| quantity | implied 95% CI | sceptical limit | over P's rounding |",
                  "|---|---|---|---|"]  # fmt: skip
        for row in credibility_table(paper).itertuples():
            implied = interval(row.implied_ci95_low, row.implied_ci95_high)
            rounding = interval(row.sceptical_limit_at_p_low, row.sceptical_limit_at_p_high)
            lines.append(
                f"| {label(row.quantity)} | {implied} | {fmt(row.sceptical_limit)} | {rounding} |"
            )
    lines += ["", "## Where each paper number comes from", ""]
    first = table.drop_duplicates("quantity")
    for row in first.itertuples():
        lines.append(f"- **{label(row.quantity)}** ({row.paper_ci_method}): {row.source}")
        note = _wording_note(paper, row.quantity)
        if note:
            lines.append(f"  - Note: {note}")
    lines += ["", "## Prior sets", "", "| prior set | target | prior | rationale |"]
    lines += ["|---|---|---|---|"]
    for row in result.priors.itertuples():
        lines.append(f"| {row.prior_set} | {row.target} | `{row.prior}` | {row.rationale} |")
    lines += ["", "## Sampler diagnostics", ""]
    for name, diagnostic in result.diagnostics.items():
        verdict = "passed" if diagnostic.passed else "FAILED: " + "; ".join(diagnostic.failures)
        lines.append(f"- {name}: {verdict} ({diagnostic.summary_line()})")
    return "\n".join(lines) + "\n"


def _wording_note(paper: Paper, quantity: str) -> str | None:
    try:
        return paper.effect(quantity).wording_note
    except KeyError:
        return None


def console_tables(result: ReanalysisResult, console: Console) -> None:
    table = Table(title=f"{_title(result)} (95% intervals)")
    for column in (
        "quantity",
        "prior set",
        "paper (implied 95% CI)",
        "median",
        "95% ETI",
        "95% HDI",
        "P(>1)",
    ):
        table.add_column(column, justify="left" if column in ("quantity", "prior set") else "right")
    previous = None
    for row in result.comparison.itertuples():
        first = row.quantity != previous
        if first and previous is not None:
            table.add_section()
        previous = row.quantity
        table.add_row(
            label(row.quantity) if first else "",
            row.prior_set,
            f"{fmt(row.paper_estimate)} ({interval(row.paper_ci95_low, row.paper_ci95_high)})"
            if first
            else "",
            fmt(row.median),
            interval(row.eti95_low, row.eti95_high),
            interval(row.hdi95_low, row.hdi95_high),
            probability(row.prob_gt_1),
        )
    console.print(table)
    console.print(
        "The abstract prints no CIs: ratios' CIs are implied by the printed P (Wald), rates' "
        "are exact from the counts. Sources: comparison.md, data/paper.toml."
    )
    exceedance = result.exceedance[result.exceedance["threshold"] != 1]
    for (quantity, event), rows in exceedance.groupby(["quantity", "event"], sort=False):
        probabilities = ", ".join(
            f"{r.prior_set} {probability(r.probability)}" for r in rows.itertuples()
        )
        console.print(f"P({event}), {label(quantity)}: {probabilities}", highlight=False)
