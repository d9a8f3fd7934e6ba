"""The answer first: how big each effect plausibly is, how much of it the significance filter
may explain, and what the study cannot show.

Built from a study run's comparison.csv, it is the first box of report.html and the last
thing `make fit` prints. For each quantity the paper reports: its claim with the 95% CI its
printed P implies (the abstract prints none), then under each prior set the posterior
probability of the paper's direction and of a larger effect (P(HR > 2) by default), with
the median and 95% interval; the same under the default prior set if the effects were
reported because they were significant (the selection-adjusted reading); and a verdict in
plain words. Below the table, the study's limitations. Only the paper's own numbers enter:
the patient-level rows come from a synthetic cohort and add no evidence, which the box says.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import pandas as pd
from rich.console import Console
from rich.table import Table

from netlm_bayes.evidence.paper import Paper
from netlm_bayes.families.reported_effects import is_ratio
from netlm_bayes.fitting import magnitude
from netlm_bayes.fitting.reported import ANALYSIS_NAME, SELECTED_ANALYSIS_NAME
from netlm_bayes.report.format import CLAIM_WORDS, fmt, interval, label, probability

REPORTED = ANALYSIS_NAME
SELECTED = SELECTED_ANALYSIS_NAME
# The first screen shows P(the paper's direction) and P(beyond this threshold): a doubling.
# Every threshold is in comparison.csv, exceedance.csv and exceedance.png.
FIRST_SCREEN_THRESHOLD = 2.0
# The prior sets the verdict quotes: the default, and the sceptic's.
DEFAULT_SET, SCEPTIC_SET = "weakly-informative", "skeptical"
# Rate quantities on the first screen (SD and PD rates are in the analyses table).
FIRST_SCREEN_RATES = ("orr",)


@dataclass(frozen=True)
class Cell:
    """One quantity under one prior set (and one reading)."""

    prior_set: str
    lines: list[str]  # ["HR > 1: 0.99", "HR > 2: 0.88"], or ["83.1%"] for a rate
    interval: str  # "4.22 (1.27 to 14.1)": median (95% interval)
    crosses_no_effect: bool
    median: float
    beyond: dict[float, float]  # threshold -> P(beyond it, in the paper's direction)


@dataclass(frozen=True)
class Finding:
    quantity: str
    claim: str  # "HR 4.19 (implied 95% CI 1.25 to 14.0)"
    source: str  # the paper's sentence
    cells: list[Cell]
    selected: Cell | None  # the selection-adjusted reading under the default prior set
    sentence: str  # the verdict in plain words


def findings(comparison: pd.DataFrame) -> list[Finding]:
    """One finding per paper quantity shown first, from the paper's own rows of
    comparison.csv."""
    reported = comparison[comparison["analysis"] == REPORTED]
    selected = comparison[comparison["analysis"] == SELECTED]
    shown = [q for q in dict.fromkeys(reported["quantity"])
             if is_ratio(q) or q in FIRST_SCREEN_RATES]  # fmt: skip
    return [_finding(q, reported[reported["quantity"] == q],
                     selected[selected["quantity"] == q]) for q in shown]  # fmt: skip


def prior_sets(comparison: pd.DataFrame) -> list[str]:
    reported = comparison[comparison["analysis"] == REPORTED]
    return list(dict.fromkeys(reported["prior"]))


def _thresholds(part: pd.DataFrame) -> list[float]:
    """The thresholds the first screen shows: the smallest, and FIRST_SCREEN_THRESHOLD (or
    the nearest other one)."""
    found = sorted(float(c.removeprefix("prob_beyond_")) for c in part.columns
                   if c.startswith("prob_beyond_"))  # fmt: skip
    if len(found) < 2:  # a run folder from before the thresholds: the direction alone
        return found or [1.0]
    others = found[1:]
    second = min(others, key=lambda t: abs(math.log(t / FIRST_SCREEN_THRESHOLD)))
    return [found[0], second]


def _finding(quantity: str, part: pd.DataFrame, selected: pd.DataFrame) -> Finding:
    first = part.iloc[0]
    ratio = is_ratio(quantity)
    thresholds = _thresholds(part) if ratio else []
    cells = [_cell(quantity, row, ratio, thresholds) for row in part.to_dict("records")]
    chosen = selected[selected["prior"] == DEFAULT_SET]
    picked = _cell(quantity, chosen.iloc[0].to_dict(), ratio, thresholds) if len(chosen) else None
    if ratio:
        claim = f"{quantity[:2].upper()} {fmt(first.paper_estimate)} (implied 95% CI "
        claim += f"{interval(first.paper_ci95_low, first.paper_ci95_high)}, from P)"
    else:
        claim = f"{_percent(first.paper_estimate)} (exact 95% CI {_percent(first.paper_ci95_low)}"
        claim += f" to {_percent(first.paper_ci95_high)}, from the counts)"
    if ratio:
        increase = magnitude.claims_increase(first.paper_estimate)
        sentence = _verdict(quantity, cells, picked, thresholds, increase)
    else:
        sentence = _rate_words(cells)
    return Finding(quantity, claim, str(first.paper_source), cells, picked, sentence)


def _cell(quantity: str, row: dict, ratio: bool, thresholds: list[float]) -> Cell:
    """One comparison row as a cell; a column an older run folder lacks reads as NaN."""

    def get(name: str) -> float:
        return row.get(name, float("nan"))

    median, low, high = get("median"), get("eti95_low"), get("eti95_high")
    if not ratio:
        bounds = f"{_percent(low)} to {_percent(high)}"
        lines = [_percent(median)]
        if not pd.isna(get("benchmark")):
            chance = probability(get("prob_above_benchmark"))
            lines.append(f"P(> {_percent(get('benchmark'))}): {chance}")
        return Cell(row["prior"], lines, bounds, False, median, {})
    increase = magnitude.claims_increase(get("paper_estimate"))
    beyond = {t: _beyond(get, t, increase) for t in thresholds}
    lines = [f"{magnitude.threshold_words(quantity, t, increase)}: {probability(p)}"
             for t, p in beyond.items()]  # fmt: skip
    crosses = low <= 1 <= high
    return Cell(row["prior"], lines, f"{fmt(median)} ({interval(low, high)})", crosses, median,
                beyond)  # fmt: skip


def _beyond(get, threshold: float, increase: bool) -> float:
    value = get(magnitude.column(threshold))
    if threshold == 1 and pd.isna(value):  # a run from before the exceedance columns
        p_above = get("prob_gt_1")
        return p_above if increase else 1 - p_above
    return value


def _certainty(p: float) -> str:
    if p >= 0.99:
        return "Very probably"
    if p >= 0.95:
        return "Probably"
    if p >= 0.8:
        return "More likely than not"
    return "Uncertain whether there is"


def _fold(median: float) -> str:
    """A ratio's size in words: '2.2-fold' (or '2.2-fold lower' below 1)."""
    return f"{median:.2g}-fold" if median >= 1 else f"{1 / median:.2g}-fold lower"


def _verdict(
    quantity: str, cells: list[Cell], selected: Cell | None, thresholds: list[float], increase: bool
) -> str:
    """'Very probably faster hepatic progression with HTB > 25% (P > 0.99). Its size is
    uncertain: a sceptic's best guess is 2.2-fold, with P(HR > 2) 0.56; if reported because
    significant, the default's best guess falls from 3.9-fold to 2.2-fold.' (The amber
    cells, not the sentence, show which intervals include 1.)"""
    by_set = {c.prior_set: c for c in cells}
    default = by_set.get(DEFAULT_SET, cells[0])
    sceptic = by_set.get(SCEPTIC_SET, default)
    words = CLAIM_WORDS.get(quantity, f"{label(quantity)} in the paper's direction")
    direction = default.beyond[thresholds[0]]
    text = f"{_certainty(direction)} {words} (P {probability(direction)}). "
    text += f"Its size is uncertain: a sceptic's best guess is {_fold(sceptic.median)}"
    if len(thresholds) > 1:
        big = thresholds[-1]
        event = magnitude.threshold_words(quantity, big, increase)
        text += f", P({event}) {probability(sceptic.beyond[big])}"
    if selected is not None:
        text += (
            f". If reported because significant, the default's best guess falls from "
            f"{_fold(default.median)} to {_fold(selected.median)}"
        )
    return text + "."


def _rate_words(cells: list[Cell]) -> str:
    medians = [c.median for c in cells]
    low, high = _percent(min(medians)), _percent(max(medians))
    return f"Medians between {low} and {high} across the prior sets."


def _percent(rate: float) -> str:
    return f"{rate:.1%}"


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def limitations(paper: Paper, comparison: pd.DataFrame) -> list[str]:
    """What the study cannot show, in four or five lines a clinician reads."""
    study, counts = paper.study, paper.response.counts
    non_responders = sum(n for c, n in counts.items() if c != "PR")
    ors = [e for e in paper.effects if e.measure == "OR"]
    hrs = [e for e in paper.effects if e.measure == "HR"]
    ps = sorted(e.p for e in paper.effects)
    lines = [
        f"Design: {study.design}, {study.n_patients} patients treated "
        f"{study.accrual_start} to {study.accrual_end}, no comparison arm: the ratios compare "
        "treated patients with each other; they do not measure the treatment's effect.",
        f"Selected by significance: the abstract reports only the predictors significant in "
        f"multivariable models (P {ps[0]:g} to {ps[-1]:g}). Such estimates are biased away "
        "from no effect; the column 'if reported because significant' shows by how much.",
        f"Few events: {non_responders} non-responders ({counts['SD']} SD, {counts['PD']} PD) "
        f"carry {len(ors)} odds ratios; the number of progressions behind the "
        f"{' and '.join(e.measure for e in hrs)} is not reported (its implied SE, "
        f"{hrs[0].exact.se:.2f}, is what about {4 / hrs[0].exact.se ** 2:.0f} evenly split "
        "events would give)."
        if hrs
        else "",
        "Intervals implied by P: the abstract prints no confidence intervals; every paper "
        "interval here is derived from its printed P (a Wald test assumed).",
        f"Not re-readable: the median HPFS ({paper.hpfs.median_months:g} months) has no "
        "interval or number of events, and the other covariates of both models are "
        "not reported.",
    ]
    return [line for line in lines if line]


def _cell_html(cell: Cell) -> str:
    css = " class='crosses'" if cell.crosses_no_effect else ""
    lines = "<br>".join(html.escape(line) for line in cell.lines)
    return f"<td{css}>{lines}<br><small>{html.escape(cell.interval)}</small></td>"


def html_box(
    comparison: pd.DataFrame,
    synthetic: bool,
    reading: dict | None = None,
    paper: Paper | None = None,
) -> str:
    """The report's first box: a row per quantity, a column per prior set, the selection-
    adjusted reading, the verdict; then the limitations. `reading` maps a quantity to a
    short note where the paper's wording needed our reading (marked †)."""
    reading = reading or {}
    found = findings(comparison)
    sets = prior_sets(comparison)
    sources = list(dict.fromkeys(f.source for f in found))
    has_selected = any(f.selected is not None for f in found)
    head = "".join(f"<th>{html.escape(name)}</th>" for name in sets)
    if has_selected:
        head += (
            f"<th class='selected'>if reported because significant<br><small>"
            f"({DEFAULT_SET})</small></th>"
        )
    rows = ["<table class='answer'><tr><th class='text'>the paper claims</th>"
            f"{head}<th class='text'>in words</th></tr>"]  # fmt: skip
    for finding in found:
        note = sources.index(finding.source) + 1
        cells = "".join(_cell_html(c) for c in finding.cells)
        if has_selected:
            cells += _cell_html(finding.selected) if finding.selected else "<td></td>"
        name = html.escape(label(finding.quantity))
        rows.append(
            f"<tr><td class='text claim'><strong>{name}</strong><br>"
            f"{html.escape(finding.claim)} <sup>[{note}]</sup>"
            f"{' †' if finding.quantity in reading else ''}</td>{cells}"
            f"<td class='text words'>{html.escape(finding.sentence)}</td></tr>"
        )
    rows.append("</table>")
    quotes = "".join(f"<li>{html.escape(s)}</li>" for s in sources)
    synthetic_note = (
        " The patient-level rows further down come from a <strong>SYNTHETIC</strong> "
        "pseudo-cohort made to reproduce these numbers: they add no evidence."
        if synthetic else ""
    )  # fmt: skip
    limits = (
        "".join(f"<li>{html.escape(line)}</li>" for line in limitations(paper, comparison))
        if paper is not None
        else ""
    )
    limits_html = (f"<div class='limits'><strong>What this study cannot show</strong>"
                   f"<ul>{limits}</ul></div>") if limits else ""  # fmt: skip
    return (
        "<section id='answer' class='answer'>"
        "<h2>The answer: how big each effect plausibly is, and what the study cannot show</h2>"
        f"<p>{html.escape(INTRO)}{synthetic_note}</p>" + "".join(rows) + "<p class='legend'>"
        f"{html.escape(LEGEND.format(mark='Amber'))}{_reading_legend(reading)}</p>"
        f"{limits_html}<ol class='sources'>{quotes}</ol></section>"
    )


def _reading_legend(reading: dict) -> str:
    return "".join(
        f" † {html.escape(label(q))}: {html.escape(text)}" for q, text in reading.items()
    )


INTRO = (
    "The abstract's printed numbers (84 patients) re-read as posteriors under five prior "
    "sets (defined below), and as if each effect had been reported because it was "
    "significant."
)
LEGEND = (
    "Each cell: the posterior probability of the paper's direction and of at least a "
    "doubling (a protective ratio: below 1/2), then the median (95% interval). {mark}: the "
    "interval includes 1 (no effect). All thresholds with their reasons: exceedance.csv and "
    "the figure below; prior sensitivity (psense): the analyses table."
)


def print_answer(comparison: pd.DataFrame, console: Console, paper: Paper | None = None) -> None:
    """The same answer for the end of `make fit`: a table, a verdict per quantity, and the
    limitations."""
    sets = prior_sets(comparison)
    table = Table(title="The answer: how big each effect plausibly is")
    table.add_column("the paper claims")
    for name in sets:
        table.add_column(name, justify="right")
    found = findings(comparison)
    if any(f.selected is not None for f in found):
        table.add_column(f"if reported because significant ({DEFAULT_SET})", justify="right")
    for finding in found:
        shown = [*finding.cells, *([finding.selected] if finding.selected else [])]
        table.add_row(
            f"{label(finding.quantity)}\n{finding.claim}",
            *("\n".join([*c.lines, c.interval + (" *" if c.crosses_no_effect else "")])
              for c in shown),
        )  # fmt: skip
    console.print(table)
    console.print(f"{INTRO} {LEGEND.format(mark='*')}", highlight=False, markup=False)
    for finding in found:
        console.print(f"- {label(finding.quantity)}: {finding.sentence}", highlight=False,
                      markup=False)  # fmt: skip
    if paper is not None:
        console.print("What this study cannot show:", highlight=False, markup=False)
        for line in limitations(paper, comparison):
            console.print(f"- {line}", highlight=False, markup=False)
