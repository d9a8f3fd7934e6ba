r"""Reverse-Bayes credibility of a significant ratio (Matthews 2001; 2018).

A ratio with 95% CI (L, U) on the ratio scale that excludes 1 is challenged by a sceptical
prior, normal on the log scale and centred on no effect. The sceptical limit SL is the
upper 95% limit of the widest such prior under which the posterior 95% interval just
reaches 1 (Matthews' critical prior interval is (1/SL, SL)):

    log SL = (log U - log L)^2 / (4 sqrt(log U * log L))            (Matthews 2018, eq. 2.4)

For a protective ratio (U < 1) the same formula gives log SL's size and the limit is read
below 1 (SL < 1). The finding is credible only if evidence from outside the study already
makes effects beyond SL plausible; otherwise a sceptic's posterior still includes no effect.

Derivation (it is what the tests check): with estimate y ~ N(theta, s^2) and prior
theta ~ N(0, tau^2), the posterior has mean y tau^2 / (tau^2 + s^2) and SD
tau s / sqrt(tau^2 + s^2); setting its lower 95% limit to 0 gives
tau = 1.96 s^2 / sqrt(y^2 - 1.96^2 s^2), and 1.96 tau is the formula above.

The paper's CIs are implied by its printed P, which is rounded; the limit is therefore
given at the printed P and over its rounding interval.
"""

from __future__ import annotations

import math

import pandas as pd

from netlm_bayes.evidence.paper import Z95, Paper, derive


def sceptical_limit(ci_low: float, ci_high: float) -> float:
    """The sceptical limit of a 95% CI on the ratio scale that excludes 1 (> 1 for a harmful
    ratio, < 1 for a protective one)."""
    if not 0 < ci_low < ci_high:
        raise ValueError(f"a ratio's 95% CI needs 0 < low < high, got {ci_low}, {ci_high}")
    if ci_low <= 1 <= ci_high:
        raise ValueError(f"95% CI {ci_low:g} to {ci_high:g} includes 1: not significant")
    log_low, log_high = math.log(ci_low), math.log(ci_high)
    size = (log_high - log_low) ** 2 / (4 * math.sqrt(log_high * log_low))
    return math.exp(size if log_low > 0 else -size)


def sceptical_tau(log_estimate: float, se: float) -> float:
    """The SD of the sceptical prior (log scale) behind the limit, from estimate and SE."""
    return Z95 * se**2 / math.sqrt(log_estimate**2 - (Z95 * se) ** 2)


def meaning(quantity: str, limit: float, estimate: float) -> str:
    measure = quantity[:2].upper()
    beyond = f"{measure} > {limit:.3g}" if estimate > 1 else f"{measure} < {limit:.3g}"
    return (
        f"Credible only if evidence from outside this study already makes {beyond} "
        "plausible; a sceptic who doubts effects that large still finds no effect in the "
        "95% interval."
    )


def credibility_table(paper: Paper) -> pd.DataFrame:
    """One row per reported ratio: the implied 95% CI, the sceptical limit at the printed P
    and over its rounding interval, and the limit's meaning."""
    rows = []
    for effect in paper.effects:
        exact = effect.exact
        low_p, high_p = exact.p_interval
        limits = [sceptical_limit(*derive(effect.estimate, f"{p!r}").ci95)
                  for p in (low_p, high_p)]  # fmt: skip
        limit = sceptical_limit(*exact.ci95)
        rows.append({
            "quantity": effect.name, "paper_estimate": effect.estimate,
            "p_printed": effect.p_printed,
            "implied_ci95_low": exact.ci95[0], "implied_ci95_high": exact.ci95[1],
            "sceptical_limit": limit,
            "sceptical_limit_at_p_low": limits[0], "sceptical_limit_at_p_high": limits[1],
            "sceptical_prior_sd_log": sceptical_tau(exact.log_estimate, exact.se),
            "meaning": meaning(effect.name, limit, effect.estimate),
            "method": "Matthews (2018) Analysis of Credibility, from the 95% CI implied by "
                      "the printed P",
            "paper_source": effect.source,
        })  # fmt: skip
    return pd.DataFrame(rows)
