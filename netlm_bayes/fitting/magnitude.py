"""How big an effect plausibly is: posterior probabilities beyond named thresholds.

For a ratio R whose paper estimate is above 1 (a harmful factor), the probability beyond a
threshold t is P(R > t); for one below 1 (a protective factor), P(R < 1/t). So t = 2 reads
"at least a doubling, in the direction the paper claims" for every ratio. The thresholds
live in data/thresholds.toml, each with its reason; a user can pass others.

Rates get P(rate > benchmark) only for a benchmark that carries a source: a sourced entry
of data/thresholds.toml, or one the user gives (labelled as given by the user).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from netlm_bayes import paths, tomlfiles
from netlm_bayes.errors import InputError

USER_BENCHMARK_SOURCE = "benchmark given by the user"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RatioThreshold(_Strict):
    value: float = Field(ge=1)
    reason: str = Field(min_length=10)


class RateBenchmark(_Strict):
    quantity: str
    value: float = Field(gt=0, lt=1)
    source: str = Field(min_length=3)
    quote: str | None = None


class Thresholds(_Strict):
    """The ratio thresholds (each >= 1, in the claimed direction) and sourced rate benchmarks."""

    ratio: list[RatioThreshold] = Field(min_length=1)
    rate: list[RateBenchmark] = []

    @field_validator("ratio")
    @classmethod
    def _increasing(cls, values: list[RatioThreshold]) -> list[RatioThreshold]:
        numbers = [v.value for v in values]
        if numbers != sorted(set(numbers)):
            raise ValueError(f"ratio thresholds must increase without repeats, got {numbers}")
        return values

    @property
    def values(self) -> list[float]:
        return [t.value for t in self.ratio]

    def with_values(self, values: Sequence[float]) -> Thresholds:
        """These thresholds replaced by `values` (a user's own; their reason says so)."""
        ratio = [{"value": v, "reason": "threshold given by the user"} for v in values]
        try:
            return Thresholds.model_validate({"ratio": ratio, "rate": self.rate})
        except ValueError as exc:
            raise InputError(f"thresholds {list(values)}: each must be >= 1, increasing") from exc

    def with_benchmarks(self, benchmarks: Mapping[str, float]) -> Thresholds:
        """These plus user-given rate benchmarks, e.g. {"orr": 0.6}."""
        added = []
        for quantity, value in benchmarks.items():
            if not 0 < value < 1:
                raise InputError(f"benchmark {quantity}={value}: a rate must lie in (0, 1)")
            added.append(RateBenchmark(quantity=quantity, value=value,
                                       source=USER_BENCHMARK_SOURCE))  # fmt: skip
        return Thresholds(ratio=self.ratio, rate=[*self.rate, *added])


def load_thresholds(path: Path | str = paths.THRESHOLDS_FILE) -> Thresholds:
    return tomlfiles.load(Thresholds, Path(path))


def claims_increase(paper_estimate: float) -> bool:
    """A ratio's claimed direction: above 1 (harmful) or below (protective)."""
    return paper_estimate > 1


def prob_beyond(draws: np.ndarray, threshold: float, increase: bool) -> float:
    """P(R > t) for a claimed increase, P(R < 1/t) for a claimed decrease."""
    draws = np.asarray(draws, dtype=float).ravel()
    return float(np.mean(draws > threshold) if increase else np.mean(draws < 1 / threshold))


def column(threshold: float) -> str:
    """The comparison-table column for one threshold: prob_beyond_2, prob_beyond_1.25."""
    return f"prob_beyond_{threshold:g}"


def threshold_words(quantity: str, threshold: float, increase: bool) -> str:
    """'HR > 2' or 'OR < 1/2' ('OR < 0.8' for 1.25, where a fraction reads worse)."""
    measure = quantity[:2].upper()
    if increase:
        return f"{measure} > {threshold:g}"
    if threshold == 1:
        return f"{measure} < 1"
    inverse = 1 / threshold
    shown = f"1/{threshold:g}" if float(threshold).is_integer() else f"{inverse:.2g}"
    return f"{measure} < {shown}"


def exceedance_rows(
    draws: np.ndarray, quantity: str, paper_estimate: float, thresholds: Thresholds
) -> list[dict]:
    """One row per ratio threshold: the probability beyond it in the claimed direction."""
    increase = claims_increase(paper_estimate)
    return [
        {"quantity": quantity, "kind": "ratio", "threshold": t,
         "direction": "above" if increase else "below",
         "event": threshold_words(quantity, t, increase),
         "probability": prob_beyond(draws, t, increase)}
        for t in thresholds.values
    ]  # fmt: skip


def benchmark_rows(draws: np.ndarray, quantity: str, thresholds: Thresholds) -> list[dict]:
    """P(rate > benchmark) for each sourced benchmark of this quantity."""
    values = np.asarray(draws, dtype=float).ravel()
    return [
        {"quantity": quantity, "kind": "benchmark", "threshold": b.value, "direction": "above",
         "event": f"{quantity.upper()} > {b.value:g}",
         "probability": float(np.mean(values > b.value)), "source": b.source}
        for b in thresholds.rate if b.quantity == quantity
    ]  # fmt: skip


def exceedance_curve(draws: np.ndarray, grid: np.ndarray, increase: bool) -> np.ndarray:
    """P(R beyond x) for each x of `grid` (ratio scale): P(R > x) for an increase, P(R < x)
    for a decrease. Exact on the draws (their empirical distribution), no smoothing."""
    values = np.sort(np.asarray(draws, dtype=float).ravel())
    below = np.searchsorted(values, grid, side="left") / values.size
    above = 1 - np.searchsorted(values, grid, side="right") / values.size
    return above if increase else below


def wide_columns(long: pd.DataFrame) -> pd.DataFrame:
    """The exceedance rows as comparison.csv's columns: one `prob_beyond_<t>` per ratio
    threshold, and a rate's (last) benchmark with `prob_above_benchmark`."""
    keys = ["quantity", "prior_set"]
    ratios = long[long["kind"] == "ratio"]
    table = ratios.pivot(index=keys, columns="threshold", values="probability")
    table.columns = [column(t) for t in table.columns]
    benchmarks = long[long["kind"] == "benchmark"].drop_duplicates(keys, keep="last")
    benchmarks = benchmarks.set_index(keys)[["threshold", "probability", "source"]]
    benchmarks.columns = ["benchmark", "prob_above_benchmark", "benchmark_source"]
    return table.join(benchmarks, how="outer").reset_index()
