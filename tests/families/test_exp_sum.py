"""The vectorised exponential sum that the Weibull and exponential models sample with,
against NumPy's exp and PyTensor's own elementwise graph."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.gradient import verify_grad

from netlm_bayes.families.survival.exp_sum import (
    BLOCK,
    LARGEST_EXPONENT,
    SMALLEST_EXPONENT,
    exp_linear_sum,
    exp_linear_sums,
    fast_exp,
)


@pytest.fixture(scope="module")
def fast_exp_array():
    import numba

    @numba.njit
    def apply(x):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = fast_exp(x[i])
        return out

    return apply


def test_fast_exp_is_within_one_ulp_of_numpy_over_the_whole_range(fast_exp_array):
    rng = np.random.default_rng(1)
    x = np.concatenate([
        rng.uniform(SMALLEST_EXPONENT, LARGEST_EXPONENT, 200_000),
        rng.normal(0.0, 3.0, 200_000),
        np.arange(-700, 700) * np.log(2.0),  # the reduction's boundaries: r = 0 and +-ln2/2
        (np.arange(-700, 700) + 0.5) * np.log(2.0),
        [SMALLEST_EXPONENT, LARGEST_EXPONENT, 0.0, -0.0, 1e-300, -1e-300],
    ])  # fmt: skip
    ours, reference = fast_exp_array(x), np.exp(x)
    ulps = np.abs(ours - reference) / np.spacing(reference)
    assert ulps.max() <= 1.0


def test_fast_exp_at_the_edges(fast_exp_array):
    x = np.array([-np.inf, -1000.0, -708.5, 709.9, 1000.0, np.inf, np.nan])
    out = fast_exp_array(x)
    np.testing.assert_array_equal(out[:3], 0.0)  # below exp(-708) a term is taken as 0
    np.testing.assert_array_equal(out[3:6], np.inf)
    assert np.isnan(out[6])


@pytest.mark.parametrize("n", [1, BLOCK, 3 * BLOCK + 37])
@pytest.mark.parametrize("p", [0, 1, 4])
def test_sums_equal_numpy_for_any_size_and_number_of_covariates(n, p):
    rng = np.random.default_rng(n + p)
    u, columns, beta = rng.normal(size=n), rng.normal(62, 10, (p, n)), rng.normal(0, 0.05, p)
    e = np.exp(-1.0 + 1.3 * u + beta @ columns)
    total, by_u, weighted = exp_linear_sums(-1.0, 1.3, u, np.ascontiguousarray(columns), beta)
    assert total == pytest.approx(e.sum(), rel=1e-13)
    assert by_u == pytest.approx(e @ u, rel=1e-12, abs=1e-12 * np.abs(e * u).sum())
    np.testing.assert_allclose(weighted, columns @ e, rtol=1e-12)


def _summed(mode: str, fast: bool, u, X):
    theta = pt.vector("theta")
    beta, scale = theta[:-2], pt.exp(theta[-2])
    offset = theta[-1] - pt.dot(X.mean(axis=0), beta)
    if fast:
        total = exp_linear_sum(offset, scale, u, np.ascontiguousarray(X.T), beta)
    else:
        total = pt.sum(pt.exp(offset + scale * u + pt.dot(X, beta)))
    return pytensor.function([theta], [total, pytensor.grad(total, theta)], mode=mode)


@pytest.mark.parametrize("mode", ["NUMBA", "FAST_RUN"])
def test_value_and_gradient_equal_pytensors_own_graph(mode):
    """The numba kernel (what nutpie samples) and the NumPy `perform` (other backends)
    against the same sum written as PyTensor's elementwise exp, on raw covariates."""
    rng = np.random.default_rng(3)
    n = 5 * BLOCK + 11
    X = np.column_stack([rng.normal(62, 10, n), rng.binomial(1, 0.4, n)]).astype(float)
    u = rng.normal(0, 1, n)
    ours, reference = _summed(mode, True, u, X), _summed(mode, False, u, X)
    for theta in ([0.03, 0.5, 0.2, -1.0], [-0.02, -1.0, -0.3, 0.5]):
        (value, gradient), (expected, expected_gradient) = ours(theta), reference(theta)
        assert value == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-11)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    u, columns = rng.normal(size=50), rng.normal(size=(2, 50))

    def f(offset, scale, beta):
        return exp_linear_sum(offset, scale, u, columns, beta)

    verify_grad(f, [np.array(-0.5), np.array(0.7), np.array([0.2, -0.1])], rng=rng)


def test_only_the_sum_is_differentiable():
    from netlm_bayes.families.survival.exp_sum import ExpLinearSum

    beta = pt.vector("beta")
    _, by_u, _ = ExpLinearSum()(0.0, 1.0, np.ones(3), np.ones((1, 3)), beta)
    with pytest.raises(NotImplementedError, match="only the sum"):
        pytensor.grad(by_u, beta)


def test_inputs_of_the_wrong_rank_are_refused():
    with pytest.raises(TypeError, match="expected ranks"):
        exp_linear_sum(0.0, 1.0, np.ones((3, 1)), np.ones((1, 3)), np.ones(1))
