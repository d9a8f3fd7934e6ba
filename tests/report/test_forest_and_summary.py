"""The forest plot reads at page width, and the answer box says what the numbers say.

Both are checked on a comparison table shaped as `make fit` writes it, with values chosen
so that each rule is exercised (an interval that crosses 1, a ratio below 1, a rate).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from PIL import Image

from netlm_bayes.report import forest as forestplot
from netlm_bayes.report import html as htmlreport
from netlm_bayes.report import summary

MIN_FONT_PX = 11


def comparison(selected: bool = False) -> pd.DataFrame:
    """Rows as make fit writes them: HTB under two prior sets (one interval crossing 1),
    a protective OR, a rate; with `selected`, HTB's selection-adjusted reading too."""
    rows = []
    for prior, (median, low, high, p_gt_1, beyond_2, verdict) in {
        "weakly-informative": (3.9, 1.22, 13.2, 0.99, 0.86, "likelihood-dominated"),
        "skeptical": (2.1, 0.90, 5.35, 0.96, 0.57, "prior-sensitive"),
    }.items():
        rows.append(("hr_htb_gt25", prior, median, low, high, p_gt_1, p_gt_1, beyond_2, 4.188,
                     1.253, 14.0, verdict, summary.REPORTED))  # fmt: skip
    rows.append(("or_border_clear", "weakly-informative", 0.10, 0.016, 0.66, 0.01, 0.99, 0.95,
                 0.069, 0.009, 0.53, "prior-sensitive", summary.REPORTED))  # fmt: skip
    rows.append(("orr", "weakly-informative", 0.83, 0.74, 0.90, float("nan"), float("nan"),
                 float("nan"), 0.845, 0.75, 0.915, "likelihood-dominated",
                 summary.REPORTED))  # fmt: skip
    if selected:
        rows.append(("hr_htb_gt25", "weakly-informative", 2.2, 0.85, 9.4, 0.93, 0.93, 0.55,
                     4.188, 1.253, 14.0, "likelihood-dominated", summary.SELECTED))  # fmt: skip
    columns = ["quantity", "prior", "median", "eti95_low", "eti95_high", "prob_gt_1",
               "prob_beyond_1", "prob_beyond_2", "paper_estimate", "paper_ci95_low",
               "paper_ci95_high", "psense_verdict", "analysis"]  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    table["psense_prior"] = table["psense_verdict"].map({"prior-sensitive": 0.24}).fillna(0.01)
    return table.assign(paper_source="abstract: a sentence")


def test_the_forest_plot_is_drawn_at_the_pages_width_with_readable_fonts(tmp_path, monkeypatch):
    table = comparison().assign(row_label=lambda t: t["prior"], colour="tab:blue")
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)  # keep the figure to read its texts
    forestplot.forest(table, tmp_path / "forest.png", "a title")
    assert Image.open(tmp_path / "forest.png").size[0] == htmlreport.CONTENT_WIDTH_PX
    texts = [t for t in figures[0].findobj(plt.Text) if t.get_visible() and t.get_text()]
    smallest = min(t.get_fontsize() for t in texts) * forestplot.DPI / 72
    assert smallest >= MIN_FONT_PX
    axis = figures[0].axes[0]
    assert axis.get_xlabel() == "hazard ratio (log scale)"
    assert [t.get_text() for t in axis.get_xticklabels()] == ["1", "3", "10"]
    assert figures[0].axes[1].get_xlabel() == "odds ratio of non-response (log scale)"


def test_the_answer_follows_the_direction_and_marks_an_interval_crossing_1():
    found = {f.quantity: f for f in summary.findings(comparison())}
    htb = found["hr_htb_gt25"]
    assert [c.crosses_no_effect for c in htb.cells] == [False, True]
    assert htb.cells[1].lines == ["HR > 1: 0.96", "HR > 2: 0.57"]
    assert htb.cells[1].interval == "2.1 (0.9 to 5.35)"
    assert htb.claim == "HR 4.19 (implied 95% CI 1.25 to 14, from P)"
    assert htb.sentence.startswith(
        "Very probably faster hepatic progression with HTB > 25% (P 0.99)"
    )
    assert "a sceptic's best guess is 2.1-fold, P(HR > 2) 0.57" in htb.sentence
    border = found["or_border_clear"]
    assert border.cells[0].lines == ["OR < 1: 0.99", "OR < 1/2: 0.95"]  # the paper's direction
    assert "10-fold lower" in border.sentence
    orr = found["orr"]
    assert orr.cells[0].lines == ["83.0%"] and "exact 95% CI" in orr.claim


def test_the_selection_adjusted_reading_sits_beside_the_plain_one():
    htb = {f.quantity: f for f in summary.findings(comparison(selected=True))}["hr_htb_gt25"]
    assert htb.selected.lines == ["HR > 1: 0.93", "HR > 2: 0.55"]
    assert (
        "If reported because significant, the default's best guess falls from 3.9-fold to "
        "2.2-fold." in htb.sentence
    )
    box = summary.html_box(comparison(selected=True), False)
    assert "if reported because significant" in box


def test_probabilities_never_print_as_certainty():
    from netlm_bayes.report.format import probability

    assert [probability(p) for p in (0.997, 0.99, 0.5, 0.004)] == ["> 0.99", "0.99", "0.50",
                                                                   "< 0.01"]  # fmt: skip


def test_the_limitations_come_from_the_paper_file():
    from netlm_bayes.evidence.paper import load_paper

    lines = summary.limitations(load_paper(), comparison())
    text = " ".join(lines)
    for words in ("retrospective, single institution", "84 patients", "P 0.003 to 0.02",
                  "13 non-responders (9 SD, 4 PD)", "progressions behind the HR is not reported",
                  "no confidence intervals", "11.1 months"):  # fmt: skip
        assert words in text, words
    assert 4 <= len(lines) <= 5


@pytest.mark.parametrize("synthetic", [True, False])
def test_the_answer_box_says_synthetic_only_when_it_is(synthetic):
    box = summary.html_box(comparison(), synthetic)
    assert box.startswith("<section id='answer'")
    assert ("SYNTHETIC" in box) is synthetic
    assert "abstract: a sentence" in box and "class='crosses'" in box
    assert "#e6e6e6" not in box and "1.00" not in box


def test_the_analyses_table_carries_the_htb_reading_and_each_verdict():
    from netlm_bayes.evidence import paper as evidence

    table = comparison().assign(
        hdi95_low=float("nan"), hdi95_high=float("nan"), width_vs_paper_ci=1.0,
        freq_estimate=float("nan"), freq_ci95_low=float("nan"), freq_ci95_high=float("nan"),
        data_origin="the paper's printed numbers",
    )  # fmt: skip
    page = htmlreport._comparison_html(table, evidence.load_paper())
    assert page.count("HTB direction: our reading.") == 1
    assert "prior-sensitive (0.24)" in page and "likelihood-dominated (0.01)" in page
    assert "the paper 4.19 (implied 95% CI, from P: 1.25 to 14)" in page


def test_the_exceedance_figure_speaks_in_clinical_words(tmp_path, monkeypatch):
    """One panel per ratio, at the page's width, no internal names (no `hr_htb_gt25`, no
    `htb_gt25`), text of 8 pt or more, thresholds marked in the claimed direction."""
    import re

    import numpy as np

    from netlm_bayes.fitting import magnitude
    from netlm_bayes.report import magnitude_plots

    rng = np.random.default_rng(0)
    estimates = {"hr_htb_gt25": 4.188, "or_border_clear": 0.069}
    curves = {
        reading: {prior: {q: np.exp(rng.normal(np.log(e), 0.6, 2000)) for q, e in estimates.items()}
                  for prior in ("minimal", "skeptical")}
        for reading in (summary.REPORTED, summary.SELECTED)
    }  # fmt: skip
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    path = tmp_path / "exceedance.png"
    magnitude_plots.exceedance_figure(curves, estimates, magnitude.load_thresholds(), path)
    assert Image.open(path).size[0] == htmlreport.CONTENT_WIDTH_PX
    texts = [t.get_text() for t in figures[0].findobj(plt.Text) if t.get_visible() and t.get_text()]
    assert not [t for t in texts if re.search(r"[a-z0-9]_[a-z0-9]", t)], texts
    sizes = [t.get_fontsize() for t in figures[0].findobj(plt.Text) if t.get_text()]
    assert min(sizes) >= 8
    assert "if reported because significant" in texts
    assert "1/2" in texts and "2" in texts  # the protective OR's thresholds read as 1/t


def test_huge_and_tiny_ratios_print_in_scientific_notation_never_as_57_digits():
    from netlm_bayes.report.format import fmt

    assert fmt(2.58e30) == "2.58e+30" and fmt(8.15e-31) == "8.15e-31"
    assert fmt(12345.6) == "12346" and fmt(3.456) == "3.46"  # days and ratios as before
