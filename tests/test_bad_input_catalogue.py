"""The bad-input catalogue: each broken input gets one clear message (exit code 2), or a
clear warning where the fit still means something, and never leaves a run folder or a
partial one behind."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from netlm_bayes.cli.app import app
from netlm_bayes.paths import PROJECT_ROOT
from netlm_bayes.sampling.sampler import Sampler
from netlm_bayes.study import fit_patient as patientrun

runner = CliRunner()
STAGE_LINE = re.compile(r"^\[\s*[0-9.]+ s\] ")
COHORT = PROJECT_ROOT / "data" / "pseudo_cohort.csv"
MODEL = PROJECT_ROOT / "models" / "hpfs_weibull.toml"


def _cohort(tmp: Path, edit: Callable[[pd.DataFrame], pd.DataFrame], name="cohort.csv") -> Path:
    frame = edit(pd.read_csv(COHORT, dtype=str, keep_default_na=False))
    path = tmp / name
    frame.to_csv(path, index=False)
    return path


def _set(column, row, value):
    def edit(frame):
        frame.loc[row, column] = value
        return frame

    return edit


def _raw(tmp: Path, content: bytes) -> Path:
    path = tmp / "cohort.csv"
    path.write_bytes(content)
    return path


def _model_file(tmp: Path, edit: Callable[[str], str]) -> Path:
    models = tmp / "models"
    models.mkdir()
    shutil.copy(PROJECT_ROOT / "models" / "prior_sets.toml", models)
    text = edit(MODEL.read_text()).replace('data = "data/', f'data = "{PROJECT_ROOT}/data/')
    (models / "broken.toml").write_text(text)
    return models / "broken.toml"


def _prior_for_other_coding(tmp: Path) -> Path:
    prior = tmp / "prior.json"
    raw = {
        "format": "netlm-bayes exported prior", "version": 2, "family": "weibull",
        "scale": "log_hr", "outcome": {"time": "hpfs_months", "time_unit": "weeks", "event": "progressed"},
        "coding": {"htb_gt25": {"values": "0/1"}}, "effects": ["htb_gt25"],
        # a baseline median in weeks: the unit matters (a hazard ratio alone has none)
        "prior": {"parameters": ["htb_gt25", "log_median_at_pattern"], "components": [
            {"label": "informative", "weight": 1.0, "mean": [1.4, 3.9],
             "cov": [[0.3, 0.0], [0.0, 0.1]]}]},
        "unit_information": {"per": "event", "cov": [[16.0, 0.0], [0.0, 1.0]]},
        "construction": {}, "provenance": {},
        "baseline_pattern": {"htb_gt25": 0.5},
    }  # fmt: skip
    prior.write_text(json.dumps(raw))
    return prior


def _fit(*extra, model="hpfs_weibull"):
    return ["fit", model, *extra]


# (case, builds the CLI arguments from a temp folder, expected words of the message)
CATALOGUE = [
    ("missing column", lambda t: _fit("--time", "pfs"), "no column 'pfs' (--time)"),
    ("renamed column", lambda t: _fit("--data", _cohort(t, lambda f: f.rename(columns={"progressed": "event"}))), "no column 'progressed' (--event)"),
    ("NaN time", lambda t: _fit("--data", _cohort(t, _set("hpfs_months", 3, "NaN"))), "hpfs_months"),
    ("empty cell", lambda t: _fit("--data", _cohort(t, _set("ki67_gt10", 5, ""))), "ki67_gt10"),
    ("negative time", lambda t: _fit("--data", _cohort(t, _set("hpfs_months", 2, "-1"))), "must be > 0"),
    ("zero time", lambda t: _fit("--data", _cohort(t, _set("hpfs_months", 7, "0"))), "must be > 0"),
    ("event not 0/1", lambda t: _fit("--data", _cohort(t, _set("progressed", 4, "2"))), "must be 0 or 1"),
    ("unknown response label", lambda t: _fit("--data", _cohort(t, _set("response", 6, "MR")), model="response_logistic"), "must be one of ['CR', 'PR', 'SD', 'PD']"),
    ("unknown ordinal label", lambda t: _fit("--data", _cohort(t, _set("response", 6, "CR?")), model="response_ordinal"), "must be one of"),
    ("duplicate ids", lambda t: _fit("--data", _cohort(t, _set("patient_id", 9, "SYN001"))), "repeated patients ('SYN001' on lines 2, 11)"),
    ("empty file", lambda t: _fit("--data", _raw(t, b"")), "the file is empty"),
    ("header only", lambda t: _fit("--data", _raw(t, COHORT.read_bytes().splitlines()[0] + b"\n")), "header but no data rows"),
    ("all censored", lambda t: _fit("--data", _cohort(t, lambda f: f.assign(progressed="0"))), "has no events"),
    ("constant covariate", lambda t: _fit("--data", _cohort(t, lambda f: f.assign(pet_positive="1"))), "'pet_positive' is 1 in every row"),
    ("non-numeric covariate", lambda t: _fit("--data", _cohort(t, _set("ki67_gt10", 1, "high"))), "ki67_gt10"),
    ("wrong delimiter", lambda t: _fit("--data", _raw(t, COHORT.read_bytes().replace(b",", b";"))), "header looks ';'-delimited"),
    ("non-UTF-8 bytes", lambda t: _fit("--data", _raw(t, COHORT.read_bytes().replace(b"SYN003", b"SYN\xe9\xff3"))), "not UTF-8"),
    ("outcome never varies", lambda t: _fit("--data", _cohort(t, lambda f: f.assign(response="PR")), model="response_logistic"), "for every row"),
    ("prior coding mismatch", lambda t: _fit("--prior", _prior_for_other_coding(t)), "does not match this model: time unit"),
    ("prior file not JSON", lambda t: _fit("--prior", _json(t, "{broken")), "not a JSON prior file"),
    ("malformed model file", lambda t: _fit(model=str(_model_file(t, lambda s: s.replace("family =", "family = = ")))), "not valid TOML"),
    ("model file with an unknown field", lambda t: _fit(model=str(_model_file(t, lambda s: s + "\ncolour = 'red'\n"))), "colour"),
    ("unknown likelihood", lambda t: _fit("--likelihood", "gamma"), "likelihood"),
    ("unknown prior set", lambda t: _fit("--prior-set", "hopeful"), "hopeful"),
    ("unwritable output folder", lambda t: _fit("--out", _raw(t, b"x") / "run"), "cannot write the run folder"),
    ("output folder not empty", lambda t: _fit("--out", _nonempty(t)), "exists and is not empty"),
    ("semicolons and decimal commas", lambda t: _fit("--data", _raw(t, _european(COHORT.read_bytes()))), "decimal commas (e.g. '"),
    ("a decimal comma in a CSV", lambda t: _fit("--data", _cohort(t, _set("hpfs_months", 2, "12,5"))), "(a decimal comma: write 12.5)"),
    ("events coded yes/no", lambda t: _fit("--data", _cohort(t, lambda f: f.assign(progressed=f["progressed"].map({"0": "no", "1": "yes"})))), "coded yes and no; it must be 1 for an event and 0 for censored"),
    ("events coded 1/2", lambda t: _fit("--data", _cohort(t, lambda f: f.assign(progressed=f["progressed"].map({"0": "1", "1": "2"})))), "coded 1 and 2"),
    ("missing values", lambda t: _fit("--data", _cohort(t, _set("ki67_gt10", 5, ""))), "give --drop-missing"),
    ("ordinal labels without an order", lambda t: _fit("--outcome", "patient_id", model="response_ordinal"), "name their order"),
    ("bad RMST horizons", lambda t: _fit("--horizons", "12,soon"), "--horizons"),
    ("a typo-sized outlier", lambda t: _fit("--data", _rossi(t, age=1e12), "--time", "week", "--event", "arrest", "--covariates", "age,fin"), "1e+12 on line 7 lies more than 10 robust SDs from the column's median"),
    ("the outlier's way out", lambda t: _fit("--data", _rossi(t, age=1e12), "--time", "week", "--event", "arrest", "--covariates", "age,fin"), "or give --allow-outliers to fit it as it is"),
    ("a single row", lambda t: _fit("--data", _cohort(t, lambda f: f.head(1))), "1 row; a model needs at least 5 rows"),
    ("a single row, no covariates", lambda t: _fit("--data", _cohort(t, lambda f: f.head(1)), "--covariates", "none"), "1 row; a model needs at least 5 rows"),
    ("one event", lambda t: _fit("--data", _cohort(t, lambda f: f.assign(progressed=["1"] + ["0"] * (len(f) - 1)))), "1 event in 84 rows; a survival model needs at least 2 events"),
    ("a formula typo", lambda t: _fit("--formula", "htb_gt25 + ki67"), "names 'ki67', which is not a column; the file's columns are: patient_id,"),
    ("ppc rerun without --overwrite", lambda t: ["ppc", _fake_run(t), "--out", t / "run" / "ppc"], "choose another --out, or give --overwrite to replace it"),
    ("map of an undeclared quantity", lambda t: ["map", PROJECT_ROOT / "data" / "studies" / "tae_next_centre.toml", "--quantity", "hr_age", "--out", t / "m.json"], "or declare it there in [quantities.hr_age]"),
    ("oc: a normal endpoint without its SD", lambda t: [*_oc(t, "normal:0,1"), "--endpoint", "normal"], "--sigma: a normal endpoint needs the sampling SD per patient"),
    ("oc: a Beta prior for a normal endpoint", lambda t: [*_oc(t, "beta:1,1"), "--endpoint", "normal", "--sigma", "1"], "write a normal prior as normal:mean,sd"),
    ("oc: interim data without n", lambda t: [*_oc(t, "beta:1,1"), "--interim-treatment", "12"], "--interim-treatment '12': write it as r/n, e.g. 7/20"),
    ("oc: a survival design on a Beta prior", lambda t: [*_oc(t, "beta:1,1"), "--endpoint", "survival"], "--endpoint survival takes an exported Weibull prior file"),
    ("oc: a true rate above 1", lambda t: [*_oc(t, "beta:1,1")[:-2], "--treatment-rates", "1.2"], "--treatment-rates: treatment rate 1.2 lies outside [0, 1]"),
    ("a curve cut short", lambda t: ["reconstruct", *_km(t, at_risk=[50, 20, 12]), "--out", t / "ipd.csv"], "more than 10% of the group still at risk; digitise the curve to its end"),
]  # fmt: skip


def _oc(tmp: Path, prior: str) -> list:
    """A one-sample `oc` design with one prior, written to tmp/oc."""
    return ["oc", "--prior-treatment", prior, "--n-treatment", "20", "--success",
            "P(treatment > 0.3) > 0.9", "--out", tmp / "oc", "--treatment-rates", "0.3"]  # fmt: skip


def _rossi(tmp: Path, **values) -> Path:
    """lifelines' rossi data as a user saves it, with one value replaced per column."""
    from lifelines import datasets

    frame = datasets.load_rossi()
    for column, value in values.items():
        frame.loc[5, column] = value
    path = tmp / "rossi.csv"
    frame.to_csv(path, index=False)
    return path


def _fake_run(tmp: Path) -> Path:
    """A run folder as parts() finds it, with an earlier check in it (ppc refuses before
    reading the posterior)."""
    run = tmp / "run"
    (run / "ppc").mkdir(parents=True)
    (run / "ppc" / "ppc.csv").write_text("model,statistic\n")
    (run / "posterior.nc").write_bytes(b"")
    (run / "manifest.json").write_text(json.dumps({"spec": {"family": "survival"}}))
    return run


def _km(tmp: Path, at_risk: list[int]) -> list:
    curve, risk = tmp / "curve.csv", tmp / "at_risk.csv"
    curve.write_text("time,survival\n0,1\n5,0.6\n12,0.4\n")
    risk.write_text(
        "time,at_risk\n" + "".join(f"{t},{n}\n" for t, n in zip((0, 10, 20), at_risk, strict=True))
    )
    return ["--curve", curve, "--at-risk", risk]


def _european(content: bytes) -> bytes:
    """The cohort as a spreadsheet in a decimal-comma locale saves it."""
    return content.replace(b",", b";").replace(b".", b",")


def _json(tmp: Path, text: str) -> Path:
    path = tmp / "prior.json"
    path.write_text(text)
    return path


def _nonempty(tmp: Path) -> Path:
    folder = tmp / "taken"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    return folder


def _flags(command: str) -> set[str]:
    """The options `netlm-bayes COMMAND` really has: a message may send a user only there."""
    import typer.main

    click_command = typer.main.get_command(app).commands[command]
    return {opt for param in click_command.params for opt in param.opts if opt.startswith("--")}


def test_the_catalogue_has_at_least_twenty_distinct_cases():
    assert len({name for name, _, _ in CATALOGUE}) == len(CATALOGUE) >= 20


@pytest.mark.parametrize(("case", "build", "expected"), CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_each_broken_input_gets_one_clear_message_and_leaves_nothing(
    tmp_path, case, build, expected
):
    args = [str(a) for a in build(tmp_path)]
    out = tmp_path / "results" / "run"
    if "--out" not in args:
        args += ["--out", str(out)]
    before = set(tmp_path.rglob("*"))
    before_files = {p: p.stat().st_size for p in before if p.is_file()}
    result = runner.invoke(app, args)
    # captured output, not a terminal: a line per stage ("[   1.2 s] sampling ...") comes
    # before the message, and is progress, not a second message
    lines = [line for line in result.output.splitlines() if not STAGE_LINE.match(line)]
    message = " ".join(" ".join(lines).split())
    assert result.exit_code == 2, (case, result.output)
    assert message.startswith("error:") and message.count("error:") == 1, message
    assert expected in message, (case, message)
    assert "Traceback" not in result.output
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", message))
    assert named <= _flags(args[0]), (
        f"{case}: no such option of {args[0]}: {named - _flags(args[0])}"
    )
    assert all(p.stat().st_size == size for p, size in before_files.items())
    created = {p for p in set(tmp_path.rglob("*")) - before if p.is_file() or any(p.iterdir())}
    assert not created, created
    assert not list(tmp_path.rglob(".*partial*"))


def test_perfect_separation_warns_and_still_fits(tmp_path):
    """Every patient with a clear border responds: the OR has no finite MLE, so the fit is
    still meaningful under its proper prior, but the user is told."""

    def separate(frame):
        clear = frame["border_clear"] == "1"
        frame.loc[clear & frame["response"].isin(["SD", "PD"]), "border_clear"] = "0"
        return frame

    out = tmp_path / "run"
    args = _fit("--data", str(_cohort(tmp_path, separate)), "--profile", "quick", "--out", str(out),
                model="response_logistic")  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    message = " ".join(result.output.split())
    assert (
        "warning: cohort.csv: separation: every patient with border_clear = 1 has outcome 0"
        in message
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert any("border_clear = 1" in w for w in manifest["data_warnings"])
    # marked where a reader looks: the row, the verdict, the manifest; and not carried on
    assert "or_border_clear (separated)" in message
    assert "SEPARATED: or_border_clear: not estimable from these data under this prior" in message
    assert manifest["separated"] == ["border_clear"]
    refused = runner.invoke(app, ["export-prior", str(out), "--out", str(tmp_path / "p.json")])
    refusal = " ".join(refused.output.split())
    assert refused.exit_code == 2 and "is separated on border_clear" in refusal
    assert not (tmp_path / "p.json").exists()
    others = ["export-prior", str(out), "--out", str(tmp_path / "others.json"), "--effects",
              "htb_gt25,pet_positive,ki67_gt10"]  # fmt: skip
    assert runner.invoke(app, others).exit_code == 0
    flagged = runner.invoke(app, ["export-prior", str(out), "--out", str(tmp_path / "f.json"),
                                  "--allow-failed"])  # fmt: skip
    assert flagged.exit_code == 0, flagged.output
    warning = json.loads((tmp_path / "f.json").read_text())["warning"]
    assert "separated on border_clear" in warning


def test_an_interrupted_run_leaves_nothing(tmp_path, monkeypatch):
    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Sampler, "sample", interrupted)
    out = tmp_path / "results" / "run"
    with pytest.raises(KeyboardInterrupt):
        patientrun.run("hpfs_weibull", out=out)
    assert not out.exists()
    assert not list((tmp_path / "results").glob(".*"))


def test_numpy_float_warnings_stay_off_the_console(recwarn):
    """An OR of exp(800) under separation overflowed into four numpy warnings on the
    console; each case that matters has its own message instead."""
    import numpy as np

    from netlm_bayes.cli.app import clear_errors

    @clear_errors
    def command():
        return float(np.exp(np.float64(800.0)) * 0.0)

    assert np.isnan(command())
    assert not [w for w in recwarn if "encountered" in str(w.message)]
    np.exp(np.float64(800.0))  # outside a command, numpy still warns (the API keeps them)
    assert [w for w in recwarn if "overflow" in str(w.message)]
