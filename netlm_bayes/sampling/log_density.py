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
# Beyond it (a registry-sized cohort) the group is left out: LOO then needs subsampling
# (`checks.family_comparison`), and prior sensitivity uses the per-draw total instead.
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
        self._plain = remove_value_transforms(model)
        self.observed = [rv.name for rv in self._plain.observed_RVs]
        self.free = [rv.name for rv in self._plain.free_RVs]
        self.dims = {name: self._plain.named_vars_to_dims.get(name) for name in self.observed}
        self.dims |= {name: self._plain.named_vars_to_dims.get(name) for name in self.free}
        self.inputs = [v.name for v in self._plain.value_vars]
        self.source = model  # its coords follow pm.set_data; the copy's do not
        self.function = self._compile(free_only=False)
        self._prior_function = None  # compiled when first needed (registry-sized cohorts)

    def _compile(self, free_only: bool):
        """The pointwise terms, observed then free (or free only), batched over draws."""
        plain = self._plain
        values = plain.value_vars
        batched = [pt.tensor(name=v.name, dtype=v.dtype, shape=(None, *v.type.shape))
                   for v in values]  # fmt: skip
        terms = [] if free_only else plain.logp(vars=plain.observed_RVs, sum=False)
        terms += plain.logp(vars=plain.free_RVs, sum=False, jacobian=False)
        # The copy has its own pm.Data; read the model's, which pm.set_data updates.
        data = {plain[v.name]: v for v in self.source.data_vars if v.name in plain.named_vars}
        replace = dict(zip(values, batched, strict=True)) | data
        outputs = vectorize_graph(terms, replace=replace)
        return pytensor.function(batched, outputs, on_unused_input="ignore", mode=EVALUATION_MODE)

    def add_to(self, trace: xr.DataTree) -> str:
        """Adds the groups; returns what was done with the log-likelihood, for the attrs."""
        posterior = trace["posterior"].to_dataset()
        chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
        # The source model: its pm.Data hold this cohort (the copy keeps the first one).
        columns = {name: int(np.prod(self.source[name].shape.eval())) for name in self.observed}
        values_per_draw = sum(columns.values())
        if chains * draws * values_per_draw > LOG_LIKELIHOOD_BUDGET:
            return self._add_totals(trace, posterior, values_per_draw)
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

    def _add_totals(self, trace: xr.DataTree, posterior: xr.Dataset, per_draw: int) -> str:
        """Over the budget: the `log_prior` group, and each draw's summed log-likelihood as
        `log_likelihood_total` (chain, draw), which is all power-scaling needs. The sum is
        the sampler's own log density less the log prior: exact, and free of the n rows,
        where the model has no transformed parameters (no Jacobian to take off)."""
        chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
        note = (
            f"not stored: {chains * draws:,} draws x {per_draw:,} observations exceeds "
            f"{LOG_LIKELIHOOD_BUDGET:,} values; LOO needs subsampling"
        )
        stats = trace["sample_stats"].to_dataset() if "sample_stats" in trace.children else {}
        target = next((stats[name] for name in ("logp", "lp") if name in stats), None)
        transformed = any(self.source.rvs_to_transforms.get(rv) for rv in self.source.free_RVs)
        if target is None or transformed:
            return note + "; prior sensitivity is not available for this model"
        if self._prior_function is None:
            self._prior_function = self._compile(free_only=True)
        stacked = [posterior[name].values.reshape(chains * draws, *posterior[name].shape[2:])
                   for name in self.inputs]  # fmt: skip
        values = self._prior_function(*stacked)
        priors = {name: self._array(value, name, posterior)
                  for name, value in zip(self.free, values, strict=True)}  # fmt: skip
        prior_total = sum(_per_draw(array) for array in priors.values())
        trace["log_prior"] = xr.DataTree(xr.Dataset(priors))
        total = (target - prior_total).rename("total")
        trace["log_likelihood_total"] = xr.DataTree(xr.Dataset({"total": total}))
        return note + "; prior sensitivity uses each draw's total (log_likelihood_total)"

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


def _per_draw(values: xr.DataArray) -> xr.DataArray:
    """Summed over every dimension but chain and draw."""
    return values.sum([dim for dim in values.dims if dim not in ("chain", "draw")])
