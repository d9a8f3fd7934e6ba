"""Sampled quantiles against a one-parameter posterior computed exactly on a grid."""

from __future__ import annotations

import numpy as np


def assert_quantiles_on_the_grid(draws, grid: np.ndarray, log_post: np.ndarray) -> np.ndarray:
    """The draws' 5%, 50% and 95% quantiles within 4 Monte Carlo SEs of the grid
    posterior's (log density `log_post` up to a constant). Returns the grid's CDF."""
    import arviz_stats

    cdf = np.cumsum(np.exp(log_post - log_post.max()))
    cdf /= cdf[-1]
    for level in (0.05, 0.5, 0.95):
        exact = np.interp(level, cdf, grid)
        sampled = float(draws.quantile(level))
        error = float(arviz_stats.mcse(draws, method="quantile", prob=level))
        assert abs(sampled - exact) < 4 * error, (level, sampled, exact, error)
    return cdf
