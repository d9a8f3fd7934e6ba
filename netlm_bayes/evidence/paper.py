"""The paper's reported numbers: load `data/paper.toml`, validate it, derive SEs and CIs.

A reported ratio R with a two-sided Wald P value gives, on the log scale,

    y = log R,   z = Phi^-1(1 - p/2),   s = |y| / z,   95% CI = exp(y -/+ 1.96 s).

A printed P is rounded: "0.02" stands for 0.015 <= p < 0.025, so s lies in an interval too.
The file stores the derived values so that a reader sees them; the loader recomputes them
and refuses a file whose stored values disagree.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from scipy import stats

from netlm_bayes import paths, tomlfiles

Z95 = stats.norm.isf(0.025)
# Stored derived values are rounded to 4 significant places; allow that much slack.
DERIVED_RTOL = 2e-3


def z_from_p(p: float) -> float:
    """Two-sided standard normal quantile: the z whose two-sided tail probability is p."""
    return float(stats.norm.isf(p / 2.0))


def se_from_p(log_estimate: float, p: float) -> float:
    """Standard error of a log-scale estimate from its two-sided Wald P value."""
    return abs(log_estimate) / z_from_p(p)


def p_rounding_interval(p_printed: str) -> tuple[float, float]:
    """The interval of true p values that print as `p_printed` (round half up).

    "0.02" -> (0.015, 0.025); "0.003" -> (0.0025, 0.0035).
    """
    try:
        value = Decimal(p_printed)
    except InvalidOperation as exc:
        raise ValueError(f"P value {p_printed!r} is not a number") from exc
    half_unit = Decimal(1).scaleb(value.as_tuple().exponent) / 2
    low, high = float(value - half_unit), float(value + half_unit)
    if not 0 < low < high <= 1:
        raise ValueError(f"P value {p_printed!r} is not a probability in (0, 1)")
    return low, high


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Derived(_Strict):
    log_estimate: float
    z: float
    se: float
    ci95: tuple[float, float]
    p_interval: tuple[float, float]
    se_interval: tuple[float, float]


class ReportedEffect(_Strict):
    """One hazard or odds ratio from the abstract, with its source and coding."""

    name: str = Field(pattern=r"^(hr|or)_[a-z0-9_]+$")
    measure: Literal["HR", "OR"]
    analysis: str
    covariate: str
    coding: str
    estimate: float = Field(gt=0)
    p_printed: str
    quote: str = Field(min_length=10)
    wording_note: str | None = None
    derived: Derived

    @field_validator("p_printed")
    @classmethod
    def _p_is_probability(cls, value: str) -> str:
        p_rounding_interval(value)
        return value

    @model_validator(mode="after")
    def _derived_matches_estimate(self) -> ReportedEffect:
        if not self.name.startswith(self.measure.lower() + "_"):
            raise ValueError(f"name {self.name!r} does not start with {self.measure.lower()}_")
        if not self.name.endswith(self.covariate):
            raise ValueError(
                f"name {self.name!r} does not end with its covariate {self.covariate!r}"
            )
        expected = derive(self.estimate, self.p_printed)
        stored = self.derived.model_dump()
        for key, value in expected.model_dump().items():
            pairs = zip(_as_tuple(value), _as_tuple(stored[key]), strict=True)
            if not all(math.isclose(a, b, rel_tol=DERIVED_RTOL) for a, b in pairs):
                raise ValueError(
                    f"derived.{key} = {stored[key]} but estimate {self.estimate} with "
                    f"P={self.p_printed} gives {_rounded(value)}"
                )
        return self

    @property
    def p(self) -> float:
        return float(self.p_printed)

    @property
    def exact(self) -> Derived:
        """`derived`, recomputed at full precision; code uses this, the file shows `derived`."""
        return derive(self.estimate, self.p_printed)

    @property
    def source(self) -> str:
        return f"abstract: “{self.quote}”"


class Study(_Strict):
    citation: str
    design: str
    n_patients: int = Field(gt=0)
    accrual_start: str = Field(pattern=r"^\d{4}-\d{2}$")
    accrual_end: str = Field(pattern=r"^\d{4}-\d{2}$")
    quote: str


class Hpfs(_Strict):
    median_months: float = Field(gt=0)
    quote: str
    coding: str


class Response(_Strict):
    quote: str
    counts: dict[Literal["PR", "SD", "PD"], int]
    percent: dict[Literal["PR", "SD", "PD"], float]
    orr_percent: float = Field(ge=0, le=100)
    orr_quote: str
    coding: str

    @model_validator(mode="after")
    def _percentages_match_counts(self) -> Response:
        n = sum(self.counts.values())
        for category, count in self.counts.items():
            if count < 0:
                raise ValueError(f"counts.{category} = {count} is negative")
            reported = self.percent.get(category)
            if reported is None or abs(100 * count / n - reported) > 0.05 + 1e-9:
                raise ValueError(f"percent.{category} = {reported} does not round from {count}/{n}")
        if abs(self.orr_percent - self.percent["PR"]) > 1e-9:
            raise ValueError("orr_percent differs from the PR percentage, but no CR is coded")
        return self

    @property
    def categories(self) -> list[str]:
        return ["PR", "SD", "PD"]


class Paper(_Strict):
    """Everything the abstract reports, as validated data."""

    study: Study
    hpfs: Hpfs
    response: Response
    effects: list[ReportedEffect] = Field(min_length=1)

    @model_validator(mode="after")
    def _counts_add_up(self) -> Paper:
        total = sum(self.response.counts.values())
        if total != self.study.n_patients:
            raise ValueError(
                f"response counts add up to {total}, not study.n_patients = {self.study.n_patients}"
            )
        names = [effect.name for effect in self.effects]
        if len(set(names)) != len(names):
            raise ValueError(f"effect names repeat: {names}")
        return self

    def effect(self, name: str) -> ReportedEffect:
        for effect in self.effects:
            if effect.name == name:
                return effect
        raise KeyError(f"no reported effect named {name!r}; known: {self.effect_names}")

    @property
    def effect_names(self) -> list[str]:
        return [effect.name for effect in self.effects]


def derive(estimate: float, p_printed: str) -> Derived:
    """Everything that follows from a reported ratio and its printed P value."""
    y = math.log(estimate)
    p = float(p_printed)
    z = z_from_p(p)
    se = abs(y) / z
    p_low, p_high = p_rounding_interval(p_printed)
    # A smaller p means a larger z, hence a smaller SE.
    se_interval = (se_from_p(y, p_low), se_from_p(y, p_high))
    ci95 = (math.exp(y - Z95 * se), math.exp(y + Z95 * se))
    return Derived(
        log_estimate=y, z=z, se=se, ci95=ci95, p_interval=(p_low, p_high), se_interval=se_interval
    )


def load_paper(path: Path | str = paths.PAPER_FILE) -> Paper:
    """Read and validate a paper file; any problem is one `InputError` naming file and field."""
    return tomlfiles.load(Paper, Path(path))


def _as_tuple(value: float | tuple) -> tuple:
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def _rounded(value: float | tuple) -> str:
    values = _as_tuple(value)
    text = ", ".join(f"{v:.4g}" for v in values)
    return f"[{text}]" if len(values) > 1 else text


class PaperReference(BaseModel):
    """The paper's value for one quantity, its 95% CI, how the CI was had, and the quote."""

    model_config = ConfigDict(frozen=True)

    quantity: str
    estimate: float
    ci95_low: float
    ci95_high: float
    ci_method: str
    source: str
    wording_note: str | None = None


def paper_references(paper: Paper) -> dict[str, PaperReference]:
    """The paper's side of every comparison, keyed by quantity name.

    Ratios get the Wald CI implied by the printed P; rates get the exact (Clopper-Pearson)
    CI from the reported counts, since the abstract gives no CIs.
    """
    references = {
        effect.name: PaperReference(
            quantity=effect.name,
            estimate=effect.estimate,
            ci95_low=effect.exact.ci95[0],
            ci95_high=effect.exact.ci95[1],
            ci_method=f"Wald, from the printed P={effect.p_printed}",
            source=effect.source,
            wording_note=effect.wording_note,
        )
        for effect in paper.effects
    }
    counts = paper.response.counts
    n = sum(counts.values())
    rates = {"orr": (counts["PR"], paper.response.orr_quote)}
    rates |= {f"{c.lower()}_rate": (counts[c], paper.response.quote) for c in ("SD", "PD")}
    for quantity, (k, quote) in rates.items():
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
        references[quantity] = PaperReference(
            quantity=quantity,
            estimate=k / n,
            ci95_low=ci.low,
            ci95_high=ci.high,
            ci_method=f"exact (Clopper-Pearson), from {k}/{n}",
            source=f"abstract: “{quote}”",
        )
    return references
