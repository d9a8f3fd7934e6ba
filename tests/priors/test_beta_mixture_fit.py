"""Beta-mixture fits to draws of a rate: recovery of known mixtures, and the EM's M-step
against a general-purpose optimiser."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, special

from netlm_bayes.priors.beta_mixture_fit import _m_step, auto_beta, beta_em


def test_one_beta_is_recovered_from_its_draws():
    x = np.random.default_rng(0).beta(4, 16, 20_000)
    fit = beta_em(x, 1)
    assert fit.a[0] == pytest.approx(4, rel=0.05) and fit.b[0] == pytest.approx(16, rel=0.05)


def test_a_two_component_mixture_is_chosen_and_recovered():
    rng = np.random.default_rng(1)
    informative = rng.random(20_000) < 0.7
    x = np.where(informative, rng.beta(20, 60, 20_000), rng.beta(2, 2, 20_000))
    fit = auto_beta(x)
    assert len(fit.weights) == 2
    order = np.argsort(-fit.a)
    assert fit.weights[order] == pytest.approx([0.7, 0.3], abs=0.03)
    assert fit.a[order][0] / (fit.a[order][0] + fit.b[order][0]) == pytest.approx(0.25, abs=0.01)


def test_the_m_step_is_the_weighted_maximum_likelihood():
    rng = np.random.default_rng(2)
    x = rng.beta(3, 7, 2000)
    r = rng.uniform(size=2000)
    s1, s2, mass = r @ np.log(x), r @ np.log1p(-x), r.sum()
    ours = np.array(_m_step(s1, s2, mass, 1.0, 1.0))

    def negative(log_ab):
        a, b = np.exp(log_ab)
        return -((a - 1) * s1 + (b - 1) * s2 - mass * special.betaln(a, b))

    general = np.exp(optimize.minimize(negative, np.zeros(2), method="Nelder-Mead",
                                       options={"xatol": 1e-10, "fatol": 1e-12}).x)  # fmt: skip
    assert ours == pytest.approx(general, rel=1e-5)
