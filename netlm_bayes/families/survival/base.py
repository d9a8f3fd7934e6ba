r"""What every survival family declares, and what the shared code does with it.

A family states its parameters, where their priors come from, log h and log S at scaled
times u = t / t_ref (per unit of u, for linear predictor eta), how to draw event times,
and what it reports; the likelihood, the centring, the curves, the PPC and planning are
shared (`model`, `families.curves`). Parameters are passed as a dict keyed by their names, with the
baseline under its reference-group name (`log_median`, or `log_hazard0` for the Gompertz).

Two kinds, as in lifelines: proportional hazards (effects are hazard ratios, `hr_`) and
accelerated failure time (effects are acceleration factors, `af_`: AF > 1 means events come
sooner, the same direction of harm as HR > 1).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from netlm_bayes.families.survival.ops import Ops


class SurvivalFamily:
    name: ClassVar[str]
    effect: ClassVar[str]  # "hr" (proportional hazards) or "af" (accelerated failure time)
    # The reference group's baseline parameter; the model samples it at the cohort's mean
    # covariate pattern as `<baseline>_at_mean`.
    baseline: ClassVar[str] = "log_median"
    # Each shape parameter the model samples -> the field of the model file's [baseline]
    # table that holds its prior.
    shape_priors: ClassVar[dict[str, str]] = {}
    # Whether the summed likelihood has a cheaper sufficient-statistic form (Weibull PH).
    sufficient: ClassVar[bool] = False
    # Parameters with a dimension of their own (the M-spline's coefficients), as
    # (draws, size) in `curves.parameter_draws`.
    vector_parameters: ClassVar[tuple[str, ...]] = ()
    # A smallest target_accept where the profile's steps are known to be too long for this
    # family's geometry (None: the profile's own).
    target_accept: ClassVar[float | None] = None
    # A mixture cure model (`cure.MixtureCure`) wraps a family and says so here.
    cure: ClassVar[bool] = False

    @property
    def core(self) -> SurvivalFamily:
        """The family whose baseline the model builds (a cure model's uncured part)."""
        return self

    def at_rows(self, params: dict, draws: dict, rows: np.ndarray) -> dict:
        """`params` with those that vary by covariate row (a cure logit) evaluated at `rows`,
        shaped (S, rows) like `draws["beta"] @ rows.T`; the other families have none."""
        return params

    def configured(self, knots, boundary, t_ref: float) -> SurvivalFamily:
        """This family for one cohort; only a family with knots needs them."""
        return self

    @property
    def proportional_hazards(self) -> bool:
        return self.effect == "hr"

    @property
    def effect_prefix(self) -> str:
        return f"{self.effect}_"

    @property
    def centred(self) -> str:
        """The baseline parameter as sampled: at the cohort's mean covariate pattern."""
        return f"{self.baseline}_at_mean"

    @property
    def parameters(self) -> tuple[str, ...]:
        """What the likelihood takes, by the names of the variables sampled."""
        return (self.centred, *self.shape_priors)

    def log_hazard_and_survival(self, ops: Ops, log_u, eta, params: dict):
        """(log h, log S) at u = e^log_u, per unit of u."""
        raise NotImplementedError

    def sample_times(self, params: dict, eta, t_ref: float, rng: np.random.Generator):
        """Event times drawn from the model, on the data's time scale; broadcasts over
        params and eta."""
        raise NotImplementedError

    def median_shift_scale(self, params: dict, ops: Ops):
        """log m moves by -eta / this when the linear predictor moves by eta."""
        return 1.0

    def reference_baseline(self, at_mean, mean_eta, params: dict, ops: Ops):
        """The reference group's (covariates 0) baseline, from the one at the mean pattern."""
        return at_mean + mean_eta / self.median_shift_scale(params, ops)

    def baseline_prior(self, base):
        """The prior on the centred baseline, from the model file's [baseline] table."""
        return base.log_median

    def reported_shape(self, posterior, t_ref: float) -> dict[str, np.ndarray]:
        """The shape quantities summary.csv reports, by name."""
        return {}


def shape_of(posterior, name: str) -> np.ndarray:
    return np.exp(posterior[name].values)


def _shapes_like_eta(params: dict, eta: np.ndarray, vectors: tuple[str, ...]) -> list[tuple]:
    """The shapes event times broadcast to; a vector parameter, or one with more axes than
    eta, has axes of its own (a basis, covariates) and is left out."""
    return [np.shape(v) for k, v in params.items() if k not in vectors and np.ndim(v) <= eta.ndim]


class ProportionalHazards(SurvivalFamily):
    effect = "hr"

    def sample_times(self, params, eta, t_ref, rng):
        eta = np.asarray(eta, dtype=float)
        shape = np.broadcast_shapes(
            eta.shape, *_shapes_like_eta(params, eta, self.vector_parameters)
        )
        cumulative = rng.exponential(size=shape) * np.exp(-eta)  # H0(u) at the event
        return self.event_time(cumulative, params, t_ref)

    def event_time(self, cumulative, params: dict, t_ref: float):
        """The time (t_ref u) at which the baseline cumulative hazard H0(u) reaches
        `cumulative` (inf: never)."""
        raise NotImplementedError


class AcceleratedFailureTime(SurvivalFamily):
    """log(u e^eta) = log m + error: the family declares the error's distribution."""

    effect = "af"

    def sample_times(self, params, eta, t_ref, rng):
        eta = np.asarray(eta, dtype=float)
        shape = np.broadcast_shapes(
            eta.shape, *_shapes_like_eta(params, eta, self.vector_parameters)
        )
        return t_ref * np.exp(params["log_median"] - eta + self.error(params, shape, rng))

    def error(self, params: dict, shape, rng: np.random.Generator):
        raise NotImplementedError
