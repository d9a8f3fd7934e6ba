"""Chains sample on their own threads; BLAS must not start more threads inside each one.

Measured at n = 200,000 (Weibull, 3 covariates, 2 cores): with OpenBLAS's default of one
thread per core, 4 chains took 8.0 ms per gradient and core; with one BLAS thread, 2.8 ms,
the same as a single chain alone. The limit holds only while nutpie samples."""

from __future__ import annotations

import nutpie
import pymc as pm
from threadpoolctl import threadpool_info

from netlm_bayes.sampling.sampler import Sampler, load_profile


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_blas_runs_one_thread_per_chain_while_nutpie_samples(monkeypatch):
    seen = []
    real_sample = nutpie.sample

    def recording_sample(*args, **kwargs):
        seen.append(_blas_threads())
        return real_sample(*args, **kwargs)

    monkeypatch.setattr(nutpie, "sample", recording_sample)
    with pm.Model() as model:
        pm.Normal("x", 0, 1)
    before = _blas_threads()
    Sampler(model, load_profile("quick")).sample({}, seed=1, pointwise=False)
    assert seen and seen[0] and all(threads == 1 for threads in seen[0])
    assert _blas_threads() == before  # the user's own setting comes back afterwards
