"""The answer first: what the paper claims, and how sure one can be under each prior set.

Built from a study run's comparison.csv (and its prior-set table), it is the first box of
report.html and the last thing `make fit` prints. For each quantity the paper reports:
its claim with the source sentence's number, then under each prior set the posterior
probability of the paper's direction (ratios) or the posterior rate, with the 95%
interval; whether that interval crosses no effect; and how much the answer leans on the
prior, measured by power-scaling sensitivity (psense) and by how far the median moves.
Only the reported-effects rows (the paper's own numbers) enter: the patient-level rows come
from a synthetic cohort and add no evidence, which the box says.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd
from rich.console import Console
from rich.table import Table

from netlm_bayes.checks.prior_sensitivity import (
    LIKELIHOOD_DOMINATED,
    PRIOR_DOMINATED,
    PRIOR_SENSITIVE,
)
from netlm_bayes.families.reported_effects import is_ratio
from netlm_bayes.fitting.reported import ANALYSIS_NAME
from netlm_bayes.report.format import fmt, interval, label

REPORTED = ANALYSIS_NAME


@dataclass(frozen=True)
class Cell:
    """One quantity under one prior set."""

    prior_set: str
    headline: str  # "P(HR > 1) 0.99" or "83%"
    interval: str  # "1.27 to 14.1"
    crosses_no_effect: bool
    verdict: str  # psense, in words
    prior_sensitivity: float  # psense's number behind the verdict


@dataclass(frozen=True)
class Finding:
    quantity: str
    claim: str  # "HR 4.19 (95% CI 1.25 to 14.0)"
    source: str  # the paper's sentence
    cells: list[Cell]
    sentence: str  # in plain words: does the claim hold, and does it lean on the prior?


def findings(comparison: pd.DataFrame) -> list[Finding]:
    """One finding per paper quantity, from the reported-effects rows of comparison.csv."""
    reported = comparison[comparison["analysis"] == REPORTED]
    return [_finding(q, part) for q, part in reported.groupby("quantity", sort=False)]


def prior_sets(comparison: pd.DataFrame) -> list[str]:
    reported = comparison[comparison["analysis"] == REPORTED]
    return list(dict.fromkeys(reported["prior"]))


def _finding(quantity: str, part: pd.DataFrame) -> Finding:
    first = part.iloc[0]
    ratio = is_ratio(quantity)
    cells = [_cell(quantity, row, ratio) for row in part.itertuples()]
    measure = quantity[:2].upper()
    if ratio:
        claim = f"{measure} {fmt(first.paper_estimate)} (95% CI "
        claim += f"{interval(first.paper_ci95_low, first.paper_ci95_high)})"
    else:
        claim = f"{first.paper_estimate:.1%} (95% CI {_percent(first.paper_ci95_low)} to "
        claim += f"{_percent(first.paper_ci95_high)})"
    return Finding(quantity, claim, str(first.paper_source), cells, _sentence(part, cells, ratio))


def _direction(quantity: str, estimate: float) -> tuple[str, bool]:
    """'HR > 1' or 'OR < 1': the paper's direction, and whether it is above 1."""
    above = estimate > 1
    return f"{quantity[:2].upper()} {'>' if above else '<'} 1", above


def _cell(quantity: str, row, ratio: bool) -> Cell:
    verdict = row.psense_verdict if isinstance(row.psense_verdict, str) else "not measured"
    sensitivity = float(getattr(row, "psense_prior", float("nan")))
    if not ratio:
        bounds = f"{_percent(row.eti95_low)} to {_percent(row.eti95_high)}"
        return Cell(row.prior, _percent(row.median), bounds, False, verdict, sensitivity)
    bounds = interval(row.eti95_low, row.eti95_high)
    words, above = _direction(quantity, row.paper_estimate)
    probability = row.prob_gt_1 if above else 1 - row.prob_gt_1
    crosses = row.eti95_low <= 1 <= row.eti95_high
    return Cell(row.prior, f"P({words}) {probability:.2f}", bounds, crosses, verdict, sensitivity)


def _sentence(part: pd.DataFrame, cells: list[Cell], ratio: bool) -> str:
    leaning = [f"{c.prior_set} {c.prior_sensitivity:.2g}" for c in cells
               if c.verdict.startswith(PRIOR_SENSITIVE)]  # fmt: skip
    measured = any(c.verdict in (PRIOR_SENSITIVE, PRIOR_DOMINATED, LIKELIHOOD_DOMINATED)
                   for c in cells)  # fmt: skip
    medians = part["median"]
    spread = (
        f"medians {fmt(medians.min())} to {fmt(medians.max())} across the sets"
        if ratio
        else f"medians {_percent(medians.min())} to {_percent(medians.max())} across the sets"
    )
    if not measured:  # a run folder from before power-scaling was measured
        leans = f"Prior sensitivity not measured in this run; {spread}."
    elif not leaning:
        leans = f"The data dominate under every prior set; {spread}."
    elif len(leaning) == len(cells):
        leans = f"Prior-sensitive (psense) under every set: {_names(leaning)}; {spread}."
    else:
        leans = f"Prior-sensitive (psense) under {_names(leaning)}; {spread}."
    if not ratio:
        return leans
    crossing = [c.prior_set for c in cells if c.crosses_no_effect]
    if not crossing:
        holds = "Holds under every prior set: no 95% interval crosses 1."
    elif len(crossing) == len(cells):
        holds = "Every prior set's 95% interval crosses 1."
    else:
        holds = f"Crosses 1 only under {_names(crossing)}."
    return f"{holds} {leans}"


def _percent(rate: float) -> str:
    return f"{rate:.1%}"


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def html_box(comparison: pd.DataFrame, synthetic: bool, reading: dict | None = None) -> str:
    """The report's first box: a row per quantity, a column per prior set. `reading` maps a
    quantity to a short note where the paper's wording needed our reading (marked †)."""
    reading = reading or {}
    found = findings(comparison)
    sets = prior_sets(comparison)
    sources = list(dict.fromkeys(f.source for f in found))
    head = "".join(f"<th>{html.escape(name)}</th>" for name in sets)
    rows = [
        "<table class='answer'><tr><th class='text'>the paper claims</th>"
        f"{head}<th class='text'>in words</th></tr>"
    ]
    for finding in found:
        note = sources.index(finding.source) + 1
        cells = "".join(
            f"<td class='{'crosses' if c.crosses_no_effect else ''}'>"
            f"{html.escape(c.headline)}<br><small>{html.escape(c.interval)}</small></td>"
            for c in finding.cells
        )
        rows.append(
            f"<tr><td class='text'><strong>{html.escape(label(finding.quantity))}</strong><br>"
            f"{html.escape(finding.claim)} <sup>[{note}]</sup>"
            f"{' †' if finding.quantity in reading else ''}</td>{cells}"
            f"<td class='text words'>{html.escape(finding.sentence)}</td></tr>"
        )
    rows.append("</table>")
    quotes = "".join(f"<li>{html.escape(s)}</li>" for s in sources)
    synthetic_note = (
        " The patient-level rows further down come from a <strong>SYNTHETIC</strong> "
        "pseudo-cohort made to reproduce these numbers: they add no evidence."
        if synthetic
        else ""
    )
    return (
        "<section id='answer' class='answer'>"
        "<h2>The answer: what the paper claims, and how sure one can be</h2>"
        f"<p>{html.escape(INTRO)}{synthetic_note}</p>" + "".join(rows) + "<p class='legend'>"
        f"{html.escape(LEGEND.format(mark='Shaded'))}{_reading_legend(reading)}</p>"
        f"<ol class='sources'>{quotes}</ol></section>"
    )


def _reading_legend(reading: dict) -> str:
    return "".join(
        f" † {html.escape(label(q))}: {html.escape(text)}" for q, text in reading.items()
    )


INTRO = (
    "The abstract's printed numbers (84 patients) re-read as posteriors under five prior "
    "sets (each defined, with its reason, in the table below)."
)
LEGEND = (
    "Each cell: the posterior probability of the paper's direction (for a rate, the "
    "posterior median) and the 95% interval. {mark}: the interval crosses 1 (no effect). "
    "Prior-sensitive: power-scaling the prior moves the posterior (psense, threshold 0.05; "
    "comparison.csv has the numbers). The paper's CIs are derived from its printed P."
)


def print_answer(comparison: pd.DataFrame, console: Console) -> None:
    """The same answer for the end of `make fit`: a table, then a sentence per quantity."""
    sets = prior_sets(comparison)
    table = Table(title="The answer: what the paper claims, and how sure one can be")
    table.add_column("the paper claims")
    for name in sets:
        table.add_column(name, justify="right")
    found = findings(comparison)
    for finding in found:
        table.add_row(
            f"{label(finding.quantity)}\n{finding.claim}",
            *(
                f"{c.headline}\n{c.interval}{' *' if c.crosses_no_effect else ''}"
                for c in finding.cells
            ),
        )
    console.print(table)
    console.print(f"{INTRO} {LEGEND.format(mark='*')}", highlight=False, markup=False)
    for finding in found:
        console.print(f"- {label(finding.quantity)}: {finding.sentence}", highlight=False,
                      markup=False)  # fmt: skip
