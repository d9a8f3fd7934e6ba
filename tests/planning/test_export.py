"""export-prior → fit --prior: the file, its coding check, its conflict report, and the
consistency of carrying a posterior forward (A, then B with A's prior = A and B jointly)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from netlm_bayes.cli.app import app
from netlm_bayes.families.survival.registry import family
from netlm_bayes.planning import export
from netlm_bayes.planning import prior_worth as priorinfo
from netlm_bayes.priors import exported as exportedprior

runner = CliRunner()


def _weibull_cohort(rng, n: int, censor_high: float = 40.0) -> pd.DataFrame:
    x1 = rng.binomial(1, 0.5, n)
    x2 = rng.binomial(1, 0.3, n)
    params = {"log_median": math.log(12.0), "log_shape": math.log(1.3)}
    times = family("weibull").sample_times(params, 0.7 * x1 - 0.4 * x2, 1.0, rng)
    censor = rng.uniform(6, censor_high, n)
    return pd.DataFrame(
        {
            "months": np.round(np.minimum(times, censor), 3).clip(min=0.001),
            "progressed": (times <= censor).astype(int),
            "a": x1,
            "b": x2,
        }
    )


def _write_a_b_and_both(folder, a: pd.DataFrame, b: pd.DataFrame) -> dict:
    """Cohorts A and B, and A and B together, as CSV files: {"a", "b", "ab"} -> path."""
    paths = {}
    for name, frame in {"a": a, "b": b, "ab": pd.concat([a, b])}.items():
        paths[name] = folder / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


def _fit(folder, name, csv, *extra, profile="default"):
    out = folder / name
    args = ["fit", "hpfs_weibull", "--data", str(csv), "--time", "months", "--event", "progressed",
            "--covariates", "a,b", "--profile", profile, "--seed", "11", "--out", str(out), *extra]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("carry")
    rng = np.random.default_rng(2024)
    a, b = _weibull_cohort(rng, 150), _weibull_cohort(rng, 150)
    paths = _write_a_b_and_both(folder, a, b)
    return folder, paths, a


@pytest.fixture(scope="module")
def run_a(cohorts):
    folder, paths, _ = cohorts
    return _fit(folder, "run_a", paths["a"])[0]


@pytest.fixture(scope="module")
def exported_plain(run_a, cohorts):
    folder = cohorts[0]
    out = folder / "prior_a.json"
    result = runner.invoke(app, ["export-prior", str(run_a), "--out", str(out), "--robust", "0"])
    assert result.exit_code == 0, result.output
    return out


def _medians_and_sds(run_dir, at: dict[str, float] | None = None):
    """Posterior medians and SDs of beta, log k and the log median (absolute time) at the
    covariate pattern `at` (default: every covariate 0)."""
    tree = xr.open_datatree(run_dir / "posterior.nc", engine="h5netcdf")
    post = tree["posterior"].to_dataset()
    t_ref = float(tree["constant_data"]["t_ref"].values)
    covariates = [str(c) for c in post["covariate"].values]
    beta = {c: post["beta"].sel(covariate=c).values.ravel() for c in covariates}
    k = np.exp(post["log_shape"].values.ravel())
    shift = sum(beta[c] * (at or {}).get(c, 0.0) for c in covariates)
    draws = {
        **beta,
        "log_shape": post["log_shape"].values.ravel(),
        "log_median_at_pattern": post["log_median"].values.ravel() - shift / k + np.log(t_ref),
    }
    return {k: (np.median(v), np.std(v)) for k, v in draws.items()}


def test_a_then_b_with_the_exported_prior_matches_a_and_b_jointly(cohorts, exported_plain):
    folder, paths, _ = cohorts
    sequential, output = _fit(folder, "run_b", paths["b"], "--prior", str(exported_plain))
    joint, _ = _fit(folder, "run_ab", paths["ab"])
    carried, pooled = _medians_and_sds(sequential), _medians_and_sds(joint)
    for name, (median, _) in carried.items():
        joint_median, joint_sd = pooled[name]
        assert abs(median - joint_median) <= 0.1 * joint_sd, (name, median, joint_median, joint_sd)
    assert "exported prior" in output


def _aged_cohort(rng, n: int, mean_age: float) -> pd.DataFrame:
    """Age in years (uncentred, and older in B than in A) and a 0/1 factor."""
    age = np.round(rng.normal(mean_age, 8.0, n), 1)
    x = rng.binomial(1, 0.4, n)
    params = {"log_median": math.log(200.0), "log_shape": math.log(1.2)}
    times = family("weibull").sample_times(params, 0.05 * age + 0.6 * x, 1.0, rng)
    censor = rng.uniform(3, 30, n)
    return pd.DataFrame(
        {"months": np.round(np.minimum(times, censor), 3).clip(min=0.001),
         "progressed": (times <= censor).astype(int), "age": age, "x": x}
    )  # fmt: skip


@pytest.fixture(scope="module")
def aged_runs(tmp_path_factory):
    """A (mean age 52) then B (mean age 66) with A's exported prior; and A and B jointly."""
    folder = tmp_path_factory.mktemp("aged")
    rng = np.random.default_rng(77)
    a, b = _aged_cohort(rng, 150, 52.0), _aged_cohort(rng, 150, 66.0)
    paths = _write_a_b_and_both(folder, a, b)
    covariates = ("--covariates", "age,x")
    run_a, _ = _fit(folder, "run_a", paths["a"], *covariates)
    prior = folder / "prior.json"
    result = runner.invoke(app, ["export-prior", str(run_a), "--out", str(prior), "--robust", "0"])
    assert result.exit_code == 0, result.output
    assert json.loads(prior.read_text())["baseline_pattern"]["age"] == pytest.approx(
        a["age"].mean()
    )
    sequential, _ = _fit(folder, "run_b", paths["b"], *covariates, "--prior", str(prior))
    joint, _ = _fit(folder, "run_ab", paths["ab"], *covariates)
    at = {"age": 60.0, "x": 0.0}  # the baseline compared at one fixed pattern
    return _medians_and_sds(sequential, at), _medians_and_sds(joint, at)


def _agree(carried: dict, pooled: dict, names: list[str]) -> None:
    for name in names:
        median, (joint_median, joint_sd) = carried[name][0], pooled[name]
        assert abs(median - joint_median) <= 0.1 * joint_sd, (name, median, joint_median, joint_sd)


def test_a_then_b_holds_with_uncentred_covariates_whose_means_differ(aged_runs):
    """The effects and the shape: A's prior, with its baseline stated at A's mean pattern and
    moved exactly to B's centring, gives what A and B give jointly. (Without the move, the
    age effect is 0.8 posterior SD off: measured by switching it off.)"""
    _agree(*aged_runs, ["age", "x", "log_shape"])


@pytest.mark.xfail(
    reason="measured 0.095-0.143 posterior SD between A's and B's mean ages (0.06 at age 0): "
    "the multivariate normal summary of A's posterior, not the move, which is exact",
    strict=False,
)
def test_a_then_b_baseline_holds_with_uncentred_covariates(aged_runs):
    _agree(*aged_runs, ["log_median_at_pattern"])


def test_the_file_round_trips_and_records_coding_and_provenance(exported_plain, cohorts):
    loaded = exportedprior.read(exported_plain)
    again = exportedprior.ExportedPrior(
        **{f: getattr(loaded, f) for f in loaded.__dataclass_fields__}
    )
    assert json.dumps(again.to_dict()) == json.dumps(loaded.to_dict())
    raw = json.loads(exported_plain.read_text())
    assert raw["coding"]["a"]["values"] == "0/1"
    assert raw["outcome"]["time_unit"] == "units of months (unnamed)"
    assert raw["provenance"]["synthetic"] is False
    assert raw["provenance"]["events"] == int(cohorts[2]["progressed"].sum())
    assert loaded.prior.names == ("a", "b", "log_shape", "log_median_at_pattern")
    folder = exported_plain.with_name("prior_a.rbest")
    assert sorted(p.name for p in folder.iterdir()) == ["a.json", "b.json"]  # one per effect
    rbest = json.loads((folder / "a.json").read_text())
    assert rbest["meta"]["class"] == ["normMix", "mix"]
    assert rbest["comp"][1][0] == pytest.approx(loaded.prior.components[0].mean[0])


def test_a_posterior_under_a_weak_prior_is_worth_about_its_events(exported_plain):
    """ESS of the exported posterior ≈ the events it was fitted to (a weak prior adds a
    little; the unit information is the Weibull's own, at the posterior mean)."""
    loaded = exportedprior.read(exported_plain)
    events = loaded.provenance["events"]
    table = priorinfo.ess_table(loaded)
    for row in table.itertuples():
        assert row.ess_elir == pytest.approx(row.ess_moment, rel=1e-6)  # one normal
        assert 0.85 * events <= row.ess_elir <= 1.25 * events, (row.effect, row.ess_elir, events)


def test_robustify_and_discount_lower_the_ess(run_a, cohorts, exported_plain):
    folder = cohorts[0]
    plain = export.from_run(run_a)
    robust = plain.robustify(0.2)
    halved = plain.discount(0.5)
    base = priorinfo.ess_table(plain).set_index("effect")
    assert priorinfo.ess_table(halved).set_index("effect")["ess_elir"].values == pytest.approx(
        0.5 * base["ess_elir"].values
    )
    assert (priorinfo.ess_table(robust)["ess_elir"].values < base["ess_elir"].values).all()
    assert [c.label for c in robust.prior.components] == ["informative", "robust"]
    assert robust.prior.components[1].mean[0] == 0.0  # centred on no effect
    out = folder / "info.png"
    result = runner.invoke(app, ["prior-info", str(exported_plain), "--plot", str(out)])
    assert result.exit_code == 0, result.output
    assert "ESS (ELIR)" in result.output and out.stat().st_size > 10_000


def test_a_conflicting_cohort_is_flagged_and_moves_weight_to_the_robust_part(cohorts, run_a):
    folder, paths, a = cohorts
    prior = folder / "robust.json"
    assert runner.invoke(app, ["export-prior", str(run_a), "--out", str(prior)]).exit_code == 0
    flipped = a.assign(a=1 - a["a"])  # the same patients with the effect reversed
    flipped.to_csv(folder / "flipped.csv", index=False)
    agree, _ = _fit(folder, "agree", paths["b"], "--prior", str(prior), profile="quick")
    clash, output = _fit(
        folder, "clash", folder / "flipped.csv", "--prior", str(prior), profile="quick"
    )
    ok = pd.read_csv(agree / "conflict.csv").set_index("parameter")
    bad = pd.read_csv(clash / "conflict.csv").set_index("parameter")
    assert ok.loc["a", "box_p"] > 0.05
    assert bad.loc["a", "box_p"] < 0.01
    assert (
        bad["informative_weight_posterior"].iloc[0]
        < 0.2
        < ok["informative_weight_posterior"].iloc[0]
    )
    manifest = json.loads((clash / "manifest.json").read_text())
    assert manifest["prior_data_conflict"]["informative_weight"] < 0.2
    assert "conflict" in output.lower()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda raw: raw["coding"]["a"].update(values="continuous", min=20, max=80),
            "codes it continuous",
        ),
        (lambda raw: raw["outcome"].update(time_unit="weeks"), "time unit"),
        (
            lambda raw: raw["coding"].update(c={"values": "0/1"}) or raw["effects"].append("c"),
            "effects ['c'] are not parameters",
        ),
        (lambda raw: raw.update(family="logistic", scale="log_or"), "a logistic prior"),
        (lambda raw: raw.update(format="something else"), "not a netlm-bayes exported prior"),
        (lambda raw: raw["prior"]["components"][0].update(weight=0.5), "weights sum to 0.5"),
        (
            lambda raw: raw["prior"]["components"][0]["cov"][0].__setitem__(0, -1.0),
            "not positive definite",
        ),
        (lambda raw: raw.update(version=7), "version 7"),
        (
            lambda raw: raw["prior"]["parameters"].__setitem__(-1, "log_reference_median"),
            "neither effects nor a weibull baseline",
        ),
    ],
)
def test_a_prior_that_does_not_fit_the_model_is_refused(cohorts, exported_plain, edit, message):
    folder, paths, _ = cohorts
    raw = json.loads(exported_plain.read_text())
    edit(raw)
    broken = folder / "broken.json"
    broken.write_text(json.dumps(raw))
    out = folder / "never"
    args = ["fit", "hpfs_weibull", "--data", str(paths["b"]), "--time", "months", "--event",
            "progressed", "--covariates", "a,b", "--prior", str(broken), "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()), result.output
    assert not out.exists()


def test_a_prior_covering_a_covariate_the_model_lacks_is_refused(cohorts, exported_plain):
    folder, paths, _ = cohorts
    args = ["fit", "hpfs_weibull", "--data", str(paths["b"]), "--time", "months", "--event",
            "progressed", "--covariates", "a", "--prior", str(exported_plain), "--out", str(folder / "x")]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "covariate b: in the prior but not in this model" in " ".join(result.output.split())


def _export(*args) -> tuple[int, str]:
    result = runner.invoke(app, ["export-prior", *map(str, args)])
    return result.exit_code, " ".join(result.output.split())


def test_export_refuses_what_it_cannot_carry(tmp_path, cohorts, run_a):
    out = tmp_path / "p.json"
    cases = [
        ((tmp_path, "--out", out), "not a run folder (no manifest.json)"),
        ((run_a, "--out", out, "--effects", "zzz"), "not covariates of this run"),
        ((run_a, "--out", out, "--robust", "1.5"), "--robust 1.5"),
        ((run_a, "--out", out, "--discount", "0"), "a0 must be in (0, 1]"),
        ((run_a, "--out", tmp_path / "p.toml"), "name it <something>.json"),
    ]
    for args, text in cases:
        code, output = _export(*args)
        assert code == 2 and text in output, output
    assert not out.exists()


def test_time_unit_flag_states_the_unit_of_a_renamed_time_column():
    from netlm_bayes.errors import InputError
    from netlm_bayes.families.specs import load_spec
    from netlm_bayes.fitting.patient_spec import Overrides, apply_overrides

    spec = load_spec("hpfs_weibull")
    assert apply_overrides(spec, Overrides(time="pfs")).time_unit == "units of pfs (unnamed)"
    assert apply_overrides(spec, Overrides(time="pfs", time_unit="months")).time_unit == "months"
    with pytest.raises(InputError, match="time_unit= apply to survival models"):
        apply_overrides(load_spec("response_logistic"), Overrides(time_unit="months"))


def test_a_run_that_failed_its_diagnostics_is_refused_unless_allowed_and_then_flagged(cohorts):
    """The deliberately bad profile fails the gate; its failures name each covariate;
    export-prior refuses the run, naming why, and with --allow-failed writes a flagged file
    that prior-info shows in red."""
    folder, paths, _ = cohorts
    failed, output = _fit(folder, "failed", paths["a"], profile="bad")
    assert "DIAGNOSTICS FAILED" in output
    diagnostics = pd.read_csv(failed / "diagnostics.csv")
    assert diagnostics["failures"].str.contains(r"beta\[a\]|beta_per_sd\[a\]").any()
    assert "try --profile thorough" in " ".join(output.split())
    out = folder / "from_failed.json"
    refused = runner.invoke(app, ["export-prior", str(failed), "--out", str(out)])
    assert refused.exit_code == 2 and not out.exists()
    assert "FAILED its diagnostics" in " ".join(refused.output.split())
    allowed = runner.invoke(
        app, ["export-prior", str(failed), "--out", str(out), "--robust", "0", "--allow-failed"]
    )
    assert allowed.exit_code == 0, allowed.output
    assert "FAILED its diagnostics" in json.loads(out.read_text())["warning"]
    info = runner.invoke(app, ["prior-info", str(out)])
    assert "WARNING: this prior was built from a run that FAILED" in " ".join(info.output.split())


def _staged_cohort(rng, n: int) -> pd.DataFrame:
    """A 3-level stage written as labels, as a user's file holds it."""
    stage = rng.choice(["early", "mid", "late"], n, p=[0.45, 0.35, 0.2])
    effect = np.select([stage == "mid", stage == "late"], [0.5, 1.0], 0.0)
    params = {"log_median": math.log(14.0), "log_shape": math.log(1.3)}
    times = family("weibull").sample_times(params, effect, 1.0, rng)
    censor = rng.uniform(6, 40, n)
    return pd.DataFrame(
        {"months": np.round(np.minimum(times, censor), 3).clip(min=0.001),
         "progressed": (times <= censor).astype(int), "stage": stage}
    )  # fmt: skip


@pytest.mark.slow
def test_a_then_b_holds_with_a_categorical_covariate(tmp_path):
    """The consistency of carrying a prior forward, with stage coded against 'early': the
    prior's per-level effects, applied to B coded the same way, give A and B jointly.
    Sampled with the thorough profile (20,000 draws): at the default's 4,000, two medians'
    Monte Carlo error alone (about 0.03 posterior SD for their difference) made a 0.1-SD
    check pass or fail with the last bits of the arithmetic (0.118 SD at one seed)."""
    rng = np.random.default_rng(31)
    a, b = _staged_cohort(rng, 150), _staged_cohort(rng, 150)
    paths = _write_a_b_and_both(tmp_path, a, b)

    def fit(name, *extra):
        args = ["fit", "hpfs_weibull", "--data", str(paths[name.removeprefix("run_")]),
                "--time", "months", "--event", "progressed", "--covariates", "stage",
                "--reference", "stage=early", "--seed", "11", "--profile", "thorough",
                "--out", str(tmp_path / name),
                *extra]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        return tmp_path / name

    prior = tmp_path / "prior.json"
    result = runner.invoke(app, ["export-prior", str(fit("run_a")), "--out", str(prior),
                                 "--robust", "0"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(prior.read_text())["coding"]["stage[late]"]["reference"] == "early"
    carried = _medians_and_sds(fit("run_b", "--prior", str(prior)))
    pooled = _medians_and_sds(fit("run_ab"))
    _agree({k: (v[0], None) for k, v in carried.items()}, pooled,
           ["stage[mid]", "stage[late]", "log_shape"])  # fmt: skip
