"""The normal-mixture prior's verbs against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from netlm_bayes.errors import InputError
from netlm_bayes.priors.mixture import Component, MixturePrior, rbest_normmix


def _prior():
    cov = np.array([[0.25, 0.1], [0.1, 0.5]])
    return MixturePrior(("x", "y"), (Component(1.0, np.array([1.0, -0.5]), cov),))


def test_it_round_trips_through_a_dict():
    prior = _prior().robustify(0.2, np.eye(2) * 4, np.zeros(2))
    again = MixturePrior.from_dict(prior.to_dict())
    assert again.names == prior.names
    for a, b in zip(again.components, prior.components, strict=True):
        assert a.label == b.label and a.weight == b.weight
        np.testing.assert_array_equal(a.mean, b.mean)
        np.testing.assert_array_equal(a.cov, b.cov)


def test_robustify_rescales_weights_and_adds_the_vague_component():
    prior = _prior().robustify(0.3, np.eye(2) * 9, np.zeros(2))
    assert prior.weights == pytest.approx([0.7, 0.3])
    assert prior.components[1].label == "robust"
    assert prior.cov()[0, 0] == pytest.approx(0.7 * 0.25 + 0.3 * 9 + 0.7 * 0.3 * 1.0**2)


def test_discount_inflates_only_the_informative_covariance():
    prior = _prior().robustify(0.2, np.eye(2), np.zeros(2)).discount(0.5)
    np.testing.assert_allclose(prior.components[0].cov, _prior().components[0].cov * 2)
    np.testing.assert_allclose(prior.components[1].cov, np.eye(2))


def test_the_marginal_and_quantiles_of_one_normal_are_exact():
    marginal = _prior().marginal(["y"])
    assert marginal.components[0].cov[0, 0] == 0.5
    assert _prior().quantile("y", 0.975) == pytest.approx(stats.norm.ppf(0.975, -0.5, 0.5**0.5))


def test_update_is_the_conjugate_normal_posterior():
    prior = MixturePrior(("t",), (Component(1.0, np.array([1.0]), np.array([[0.5]])),))
    post = prior.update(np.array([2.0]), np.array([[0.25]]))
    precision = 1 / 0.5 + 1 / 0.25
    assert post.components[0].cov[0, 0] == pytest.approx(1 / precision)
    assert post.components[0].mean[0] == pytest.approx((1.0 / 0.5 + 2.0 / 0.25) / precision)


def test_update_moves_weight_away_from_a_conflicting_component():
    prior = MixturePrior(
        ("t",),
        (
            Component(0.8, np.array([2.0]), np.array([[0.04]])),
            Component(0.2, np.array([0.0]), np.array([[4.0]]), "robust"),
        ),
    )
    agreeing = prior.update(np.array([2.1]), np.array([[0.04]]))
    clashing = prior.update(np.array([-1.0]), np.array([[0.04]]))
    assert agreeing.weights[0] > 0.9
    assert clashing.weights[0] < 0.01


def test_samples_have_the_mixture_moments():
    prior = _prior().robustify(0.2, np.eye(2) * 4, np.zeros(2))
    draws = prior.sample(np.random.default_rng(0), 200_000)
    np.testing.assert_allclose(draws.mean(0), prior.mean(), atol=0.02)
    np.testing.assert_allclose(np.cov(draws, rowvar=False), prior.cov(), atol=0.05)


@pytest.mark.parametrize(
    ("components", "message"),
    [
        ((Component(0.5, np.zeros(2), np.eye(2)),), "sum to 0.5"),
        ((Component(1.0, np.zeros(2), -np.eye(2)),), "not positive definite"),
        ((Component(1.0, np.zeros(3), np.eye(3)),), "must be 2 and 2x2"),
        ((Component(1.0, np.array([0.0, np.nan]), np.eye(2)),), "must be finite"),
    ],
)
def test_a_malformed_prior_is_refused(components, message):
    with pytest.raises(InputError, match=message):
        MixturePrior(("x", "y"), components)


def test_rbest_json_has_the_normmix_layout():
    prior = _prior().robustify(0.2, np.eye(2) * 4, np.zeros(2))
    mix = rbest_normmix(prior, "x", unit_sd=2.0)
    assert mix["meta"]["dim"] == [3, 2]
    assert mix["meta"]["dimnames"] == [["w", "m", "s"], ["informative", "robust"]]
    assert mix["comp"] == [[0.8, 0.2], [1.0, 0.0], [0.5, 2.0]]
    assert mix["meta"]["sigma"] == [2.0]


def test_the_mixture_cdf_is_the_weighted_normal_cdfs():
    prior = _prior().robustify(0.2, np.eye(2) * 4, np.zeros(2))
    expected = 0.8 * stats.norm.cdf(0.3, 1.0, 0.5) + 0.2 * stats.norm.cdf(0.3, 0.0, 2.0)
    assert prior.cdf("x", 0.3) == pytest.approx(expected)
    assert prior.cdf("x", prior.quantile("x", 0.9)) == pytest.approx(0.9)


def test_joined_priors_are_independent_with_every_pair_of_components():
    a = MixturePrior(("x",), (Component(0.7, np.array([1.0]), np.array([[0.1]])),
                              Component(0.3, np.array([0.0]), np.array([[1.0]]), "robust")))  # fmt: skip
    b = MixturePrior(("y", "z"), (Component(1.0, np.array([2.0, 3.0]), np.diag([0.2, 0.3])),))
    joined = a.joined(b)
    assert joined.names == ("x", "y", "z")
    assert [c.label for c in joined.components] == ["informative", "robust"]
    point = np.array([[0.8, 2.1, 2.7]])
    expected = a.logpdf(point[:, :1]) + b.logpdf(point[:, 1:])
    assert joined.logpdf(point) == pytest.approx(expected)
    assert joined.marginal(["y", "z"]).mean() == pytest.approx(b.mean())
