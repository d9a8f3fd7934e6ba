"""Decision rules for a normal endpoint with normal-mixture priors: a mean response, or an
effect on the log scale (log HR with its per-event SD, log OR with its per-patient SD).

The data are each arm's observed mean, ybar ~ N(theta, sigma^2 / n), sigma known (for a log
HR, sigma = 2 per event and n the number of events). A mixture prior's posterior is a
mixture (conjugate), and the difference of two normal mixtures is a normal mixture over
pairs of components, so every posterior probability here is exact.

A design's success region is a set of observed means. It is found on a grid that is dense
near the design's centre and geometric away from it (up to 1e7 standard errors), and each
edge is refined by bisection to machine precision. Operating characteristics integrate the
normal sampling density over that region: exactly for one sample, and by 64-node
Gauss-Hermite quadrature over the control mean for two (error < 1e-6: measured against 128
nodes, and a test holds it). Neuenschwander et al. (2011) and Gsponer et al. (2014) are
the published checks.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

from netlm_bayes.errors import InputError, option
from netlm_bayes.planning.decisions import Criterion, check_arms

HERMITE_NODES = 64
_GRID_SIDE = np.concatenate([[0.0], np.geomspace(1e-3, 1e7, 2500)])  # in standard errors
_BISECTIONS = 80


@dataclass(frozen=True)
class FilePrior:
    """One effect of a prior file: its marginal, its SD per event or patient, its scale."""

    prior: NormalMixture
    unit_sd: float
    scale: str


@dataclass(frozen=True)
class NormalMixture:
    """A mixture of normal densities: weights, and each component's mean and SD."""

    weights: np.ndarray
    means: np.ndarray
    sds: np.ndarray
    # Where a robust component is centred: no effect (0) for a log HR or log OR from a
    # prior file, as export-prior robustifies; None: the mixture's mean (RBesT's default).
    null: float | None = None

    _NUMBER = r"-?[0-9.]+(?:[eE][+-]?[0-9]+)?"

    @classmethod
    def parse(cls, text: str, name: str, effect: str | None = None) -> NormalMixture:
        """'normal:m,s', 'normal:w1,m1,s1;w2,m2,s2', or an exported / MAP prior file (its
        marginal for `effect`, or for its only effect)."""
        if text.strip().lower().endswith(".json"):
            return cls.from_prior_file(Path(text), name, effect).prior
        kind, _, rest = text.partition(":")
        parts = [p for p in rest.split(";") if p.strip()]
        numbers = [[x.strip() for x in part.split(",")] for part in parts]
        sizes_ok = numbers and all(len(n) == (2 if len(parts) == 1 else 3) for n in numbers)
        valid = sizes_ok and all(re.fullmatch(cls._NUMBER, x) for n in numbers for x in n)
        if kind.strip().lower() != "normal" or not valid:
            raise InputError(
                f"{option(name, text)}: write a normal prior as normal:mean,sd (e.g. "
                "normal:0,2), a mixture as normal:w1,m1,s1;w2,m2,s2, or give a prior file "
                "(.json) from export-prior or map"
            )
        rows = np.array([[1.0, *map(float, n)] if len(n) == 2 else list(map(float, n))
                         for n in numbers])  # fmt: skip
        weights, means, sds = rows.T
        if (sds <= 0).any() or (weights <= 0).any():
            raise InputError(f"{option(name, text)}: weights and SDs must be > 0")
        if abs(weights.sum() - 1) > 1e-9:
            raise InputError(f"{option(name, text)}: the weights sum to {weights.sum():g}, not 1")
        return cls(weights, means, sds)

    @classmethod
    def from_prior_file(cls, path: Path, name: str, effect: str | None) -> FilePrior:
        """An exported or MAP prior's marginal for one effect, that effect's
        unit-information SD (per event or patient) and its scale (log HR, log OR)."""
        from netlm_bayes.priors import exported as exportedprior

        prior = exportedprior.read(path)
        prior.refuse_cure(f"{option(name, str(path))}", "a normal-endpoint design")
        effects = list(prior.effects) or list(prior.prior.names)
        if effect is None and len(effects) == 1:
            effect = effects[0]
        if effect not in prior.prior.names:
            raise InputError(
                f"{option(name, str(path))}: name the effect with {option('effect')}: it has "
                f"{', '.join(prior.prior.names)}"
            )
        i = prior.prior.index(effect)
        components = prior.prior.components
        mixture = cls(np.array([c.weight for c in components]),
                      np.array([c.mean[i] for c in components]),
                      np.array([np.sqrt(c.cov[i, i]) for c in components]),
                      0.0 if effect in prior.effects else None)  # fmt: skip
        scale = {"log_hr": "log HR", "log_or": "log OR"}.get(prior.scale, "value")
        return FilePrior(mixture, prior.unit_sd(effect), scale if effect in prior.effects
                         else effect)  # fmt: skip

    def mean(self) -> float:
        return float(self.weights @ self.means)

    def updated(self, observed: np.ndarray, se: float) -> NormalMixture:
        """The posterior after an observed mean with standard error `se`, for each entry of
        `observed` (stacked along leading axes)."""
        y = np.asarray(observed, float)[..., None]
        total = self.sds**2 + se**2
        log_w = np.log(self.weights) - 0.5 * ((y - self.means) ** 2 / total + np.log(total))
        weights = np.exp(log_w - special.logsumexp(log_w, axis=-1, keepdims=True))
        variance = 1 / (1 / self.sds**2 + 1 / se**2)
        means = variance * (self.means / self.sds**2 + y / se**2)
        sds = np.broadcast_to(np.sqrt(variance), means.shape)
        return NormalMixture(weights, means, sds, self.null)

    def predictive(self, se: float) -> NormalMixture:
        """The prior predictive of an observed mean with standard error `se`."""
        return NormalMixture(self.weights, self.means, np.sqrt(self.sds**2 + se**2), self.null)

    def robustified(self, weight: float, unit_sd: float) -> NormalMixture:
        """This prior with a vague component of `weight`: one unit of information,
        N(centre, unit_sd^2), centred on no effect for an effect from a prior file and on
        the prior's mean otherwise (RBesT's `robustify` for a normal endpoint)."""
        if not 0 <= weight <= 1:
            raise InputError(f"{option('robust_weights', weight)}: a weight in [0, 1]")
        centre = self.mean() if self.null is None else self.null
        vague = (np.array([centre]), np.array([unit_sd]))
        if weight == 1:
            return NormalMixture(np.array([1.0]), *vague, self.null)
        if weight == 0:
            return self
        weights = np.append((1 - weight) * self.weights, weight)
        means, sds = np.append(self.means, vague[0]), np.append(self.sds, vague[1])
        return NormalMixture(weights, means, sds, self.null)


def posterior_probability(
    criterion: Criterion, treatment: NormalMixture, control: NormalMixture | None = None
) -> np.ndarray:
    """P(theta > q) (or < q), theta the treatment's mean or the difference treatment -
    control, per stacked posterior: exact (a mixture of normals over component pairs)."""
    if control is None:
        below = np.sum(treatment.weights * special.ndtr(
            (criterion.threshold - treatment.means) / treatment.sds), axis=-1)  # fmt: skip
    else:
        means = treatment.means[..., :, None] - control.means[..., None, :]
        sds = np.sqrt(treatment.sds[..., :, None] ** 2 + control.sds[..., None, :] ** 2)
        weights = treatment.weights[..., :, None] * control.weights[..., None, :]
        below = np.sum(weights * special.ndtr((criterion.threshold - means) / sds), axis=(-2, -1))
    return 1 - below if criterion.above else below


@dataclass(frozen=True)
class NormalDesign:
    """Priors, sizes, the sampling SD per patient (or event) and the criteria."""

    prior_treatment: NormalMixture
    n_treatment: int
    criteria: tuple[Criterion, ...]
    sigma: float
    prior_control: NormalMixture | None = None
    n_control: int | None = None
    value_label: str = "mean"  # what a true value is: a mean, or a log HR / log OR

    endpoint = "normal"
    method = (
        "exact: normal-mixture posteriors; success region of the observed mean by bisection "
        "to machine precision; two samples: 64-node Gauss-Hermite over the control mean "
        "(error < 1e-6)"
    )

    def __post_init__(self):
        check_arms(self)
        if not self.sigma > 0:
            raise InputError(f"{option('sigma', self.sigma)}: the sampling SD must be > 0")

    def prior_ess(self) -> dict[str, float]:
        """Each arm's prior worth in patients or events (ELIR, sigma^2 per unit)."""
        from netlm_bayes.planning.prior_worth import ess_elir
        from netlm_bayes.priors.mixture import Component, MixturePrior

        out = {}
        for arm in ("treatment", "control"):
            prior = getattr(self, f"prior_{arm}")
            if prior is not None:
                parts = zip(prior.weights, prior.means, prior.sds, strict=True)
                components = tuple(Component(w, np.array([m]), np.array([[s**2]]))
                                   for w, m, s in parts)  # fmt: skip
                out[arm] = ess_elir(MixturePrior(("theta",), components), "theta", self.sigma**2)
        return out

    @property
    def se_treatment(self) -> float:
        return self.sigma / np.sqrt(self.n_treatment)

    @property
    def se_control(self) -> float:
        return self.sigma / np.sqrt(self.n_control)

    def decide(self, y_treatment: np.ndarray, y_control: np.ndarray | None = None) -> np.ndarray:
        """Success at each observed treatment mean (paired with the control mean at the same
        position, for two samples)."""
        y_treatment = np.asarray(y_treatment, float)
        post_t = self.prior_treatment.updated(y_treatment, self.se_treatment)
        post_c = None
        if self.n_control is not None:
            y_control = np.broadcast_to(np.asarray(y_control, float), y_treatment.shape)
            post_c = self.prior_control.updated(y_control, self.se_control)
        return np.all([posterior_probability(c, post_t, post_c) > c.probability
                       for c in self.criteria], axis=0)  # fmt: skip

    def regions(self, y_control: np.ndarray | None = None) -> list[list[tuple[float, float]]]:
        """Per control mean (or once): the intervals of the treatment mean that succeed,
        each edge refined by bisection; an interval that reaches the grid's end is open."""
        controls = np.zeros(1) if y_control is None else np.atleast_1d(np.asarray(y_control, float))
        centre = self._centre(None if y_control is None else controls)
        grid = np.concatenate([-_GRID_SIDE[:0:-1], _GRID_SIDE]) * self.se_treatment
        y = centre[:, None] + grid[None, :]
        success = self.decide(y, controls[:, None])
        rows, columns = np.nonzero(success[:, 1:] != success[:, :-1])
        edges = self._edges(y[rows, columns], y[rows, columns + 1], success[rows, columns],
                            controls[rows])  # fmt: skip
        out = []
        for row, hits in enumerate(success):
            mine = rows == row
            bounds = [-np.inf, *edges[mine], np.inf]
            starts = [hits[0], *(~success[row, columns[mine]])]  # success just after each edge
            out.append([(bounds[k], bounds[k + 1]) for k, on in enumerate(starts) if on])
        return out

    def _centre(self, controls) -> np.ndarray:
        """Where the grid is densest: the treatment prior's mean shifted by the control
        mean's distance from its own prior's mean (one value per control mean)."""
        if controls is None:
            return np.array([self.prior_treatment.mean()])
        return self.prior_treatment.mean() + controls - self.prior_control.mean()

    def _edges(self, low, high, success_low, controls) -> np.ndarray:
        """Every decision flip between its two grid points, bisected all at once."""
        for _ in range(_BISECTIONS):
            middle = (low + high) / 2
            same = self.decide(middle, controls) == success_low
            low, high = np.where(same, middle, low), np.where(same, high, middle)
        return (low + high) / 2

    def p_success(self, mean_treatment: np.ndarray, mean_control: np.ndarray | None = None):
        """P(success | true means) for each pair: the sampling density of the observed
        treatment mean over its success region, integrated over the control mean."""
        mean_treatment = np.atleast_1d(np.asarray(mean_treatment, float))
        if self.n_control is None:
            (intervals,) = self.regions()
            return _mass(intervals, mean_treatment, self.se_treatment)
        nodes, weights = _hermite()
        out = np.empty(len(mean_treatment))
        mean_control = np.broadcast_to(np.asarray(mean_control, float), mean_treatment.shape)
        for i, (t, c) in enumerate(zip(mean_treatment, mean_control, strict=True)):
            regions = self.regions(c + self.se_control * nodes)
            out[i] = sum(w * _mass(r, np.array([t]), self.se_treatment)[0]
                         for w, r in zip(weights, regions, strict=True))  # fmt: skip
        return out

    def probability_of_success(self) -> float:
        """Assurance: P(success) under the priors' predictive of the observed means."""
        predictive_t = self.prior_treatment.predictive(self.se_treatment)
        if self.n_control is None:
            (intervals,) = self.regions()
            return float(_mixture_mass(intervals, predictive_t))
        nodes, weights = _hermite()
        total = 0.0
        predictive_c = self.prior_control.predictive(self.se_control)
        components = zip(predictive_c.weights, predictive_c.means, predictive_c.sds, strict=True)
        for w_c, m_c, s_c in components:
            regions = self.regions(m_c + s_c * nodes)
            total += w_c * sum(w * _mixture_mass(r, predictive_t)
                               for w, r in zip(weights, regions, strict=True))  # fmt: skip
        return float(total)

    def after_interim(self, treatment: tuple[float, int] | None,
                      control: tuple[float, int] | None) -> NormalDesign:  # fmt: skip
        """The rest of the trial given interim means (mean, n) per arm: each prior becomes
        its interim posterior and each n what remains, so the final analysis sees all the
        data, and P(success) and PoS are conditional on the interim."""
        return replace(self, **_interim_changes(self, "treatment", treatment),
                       **_interim_changes(self, "control", control))  # fmt: skip

    def critical_table(self) -> pd.DataFrame:
        """Where the decision flips: the treatment means that succeed, per control mean
        (a grid of 13 around the control prior's mean, +-3 SE) or once."""
        if self.n_control is None:
            region = _words(self.regions()[0])
            return pd.DataFrame([{"n_treatment": self.n_treatment,
                                  "treatment_mean_to_succeed": region}])  # fmt: skip
        controls = self.prior_control.mean() + self.se_control * np.linspace(-3, 3, 13)
        return pd.DataFrame(
            [{"control_mean": c, "n_control": self.n_control,
              "treatment_mean_to_succeed": _words(r), "n_treatment": self.n_treatment}
             for c, r in zip(controls, self.regions(controls), strict=True)]
        )  # fmt: skip


def _interim_changes(design: NormalDesign, arm: str, interim) -> dict:
    if interim is None:
        return {}
    mean, seen = interim
    planned = getattr(design, f"n_{arm}")
    if planned is None or not 0 < seen < planned:
        raise InputError(
            f"{option(f'interim_{arm}', f'{mean:g}/{seen}')}: the interim must have fewer "
            f"patients than the arm's planned {planned}"
        )
    prior = getattr(design, f"prior_{arm}")
    return {f"prior_{arm}": _single(prior.updated(np.array([mean]), design.sigma / np.sqrt(seen))),
            f"n_{arm}": planned - seen}  # fmt: skip


def _single(stacked: NormalMixture) -> NormalMixture:
    return NormalMixture(stacked.weights[0], stacked.means[0], np.asarray(stacked.sds[0]),
                         stacked.null)  # fmt: skip


@functools.cache
def _hermite() -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for the expectation over a standard normal."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(HERMITE_NODES)
    return nodes, weights / np.sqrt(2 * np.pi)


def _mass(intervals, means: np.ndarray, se: float) -> np.ndarray:
    """P(observed mean in the intervals) when it is N(mean, se^2), per true mean."""
    total = np.zeros(len(means))
    for low, high in intervals:
        total += special.ndtr((high - means) / se) - special.ndtr((low - means) / se)
    return total


def _mixture_mass(intervals, mixture: NormalMixture) -> float:
    per = [_mass(intervals, np.array([m]), s)[0] for m, s in zip(mixture.means, mixture.sds,
                                                                   strict=True)]  # fmt: skip
    return float(mixture.weights @ np.array(per))


def _words(intervals) -> str:
    """An interval list in words: '>= x', '<= x', 'between a and b', 'never', 'always'."""
    if not intervals:
        return "never"
    if len(intervals) == 1:
        low, high = intervals[0]
        if np.isinf(low) and np.isinf(high):
            return "always"
        if np.isinf(high):
            return f">= {low:.6g}"
        if np.isinf(low):
            return f"<= {high:.6g}"
    return "; ".join(f"between {low:.6g} and {high:.6g}" for low, high in intervals)
