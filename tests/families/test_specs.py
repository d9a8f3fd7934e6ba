"""Model specs and prior sets: they load without PyMC, say what they claim, and fail clearly."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from netlm_bayes import paths
from netlm_bayes.errors import InputError
from netlm_bayes.families import reported_effects, specs

REQUIRED_SETS = {"minimal", "weakly-informative", "skeptical", "enthusiastic", "pessimistic"}


def test_specs_are_read_without_importing_pymc():
    code = (
        "import sys; from netlm_bayes.families import specs; "
        "s = specs.load_spec('reported_effects'); specs.load_prior_sets(s.prior_sets_path); "
        "sys.exit('pymc' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_the_five_named_prior_sets_exist_with_rationales(prior_sets):
    assert set(prior_sets.names) >= REQUIRED_SETS
    assert prior_sets.default == "weakly-informative"
    for prior_set in prior_sets.prior_sets.values():
        assert len(prior_set.rationale) > 30


def test_minimal_is_nearly_flat(prior_sets):
    assert prior_sets.get("minimal").log_effect.sd_log >= 50


def test_skeptical_gives_small_probability_to_effects_as_large_as_reported(prior_sets, paper, spec):
    skeptical = prior_sets.get("skeptical")
    for name in spec.effects:
        effect = paper.effect(name)
        prior = skeptical.effect_prior(prior_sets.hypothesis(effect.covariate))
        assert prior.mu == 0
        reported = abs(math.log(effect.estimate))
        tail = (
            1
            - prior.prob_ratio_above(math.exp(-reported))
            + prior.prob_ratio_above(math.exp(reported))
        )
        assert tail < 0.05, (name, tail)


def test_skeptical_and_enthusiastic_tails_are_as_their_rationales_say(prior_sets):
    increases = specs.Hypothesis(direction="increases", why="a test hypothesis")
    skeptical = prior_sets.get("skeptical").effect_prior(increases)
    enthusiastic = prior_sets.get("enthusiastic").effect_prior(increases)
    assert skeptical.prob_ratio_above(3.0) == pytest.approx(0.05, abs=1e-3)
    assert 1 - enthusiastic.prob_ratio_above(1.0) == pytest.approx(0.05, abs=1e-3)


def test_directional_sets_follow_the_hypothesis(prior_sets):
    up = prior_sets.hypothesis("pet_positive")
    down = prior_sets.hypothesis("border_clear")
    enthusiastic = prior_sets.get("enthusiastic")
    pessimistic = prior_sets.get("pessimistic")
    assert enthusiastic.effect_prior(up).mu > 0 > enthusiastic.effect_prior(down).mu
    assert pessimistic.effect_prior(up).mu < 0 < pessimistic.effect_prior(down).mu


def test_response_priors_match_their_stated_orr(prior_sets):
    stated = {"skeptical": 0.5, "enthusiastic": 0.8, "pessimistic": 0.3}
    for name, orr in stated.items():
        dirichlet = prior_sets.get(name).response_prior(["PR", "SD", "PD"])
        assert dirichlet.mean("PR") == pytest.approx(orr)
        assert dirichlet.prior_patients == pytest.approx(20)


def test_paper_numbers_never_enter_the_prior(spec, paper, prior_sets):
    """Priors are the same whatever the paper reported."""
    altered = paper.model_copy(
        update={
            "effects": [
                e.model_copy(update={"estimate": e.estimate * 3, "p_printed": "0.2"})
                for e in paper.effects
            ]
        }
    )
    for name in prior_sets.names:
        original = reported_effects.prior_data(spec, paper, prior_sets, name)
        changed = reported_effects.prior_data(spec, altered, prior_sets, name)
        for key in original:
            np.testing.assert_array_equal(original[key], changed[key])


def test_model_names_resolve(spec):
    assert spec.family == "reported_effects"
    assert spec.evidence_path.exists()
    assert spec.prior_sets_path.exists()


def test_spec_effects_name_effects_the_paper_reports(spec, paper, prior_sets):
    for name in spec.effects:
        covariate = paper.effect(name).covariate
        assert covariate in prior_sets.hypotheses


def test_unknown_model_name():
    with pytest.raises(InputError, match=r"unknown model 'weibull_typo'.*reported_effects"):
        specs.load_spec("weibull_typo")


def test_unknown_prior_set(prior_sets):
    with pytest.raises(InputError, match="unknown prior set 'optimistic'"):
        prior_sets.get("optimistic")


BROKEN_SPECS = {
    "wrong family": ('family = "weibul"\n', r"family = 'weibul'"),
    "bad se option": (
        'family = "reported_effects"\nevidence = "data/paper.toml"\neffects = ["hr_htb_gt25"]\n'
        'se = "guess"\nresponse_categories = ["PR", "SD", "PD"]\nresponders = ["PR"]\n'
        'prior_sets = "prior_sets.toml"\n',
        r"se: Input should be 'rounded-p' or 'fixed'",
    ),
    "responder not a category": (
        'family = "reported_effects"\nevidence = "data/paper.toml"\neffects = ["hr_htb_gt25"]\n'
        'se = "fixed"\nresponse_categories = ["PR", "SD", "PD"]\nresponders = ["CR"]\n'
        'prior_sets = "prior_sets.toml"\n',
        r"responders \['CR'\] are not response_categories",
    ),
    "missing key": ('family = "reported_effects"\n', r"evidence: Field required"),
    "not toml": ("family = \n", r"not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_SPECS))
def test_broken_model_file_gives_a_clear_error(tmp_path, case):
    text, pattern = BROKEN_SPECS[case]
    path = tmp_path / "model.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=pattern) as info:
        specs.load_spec(str(path))
    assert str(info.value).startswith(str(path))


def test_prior_set_file_with_a_bad_default(tmp_path):
    text = paths.PRIOR_SETS_FILE.read_text()
    path = tmp_path / "prior_sets.toml"
    path.write_text(text.replace('default = "weakly-informative"', 'default = "vague"'))
    with pytest.raises(InputError, match="default 'vague' is not one of"):
        specs.load_prior_sets(path)


def test_prior_set_with_negative_sd(tmp_path):
    text = paths.PRIOR_SETS_FILE.read_text()
    path = tmp_path / "prior_sets.toml"
    path.write_text(text.replace("sd_log = 2.5", "sd_log = -2.5"))
    with pytest.raises(InputError, match=r"prior_sets\.weakly-informative\.log_effect\.sd_log"):
        specs.load_prior_sets(path)
