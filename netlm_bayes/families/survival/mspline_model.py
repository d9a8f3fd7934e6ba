"""The M-spline family's own PyMC variables: the smoothing prior on its coefficients, the
basis at the data's times (data, so evaluated once, in NumPy), and with --nonprop the
covariates' moves of the coefficients. See `mspline`."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from netlm_bayes.errors import option
from netlm_bayes.evidence.patient_data import ModelData
from netlm_bayes.families.design import Design, covariate_columns
from netlm_bayes.families.survival.mspline import (
    COEFFICIENT_LOGITS,
    NONPROP_EFFECTS,
    SMOOTHNESS_PRIOR,
    MSpline,
    smoothing_logits,
)

BASIS_DATA = ("basis_hazard", "basis_cumulative")
# HalfNormal SD of the nonprop deviations per cohort SD of the column: mass at 0 (PH)
NONPROP_SD_PRIOR = 1.0


def spline_parameters(
    kind: MSpline, data: ModelData, t_ref: float, design: Design, nonprop: list[str]
) -> dict:
    """Declare, in the current model: `smoothness_sd` ~ Gamma(2, 1), the standardised
    deviations `smoothness_steps` (one per basis function), the simplex `coefficients`
    (dims `basis`; at the cohort's mean pattern), and the basis at the observed times.
    With `nonprop` covariates the simplex is each patient's (`nonprop_coefficients`)."""
    model = pm.modelcontext(None)
    basis = kind.basis
    model.add_coord("basis", np.arange(basis.size))
    shape, rate = SMOOTHNESS_PRIOR
    sd = pm.Gamma("smoothness_sd", alpha=shape, beta=rate)
    steps = pm.Normal("smoothness_steps", 0.0, 1.0, shape=basis.size)
    logits = smoothing_logits(basis, sd, steps)
    coefficients = pm.Deterministic("coefficients", pt.special.softmax(logits), dims="basis")
    values = spline_data(kind, data.time, t_ref)
    basis_data = {name: pm.Data(name, values[name], dims=("patient", "basis"))
                  for name in BASIS_DATA}  # fmt: skip
    if nonprop:
        coefficients = nonprop_coefficients(nonprop, data, design, logits)
    return {"coefficients": coefficients, **basis_data}


def nonprop_coefficients(nonprop: list[str], data: ModelData, design: Design, logits):
    r"""Each patient's simplex when covariates change the hazard's shape (survextrap's
    non-proportional hazards, written from Jackson 2023):

        p(x) = softmax(gamma + (x - xbar)' delta),   delta_j = tau_j (w_j - mean(w_j)) / s_j

    w_j ~ Normal(0, 1) per basis function, centred over the basis (softmax ignores a shift,
    so only the centred part is identified), tau_j ~ HalfNormal(1) (`nonprop_sd`, per cohort
    SD s_j of the column): at tau_j = 0 the covariate's effect is proportional, and the
    prior's mass at 0 shrinks toward that. Declares `nonprop_effects` (covariate, basis;
    0 for the other covariates) and `coefficient_logits` (gamma at covariates 0)."""
    model = pm.modelcontext(None)
    named = covariate_columns(nonprop, data, f"{option('nonprop')} covariate")
    model.add_coord("nonprop_covariate", named)
    index = np.array([data.covariates.index(c) for c in named])
    tau = pm.HalfNormal("nonprop_sd", sigma=NONPROP_SD_PRIOR, dims="nonprop_covariate")
    steps = pm.Normal("nonprop_steps", 0.0, 1.0, dims=("nonprop_covariate", "basis"))
    centred = steps - steps.mean(axis=1, keepdims=True)
    delta = tau[:, None] * centred / design.scale[index][:, None]
    effects = pt.zeros((len(data.covariates), model.dim_lengths["basis"]))
    effects = pm.Deterministic(NONPROP_EFFECTS, pt.set_subtensor(effects[index], delta),
                               dims=("covariate", "basis"))  # fmt: skip
    pm.Deterministic(COEFFICIENT_LOGITS, logits - pt.dot(design.mean, effects), dims="basis")
    per_patient = logits + pt.dot(design.X, effects) - pt.dot(design.mean, effects)
    return pt.special.softmax(per_patient, axis=-1)


def spline_data(kind: MSpline, time: np.ndarray, t_ref: float) -> dict[str, np.ndarray]:
    """The basis (M) and its integral (I) at each patient's scaled time, (n, basis)."""
    hazard, cumulative = kind.basis.evaluate(np.asarray(time) / t_ref)
    return dict(zip(BASIS_DATA, (hazard, cumulative), strict=True))
