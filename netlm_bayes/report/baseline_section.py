"""The report's section on the HPFS baseline's shape: the Weibull beside the flexible
M-spline on the same cohort, by PSIS-LOO, with their curves over Kaplan-Meier."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from netlm_bayes import labels
from netlm_bayes.report.format import FAMILY_WORDS, fmt
from netlm_bayes.report.html_sections import cell, image

FOLDER = "baseline_shapes"
# Below this many SEs, an ELPD difference is within what LOO's noise gives.
CLEAR_DIFFERENCE_SE = 2.0


def baseline_section(run_dir: Path) -> list[str]:
    path = run_dir / FOLDER / "loo.csv"
    if not path.exists():
        return []
    table = pd.read_csv(path)
    ranked = table[table["rank"].notna()].sort_values("rank")
    origin = str(table["data_origin"].iloc[0])
    head = "".join(f"<th>{h}</th>" for h in ("baseline", "rank", "ELPD (LOO)", "SE",
                                             "difference from best", "SE of difference",
                                             "p_loo", "max Pareto k", "diagnostics"))  # fmt: skip
    rows = [
        "<tr>" + cell(FAMILY_WORDS.get(r.likelihood, r.likelihood), text=True)
        + "".join(cell(fmt(v)) for v in (r.rank, r.elpd_loo, r.se, r.elpd_diff, r.dse,
                                         r.p_loo, r.pareto_k_max))
        + cell("passed" if r.diagnostics_passed else "failed", text=True) + "</tr>"
        for r in ranked.itertuples()
    ]  # fmt: skip
    left_out = [f"{r.likelihood}: {r.left_out}" for r in table.itertuples()
                if isinstance(r.left_out, str) and r.left_out]  # fmt: skip
    parts = [
        "<h2>The HPFS baseline's shape: Weibull beside a flexible M-spline</h2>",
        f"<p>{html.escape(_reading(ranked, origin))}</p>",
        f"<table><tr>{head}</tr>{''.join(rows)}</table>",
        image(run_dir / FOLDER / "curves.png", "Cohort curve under each baseline shape"),
    ]
    if left_out:
        parts.append(f"<p>Left out of the ranking: {html.escape('; '.join(left_out))}.</p>")
    return parts


def _reading(ranked: pd.DataFrame, origin: str) -> str:
    """What the ranking says, in words, with the data's provenance."""
    tag = labels.tag(origin).strip()
    lead = (
        "The HPFS model fitted twice, with the Weibull baseline and with the baseline hazard "
        "left free (a cubic M-spline with a smoothing prior centred on a constant hazard, "
        f"proportional hazards as before), and ranked by PSIS-LOO{' ' + tag if tag else ''}. "
    )
    if len(ranked) < 2:
        return lead + "Fewer than two families ranked; see below."
    second = ranked.iloc[1]
    gap, se = abs(float(second["elpd_diff"])), float(second["dse"])
    best = FAMILY_WORDS.get(ranked.iloc[0]["likelihood"], ranked.iloc[0]["likelihood"])
    if gap < CLEAR_DIFFERENCE_SE * se:
        return lead + (
            f"The {best} ranks first by {gap:.1f} ELPD (SE {se:.1f}), less than "
            f"{CLEAR_DIFFERENCE_SE:g} SEs: the data do not choose between the shapes, so the "
            "Weibull's simpler shape costs nothing here."
        )
    return lead + (
        f"The {best} ranks first by {gap:.1f} ELPD (SE {se:.1f}): the data prefer its shape, "
        "and quantities that depend on it (medians, RMST, extrapolation) should be read from it."
    )
