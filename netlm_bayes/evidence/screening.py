"""What a user's file can hold that parses and passes every column rule, yet breaks a fit:
True/False written for 1/0, an event coded 1/2 or yes/no, a repeated patient, too few rows
or events, a value far outside its column's bulk (a typo such as an age of 1e12), and
separation.

`patient_data` calls these while it reads a file; each either rewrites what is plainly
meant (True as 1), refuses with the numbers a user needs, or returns a warning that the
run records.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from netlm_bayes.errors import InputError, option

BOOLEAN_TEXT = {"true": "1", "false": "0"}

# Fewer rows than this (or, for survival, fewer events) is no cohort to fit: the posterior
# would be the prior with a bend in it, and the sampler's diagnostics cannot tell.
MIN_ROWS = 5
MIN_EVENTS = 2

# A value this many robust SDs (1.4826 x MAD, or IQR / 1.349 if larger) from its column's
# median is flagged: far beyond a normal tail (10 SD has p ~ 1e-23), well inside a typo's
# reach (an extra digit, a unit slip, 1e12 for 61).
OUTLIER_ROBUST_SDS = 10.0
# The models sample each effect per SD of its column. When flagged values inflate that SD
# more than this many times, the rest of the column varies by < 1% of one unit and its
# effect vanishes (the case that printed `hr_age 1 (1 to 1)`): refused unless accepted.
DEGENERATE_SD_RATIO = 100.0


def booleans_as_numbers(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Columns holding only True/False (any case; pandas writes a bool column this way) as
    1/0, so they read as an event, a 0/1 outcome or a two-level covariate."""
    frame = frame.copy()
    for column in columns:
        # each distinct value once: a registry's column has a million cells, a few values
        spelled = {value: str(value).strip().lower() for value in distinct(frame[column])}
        if spelled and set(spelled.values()) <= set(BOOLEAN_TEXT):
            numbers = {value: BOOLEAN_TEXT[text] for value, text in spelled.items()}
            frame[column] = frame[column].map(numbers, na_action="ignore").astype(object)
            frame[column] = frame[column].where(frame[column].notna(), None)
    return frame


def distinct(column: pd.Series) -> list:
    """The column's distinct values, missing ones left out (hashing, not sorting)."""
    return list(pd.unique(column.dropna()))


ID_COLUMN = "patient_id"

EVENT_CODINGS = {
    frozenset({"1", "2"}): "1 and 2 (as R's survival package allows)",
    frozenset({"yes", "no"}): "yes and no",
    frozenset({"y", "n"}): "y and n",
}


def check_event_coding(
    path: Path, frame: pd.DataFrame, event: str | None, zero_one_outcome: str | None
) -> None:
    """An event (or a 0/1 outcome) coded another common way gets the 0/1 rule, once."""
    column = event or zero_one_outcome
    if column is None:
        return
    values = frozenset(str(v).strip().lower().removesuffix(".0") for v in distinct(frame[column]))
    coding = EVENT_CODINGS.get(values)
    if coding is None:
        return
    rule = "1 for an event and 0 for censored" if event else "1 for the outcome and 0 otherwise"
    raise InputError(
        f"{path}: column {column!r} is coded {coding}; it must be {rule} (recode it, e.g. "
        f"event = status - 1 for 1/2)"
    )


def check_unique_ids(path: Path, frame: pd.DataFrame) -> None:
    """A repeated patient would be counted twice; refuse it where the file names patients."""
    if ID_COLUMN not in frame.columns:
        return
    repeated = frame[frame[ID_COLUMN].duplicated(keep=False)]
    if repeated.empty:
        return
    where = "; ".join(
        f"{pid!r} on lines {', '.join(str(i + 2) for i in rows.index)}"
        for pid, rows in repeated.groupby(ID_COLUMN, sort=False)
    )
    raise InputError(
        f"{path}: column {ID_COLUMN}: repeated patients ({where}); each must be unique"
    )


def check_enough_rows(
    path: Path, n: int, parameters: int | None, events: np.ndarray | None
) -> None:
    """Refuse a file too small for the model, saying what it has and what is needed;
    `parameters` None: not known yet (before the covariates are coded)."""
    needed = max(MIN_ROWS, (parameters or 0) + 1)
    if n < needed:
        rows = f"{n} row{'s' if n != 1 else ''}"
        why = (
            f"this model has {parameters} parameters and needs at least {needed} rows"
            if needed > MIN_ROWS
            else f"a model needs at least {MIN_ROWS} rows"
        )
        raise InputError(f"{path}: {rows}; {why}; add patients")
    if events is not None and events.sum() < MIN_EVENTS:
        count = int(events.sum())
        raise InputError(
            f"{path}: {count} event{'s' if count != 1 else ''} in {n} rows; a survival model "
            f"needs at least {MIN_EVENTS} events to say anything about the hazard's shape"
        )


def outliers(path: Path, frame: pd.DataFrame, numeric: list[str], allowed: bool) -> list[str]:
    """Values far outside their column's bulk: refused when they make the column's effect
    vanish (unless `allowed`), warned about otherwise. Each is named by column, line and
    value, with the fix."""
    warnings = []
    for column in numeric:
        values = frame[column].to_numpy(float)
        flagged = _far_values(values)
        if not flagged.any():
            continue
        count = int(flagged.sum())
        shown = ", ".join(
            f"{values[i]:g} on line {index + 2}"
            for i, index in zip(np.flatnonzero(flagged)[:5], frame.index[flagged][:5], strict=True)
        )
        more = f" and {count - 5} more" if count > 5 else ""
        bulk = values[~flagged]
        where = (
            f"{path}: column {column!r}: {shown}{more} {'lies' if count == 1 else 'lie'} more than "
            f"{OUTLIER_ROBUST_SDS:g} robust SDs from the column's median "
            f"({np.median(values):g}; the other rows run {bulk.min():g} to {bulk.max():g})"
        )
        inflation = values.std() / bulk.std() if bulk.std() > 0 else np.inf
        if inflation > DEGENERATE_SD_RATIO and not allowed:
            raise InputError(
                f"{where}. They stretch the column's SD {inflation:.3g}-fold, so the effect of "
                f"{column} on every other patient would vanish. Correct the value (a typo or a "
                f"unit slip?), remove the row, or give {option('allow_outliers', True)} to fit "
                "it as it is"
            )
        warnings.append(f"{where}; fitted as given{', as asked' if allowed else ': check it'}")
    return warnings


def _far_values(values: np.ndarray) -> np.ndarray:
    """Where a column of three or more distinct values strays beyond OUTLIER_ROBUST_SDS
    robust SDs; a column with no spread in its middle half flags nothing (counts that are
    mostly 0 are not outliers)."""
    if len(np.unique(values)) < 3:
        return np.zeros(len(values), bool)
    median = np.median(values)
    q1, q3 = np.quantile(values, [0.25, 0.75])
    # the larger of the MAD's and the IQR's estimate of the SD: a skewed count (prior
    # convictions, 0 to 18, median 2) keeps its real tail
    spread = max(1.4826 * np.median(np.abs(values - median)), (q3 - q1) / 1.349)
    if spread == 0:
        return np.zeros(len(values), bool)
    return np.abs(values - median) > OUTLIER_ROBUST_SDS * spread


def separated(
    y: np.ndarray | None, X: np.ndarray, covariates: list[str]
) -> list[tuple[str, int, int, int]]:
    """Binary covariate levels in which a 0/1 outcome never (or always) happens, as
    (covariate, level, outcome, patients): the MLE of that OR is infinite."""
    if y is None or not np.isin(y, [0, 1]).all():
        return []
    found = []
    for j, name in enumerate(covariates):
        if not np.isin(X[:, j], [0, 1]).all():
            continue
        for level in (0, 1):
            outcomes = y[X[:, j] == level]
            if len(outcomes) and outcomes.min() == outcomes.max():
                found.append((name, level, int(outcomes[0]), len(outcomes)))
    return found
