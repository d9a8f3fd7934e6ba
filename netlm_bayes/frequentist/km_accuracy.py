"""How closely a reconstructed cohort gives back the figure it was rebuilt from: its
Kaplan–Meier curve against the digitised points, the medians, the numbers at risk, and
(with two or more groups) the Cox hazard ratio between them (lifelines)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter

from netlm_bayes.evidence.km_figure import DigitisedCurve
from netlm_bayes.evidence.km_reconstruction import GroupReconstruction


@dataclass
class Accuracy:
    # One row per group: patients, events, KM against the digitised points, medians.
    curves: pd.DataFrame
    # One row per group after the first: univariable Cox HR against the first group.
    hazard_ratios: pd.DataFrame


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> KaplanMeierFitter:
    return KaplanMeierFitter().fit(np.asarray(time, float), np.asarray(event, int))


def median_time(fitted: KaplanMeierFitter) -> float:
    """The KM median, NaN when the curve never reaches 0.5."""
    median = float(fitted.median_survival_time_)
    return median if np.isfinite(median) else float("nan")


def accuracy(figure: dict[str, DigitisedCurve], groups: dict[str, GroupReconstruction]) -> Accuracy:
    rows = []
    for name, curve in figure.items():
        rebuilt = groups[name]
        fitted = kaplan_meier(rebuilt.time, rebuilt.event)
        gap = fitted.survival_function_at_times(curve.time).to_numpy() - curve.survival
        at_risk = rebuilt.at_risk_fit
        rows.append(
            {
                "group": name,
                "patients": len(rebuilt.time),
                "events_reconstructed": rebuilt.events,
                "events_reported": rebuilt.events_reported,
                "digitised_points": curve.raw_points,
                "km_max_abs_diff": float(np.max(np.abs(gap))),
                "km_rms_diff": float(np.sqrt(np.mean(gap**2))),
                "median_read_from_curve": curve.median(),
                "median_reconstructed": median_time(fitted),
                "risk_times_matched": int(
                    (at_risk["at_risk_printed"] == at_risk["at_risk_reconstructed"]).sum()
                ),
                "risk_times": len(at_risk),
            }
        )
    cohorts = {name: (g.time, g.event) for name, g in groups.items()}
    return Accuracy(pd.DataFrame(rows), hazard_ratios(cohorts))


def hazard_ratios(groups: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Univariable Cox HR of each group against the first, with its 95% CI and Wald P;
    `groups` maps each group to its (time, event) arrays."""
    names = list(groups)
    columns = ["group", "reference", "hr", "ci95_low", "ci95_high", "p"]
    if len(names) < 2:
        return pd.DataFrame(columns=columns)
    frame = pd.concat(
        [pd.DataFrame({"time": t, "event": e, "group": n}) for n, (t, e) in groups.items()]
    )
    indicators = {f"x{i}": (frame["group"] == n).astype(int) for i, n in enumerate(names) if i}
    table = pd.DataFrame({"time": frame["time"], "event": frame["event"], **indicators})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines' convergence chatter; the CI says enough
        summary = CoxPHFitter().fit(table, "time", "event").summary
    rows = [
        [names[i], names[0], *summary.loc[f"x{i}", ["exp(coef)", "exp(coef) lower 95%",
                                                     "exp(coef) upper 95%", "p"]]]
        for i in range(1, len(names))
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
