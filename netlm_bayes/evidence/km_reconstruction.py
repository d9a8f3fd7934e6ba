"""Individual patient data rebuilt from a digitised Kaplan–Meier curve and its risk table.

The method is Guyot, Ades, Ouwens and Welton (2012), "Enhanced secondary analysis of
survival data: reconstructing the data from published Kaplan-Meier survival curves", BMC
Medical Research Methodology 12:9, written here from the paper:

- Between two risk-table times the number censored is first guessed from the curve's drop
  and the two numbers at risk, and spread evenly over the interval.
- The number of events at each digitised point then follows from the drop in the curve
  relative to the reconstructed KM at the last event, given those still at risk.
- The guess is corrected until the reconstructed number at risk at the next table time
  equals the printed one.
- After the last table time, censoring goes at the average rate of the earlier intervals,
  or, when the paper reports the total number of events, at whatever rate gives that total.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from netlm_bayes import labels
from netlm_bayes.evidence.km_figure import ONE_GROUP, DigitisedCurve

MAX_ROUNDS = 200


@dataclass
class Interval:
    """Events and censorings at the points of one risk-table interval."""

    events: np.ndarray
    censor_times: list[np.ndarray]  # per point: times censored before the next point
    at_risk_end: int
    km: float  # the reconstructed KM after the interval's last event

    @property
    def censored(self) -> int:
        return int(sum(len(c) for c in self.censor_times))


@dataclass
class GroupReconstruction:
    group: str
    time: np.ndarray
    event: np.ndarray
    # The reconstructed number at risk at each risk-table time, beside the printed one.
    at_risk_fit: pd.DataFrame
    events_reported: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def events(self) -> int:
        return int(self.event.sum())


def reconstruct(
    figure: dict[str, DigitisedCurve], events: list[int] | None = None, group_col: str = "group"
) -> tuple[pd.DataFrame, dict[str, GroupReconstruction]]:
    """Every group's patients as one table, `patient_id, time, event`, the group column (with
    a 0/1 column per group after the first when the groups are labels, not numbers, so that
    a model can take them as covariates) and `data_origin`; and each group's details."""
    totals = events or [None] * len(figure)
    groups = {
        name: reconstruct_group(curve, total)
        for (name, curve), total in zip(figure.items(), totals, strict=True)
    }
    frames = [
        pd.DataFrame({"time": g.time, "event": g.event, group_col: name})
        for name, g in groups.items()
    ]
    ipd = pd.concat(frames, ignore_index=True)
    ipd.insert(0, "patient_id", np.arange(1, len(ipd) + 1))
    if list(figure) == [ONE_GROUP]:
        ipd = ipd.drop(columns=group_col)
    else:
        ipd = ipd.assign(**group_indicators(ipd[group_col], list(figure)))
    return ipd.assign(data_origin=labels.RECONSTRUCTED), groups


def group_indicators(group: pd.Series, names: list[str]) -> dict[str, pd.Series]:
    """A 0/1 column per group after the first (the reference), named `<column>_<group>`;
    none when the groups are already numbers."""
    numeric = pd.to_numeric(pd.Series(names), errors="coerce").notna().all()
    if numeric:
        return {}
    return {
        f"{group.name}_{re.sub(r'[^0-9A-Za-z]+', '_', name).strip('_')}": (group == name).astype(
            int
        )
        for name in names[1:]
    }


def reconstruct_group(curve: DigitisedCurve, total_events: int | None = None):
    """One group's patients: event and censoring times that reproduce the curve and the
    risk table (and the total number of events, when given)."""
    time, survival, starts = _grid(curve)
    n_intervals = len(starts)
    intervals: list[Interval] = []
    at_risk, km = curve.n, 1.0
    for i in range(n_intervals - 1):
        start, stop = starts[i], starts[i + 1]
        interval = _fit_interval(time, survival, start, stop, at_risk, km, curve.at_risk[i + 1])
        intervals.append(interval)
        at_risk, km = interval.at_risk_end, interval.km
    last, notes = _last_interval(time, survival, starts[-1], at_risk, km, intervals, total_events)
    intervals.append(last)
    patient_time, patient_event = _patients(time, starts, intervals)
    table = pd.DataFrame(
        {
            "time": curve.risk_time,
            "at_risk_printed": curve.at_risk,
            "at_risk_reconstructed": [(patient_time >= t).sum() for t in curve.risk_time],
        }
    )
    return GroupReconstruction(curve.group, patient_time, patient_event, table, total_events, notes)


def _grid(curve: DigitisedCurve) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The curve's points plus one at every risk-table time, so that each interval starts at
    a point; and the index of the point at each risk-table time."""
    time = np.union1d(curve.time, curve.risk_time)
    survival = curve.survival_at(time)
    return time, survival, np.searchsorted(time, curve.risk_time)


def _spread(
    time: np.ndarray, survival: np.ndarray, start: int, stop: int, at_risk: int, km: float,
    n_censored: int, end: float,
) -> Interval:  # fmt: skip
    """Events at points start..stop-1, given `at_risk` at the first of them and `n_censored`
    spread evenly over (time[start], end)."""
    step = (end - time[start]) / (n_censored + 1)
    censor_at = time[start] + step * np.arange(1, n_censored + 1)
    edges = np.append(time[start + 1 : stop], np.inf)
    bins = np.searchsorted(edges, censor_at, side="right")
    events = np.zeros(stop - start, dtype=int)
    censor_times = []
    for j, k in enumerate(range(start, stop)):
        if k > 0 and at_risk > 0 and km > 0:
            drop = 1.0 - survival[k] / km
            events[j] = min(max(int(np.round(at_risk * drop)), 0), at_risk)
            km *= 1.0 - events[j] / at_risk
        at_risk -= events[j]
        censored = censor_at[bins == j][:at_risk]  # never more than are left
        censor_times.append(censored)
        at_risk -= len(censored)
    return Interval(events, censor_times, at_risk, km)


def _fit_interval(time, survival, start, stop, at_risk, km, at_risk_next) -> Interval:
    """Correct the number censored until the next printed number at risk is met (or as near
    as whole patients allow)."""
    ratio = survival[stop] / survival[start] if survival[start] > 0 else 0.0
    n_censored = max(int(np.round(at_risk * ratio - at_risk_next)), 0)
    best, tried = None, set()
    for _ in range(MAX_ROUNDS):
        tried.add(n_censored)
        result = _spread(time, survival, start, stop, at_risk, km, n_censored, time[stop])
        gap = result.at_risk_end - at_risk_next
        if best is None or abs(gap) < abs(best[0]):
            best = (gap, result)
        if gap == 0 or (gap < 0 and n_censored == 0):
            break
        n_censored = max(n_censored + gap, 0)
        if n_censored in tried:
            break
    return best[1]


def _last_interval(time, survival, start, at_risk, km, intervals, total_events):
    """After the last risk-table time: censoring at the earlier average rate, or whatever
    rate gives the reported total number of events."""
    notes = []
    end = time[-1]

    def spread(n_censored: int) -> Interval:
        return _spread(time, survival, start, len(time), at_risk, km, n_censored, end)

    by_rate = min(int(np.round(_censoring_rate(time, survival, start, intervals) * _exposure(
        time, survival, start, at_risk))), at_risk)  # fmt: skip
    if total_events is None:
        return spread(by_rate), notes
    events_before = int(sum(i.events.sum() for i in intervals))
    needed = total_events - events_before
    if needed < 0:
        notes.append(
            f"the curve up to its last risk-table time already implies {events_before} "
            f"events, more than the {total_events} given"
        )
        return spread(at_risk), notes
    n_censored = _censored_for_events(spread, needed, at_risk)
    result = spread(n_censored)
    if int(result.events.sum()) != needed:
        notes.append(
            f"{events_before + int(result.events.sum())} events reconstructed against "
            f"{total_events} given: the nearest whole-patient fit"
        )
    return result, notes


def _censoring_rate(time, survival, start, intervals) -> float:
    """Censorings per patient-time at risk before the last risk-table time."""
    censored = sum(i.censored for i in intervals)
    if not censored:
        return 0.0
    exposure, stop = 0.0, start
    for interval in reversed(intervals):  # each interval's patient-time, from its points
        first = stop - len(interval.events)
        at_risk = interval.at_risk_end + interval.events.sum() + interval.censored
        exposure += _exposure(time[: stop + 1], survival[: stop + 1], first, at_risk)
        stop = first
    return censored / exposure if exposure > 0 else 0.0


def _exposure(time, survival, start, at_risk) -> float:
    """Patient-time at risk from time[start] to time[-1], for `at_risk` patients followed
    along the curve (the censoring it misses is second order in a short tail)."""
    if survival[start] <= 0:
        return 0.0
    widths = np.diff(time[start:])
    return float(at_risk * np.sum(survival[start:-1] / survival[start] * widths))


def _censored_for_events(spread, needed: int, at_risk: int) -> int:
    """The number censored after the last risk time that gives `needed` events there: fewer
    censored leaves more at risk, so more events; bisect, then look beside the answer."""

    def events(n_censored: int) -> int:
        return int(spread(n_censored).events.sum())

    low, high = 0, at_risk
    while high - low > 1:
        middle = (low + high) // 2
        if events(middle) > needed:
            low = middle
        else:
            high = middle
    near = range(max(low - 3, 0), min(high + 3, at_risk) + 1)
    return min(near, key=lambda n: (abs(events(n) - needed), n))


def _patients(time, starts, intervals: list[Interval]) -> tuple[np.ndarray, np.ndarray]:
    """Per patient: an event at its point's time, a censoring at its spread time, and those
    still at risk at the end censored at the curve's last time."""
    times, status = [], []
    for start, interval in zip(starts, intervals, strict=True):
        for j, d in enumerate(interval.events):
            times += [time[start + j]] * int(d)
            status += [1] * int(d)
            times += list(interval.censor_times[j])
            status += [0] * len(interval.censor_times[j])
    remaining = intervals[-1].at_risk_end
    times += [time[-1]] * remaining
    status += [0] * remaining
    order = np.argsort(times, kind="stable")
    return np.asarray(times, float)[order], np.asarray(status, int)[order]
