"""The EM mixture fit: it recovers a known mixture, and the penalised AIC keeps one
component for normal draws."""

from __future__ import annotations

import numpy as np
import pytest

from netlm_bayes.priors.mixture_fit import NormalMixture, automix, em, quantile_check


def test_em_recovers_a_known_two_component_mixture():
    rng = np.random.default_rng(1)
    x = np.r_[rng.normal(-1.0, 0.3, 6000), rng.normal(1.5, 0.6, 4000)]
    fit = em(x, 2)
    order = np.argsort(fit.means)
    assert fit.weights[order] == pytest.approx([0.6, 0.4], abs=0.02)
    assert fit.means[order] == pytest.approx([-1.0, 1.5], abs=0.03)
    assert fit.sds[order] == pytest.approx([0.3, 0.6], abs=0.03)


def test_automix_keeps_one_component_for_normal_draws_and_more_for_a_mixture():
    rng = np.random.default_rng(2)
    assert automix(rng.normal(0.4, 0.7, 8000)).components == 1
    mixed = np.r_[rng.normal(0.0, 0.2, 5000), rng.normal(0.0, 1.0, 5000)]
    chosen = automix(mixed)
    assert chosen.components >= 2
    # against the generating mixture (the draws' own extreme quantiles carry sampling noise)
    truth = NormalMixture(np.array([0.5, 0.5]), np.zeros(2), np.array([0.2, 1.0]))
    for p in (0.025, 0.25, 0.5, 0.75, 0.975):
        assert chosen.mixture.quantile(p) == pytest.approx(truth.quantile(p), abs=0.05)


def test_heavy_tailed_draws_are_matched_in_their_quantiles():
    """A normal scale mixture, as a MAP predictive with uncertain tau is."""
    rng = np.random.default_rng(3)
    x = rng.standard_t(4, 10000) * 0.3 + 1.2
    check = quantile_check(x, automix(x).mixture)
    assert np.abs(check["difference"]).max() < 0.05
