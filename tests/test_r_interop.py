"""From netlm-bayes to R, checked in R itself (slow; `make test-slow` installs R, jsonlite
and brms from Debian, as `make test` installs chromium):

- every exported mixture file reads the RBesT way (`read_mix_json`'s two lines), with the
  weights, means and SDs of the JSON prior;
- brms, with the exported prior's code, gives the same logistic posterior as netlm-bayes
  with the same prior (0.2 posterior SD, the issue's bound);
- posterior.nc opens with ncdf4 and becomes a `posterior::draws_array`.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from netlm_bayes.cli.app import app
from netlm_bayes.priors import exported as exportedprior
from netlm_bayes.priors import for_r

pytestmark = pytest.mark.slow
runner = CliRunner()

READ_RBEST = """
out <- list()
for (f in list.files(commandArgs(trailingOnly = TRUE)[1], full.names = TRUE)) {
  mix_list <- jsonlite::fromJSON(readLines(f))  # what RBesT::read_mix_json does
  mix <- mix_list$comp
  attributes(mix) <- mix_list$meta
  out[[basename(f)]] <- list(class = class(mix), w = mix[1, ], m = mix[2, ], s = mix[3, ],
                             sigma = attr(mix, "sigma"))
}
cat(jsonlite::toJSON(out, digits = NA))
"""

BRMS_FIT = """
args <- commandArgs(trailingOnly = TRUE)
suppressMessages(library(brms))
source(args[1])
data <- read.csv(args[2])
data$stage <- relevel(factor(data$stage), ref = args[3])
f <- bf(y ~ age + stage)
fit <- brm(f, data = data, family = bernoulli(), prior = netlm_prior(f, data, bernoulli()),
           chains = 4, iter = 3000, warmup = 1000, seed = 1, refresh = 0, silent = 2)
d <- as_draws_df(fit)
s <- summary(fit)$fixed
divergent <- sum(subset(nuts_params(fit), Parameter == "divergent__")$Value)
b <- grep("^b_", names(d), value = TRUE)
cat(jsonlite::toJSON(list(median = lapply(d[b], median), sd = lapply(d[b], sd),
  rhat = max(s$Rhat), ess = min(c(s$Bulk_ESS, s$Tail_ESS)), divergent = divergent),
  digits = NA, auto_unbox = TRUE))
"""

READ_NC = """
library(ncdf4)
nc <- nc_open(commandArgs(trailingOnly = TRUE)[1])
beta <- ncvar_get(nc, "posterior/beta")             # [covariate, draw, chain]
covariates <- ncvar_get(nc, "posterior/covariate")
nc_close(nc)
draws <- posterior::as_draws_array(aperm(beta, c(2, 3, 1)))   # [draw, chain, covariate]
posterior::variables(draws) <- paste0("beta[", covariates, "]")
cat(jsonlite::toJSON(as.list(apply(draws, 3, median)), digits = NA, auto_unbox = TRUE))
"""


def _r(tmp_path, script: str, *args) -> dict:
    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.fail("Rscript not found: `make test-slow` installs R, jsonlite and brms")
    path = tmp_path / "script.R"
    path.write_text(script)
    done = subprocess.run([rscript, str(path), *map(str, args)], capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cohort(rng, n: int, mean_age: float) -> pd.DataFrame:
    age = np.round(rng.normal(mean_age, 9, n))
    stage = rng.choice(["early", "mid", "late"], n, p=[0.5, 0.3, 0.2])
    z = -6 + 0.08 * age + np.select([stage == "mid", stage == "late"], [0.5, 1.2], 0.0)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(int)
    return pd.DataFrame({"y": y, "age": age, "stage": stage})


@pytest.fixture(scope="module")
def carried(tmp_path_factory):
    """A: fitted and exported (robust mixture, effects only, with brms code); B: fitted with
    that prior by netlm-bayes."""
    folder = tmp_path_factory.mktemp("r")
    rng = np.random.default_rng(5)
    for name, mean_age in (("a", 60), ("b", 66)):
        _cohort(rng, 250, mean_age).to_csv(folder / f"{name}.csv", index=False)

    def fit(name, *extra):
        args = ["fit", "response_logistic", "--data", str(folder / f"{name}.csv"), "--outcome",
                "y", "--covariates", "age,stage", "--reference", "stage=early", "--seed", "3",
                "--out", str(folder / f"run_{name}"), "--strict", *extra]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        return folder / f"run_{name}"

    prior = folder / "prior.json"
    result = runner.invoke(app, ["export-prior", str(fit("a")), "--out", str(prior),
                                 "--no-baseline", "--brms"])  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder, prior, fit("b", "--prior", str(prior))


def test_every_mixture_file_reads_the_rbest_way(carried, tmp_path):
    _, prior, _ = carried
    exported = exportedprior.read(prior)
    read = _r(tmp_path, READ_RBEST, prior.with_name("prior.rbest"))
    assert set(read) == {for_r.rbest_file_name(e) for e in exported.effects}
    for effect in exported.effects:
        mix = read[for_r.rbest_file_name(effect)]
        components = exported.prior.marginal([effect]).components
        assert mix["class"] == ["normMix", "mix"]
        assert np.allclose(mix["w"], [c.weight for c in components], rtol=1e-12)
        assert np.allclose(mix["m"], [c.mean[0] for c in components], rtol=1e-12)
        assert np.allclose(mix["s"], [np.sqrt(c.cov[0, 0]) for c in components], rtol=1e-12)
        assert mix["sigma"] == pytest.approx([exported.unit_sd(effect)])


def test_brms_with_the_exported_prior_gives_netlm_bayes_posterior(carried, tmp_path):
    folder, prior, run_b = carried
    ours = pd.read_csv(run_b / "summary.csv").set_index("quantity")
    theirs = _r(tmp_path, BRMS_FIT, prior.with_name("prior.brms.R"), folder / "b.csv", "early")
    assert theirs["rhat"] <= 1.01 and theirs["ess"] >= 400 and theirs["divergent"] == 0
    pairs = {"or_age": "b_age", "or_stage[mid]": "b_stagemid", "or_stage[late]": "b_stagelate"}
    for quantity, coef in pairs.items():
        row = ours.loc[quantity]
        sd = (np.log(row["eti95_high"]) - np.log(row["eti95_low"])) / 3.92
        gap = abs(np.log(row["median"]) - theirs["median"][coef]) / sd
        assert gap <= 0.2, (quantity, np.log(row["median"]), theirs["median"][coef], gap)


def test_posterior_nc_opens_in_r_as_draws(carried, tmp_path):
    _, _, run_b = carried
    medians = _r(tmp_path, READ_NC, run_b / "posterior.nc")
    tree = xr.open_datatree(run_b / "posterior.nc", engine="h5netcdf")
    beta = tree["posterior"]["beta"]
    for covariate in beta["covariate"].values:
        ours = float(np.median(beta.sel(covariate=covariate).values))
        assert medians[f"beta[{covariate}]"] == pytest.approx(ours, rel=1e-12)
