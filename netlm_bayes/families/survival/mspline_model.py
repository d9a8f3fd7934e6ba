"""The M-spline family's own PyMC variables: the smoothing prior on its coefficients and
the basis at the data's times (data, so evaluated once, in NumPy). See `mspline`."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from netlm_bayes.families.survival.mspline import (
    SMOOTHNESS_PRIOR,
    MSpline,
    smoothed_coefficients,
)

BASIS_DATA = ("basis_hazard", "basis_cumulative")


def spline_parameters(kind: MSpline, time: np.ndarray, t_ref: float) -> dict:
    """Declare, in the current model: `smoothness_sd` ~ Gamma(2, 1), the standardised
    deviations `smoothness_steps` (one per basis function), the simplex `coefficients`
    (dims `basis`), and the basis at the observed times."""
    model = pm.modelcontext(None)
    basis = kind.basis
    model.add_coord("basis", np.arange(basis.size))
    shape, rate = SMOOTHNESS_PRIOR
    sd = pm.Gamma("smoothness_sd", alpha=shape, beta=rate)
    steps = pm.Normal("smoothness_steps", 0.0, 1.0, shape=basis.size)
    simplex = smoothed_coefficients(basis, sd, steps, pt.special.softmax)
    coefficients = pm.Deterministic("coefficients", simplex, dims="basis")
    values = spline_data(kind, time, t_ref)
    data = {name: pm.Data(name, values[name], dims=("patient", "basis")) for name in BASIS_DATA}
    return {"coefficients": coefficients, **data}


def spline_data(kind: MSpline, time: np.ndarray, t_ref: float) -> dict[str, np.ndarray]:
    """The basis (M) and its integral (I) at each patient's scaled time, (n, basis)."""
    hazard, cumulative = kind.basis.evaluate(np.asarray(time) / t_ref)
    return dict(zip(BASIS_DATA, (hazard, cumulative), strict=True))
