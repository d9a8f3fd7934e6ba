"""Decision rules for a normal endpoint: the published operating characteristics of
Neuenschwander et al. (2011) and Gsponer et al. (2014, Table 1) to the precision they were
printed, and the exact machinery against brute force (conjugate posteriors against
quadrature, OC against simulated trials, the boundary flipping where it says)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from typer.testing import CliRunner

from netlm_bayes.cli.app import app
from netlm_bayes.errors import InputError
from netlm_bayes.planning import normal_decisions
from netlm_bayes.planning.decisions import Criterion
from netlm_bayes.planning.normal_decisions import (
    NormalDesign,
    NormalMixture,
    posterior_probability,
)

# Neuenschwander et al. (2011), Statist. Med. 30:1618, the non-inferiority example on the
# log-HR scale: s = 2 per event, margin 0.4, a vague N(0, 100^2) prior.
NI_PRIOR = NormalMixture.parse("normal:0,100", "prior_treatment")
NI_MARGIN = "P(treatment < 0.4) > 0.95"
NI_CRITICAL = 0.4 - stats.norm.ppf(0.95) * 2 / np.sqrt(155)


def _ni(n: int, *criteria: str) -> NormalDesign:
    return NormalDesign(NI_PRIOR, n, tuple(Criterion.parse(c) for c in criteria), 2.0)


@pytest.mark.parametrize(
    ("events", "power_at_0"),
    [(155, 0.80), (233, 0.92), (77, 0.55)],  # the paper's 1 - beta at each number of events
)
def test_neuenschwander_2011_classical_ni_design(events, power_at_0):
    power, type_one = _ni(events, NI_MARGIN).p_success(np.array([0.0, 0.4]))
    assert round(type_one, 2) == 0.05
    assert power == pytest.approx(power_at_0, abs=0.01)  # printed to 2 decimals, read off


def test_neuenschwander_2011_critical_value():
    """The boundary in closed form (the posterior's upper 95% point at the margin, under
    the N(0, 100^2) prior), and the paper's classical c1, which ignores that prior."""
    (region,) = _ni(155, NI_MARGIN).regions()
    variance = 1 / (1 / 100**2 + 155 / 4)
    closed_form = (0.4 - stats.norm.ppf(0.95) * np.sqrt(variance)) * 4 / (155 * variance)
    assert region[0][0] == -np.inf and region[0][1] == pytest.approx(closed_form, abs=1e-12)
    assert region[0][1] == pytest.approx(NI_CRITICAL, abs=1e-5)


@pytest.mark.parametrize(
    ("events", "at_critical", "at_margin"),
    [(155, 0.50, 0.05), (233, 0.50, 0.02), (78, 0.32, 0.05)],
)
def test_neuenschwander_2011_dual_criterion(events, at_critical, at_margin):
    """Significance plus a clinically relevant estimate (the posterior median below the
    classical critical value): two criteria that must both hold."""
    design = _ni(events, NI_MARGIN, f"P(treatment < {NI_CRITICAL}) > 0.5")
    p = design.p_success(np.array([NI_CRITICAL, 0.4]))
    assert np.round(p, 2).tolist() == [at_critical, at_margin]


def _gsponer(*criteria: str) -> NormalDesign:
    """Gsponer et al. (2014), Pharm. Stat. 13:71, Table 1 (interim): sigma 88; treatment
    N(0, 88^2 / 0.001), placebo N(-49, 88^2 / 20); 20 on treatment, 10 on placebo."""
    return NormalDesign(
        NormalMixture.parse(f"normal:0,{88 / np.sqrt(0.001)}", "prior_treatment"), 20,
        tuple(Criterion.parse(c) for c in criteria), 88.0,
        NormalMixture.parse(f"normal:-49,{88 / np.sqrt(20)}", "prior_control"), 10,
    )  # fmt: skip


def test_gsponer_2014_table_1_success_and_futility():
    delta = np.array([0, 40, 50, 60, 70])  # placebo - treatment: lower is better
    treatment, control = -49.0 - delta, np.full(5, -49.0)
    success = _gsponer("P(treatment - control < 0) > 0.95", "P(treatment - control < -50) > 0.5")
    futility = _gsponer("P(treatment - control > -40) > 0.9")
    printed_success = [1.1, 32.2, 50.0, 67.6, 82.2]
    printed_futility = [63.3, 6.8, 2.5, 0.8, 0.2]
    ours_success = 100 * success.p_success(treatment, control)
    ours_futility = 100 * futility.p_success(treatment, control)
    # printed to 0.1%; 5 of 10 cells match exactly and the others differ by 0.1
    assert np.abs(ours_success - printed_success).max() < 0.15
    assert np.abs(ours_futility - printed_futility).max() < 0.15


def test_the_posterior_matches_quadrature_of_prior_times_likelihood():
    prior = NormalMixture.parse("normal:0.6,0.3,0.5;0.4,-0.2,1.5", "prior_treatment")
    post = prior.updated(np.array([0.9]), 0.4)
    density = lambda t: np.exp(  # noqa: E731
        np.log(sum(w * stats.norm.pdf(t, m, s) for w, m, s in
                   zip(prior.weights, prior.means, prior.sds, strict=True)))
        + stats.norm.logpdf(0.9, t, 0.4))  # fmt: skip
    total = integrate.quad(density, -20, 20)[0]
    criterion = Criterion.parse("P(treatment > 0.5) > 0.9")
    exact = integrate.quad(density, 0.5, 20)[0] / total
    single = NormalMixture(post.weights[0], post.means[0], post.sds[0])
    assert posterior_probability(criterion, single) == pytest.approx(exact, abs=1e-9)


def test_two_sample_oc_matches_simulated_trials():
    """P(success) against 20,000 trials per truth, each decided by its own posterior."""
    design = _gsponer("P(treatment - control < 0) > 0.95", "P(treatment - control < -50) > 0.5")
    rng = np.random.default_rng(3)
    for treatment, control in ((-49.0, -49.0), (-99.0, -49.0), (-60.0, -20.0)):
        y_t = rng.normal(treatment, design.se_treatment, 20_000)
        y_c = rng.normal(control, design.se_control, 20_000)
        simulated = design.decide(y_t, y_c).mean()
        exact = design.p_success(np.array([treatment]), np.array([control]))[0]
        se = np.sqrt(max(exact * (1 - exact), 1e-4) / 20_000)
        assert exact == pytest.approx(simulated, abs=4 * se), (treatment, control)


def test_the_quadrature_is_within_its_stated_error(monkeypatch):
    design = _gsponer("P(treatment - control < -20) > 0.8")
    truths = (np.array([-49.0, -80.0, -120.0]), np.full(3, -49.0))
    coarse = design.p_success(*truths)
    monkeypatch.setattr(normal_decisions, "HERMITE_NODES", 128)
    normal_decisions._hermite.cache_clear()
    try:
        fine = design.p_success(*truths)
    finally:
        normal_decisions._hermite.cache_clear()
    assert np.abs(coarse - fine).max() < 1e-6


def test_the_decision_flips_at_the_boundary_one_step_either_side():
    design = _gsponer("P(treatment - control < -20) > 0.8")
    controls = np.array([-80.0, -49.0, 0.0])
    for control, intervals in zip(controls, design.regions(controls), strict=True):
        ((low, high),) = intervals
        assert low == -np.inf
        step = 1e-9 * max(1.0, abs(high))
        assert design.decide(np.array([high - step, high + step]), control).tolist() == [
            True, False]  # fmt: skip


def test_a_prior_so_strong_only_absurd_data_decide_and_a_rule_that_cannot_hold_says_never():
    """Treatment believed at 0 +- 0.001 (a million patients' worth): 20 patients with SD 1
    would need a mean near 50,000 to make P(treatment > 1) > 0.9. Unlike a binary arm, a
    normal mean is unbounded, so the boundary is that number (in closed form), and P(success)
    is 0 at any plausible truth. Criteria that contradict each other give 'never'."""
    strong = NormalMixture.parse("normal:0,0.001", "prior_treatment")
    design = NormalDesign(strong, 20, (Criterion.parse("P(treatment > 1) > 0.9"),), 1.0)
    variance = 1 / (1 / 0.001**2 + 20)
    closed_form = (1 + stats.norm.ppf(0.9) * np.sqrt(variance)) / (20 * variance)
    ((low, high),) = design.regions()[0]
    assert low == pytest.approx(closed_form, rel=1e-12) and high == np.inf
    assert design.p_success(np.array([-5.0, 0.0, 5.0])).tolist() == [0.0, 0.0, 0.0]
    both = NormalDesign(NI_PRIOR, 20, (Criterion.parse("P(treatment > 1) > 0.9"),
                                       Criterion.parse("P(treatment < 0) > 0.9")), 1.0)  # fmt: skip
    assert both.critical_table()["treatment_mean_to_succeed"].iloc[0] == "never"
    assert both.p_success(np.array([0.0, 1.0])).tolist() == [0.0, 0.0]


def test_probability_of_success_is_the_oc_averaged_over_the_priors():
    design = _gsponer("P(treatment - control < -30) > 0.8")
    design = NormalDesign(NormalMixture.parse("normal:-90,20", "prior_treatment"), 20,
                          design.criteria, 88.0, design.prior_control, 10)  # fmt: skip
    rng = np.random.default_rng(5)
    theta_t = rng.normal(-90, 20, 4000)
    theta_c = rng.normal(-49, 88 / np.sqrt(20), 4000)
    y_t = rng.normal(theta_t, design.se_treatment)
    y_c = rng.normal(theta_c, design.se_control)
    simulated = design.decide(y_t, y_c).mean()
    assert design.probability_of_success() == pytest.approx(simulated, abs=4 * np.sqrt(0.25 / 4000))


def test_interim_data_make_the_rest_of_the_trial_conditional():
    """Given the first half, the conditional design analyses all the data with the
    original prior: its decision at the final mean equals the full design's."""
    full = _ni(155, NI_MARGIN)
    rest = full.after_interim((0.1, 80), None)
    assert rest.n_treatment == 75
    final_means = np.array([0.0, 0.12, 0.3])
    y_rest = (155 * final_means - 80 * 0.1) / 75
    assert (rest.decide(y_rest) == full.decide(final_means)).all()
    with pytest.raises(InputError, match="fewer patients than the arm's planned 155"):
        full.after_interim((0.1, 200), None)


def test_the_oc_command_for_a_normal_endpoint_with_futility(tmp_path):
    out = tmp_path / "oc"
    result = CliRunner().invoke(app, [
        "oc", "--endpoint", "normal", "--sigma", "88",
        "--prior-treatment", f"normal:0,{88 / np.sqrt(0.001)}", "--n-treatment", "20",
        "--prior-control", f"normal:-49,{88 / np.sqrt(20)}", "--n-control", "10",
        "--success", "P(treatment - control < 0) > 0.95",
        "--success", "P(treatment - control < -50) > 0.5",
        "--futility", "P(treatment - control > -40) > 0.9",
        "--control-means", "-49", "--differences", "0,-50", "--robust-weights", "0,1",
        "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "oc.csv")
    assert np.round(100 * table[["p_success", "p_futility"]].to_numpy(), 1).tolist() == [
        [1.1, 63.4], [50.0, 2.5]]  # fmt: skip
    critical = pd.read_csv(out / "critical_values.csv")
    assert critical["treatment_mean_to_succeed"].str.startswith("<= ").all()
    assert (out / "borrowing.png").is_file()


def test_a_map_prior_file_gives_the_marginal_and_its_unit_sd(tmp_path):
    """A MAP prior of a log HR as the design's prior, its per-event SD as sigma."""
    from netlm_bayes import paths
    from netlm_bayes.planning.map_prior import map_prior
    from netlm_bayes.priors import exported as exportedprior

    result = map_prior(paths.PAPER_ALONE_STUDIES, "hr_htb_gt25", "moderate", seed=3)
    path = tmp_path / "map.json"
    exportedprior.write(result.exported, path)
    from_file = NormalMixture.from_prior_file(path, "prior_treatment", None)
    mixture, unit_sd = from_file.prior, from_file.unit_sd
    assert from_file.scale == "log HR" and mixture.null == 0.0
    assert unit_sd == pytest.approx(result.exported.unit_sd("htb_gt25"))
    assert mixture.mean() == pytest.approx(result.exported.prior.mean()[0])
    out = tmp_path / "oc"
    command = CliRunner().invoke(app, [
        "oc", "--endpoint", "normal", "--prior-treatment", str(path), "--n-treatment", "60",
        "--success", "P(treatment > 0) > 0.95", "--treatment-means", "0,0.5", "--out", str(out),
    ])  # fmt: skip
    assert command.exit_code == 0, command.output
    assert pd.read_json(out / "manifest.json", typ="series")["sigma"] == pytest.approx(unit_sd)


def test_bad_normal_priors_get_one_clear_message():
    with pytest.raises(InputError, match="write a normal prior as normal:mean,sd"):
        NormalMixture.parse("normal:0", "prior_treatment")
    with pytest.raises(InputError, match="weights and SDs must be > 0"):
        NormalMixture.parse("normal:0,-1", "prior_treatment")


def test_a_normal_priors_worth_is_sigma_squared_over_its_variance():
    """One normal N(m, s^2) with sampling SD sigma per unit is worth sigma^2 / s^2 units."""
    design = NormalDesign(NormalMixture.parse("normal:0,0.5", "prior_treatment"), 20,
                          (Criterion.parse("P(treatment > 0) > 0.9"),), 2.0)  # fmt: skip
    assert design.prior_ess() == {"treatment": pytest.approx(16.0, rel=1e-9)}
