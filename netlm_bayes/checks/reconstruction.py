"""`reconstruct` checked as Guyot et al. checked theirs: on real data we have, draw the KM
figure a paper would print, digitise it as a user would (emulated), rebuild the patients,
and compare what they give with what the original data give."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from netlm_bayes.evidence import km_figure, km_reconstruction
from netlm_bayes.frequentist import km_accuracy
from netlm_bayes.synthetic import digitisation

# Beyond this, one patient moves the KM by more than the tolerance we test against (3%),
# and published figures are often cut there; the whole-curve difference is reported too.
MIN_AT_RISK = 10
# A click's time error in the emulation is up to 0.3% (off the corner) plus 0.5% (noise) of
# the axis: a step displaced by less than this is the digitiser's error, not the method's.
TIME_TOLERANCE = 0.01


@dataclass(frozen=True)
class Dataset:
    name: str
    frame: pd.DataFrame
    time: str
    event: str
    group: str
    risk_every: float
    unit: str


def validate(
    data: Dataset, points: int | None = None, seed: int = 0, with_events: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per group: events, medians and KM differences, original beside reconstructed; and the
    Cox HR of each group against the first, original beside reconstructed."""
    frame = data.frame[[data.time, data.event, data.group]].dropna()
    frame = frame.assign(**{data.group: frame[data.group].astype(str)})
    curve, at_risk = digitisation.digitise_groups(
        frame, data.time, data.event, data.group, data.risk_every, points, seed
    )
    figure = km_figure.figure_from_tables(curve, at_risk, data.group)
    originals = {name: frame[frame[data.group] == name] for name in figure}
    events = [int(rows[data.event].sum()) for rows in originals.values()] if with_events else None
    _, groups = km_reconstruction.reconstruct(figure, events, data.group)
    rows = [_group_row(data, name, originals[name], groups[name]) for name in figure]
    original_groups = {
        name: (cohort[data.time].to_numpy(float), cohort[data.event].to_numpy(int))
        for name, cohort in originals.items()
    }
    original_hr = km_accuracy.hazard_ratios(original_groups)
    rebuilt_hr = km_accuracy.hazard_ratios({n: (g.time, g.event) for n, g in groups.items()})
    hr = original_hr.merge(rebuilt_hr, on=["group", "reference"], suffixes=("", "_reconstructed"))
    return pd.DataFrame(rows).assign(dataset=data.name), hr.assign(dataset=data.name)


def sweep(
    datasets: list[Dataset], seeds, points: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`validate` over many emulated digitisations, with and without the event totals."""
    groups, ratios = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines' convergence chatter on tiny groups
        for data in datasets:
            for seed in seeds:
                for given in (False, True):
                    g, h = validate(data, points, seed, with_events=given)
                    groups.append(g.assign(seed=seed, events_given=given))
                    ratios.append(h.assign(seed=seed, events_given=given))
    return pd.concat(groups, ignore_index=True), pd.concat(ratios, ignore_index=True)


def worst_cases(groups: pd.DataFrame, ratios: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, the worst of every accuracy measure over the digitisations (events not
    given), and how many digitisations met each target."""
    groups, ratios = groups[~groups["events_given"]], ratios[~ratios["events_given"]]
    groups = groups.assign(
        median_error=(groups["median_reconstructed"] / groups["median"] - 1).abs(),
        events_error=(groups["events_reconstructed"] / groups["events"] - 1).abs(),
    )
    ratios = ratios.assign(
        hr_error=(ratios["hr_reconstructed"] / ratios["hr"] - 1).abs(),
        ci_error=np.maximum(
            (ratios["ci95_low_reconstructed"] / ratios["ci95_low"] - 1).abs(),
            (ratios["ci95_high_reconstructed"] / ratios["ci95_high"] - 1).abs(),
        ),
    )
    by_group = groups.groupby("dataset", sort=False).agg(
        digitisations=("seed", "nunique"),
        km_within_tolerance=("km_max_diff_within_time_tolerance", "max"),
        km_point_for_point=(f"km_max_abs_diff_at_risk_{MIN_AT_RISK}+", "max"),
        median_error=("median_error", "max"),
        medians_within_5pct=("median_error", _share_within_5pct),
        events_error=("events_error", "max"),
    )
    by_ratio = ratios.groupby("dataset", sort=False).agg(
        hr_error=("hr_error", "max"), ci_error=("ci_error", "max")
    )
    return by_group.join(by_ratio).reset_index()


def _group_row(data: Dataset, name: str, original: pd.DataFrame, rebuilt) -> dict:
    time, event = original[data.time].to_numpy(float), original[data.event].to_numpy(int)
    truth = km_accuracy.kaplan_meier(time, event)
    copy = km_accuracy.kaplan_meier(rebuilt.time, rebuilt.event)
    grid = np.linspace(0, time.max(), 2000)
    gap = np.abs(
        truth.survival_function_at_times(grid).to_numpy()
        - copy.survival_function_at_times(grid).to_numpy()
    )
    enough = np.array([(time >= t).sum() >= MIN_AT_RISK for t in grid])
    shift = TIME_TOLERANCE * time.max()
    below = truth.survival_function_at_times(grid + shift).to_numpy()
    above = truth.survival_function_at_times(np.clip(grid - shift, 0, None)).to_numpy()
    rebuilt_at = copy.survival_function_at_times(grid).to_numpy()
    outside = np.maximum.reduce([below - rebuilt_at, rebuilt_at - above, np.zeros_like(grid)])
    return {
        "group": name,
        "unit": data.unit,
        "patients": len(time),
        "events": int(event.sum()),
        "events_reconstructed": rebuilt.events,
        "median": km_accuracy.median_time(truth),
        "median_reconstructed": km_accuracy.median_time(copy),
        f"km_max_abs_diff_at_risk_{MIN_AT_RISK}+": float(gap[enough].max()),
        "km_max_abs_diff_whole_curve": float(gap.max()),
        "km_max_diff_within_time_tolerance": float(outside[enough].max()),
    }


def public_datasets() -> list[Dataset]:
    """Real survival data shipped with lifelines, each split by a two-level group."""
    from lifelines import datasets

    return [
        Dataset("gbsg2 by hormone therapy", datasets.load_gbsg2(), "time", "cens", "horTh",
                500, "days"),
        Dataset("lung by sex", datasets.load_lung(), "time", "status", "sex", 200, "days"),
        Dataset("rossi by financial aid", datasets.load_rossi(), "week", "arrest", "fin", 10,
                "weeks"),
        Dataset("leukemia by treatment", datasets.load_leukemia(), "t", "status", "Rx", 5,
                "weeks"),
    ]  # fmt: skip


def _share_within_5pct(errors: pd.Series) -> str:
    reached = errors.dropna()
    if reached.empty:
        return "median not reached"
    return f"{(reached <= 0.05).sum()} of {len(reached)}"
