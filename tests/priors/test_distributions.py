"""Prior objects print themselves, compare by value and round-trip through dicts."""

from __future__ import annotations

import json
import math

import pytest

from netlm_bayes.priors.distributions import Dirichlet, Normal, from_dict


def test_normal_prints_like_bambi():
    assert str(Normal(0.0, 2.5)) == "Normal(mu: 0, sigma: 2.5)"


def test_dirichlet_prints_its_categories():
    assert str(Dirichlet({"PR": 1.0, "SD": 2.0, "PD": 0.5})) == "Dirichlet(PR: 1, SD: 2, PD: 0.5)"


@pytest.mark.parametrize(
    "prior", [Normal(-1.0986, 0.6679), Dirichlet({"PR": 16.0, "SD": 3.0, "PD": 1.0})]
)
def test_round_trip_through_json(prior):
    again = from_dict(json.loads(json.dumps(prior.to_dict())))
    assert again == prior
    assert str(again) == str(prior)


@pytest.mark.parametrize("bad", [dict(mu=0.0, sigma=0.0), dict(mu=math.nan, sigma=1.0)])
def test_normal_refuses_nonsense(bad):
    with pytest.raises(ValueError):
        Normal(**bad)


def test_dirichlet_refuses_zero_concentration():
    with pytest.raises(ValueError):
        Dirichlet({"PR": 0.0, "SD": 1.0})


def test_unknown_family():
    with pytest.raises(ValueError, match="unknown prior family"):
        from_dict({"family": "cauchy", "mu": 0})


def test_tail_probability():
    assert Normal(0.0, math.log(3) / 1.6448536).prob_ratio_above(3.0) == pytest.approx(
        0.05, abs=1e-6
    )
