"""A joint (exported) prior as PyMC variables, for the model builders.

The prior's parameters are one vector `shared` (a multivariate normal, or a mixture of them
for a robust prior); the model's own names (`beta`, `log_shape`, `log_median`, `alpha`) are
deterministic views of it, so summaries, curves and LOO read a fit the same way whatever
its prior. Covariates the prior does not cover keep their independent prior (`beta_own`).
The baseline's offset (`view`) moves it from the prior's covariate pattern to this
cohort's centring (`design.pattern_shift`).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from netlm_bayes.priors.mixture import MixturePrior


def shared_vector(joint: MixturePrior):
    with pm.modelcontext(None) as model:
        model.add_coord("shared_parameter", list(joint.names))
        if len(joint.components) == 1:
            c = joint.components[0]
            return pm.MvNormal("shared", mu=c.mean, cov=c.cov, dims="shared_parameter")
        comps = [pm.MvNormal.dist(mu=c.mean, cov=c.cov) for c in joint.components]
        return pm.Mixture("shared", w=joint.weights, comp_dists=comps, dims="shared_parameter")


def coefficients(joint: MixturePrior, shared, covariates: list[str], design):
    """`beta` over the model's covariates: from the joint prior where it has them, and
    independent (sampled per cohort SD, as `design.independent_coefficients`) elsewhere."""
    own = [i for i, name in enumerate(covariates) if name not in joint.names]
    beta_own = None
    if own:
        index = np.array(own)
        with pm.modelcontext(None) as model:
            model.add_coord("own_covariate", [covariates[i] for i in own])
            scale = design.scale[index]
            scaled = pm.Normal(
                "beta_own_per_sd", design.prior_mu[index] * scale,
                design.prior_sigma[index] * scale, dims="own_covariate",
            )  # fmt: skip
            beta_own = scaled / scale
    parts = [
        shared[joint.index(name)] if name in joint.names else beta_own[own.index(i)]
        for i, name in enumerate(covariates)
    ]
    # a model with no covariates (a MAP prior of the baseline alone) has an empty beta
    stacked = pt.stack(parts) if parts else pt.zeros(0)
    return pm.Deterministic("beta", stacked, dims="covariate")


def view(joint: MixturePrior | None, shared, name: str, as_name: str, offset=0.0):
    """The model's parameter `as_name` as the joint prior's `name` (minus `offset`), or None
    when there is no joint prior or it does not cover the parameter."""
    if joint is None or name not in joint.names:
        return None
    return pm.Deterministic(as_name, shared[joint.index(name)] - offset)
