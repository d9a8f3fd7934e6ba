"""The exported prior for R users, as files: RBesT mixtures one per effect, brms code."""

from __future__ import annotations

import json

import numpy as np

from netlm_bayes.priors import for_r
from netlm_bayes.priors.mixture import Component, MixturePrior


class _Exported:
    """The parts of an ExportedPrior that the R writers read."""

    def __init__(self, prior, scale="log_or"):
        self.prior, self.scale = prior, scale
        self.effects = ("age", "tgrade[II]")
        self.provenance = {"data_origin": "as supplied"}

    def unit_sd(self, name):
        return 2.0


def _prior(names=("age", "tgrade[II]")):
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    prior = MixturePrior(names, (Component(1.0, np.array([0.1, -0.5]), cov),))
    return prior.robustify(0.2, np.eye(2) * 4, np.zeros(2))


def test_each_effect_is_its_own_rbest_file_named_for_the_file_system(tmp_path):
    folder = for_r.write_rbest_folder(_Exported(_prior()), tmp_path / "p.rbest")
    assert sorted(p.name for p in folder.iterdir()) == ["age.json", "tgrade_II.json"]
    mix = json.loads((folder / "tgrade_II.json").read_text())
    assert set(mix) == {"meta", "comp"}  # exactly what RBesT's read_mix_json reads
    assert mix["comp"] == [[0.8, 0.2], [-0.5, 0.0], [0.3, 2.0]]


def test_brms_code_carries_the_joint_mixture_with_brms_names():
    code = for_r.brms_code(_Exported(_prior()), (0.0, 2.5), "run")
    assert 'coefs <- c("age", "tgradeII")' in code
    assert "log(0.8) + multi_normal_lpdf(" in code and "log(0.2) + multi_normal_lpdf(" in code
    assert "[0.1, -0.5]'" in code and "[[0.04, 0.01], [0.01, 0.09]]" in code
    assert 'set_prior("normal(0, 2.5)", class = "Intercept")' in code


def test_a_log_hr_prior_for_brms_weibull_says_it_is_an_approximation():
    names = ("age", "tgrade[II]", "log_shape")
    cov = np.diag([0.04, 0.09, 0.01])
    prior = MixturePrior(names, (Component(1.0, np.array([0.2, -0.4, np.log(2.0)]), cov),))
    code = for_r.brms_code(_Exported(prior, scale="log_hr"), None, "run")
    assert "approximation" in code and "b_AFT = -log HR / k" in code
    assert "[-0.1, 0.2]'" in code  # divided by -k, k = 2
    assert "[[0.01, 0], [0, 0.0225]]" in code
