"""The few functions the family formulas need, so that one formula serves a PyTensor graph
(the model) and NumPy draws (curves, PPC, planning) alike."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LN2 = math.log(2.0)
LOG_LN2 = math.log(LN2)
# Below this |x|, log(expm1(x) / x) is evaluated by its series, which has no 0/0.
SERIES_BELOW = 1e-3


@dataclass(frozen=True)
class Ops:
    exp: object
    log: object
    expm1: object
    log1p: object
    softplus: object
    erfcx: object
    where: object
    minimum: object
    maximum: object
    abs: object


def _erfcx(x):
    # scipy is imported where a curve is computed, not where a model file is read.
    from scipy.special import erfcx

    return erfcx(x)


NUMPY = Ops(
    np.exp, np.log, np.expm1, np.log1p, lambda x: np.logaddexp(0.0, x), _erfcx,
    np.where, np.minimum, np.maximum, np.abs,
)  # fmt: skip


def tensor_ops() -> Ops:
    """The same functions for PyTensor graphs (imported only where a model is built)."""
    import pytensor.tensor as pt

    return Ops(
        pt.exp, pt.log, pt.expm1, pt.log1p, pt.softplus, pt.erfcx, pt.switch, pt.minimum,
        pt.maximum, pt.abs,
    )  # fmt: skip


def log_expm1_ratio(ops: Ops, x):
    """log(expm1(x) / x), finite at x = 0 (where it is 0) and without 0/0 near it."""
    small = ops.abs(x) < SERIES_BELOW
    safe = ops.where(small, 1.0, x)
    exact = ops.log(ops.expm1(safe) / safe)
    return ops.where(small, x / 2 + x * x / 24, exact)


def log_normal_sf(ops: Ops, z):
    """log(1 - Phi(z)), accurate in both tails (erfcx for z >= 0, log1p below)."""
    upper = ops.maximum(z, 0.0)
    lower = ops.minimum(z, 0.0)
    right = math.log(0.5) + ops.log(ops.erfcx(upper / math.sqrt(2))) - upper * upper / 2
    left = ops.log1p(-0.5 * ops.erfcx(-lower / math.sqrt(2)) * ops.exp(-lower * lower / 2))
    return ops.where(z >= 0, right, left)
