"""nutpie's C callbacks cached on disk: a second process loads them instead of compiling,
and a cached callback computes what nutpie's own compilation computes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import nutpie
import pymc as pm

from netlm_bayes.sampling import compile_cache

# A conjugate model: y_i ~ N(mu, 1), mu ~ N(0, 10); the posterior of mu is exact.
PRIOR_SD = 10.0


def _normal_mean_model(y: np.ndarray) -> pm.Model:
    with pm.Model() as model:
        observed = pm.Data("y", y)
        mu = pm.Normal("mu", 0.0, PRIOR_SD)
        pm.Normal("obs", mu, 1.0, observed=observed)
    return model


def _exact_posterior(y: np.ndarray) -> tuple[float, float]:
    precision = 1 / PRIOR_SD**2 + len(y)
    return y.sum() / precision, precision**-0.5


def _sample(compiled, seed: int = 1):
    return nutpie.sample(compiled, chains=2, tune=300, draws=500, seed=seed, progress_bar=False)


def test_a_second_process_loads_the_callbacks_instead_of_compiling():
    script = textwrap.dedent(
        """
        import numpy as np, pymc as pm
        from netlm_bayes.sampling import compile_cache
        with pm.Model() as model:
            x = pm.Data("x", np.linspace(-1, 1, 17))
            slope = pm.Normal("slope_cache_test", 0, 3)
            pm.Normal("y", slope * x, 0.5, observed=np.linspace(-2, 2, 17))
        _, report = compile_cache.compile_pymc_model(model)
        print(report.callbacks, report.from_cache)
        """
    )
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    callbacks, from_cache = map(int, runs[1].stdout.split())
    assert callbacks == 2
    assert from_cache == 2, runs[1].stderr[-2000:]


def test_cached_callbacks_sample_what_nutpie_samples():
    model = _normal_mean_model(np.array([0.3, 1.1, -0.4, 2.0, 0.9]))
    ours, _ = compile_cache.compile_pymc_model(model)
    theirs = nutpie.compile_pymc_model(model)
    ours_mu = _sample(ours)["posterior"]["mu"].values
    theirs_mu = _sample(theirs)["posterior"]["mu"].values
    np.testing.assert_allclose(ours_mu, theirs_mu, rtol=1e-9, atol=1e-12)


def test_another_cohort_size_never_reuses_a_callback_built_for_another_shape():
    rng = np.random.default_rng(4)
    for y in (rng.normal(1.5, 1, 5), rng.normal(-0.7, 1, 60)):
        compiled, _ = compile_cache.compile_pymc_model(_normal_mean_model(y))
        draws = _sample(compiled)["posterior"]["mu"].values.ravel()
        mean, sd = _exact_posterior(y)
        # 1000 draws: the Monte Carlo error of the mean is about sd / 25
        assert abs(draws.mean() - mean) < 0.2 * sd
        assert 0.85 < draws.std() / sd < 1.15


def test_new_data_of_the_same_shape_reach_a_cached_callback():
    first, second = np.array([0.1, 0.4, 0.2]), np.array([3.0, 3.5, 2.5])
    compiled, _ = compile_cache.compile_pymc_model(_normal_mean_model(first))
    draws = _sample(compiled.with_data(y=second))["posterior"]["mu"].values.ravel()
    mean, sd = _exact_posterior(second)
    assert abs(draws.mean() - mean) < 0.2 * sd
