"""Shared fixtures: the bundled evidence, specs, and one compiled reported-effects model."""

from __future__ import annotations

import math
import os

os.environ.setdefault("MPLBACKEND", "Agg")  # figures to files only, as the CLI draws them

import numpy as np
import pandas as pd
import pytest

from netlm_bayes.evidence import paper as evidence
from netlm_bayes.families import reported_effects, specs
from netlm_bayes.families.survival.registry import family
from netlm_bayes.fitting.patient_spec import Overrides
from netlm_bayes.sampling import gate
from netlm_bayes.sampling.sampler import Sampler, load_profile
from netlm_bayes.study import compare_families as family_run

SEED = 20260101


@pytest.fixture(scope="session")
def spec():
    return specs.load_spec("reported_effects")


@pytest.fixture(scope="session")
def paper(spec):
    return evidence.load_paper(spec.evidence_path)


@pytest.fixture(scope="session")
def prior_sets(spec):
    return specs.load_prior_sets(spec.prior_sets_path)


@pytest.fixture(scope="session")
def thresholds():
    return gate.load_thresholds()


@pytest.fixture(scope="session")
def sampler(spec, paper, prior_sets):
    """The reported-effects model, compiled once for the whole session (default profile)."""
    model = reported_effects.build_model(spec, paper, prior_sets, prior_sets.default)
    return Sampler(model, load_profile("default"))


@pytest.fixture(scope="session")
def traces(sampler, spec, paper, prior_sets):
    """One default-profile posterior per named prior set, as `make fit` draws them."""
    return {
        name: sampler.sample(reported_effects.prior_data(spec, paper, prior_sets, name), SEED)
        for name in prior_sets.names
    }


@pytest.fixture(scope="session")
def weibull_families(tmp_path_factory):
    """Exponential and Weibull fitted to 200 patients simulated from a Weibull with shape 2.5."""
    folder = tmp_path_factory.mktemp("families")
    rng = np.random.default_rng(3)
    n = 200
    x = rng.binomial(1, 0.5, n)
    params = {"log_median": 0.0, "log_shape": math.log(2.5)}
    times = family("weibull").sample_times(params, 0.8 * x, 10.0, rng)
    censor = rng.uniform(5, 30, n)
    frame = pd.DataFrame(
        {"t": np.minimum(times, censor), "e": (times <= censor).astype(int), "x": x}
    )
    frame.to_csv(folder / "weibull.csv", index=False)
    flags = Overrides(data=folder / "weibull.csv", time="t", event="e", covariates=["x"])
    return family_run.compare_families(
        flags=flags, likelihoods=["exponential", "weibull"], profile="quick", seed=4,
        out=folder / "run",
    )  # fmt: skip
