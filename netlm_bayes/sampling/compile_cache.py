"""nutpie's compiled model, kept on disk so that a second process skips the compilation.

nutpie compiles a PyMC model in two steps:

1. PyTensor turns the log density and its gradient into numba functions. PyTensor caches
   these on disk (in its compile directory), keyed by a hash of the graph: a later process
   loads them in a fraction of a second.
2. nutpie wraps them in C callbacks (`numba.cfunc`) for its Rust sampler. numba cannot
   reuse these across processes: their cache key hashes the closure, which holds numba
   dispatchers (pickled with a random id) and the shared data's field names (random
   `uuid4`). The wrappers cost 1 to 6 s per model, in every process (measured: 4.8 s and
   1.6 s for the logistic model; see docs/benchmarks.md).

Here step 2 is done with the same nutpie helpers, but the shared data get names that are
the same in every process, and each callback is cached under a key made of what fixes its
machine code: PyTensor's own key for the wrapped graph, the number of dimensions and dtype
of every shared array (not its length: one callback serves every cohort size), and the
versions of nutpie, numba and PyTensor. A graph PyTensor does not
cache gets no key, and its wrapper is compiled as nutpie would.
"""

from __future__ import annotations

import hashlib
import itertools
import warnings
from dataclasses import dataclass

import numba
import numpy as np
import nutpie
import nutpie.compile_pymc as nutpie_pymc
import pymc as pm
import pytensor
from numba.core import sigutils
from numba.core.caching import FunctionCache
from numba.core.ccallback import CFunc
from pymc.initial_point import make_initial_point_fn
from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

# nutpie's own (private) steps of `compile_pymc_model`, reused here as they are.
NUTPIE_HELPERS = (
    "_wrap_with_lock",
    "_make_functions",
    "make_user_data",
    "_make_c_logp_func",
    "_make_c_expand_func",
    "_prepare_dims_and_coords",
    "CompiledPyMCModel",
)


class _KeyedCache(FunctionCache):
    """numba's function cache, indexed by our key instead of a hash of the closure."""

    def __init__(self, py_func, key: str):
        super().__init__(py_func)
        self._key = key

    def _index_key(self, sig, codegen):
        return (sig, codegen.magic_tuple(), (self._key,))


@dataclass(frozen=True)
class CompileReport:
    """How many of a model's C callbacks came from the disk cache (for tests and logs)."""

    callbacks: int
    from_cache: int


def compile_pymc_model(model: pm.Model) -> tuple[nutpie_pymc.CompiledPyMCModel, CompileReport]:
    """What `nutpie.compile_pymc_model(model)` returns (numba backend, default options),
    with its C callbacks cached across processes."""
    if not all(hasattr(nutpie_pymc, name) for name in NUTPIE_HELPERS):
        # a nutpie release without these private helpers: compile as nutpie does (slower
        # in every new process, and as right); tests/sampling/test_compile_cache.py fails
        return nutpie.compile_pymc_model(model), CompileReport(callbacks=2, from_cache=0)
    initial_point_fn = nutpie_pymc._wrap_with_lock(
        make_initial_point_fn(
            model=model, default_strategy="support_point", jitter_rvs=set(model.free_RVs),
            return_transformed=True,
        )
    )  # fmt: skip
    n_dim, n_expanded, logp_fn_pt, expand_fn_pt, initial_point_fn, shape_info, reparameterized = (
        nutpie_pymc._make_functions(
            model, mode="NUMBA", compute_grad=True, join_expanded=True,
            pymc_initial_point_fn=initial_point_fn, var_names=None,
        )
    )  # fmt: skip
    shared_data, shared_var_keys = _shared(logp_fn_pt, expand_fn_pt)
    user_data = nutpie_pymc.make_user_data(shared_var_keys, shared_data)
    logp_keys = [shared_var_keys[var] for var in logp_fn_pt.get_shared()]
    expand_keys = [shared_var_keys[var] for var in expand_fn_pt.get_shared()]
    types = _array_types(shared_data)
    logp_raw, logp_sig = nutpie_pymc._make_c_logp_func(
        n_dim, logp_fn_pt.vm.jit_fn, user_data, logp_keys, types
    )
    expand_raw, expand_sig = nutpie_pymc._make_c_expand_func(
        n_dim, n_expanded, expand_fn_pt.vm.jit_fn, user_data, expand_keys, types
    )
    layout = (n_dim, n_expanded, [(k, v.ndim, v.dtype.str) for k, v in types.items()])
    logp, logp_hit = _callback(logp_raw, logp_sig, _key("logp", logp_fn_pt, layout))
    expand, expand_hit = _callback(expand_raw, expand_sig, _key("expand", expand_fn_pt, layout))
    dims, coords = nutpie_pymc._prepare_dims_and_coords(model, shape_info, reparameterized)
    compiled = nutpie_pymc.CompiledPyMCModel(
        _n_dim=n_dim, dims=dims, _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=logp, compiled_expand_func=expand,
        initial_point_func=initial_point_fn, shared_data=shared_data,
        shared_var_keys=shared_var_keys, user_data=user_data, n_expanded=n_expanded,
        shape_info=shape_info, logp_func=logp_fn_pt, expand_func=expand_fn_pt,
        reparameterized_names=reparameterized,
    )  # fmt: skip
    return compiled, CompileReport(callbacks=2, from_cache=int(logp_hit) + int(expand_hit))


def _shared(logp_fn_pt, expand_fn_pt) -> tuple[dict, dict]:
    """The shared variables' values, named by position (nutpie names them by uuid4)."""
    shared_data, shared_var_keys = {}, {}
    counter = itertools.count()
    for variable in [*logp_fn_pt.get_shared(), *expand_fn_pt.get_shared()]:
        if variable in shared_var_keys:
            continue
        key = f"shared_{next(counter)}"
        value = np.array(variable.get_value(), order="C", copy=True)
        value.flags.writeable = False
        shared_data[key] = value
        shared_var_keys[variable] = key
    return shared_data, shared_var_keys


def _array_types(shared_data: dict) -> dict:
    """One-element stand-ins for the shared arrays (same dtype, ndim, read-only).

    nutpie's callbacks read every array through `user_data` at run time; the arrays handed
    to its helpers only give their numba types. Handed the data themselves, numba freezes
    them into the machine code: the callback then depends on n, and above 1 MB (n = 200,000)
    numba refuses to cache it at all, so every process compiled it again (15 to 20 s)."""
    stand_ins = {}
    for key, value in shared_data.items():
        stand_in = np.zeros((1,) * value.ndim, dtype=value.dtype)
        stand_in.flags.writeable = False
        stand_ins[key] = stand_in
    return stand_ins


def _key(kind: str, function, layout) -> str | None:
    """A key that changes whenever the callback's machine code would: None when PyTensor
    itself does not cache the wrapped graph."""
    graph_key = CACHED_SRC_FUNCTIONS.get(function.vm.jit_fn.py_func)
    if graph_key is None:
        return None
    versions = (nutpie.__version__, numba.__version__, pytensor.__version__)
    text = repr((kind, graph_key, layout, versions))
    return hashlib.sha256(text.encode()).hexdigest()


def _callback(py_func, signature, key: str | None) -> tuple[CFunc, bool]:
    callback = CFunc(py_func, sigutils.normalize_signature(signature), locals={}, options={})
    if key is not None:
        callback._cache = _KeyedCache(py_func, key)
    with warnings.catch_warnings():
        # nutpie silences the same warning: with no key the callback is simply not cached
        warnings.filterwarnings("ignore", message="Cannot cache compiled function")
        callback.compile()
    return callback, callback.cache_hits > 0
