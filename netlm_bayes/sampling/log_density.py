"""Each draw's pointwise log-likelihood and log prior: the `log_likelihood` group (for LOO)
and the `log_prior` group (for power-scaling prior sensitivity).

`pm.compute_log_likelihood` and `pm.stats.compute_log_prior` compile a function on every
call and evaluate it draw by draw; a run of 63 fits spent 27 s there. This compiles one
function per model, vectorised over draws (`vectorize_graph`), called once per chunk of
draws. It reads the model's `pm.Data`, so the same function serves every cohort and every
prior set (whose parameters are data too).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import xarray as xr
from pymc.model.transform.conditioning import remove_value_transforms
from pytensor.graph.replace import vectorize_graph

# Pointwise log-likelihood values kept per run (draws x observations): 50 million is 400 MB.
# Beyond it (a registry-sized cohort) the group is left out and LOO is not available.
LOG_LIKELIHOOD_BUDGET = 50_000_000
# Not compiled: the function runs once per fit, over all draws at once, where NumPy's own
# kernels take 0.02 to 0.6 s; numba's compilation took 2 to 5 s per model on a machine with
# empty caches (the values agree to 1e-13).
EVALUATION_MODE = "FAST_COMPILE"
# Draws evaluated in one call, so that the temporaries stay near this many values.
LOG_LIKELIHOOD_CHUNK_VALUES = 2_000_000


class PointwiseLogDensities:
    """One compiled function: every observed variable's pointwise log-likelihood and every
    free variable's log prior density, at a batch of draws.

    The log prior is taken at the untransformed values the posterior holds, without the
    Jacobian of the sampler's transforms: the density of the prior itself, which is what
    power-scaling raises to a power.
    """

    def __init__(self, model: pm.Model):
        plain = remove_value_transforms(model)
        self.observed = [rv.name for rv in plain.observed_RVs]
        self.free = [rv.name for rv in plain.free_RVs]
        self.dims = {name: plain.named_vars_to_dims.get(name) for name in self.observed}
        self.dims |= {name: plain.named_vars_to_dims.get(name) for name in self.free}
        values = plain.value_vars
        self.inputs = [v.name for v in values]
        batched = [pt.tensor(name=v.name, dtype=v.dtype, shape=(None, *v.type.shape))
                   for v in values]  # fmt: skip
        terms = plain.logp(vars=plain.observed_RVs, sum=False)
        terms += plain.logp(vars=plain.free_RVs, sum=False, jacobian=False)
        # The copy has its own pm.Data; read the model's, which pm.set_data updates.
        data = {plain[v.name]: v for v in model.data_vars if v.name in plain.named_vars}
        replace = dict(zip(values, batched, strict=True)) | data
        outputs = vectorize_graph(terms, replace=replace)
        self.function = pytensor.function(
            batched, outputs, on_unused_input="ignore", mode=EVALUATION_MODE
        )
        self.source = model  # its coords follow pm.set_data; the copy's do not

    def add_to(self, trace: xr.DataTree) -> str:
        """Adds the groups; returns what was done with the log-likelihood, for the attrs."""
        posterior = trace["posterior"].to_dataset()
        chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
        # The source model: its pm.Data hold this cohort (the copy keeps the first one).
        columns = {name: int(np.prod(self.source[name].shape.eval())) for name in self.observed}
        values_per_draw = sum(columns.values())
        if chains * draws * values_per_draw > LOG_LIKELIHOOD_BUDGET:
            return (
                f"not stored: {chains * draws:,} draws x {values_per_draw:,} observations "
                f"exceeds {LOG_LIKELIHOOD_BUDGET:,} values; LOO is not available for this run, "
                "nor is prior sensitivity"
            )
        stacked = {
            name: posterior[name].values.reshape(chains * draws, *posterior[name].shape[2:])
            for name in self.inputs
        }
        step = max(1, LOG_LIKELIHOOD_CHUNK_VALUES // max(values_per_draw, 1))
        parts = [
            self.function(*(stacked[name][start : start + step] for name in self.inputs))
            for start in range(0, chains * draws, step)
        ]
        names = self.observed + self.free
        arrays = {
            name: self._array(np.concatenate([part[i] for part in parts]), name, posterior)
            for i, name in enumerate(names)
        }
        trace["log_likelihood"] = xr.DataTree(xr.Dataset({n: arrays[n] for n in self.observed}))
        trace["log_prior"] = xr.DataTree(xr.Dataset({n: arrays[n] for n in self.free}))
        return "stored"

    def _array(self, values: np.ndarray, name: str, posterior: xr.Dataset) -> xr.DataArray:
        chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
        values = values.reshape(chains, draws, *values.shape[1:])
        dims = self.dims[name]
        if dims is None or len(dims) != values.ndim - 2:  # e.g. a Multinomial's one value
            dims = [f"{name}_dim_{i}" for i in range(values.ndim - 2)]
        known = self.source.coords
        coords = {d: np.asarray(known[d]) for d in dims if known.get(d) is not None}
        return xr.DataArray(
            values,
            dims=("chain", "draw", *dims),
            coords={"chain": posterior["chain"], "draw": posterior["draw"], **coords},
        )
