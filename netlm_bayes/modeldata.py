"""The columns a patient-level model needs, read from any CSV and validated with pandera.

`cohort.py` checks the bundled cohort format; this module checks only what a model uses
(a time and event, or an outcome, and the covariates), so a user's own file or a public
dataset works as long as those columns are sound. Every broken rule is named by row,
line and column, in one message.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from netlm_bayes import cohort, runs
from netlm_bayes.errors import InputError


@dataclass(frozen=True)
class Columns:
    """Which columns a model reads, and what they must hold."""

    covariates: tuple[str, ...]
    time: str | None = None
    event: str | None = None
    outcome: str | None = None
    # Labels counted as 1 in a categorical outcome (logistic); empty: the column is 0/1.
    outcome_events: tuple[str, ...] = ()
    # Allowed labels of an ordinal outcome, in order; empty: not ordinal.
    categories: tuple[str, ...] = ()
    # Allowed labels of a labelled logistic outcome (any other label is an error).
    labels: tuple[str, ...] = ()

    @property
    def used(self) -> list[str]:
        named = [self.time, self.event, self.outcome, *self.covariates]
        return list(dict.fromkeys(c for c in named if c))


@dataclass
class ModelData:
    """Validated arrays for a model, with where they came from."""

    source: Path
    sha256: str
    covariates: list[str]
    X: np.ndarray
    synthetic: bool
    time: np.ndarray | None = None
    event: np.ndarray | None = None
    y: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.X)

    def covariate_is_binary(self, name: str) -> bool:
        return bool(np.isin(self.X[:, self.covariates.index(name)], [0, 1]).all())


def read_model_data(path: Path | str, columns: Columns) -> ModelData:
    path = Path(path)
    text = cohort.read_text(path)
    if not text.strip():
        raise InputError(f"{path}: the file is empty; expected a header row and data rows")
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    frame.columns = [str(c).strip() for c in frame.columns]
    _check_columns(path, frame, text, columns)
    if frame.empty:
        raise InputError(f"{path}: the file has a header but no data rows")
    _check_unique_ids(path, frame)
    typed = _validate(path, frame[columns.used], columns)
    data = ModelData(
        source=path,
        sha256=runs.sha256(path),
        covariates=list(columns.covariates),
        X=typed[list(columns.covariates)].to_numpy(float),
        synthetic=cohort.is_synthetic(frame, path),
    )
    if columns.time:
        data.time = typed[columns.time].to_numpy(float)
        data.event = typed[columns.event].to_numpy(int)
        if data.event.sum() == 0:
            raise InputError(
                f"{path}: column {columns.event} has no events (all {len(frame)} rows are 0, "
                "censored); a survival model cannot be fitted without events"
            )
    elif columns.outcome:  # without an outcome: covariates only (planning resamples them)
        data.y = _outcome(typed[columns.outcome], columns)
        _check_outcome_varies(path, data.y, columns)
    _check_covariates_vary(path, data)
    return data


ID_COLUMN = "patient_id"


def _check_unique_ids(path: Path, frame: pd.DataFrame) -> None:
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


def separation_warnings(data: ModelData) -> list[str]:
    """Binary covariate levels in which a 0/1 outcome never (or always) happens: the MLE of
    that OR is infinite, so the posterior rests on its prior there."""
    if data.y is None or not np.isin(data.y, [0, 1]).all():
        return []
    warnings = []
    for j, name in enumerate(data.covariates):
        if not data.covariate_is_binary(name):
            continue
        for level in (0, 1):
            outcomes = data.y[data.X[:, j] == level]
            if len(outcomes) and outcomes.min() == outcomes.max():
                warnings.append(
                    f"{data.source.name}: separation: every patient with {name} = {level} has "
                    f"outcome {outcomes[0]} ({len(outcomes)} patients), so the OR for {name} has "
                    "no finite maximum-likelihood estimate; its posterior leans on its prior"
                )
    return warnings


def _check_columns(path: Path, frame: pd.DataFrame, text: str, columns: Columns) -> None:
    roles = {columns.time: "--time", columns.event: "--event", columns.outcome: "--outcome"}
    missing = [c for c in columns.used if c not in frame.columns]
    if not missing:
        return
    cohort.reject_other_delimiters(path, frame, text)
    named = ", ".join(f"{c!r} ({roles.get(c, '--covariates')})" for c in missing)
    raise InputError(
        f"{path}: no column {named}; the file's columns are: {', '.join(frame.columns)}"
    )


def _schema(columns: Columns) -> pa.DataFrameSchema:
    finite = pa.Check(lambda s: np.isfinite(s), element_wise=False, error="must be finite")
    binary = pa.Check.isin([0, 1], error="must be 0 or 1")
    checks: dict[str, pa.Column] = {
        name: pa.Column(float, finite, nullable=False) for name in columns.covariates
    }
    if columns.time:
        checks[columns.time] = pa.Column(
            float, [pa.Check.gt(0, error="must be > 0"), finite], nullable=False
        )
        checks[columns.event] = pa.Column(float, binary, nullable=False)
    elif columns.categories or columns.outcome_events:
        labels = list(columns.categories or columns.labels)
        rule = [pa.Check.isin(labels, error=f"must be one of {labels}")] if labels else []
        checks[columns.outcome] = pa.Column(str, rule, nullable=False)
    elif columns.outcome:
        checks[columns.outcome] = pa.Column(float, binary, nullable=False)
    return pa.DataFrameSchema(checks, strict=False)


def _validate(path: Path, frame: pd.DataFrame, columns: Columns) -> pd.DataFrame:
    labelled = columns.outcome if (columns.categories or columns.outcome_events) else None
    numeric = [name for name in columns.used if name != labelled]
    text = [labelled] if labelled else []
    return cohort.validate_columns(frame, _schema(columns), numeric, text, str(path), columns.used)


def _outcome(values: pd.Series, columns: Columns) -> np.ndarray:
    if columns.categories:
        order = {label: i for i, label in enumerate(columns.categories)}
        return values.map(order).to_numpy(int)
    if columns.outcome_events:
        return values.isin(columns.outcome_events).to_numpy(int)
    return values.to_numpy(int)


def _check_outcome_varies(path: Path, y: np.ndarray, columns: Columns) -> None:
    if columns.categories:
        return  # an unobserved category is legitimate: its cutpoint is prior-driven
    if y.min() == y.max():
        raise InputError(
            f"{path}: outcome {columns.outcome!r} is {y[0]} for every row; a logistic model "
            "needs both outcomes"
        )


def _check_covariates_vary(path: Path, data: ModelData) -> None:
    for j, name in enumerate(data.covariates):
        if np.ptp(data.X[:, j]) == 0:
            raise InputError(
                f"{path}: covariate {name!r} is {data.X[0, j]:g} in every row, so its effect "
                "cannot be estimated; drop it from --covariates"
            )
