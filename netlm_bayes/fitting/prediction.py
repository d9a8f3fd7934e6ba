"""Posterior predictions for new patients: survival at given times, median survival, and
response probabilities. Each row of the new table is coded as the fitted cohort was
(`coding.new_rows`), and each prediction is the posterior median with a 95% equal-tailed
interval over the draws: the uncertainty of the model's parameters, not of one patient's
outcome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from netlm_bayes.errors import InputError
from netlm_bayes.evidence import coding
from netlm_bayes.families import curves
from netlm_bayes.fitting.patient_fit import PatientFit

LEVELS = (0.025, 0.5, 0.975)


def new_rows(fitted: PatientFit, table: pd.DataFrame) -> np.ndarray:
    """The new rows' covariates as the fitted model codes them."""
    return coding.new_rows(fitted.data.coding, table)


def survival(fitted: PatientFit, table: pd.DataFrame, times) -> pd.DataFrame:
    """S(t) per new row and time, in the fitted data's time unit."""
    _require(fitted, "survival", "predict_survival")
    times = np.atleast_1d(np.asarray(times, dtype=float))
    if times.size == 0 or not np.all(np.isfinite(times)) or (times < 0).any():
        raise InputError(f"times: give one or more finite times >= 0; got {times.tolist()}")
    X, draws, t_ref = _survival_inputs(fitted, table)
    frames = []
    for label, row in zip(table.index, X, strict=True):
        curve = curves.survival_draws(fitted.fit.kind, draws, row[None], times, t_ref)
        low, median, high = np.quantile(curve, LEVELS, axis=0)
        frames.append(pd.DataFrame({
            "row": label, "time": times, "survival": median, "eti95_low": low,
            "eti95_high": high,
        }))  # fmt: skip
    return _marked(fitted, pd.concat(frames, ignore_index=True), with_unit=True)


def median_survival(fitted: PatientFit, table: pd.DataFrame) -> pd.DataFrame:
    """Median survival per new row (inf where the curve never reaches 0.5)."""
    _require(fitted, "survival", "predict_median")
    X, draws, t_ref = _survival_inputs(fitted, table)
    rows = []
    for label, row in zip(table.index, X, strict=True):
        values = curves.median_time(fitted.fit.kind, draws, row[None], [1.0], t_ref)
        low, median, high = np.quantile(values, LEVELS)
        rows.append({"row": label, "median_survival": median, "eti95_low": low,
                     "eti95_high": high})  # fmt: skip
    return _marked(fitted, pd.DataFrame(rows), with_unit=True)


def probabilities(fitted: PatientFit, table: pd.DataFrame) -> pd.DataFrame:
    """P(outcome) per new row (logistic), or P(each category) per new row (ordinal)."""
    if fitted.spec.family not in ("logistic", "ordinal"):
        raise InputError(
            f"predict_proba needs a response model; this one is {fitted.spec.family} "
            "(predict_survival and predict_median for survival models)"
        )
    X = new_rows(fitted, table)
    posterior = fitted.fit.trace["posterior"].to_dataset()
    beta = _stacked(posterior["beta"].transpose("chain", "draw", "covariate").values)
    eta = beta @ X.T  # (S, rows)
    if fitted.spec.family == "logistic":
        alpha = posterior["alpha"].values.reshape(-1)
        by_category = {_outcome_label(fitted): expit(alpha[:, None] + eta)}
    else:
        cuts = _stacked(posterior["cutpoints"].transpose("chain", "draw", "cutpoint").values)
        below = expit(cuts[:, None, :] - eta[:, :, None])  # (S, rows, K-1)
        ones = np.ones((*below.shape[:2], 1))
        probs = np.diff(np.concatenate([0 * ones, below, ones], axis=2), axis=2)
        by_category = {c: probs[:, :, k] for k, c in enumerate(fitted.spec.categories)}
    rows = []
    for category, draws in by_category.items():
        low, median, high = np.quantile(draws, LEVELS, axis=0)
        for i, label in enumerate(table.index):
            rows.append({"row": label, "outcome": category, "probability": median[i],
                         "eti95_low": low[i], "eti95_high": high[i]})  # fmt: skip
    return _marked(fitted, pd.DataFrame(rows), with_unit=False)


def _survival_inputs(fitted: PatientFit, table: pd.DataFrame):
    X = new_rows(fitted, table)
    draws = curves.parameter_draws(fitted.fit.trace["posterior"].to_dataset())
    return X, draws, fitted.data.reference_time


def _stacked(values: np.ndarray) -> np.ndarray:
    return values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])


def _outcome_label(fitted: PatientFit) -> str:
    events = getattr(fitted.spec, "outcome_events", None)
    return "/".join(events) if events else f"{fitted.spec.outcome} = 1"


def _require(fitted: PatientFit, family: str, what: str) -> None:
    if fitted.spec.family != family:
        raise InputError(
            f"{what} needs a {family} model; this one is {fitted.spec.family} "
            "(predict_proba for response models)"
        )


def _marked(fitted: PatientFit, table: pd.DataFrame, with_unit: bool) -> pd.DataFrame:
    """Every prediction says where its data came from, and a time says its unit."""
    if with_unit:
        table = table.assign(time_unit=fitted.spec.time_unit)
    return table.assign(data_origin=fitted.data.origin)
