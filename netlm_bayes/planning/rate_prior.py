"""A MAP prior of a rate as a Beta mixture, the conjugate form a binary design needs: `map
--quantity orr` (or any rate) writes it beside the logit-scale prior, as <stem>.beta.json,
and `oc --endpoint binary --prior-control <stem>.beta.json` reads it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

from netlm_bayes import labels
from netlm_bayes.errors import InputError
from netlm_bayes.priors.beta_mixture_fit import BetaFit, auto_beta, beta_quantile_check

FORMAT = "netlm-bayes beta mixture"


@dataclass(frozen=True)
class RatePrior:
    fit: BetaFit  # with the robust component, when there is one
    check: pd.DataFrame  # the fit's quantiles beside the draws', before any robust part
    robust_weight: float


def rate_as_beta(theta_new_logit: np.ndarray, robust: float | None) -> RatePrior:
    """The predictive draws of a new study's rate as a Beta mixture; with `robust`, then a
    Beta(1, 1) component of that weight (Schmidli et al., 2014)."""
    rates = special.expit(theta_new_logit)
    fit = auto_beta(rates)
    check = beta_quantile_check(rates, fit)
    if robust:
        fit = BetaFit(np.append((1 - robust) * fit.weights, robust), np.append(fit.a, 1.0),
                      np.append(fit.b, 1.0), fit.log_likelihood)  # fmt: skip
    return RatePrior(fit, check, float(robust or 0.0))


def write_beta(result, path: Path) -> Path:
    """<stem>.beta.json: the mixture, how well it reproduces the draws, and provenance."""
    fit, check = result.beta.fit, result.beta.check
    content = {
        "format": FORMAT, "quantity": result.quantity.name, "prior": fit.text,
        "weights": fit.weights.tolist(), "a": fit.a.tolist(), "b": fit.b.tolist(),
        "fit": "EM for 1 to 4 Beta components, the lowest AIC with a penalty of 6 per "
               "parameter, on the MAP predictive draws of a new study's rate",
        "robust_weight": result.beta.robust_weight,
        "quantiles_before_robust": {"probability": check["probability"].tolist(),
                      "draws": check["draws"].round(5).tolist(),
                      "mixture": check["mixture"].round(5).tolist()},
        "studies": [m.study for m in result.measurements],
        "data_origin": labels.map_origin(bool(result.illustrative)),
        "diagnostics_passed": result.diagnostics.passed,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }  # fmt: skip
    path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    return path


def read_beta(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights, a and b from a <stem>.beta.json file."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a JSON file ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise InputError(f'{path}: not a Beta-mixture prior (no "format": {FORMAT!r}); a MAP '
                         "prior of a rate writes one beside it, as <stem>.beta.json")  # fmt: skip
    return tuple(np.asarray(raw[key], float) for key in ("weights", "a", "b"))
