r"""M-spline hazard bases (Ramsay 1988), for flexible baseline hazards

    h0(u) = eta_scale sum_i p_i M_i(u),     H0(u) = eta_scale sum_i p_i I_i(u),

with p on the simplex. M_i is the B-spline B_i rescaled to integrate to 1 over the
boundary knots [0, b]: M_i = (d + 1) B_i / (t_{i+d+1} - t_i) on the clamped knot sequence t
of degree d, so I_i(u), its integral from 0, rises from 0 to 1 and H0 is in closed form: no
numerical integration. Beyond b the hazard is held at its value there, h0(b), and H0 grows
linearly: the data say nothing about the hazard's shape after the last follow-up time, and
every curve drawn past it says so.

Because the B-splines sum to 1 on [0, b], the coefficients p_i proportional to the
B-splines' weights (t_{i+d+1} - t_i) / (d + 1) give a constant hazard exactly:
sum_i p_i M_i(u) = 1 / b (`constant_hazard_coefficients`). The smoothing prior is centred
there.

Times here are scaled (u = t / t_ref); the knots a user reads are in the data's unit.
Only NumPy and SciPy: the model evaluates the basis once at the data's times and takes the
matrices as data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEGREE = 3  # cubic
DEFAULT_DF = 10  # basis functions, as survextrap's default


@dataclass(frozen=True)
class MSplineBasis:
    """An M-spline basis on [0, boundary] with the given interior knots (scaled time)."""

    interior: tuple[float, ...]
    boundary: float
    degree: int = DEGREE
    _splines: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        from scipy.interpolate import BSpline

        interior = np.asarray(self.interior, dtype=float)
        if not np.all(np.isfinite(interior)) or np.any(np.diff(interior) <= 0):
            raise ValueError(f"interior knots must increase strictly, got {self.interior}")
        if interior.size and (interior[0] <= 0 or interior[-1] >= self.boundary):
            raise ValueError(
                f"interior knots must lie inside (0, {self.boundary:g}), got {self.interior}"
            )
        order = self.degree + 1
        knots = np.concatenate([np.zeros(order), interior, np.full(order, self.boundary)])
        size = len(knots) - order
        widths = (knots[order:] - knots[:size]) / order
        m_spline = BSpline(knots, np.diag(1.0 / widths), self.degree, extrapolate=False)
        object.__setattr__(self, "_splines", (m_spline, m_spline.antiderivative(), widths))

    @property
    def size(self) -> int:
        """The number of basis functions (interior knots + degree + 1)."""
        return len(self.interior) + self.degree + 1

    def evaluate(self, u) -> tuple[np.ndarray, np.ndarray]:
        """(M, I) at scaled times u of any shape: arrays of shape u.shape + (size,).
        Past the boundary M is held at its boundary value and I grows linearly."""
        m_spline, i_spline, _ = self._splines
        u = np.asarray(u, dtype=float)
        inside = np.clip(u, 0.0, self.boundary)
        # SciPy's last interval is closed on the right only with extrapolation on.
        m_at = np.nan_to_num(m_spline(inside))
        i_at = np.nan_to_num(i_spline(inside))
        at_boundary = m_spline(np.array([self.boundary]), extrapolate=True)[0]
        m_at = np.where((u >= self.boundary)[..., None], at_boundary, m_at)
        beyond = np.maximum(u - self.boundary, 0.0)[..., None]
        i_at = np.where((u >= self.boundary)[..., None], 1.0 + at_boundary * beyond, i_at)
        return m_at, i_at

    def constant_hazard_coefficients(self) -> np.ndarray:
        """The simplex p for which sum_i p_i M_i(u) = 1 / boundary on [0, boundary]."""
        widths = self._splines[2]
        return widths / widths.sum()


def default_interior_knots(event_times: np.ndarray, df: int = DEFAULT_DF) -> np.ndarray:
    """df - degree - 1 interior knots at equally spaced quantiles of the event times."""
    count = df - DEGREE - 1
    if count < 0:
        raise ValueError(f"df must be at least {DEGREE + 1} for a cubic M-spline, got {df}")
    events = np.asarray(event_times, dtype=float)
    if events.size == 0:
        raise ValueError("an M-spline baseline needs at least one event to place its knots")
    knots = np.quantile(events, np.arange(1, count + 1) / (count + 1))
    return np.unique(knots)
