r"""A prior carried from one cohort to the next: a mixture of multivariate normals.

    p(theta) = sum_k w_k  MVN(theta; mu_k, Sigma_k)

over named parameters on the log scale (log HRs or log ORs, and the baseline). The verbs
take a prior and return a new one, as RBesT's do:

- `marginal(names)`   keep some parameters (a normal mixture's marginal is exact);
- `robustify(w, ...)` add a vague component of weight w: unit information, centred on no
                      effect for the coefficients (Schmidli et al., 2014; RBesT `robustify`);
- `discount(a0)`      power-prior-style down-weighting: every informative covariance / a0;
- `update(est, V)`    the conjugate update with a normal likelihood approximation, which
                      gives the posterior weight of each component (prior-data conflict).

It holds numbers only, and round-trips through `to_dict`/`from_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import special, stats

from netlm_bayes.errors import InputError, option


@dataclass(frozen=True)
class Component:
    weight: float
    mean: np.ndarray
    cov: np.ndarray
    label: str = "informative"

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "weight": float(self.weight),
            "mean": [float(v) for v in self.mean],
            "cov": [[float(v) for v in row] for row in self.cov],
        }


@dataclass(frozen=True)
class MixturePrior:
    names: tuple[str, ...]
    components: tuple[Component, ...]

    def __post_init__(self) -> None:
        d = len(self.names)
        if d == 0 or len(set(self.names)) != d:
            raise InputError(f"a joint prior needs distinct parameter names, got {self.names}")
        if not self.components:
            raise InputError("a joint prior needs at least one component")
        for c in self.components:
            if np.shape(c.mean) != (d,) or np.shape(c.cov) != (d, d):
                raise InputError(
                    f"component {c.label!r}: mean and cov must be {d} and {d}x{d} for "
                    f"{list(self.names)}"
                )
            if not (np.all(np.isfinite(c.mean)) and np.all(np.isfinite(c.cov))):
                raise InputError(f"component {c.label!r}: mean and cov must be finite")
            if not np.allclose(c.cov, c.cov.T, atol=1e-10 * max(1.0, np.abs(c.cov).max())):
                raise InputError(f"component {c.label!r}: cov is not symmetric")
            if np.linalg.eigvalsh(c.cov).min() <= 0:
                raise InputError(f"component {c.label!r}: cov is not positive definite")
            if not c.weight > 0:
                raise InputError(f"component {c.label!r}: weight must be > 0")
        total = sum(c.weight for c in self.components)
        if abs(total - 1.0) > 1e-6:
            raise InputError(f"component weights sum to {total:.6g}, not 1")

    # ---- reading -------------------------------------------------------------------------
    @property
    def weights(self) -> np.ndarray:
        return np.array([c.weight for c in self.components])

    def index(self, name: str) -> int:
        return self.names.index(name)

    def mean(self) -> np.ndarray:
        return sum(c.weight * c.mean for c in self.components)

    def cov(self) -> np.ndarray:
        """The mixture's covariance (law of total variance)."""
        mean = self.mean()
        return sum(
            c.weight * (c.cov + np.outer(c.mean - mean, c.mean - mean)) for c in self.components
        )

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        parts = [
            np.log(c.weight) + stats.multivariate_normal(c.mean, c.cov).logpdf(x)
            for c in self.components
        ]
        return special.logsumexp(np.stack(parts, axis=0).reshape(len(parts), -1), axis=0)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        which = rng.choice(len(self.components), size=size, p=self.weights)
        draws = np.empty((size, len(self.names)))
        for k, c in enumerate(self.components):
            chosen = which == k
            draws[chosen] = rng.multivariate_normal(c.mean, c.cov, size=int(chosen.sum()))
        return draws

    def _marginal_normals(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        i = self.index(name)
        means = np.array([c.mean[i] for c in self.components])
        return means, np.array([np.sqrt(c.cov[i, i]) for c in self.components])

    def cdf(self, name: str, x: float) -> float:
        """P(θ_name <= x): one parameter's marginal, a univariate normal mixture."""
        means, sds = self._marginal_normals(name)
        return float(np.sum(self.weights * special.ndtr((x - means) / sds)))

    def quantile(self, name: str, q: float) -> float:
        from scipy import optimize

        means, sds = self._marginal_normals(name)
        low, high = (means - 10 * sds).min(), (means + 10 * sds).max()
        return float(optimize.brentq(lambda x: self.cdf(name, x) - q, low, high, xtol=1e-10))

    def __str__(self) -> str:
        lines = []
        for c in self.components:
            sd = np.sqrt(np.diag(c.cov))
            terms = ", ".join(
                f"{n}: {m:.3g} ± {s:.3g}" for n, m, s in zip(self.names, c.mean, sd, strict=True)
            )
            lines.append(f"{c.weight:.2f} × MVN({terms})  [{c.label}]")
        return "\n".join(lines)

    # ---- verbs ---------------------------------------------------------------------------
    def marginal(self, names: list[str] | tuple[str, ...]) -> MixturePrior:
        unknown = [n for n in names if n not in self.names]
        if unknown:
            raise InputError(f"no parameter {unknown} in this prior; it has {list(self.names)}")
        idx = [self.index(n) for n in names]
        return MixturePrior(
            tuple(names),
            tuple(
                replace(c, mean=c.mean[idx], cov=c.cov[np.ix_(idx, idx)]) for c in self.components
            ),
        )

    def robustify(
        self, weight: float, vague_cov: np.ndarray, vague_mean: np.ndarray
    ) -> MixturePrior:
        if not 0 < weight < 1:
            raise InputError(
                f"{option('robust', weight)}: the vague component's weight must be in (0, 1)"
            )
        scaled = tuple(replace(c, weight=c.weight * (1 - weight)) for c in self.components)
        vague = Component(
            weight, np.asarray(vague_mean, float), np.asarray(vague_cov, float), "robust"
        )
        return MixturePrior(self.names, (*scaled, vague))

    def discount(self, a0: float) -> MixturePrior:
        if not 0 < a0 <= 1:
            raise InputError(
                f"{option('discount', a0)}: a0 must be in (0, 1] (1 keeps the full weight)"
            )
        return MixturePrior(
            self.names,
            tuple(
                c if c.label == "robust" else replace(c, cov=c.cov / a0) for c in self.components
            ),
        )

    def joined(self, other: MixturePrior) -> MixturePrior:
        """This prior and `other`, over other parameters, taken as independent: one
        component per pair, weights multiplied, covariances block-diagonal (a pair is
        robust when either part is)."""
        from scipy import linalg

        components = tuple(
            Component(
                a.weight * b.weight,
                np.r_[a.mean, b.mean],
                linalg.block_diag(a.cov, b.cov),
                "robust" if "robust" in (a.label, b.label) else "informative",
            )
            for a in self.components
            for b in other.components
        )
        return MixturePrior((*self.names, *other.names), components)

    def update(self, estimate: np.ndarray, estimate_cov: np.ndarray) -> MixturePrior:
        """The posterior under a normal likelihood N(estimate; theta, estimate_cov).

        Each component updates conjugately; its weight becomes w_k times its marginal
        likelihood N(estimate; mu_k, Sigma_k + V).
        """
        estimate = np.asarray(estimate, float)
        V = np.asarray(estimate_cov, float)
        V_inv = np.linalg.inv(V)
        log_w, parts = [], []
        for c in self.components:
            log_w.append(
                np.log(c.weight) + stats.multivariate_normal(c.mean, c.cov + V).logpdf(estimate)
            )
            precision = np.linalg.inv(c.cov) + V_inv
            cov = np.linalg.inv(precision)
            cov = (cov + cov.T) / 2
            mean = cov @ (np.linalg.solve(c.cov, c.mean) + V_inv @ estimate)
            parts.append((mean, cov, c.label))
        weights = np.exp(np.array(log_w) - special.logsumexp(log_w))
        return MixturePrior(
            self.names,
            tuple(
                Component(w, m, s, label) for w, (m, s, label) in zip(weights, parts, strict=True)
            ),
        )

    # ---- storage -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "parameters": list(self.names),
            "components": [c.to_dict() for c in self.components],
        }

    @classmethod
    def from_dict(cls, raw: dict) -> MixturePrior:
        return cls(
            tuple(raw["parameters"]),
            tuple(
                Component(
                    float(c["weight"]),
                    np.asarray(c["mean"], float),
                    np.asarray(c["cov"], float),
                    c.get("label", "informative"),
                )
                for c in raw["components"]
            ),
        )


def rbest_normmix(prior: MixturePrior, name: str, unit_sd: float) -> dict:
    """One parameter's marginal in the JSON layout RBesT's `read_mix_json` reads: a normMix
    matrix (rows w, m, s; one column per component) with `sigma`, the unit-information SD."""
    marginal = prior.marginal([name])
    labels = [c.label for c in marginal.components]
    labels = [f"{label}{i}" if labels.count(label) > 1 else label for i, label in enumerate(labels)]
    return {
        "meta": {
            "dim": [3, len(labels)],
            "dimnames": [["w", "m", "s"], labels],
            "class": ["normMix", "mix"],
            "sigma": [float(unit_sd)],
            "link": ["identity"],
        },
        "comp": [
            [float(c.weight) for c in marginal.components],
            [float(c.mean[0]) for c in marginal.components],
            [float(np.sqrt(c.cov[0, 0])) for c in marginal.components],
        ],
    }
