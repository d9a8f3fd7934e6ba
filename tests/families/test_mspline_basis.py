"""The M-spline hazard basis against its definition: each M_i integrates to 1, I_i is its
integral, the constant-hazard coefficients give a constant hazard exactly, and beyond the
last knot the hazard is held."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from netlm_bayes.families.survival.mspline_basis import (
    DEGREE,
    MSplineBasis,
    default_interior_knots,
)

BASIS = MSplineBasis((0.3, 0.7, 1.1, 2.0, 2.6), 4.0)


def test_size_is_interior_knots_plus_order():
    assert BASIS.size == 5 + DEGREE + 1
    assert BASIS.evaluate(np.array([0.5, 1.0]))[0].shape == (2, BASIS.size)


def test_each_m_spline_is_a_density_on_the_boundary_interval():
    for i in range(BASIS.size):
        area, _ = quad(
            lambda u, i=i: BASIS.evaluate(u)[0][i],
            0.0,
            4.0,
            points=BASIS.interior,
            epsabs=1e-13,
        )
        assert area == pytest.approx(1.0, abs=1e-10)
    m, _ = BASIS.evaluate(np.linspace(0.0, 4.0, 401))
    assert m.min() >= 0.0


@pytest.mark.parametrize("u", [0.05, 0.5, 1.0, 2.3, 3.99])
def test_i_spline_is_the_integral_of_the_m_spline(u):
    _, integral = BASIS.evaluate(np.array(u))
    for i in range(BASIS.size):
        knots = [k for k in BASIS.interior if k < u]
        expected, _ = quad(
            lambda s, i=i: BASIS.evaluate(s)[0][i],
            0.0,
            u,
            points=knots,
            epsabs=1e-13,
            epsrel=1e-13,
        )
        assert integral[i] == pytest.approx(expected, abs=1e-10)


def test_constant_hazard_coefficients_give_a_constant_hazard_exactly():
    p = BASIS.constant_hazard_coefficients()
    assert p.sum() == pytest.approx(1.0, abs=1e-15)
    assert np.all(p > 0)
    u = np.linspace(0.0, 9.0, 1001)  # past the boundary too
    m, integral = BASIS.evaluate(u)
    np.testing.assert_allclose(m @ p, 1 / 4.0, rtol=1e-12)
    np.testing.assert_allclose(integral @ p, u / 4.0, rtol=1e-12, atol=1e-15)


def test_beyond_the_boundary_the_hazard_is_held_and_the_cumulative_grows_linearly():
    p = np.random.default_rng(3).dirichlet(np.ones(BASIS.size))
    m, integral = BASIS.evaluate(np.array([4.0, 5.0, 10.0]))
    hazard, cumulative = m @ p, integral @ p
    assert hazard[1] == pytest.approx(hazard[0], rel=1e-12)
    assert hazard[2] == pytest.approx(hazard[0], rel=1e-12)
    assert cumulative[0] == pytest.approx(1.0, rel=1e-12)
    assert cumulative[2] - cumulative[1] == pytest.approx(5.0 * hazard[0], rel=1e-12)


def test_any_shape_broadcasts():
    u = np.linspace(0.1, 5.0, 12).reshape(2, 1, 6)
    m, integral = BASIS.evaluate(u)
    assert m.shape == integral.shape == (2, 1, 6, BASIS.size)
    flat_m, flat_i = BASIS.evaluate(u.ravel())
    np.testing.assert_array_equal(m.reshape(-1, BASIS.size), flat_m)
    np.testing.assert_array_equal(integral.reshape(-1, BASIS.size), flat_i)


def test_default_knots_sit_at_quantiles_of_the_event_times():
    events = np.arange(1.0, 101.0)
    knots = default_interior_knots(events, df=7)  # 7 - 3 - 1 = 3 interior knots
    np.testing.assert_allclose(knots, np.quantile(events, [0.25, 0.5, 0.75]))


@pytest.mark.parametrize(
    ("interior", "boundary", "message"),
    [((0.5, 0.4), 1.0, "increase"), ((0.5, 1.5), 1.0, "inside"), ((0.0, 0.5), 1.0, "inside")],
)
def test_bad_knots_are_refused(interior, boundary, message):
    with pytest.raises(ValueError, match=message):
        MSplineBasis(interior, boundary)


def test_too_few_basis_functions_are_refused():
    with pytest.raises(ValueError, match="df must be at least 4"):
        default_interior_knots(np.arange(1.0, 10.0), df=3)
