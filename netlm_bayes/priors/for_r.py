"""An exported prior for R users: one RBesT mixture file per effect, and brms prior code.

RBesT's `read_mix_json(file)` reads one mixture per file: `{"meta": attributes, "comp":
the 3 x K matrix (rows w, m, s)}`. A single file holding several mixtures keyed by effect
is read back as NULL, silently, so each effect gets its own file in `<stem>.rbest/`.

brms takes priors as Stan code. A single normal becomes `set_prior("normal(m, s)", coef=)`;
a mixture (after `robustify`) becomes a `target +=` statement on the coefficient, found by
name in brms' own design matrix when the model is built, so the code does not depend on
the order of the formula's terms.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from netlm_bayes.priors.mixture import rbest_normmix


def rbest_file_name(effect: str) -> str:
    """A file name for an effect's mixture (brackets and other marks become _)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", effect).strip("_") + ".json"


def rbest_files(exported) -> dict[str, dict]:
    """File name -> the RBesT mixture of that effect."""
    return {
        rbest_file_name(name): rbest_normmix(exported.prior, name, exported.unit_sd(name))
        # a MAP prior of a baseline (a median, a rate) has no effect: its one parameter
        for name in (exported.effects or exported.prior.names)
    }


def write_rbest_folder(exported, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in rbest_files(exported).items():
        (folder / name).write_text(json.dumps(content, indent=2) + "\n")
    return folder


def brms_coef(effect: str) -> str:
    """brms' name for a coefficient: `tgrade[II]` is `tgradeII`, `np.log(x)` is `nplogx`
    (brms keeps letters, digits, `_`, `.` and `:` of the design column's name)."""
    return re.sub(r"[^A-Za-z0-9_.:]", "", effect)


def brms_code(exported, intercept: tuple[float, float] | None, source: str) -> str:
    """R code defining `netlm_prior(formula, data, family)`: the brms prior on every effect
    of `exported`, joint as netlm-bayes applies it (the mixture of multivariate normals,
    correlations kept), and for a logistic model the intercept at the data's mean."""
    effects = list(exported.effects)
    coefs = ", ".join(f'"{brms_coef(e)}"' for e in effects)
    lines = [
        f"# netlm-bayes exported prior, for brms. Source: {source}",
        f"# Data origin of the source cohort: {exported.provenance.get('data_origin')}",
        *[f"# {line}" for line in _scale_note(exported)],
        "# Coefficients are per unit of each column, as brms' `b` are; categorical levels are",
        "# against the reference level named in the prior's JSON (`coding`): give the factor",
        "# that reference as its first level (e.g. relevel()) so that brms codes it the same.",
        "# Use: brm(formula, data, family, prior = netlm_prior(formula, data, family))",
        "netlm_prior <- function(formula, data, family) {",
        "  make_data <- if (exists('make_standata', asNamespace('brms'))) brms::make_standata",
        "    else brms::standata",
        "  columns <- setdiff(colnames(make_data(formula, data = data, family = family)$X),",
        "                     'Intercept')",
        f"  coefs <- c({coefs})",
        "  idx <- match(coefs, columns)",
        "  if (anyNA(idx)) stop('netlm-bayes prior: no coefficient ',",
        "                      paste(coefs[is.na(idx)], collapse = ', '), ' in this model')",
        "  b <- paste0('b[{', paste(idx, collapse = ', '), '}]')",
        f'  code <- paste0("target += log_sum_exp({{", {_components(exported, effects)}, "}});")',
        "  priors <- brms::set_prior(code, check = FALSE)",
    ]
    if intercept is not None:
        mu, sigma = intercept
        lines += [
            "  # brms' Intercept, like netlm-bayes', is the log odds at the data's mean covariates",
            f'  priors <- c(priors, brms::set_prior("normal({mu:g}, {sigma:g})", '
            'class = "Intercept"))',
        ]
    lines += ["  priors", "}", ""]
    return "\n".join(lines)


def _components(exported, effects: list[str]) -> str:
    """The R pieces pasting each component's `log(w) + multi_normal_lpdf(b | m, S)`."""
    factor = _scale_factor(exported)
    parts = []
    for c in exported.prior.marginal(effects).components:
        mean = ", ".join(f"{factor * m + 0.0:.8g}" for m in c.mean)
        rows = ", ".join(
            "[" + ", ".join(f"{factor * factor * v + 0.0:.8g}" for v in row) + "]" for row in c.cov
        )
        parts.append(f'"log({c.weight:.8g}) + multi_normal_lpdf(", b, " | [{mean}]\', [{rows}])"')
    return ', ", ", '.join(parts)


def _scale_factor(exported) -> float:
    """From the prior's scale to brms': 1 for log OR; -1/k for a log HR into brms' Weibull
    (AFT) coefficient, with k the prior's median shape."""
    if exported.scale != "log_hr":
        return 1.0
    return -1.0 / _median_shape(exported)


def _median_shape(exported) -> float:
    if "log_shape" in exported.prior.names:
        return float(np.exp(exported.prior.quantile("log_shape", 0.5)))
    return 1.0


def _scale_note(exported) -> list[str]:
    if exported.scale != "log_hr":
        return ["Scale: log odds ratios; brms' bernoulli(logit) `b` are on the same scale."]
    return [
        "Scale: the prior is on log hazard ratios (proportional hazards). brms' weibull family",
        "is accelerated failure time: b_AFT = -log HR / k. This code uses k fixed at the",
        f"prior's median shape ({_median_shape(exported):.4g}), so it is an approximation:",
        "exact only for that shape.",
    ]
