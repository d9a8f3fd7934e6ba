"""Decision rules for the next cohort and their operating characteristics, for a binary
endpoint with Beta-mixture priors (conjugate, so every number here is exact up to the
quadrature of a difference of two rates: at most 1e-5: 3e-6 measured against 4 times the bins).

A design succeeds when every criterion holds: P(theta > q) > p or P(theta < q) > p, where
theta is the treatment's response rate (one sample) or the difference g(treatment) -
g(control) (two samples; g the identity, log or logit link). The inequality on p is
strict, as RBesT's `decision1S` and `decision2S` define it (Neuenschwander et al., 2010;
Schmidli et al., 2014 for the robust mixtures).

The probability of success (assurance) averages that over the priors' predictive of the
outcomes. Operating characteristics enumerate every outcome: P(success | true rates) is the sum of
the binomial probabilities of the outcomes at which the rule says success. The critical
value is, per control outcome, the fewest treatment responders that succeed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special, stats

from netlm_bayes.errors import InputError, option

# Bins of the control rate over [0, 1] for P(treatment - control > q): each bin's exact
# probability under the control's posterior times the treatment's tail at its midpoint.
DIFFERENCE_BINS = 8000
# A two-sample criterion compares g(treatment) - g(control) for a link g, as RBesT's
# decision2S does: its inverse, applied to g(control) + q.
LINKS = {
    "identity": lambda control, q: control + q,
    "log": lambda control, q: control * np.exp(q),
    "logit": lambda control, q: special.expit(special.logit(control) + q),
}


@dataclass(frozen=True)
class BetaMixture:
    """A mixture of Beta densities for a rate: weights, and each component's a and b."""

    weights: np.ndarray
    a: np.ndarray
    b: np.ndarray

    @classmethod
    def parse(cls, text: str, name: str) -> BetaMixture:
        """'beta:a,b', 'beta:w1,a1,b1;w2,a2,b2' for a mixture (weights sum to 1), or a
        <stem>.beta.json that `map` writes for a rate."""
        if text.strip().lower().endswith(".json"):
            from netlm_bayes.planning.rate_prior import read_beta

            return cls(*read_beta(Path(text.strip())))
        kind, _, rest = text.partition(":")
        parts = [p for p in rest.split(";") if p.strip()]
        try:
            numbers = [[float(x) for x in part.split(",")] for part in parts]
        except ValueError:
            numbers = []
        shapes_ok = numbers and all(len(n) == (2 if len(parts) == 1 else 3) for n in numbers)
        if kind.strip().lower() != "beta" or not shapes_ok:
            raise InputError(
                f"{option(name, text)}: write a Beta prior as beta:a,b (e.g. beta:1,1), or a "
                "mixture as beta:w1,a1,b1;w2,a2,b2"
            )
        rows = np.array([[1.0, *n] if len(n) == 2 else n for n in numbers])
        weights, a, b = rows.T
        if (a <= 0).any() or (b <= 0).any() or (weights <= 0).any():
            raise InputError(f"{option(name, text)}: weights, a and b must be > 0")
        if abs(weights.sum() - 1) > 1e-9:
            raise InputError(f"{option(name, text)}: the weights sum to {weights.sum():g}, not 1")
        return cls(weights, a, b)

    def updated(self, responders: np.ndarray, n: int) -> BetaMixture:
        """The posterior after `responders` of `n` (each entry its own posterior, stacked
        along a leading axis): component weights by their marginal likelihoods."""
        r = np.asarray(responders, float)[..., None]
        log_w = (np.log(self.weights) + special.betaln(self.a + r, self.b + n - r)
                 - special.betaln(self.a, self.b))  # fmt: skip
        weights = np.exp(log_w - special.logsumexp(log_w, axis=-1, keepdims=True))
        return BetaMixture(weights, self.a + r, self.b + n - r)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """P(rate <= x), for each stacked posterior (leading axes) and each x (last)."""
        x = np.asarray(x, float)
        per = stats.beta.cdf(x[..., None, :], self.a[..., None], self.b[..., None])
        return np.einsum("...k,...kx->...x", self.weights, per)

    def robustified(self, weight: float) -> BetaMixture:
        """This prior with a vague Beta(1, 1) component of `weight` (Schmidli et al.,
        2014): weight 0 is the prior itself, weight 1 the flat prior alone."""
        if not 0 <= weight <= 1:
            raise InputError(f"{option('robust_weights', weight)}: a weight in [0, 1]")
        if weight == 1:
            return BetaMixture(np.array([1.0]), np.array([1.0]), np.array([1.0]))
        if weight == 0:
            return self
        return BetaMixture(np.append((1 - weight) * self.weights, weight),
                           np.append(self.a, 1.0), np.append(self.b, 1.0))  # fmt: skip

    def predictive(self, n: int) -> np.ndarray:
        """P(r responders of n) for r = 0..n: the prior predictive, a Beta-binomial mixture."""
        r = np.arange(n + 1)[:, None]
        return stats.betabinom.pmf(r, n, self.a, self.b) @ self.weights

    def mean(self) -> float:
        return float(np.sum(self.weights * self.a / (self.a + self.b)))

    def ess(self) -> float:
        """What the prior is worth in patients (ELIR; a + b for one Beta)."""
        from netlm_bayes.planning.prior_worth import ess_beta_elir

        return ess_beta_elir(self.weights, self.a, self.b)


@dataclass(frozen=True)
class Criterion:
    """P(theta > threshold) > probability (`above`), or P(theta < threshold) > probability."""

    two_sample: bool
    above: bool
    threshold: float
    probability: float
    text: str

    _PATTERN = re.compile(
        r"^\s*P\(\s*treatment\s*(?:-\s*control\s*)?([<>])\s*(-?[0-9.]+(?:[eE][+-]?[0-9]+)?)\s*\)\s*>\s*([0-9.]+)\s*$"
    )

    @classmethod
    def parse(cls, text: str, flag: str = "success") -> Criterion:
        match = cls._PATTERN.match(text)
        if not match:
            raise InputError(
                f"{option(flag, text)}: write a criterion as 'P(treatment - control > 0) > "
                "0.975' (two samples) or 'P(treatment > 0.3) > 0.9' (one sample); < works too"
            )
        probability = float(match.group(3))
        if not 0 < probability < 1:
            raise InputError(f"{option(flag, text)}: the probability must lie in (0, 1)")
        return cls("control" in text, match.group(1) == ">", float(match.group(2)), probability,
                   text.strip())  # fmt: skip


def posterior_probability(
    criterion: Criterion, treatment: BetaMixture, control: BetaMixture | None = None,
    link: str = "identity",
) -> np.ndarray:  # fmt: skip
    """P(theta > q) (or < q) under the posteriors, one value per stacked posterior pair;
    two samples: theta = g(treatment) - g(control) for the `link` g."""
    if not criterion.two_sample:
        below = treatment.cdf(np.array([criterion.threshold]))[..., 0]
        return 1 - below if criterion.above else below
    edges = np.linspace(0.0, 1.0, DIFFERENCE_BINS + 1)
    mass = np.diff(control.cdf(edges), axis=-1)  # control's posterior per bin, exact
    middle = (edges[:-1] + edges[1:]) / 2
    below = treatment.cdf(np.clip(LINKS[link](middle, criterion.threshold), 0.0, 1.0))
    above_difference = np.sum(mass * (1 - below), axis=-1)  # P(theta > q)
    return above_difference if criterion.above else 1 - above_difference


def check_arms(design) -> None:
    """A design's criteria and priors agree with its arms: one sample without n_control,
    two samples with it and with a control prior."""
    two = design.n_control is not None
    wrong = [c.text for c in design.criteria if c.two_sample != two]
    if wrong:
        kind = "two-sample (n_control given)" if two else "one-sample (no n_control)"
        raise InputError(f"{option('success', wrong[0])}: this design is {kind}")
    if two and design.prior_control is None:
        raise InputError(f"a two-sample design needs {option('prior_control')}")


@dataclass(frozen=True)
class BinaryDesign:
    """Priors, sizes and criteria: success needs every criterion (strictly above its p)."""

    prior_treatment: BetaMixture
    n_treatment: int
    criteria: tuple[Criterion, ...]
    prior_control: BetaMixture | None = None
    n_control: int | None = None
    link: str = "identity"

    endpoint = "binary"
    value_label = "response rate"
    method = (
        "exact: binomial outcomes enumerated, Beta-mixture posteriors; P(difference > q) by "
        "8,000-bin quadrature (error <= 1e-5)"
    )

    def __post_init__(self):
        if self.link not in LINKS:
            raise InputError(f"{option('link', self.link)}: one of {', '.join(LINKS)}")
        check_arms(self)

    def prior_ess(self) -> dict[str, float]:
        """Each arm's prior worth in patients (ELIR)."""
        arms = {"treatment": self.prior_treatment, "control": self.prior_control}
        return {arm: prior.ess() for arm, prior in arms.items() if prior is not None}

    @functools.cached_property
    def success(self) -> np.ndarray:
        """`success_table()`, computed once per design (OC, PoS and regions all read it)."""
        return self.success_table()

    def success_table(self) -> np.ndarray:
        """Success for every outcome: shape (n_treatment + 1,) or (n_control + 1,
        n_treatment + 1), indexed [control responders, treatment responders]."""
        y_t = np.arange(self.n_treatment + 1)
        if self.n_control is None:
            post = self.prior_treatment.updated(y_t, self.n_treatment)
            return np.all([posterior_probability(c, post) > c.probability
                           for c in self.criteria], axis=0)  # fmt: skip
        post_c = self.prior_control.updated(np.arange(self.n_control + 1), self.n_control)
        post_t = self.prior_treatment.updated(y_t, self.n_treatment)
        rows = []
        for i in range(self.n_control + 1):  # control outcomes down, treatment across
            control = BetaMixture(post_c.weights[i], post_c.a[i], post_c.b[i])
            rows.append(np.all([posterior_probability(c, post_t, control, self.link) > c.probability
                                for c in self.criteria], axis=0))  # fmt: skip
        return np.array(rows)

    def critical_values(self) -> np.ndarray:
        """Per control outcome (or once, one sample): the fewest treatment responders that
        succeed, every larger count succeeding too; -1 where no count succeeds."""
        table = np.atleast_2d(self.success)
        found = np.full(table.shape[0], -1)
        for i, row in enumerate(table):
            hits = np.flatnonzero(row)
            if hits.size and row[hits[0] :].all():
                found[i] = hits[0]
        return found

    def success_regions(self) -> list[str]:
        """Per control outcome (or once): the treatment counts that succeed, in words:
        '>= k', '<= k' (a criterion with <), 'never', 'always', or the counts listed."""
        regions = []
        for row in np.atleast_2d(self.success):
            hits = np.flatnonzero(row)
            if not hits.size:
                regions.append("never")
            elif row.all():
                regions.append("always")
            elif row[hits[0] :].all():
                regions.append(f">= {hits[0]}")
            elif row[: hits[-1] + 1].all():
                regions.append(f"<= {hits[-1]}")
            else:
                regions.append(", ".join(map(str, hits)))
        return regions

    def probability_of_success(self) -> float:
        """Assurance: P(success) averaged over the priors' own predictive of the outcomes
        (the priors as the design's belief about the truth), exact."""
        table = self.success.astype(float)
        treatment = self.prior_treatment.predictive(self.n_treatment)
        if self.n_control is None:
            return float(treatment @ table)
        return float(self.prior_control.predictive(self.n_control) @ table @ treatment)

    def p_success(self, rate_treatment: np.ndarray, rate_control: np.ndarray | None = None):
        """P(success | true rates), exact: the binomial probabilities of the succeeding
        outcomes summed, for each pair of true rates."""
        table = self.success.astype(float)
        p_t = stats.binom.pmf(np.arange(self.n_treatment + 1), self.n_treatment,
                              np.asarray(rate_treatment, float)[:, None])  # fmt: skip
        if self.n_control is None:
            return p_t @ table
        p_c = stats.binom.pmf(np.arange(self.n_control + 1), self.n_control,
                              np.asarray(rate_control, float)[:, None])  # fmt: skip
        return np.einsum("sc,ct,st->s", p_c, table, p_t)

    def after_interim(self, treatment: tuple[int, int] | None,
                      control: tuple[int, int] | None) -> BinaryDesign:  # fmt: skip
        """The rest of the trial given interim responders (r, n) per arm: each prior becomes
        its interim posterior and each n what remains, so the final analysis sees all the
        data, and P(success) and PoS are conditional on the interim."""
        changes = {}
        for arm, interim in (("treatment", treatment), ("control", control)):
            if interim is None:
                continue
            responders, seen = interim
            planned = getattr(self, f"n_{arm}")
            if planned is None or not 0 < seen < planned or not 0 <= responders <= seen:
                raise InputError(
                    f"{option(f'interim_{arm}', f'{responders}/{seen}')}: r of n with n below "
                    f"the arm's planned {planned}"
                )
            post = getattr(self, f"prior_{arm}").updated(np.array([responders]), seen)
            changes[f"prior_{arm}"] = BetaMixture(post.weights[0], post.a[0], post.b[0])
            changes[f"n_{arm}"] = planned - seen
        return replace(self, **changes)

    def critical_table(self) -> pd.DataFrame:
        """The boundary: per control outcome (or once), the treatment responders that
        succeed ('>= k', '<= k', 'never', 'always')."""
        regions = self.success_regions()
        controls = range(len(regions)) if self.n_control is not None else [None]
        return pd.DataFrame(
            [{"control_responders": c, "n_control": self.n_control,
              "treatment_responders_to_succeed": region, "n_treatment": self.n_treatment}
             for c, region in zip(controls, regions, strict=True)]
        )  # fmt: skip
