"""Survivor counts from other studies (`fit --external FILE.csv`): each row says that r of
n patients alive (event-free) at `start` were still so at `stop`, in the model's time unit.
Such a row enters the likelihood as r ~ Binomial(n, S(stop | x) / S(start | x)): a
published 3-year survival percentage, or a registry's life table, informs the tail.

A row's covariates are any columns named as the model's covariates; a covariate the file
does not give is set at the cohort's mean (the external patients taken to be like this
cohort on average in it), and the fit says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from netlm_bayes import runs
from netlm_bayes.errors import InputError
from netlm_bayes.evidence import cohort
from netlm_bayes.evidence.patient_data import ModelData

COLUMNS = ("start", "stop", "n", "r")


@dataclass(frozen=True)
class ExternalCounts:
    source: Path
    start: np.ndarray
    stop: np.ndarray
    n: np.ndarray
    r: np.ndarray
    # (rows, covariates) of the model, NaN where the file does not give a covariate
    X: np.ndarray
    given: tuple[str, ...]  # the model's covariates the file gives
    at_mean: tuple[str, ...]  # those it does not: taken at the cohort's mean

    @property
    def rows(self) -> int:
        return len(self.n)

    def design(self, covariate_mean: np.ndarray) -> np.ndarray:
        """The rows' covariates, a missing one at the cohort's mean."""
        return np.where(np.isnan(self.X), covariate_mean[None, :], self.X)

    def describe(self) -> str:
        where = f"covariates {', '.join(self.given)} from the file" if self.given else ""
        mean = f"{', '.join(self.at_mean)} at the cohort's mean" if self.at_mean else ""
        covariates = "; ".join(part for part in (where, mean) if part)
        return (
            f"External survivor counts: {self.rows} rows from {self.source.name} "
            f"({int(self.r.sum())} of {int(self.n.sum())} still event-free at their stop time)"
            + (f"; {covariates}" if covariates else "")
        )


def _schema() -> pa.DataFrameSchema:
    finite = pa.Check(lambda s: np.isfinite(s), element_wise=False, error="must be finite")
    whole = pa.Check(lambda s: s == np.round(s), element_wise=False, error="must be a count")
    return pa.DataFrameSchema(
        {
            "start": pa.Column(float, [pa.Check.ge(0, error="must be >= 0"), finite]),
            "stop": pa.Column(float, [pa.Check.gt(0, error="must be > 0"), finite]),
            "n": pa.Column(float, [pa.Check.ge(1, error="must be >= 1"), whole, finite]),
            "r": pa.Column(float, [pa.Check.ge(0, error="must be >= 0"), whole, finite]),
        },
        checks=[
            pa.Check(lambda f: f["stop"] > f["start"], error="stop must be after start"),
            pa.Check(lambda f: f["r"] <= f["n"], error="r must be at most n"),
        ],
        strict=False,
    )


def read_external_counts(path: Path | str, covariates: list[str]) -> ExternalCounts:
    """The file's rows, checked: every problem in one error."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such external-counts file")
    frame = pd.read_csv(path)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: external counts need columns {', '.join(COLUMNS)} (r of n event-free "
            f"at start still so at stop); missing {', '.join(missing)}"
        )
    if frame.empty:
        raise InputError(f"{path}: no rows")
    given = [c for c in covariates if c in frame.columns]
    numeric = [*COLUMNS, *given]
    frame = cohort.validate_columns(frame, _schema(), numeric, [], str(path), list(frame.columns))
    X = np.full((len(frame), len(covariates)), np.nan)
    for j, name in enumerate(covariates):
        if name in given:
            X[:, j] = frame[name].to_numpy(float)
    return ExternalCounts(
        path, *(frame[c].to_numpy(float) for c in COLUMNS), X, tuple(given),
        tuple(c for c in covariates if c not in given),
    )  # fmt: skip


def latest_stop(path: Path | str | None) -> float:
    """The latest time the counts reach (0 without a file): how far a basis and a curve
    must go to meet them."""
    return 0.0 if path is None else float(read_external_counts(path, []).stop.max())


def external_only_data(path: Path | str) -> ModelData:
    """No patients: the model is fitted to the counts alone (`fit --data none`). Its time
    reference is the counts' median stop time; with no cohort to centre on, there are no
    covariates (the counts' own covariate columns are not used)."""
    path = Path(path)
    counts = read_external_counts(path, [])
    return ModelData(
        source=path, sha256=runs.sha256(path), covariates=[], X=np.empty((0, 0)),
        synthetic=False, time=np.empty(0), event=np.empty(0, dtype=int),
        external_stop_times=counts.stop,
    )  # fmt: skip


def life_table(counts: ExternalCounts) -> tuple[np.ndarray, np.ndarray]:
    """The counts' own survival estimate at each stop time they reach from 0: S(stop) =
    S(start) r / n, rows chained where a start is an earlier stop (a life table). Rows
    whose start no chain reaches are left out. Returns (stop times, estimates), by time."""
    known = {0.0: 1.0}
    for i in np.argsort(counts.start, kind="stable"):
        start = float(counts.start[i])
        if start in known:
            known[float(counts.stop[i])] = known[start] * counts.r[i] / counts.n[i]
    times = np.array(sorted(t for t in known if t > 0))
    return times, np.array([known[t] for t in times])
