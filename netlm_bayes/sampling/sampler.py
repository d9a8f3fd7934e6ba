"""How a model is sampled: named profiles, nutpie (default) or PyMC's NUTS, and saving.

A `Sampler` compiles a model once and samples it under any number of `pm.Data` settings,
so the five prior sets of a run cost one compilation, not five. Where a cheaper model with
the same posterior exists (a sufficient-statistic likelihood), that one is sampled and the
per-patient model gives the log-likelihood, the data groups and everything after.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import pymc as pm
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field
from pymc.backends.arviz import (
    coords_and_dims_for_inferencedata,
    dict_to_dataset,
    find_constants,
    find_observations,
    patch_nutpie_idata,
)
from threadpoolctl import threadpool_limits

from netlm_bayes import paths, tomlfiles
from netlm_bayes.errors import InputError
from netlm_bayes.sampling.log_density import PointwiseLogDensities

SamplerName = Literal["nutpie", "pymc"]
# How often nutpie reports each chain's draws (ms): a terminal's line then moves at least
# this often, which is what a user watching a long fit needs.
PROGRESS_MS = 1000


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    why: str
    sampler: SamplerName
    chains: int = Field(ge=1)
    tune: int = Field(ge=0)
    draws: int = Field(ge=1)
    target_accept: float = Field(gt=0, lt=1)


def profile_names(path: Path = paths.PROFILES_FILE) -> list[str]:
    return list(tomlfiles.read_toml(path))


def load_profile(name: str, path: Path = paths.PROFILES_FILE) -> Profile:
    profiles = tomlfiles.read_toml(path)
    if name not in profiles:
        raise InputError(f"{path}: no profile {name!r}; choose one of {list(profiles)}")
    return tomlfiles.validate(Profile, {**profiles[name], "name": name}, path)


class Sampler:
    """Samples one `pm.Model` repeatedly, swapping its `pm.Data` between runs."""

    def __init__(
        self,
        model: pm.Model,
        profile: Profile,
        sampler: SamplerName | None = None,
        sampling_model: pm.Model | None = None,
    ):
        self.model = model
        self.sampling_model = sampling_model or model
        self.profile = profile
        self.sampler: SamplerName = sampler or profile.sampler
        self._compiled = None
        self._compile_seconds = 0.0
        self._log_densities = None
        self.compile_report = None  # compile_cache.CompileReport, once compiled
        # Called with one line on the draws so far (per chain, divergences, ETA) while
        # nutpie samples, from its progress thread.
        self.on_draws: Callable[[str], None] | None = None

    def with_profile(self, profile: Profile) -> Sampler:
        """The same model and compilation, sampled with other settings."""
        other = Sampler(self.model, profile, self.sampler, self.sampling_model)
        other._compiled = self._compiled
        other.compile_report = self.compile_report
        other._log_densities = self._log_densities
        other.on_draws = self.on_draws
        return other

    def sample(
        self,
        data: dict[str, np.ndarray],
        seed: int,
        coords: dict | None = None,
        pointwise: bool = True,
    ) -> xr.DataTree:
        """Posterior draws with `constant_data`, `observed_data`, `log_likelihood` and
        `log_prior` (the last for power-scaling prior sensitivity).

        `coords` gives new coordinate values where the data change a dimension's length.
        `pointwise=False` leaves out the two log-density groups, for fits that are only
        summarised (a study's replicate cohorts).
        """
        for model in {id(m): m for m in (self.model, self.sampling_model)}.values():
            with model:
                pm.set_data(_known(data, model), coords=_known(coords or {}, model.coords))
        started = time.perf_counter()
        self._compile_seconds = 0.0
        if self.sampler == "nutpie":
            trace = self._sample_nutpie(data, seed)
        else:
            trace = self._sample_pymc(seed)
        draw_seconds = time.perf_counter() - started - self._compile_seconds
        if self.sampler == "nutpie":
            patch_nutpie_idata(trace, self.model, draw_seconds)
        elif self.sampling_model is not self.model:
            _replace_data_groups(trace, self.model)
        if pointwise:
            if self._log_densities is None:
                self._log_densities = PointwiseLogDensities(self.model)
            trace.attrs["log_likelihood"] = self._log_densities.add_to(trace)
        else:
            trace.attrs["log_likelihood"] = "not computed: this fit is only summarised"
        trace.attrs.update(
            sampler=self.sampler,
            profile=self.profile.name,
            chains=self.profile.chains,
            tune=self.profile.tune,
            draws=self.profile.draws,
            target_accept=self.profile.target_accept,
            seed=seed,
            sampling_seconds=round(time.perf_counter() - started, 3),
            # the parts of sampling_seconds that benchmarks/versus.py adds up into the floor
            compile_seconds=round(self._compile_seconds, 3),
            draw_seconds=round(draw_seconds, 3),
        )
        return trace

    def _sample_nutpie(self, data: dict[str, np.ndarray], seed: int) -> xr.DataTree:
        # nutpie (and numba with it) is imported only when a model is sampled with it: 1.2 s
        # that commands which never sample, and a study's parent process, do not pay
        import nutpie

        from netlm_bayes.sampling import compile_cache

        if self._compiled is None:
            started = time.perf_counter()
            self._compiled, self.compile_report = compile_cache.compile_pymc_model(
                self.sampling_model
            )
            self._compile_seconds = time.perf_counter() - started
        # Data the graph does not use (a joint prior replaces the coefficient priors) are
        # not in nutpie's compiled model.
        known = {variable.name for variable in self._compiled.shared_var_keys}
        used = {k: v for k, v in data.items() if k in known}
        compiled = self._compiled.with_data(**used)
        # Each chain runs on its own thread and calls BLAS (X @ beta) once per gradient.
        # A multi-threaded BLAS then starts threads for every call, and with chains on
        # every core they fight: at n = 200,000, 4 chains on 2 cores took 8 ms per gradient
        # and core against 2.8 ms with one BLAS thread (tests/sampling/test_blas_threads.py).
        with threadpool_limits(limits=1, user_api="blas"):
            return nutpie.sample(
                compiled,
                chains=self.profile.chains,
                tune=self.profile.tune,
                draws=self.profile.draws,
                seed=seed,
                cores=min(self.profile.chains, os.cpu_count() or 1),
                target_accept=self.profile.target_accept,
                save_warmup=False,
                progress_bar=False,
                progress_callback=None if self.on_draws is None else self._report_draws,
                progress_rate=PROGRESS_MS,
            )

    def _report_draws(self, chains) -> None:
        """nutpie's per-chain progress as one line, e.g. '1,200/8,000 draws (4 chains:
        300, 300, 300, 300), warm-up, 0 divergences, about 1 min 12 s left'."""
        try:
            self.on_draws(progress_line(
                [c.finished_draws for c in chains], [c.total_draws for c in chains],
                sum(c.divergences for c in chains), any(c.tuning for c in chains),
                max(c.runtime_ms for c in chains) / 1000,
            ))  # fmt: skip
        except Exception:  # a display must never stop the sampler
            self.on_draws = None

    def _sample_pymc(self, seed: int) -> xr.DataTree:
        with self.sampling_model:
            return pm.sample(
                draws=self.profile.draws,
                tune=self.profile.tune,
                chains=self.profile.chains,
                cores=min(self.profile.chains, os.cpu_count() or 1),
                random_seed=seed,
                target_accept=self.profile.target_accept,
                nuts_sampler="pymc",
                progressbar=False,
                compute_convergence_checks=False,
                # nutpie and BLAS leave threads behind; fork() after threads can deadlock.
                mp_ctx="forkserver",
            )


def _known(values: dict, names) -> dict:
    return {key: value for key, value in values.items() if key in names}


def _replace_data_groups(trace: xr.DataTree, model: pm.Model) -> None:
    """constant_data and observed_data as the per-patient model has them."""
    coords, dims = coords_and_dims_for_inferencedata(model)
    for group, found in (("constant_data", find_constants), ("observed_data", find_observations)):
        dataset = dict_to_dataset(
            found(model), inference_library=pm, coords=coords, dims=dims, sample_dims=[]
        )
        trace[group] = xr.DataTree(dataset)


def save_posterior(trace: xr.DataTree, path: Path, attrs: dict[str, str]) -> None:
    """Write a DataTree to netCDF, with provenance attrs on the root."""
    trace.attrs.update({key: str(value) for key, value in attrs.items()})
    trace.to_netcdf(path, engine="h5netcdf")


def load_posterior(path: Path) -> xr.DataTree:
    return xr.open_datatree(path, engine="h5netcdf").load()


def progress_line(done: list[int], totals: list[int], divergences: int, warming_up: bool,
                  seconds: float) -> str:  # fmt: skip
    """Draws done out of the total, per chain, divergences so far and the time left at
    the slowest chain's pace so far."""
    finished, total = sum(done), sum(totals)
    per_chain = ", ".join(f"{d:,}" for d in done)
    phase = "warm-up" if warming_up else "sampling"
    left = ""
    slowest = min(d / t for d, t in zip(done, totals, strict=True)) if totals else 0
    if 0 < slowest < 1 and seconds > 0:
        left = f", about {_duration(seconds * (1 - slowest) / slowest)} left"
    return (
        f"{finished:,}/{total:,} draws ({len(done)} chains: {per_chain}), {phase}, "
        f"{divergences} divergence{'s' if divergences != 1 else ''}{left}"
    )


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"
