"""How much each reported quantity leans on its prior: power-scaling sensitivity.

The priorsense method (Kallioinen et al. 2024, Statistics and Computing 34:57): raise the
prior (or the likelihood) to a power near 1, reweight the draws by Pareto-smoothed
importance sampling, and measure how far each quantity's posterior moves (the cumulative
Jensen-Shannon distance per unit of log power). arviz-stats' `psense` does the work; this
names the verdict in words. It needs the `log_prior` group and the log-likelihood that the
sampler stores with every posterior: pointwise (`log_likelihood`), or for a cohort too
large for that, each draw's total (`log_likelihood_total`). Power-scaling the likelihood
reweights each draw by its summed log-likelihood, so the two give the same answer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats import psense

# priorsense's threshold: a sensitivity above it means power-scaling moves the posterior
# noticeably.
THRESHOLD = 0.05
PRIOR_SENSITIVE = "prior-sensitive"
# The prior moves it and the data barely do: the prior, not the paper, is the answer.
PRIOR_DOMINATED = "prior-sensitive, weak likelihood"
LIKELIHOOD_DOMINATED = "likelihood-dominated"
COLUMNS = ["quantity", "psense_prior", "psense_likelihood", "psense_verdict"]


def verdict(prior: float, likelihood: float, threshold: float = THRESHOLD) -> str:
    """In words: a prior sensitivity above the threshold makes a quantity prior-sensitive.
    (priorsense calls "prior and likelihood both above it" a potential prior-data conflict;
    with a prior centred away from the estimate by design, as the skeptical set is, that
    is expected, so the numbers stay in the table and the verdict says only what leans.)"""
    if not np.isfinite(prior) or not np.isfinite(likelihood):
        return "not available"
    if prior <= threshold:
        return LIKELIHOOD_DOMINATED
    return PRIOR_SENSITIVE if likelihood > threshold else PRIOR_DOMINATED


def sensitivity(trace: xr.DataTree, draws: xr.DataArray, dim: str = "quantity") -> pd.DataFrame:
    """One row per `dim` value of `draws` (chain, draw, dim; any quantity derived from the
    posterior): its prior and likelihood power-scaling sensitivity and the verdict. Empty
    when the trace has no log prior or log-likelihood (a fit only summarised)."""
    likelihood = next((g for g in ("log_likelihood", "log_likelihood_total")
                       if g in trace.children), None)  # fmt: skip
    if "log_prior" not in trace.children or likelihood is None:
        return pd.DataFrame(columns=COLUMNS)
    tree = xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"value": draws}),
            "log_prior": trace["log_prior"].to_dataset(),
            "log_likelihood": trace[likelihood].to_dataset(),
        }
    )
    scores = {
        group: psense(tree, var_names=["value"], group=group)["value"]
        for group in ("prior", "likelihood")
    }
    rows = []
    for name in draws[dim].values:
        prior = float(scores["prior"].sel({dim: name}))
        likelihood = float(scores["likelihood"].sel({dim: name}))
        rows.append([str(name), prior, likelihood, verdict(prior, likelihood)])
    return pd.DataFrame(rows, columns=COLUMNS)
