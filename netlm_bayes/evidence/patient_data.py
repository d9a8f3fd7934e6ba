"""The columns a patient-level model needs, read from any CSV and validated with pandera.

`cohort.py` checks the bundled cohort format; this module checks only what a model uses
(a time and event, or an outcome, and the covariates), so a user's own file or a public
dataset works as long as those columns are sound. Every broken rule is named by row,
line and column, in one message.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from netlm_bayes import labels, runs
from netlm_bayes.errors import InputError, option
from netlm_bayes.evidence import coding, cohort, screening


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
    # Leave out rows with a missing value in a used column (and say how many), instead of
    # refusing the file.
    drop_missing: bool = False
    # A formula (formulaic) for the covariates, in place of `covariates`.
    formula: str | None = None
    # Reference levels of categorical columns, as (column, level) pairs.
    references: tuple[tuple[str, str], ...] = ()
    # Fit values far outside their column's bulk as they are (`screening.outliers`).
    allow_outliers: bool = False

    @property
    def used(self) -> list[str]:
        named = [self.time, self.event, self.outcome, *self.covariates]
        return list(dict.fromkeys(c for c in named if c))

    def reads(self, available) -> list[str]:
        """Every column the model reads: `used`, and the columns its formula names."""
        named = coding.variables(self.formula, list(available)) if self.formula else []
        return list(dict.fromkeys([*self.used, *named]))

    def covariate_columns(self, available) -> list[str]:
        outcome = {self.time, self.event, self.outcome}
        return [c for c in self.reads(available) if c not in outcome]


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
    # Rows left out with --drop-missing: {"rows": how many, "by_column": {column: empty}}.
    dropped: dict = field(default_factory=dict)
    # Rebuilt from a published KM figure (`reconstruct`): approximate, and says so.
    reconstructed: bool = False
    # How the columns became the covariates (categorical levels, formula terms).
    coding: coding.Coding | None = None
    # What reading found and let pass, for the run to record (outliers accepted or mild).
    screening_notes: list[str] = field(default_factory=list)
    # With no patients (a fit to external survivor counts alone): their stop times.
    external_stop_times: np.ndarray | None = None
    # A replicate fitted through an M-spline model built on another cohort: that cohort's
    # t_ref, since the spline's basis (its knots, in units of t_ref) is that cohort's.
    fixed_reference_time: float | None = None

    @property
    def origin(self) -> str:
        """Every row built from these data carries this `data_origin`."""
        return labels.origin(self.synthetic, self.reconstructed)

    @property
    def n(self) -> int:
        return len(self.X)

    @property
    def observed_times(self) -> np.ndarray:
        """The times these data reach: the patients' own; with none, the external counts'
        stop times. Horizons, curve ends and t_ref are read from them."""
        if self.n == 0 and self.external_stop_times is not None:
            return self.external_stop_times
        return self.time

    @property
    def reference_time(self) -> float:
        """t_ref, the unit in which survival models state their baseline priors: the median
        of `observed_times` (unless fixed, as `fixed_reference_time` says)."""
        if self.fixed_reference_time is not None:
            return self.fixed_reference_time
        return float(np.median(self.observed_times))

    def described_coding(self) -> dict:
        """The coding as manifests and priors record it (plain columns when none is set)."""
        plain = coding.Coding([coding.Effect(c, (c,), c) for c in self.covariates])
        return (self.coding or plain).describe()

    def groupings(self) -> dict[str, list]:
        """Per binary covariate or categorical column, its levels (`coding.groupings`)."""
        return coding.groupings(self.X, self.covariates, self.coding)

    @property
    def separated(self) -> list[str]:
        """Covariates whose OR has no finite maximum-likelihood estimate in these data."""
        found = screening.separated(self.y, self.X, self.covariates)
        return list(dict.fromkeys(name for name, *_ in found))

    def covariate_is_binary(self, name: str) -> bool:
        return bool(np.isin(self.X[:, self.covariates.index(name)], [0, 1]).all())

    @property
    def covariate_mean(self) -> np.ndarray:
        """The cohort's mean covariate pattern: where the models state their baseline."""
        if self.n == 0:  # no patients, so no covariates (`external_only_data`)
            return np.zeros(len(self.covariates))
        return self.X.mean(axis=0)

    @property
    def covariate_scale(self) -> np.ndarray:
        """Each covariate's SD in the cohort: the unit in which the models sample its effect
        (a constant column is refused on reading, so this is > 0)."""
        if self.n == 0:
            return np.ones(len(self.covariates))
        return self.X.std(axis=0)


def _read_frame(path: Path) -> tuple[pd.DataFrame, str]:
    text = cohort.read_text(path)
    if not text.strip():
        raise InputError(f"{path}: the file is empty; expected a header row and data rows")
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, text


def read_model_data(path: Path | str, columns: Columns) -> ModelData:
    path = Path(path)
    frame, text = _read_frame(path)
    return _model_data(path, runs.sha256(path), frame, text, columns)


def frame_model_data(table: pd.DataFrame, columns: Columns, name: str = "DataFrame") -> ModelData:
    """A pandas DataFrame, read exactly as the same table saved as a CSV file would be: the
    same checks, hints and coding rules, so a notebook and the CLI agree on every row."""
    frame, text = _as_read(table)
    sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return _model_data(Path(name), sha256, frame, text, columns)


def _as_read(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The DataFrame as `_read_frame` would read it back from a CSV file, and that text."""
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame, got {type(table).__name__}")
    text = table.to_csv(index=False)
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame, text


def _model_data(path: Path, sha256: str, frame: pd.DataFrame, text: str, columns: Columns):
    _check_columns(path, frame, text, columns)
    if frame.empty:
        raise InputError(f"{path}: the file has a header but no data rows")
    screening.check_unique_ids(path, frame)
    frame, dropped = _missing(path, frame, columns)
    labelled = columns.outcome if (columns.categories or columns.outcome_events) else None
    frame = screening.booleans_as_numbers(
        frame, [c for c in columns.reads(frame.columns) if c != labelled]
    )
    zero_one_outcome = None if columns.categories or columns.outcome_events else columns.outcome
    screening.check_event_coding(path, frame, columns.event, zero_one_outcome)
    covariate_columns = columns.covariate_columns(frame.columns)
    categorical = coding.categorical_columns(frame, covariate_columns, columns.formula)
    typed = _validate(path, frame[columns.reads(frame.columns)], columns, categorical)
    screening.check_enough_rows(path, len(typed), None, None)
    numeric = [c for c in covariate_columns if c not in categorical]
    notes = screening.outliers(path, typed, numeric, columns.allow_outliers)
    X, code = coding.design(
        str(path), typed, list(columns.covariates), columns.formula, categorical,
        dict(columns.references), list(frame.columns),
    )  # fmt: skip
    data = ModelData(
        source=path,
        sha256=sha256,
        covariates=code.names,
        X=X,
        synthetic=cohort.is_synthetic(frame, path if path.is_file() else None),
        dropped=dropped,
        reconstructed=cohort.is_reconstructed(frame),
        coding=code,
        screening_notes=notes,
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
    screening.check_enough_rows(path, data.n, _parameters(columns, data), data.event)
    _check_covariates_vary(path, data)
    return data


def _parameters(columns: Columns, data: ModelData) -> int:
    """The model's parameters: one per effect, and its baseline (a Weibull's two, a
    logistic intercept, an ordinal outcome's cutpoints)."""
    if columns.time:
        baseline = 2
    elif columns.categories:
        baseline = len(columns.categories) - 1
    else:
        baseline = 1
    return len(data.covariates) + baseline


def holds_zero_one(source: Path | str | pd.DataFrame, column: str) -> bool:
    """Whether `column` of a CSV file or DataFrame holds only 0 and 1 (empty cells aside);
    False when the column is absent (the refusal names it later, with the rest)."""
    frame = (
        _as_read(source)[0] if isinstance(source, pd.DataFrame) else _read_frame(Path(source))[0]
    )
    if column not in frame.columns:
        return False
    values = frame[column].dropna().str.strip().str.lower()
    return bool(len(values)) and values.isin(["0", "1", *screening.BOOLEAN_TEXT]).all()


def ordered_levels(source: Path | str | pd.DataFrame, column: str) -> list[str]:
    """An ordinal outcome's labels in order: a numeric column's values, sorted as numbers.
    `source` is a CSV file or a DataFrame (read as that table saved as CSV would be)."""
    if isinstance(source, pd.DataFrame):
        path, (frame, _) = Path("DataFrame"), _as_read(source)
    else:
        path = Path(source)
        frame, _ = _read_frame(path)
    if column not in frame.columns:
        raise InputError(
            f"{path}: no column {column!r} ({option('outcome_col')}); "
            f"{coding.listed_columns(frame.columns)}"
        )
    labels = frame[column].dropna().str.strip().unique()
    numbers = pd.to_numeric(pd.Series(labels), errors="coerce")
    if numbers.isna().any():
        raise InputError(
            f"{path}: column {column!r} holds labels ({', '.join(labels[:5])}), not numbers; "
            f"name their order, worst last, with {option('categories', ['A', 'B', 'C'])}"
        )
    return [label for _, label in sorted(zip(numbers, labels, strict=True))]


def _missing(path: Path, frame: pd.DataFrame, columns: Columns):
    """Rows with an empty used column: refused with a hint, or left out with drop_missing."""
    empty = frame[columns.reads(frame.columns)].isna()
    rows = empty.any(axis=1)
    if not rows.any():
        return frame, {}
    per_column = {c: int(n) for c, n in empty.sum().items() if n}
    counts = ", ".join(f"{c}: {n}" for c, n in per_column.items())
    if not columns.drop_missing:
        first = int(np.flatnonzero(rows)[0])
        raise InputError(
            f"{path}: {int(rows.sum())} of {len(frame)} rows have a missing value in a column "
            f"the model uses ({counts}; the first is line {first + 2}); fill them in, or give "
            f"{option('drop_missing', True)} to leave those rows out (the run records how many)"
        )
    kept = frame[~rows]  # its index keeps the file's line numbers for later messages
    if kept.empty:
        raise InputError(f"{path}: every row has a missing value ({counts}); nothing is left")
    return kept, {"rows": int(rows.sum()), "by_column": per_column}


def data_warnings(data: ModelData) -> list[str]:
    """What a user must know about the rows a model used: rows left out, separation."""
    notes = []
    if data.dropped:
        counts = ", ".join(f"{column}: {n}" for column, n in data.dropped["by_column"].items())
        notes.append(
            f"{data.source.name}: left out {data.dropped['rows']} rows with a "
            f"missing value, as asked (empty cells per column: {counts}); {data.n} rows remain"
        )
    levels = coding.level_warnings(data.source.name, data.X, data.coding, data.event)
    return notes + data.screening_notes + separation_warnings(data) + levels


def separation_warnings(data: ModelData) -> list[str]:
    """Binary covariate levels in which a 0/1 outcome never (or always) happens: the MLE of
    that OR is infinite, so the posterior rests on its prior there."""
    return [
        f"{data.source.name}: separation: every patient with {name} = {level} has outcome "
        f"{outcome} ({patients} patients), so the OR for {name} has no finite "
        "maximum-likelihood estimate; its posterior leans on its prior"
        for name, level, outcome, patients in screening.separated(data.y, data.X, data.covariates)
    ]


def _check_columns(path: Path, frame: pd.DataFrame, text: str, columns: Columns) -> None:
    roles = {
        columns.time: "duration_col",
        columns.event: "event_col",
        columns.outcome: "outcome_col",
    }
    missing = [c for c in columns.used if c not in frame.columns]
    if not missing:
        return
    cohort.reject_other_delimiters(path, frame, text)
    named = ", ".join(f"{c!r} ({option(roles.get(c, 'covariates'))})" for c in missing)
    raise InputError(f"{path}: no column {named}; {coding.listed_columns(frame.columns)}")


def _schema(columns: Columns, numeric_covariates: list[str]) -> pa.DataFrameSchema:
    finite = pa.Check(lambda s: np.isfinite(s), element_wise=False, error="must be finite")
    binary = pa.Check.isin([0, 1], error="must be 0 or 1")
    checks: dict[str, pa.Column] = {
        name: pa.Column(float, finite, nullable=False) for name in numeric_covariates
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


def _validate(
    path: Path, frame: pd.DataFrame, columns: Columns, categorical: list[str]
) -> pd.DataFrame:
    labelled = columns.outcome if (columns.categories or columns.outcome_events) else None
    used = list(frame.columns)
    numeric = [name for name in used if name != labelled and name not in categorical]
    text = ([labelled] if labelled else []) + categorical
    covariates = [c for c in columns.covariate_columns(used) if c not in categorical]
    schema = _schema(columns, covariates)
    return cohort.validate_columns(frame, schema, numeric, text, str(path), used)


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
                f"cannot be estimated; drop it from {option('covariates')}"
            )
