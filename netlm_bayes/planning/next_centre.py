r"""A published estimate carried to a next centre: full borrowing, the MAP prior, and its
robust version, each with what it is worth in events or patients; and, when the between-
centre SD tau cannot be learned, how that worth moves with the tau one assumes.

With one study and the MAP model's practically flat prior on mu, tau is not learned at
all: its posterior is its prior. The predictive for a next centre then has a closed form,

    theta* = y + e + tau (z* - z),   e ~ N(0, s^2),   z, z* ~ N(0, 1),   tau ~ its prior,

so Var(theta*) = s^2 + 2 E[tau^2] (E[tau^2] = scale^2 for a HalfNormal), and the ESS by
moments is sigma_unit^2 / Var(theta*). The study's own deviation from mu and the next
centre's both count, which is why the factor is 2. `ess_by_tau` tabulates it for every
named heterogeneity; the tests check it against the sampled MAP prior.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from netlm_bayes import paths, tomlfiles
from netlm_bayes.planning import prior_worth
from netlm_bayes.planning.decisions import Criterion
from netlm_bayes.planning.map_prior import MapResult
from netlm_bayes.planning.normal_decisions import NormalDesign, NormalMixture
from netlm_bayes.priors import map_model
from netlm_bayes.priors.mixture import Component, MixturePrior

Z95 = 1.959964
# The assumption (data/assumptions.toml) that sets the robust component's weight.
ROBUST_ASSUMPTION = "next_centre_robust_weight"
# Fewer studies than this in a stratum and tau is taken as assumed, not learned.
STUDIES_TO_LEARN_TAU = 3


def robust_weight() -> float:
    return float(tomlfiles.read_toml(paths.ASSUMPTIONS_FILE)[ROBUST_ASSUMPTION]["value"])


def tau_is_learned(result: MapResult) -> bool:
    """Whether the studies can inform tau: at least STUDIES_TO_LEARN_TAU per stratum."""
    counts = np.bincount(result.data.stratum_index, minlength=len(result.data.strata))
    return bool(counts.min() >= STUDIES_TO_LEARN_TAU)


def _row(prior: str, mixture: MixturePrior, unit_var: float) -> dict:
    return {
        "prior": prior, "median": float(np.exp(mixture.quantile("theta", 0.5))),
        "ci95_low": float(np.exp(mixture.quantile("theta", 0.025))),
        "ci95_high": float(np.exp(mixture.quantile("theta", 0.975))),
        "ess_elir": prior_worth.ess_elir(mixture, "theta", unit_var),
        "ess_moment": prior_worth.ess_moment(mixture, "theta", unit_var),
    }  # fmt: skip


def next_centre(result: MapResult, robust: float | None = None) -> pd.DataFrame:
    """A one-study MAP prior beside full borrowing (the study's estimate carried over
    unchanged, N(y, s^2), as a plain export would) and beside the MAP made robust with
    weight `robust` on a unit-information component centred on no effect: each prior's
    median and 95% interval on the ratio scale and its ESS."""
    (m,) = result.measurements
    unit_var = result.unit_sd**2
    plain = MixturePrior(("theta",), (Component(1.0, np.array([m.y]), np.array([[m.se**2]])),))
    mix = result.fitted.mixture
    fitted = MixturePrior(("theta",), tuple(
        Component(float(w), np.array([mu]), np.array([[sd**2]]))
        for w, mu, sd in zip(mix.weights, mix.means, mix.sds, strict=True)
    ))  # fmt: skip
    rows = [
        _row("full borrowing: the paper's estimate carried over unchanged", plain, unit_var),
        _row(f"MAP for a next centre: tau ~ {result.tau_prior}", fitted, unit_var),
    ]
    robust = robust_weight() if robust is None else robust
    if robust > 0:
        vague = Component(robust, np.array([0.0]), np.array([[unit_var]]))
        robustified = MixturePrior(("theta",), (
            *(Component(c.weight * (1 - robust), c.mean, c.cov) for c in fitted.components),
            vague,
        ))  # fmt: skip
        rows.append(_row(f"robust MAP: {robust:.0%} on a vague component (one event's "
                         "information) centred on no effect", robustified, unit_var))  # fmt: skip
    table = pd.DataFrame(rows).assign(
        quantity=result.quantity.name, unit=result.quantity.units, unit_sd=result.unit_sd,
        unit_sd_source=result.unit_sd_source, tau_learned=tau_is_learned(result),
        source=f"{m.citation.rstrip('.')}: “{m.quote}”",
    )  # fmt: skip
    table["ess_share_of_full"] = table["ess_elir"] / table["ess_elir"].iloc[0]
    return table


def ess_by_tau(result: MapResult) -> pd.DataFrame:
    """For one study: the MAP prior's predictive SD and ESS by moments under each named
    heterogeneity (HalfNormal(scale = ratio * sigma_unit)), in closed form."""
    (m,) = result.measurements
    unit_var = result.unit_sd**2
    rows = []
    for name, ratio in map_model.HETEROGENEITY.items():
        scale = ratio * result.unit_sd
        variance = m.se**2 + 2 * scale**2
        rows.append({
            "heterogeneity": name, "tau_prior": f"HalfNormal(scale={scale:.4g})",
            "predictive_sd_log": float(np.sqrt(variance)),
            "ess_moment": unit_var / variance,
            "ess_share_of_full": m.se**2 / variance,
        })  # fmt: skip
    return pd.DataFrame(rows).assign(unit=result.quantity.units)


def example_design(prior_file: Path) -> tuple[NormalDesign, dict]:
    """The report's example design for a next centre (data/next_centre_design.toml) on the
    MAP prior file: the next centre's log HR, with the prior's SD per event."""
    raw = tomlfiles.read_toml(paths.NEXT_CENTRE_DESIGN_FILE)
    settings = {k: v["value"] if isinstance(v, dict) else v for k, v in raw.items()}
    from_file = NormalMixture.from_prior_file(prior_file, "prior_treatment", None)
    design = NormalDesign(from_file.prior, int(settings["events"]),
                          (Criterion.parse(settings["success"]),), from_file.unit_sd,
                          value_label=from_file.scale)  # fmt: skip
    return design, settings
