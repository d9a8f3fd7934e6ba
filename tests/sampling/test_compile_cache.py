"""nutpie's C callbacks cached on disk: a second process loads them instead of compiling,
and a cached callback computes what nutpie's own compilation computes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid

import numpy as np
import nutpie
import pymc as pm
import pytest

from netlm_bayes.sampling import compile_cache

# A conjugate model: y_i ~ N(mu, 1), mu ~ N(0, 10); the posterior of mu is exact.
PRIOR_SD = 10.0


def _normal_mean_model(y: np.ndarray, offset: float = 0.0) -> pm.Model:
    """`offset`, a constant added to the log density, changes the compiled graph only."""
    with pm.Model() as model:
        observed = pm.Data("y", y)
        mu = pm.Normal("mu", 0.0, PRIOR_SD)
        if offset:
            pm.Potential("offset", pm.math.constant(offset))
        pm.Normal("obs", mu, 1.0, observed=observed)
    return model


def _exact_posterior(y: np.ndarray) -> tuple[float, float]:
    precision = 1 / PRIOR_SD**2 + len(y)
    return y.sum() / precision, precision**-0.5


def _sample(compiled, seed: int = 1):
    return nutpie.sample(compiled, chains=2, tune=300, draws=500, seed=seed, progress_bar=False)


@pytest.mark.parametrize("n", [17, 150_000])
def test_a_second_process_loads_the_callbacks_instead_of_compiling(n):
    # 150,000 rows (2.4 MB for X): when the data themselves typed the callbacks, numba
    # froze arrays above 1 MB into the gradient's machine code by address and refused to
    # cache it, so every process compiled it again (as the survival likelihood's sum does)
    script = textwrap.dedent(
        f"""
        import numpy as np, pymc as pm
        from netlm_bayes.sampling import compile_cache
        with pm.Model() as model:
            X = pm.Data("X", np.linspace(-1, 1, 2 * {n}).reshape({n}, 2))
            weight = pm.Data("weight", np.ones({n}))
            slope = pm.Normal("slope_cache_test", 0, 3, shape=2)
            pm.Potential("loglik", -pm.math.sum(weight * pm.math.exp(pm.math.dot(X, slope))))
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


def test_one_callback_serves_every_cohort_size():
    rng = np.random.default_rng(4)
    offset = float(uuid.uuid4().int % 10**9) / 1e3  # a graph no earlier run has cached
    for index, y in enumerate((rng.normal(1.5, 1, 5), rng.normal(-0.7, 1, 60))):
        compiled, report = compile_cache.compile_pymc_model(_normal_mean_model(y, offset))
        if index:
            assert report.from_cache == report.callbacks  # built at n = 5, used at n = 60
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
