"""An emulated digitisation of a Kaplan–Meier figure, made from patient data we do have.

This is how `reconstruct` is validated (as Guyot et al. validated theirs): draw a real
dataset's KM curve and risk table as a paper would print them, "click" points along the
curve as a digitiser user does (off the step corners, with small errors in both axes),
rebuild the patients, and compare with the original data. The CSVs it writes are labelled
as emulated; they are never a paper's figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from netlm_bayes.frequentist.km_accuracy import kaplan_meier

EMULATED = "emulated digitisation of a KM curve computed from the original data"


def digitise(
    time: np.ndarray,
    event: np.ndarray,
    risk_times: np.ndarray,
    points: int = 100,
    survival_error: float = 0.005,
    time_error: float = 0.005,
    rng: np.random.Generator | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clicked points (`time, survival`) along one group's KM curve, unsorted and noisy, and
    its risk table (`time, at_risk`) at `risk_times`."""
    rng = rng or np.random.default_rng(0)
    time = np.asarray(time, float)
    curve = kaplan_meier(time, event).survival_function_
    steps, survival = curve.index.to_numpy(float), curve.iloc[:, 0].to_numpy()
    end = time.max()
    clicked = np.sort(np.append(_clicks(steps, survival, end, points - 1, rng), end))
    on_curve = survival[np.searchsorted(steps, clicked, side="right") - 1]
    noisy_survival = on_curve + rng.uniform(-survival_error, survival_error, points)
    noisy_time = clicked * (1 + rng.uniform(-time_error, time_error, points))
    shuffled = rng.permutation(points)
    curve = pd.DataFrame(
        {"time": noisy_time[shuffled].round(4), "survival": noisy_survival[shuffled].round(4)}
    )
    risk_times = np.asarray(risk_times, float)
    at_risk = pd.DataFrame({"time": risk_times, "at_risk": [(time >= t).sum() for t in risk_times]})
    return curve, at_risk


def _clicks(steps, survival, end, count, rng) -> np.ndarray:
    """Where a user clicks: evenly along the drawn curve's path (time and survival each
    scaled to the plot's width and height), so steep stretches get more points, as they do
    on screen. A click on a drop lands a little after its lower corner."""
    flat = np.diff(np.append(steps, end)) / end  # the horizontal runs, then the drops
    drop = np.append(-np.diff(survival), 0.0)
    lengths = np.column_stack([flat, drop]).ravel()
    along = np.cumsum(lengths)
    targets = (np.arange(count) + rng.uniform(0, 1, count)) / count * along[-1]
    segment = np.minimum(np.searchsorted(along, targets, side="right"), len(lengths) - 1)
    step, on_drop = segment // 2, segment % 2 == 1
    into = (targets - (along[segment] - lengths[segment])) * end
    after_corner = steps[np.minimum(step + 1, len(steps) - 1)] + rng.uniform(0, 0.003 * end, count)
    clicked = np.where(on_drop, after_corner, steps[step] + into)
    return np.clip(clicked, 0, end)


def digitise_groups(
    frame: pd.DataFrame,
    time_col: str,
    event_col: str,
    group_col: str,
    risk_every: float,
    points: int | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`digitise` for every group of a dataset, as two CSV-ready tables with a group column;
    the risk table every `risk_every` time units, as far as the shortest group's follow-up.
    `points` per curve defaults to its number of events, within 50 to 150: a user clicks
    more points on a curve with more steps."""
    rng = np.random.default_rng(seed)
    last = frame.groupby(group_col)[time_col].max().min()
    risk_times = np.arange(0, last, risk_every)
    curves, tables = [], []
    for group, rows in frame.groupby(group_col, sort=False):
        clicks = points or int(np.clip(rows[event_col].sum(), 50, 150))
        curve, table = digitise(
            rows[time_col].to_numpy(), rows[event_col].to_numpy(), risk_times, clicks, rng=rng
        )
        curves.append(curve.assign(**{group_col: group}))
        tables.append(table.assign(**{group_col: group}))
    return pd.concat(curves, ignore_index=True), pd.concat(tables, ignore_index=True)
