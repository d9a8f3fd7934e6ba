"""Prior distributions as plain data: printable, comparable, and round-trippable via dicts.

They hold no PyMC objects, so model specs can be read, printed and tested without PyMC;
the model builders turn them into PyMC variables.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import ClassVar


def _fmt(value: float) -> str:
    return f"{value:.4g}"


@dataclass(frozen=True)
class Normal:
    """Normal(mu, sigma) on a log hazard or log odds ratio."""

    mu: float
    sigma: float
    family: ClassVar[str] = "normal"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mu) and math.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"Normal needs a finite mu and sigma > 0, got {self.mu}, {self.sigma}")

    def __str__(self) -> str:
        return f"Normal(mu: {_fmt(self.mu)}, sigma: {_fmt(self.sigma)})"

    def prob_ratio_above(self, ratio: float) -> float:
        """P(exp(theta) > ratio) under this prior."""
        z = (math.log(ratio) - self.mu) / self.sigma
        return 0.5 * math.erfc(z / math.sqrt(2.0))

    def to_dict(self) -> dict:
        return {"family": self.family, **asdict(self)}


@dataclass(frozen=True)
class Dirichlet:
    """Dirichlet over response categories, with named concentrations."""

    alpha: dict[str, float] = field(default_factory=dict)
    family: ClassVar[str] = "dirichlet"

    def __post_init__(self) -> None:
        if not self.alpha or any(not (a > 0 and math.isfinite(a)) for a in self.alpha.values()):
            raise ValueError(f"Dirichlet needs positive concentrations, got {self.alpha}")

    def __str__(self) -> str:
        inner = ", ".join(f"{k}: {_fmt(v)}" for k, v in self.alpha.items())
        return f"Dirichlet({inner})"

    @property
    def prior_patients(self) -> float:
        """The prior's weight in patients: the sum of the concentrations."""
        return float(sum(self.alpha.values()))

    def mean(self, category: str) -> float:
        return self.alpha[category] / self.prior_patients

    def to_dict(self) -> dict:
        return {"family": self.family, "alpha": dict(self.alpha)}


DISTRIBUTIONS = {cls.family: cls for cls in (Normal, Dirichlet)}


def from_dict(data: dict) -> Normal | Dirichlet:
    """Inverse of `to_dict`."""
    data = dict(data)
    family = data.pop("family", None)
    if family not in DISTRIBUTIONS:
        raise ValueError(f"unknown prior family {family!r}; known: {sorted(DISTRIBUTIONS)}")
    return DISTRIBUTIONS[family](**data)
