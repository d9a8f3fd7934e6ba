"""The paper's own frequentist analysis, on any valid cohort (lifelines and statsmodels).

- Kaplan-Meier median HPFS with its 95% CI, overall and per covariate group;
- univariate and multivariable Cox PH for HPFS (HR, 95% CI, Wald P), with a
  proportional-hazards test (scaled Schoenfeld residuals, rank time transform);
- univariate and multivariable logistic regression for non-response (OR, 95% CI, Wald P),
  which reports separation and quasi-separation instead of printing absurd ORs;
- ORR with its exact (Clopper-Pearson) 95% CI, and the response counts.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import proportional_hazard_test
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from netlm_bayes.errors import InputError
from netlm_bayes.evidence.cohort import COVARIATES, RESPONSES, non_response

TIME, EVENT = "hpfs_months", "progressed"
# A logistic coefficient this large (|log OR| > 10, OR beyond 22,000) only arises when the
# likelihood has no finite maximum: report separation rather than the number.
SEPARATION_LOG_OR = 10.0


@dataclass
class FrequentistResult:
    n: int
    events: int
    km: pd.DataFrame
    cox: pd.DataFrame
    logistic: pd.DataFrame
    response: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "km": self.km,
            "cox": self.cox,
            "logistic": self.logistic,
            "response": self.response,
        }

    def write_csv(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, table in self.tables().items():
            path = folder / f"freq_{name}.csv"
            table.to_csv(path, index=False)
            written.append(path)
        return written

    def value(self, table: str, model: str | None, covariate: str, column: str) -> float:
        frame = self.tables()[table]
        rows = frame[frame["covariate"] == covariate]
        if model is not None:
            rows = rows[rows["model"] == model]
        return float(rows[column].iloc[0])


def analyse(cohort: pd.DataFrame, covariates: list[str] | None = None) -> FrequentistResult:
    covariates = list(covariates or COVARIATES)
    events = int(cohort[EVENT].sum())
    if events == 0:
        raise InputError("no patient progressed (progressed is 0 for all): HPFS cannot be analysed")
    notes: list[str] = []
    constant = [c for c in covariates if cohort[c].nunique() < 2]
    if constant:
        notes.append(f"constant covariate(s) {constant} left out of the regressions")
        covariates = [c for c in covariates if c not in constant]
    return FrequentistResult(
        n=len(cohort),
        events=events,
        km=km_medians(cohort, covariates),
        cox=cox_tables(cohort, covariates, notes),
        logistic=logistic_tables(cohort, covariates, notes),
        response=response_table(cohort),
        warnings=notes,
    )


def km_median(times: pd.Series, events: pd.Series) -> tuple[float, float, float]:
    """KM median with lifelines' 95% CI (log-log pointwise bands); inf when not reached."""
    fitter = KaplanMeierFitter().fit(times, events)
    median = float(fitter.median_survival_time_)
    ci = _median_ci(fitter)
    return median, ci[0], ci[1]


def _median_ci(fitter: KaplanMeierFitter) -> tuple[float, float]:
    from lifelines.utils import median_survival_times

    bounds = median_survival_times(fitter.confidence_interval_)
    return float(bounds.iloc[0, 0]), float(bounds.iloc[0, 1])


def km_medians(cohort: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    rows = [_km_row(cohort, "overall", "all")]
    for covariate in covariates:
        for level in (0, 1):
            group = cohort[cohort[covariate] == level]
            if len(group):
                rows.append(_km_row(group, covariate, str(level)))
    return pd.DataFrame(rows)


def _km_row(group: pd.DataFrame, covariate: str, level: str) -> dict:
    median, low, high = km_median(group[TIME], group[EVENT])
    return {
        "covariate": covariate, "level": level, "n": len(group), "events": int(group[EVENT].sum()),
        "median_months": median, "ci95_low": low, "ci95_high": high,
    }  # fmt: skip


def cox_tables(cohort: pd.DataFrame, covariates: list[str], notes: list[str]) -> pd.DataFrame:
    rows = []
    for covariate in covariates:
        rows += _cox_rows(cohort, [covariate], "univariate", notes)
    rows += _cox_rows(cohort, covariates, "multivariable", notes)
    return pd.DataFrame(rows)


def _cox_rows(cohort, covariates, model, notes) -> list[dict]:
    data = cohort[[TIME, EVENT, *covariates]]
    fitter = CoxPHFitter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitter.fit(data, duration_col=TIME, event_col=EVENT)
        ph = proportional_hazard_test(fitter, data, time_transform="rank")
    for warning in caught:
        if "converge" in str(warning.message).lower():
            notes.append(f"Cox {model} {covariates}: {str(warning.message).splitlines()[0]}")
    summary = fitter.summary
    ph_p = ph.summary["p"]
    return [
        {
            "model": model,
            "covariate": covariate,
            "hr": float(summary.loc[covariate, "exp(coef)"]),
            "ci95_low": float(summary.loc[covariate, "exp(coef) lower 95%"]),
            "ci95_high": float(summary.loc[covariate, "exp(coef) upper 95%"]),
            "log_hr": float(summary.loc[covariate, "coef"]),
            "se": float(summary.loc[covariate, "se(coef)"]),
            "p": float(summary.loc[covariate, "p"]),
            "ph_test_p": float(ph_p.loc[covariate]),
        }
        for covariate in covariates
    ]


def logistic_tables(cohort: pd.DataFrame, covariates: list[str], notes: list[str]) -> pd.DataFrame:
    outcome = non_response(cohort)
    if outcome.nunique() < 2:
        raise InputError(
            "every patient has the same response class: no logistic regression possible"
        )
    rows = []
    for covariate in covariates:
        rows += _logistic_rows(cohort, outcome, [covariate], "univariate", notes)
    rows += _logistic_rows(cohort, outcome, covariates, "multivariable", notes)
    return pd.DataFrame(rows)


def separation(cohort: pd.DataFrame, outcome: pd.Series, covariate: str) -> str | None:
    """Quasi-separation by a binary covariate: a level in which every patient has one outcome
    class. (Separation by a combination of covariates shows as a diverging coefficient.)"""
    table = pd.crosstab(cohort[covariate], outcome)
    table = table.reindex(index=[0, 1], columns=[0, 1], fill_value=0)
    empty = [(level, cls) for level in (0, 1) for cls in (0, 1) if table.loc[level, cls] == 0]
    if not empty:
        return None
    kind = "complete separation" if len(empty) == 2 else "quasi-separation"
    level, cls = empty[0]
    what = "responders" if cls == 0 else "non-responders"
    return f"{kind}: no {what} with {covariate} = {level}"


def _logistic_rows(cohort, outcome, covariates, model, notes) -> list[dict]:
    design = sm.add_constant(cohort[covariates].astype(float), has_constant="add")
    flags = {c: separation(cohort, outcome, c) for c in covariates}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = sm.Logit(outcome.astype(float), design).fit(disp=0, maxiter=200)
    diverged = any(
        issubclass(w.category, PerfectSeparationWarning | ConvergenceWarning) for w in caught
    )
    rows = []
    for covariate in covariates:
        beta, se = float(fit.params[covariate]), float(fit.bse[covariate])
        flag = flags[covariate]
        if flag is None and (abs(beta) > SEPARATION_LOG_OR or (diverged and not np.isfinite(se))):
            flag = "separation by a combination of covariates: the coefficient diverges"
        if flag is None and diverged and abs(beta) > SEPARATION_LOG_OR / 2:
            flag = "quasi-separation: the fit did not converge"
        if flag:
            notes.append(f"logistic {model}, {covariate}: {flag}; OR not estimable")
            rows.append(_row(model, covariate, np.nan, np.nan, np.nan, np.nan, np.nan, flag))
            continue
        low, high = np.exp(beta + np.array([-1, 1]) * stats.norm.isf(0.025) * se)
        rows.append(
            _row(model, covariate, np.exp(beta), low, high, beta, se, None, fit.pvalues[covariate])
        )
    return rows


def _row(model, covariate, odds_ratio, low, high, beta, se, flag, p=np.nan) -> dict:
    return {
        "model": model, "covariate": covariate, "or": float(odds_ratio), "ci95_low": float(low),
        "ci95_high": float(high), "log_or": float(beta), "se": float(se), "p": float(p),
        "separation": flag or "",
    }  # fmt: skip


def response_table(cohort: pd.DataFrame) -> pd.DataFrame:
    n = len(cohort)
    counts = cohort["response"].value_counts()
    rows = []
    for category in RESPONSES:
        k = int(counts.get(category, 0))
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
        rows.append(
            {
                "covariate": category,
                "count": k,
                "rate": k / n,
                "ci95_low": ci.low,
                "ci95_high": ci.high,
            }
        )
    k = int(cohort["response"].isin(["CR", "PR"]).sum())
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    rows.append(
        {"covariate": "ORR", "count": k, "rate": k / n, "ci95_low": ci.low, "ci95_high": ci.high}
    )
    return pd.DataFrame(rows)
