r"""M-spline baseline hazard, proportional hazards (survextrap's and rstanarm's flexible
baseline, written from Ramsay 1988 and Jackson 2023):

    h(u | x) = eta_scale e^eta sum_i p_i M_i(u),   H(u | x) = eta_scale e^eta sum_i p_i I_i(u)

with the basis of `mspline_basis` (cubic, knots at quantiles of the event times, the last
at the largest follow-up time, the hazard held constant beyond it). HRs are e^beta, as in
every PH family here.

Parameters: `log_hazard_scale` (log eta_scale; its prior is the one the model file's
log-median prior implies for a constant hazard, eta_scale = b ln 2 / m with b the boundary
knot), and the simplex `coefficients` p = softmax(gamma) with

    gamma_i = log p0_i + sigma z_i,   z_i ~ Normal(0, 1) for every i,   sigma ~ Gamma(2, 1),

exchangeable deviations around p0, the constant-hazard coefficients (survextrap's
"exchangeable" smoothing model): at sigma = 0 the hazard is exactly constant, and sigma
(`smoothness_sd`, sampled) says how far the data pull it from that. Every coefficient gets
a deviation (softmax does not need one held at 0); measured on three cohorts, this mixed
best of the forms tried (numbers in docs/methods.md):
- a random walk, gamma_i - log p0_i = sum_{j <= i} sigma z_j, left divergent transitions
  at target_accept 0.95 on the 84-patient cohort;
- log-ratios against the first coefficient (z_1 = 0) left them on gbsg2;
- the centred form, gamma_i ~ Normal(log p0_i, sigma), mixed worst (tail ESS 190 on rossi).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from netlm_bayes.families.survival.base import ProportionalHazards
from netlm_bayes.families.survival.mspline_basis import MSplineBasis
from netlm_bayes.families.survival.ops import LOG_LN2

# Newton on the cumulative hazard, kept inside a bracket (as `curves.median_time`).
INVERSION_STEPS = 60
INVERSION_TOLERANCE = 1e-12
SMOOTHNESS_PRIOR = (2.0, 1.0)  # Gamma(shape, rate) on sigma, survextrap's default


COEFFICIENT_LOGITS = "coefficient_logits"  # gamma at covariates 0 (--nonprop fits only)
NONPROP_EFFECTS = "nonprop_effects"  # (covariate, basis): how each covariate moves gamma


def smoothing_logits(basis: MSplineBasis, sd, steps):
    """The smoothing prior's gamma = log p0 + sigma z (p = softmax(gamma))."""
    return np.log(basis.constant_hazard_coefficients()) + sd * steps


def smoothed_coefficients(basis: MSplineBasis, sd, steps, softmax):
    """The smoothing prior's map from (sigma, z) to the simplex p: softmax(log p0 + sigma z).
    `softmax` is PyTensor's in the model and SciPy's where the prior is simulated (SBC)."""
    return softmax(smoothing_logits(basis, sd, steps))


def row_coefficients(draws: dict, rows: np.ndarray) -> np.ndarray:
    """A --nonprop fit's simplex per covariate row, (S, rows, basis): softmax over the basis
    of gamma(x) = gamma(0) + x' delta."""
    logits = draws[COEFFICIENT_LOGITS][:, None, :] + np.einsum(
        "rp,spk->srk", rows, draws[NONPROP_EFFECTS]
    )
    logits -= logits.max(axis=-1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=-1, keepdims=True)


def extrapolation_note(knots, boundary: float, unit: str) -> str:
    """What a reader must know about an M-spline fit's curves past its follow-up."""
    placed = ", ".join(f"{k:.3g}" for k in knots) or "none"
    return (
        f"M-spline baseline: interior knots at {placed} {unit}. Past the boundary knot "
        f"({boundary:.3g} {unit}, the longest follow-up or external stop time) the hazard is "
        "held at its value there: a median, RMST or curve beyond it is an extrapolation of "
        "that assumption, not of the data."
    )


class MSpline(ProportionalHazards):
    name = "mspline"
    baseline = "log_hazard_scale"
    vector_parameters: ClassVar[tuple[str, ...]] = ("coefficients",)
    # At 0.8 every real cohort tried had divergences (then resampled at 0.95), and on 40
    # SBC data sets 57% of fits passed the gate; sampled at 0.99 from the start, 90% did.
    target_accept = 0.99

    def __init__(self, basis: MSplineBasis | None = None):
        self.basis = basis

    def configured(self, knots, boundary, t_ref: float) -> MSpline:
        """This family on the basis with the given knots (in the data's time unit)."""
        if boundary is None:
            raise ValueError("an M-spline family needs its knots (see `with_knots`)")
        return MSpline(MSplineBasis(tuple(k / t_ref for k in knots), boundary / t_ref))

    @property
    def parameters(self) -> tuple[str, ...]:
        return (self.centred, "coefficients")

    def _basis(self) -> MSplineBasis:
        if self.basis is None:
            raise ValueError("the M-spline family is used before its knots are set")
        return self.basis

    def log_hazard_and_survival(self, ops, log_u, eta, params):
        # The model passes the basis at the data's times (it is data); curves evaluate it.
        if "basis_hazard" in params:
            m, integral = params["basis_hazard"], params["basis_cumulative"]
        else:
            m, integral = self._basis().evaluate(np.exp(log_u))
        p = params["coefficients"]
        log_scale = params["log_hazard_scale"] + eta
        log_h = log_scale + ops.log((m * p).sum(axis=-1))
        return log_h, -ops.exp(log_scale) * (integral * p).sum(axis=-1)

    def event_time(self, cumulative, params, t_ref):
        """The time at which eta_scale sum p_i I_i(u) reaches `cumulative`: closed form
        past the boundary (the hazard is constant there), bracketed Newton inside."""
        basis = self._basis()
        p = params["coefficients"]
        target = cumulative * np.exp(-params["log_hazard_scale"])  # sum p_i I_i(u)
        m_end, _ = basis.evaluate(np.array(basis.boundary))
        beyond = basis.boundary + (target - 1.0) / (m_end * p).sum(axis=-1)
        low = np.zeros(target.shape)
        high = np.full(target.shape, basis.boundary)
        u = np.full(target.shape, basis.boundary / 2)
        for _ in range(INVERSION_STEPS):
            m, integral = basis.evaluate(u)
            value, slope = (integral * p).sum(axis=-1), (m * p).sum(axis=-1)
            below = value < target
            low, high = np.where(below, u, low), np.where(below, high, u)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = u - (value - target) / slope
            inside = np.isfinite(step) & (step > low) & (step < high)
            following = np.where(inside, step, (low + high) / 2)
            if np.all(np.abs(following - u) < INVERSION_TOLERANCE * basis.boundary):
                u = following
                break
            u = following
        return t_ref * np.where(target >= 1.0, beyond, u)

    def at_rows(self, params, draws, rows):
        """With --nonprop the simplex depends on the covariates: one per row."""
        if NONPROP_EFFECTS not in draws:
            return params
        return {**params, "coefficients": row_coefficients(draws, rows)}

    def reference_baseline(self, at_mean, mean_eta, params, ops):
        return at_mean - mean_eta  # a hazard scale moves against the linear predictor

    def baseline_prior(self, base):
        """eta_scale = b ln 2 / m gives a constant hazard with median m (scaled time)."""
        implied = float(np.log(self._basis().boundary)) + LOG_LN2 - base.log_median.mu
        return base.log_median.model_copy(update={"mu": implied})

    def reported_shape(self, posterior, t_ref):
        return {"smoothness_sd": posterior["smoothness_sd"].values}
