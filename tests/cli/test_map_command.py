"""`netlm-bayes map` end to end: a MAP prior from the bundled studies file, used by `fit
--prior` (with the conflict check) and by `plan --prior`; and one clear error per bad flag."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from netlm_bayes import paths
from netlm_bayes.cli.app import app
from netlm_bayes.priors import exported as exportedprior

runner = CliRunner()
STUDIES = paths.DATA_DIR / "studies" / "tae_next_centre.toml"
COHORT = paths.DATA_DIR / "pseudo_cohort.csv"


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def hr_map(tmp_path_factory):
    out = tmp_path_factory.mktemp("map") / "hr.json"
    result = _invoke("map", STUDIES, "--quantity", "hr_htb_gt25", "--out", out, "--seed", 3)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_map_writes_a_prior_fit_and_plan_read(hr_map):
    out, output = hr_map
    assert {p.name for p in out.parent.iterdir()} >= {"hr.json", "hr.csv", "hr.png", "hr.rbest"}
    prior = exportedprior.read(out)
    assert prior.effects == ("htb_gt25",) and prior.family == "weibull"
    assert prior.provenance["illustrative_studies"] == ["illustrative-A", "illustrative-B"]
    assert "ILLUSTRATIVE" in output and "ESS of the MAP prior" in output
    table = pd.read_csv(out.with_suffix(".csv"))
    assert list(table["study"].dropna()) == ["zhao", "illustrative-A", "illustrative-B"]
    assert table["data_origin"].str.contains("ILLUSTRATIVE").all()
    rbest = json.loads((out.parent / "hr.rbest" / "htb_gt25.json").read_text())
    assert rbest["meta"]["class"] == ["normMix", "mix"]
    info = " ".join(_invoke("prior-info", out).output.split())
    assert "MAP prior for hr_htb_gt25" in info and "events by ELIR" in info
    assert "ILLUSTRATIVE" in info


@pytest.mark.slow  # a patient-level fit each (about 20 s)
def test_fit_takes_the_map_prior_with_its_conflict_check(hr_map, tmp_path):
    out, _ = hr_map
    run = tmp_path / "fit"
    result = _invoke("fit", "hpfs_weibull", "--data", COHORT, "--prior", out, "--profile",
                     "quick", "--seed", 4, "--out", run)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "ILLUSTRATIVE" in result.output
    conflict = pd.read_csv(run / "conflict.csv").set_index("parameter")
    assert conflict.loc["htb_gt25", "box_p"] > 0.05
    # plan simulates whole cohorts: join a baseline, from this run's own export
    baseline = tmp_path / "baseline.json"
    assert _invoke("export-prior", run, "--out", baseline).exit_code == 0
    full = tmp_path / "hr_full.json"
    result = _invoke("map", STUDIES, "--quantity", "hr_htb_gt25", "--robust", 0.2,
                     "--baseline-from", baseline, "--out", full)  # fmt: skip
    assert result.exit_code == 0, result.output
    joined = exportedprior.read(full)
    assert set(joined.prior.names) == {"htb_gt25", "log_shape", "log_median_at_pattern"}
    planned = tmp_path / "plan"
    result = _invoke("plan", "--prior", full, "--criterion", "P(HR_htb_gt25 > 1) > 0.95",
                     "--n", "40,80", "--simulations", 40, "--out", planned)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "ILLUSTRATIVE" in result.output
    assurance = pd.read_csv(planned / "assurance.csv")
    assert assurance["assurance"].between(0, 1).all() and len(assurance) == 2


@pytest.mark.slow  # a patient-level fit each (about 20 s)
def test_an_orr_map_prior_is_coded_as_the_logistic_models_non_response(tmp_path):
    out = tmp_path / "orr.json"
    assert _invoke("map", STUDIES, "--quantity", "orr", "--out", out).exit_code == 0
    prior = exportedprior.read(out)
    # ORR about 0.8 means non-response about 0.2: a negative intercept
    assert prior.prior.mean()[0] < -1.0
    run = tmp_path / "fit"
    # the marginal ORR is the intercept of a model without covariates
    result = _invoke("fit", "response_logistic", "--data", COHORT, "--covariates", "none",
                     "--prior", out, "--profile", "quick", "--out", run)  # fmt: skip
    assert result.exit_code == 0, result.output
    conflict = pd.read_csv(run / "conflict.csv").set_index("parameter")
    assert conflict.loc["intercept_at_pattern", "box_p"] > 0.05
    # had the sign been wrong (a prior on logit ORR, +1.3, against -1.7), p would be ~0


def test_a_rate_map_prior_is_also_a_beta_mixture_that_oc_reads(tmp_path):
    """`map --quantity orr` writes orr.beta.json: the predictive of a new study's ORR as a
    Beta mixture, within 0.01 of the draws at every checked quantile, which `oc` takes as
    a binary prior."""
    out = tmp_path / "orr.json"
    result = _invoke("map", STUDIES, "--quantity", "orr", "--out", out, "--seed", 3)
    assert result.exit_code == 0, result.output
    beta = json.loads((tmp_path / "orr.beta.json").read_text())
    assert beta["prior"].startswith("beta:") and "orr.beta.json" in result.output
    check = beta["quantiles_before_robust"]
    gaps = [abs(d - m) for d, m in zip(check["draws"], check["mixture"], strict=True)]
    assert max(gaps) < 0.01, check
    assert 0.6 < check["mixture"][3] < 0.95  # median ORR near the studies' 0.8
    oc = _invoke("oc", "--prior-treatment", "beta:1,1", "--n-treatment", 40,
                 "--prior-control", tmp_path / "orr.beta.json", "--n-control", 20,
                 "--success", "P(treatment - control > 0) > 0.975", "--control-rates", "0.8",
                 "--out", tmp_path / "oc")  # fmt: skip
    assert oc.exit_code == 0, oc.output
    # built on invented studies: said on the console and in every row of oc.csv
    assert "ILLUSTRATIVE" in oc.output
    assert pd.read_csv(tmp_path / "oc" / "oc.csv")["data_origin"].str.contains("ILLUSTRATIVE").all()


def test_a_quantity_no_model_has_gets_its_table_and_plot_but_no_prior_file(tmp_path):
    out = tmp_path / "sd.json"
    result = _invoke("map", STUDIES, "--quantity", "sd_rate", "--out", out)
    assert result.exit_code == 0, result.output
    assert not out.exists() and out.with_suffix(".csv").exists()
    assert "no prior file is written" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quantity", "hr_age"], "not a quantity"),
        (["--quantity", "median_hpfs", "--tau-prior", "wide"], "--tau-prior 'wide'"),
        (["--quantity", "hr_htb_gt25", "--tau-prior", "halfnormal:-1"], "must be > 0"),
        (["--quantity", "hr_htb_gt25", "--new-stratum", "x"], "--new-stratum needs --strata"),
        (["--quantity", "hr_htb_gt25", "--strata", "--new-stratum", "x"], "the strata are"),
        (["--quantity", "hr_htb_gt25", "--robust", "1.5"], "a weight in [0, 1)"),
        (["--quantity", "hr_htb_gt25", "--out", "x.csv"], "name it <something>.json"),
    ],
)  # fmt: skip
def test_bad_flags_get_one_clear_error(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _invoke("map", STUDIES, *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_existing_files_are_kept_unless_overwrite(hr_map):
    out, _ = hr_map
    result = _invoke("map", STUDIES, "--quantity", "hr_htb_gt25", "--out", out)
    assert result.exit_code == 2 and "give --overwrite" in " ".join(result.output.split())


HEART_AGE_STUDIES = """
title = "Age and survival after heart transplant: three cohorts (ILLUSTRATIVE numbers)"

[quantities.hr_age]
measure = "HR"
per = "1 year of age"
values = "continuous"
range = [18, 90]

[[studies]]
id = "cohort-a"
illustrative = true
citation = "ILLUSTRATIVE: a first cohort, invented to show the format"
[studies.quantities.hr_age]
estimate = 1.06
ci95 = [1.02, 1.11]
events = 45
quote = "ILLUSTRATIVE: age, HR 1.06 per year (95% CI 1.02-1.11)."

[[studies]]
id = "cohort-b"
illustrative = true
citation = "ILLUSTRATIVE: a second cohort, invented to show the format"
[studies.quantities.hr_age]
estimate = 1.03
ci95 = [1.00, 1.07]
events = 60
quote = "ILLUSTRATIVE: age, HR 1.03 per year (95% CI 1.00-1.07)."
"""


def test_a_quantity_of_ones_own_gives_a_prior_that_fit_checks_against_the_cohort(tmp_path):
    """`map` for a hospital's own covariate (the case that was refused): the prior is coded
    as declared, fit --prior takes it for a cohort with that covariate in range, and refuses
    one whose ages are in months (out of the declared range)."""
    import statsmodels.api as sm

    from netlm_bayes.fitting.patient_spec import Overrides, load, read_data
    from netlm_bayes.fitting.prior_choice import check_coding

    studies = tmp_path / "heart.toml"
    studies.write_text(HEART_AGE_STUDIES)
    out = tmp_path / "hr_age.json"
    result = _invoke("map", studies, "--quantity", "hr_age", "--out", out, "--seed", 3)
    assert result.exit_code == 0, result.output
    prior = exportedprior.read(out)
    assert prior.effects == ("age",) and prior.family == "weibull"
    coded = prior.coding["age"]
    assert (coded["values"], coded["min"], coded["max"]) == ("continuous", 18, 90)
    assert "per 1 year of age" in prior.coding["age"]["coding"]
    heart = sm.datasets.heart.load_pandas().data
    flags = dict(time="survival", event="censors", covariates=["age"], time_unit="days")
    for ages, accepted in ((heart["age"], True), (heart["age"] * 12 + 300, False)):
        cohort = tmp_path / f"heart-{accepted}.csv"
        heart.assign(age=ages).to_csv(cohort, index=False)
        spec = load("hpfs_weibull", Overrides(data=cohort, **flags))
        if accepted:
            check_coding(prior, spec, read_data(spec), out)
        else:
            with pytest.raises(Exception, match="does not overlap the prior's 18 to 90"):
                check_coding(prior, spec, read_data(spec), out)


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ('measure = "HR"\nper = "1 year"\nvalues = "continuous"', "needs range = [low, high]"),
        ('measure = "HR"\nvalues = "0/1"', "say how its covariate is coded"),
        ('measure = "OR"\nper = "1 year"\nvalues = "0/1"', "an OR is named or_<covariate>"),
        ('measure = "median"\nper = "1 year"', "a median has no covariate: remove per"),
        ('measure = "odds"', "measure"),
    ],
)
def test_a_bad_declaration_is_named(declaration, message, tmp_path):
    studies = tmp_path / "bad.toml"
    studies.write_text(HEART_AGE_STUDIES.replace(
        'measure = "HR"\nper = "1 year of age"\nvalues = "continuous"\nrange = [18, 90]',
        declaration,
    ))  # fmt: skip
    result = _invoke("map", studies, "--quantity", "hr_age", "--out", tmp_path / "x.json")
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_an_undeclared_quantity_says_how_to_declare_it(tmp_path):
    result = _invoke("map", STUDIES, "--quantity", "hr_age", "--out", tmp_path / "x.json")
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "declare it there in [quantities.hr_age]" in text
