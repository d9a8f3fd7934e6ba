"""Posterior summaries set beside the paper's own numbers.

Intervals are 95% (ArviZ 1.x defaults to 89%; the paper's CIs are 95%): the equal-tailed
interval and the HDI. `prob_gt_1` is P(ratio > 1), given only for hazard and odds ratios.

For ratios the HDI is found on the log scale and exponentiated. An HDI is not invariant to
transformation: on the ratio scale the right-skewed posterior drags it towards 0 (HR 4.2,
HDI 0.7 to 11 while P(HR > 1) = 0.99), whereas the log scale, on which the model and the
paper's Wald CIs live, gives an interval that agrees with the ETI and with P(ratio > 1).
"""

from __future__ import annotations

import arviz_stats
import numpy as np
import pandas as pd
import xarray as xr

from netlm_bayes.evidence.paper import PaperReference

CI_PROB = 0.95
SUMMARY_COLUMNS = [
    "median", "eti95_low", "eti95_high", "hdi95_low", "hdi95_high", "prob_gt_1",
]  # fmt: skip
COMPARISON_COLUMNS = [
    "quantity", "prior_set", "paper_estimate", "paper_ci95_low", "paper_ci95_high",
    *SUMMARY_COLUMNS, "paper_ci_method", "source",
]  # fmt: skip


def summarise(trace: xr.DataTree, variable: str, dim: str, ratios: list[str]) -> pd.DataFrame:
    """One row per coordinate of `variable`: median, 95% ETI and HDI, P(> 1) for ratios."""
    return summarise_draws(trace["posterior"][variable], dim, ratios)


def summarise_draws(draws: xr.DataArray, dim: str, ratios: list[str]) -> pd.DataFrame:
    """`summarise` for draws shaped (chain, draw, dim)."""
    eti = arviz_stats.eti(draws, prob=CI_PROB)
    hdi = arviz_stats.hdi(draws, prob=CI_PROB)
    if ratios:
        log_hdi = np.exp(arviz_stats.hdi(np.log(draws.sel({dim: ratios})), prob=CI_PROB))
    stacked = draws.stack(sample=("chain", "draw"))
    rows = []
    for name in draws[dim].values.tolist():
        values = stacked.sel({dim: name}).values
        name_hdi = (log_hdi if name in ratios else hdi).sel({dim: name})
        rows.append(
            {
                "quantity": name,
                "median": float(np.median(values)),
                "eti95_low": float(eti.sel({dim: name}).isel(ci_bound=0)),
                "eti95_high": float(eti.sel({dim: name}).isel(ci_bound=1)),
                "hdi95_low": float(name_hdi.isel(ci_bound=0)),
                "hdi95_high": float(name_hdi.isel(ci_bound=1)),
                "prob_gt_1": float(np.mean(values > 1.0)) if name in ratios else np.nan,
            }
        )
    return pd.DataFrame(rows)


def comparison_table(
    summaries: dict[str, pd.DataFrame], references: dict[str, PaperReference]
) -> pd.DataFrame:
    """Rows per quantity, then per prior set, with the paper's estimate and CI alongside."""
    frames = []
    for prior_set, summary in summaries.items():
        frame = summary.copy()
        frame.insert(1, "prior_set", prior_set)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    paper = pd.DataFrame(
        [
            {
                "quantity": ref.quantity,
                "paper_estimate": ref.estimate,
                "paper_ci95_low": ref.ci95_low,
                "paper_ci95_high": ref.ci95_high,
                "paper_ci_method": ref.ci_method,
                "source": ref.source,
            }
            for ref in references.values()
        ]
    )
    table = table.merge(paper, on="quantity", how="left", validate="many_to_one")
    order = {name: i for i, name in enumerate(summaries[next(iter(summaries))]["quantity"])}
    sets = {name: i for i, name in enumerate(summaries)}
    table = table.sort_values(
        ["quantity", "prior_set"],
        key=lambda col: col.map(order if col.name == "quantity" else sets),
    )
    return table[COMPARISON_COLUMNS].reset_index(drop=True)
