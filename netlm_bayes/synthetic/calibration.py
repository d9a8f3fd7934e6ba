"""How close a cohort comes to the paper: the targets the abstract sets, and the check.

A calibrated cohort must give back, under the paper's own analysis
(`netlm_bayes.frequentist`): the PR/SD/PD counts exactly; a KM median HPFS that rounds to
the reported one; the multivariable Cox HR within 2% and the logistic ORs within 5% of
the reported values, each with a P that rounds to the printed P; and P >= 0.05 for every
covariate the paper did not report as significant in that model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from netlm_bayes.errors import InputError
from netlm_bayes.evidence.cohort import COVARIATES
from netlm_bayes.evidence.paper import Paper, p_rounding_interval
from netlm_bayes.frequentist import analysis as frequentist_analysis

HR_TOLERANCE = 0.02
OR_TOLERANCE = 0.05
MEDIAN_DECIMALS = 1


@dataclass(frozen=True)
class Targets:
    """What the paper reports, as the search needs it."""

    counts: dict[str, int]
    median_months: float
    cox_covariate: str
    cox_log_hr: float
    cox_p: tuple[float, float]
    logistic: dict[str, tuple[float, tuple[float, float]]]  # covariate -> (log OR, p interval)

    @classmethod
    def from_paper(cls, paper: Paper) -> Targets:
        hr = [e for e in paper.effects if e.measure == "HR"]
        if len(hr) != 1:
            raise InputError("the pseudo-cohort search needs exactly one reported hazard ratio")
        logistic = {
            e.covariate: (math.log(e.estimate), p_rounding_interval(e.p_printed))
            for e in paper.effects
            if e.measure == "OR"
        }
        return cls(
            counts=dict(paper.response.counts),
            median_months=paper.hpfs.median_months,
            cox_covariate=hr[0].covariate,
            cox_log_hr=math.log(hr[0].estimate),
            cox_p=p_rounding_interval(hr[0].p_printed),
            logistic=logistic,
        )


def check_targets(cohort: pd.DataFrame, paper: Paper) -> dict:
    """Run the paper's analysis on the cohort and compare every number with the paper."""
    result = frequentist_analysis.analyse(cohort)
    targets = Targets.from_paper(paper)
    checks = {}
    counts = result.response.set_index("covariate")["count"]
    checks["response_counts"] = {
        "achieved": {c: int(counts[c]) for c in targets.counts},
        "target": targets.counts,
        "met": all(int(counts[c]) == k for c, k in targets.counts.items()),
    }
    median = result.value("km", None, "overall", "median_months")
    checks["km_median_months"] = {
        "achieved": round(median, 3),
        "target": targets.median_months,
        "met": bool(round(median, MEDIAN_DECIMALS) == targets.median_months),
    }
    for effect in paper.effects:
        table, ratio = ("cox", "hr") if effect.measure == "HR" else ("logistic", "or")
        value = result.value(table, "multivariable", effect.covariate, ratio)
        p = result.value(table, "multivariable", effect.covariate, "p")
        tolerance = HR_TOLERANCE if effect.measure == "HR" else OR_TOLERANCE
        low, high = p_rounding_interval(effect.p_printed)
        checks[effect.name] = {
            "achieved": round(value, 4),
            "target": effect.estimate,
            "relative_error": round(value / effect.estimate - 1, 4),
            "p": round(p, 5),
            "p_target": effect.p_printed,
            "met": bool(abs(value / effect.estimate - 1) <= tolerance and low <= p < high),
        }
    unreported = {
        "cox": [c for c in COVARIATES if c != targets.cox_covariate],
        "logistic": [c for c in COVARIATES if c not in targets.logistic],
    }
    for table, covariates in unreported.items():
        ratio = "hr" if table == "cox" else "or"
        for covariate in covariates:
            p = result.value(table, "multivariable", covariate, "p")
            checks[f"{table}_{covariate}_not_significant"] = {
                "achieved": round(result.value(table, "multivariable", covariate, ratio), 4),
                "p": round(p, 4),
                "target": "P >= 0.05",
                "met": bool(p >= 0.05),
            }
    checks["events"] = {"achieved": result.events, "target": "not reported", "met": True}
    checks["all_met"] = bool(all(v["met"] for v in checks.values() if isinstance(v, dict)))
    return checks
