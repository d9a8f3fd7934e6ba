"""The survival families, by name. Adding one: a file declaring its class, and a line here.
(PyMC-free: model files are validated against these names without importing a sampler.)"""

from __future__ import annotations

from netlm_bayes.families.survival.base import SurvivalFamily
from netlm_bayes.families.survival.cure import MixtureCure
from netlm_bayes.families.survival.exponential import Exponential
from netlm_bayes.families.survival.gompertz import Gompertz
from netlm_bayes.families.survival.loglogistic import LogLogistic
from netlm_bayes.families.survival.lognormal import LogNormal
from netlm_bayes.families.survival.mspline import MSpline
from netlm_bayes.families.survival.weibull import Weibull

FAMILIES: dict[str, SurvivalFamily] = {
    family.name: family
    for family in (Weibull(), Exponential(), Gompertz(), LogNormal(), LogLogistic(), MSpline())
}


def names() -> tuple[str, ...]:
    return tuple(FAMILIES)


def family(name: str | SurvivalFamily) -> SurvivalFamily:
    """The family by name; a family passed in (one configured for a cohort, such as an
    M-spline with its knots) is returned as it is."""
    if isinstance(name, SurvivalFamily):
        return name
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown survival likelihood {name!r}; known: {names()}") from None


def spec_family(spec, t_ref: float) -> SurvivalFamily:
    """The spec's family, configured for a cohort whose median observed time is t_ref (an
    M-spline takes the spec's knots; the parametric families need nothing), with a cure
    fraction where the spec asks for one."""
    kind = family(spec.likelihood).configured(spec.knots, spec.boundary_knot, t_ref)
    return MixtureCure(kind) if getattr(spec, "cure", False) else kind
