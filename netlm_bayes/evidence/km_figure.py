"""A published Kaplan–Meier figure as a user digitised it: the curve's points and the
numbers-at-risk table printed under it, read, checked and cleaned, with every change logged.

A digitiser (WebPlotDigitizer and the like) exports clicked points: out of order, a little
above 1 at the start, with small upward steps where a click landed high. Cleaning turns
them into a curve the reconstruction can use, and says what it changed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import isotonic_regression

from netlm_bayes.errors import InputError, option
from netlm_bayes.evidence import cohort

# A digitiser's click can land a little outside [0, 1] or before 0; beyond these it is not
# noise but a wrong column, a percent scale or a wrong axis.
SURVIVAL_SLACK = 0.02
TIME_SLACK = 0.01  # as a fraction of the curve's last time
# Patients still at risk after the curve's last point, up to this share of the group, are
# taken as a flat tail the digitiser left out; more means the curve was cut short.
SMALL_AT_RISK = 0.10
# A curve in percent starts near 100; a top between 1 and this is a bad point, not percent.
PERCENT_FROM = 1.5
ONE_GROUP = "all"


@dataclass
class DigitisedCurve:
    """One group's curve after cleaning, and its risk table."""

    group: str
    time: np.ndarray  # starts at 0, strictly increasing
    survival: np.ndarray  # starts at 1, non-increasing
    risk_time: np.ndarray  # starts at 0, increasing
    at_risk: np.ndarray  # non-increasing counts; at_risk[0] is the group's size
    raw_points: int
    cleaning: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.at_risk[0])

    def survival_at(self, times: np.ndarray) -> np.ndarray:
        """The cleaned curve as a right-continuous step function."""
        index = np.searchsorted(self.time, np.asarray(times, float), side="right") - 1
        return self.survival[np.clip(index, 0, None)]

    def median(self) -> float:
        """The first time the cleaned curve reaches 0.5 (NaN when it never does)."""
        reached = np.flatnonzero(self.survival <= 0.5)
        return float(self.time[reached[0]]) if reached.size else float("nan")


def read_figure(
    curve_path: Path | str,
    at_risk_path: Path | str,
    group_col: str | None = None,
    percent: bool = False,
) -> dict[str, DigitisedCurve]:
    """The digitised curve(s) and risk table(s), checked and cleaned, by group: in the order
    the curve file lists them, or in numeric order when the groups are numbers. The first
    group is the reference for hazard ratios."""
    curve_path, at_risk_path = Path(curve_path), Path(at_risk_path)
    return figure_from_tables(
        _read_table(curve_path), _read_table(at_risk_path), group_col, percent,
        str(curve_path), str(at_risk_path),
    )  # fmt: skip


def figure_from_tables(
    curve: pd.DataFrame,
    at_risk: pd.DataFrame,
    group_col: str | None = None,
    percent: bool = False,
    curve_name: str = "curve",
    at_risk_name: str = "at-risk table",
) -> dict[str, DigitisedCurve]:
    """`read_figure` for tables already in memory (read as text, as from a CSV file)."""
    points = _numbers(curve, curve_name, ["time", "survival"], group_col)
    risk = _numbers(at_risk, at_risk_name, ["time", "at_risk"], group_col)
    curve_groups = list(dict.fromkeys(points["group"]))
    codes = pd.to_numeric(pd.Series(curve_groups), errors="coerce")
    if codes.notna().all():  # numbered groups: the lowest is the reference
        curve_groups = [curve_groups[i] for i in np.argsort(codes.to_numpy(), kind="stable")]
    risk_groups = list(dict.fromkeys(risk["group"]))
    only_curve = [g for g in curve_groups if g not in risk_groups]
    only_risk = [g for g in risk_groups if g not in curve_groups]
    if only_curve or only_risk:
        raise InputError(
            f"{curve_name} and {at_risk_name}: the groups differ; "
            + "; ".join(
                f"only in {name}: {', '.join(map(repr, groups))}"
                for name, groups in ((curve_name, only_curve), (at_risk_name, only_risk))
                if groups
            )
            + f" (column {group_col})"
        )
    survival = _as_proportion(curve_name, points["survival"].to_numpy(), percent)
    points = points.assign(survival=survival)
    figure = {}
    for group in curve_groups:
        where = curve_name + (f", group {group!r}" if group_col else "")
        rows = points[points["group"] == group]
        risk_rows = risk[risk["group"] == group]
        time, surv, log = clean_curve(where, rows["time"].to_numpy(), rows["survival"].to_numpy())
        where = at_risk_name + (f", group {group!r}" if group_col else "")
        risk_time, counts, extend_to = _check_risk_table(where, risk_rows, time, log)
        if extend_to is not None:
            time, surv = np.append(time, extend_to), np.append(surv, surv[-1])
        figure[group] = DigitisedCurve(group, time, surv, risk_time, counts, len(rows), log)
    return figure


def _read_table(path: Path) -> pd.DataFrame:
    text = cohort.read_text(path, "file")
    if not text.strip():
        raise InputError(f"{path}: the file is empty; expected a header row and data rows")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as exc:
        header_only = pd.DataFrame(columns=[text.splitlines()[0]])
        cohort.reject_other_delimiters(path, header_only, text)
        raise InputError(f"{path}: not a comma-separated table ({exc})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    cohort.reject_other_delimiters(path, frame, text)
    return frame


def _numbers(frame: pd.DataFrame, name: str, needed: list[str], group_col: str | None):
    """The needed columns as numbers (the group as text), every bad cell named at once."""
    frame = frame.astype(str).where(frame.notna(), None)
    wanted = needed + ([group_col] if group_col else [])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        hint = (
            ""
            if group_col or len(frame.columns) <= len(needed)
            else (f"; with several groups, name their column with {option('group_col')}")
        )
        raise InputError(
            f"{name}: missing column(s) {', '.join(missing)}; found: "
            f"{', '.join(frame.columns)}. Expected: {', '.join(wanted)}{hint}"
        )
    problems = []
    numbers = {}
    for column in needed:
        parsed = pd.to_numeric(frame[column].str.strip(), errors="coerce")
        for index in np.flatnonzero(parsed.isna() | ~np.isfinite(parsed)):
            value = frame[column].iloc[index]
            rule = "is empty" if value is None else f"{value!r} is not a number"
            problems.append((int(index), column, rule))
        numbers[column] = parsed
    if group_col:
        for index in np.flatnonzero(frame[group_col].isna()):
            problems.append((int(index), group_col, "is empty"))
    if problems:
        raise InputError(f"{name}: {cohort.describe_problems(problems, wanted)}")
    group = frame[group_col].str.strip() if group_col else ONE_GROUP
    return pd.DataFrame(numbers).assign(group=group)


def _as_proportion(name: str, survival: np.ndarray, percent: bool) -> np.ndarray:
    top = float(np.max(survival))
    if percent:
        if top <= 1 + SURVIVAL_SLACK:
            raise InputError(
                f"{name}: {option('percent', True)}, but the survival column is at most "
                f"{top:g}: it already holds proportions; leave out {option('percent', True)}"
            )
        return survival / 100.0
    if top > PERCENT_FROM and top <= 100 * (1 + SURVIVAL_SLACK):
        raise InputError(
            f"{name}: column survival reaches {top:g}, so it looks like percent; give "
            f"{option('percent', True)} (or divide it by 100)"
        )
    return survival


def clean_curve(
    where: str, time: np.ndarray, survival: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Sorted, inside [0, 1], non-increasing, one point per time, starting at (0, 1); with a
    log line for every kind of change made."""
    log: list[str] = []
    if len(time) < 2:
        raise InputError(f"{where}: {len(time)} curve point(s); digitise at least two")
    last = float(np.max(time))
    _refuse_outside(where, time, survival, last)
    order = np.lexsort((-survival, time))  # at a drop: the top, then the bottom
    if not np.array_equal(order, np.arange(len(time))):
        log.append(f"sorted {len(time)} points by time (they were not in order)")
    time, survival = time[order].astype(float), survival[order].astype(float)
    clipped = (survival > 1) | (survival < 0) | (time < 0)
    if clipped.any():
        log.append(f"moved {int(clipped.sum())} point(s) just outside the axes onto them")
    time, survival = np.clip(time, 0, None), np.clip(survival, 0, 1)
    monotone = isotonic_regression(survival, increasing=False).x
    changed = np.abs(monotone - survival) > 1e-12
    if changed.any():
        worst = int(np.argmax(np.abs(monotone - survival)))
        log.append(
            f"made the curve non-increasing: {int(changed.sum())} point(s) moved, at most "
            f"{abs(monotone[worst] - survival[worst]):.4f} (at time {time[worst]:.4g}; "
            "digitiser reversals, pooled)"
        )
    survival = monotone
    # One point per time: where a drop was clicked at its top and bottom, the step function
    # (right-continuous) takes the bottom.
    keep = np.append(time[1:] != time[:-1], True)
    if not keep.all():
        log.append(
            f"{int((~keep).sum())} point(s) shared a time with the next; kept the lowest there"
        )
    time, survival = time[keep], survival[keep]
    if time[0] > 0:
        time, survival = np.insert(time, 0, 0.0), np.insert(survival, 0, 1.0)
        log.append("added the start (time 0, survival 1)")
    elif survival[0] < 1:
        log.append(f"set survival at time 0 to 1 (read as {survival[0]:.4f})")
        survival[0] = 1.0
        survival = np.minimum.accumulate(survival)
    return time, survival, log


def _refuse_outside(where: str, time: np.ndarray, survival: np.ndarray, last: float) -> None:
    bad_s = np.flatnonzero((survival < -SURVIVAL_SLACK) | (survival > 1 + SURVIVAL_SLACK))
    if bad_s.size:
        shown = ", ".join(f"{survival[i]:g} (row {i + 1})" for i in bad_s[:5])
        raise InputError(
            f"{where}: survival must lie in [0, 1] (or 0 to 100 with "
            f"{option('percent', True)}); found {shown}"
        )
    bad_t = np.flatnonzero(time < -TIME_SLACK * last)
    if bad_t.size:
        shown = ", ".join(f"{time[i]:g} (row {i + 1})" for i in bad_t[:5])
        raise InputError(f"{where}: times must be >= 0; found {shown}")


def _check_risk_table(
    where: str, rows: pd.DataFrame, curve_time: np.ndarray, notes: list[str]
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """The risk table's times and counts, checked; and the time to extend the curve to,
    flat, when patients are still at risk after its last point (else None)."""
    rows = rows.sort_values("time", kind="stable")
    time, at_risk = rows["time"].to_numpy(float), rows["at_risk"].to_numpy(float)
    if len(time) == 0 or time[0] != 0:
        raise InputError(
            f"{where}: the risk table must start at time 0 with the number of patients"
        )
    if np.any(np.diff(time) == 0):
        raise InputError(
            f"{where}: two rows share a time; give one number at risk per time (a figure "
            f"with several curves: name their column with {option('group_col')})"
        )
    if np.any(at_risk != np.round(at_risk)) or np.any(at_risk < 0) or at_risk[0] < 1:
        raise InputError(f"{where}: at_risk must hold whole numbers >= 0, starting >= 1")
    rises = np.flatnonzero(np.diff(at_risk) > 0)
    if rises.size:
        i = rises[0]
        raise InputError(
            f"{where}: the number at risk cannot increase, but goes from {at_risk[i]:g} at "
            f"time {time[i]:g} to {at_risk[i + 1]:g} at time {time[i + 1]:g}"
        )
    return _beyond_the_curve(where, time, at_risk, curve_time, notes)


def _beyond_the_curve(where, time, at_risk, curve_time, notes: list[str]):
    """Risk-table rows after the curve's last point, as published figures print them: a
    0 there (everyone has had the event or left) is dropped; a few patients still at risk
    mean the curve ran on flat, undigitised, so it is extended flat to them (a note says
    so); more than that means the curve stops too early."""
    last = curve_time[-1]
    beyond = time > last * (1 + TIME_SLACK)
    if not beyond.any():
        return time, at_risk.astype(int), None
    shown = ", ".join(f"{c:g} at {t:g}" for t, c in zip(time[beyond], at_risk[beyond], strict=True))
    still = beyond & (at_risk > 0)
    if still.any() and at_risk[still].max() > max(1, SMALL_AT_RISK * at_risk[0]):
        raise InputError(
            f"{where}: at-risk row(s) {shown} lie beyond the curve's last point ({last:g}) with "
            f"more than {SMALL_AT_RISK:.0%} of the group still at risk; digitise the curve to "
            "its end"
        )
    if still.any():
        extend_to = float(time[still].max())
        notes.append(
            f"risk table: {shown} after the curve's last point ({last:g}); the curve is taken "
            f"as flat to {extend_to:g} (no events after its last drop)"
        )
        keep = ~beyond | still
        return time[keep], at_risk[keep].astype(int), extend_to
    notes.append(f"risk table: {shown} after the curve's last point ({last:g}): dropped")
    return time[~beyond], at_risk[~beyond].astype(int), None
    return time, at_risk.astype(int)
