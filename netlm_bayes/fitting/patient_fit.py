"""The one path every patient-level fit takes: the CLI's `fit` (study/fit_patient.py) and
the Python API (api.py) both call `fit_patient`, so on one machine and seed they agree.

It adds the data's time horizons and reference levels to the spec, chooses the priors
(a named prior set, an exported prior or a per-coefficient prior file), compiles the model
once and samples it under the diagnostics gate. Nothing here writes to disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from netlm_bayes.evidence.patient_data import ModelData, data_warnings
from netlm_bayes.families import specs
from netlm_bayes.fitting.patient import (
    Fit,
    PatientModel,
    with_horizons,
    with_knots,
    with_references,
)
from netlm_bayes.fitting.prior_choice import choose_priors
from netlm_bayes.priors.coefficients import CoefficientPriors
from netlm_bayes.priors.exported import ExportedPrior
from netlm_bayes.sampling import sampler

DEFAULT_SEED = 20260101


@dataclass
class PatientFit:
    """One posterior of a patient-level model, with what produced it."""

    spec: specs.PatientLevelSpec
    data: ModelData
    priors: CoefficientPriors
    fit: Fit
    compiled: PatientModel = field(repr=False)
    seed: int = DEFAULT_SEED
    warnings: list[str] = field(default_factory=list)


def fit_patient(
    spec: specs.PatientLevelSpec,
    data: ModelData,
    prior_set: str | None = None,
    prior: Path | str | ExportedPrior | None = None,
    profile: str = "default",
    sampler_name: sampler.SamplerName | None = None,
    seed: int = DEFAULT_SEED,
    on_step: Callable[[str], None] = lambda step: None,
    on_draws: Callable[[str], None] | None = None,
) -> PatientFit:
    """Choose the priors, compile, sample: one `PatientFit`. `on_draws` hears the draws so
    far, per chain, with divergences and the time left, every second while sampling."""
    spec = with_knots(with_references(with_horizons(spec, data), data), data)
    warnings = data_warnings(data)
    chosen = choose_priors(spec, data, prior_set, prior)
    settings = sampler.load_profile(profile)
    on_step("compiling the model")
    compiled = PatientModel(spec, data, chosen, settings, sampler_name)
    compiled.runner.on_draws = on_draws
    on_step(f"sampling {data.source.name}")
    fit = compiled.fit(data, chosen, seed)
    if fit.trace.attrs.get("log_likelihood", "stored") != "stored":
        warnings.append(f"pointwise log-likelihood {fit.trace.attrs['log_likelihood']}")
    return PatientFit(spec, data, chosen, fit, compiled, seed, warnings)
