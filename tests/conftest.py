"""Shared fixtures: the bundled evidence, specs, and one compiled reported-effects model."""

from __future__ import annotations

import pytest

from netlm_bayes import checks, evidence, inference, reported_effects, specs

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
    return checks.load_thresholds()


@pytest.fixture(scope="session")
def sampler(spec, paper, prior_sets):
    """The reported-effects model, compiled once for the whole session (default profile)."""
    model = reported_effects.build_model(spec, paper, prior_sets, prior_sets.default)
    return inference.Sampler(model, inference.load_profile("default"))


@pytest.fixture(scope="session")
def traces(sampler, spec, paper, prior_sets):
    """One default-profile posterior per named prior set, as `make fit` draws them."""
    return {
        name: sampler.sample(reported_effects.prior_data(spec, paper, prior_sets, name), SEED)
        for name in prior_sets.names
    }
