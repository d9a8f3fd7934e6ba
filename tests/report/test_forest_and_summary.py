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


def comparison() -> pd.DataFrame:
    rows = []
    for prior, (median, low, high, p_gt_1, verdict) in {
        "weakly-informative": (3.9, 1.22, 13.2, 0.99, "likelihood-dominated"),
        "skeptical": (2.1, 0.90, 5.35, 0.96, "prior-sensitive"),
    }.items():
        rows.append(("hr_htb_gt25", prior, median, low, high, p_gt_1, 4.188, 1.253, 14.0, verdict))
    rows.append(("or_border_clear", "weakly-informative", 0.10, 0.016, 0.66, 0.01, 0.069, 0.009,
                 0.53, "prior-sensitive"))  # fmt: skip
    rows.append(("orr", "weakly-informative", 0.83, 0.74, 0.90, float("nan"), 0.845, 0.75, 0.915,
                 "likelihood-dominated"))  # fmt: skip
    columns = ["quantity", "prior", "median", "eti95_low", "eti95_high", "prob_gt_1",
               "paper_estimate", "paper_ci95_low", "paper_ci95_high", "psense_verdict"]  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    table["psense_prior"] = table["psense_verdict"].map({"prior-sensitive": 0.24}).fillna(0.01)
    return table.assign(analysis=summary.REPORTED, paper_source="abstract: a sentence")


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
    assert htb.cells[1].headline == "P(HR > 1) 0.96"
    assert "Crosses 1 only under skeptical." in htb.sentence
    assert "Prior-sensitive (psense) under skeptical 0.24;" in htb.sentence
    border = found["or_border_clear"].cells[0]
    assert border.headline == "P(OR < 1) 0.99"  # the paper's direction: OR below 1
    orr = found["orr"]
    assert orr.cells[0].headline == "83.0%" and "crosses" not in orr.sentence
    assert "data dominate" in orr.sentence


@pytest.mark.parametrize("synthetic", [True, False])
def test_the_answer_box_says_synthetic_only_when_it_is(synthetic):
    box = summary.html_box(comparison(), synthetic)
    assert box.startswith("<section id='answer'")
    assert ("SYNTHETIC" in box) is synthetic
    assert "abstract: a sentence" in box and "class='crosses'" in box


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
    assert "the paper 4.19 (95% CI 1.25 to 14)" in page
